/* outfile.c -- see outfile.h. The system calls (a temporary file, sync,
 * replacing rename, canonical paths) through platform/platform.h. */
#include "common/outfile.h"

#include "common/errbuf.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

/* The temporary file being written, for the signal handler (one at a time:
 * the CLI writes its outputs one after another). */
static char *volatile live_tmp;

static void on_signal(int sig) {
    char *t = live_tmp;
    if (t) ifp_remove(t); /* unlink: async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

void out_install_signal_handlers(void) {
    ifp_signal(IFP_SIGXFSZ, SIG_IGN);
    static const int sigs[] = {SIGINT, SIGTERM, IFP_SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) ifp_signal(sigs[i], on_signal);
}

/* The folder part of path ("." when there is none), malloc'ed. */
static char *dir_of(const char *path) {
    const char *base = ifp_path_base(path);
    if (base == path) return ifp_strdup(".");
    const char *slash = base - 1;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = ifp_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

int out_check(const char *path, char *err, size_t cap) {
    ifp_stat_info st;
    int e;
    if (!*path) return errbuf_fail(err, cap, "empty file name");
    if (ifp_stat(path, &st) == 0) {
        if (st.kind == IFP_DIR) return errbuf_fail(err, cap, "is a folder, not a file name");
        if (st.kind != IFP_FILE)
            return (e = ifp_writable(path)) ? errbuf_fail(err, cap, "cannot write: %s", strerror(e))
                                            : 0;
    }
    char *real = ifp_realpath(path); /* an existing link: its target's folder counts */
    char *dir = dir_of(real ? real : path);
    ifp_free(real);
    if (!dir) return errbuf_fail(err, cap, "out of memory");
    int rc = 0;
    if (ifp_stat(dir, &st) || st.kind != IFP_DIR)
        rc = errbuf_fail(err, cap, "cannot write: the folder %s does not exist", dir);
    else if ((e = ifp_writable(dir)))
        rc = errbuf_fail(err, cap, "cannot write in the folder %s: %s", dir, strerror(e));
    ifp_free(dir);
    return rc;
}

/* path with its folder made canonical (the file itself need not exist). */
static char *canonical(const char *path) {
    char *real = ifp_realpath(path);
    if (real) return real;
    char *dir = dir_of(path), *rdir = dir ? ifp_realpath(dir) : NULL;
    const char *base = ifp_path_base(path);
    char *out = NULL;
    if (rdir && (out = ifp_malloc(strlen(rdir) + strlen(base) + 2)))
        sprintf(out, "%s/%s", rdir, base);
    ifp_free(dir);
    ifp_free(rdir);
    return out;
}

int out_same_file(const char *a, const char *b) {
    ifp_stat_info sa, sb; /* (a device on Windows has no identity: by its name) */
    if (ifp_stat(a, &sa) == 0 && ifp_stat(b, &sb) == 0 && (sa.dev || sa.ino) && (sb.dev || sb.ino))
        return sa.dev == sb.dev && sa.ino == sb.ino;
    char *ca = canonical(a), *cb = canonical(b);
    int same = ca && cb ? !strcmp(ca, cb) : !strcmp(a, b);
    ifp_free(ca);
    ifp_free(cb);
    return same;
}

int out_check_outputs(const char *const *outs, int n_outs, const char *const *ins, size_t n_ins,
                      char *err, size_t cap) {
    for (int i = 0; i < n_outs; i++) {
        if (!outs[i]) continue;
        for (size_t j = 0; j < n_ins; j++)
            if (ins[j] && out_same_file(outs[i], ins[j])) {
                errbuf_fail(err, cap, "%s: is the input %s: refusing to overwrite an input",
                            outs[i], ins[j]);
                return 1;
            }
        for (int j = 0; j < i; j++)
            if (outs[j] && out_same_file(outs[i], outs[j])) {
                errbuf_fail(err, cap, "%s: is named as two outputs", outs[i]);
                return 1;
            }
        char why[400];
        if (out_check(outs[i], why, sizeof why)) {
            errbuf_fail(err, cap, "%s: %s", outs[i], why);
            return 2;
        }
    }
    return 0;
}

int out_open(out_file *o, const char *path, char *err, size_t cap) {
    memset(o, 0, sizeof *o);
    ifp_stat_info st;
    int exists = ifp_stat(path, &st) == 0;
    if (exists && st.kind == IFP_DIR) return errbuf_fail(err, cap, "is a folder, not a file name");
    if (exists && st.kind != IFP_FILE) { /* a device or FIFO: in place */
        if (!(o->target = ifp_strdup(path))) return errbuf_fail(err, cap, "out of memory");
        if (!(o->f = ifp_fopen(path, "wb"))) {
            int e = errno;
            out_discard(o);
            return errbuf_fail(err, cap, "cannot write: %s", strerror(e));
        }
        return 0;
    }
    o->target = exists ? ifp_realpath(path) : ifp_strdup(path);
    if (!o->target) return errbuf_fail(err, cap, "out of memory");
    char *dir = dir_of(o->target);
    const char *base = ifp_path_base(o->target);
    /* ".NAME.XXXXXX" in the target's folder: rename is atomic only within a
     * file system, and a hidden name keeps the half-written file out of
     * dataset scans and globs. */
    if (dir) o->tmp = ifp_malloc(strlen(dir) + strlen(base) + 10);
    if (!dir || !o->tmp) {
        ifp_free(dir);
        out_discard(o);
        return errbuf_fail(err, cap, "out of memory");
    }
    sprintf(o->tmp, "%s/.%s.XXXXXX", dir, base);
    ifp_free(dir);
    /* The output gets the mode a new file gets (or the mode of the file it
     * replaces). */
    int e = 0;
    o->f = ifp_create_temp(o->tmp, exists ? o->target : NULL, &e);
    if (o->f) live_tmp = o->tmp;
    if (!o->f) {
        ifp_free(o->tmp);
        o->tmp = NULL;
        out_discard(o);
        return errbuf_fail(err, cap, "cannot create a file in its folder: %s", strerror(e));
    }
    return 0;
}

void out_write(out_file *o, const void *data, size_t n) {
    if (o->failed || !o->f) return;
    if (fwrite(data, 1, n, o->f) != n) {
        o->failed = 1;
        o->err = errno ? errno : EIO;
    }
}

int out_commit(out_file *o, char *err, size_t cap) {
    if (!o->f) {
        out_discard(o);
        return errbuf_fail(err, cap, "not open");
    }
    errno = 0;
    int e = o->failed ? o->err : 0;
    if (!e && (fflush(o->f) != 0 || ferror(o->f))) e = errno ? errno : EIO;
    /* fsync before rename: otherwise a crash soon after can leave an empty
     * file under the new name on common file systems. Devices need not. */
    if (!e && o->tmp) e = ifp_sync(o->f);
    if (fclose(o->f) != 0 && !e) e = errno ? errno : EIO;
    o->f = NULL;
    if (!e && o->tmp) e = ifp_replace(o->tmp, o->target);
    if (e) {
        out_discard(o);
        return errbuf_fail(err, cap, "cannot write: %s", strerror(e));
    }
    live_tmp = NULL;
    ifp_free(o->tmp);
    ifp_free(o->target);
    memset(o, 0, sizeof *o);
    return 0;
}

void out_discard(out_file *o) {
    if (o->f) fclose(o->f);
    if (o->tmp) ifp_remove(o->tmp);
    if (o->tmp && live_tmp == o->tmp) live_tmp = NULL;
    ifp_free(o->tmp);
    ifp_free(o->target);
    memset(o, 0, sizeof *o);
}
