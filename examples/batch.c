/* batch.c -- `interformer encode --list FILE | FOLDER -o OUTDIR [--shard I/N]`
 * (batch.h): dataset-scale encoding, on the public API only, images read
 * with stb_image.
 *
 * The images: the lines of the list file (a path a line, relative ones
 * relative to the list file's folder; blank lines and lines starting with
 * '#' skipped; spaces and tabs around a path dropped), or the files of a
 * folder that have an image extension stb_image reads (not those starting
 * with '.'; not recursive), in byte order of their names. Image k (0-based,
 * in that order) belongs to shard k mod N: every shard reads the same list
 * and takes its own share, so no coordination is needed between them and
 * no two shards ever write the same file.
 *
 * Image "a/b/photo.jpg" is written to OUTDIR/photo.iff (the stem: the name
 * without its last extension). Two images with the same stem would write
 * the same file; the list is refused before any work, naming both.
 *
 * Up to date: OUTDIR/STEM.iff loads (if_features_load: whole, checksum
 * right), was made by a model of the encoder's identity, and is of an image
 * of the size the image has now, seen at the working size that max_side
 * gives (format/FEATURES.md). Such a file is not touched; any other is
 * replaced. Nothing else (the f32/f16 choice, the file's age) counts.
 *
 * Killed: if_features_save writes STEM.iff.tmp-XXXXXX in OUTDIR, synced,
 * and renames it into place, so STEM.iff is whole or absent. A SIGKILL can
 * leave the temporary file; never taken for a feature file (only STEM.iff
 * is looked at), it is removed by the next run of the shard it belongs to.
 * A run must therefore not be started twice for the same shard at once:
 * the second would remove the first's temporary files (whose renames then
 * fail: an image FAILED, never a broken file). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>

#include "batch.h"
#include "common/cli.h"
#include "common/outfile.h"
#include "common/progress.h"
#include "platform/platform.h"

/* Most names the summary lists; the lines above it name every failure. */
#define SUMMARY_NAMES 10

/* ----------------------------------------------------------------- shard */

#define MAX_SHARDS 1000000L

int batch_parse_shard(const char *s, int *shard, int *n_shards, char *err, size_t cap) {
    if (!strcmp(s, "slurm")) {
        /* A job array's task ids need not start at 0 nor be consecutive
         * (--array=1-16, --array=0-30:2): the index is the id's rank. */
        static const char *const vars[] = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
                                           "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_STEP"};
        long v[4];
        for (int k = 0; k < 4; k++) {
            const char *e = getenv(vars[k]);
            if (!e && k >= 2) { /* older Slurm: min 0, step 1 */
                v[k] = k == 2 ? 0 : 1;
                continue;
            }
            if (!e) {
                snprintf(err, cap, "--shard slurm: $%s is not set (not in a Slurm job array?)",
                         vars[k]);
                return -1;
            }
            if ((v[k] = cli_parse_long(e, k == 1 || k == 3 ? 1 : 0, 1L << 30)) < 0) {
                snprintf(err, cap, "--shard slurm: $%s is '%s', not a number", vars[k], e);
                return -1;
            }
        }
        long rank = (v[0] - v[2]) / v[3];
        if (v[0] < v[2] || (v[0] - v[2]) % v[3] || rank >= v[1] || v[1] > MAX_SHARDS) {
            snprintf(err, cap,
                     "--shard slurm: task %ld is not one of %ld tasks from %ld in steps of %ld",
                     v[0], v[1], v[2], v[3]);
            return -1;
        }
        *shard = (int)rank;
        *n_shards = (int)v[1];
        return 0;
    }
    const char *slash = strchr(s, '/');
    char head[32];
    long i = -1, n = -1;
    if (slash && (size_t)(slash - s) < sizeof head) {
        memcpy(head, s, (size_t)(slash - s));
        head[slash - s] = 0;
        /* A leading '+' or space would pass strtol: only digits. */
        if (head[0] >= '0' && head[0] <= '9' && slash[1] >= '0' && slash[1] <= '9') {
            i = cli_parse_long(head, 0, MAX_SHARDS);
            n = cli_parse_long(slash + 1, 1, MAX_SHARDS);
        }
    }
    if (i < 0 || n < 0) {
        snprintf(err, cap,
                 "bad --shard '%s': expected I/N (this run's index I from 0 and the number of "
                 "runs N, e.g. 0/4) or 'slurm'",
                 s);
        return -1;
    }
    if (i >= n) {
        snprintf(err, cap, "bad --shard '%s': the index must be below the count (0/%ld .. %ld/%ld)",
                 s, n, n - 1, n);
        return -1;
    }
    *shard = (int)i;
    *n_shards = (int)n;
    return 0;
}

/* ---------------------------------------------------------------- images */

typedef struct {
    char *name; /* as listed (the line) or the file name: what the lines print */
    char *path; /* to open */
    char *stem; /* file name without its last extension */
    char *out;  /* OUTDIR/STEM.iff */
    int index;  /* position in the list (0-based, comments and blanks not counted) */
    int line;   /* line of the list file (1-based); 0 for a folder */
} batch_item;

struct batch {
    batch_options o;
    char *source;      /* the list file or the folder, for messages */
    batch_item *items; /* every image of the list, in order */
    int n_items, cap_items;
    batch_item **share; /* this run's: items k with k % n_shards == shard, in order */
    int n_share;
};

static void free_item(batch_item *it) {
    free(it->name);
    free(it->path);
    free(it->stem);
    free(it->out);
}

void batch_free(batch *b) {
    if (!b) return;
    for (int i = 0; i < b->n_items; i++) free_item(&b->items[i]);
    free(b->items);
    free(b->share);
    free(b->source);
    free(b);
}

/* The stem of a path: its last component without the last extension (a
 * leading dot is not an extension: ".hidden" stays). NULL when the path
 * ends in '/' (no file name) or memory is out; *why says which. */
static char *stem_of(const char *path, const char **why) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    *why = "out of memory";
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        *why = "not a file name";
        return NULL;
    }
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, base, n);
    s[n] = 0;
    return s;
}

/* Adds an image (name as shown, path to open). Returns 0 or an exit status. */
static int add_item(batch *b, const char *name, const char *path, int line) {
    if (b->n_items == b->cap_items) {
        int cap = b->cap_items ? b->cap_items * 2 : 256;
        batch_item *v = realloc(b->items, (size_t)cap * sizeof *v);
        if (!v) return cli_fail("encode", "out of memory");
        b->items = v;
        b->cap_items = cap;
    }
    const char *why;
    char *stem = stem_of(path, &why);
    if (!stem) {
        if (line && strcmp(why, "out of memory"))
            return cli_fail(b->source, "line %d: '%s' is %s", line, name, why);
        return cli_fail("encode", "out of memory");
    }
    batch_item *it = &b->items[b->n_items];
    memset(it, 0, sizeof *it);
    it->index = b->n_items;
    it->line = line;
    it->stem = stem;
    it->name = cli_strdupf("%s", name);
    it->path = cli_strdupf("%s", path);
    char *file = cli_strdupf("%s.iff", stem);
    it->out = file ? cli_join(b->o.out_dir, file) : NULL;
    free(file);
    if (!it->name || !it->path || !it->out) {
        free_item(it);
        return cli_fail("encode", "out of memory");
    }
    b->n_items++;
    return 0;
}

/* Reads the whole list file into a NUL-terminated buffer. */
static int read_text(const char *path, char **text, size_t *len) {
    FILE *f = ifp_fopen(path, "rb");
    if (!f) return cli_fail(path, "cannot open the list: %s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f) || feof(f)) break;
        char *more = cap > ((size_t)-1) / 4 ? NULL : realloc(buf, cap * 2);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        cap *= 2;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf) return cli_fail(path, "out of memory reading the list");
    if (err) {
        free(buf);
        return cli_fail(path, "cannot read the list: %s", strerror(err));
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return 0;
}

static int read_list(batch *b) {
    char *text = NULL;
    size_t len = 0;
    int rc = read_text(b->o.list, &text, &len);
    if (rc) return rc;
    /* Relative paths are relative to the list's folder: the list then
     * works from any working directory, as a scheduler's jobs have. */
    const char *slash = strrchr(b->o.list, '/');
    int dir_len = slash ? (int)(slash - b->o.list + 1) : 0;
    char *p = text, *end = text + len;
    for (int line = 1; !rc && p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        if (memchr(p, 0, (size_t)(e - p))) {
            rc = cli_fail(b->o.list, "line %d has a NUL byte: not a list of paths", line);
            break;
        }
        char *s = p;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
        *e = 0;
        if (*s && *s != '#') {
            char *path =
                *s == '/' ? cli_strdupf("%s", s) : cli_strdupf("%.*s%s", dir_len, b->o.list, s);
            rc = path ? add_item(b, s, path, line) : cli_fail("encode", "out of memory");
            free(path);
        }
        p = nl ? nl + 1 : end;
    }
    free(text);
    if (!rc && !b->n_items)
        rc = cli_fail(b->o.list, "no image in the list (only blank lines and comments)");
    return rc;
}

/* What a folder offers: the files stb_image reads, by extension. */
static const char *const image_exts[] = {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif",
                                         ".psd", ".hdr",  ".pic", ".pnm", ".ppm", ".pgm"};

static int has_image_ext(const char *name) {
    return cli_ext_len(name, image_exts, sizeof image_exts / sizeof *image_exts) != 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_folder(batch *b) {
    const char *dir = b->o.folder;
    int e;
    ifp_dir *d = ifp_opendir(dir, &e);
    if (!d) return cli_fail(dir, "cannot open the folder: %s", strerror(e));
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    const char *de;
    errno = 0;
    while (!rc && (de = ifp_readdir(d))) {
        if (de[0] == '.' || !has_image_ext(de)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **v = realloc(names, (size_t)cap * sizeof *v);
            if (!v) {
                rc = cli_fail("encode", "out of memory");
                break;
            }
            names = v;
        }
        if (!(names[n++] = cli_strdupf("%s", de))) {
            n--;
            rc = cli_fail("encode", "out of memory");
        }
        errno = 0;
    }
    if (!rc && errno) rc = cli_fail(dir, "cannot read the folder: %s", strerror(errno));
    ifp_closedir(d);
    /* Every shard must see the same order: readdir's is the file system's
     * whim, byte order of the names is not. */
    if (!rc) qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; !rc && i < n; i++) {
        char *path = cli_join(dir, names[i]);
        ifp_stat_info st;
        if (!path)
            rc = cli_fail("encode", "out of memory");
        else if (ifp_stat(path, &st) == 0 && st.kind != IFP_FILE) {
            /* a folder named like an image: not one */
        } else
            rc = add_item(b, names[i], path, 0);
        free(path);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (!rc && !b->n_items)
        rc = cli_fail(
            dir, "no image in the folder (files ending in .jpg, .jpeg, .png, .bmp, .tga, .gif, "
                 ".psd, .hdr, .pic, .pnm, .ppm, .pgm)");
    return rc;
}

/* By stem, then list position. */
static int cmp_item_stem(const void *a, const void *b) {
    const batch_item *x = *(batch_item *const *)a, *y = *(batch_item *const *)b;
    int c = strcmp(x->stem, y->stem);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static void describe(const batch_item *it, char *buf, size_t cap) {
    if (it->line)
        snprintf(buf, cap, "line %d (%s)", it->line, it->name);
    else
        snprintf(buf, cap, "%s", it->name);
}

/* Two images of one stem would write one feature file, each run replacing
 * the other's. Refused, naming the earliest such pair in list order and
 * how many images are affected in all. */
static int check_stems(batch *b) {
    batch_item **v = malloc((size_t)b->n_items * sizeof *v);
    if (!v) return cli_fail("encode", "out of memory");
    for (int i = 0; i < b->n_items; i++) v[i] = &b->items[i];
    qsort(v, (size_t)b->n_items, sizeof *v, cmp_item_stem);
    const batch_item *first = NULL, *second = NULL;
    int n_dup = 0;
    for (int i = 0, j; i < b->n_items; i = j) {
        for (j = i + 1; j < b->n_items && !strcmp(v[j]->stem, v[i]->stem);) j++;
        if (j - i < 2) continue;
        n_dup += j - i;
        if (!second || v[i + 1]->index < second->index) {
            first = v[i];
            second = v[i + 1];
        }
    }
    free(v);
    if (!second) return 0;
    char a[600], c[600];
    describe(first, a, sizeof a);
    describe(second, c, sizeof c);
    if (n_dup > 2)
        return cli_fail(
            b->source,
            "%s and %s have the same stem '%s' (both would be %s); %d images in all "
            "share their stem with another: give them different names, or encode them in "
            "separate runs with other -o folders",
            a, c, first->stem, first->out, n_dup);
    return cli_fail(b->source,
                    "%s and %s have the same stem '%s' (both would be %s): give them different "
                    "names, or encode them in separate runs with other -o folders",
                    a, c, first->stem, first->out);
}

/* mkdir -p: concurrent shards may make the same folders at the same time,
 * so "exists" is success. */
static int make_dirs(const char *path) {
    char *p = cli_strdupf("%s", path);
    if (!p) return cli_fail("encode", "out of memory");
    int rc = 0;
    for (char *s = p + 1; !rc; s++) {
        if (*s && *s != '/') continue;
        char c = *s;
        *s = 0;
        ifp_stat_info st;
        int e = ifp_mkdir(p);
        if (e && e != EEXIST)
            rc = cli_fail(path, "cannot make the output folder %s: %s", p, strerror(e));
        else if (ifp_stat(p, &st) != 0 || st.kind != IFP_DIR)
            rc = cli_fail(path, "the output folder cannot be made: %s is not a folder", p);
        *s = c;
        if (!c) break;
    }
    free(p);
    int e;
    if (!rc && (e = ifp_writable(path)))
        rc = cli_fail(path, "cannot write in the output folder: %s", strerror(e));
    return rc;
}

int batch_open(const batch_options *o, batch **out) {
    *out = NULL;
    batch *b = calloc(1, sizeof *b);
    if (!b) return cli_fail("encode", "out of memory");
    b->o = *o;
    b->source = cli_strdupf("%s", o->list ? o->list : o->folder);
    int rc = b->source ? 0 : cli_fail("encode", "out of memory");
    if (!rc) rc = o->list ? read_list(b) : read_folder(b);
    if (!rc) rc = check_stems(b);
    if (!rc &&
        !(b->share = malloc(((size_t)b->n_items / (size_t)o->n_shards + 1) * sizeof *b->share)))
        rc = cli_fail("encode", "out of memory");
    for (int i = o->shard; !rc && i < b->n_items; i += o->n_shards)
        b->share[b->n_share++] = &b->items[i];
    if (!rc) rc = make_dirs(o->out_dir);
    if (rc) {
        batch_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

/* ------------------------------------------------------- leftover files */

#define TMP_MARK   ".iff.tmp-"
#define TMP_RANDOM 6 /* mkstemp's XXXXXX */

/* A share item's stem compared with the first n bytes of key. */
static int cmp_stem_key(const char *key, size_t n, const char *stem) {
    int c = strncmp(key, stem, n);
    if (c) return c;
    return stem[n] ? -1 : 0;
}

/* Removes the temporary files that a killed run of this shard left in
 * OUTDIR (STEM.iff.tmp-XXXXXX with STEM in this share). Other shards'
 * are theirs: they may be writing them now. Returns how many went. */
static int remove_leftovers(const batch *b, batch_item **by_stem) {
    int e;
    ifp_dir *d = ifp_opendir(b->o.out_dir, &e);
    if (!d) return 0;
    int removed = 0;
    size_t ml = strlen(TMP_MARK);
    const char *de;
    while ((de = ifp_readdir(d))) {
        const char *name = de, *mark = NULL;
        for (const char *s = strstr(name, TMP_MARK); s; s = strstr(s + 1, TMP_MARK)) mark = s;
        if (!mark || strlen(mark + ml) != TMP_RANDOM) continue;
        size_t n = (size_t)(mark - name);
        int lo = 0, hi = b->n_share - 1, hit = 0;
        while (lo <= hi && !hit) {
            int mid = lo + (hi - lo) / 2, c = cmp_stem_key(name, n, by_stem[mid]->stem);
            if (!c)
                hit = 1;
            else if (c < 0)
                hi = mid - 1;
            else
                lo = mid + 1;
        }
        if (!hit) continue;
        char *path = cli_join(b->o.out_dir, name);
        if (path && ifp_remove(path) == 0) removed++;
        free(path);
    }
    ifp_closedir(d);
    return removed;
}

/* ------------------------------------------------------------------ run */

/* Whether out is the up-to-date feature file of a w x h image: 1 yes; 0
 * no (absent: why = ""; else why says what is wrong with it). */
static int up_to_date(const char *out, const char *identity, int w, int h, int ww, int wh,
                      char *why, size_t cap) {
    ifp_stat_info st;
    why[0] = 0;
    if (ifp_stat(out, &st) != 0) return 0;
    if_features *f = NULL;
    if_status s = if_features_load(out, &f);
    if (s != IF_OK) {
        snprintf(why, cap, "unreadable: %s", if_status_str(s));
        return 0;
    }
    if_features_info fi;
    if_features_get_info(f, &fi);
    if_features_free(f);
    if (strcmp(fi.identity, identity))
        snprintf(why, cap, "made by another model");
    else if (fi.width != w || fi.height != h)
        snprintf(why, cap, "of a %dx%d image", fi.width, fi.height);
    else if (fi.work_w != ww || fi.work_h != wh)
        snprintf(why, cap, "encoded at %dx%d, not %dx%d", fi.work_w, fi.work_h, ww, wh);
    else
        return 1;
    return 0;
}

/* The signal that asked the run to stop, or 0. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) {
    stop_signal = sig;
    /* A second one ends the process at once; the rerun cleans up. */
    signal(sig, SIG_DFL);
}

/* if_encode's progress callback: the bar on a terminal (user: the
 * progress_bar), and a cancel when asked to stop (a big image at native
 * size can take minutes). */
static int cancel_on_stop(void *user, double fraction) {
    progress_update(user, fraction);
    return stop_signal != 0;
}

static const int stop_sigs[] = {SIGINT, SIGTERM, IFP_SIGHUP};
#define N_STOP_SIGS ((int)(sizeof stop_sigs / sizeof *stop_sigs))

typedef enum { DONE_ENCODED, DONE_SKIPPED, DONE_FAILED, DONE_STOPPED } outcome;

/* One image: encoded and saved, skipped, or failed (why). */
static outcome do_item(const batch *b, const if_model *enc, const batch_item *it,
                       const char *identity, char *msg, size_t cap) {
    int w, h, comp;
    FILE *f = ifp_fopen(it->path, "rb");
    if (!f) {
        snprintf(msg, cap, "cannot open %s: %s", it->path, strerror(errno));
        return DONE_FAILED;
    }
    if (!stbi_info_from_file(f, &w, &h, &comp)) {
        snprintf(msg, cap, "not an image stb_image can read: %s", stbi_failure_reason());
        fclose(f);
        return DONE_FAILED;
    }
    int ww, wh;
    if_working_size(w, h, b->o.max_side, &ww, &wh);
    char why[200];
    if (up_to_date(it->out, identity, w, h, ww, wh, why, sizeof why)) {
        fclose(f);
        snprintf(msg, cap, "skipped (up to date)");
        return DONE_SKIPPED;
    }
    if (out_same_file(it->out, it->path)) {
        fclose(f);
        snprintf(msg, cap, "%s would replace the image itself", it->out);
        return DONE_FAILED;
    }
    rewind(f);
    unsigned char *rgb = stbi_load_from_file(f, &w, &h, &comp, 3);
    fclose(f);
    if (!rgb) {
        snprintf(msg, cap, "not an image stb_image can read: %s", stbi_failure_reason());
        return DONE_FAILED;
    }
    if_features *feat = NULL;
    if_encode_options eo = if_default_encode_options();
    eo.max_side = b->o.max_side;
    eo.progress = cancel_on_stop;
    progress_bar bar;
    progress_start(&bar, "encoding");
    eo.user = &bar;
    double t0 = cli_now_ms();
    if_status s = if_encode(enc, rgb, w, h, (size_t)w * 3, &eo, &feat);
    double t = cli_now_ms() - t0;
    progress_end(&bar);
    stbi_image_free(rgb);
    if (s == IF_ERR_CANCELLED) return DONE_STOPPED;
    if (s != IF_OK) {
        snprintf(msg, cap, "encoding: %s: %s", if_status_str(s), if_last_error());
        return DONE_FAILED;
    }
    s = if_features_save(feat, it->out, b->o.f16 ? IF_DTYPE_F16 : IF_DTYPE_F32);
    if_features_free(feat);
    if (s != IF_OK) {
        snprintf(msg, cap, "saving: %s: %s", if_status_str(s), if_last_error());
        return DONE_FAILED;
    }
    char as[64] = "";
    if (ww != w || wh != h) snprintf(as, sizeof as, " (as %dx%d)", ww, wh);
    snprintf(msg, cap, "encoded %dx%d%s in %.0f ms%s%s%s", w, h, as, t,
             why[0] ? " (replaced: " : "", why, why[0] ? ")" : "");
    return DONE_ENCODED;
}

static const char *signal_name(int sig) {
    return sig == SIGINT       ? "SIGINT"
           : sig == SIGTERM    ? "SIGTERM"
           : sig == IFP_SIGHUP ? "SIGHUP"
                               : "a signal";
}

int batch_run(batch *b, const if_model *enc) {
    if_model_info mi;
    if_model_get_info(enc, &mi);
    double t0 = cli_now_ms();
    batch_item **by_stem = malloc(((size_t)b->n_share + 1) * sizeof *by_stem);
    int *failed = malloc(((size_t)b->n_share + 1) * sizeof *failed);
    if (!by_stem || !failed) {
        free(by_stem);
        free(failed);
        return cli_fail("encode", "out of memory");
    }
    memcpy(by_stem, b->share, (size_t)b->n_share * sizeof *by_stem);
    qsort(by_stem, (size_t)b->n_share, sizeof *by_stem, cmp_item_stem);
    int removed = remove_leftovers(b, by_stem);
    free(by_stem);
    if (removed)
        printf("removed %d temporary file%s left in %s by an interrupted run of this shard\n",
               removed, removed == 1 ? "" : "s", b->o.out_dir);

    /* Schedulers stop jobs with SIGTERM (Slurm at the time limit, Kubernetes
     * on eviction) and wait a while before SIGKILL: finishing the file being
     * written and a summary are worth that while. */
    ifp_sig_fn old[N_STOP_SIGS];
    stop_signal = 0;
    for (int k = 0; k < N_STOP_SIGS; k++) old[k] = ifp_signal(stop_sigs[k], on_stop);
    int n_enc = 0, n_skip = 0, n_fail = 0, n_done = 0;
    for (int p = 0; p < b->n_share && !stop_signal; p++) {
        const batch_item *it = b->share[p];
        char msg[1200];
        outcome r = do_item(b, enc, it, mi.identity, msg, sizeof msg);
        if (r == DONE_STOPPED) break;
        n_done++;
        if (r == DONE_ENCODED)
            n_enc++;
        else if (r == DONE_SKIPPED)
            n_skip++;
        else
            failed[n_fail++] = p;
        printf("[%d/%d] %s: %s%s\n", p + 1, b->n_share, it->name,
               r == DONE_FAILED ? "FAILED: " : "", msg);
        fflush(stdout);
    }
    int sig = stop_signal;
    for (int k = 0; k < N_STOP_SIGS; k++)
        if (old[k] != SIG_ERR) ifp_signal(stop_sigs[k], old[k]);

    if (b->o.n_shards > 1)
        printf("shard %d/%d: %d of %d images", b->o.shard, b->o.n_shards, b->n_share, b->n_items);
    else
        printf("%d image%s", b->n_share, b->n_share == 1 ? "" : "s");
    printf(": %d encoded, %d skipped (up to date), %d failed", n_enc, n_skip, n_fail);
    for (int k = 0; k < n_fail && k < SUMMARY_NAMES; k++)
        printf("%s%s", k ? ", " : " (", b->share[failed[k]]->name);
    if (n_fail > SUMMARY_NAMES) printf(" and %d more", n_fail - SUMMARY_NAMES);
    printf("%s in %.1f s", n_fail ? ")" : "", (cli_now_ms() - t0) / 1e3);
    if (sig)
        printf("; stopped by %s with %d not done: run it again to finish", signal_name(sig),
               b->n_share - n_done);
    else if (!n_enc && !n_fail)
        printf("; nothing to do: every feature file was up to date");
    printf("\n");
    fflush(stdout);
    int rc = 0;
    if (n_fail)
        rc = cli_fail("encode", "%d of %d image%s failed, first %s: see its line above", n_fail,
                      b->n_share, b->n_share == 1 ? "" : "s", b->share[failed[0]]->name);
    free(failed);
    if (sig) {
        /* Ends as the signal says, so that the scheduler (or the shell)
         * sees a stopped job, not a finished one. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    return rc;
}
