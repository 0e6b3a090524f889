/* cli.c -- see cli.h. */
#include "common/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/outfile.h"

/* ---------------------------------------------------------------- errors */

const char *cli_prog = PROG;

/* "interformer: <pre><what>: <detail><tail>" on stderr. */
static void say(const char *pre, const char *what, const char *tail, const char *fmt, va_list ap) {
    fprintf(stderr, "%s: %s%s: ", cli_prog, pre, what);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "%s\n", tail);
}

int cli_fail(const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say("", what, "", fmt, ap);
    va_end(ap);
    return EXIT_RUNTIME;
}

int cli_fail_api(const char *what, if_status s, const char *detail) {
    if (detail && *detail) return cli_fail(what, "%s: %s", if_status_str(s), detail);
    return cli_fail(what, "%s", if_status_str(s));
}

int cli_usage(const char *cmd, const char *fmt, ...) {
    char tail[64];
    snprintf(tail, sizeof tail, " (see '%s%s%s --help')", cli_prog, cmd ? " " : "", cmd ? cmd : "");
    va_list ap;
    va_start(ap, fmt);
    say("", cmd ? cmd : "usage", tail, fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

void cli_warn(const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say("warning: ", what, "", fmt, ap);
    va_end(ap);
}

int cli_check_outputs(const char *cmd, const char *const *outs, int n_outs, const char *const *ins,
                      size_t n_ins) {
    char err[1024];
    int r = out_check_outputs(outs, n_outs, ins, n_ins, err, sizeof err);
    if (r == 1) return cli_usage(cmd, "%s", err);
    if (r) {
        fprintf(stderr, "%s: %s\n", cli_prog, err); /* err starts with the path */
        return EXIT_RUNTIME;
    }
    return 0;
}

/* --------------------------------------------------------------- options */

/* Matches argv[*i] against row o in the struct at base. Returns 1 on a
 * match (the value stored), 0 if none, -1 on a usage error (printed). */
static int match_row(const char *cmd, const cli_opt *o, char *base, int argc, char **argv, int *i);

static int match_rows(const char *cmd, const cli_opt *opts, char *base, int argc, char **argv,
                      int *i) {
    for (const cli_opt *o = opts; o->kind != CLI_END; o++) {
        int r = match_row(cmd, o, base, argc, argv, i);
        if (r) return r;
    }
    return 0;
}

/* The names in a row's spec "[ALIAS, ]NAME[ ARG]"; alias "" when none. */
static void spec_names(const char *spec, char *name, char *alias, size_t cap) {
    const char *comma = strstr(spec, ", "), *sp = strchr(spec, ' ');
    alias[0] = 0;
    if (comma && comma < sp) {
        snprintf(alias, cap, "%.*s", (int)(comma - spec), spec);
        spec = comma + 2;
        sp = strchr(spec, ' ');
    }
    snprintf(name, cap, "%.*s", sp ? (int)(sp - spec) : (int)strlen(spec), spec);
}

static int match_row(const char *cmd, const cli_opt *o, char *base, int argc, char **argv, int *i) {
    if (o->kind == CLI_TABLE) return match_rows(cmd, o->sub, base + o->off, argc, argv, i);
    if (o->kind == CLI_TEXT || o->kind == CLI_DOC) return 0;
    char name[64], alias[64];
    spec_names(o->spec, name, alias, sizeof name);
    const char *a = argv[*i], *names[2] = {name, alias}, *v = NULL;
    int hit = 0;
    for (int k = 0; k < 2 && !hit; k++) {
        const char *n = names[k];
        size_t len = strlen(n);
        if (!len || strncmp(a, n, len)) continue;
        if (o->kind == CLI_FLAG || o->kind == CLI_MARK) {
            hit = a[len] == 0;
        } else if (a[len] == '=') {
            v = a + len + 1;
            hit = 1;
        } else if (!a[len]) {
            if (*i + 1 >= argc) return cli_usage(cmd, "option %s needs a value", n), -1;
            v = argv[++*i];
            hit = 1;
        }
    }
    if (!hit) return 0;
    void *dst = base + o->off;
    switch (o->kind) {
    case CLI_FLAG: *(int *)dst = 1; break;
    case CLI_STR: *(const char **)dst = v; break;
    case CLI_LIST: {
        cli_list *l = dst;
        l->v[l->n++] = v;
        break;
    }
    case CLI_MARK: {
        cli_list *l = dst;
        l->v[l->n++] = o->spec; /* a mark has no alias or value: its spec is its name */
        break;
    }
    case CLI_INT: {
        long n = cli_parse_long(v, o->lo, o->hi);
        if (n < 0) return cli_usage(cmd, "bad %s '%s': expected %s", name, v, o->expect), -1;
        *(int *)dst = (int)n;
        break;
    }
    case CLI_SIZE: {
        size_t n = cli_parse_size(v);
        if (!n) return cli_usage(cmd, "bad %s '%s': expected %s", name, v, o->expect), -1;
        *(size_t *)dst = n;
        break;
    }
    default: break;
    }
    return 1;
}

int cli_parse(const cli_command *c, void *args, int argc, char **argv, int *status) {
    const char **pos = (const char **)((char *)args + c->pos_off);
    int only_pos = 0;
    *status = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            if (*pos) return *status = cli_usage(c->name, "unexpected argument '%s'", a), 0;
            *pos = a;
        } else if (!strcmp(a, "--")) {
            only_pos = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_print_help(stdout, c);
            return 0;
        } else {
            int r = match_rows(c->name, c->opts, args, argc, argv, &i);
            if (r < 0) return *status = EXIT_USAGE, 0;
            if (!r) return *status = cli_usage(c->name, "unknown option '%s'", a), 0;
        }
    }
    return 1;
}

/* Help text lines after the first start at this column. */
#define HELP_COL 22

void cli_print_rows(FILE *f, const cli_opt *opts) {
    for (const cli_opt *o = opts; o->kind != CLI_END; o++) {
        if (o->kind == CLI_TEXT) {
            fputs(o->help, f);
            continue;
        }
        if (!o->help) continue;
        int n = fprintf(f, "  %s", o->spec);
        if (n >= HELP_COL) {
            fputc('\n', f);
            n = 0;
        }
        for (const char *s = o->help; *s;) {
            const char *nl = strchr(s, '\n');
            int len = nl ? (int)(nl - s) : (int)strlen(s);
            fprintf(f, "%*s%.*s\n", HELP_COL - n, "", len, s);
            n = 0;
            s += len + (nl != NULL);
        }
    }
}

void cli_print_help(FILE *f, const cli_command *c) {
    fprintf(f, "usage: %s", c->usage);
    cli_print_rows(f, c->opts);
}

/* ----------------------------------------------------------------- values */

long cli_parse_long(const char *s, long lo, long hi) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    return v;
}

size_t cli_parse_size(const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0)) return 0;
    static const char units[] = "kKmMgGtT";
    static const double scale[] = {1e3, 1e3, 1e6, 1e6, 1e9, 1e9, 1e12, 1e12};
    const char *u = *end ? strchr(units, *end) : NULL;
    if (u) {
        v *= scale[u - units];
        end++;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end) return 0;
    return v >= 1 && v < 1.8e19 ? (size_t)v : 0;
}

size_t cli_ext_len(const char *name, const char *const *exts, size_t n) {
    size_t len = strlen(name);
    for (size_t k = 0; k < n; k++) {
        size_t e = strlen(exts[k]), i = 0;
        if (len <= e) continue;
        for (; i < e; i++) {
            char c = name[len - e + i];
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            if (c != exts[k][i]) break;
        }
        if (i == e) return e;
    }
    return 0;
}

char *cli_strdupf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *cli_join(const char *dir, const char *name) {
    size_t n = strlen(dir);
    return cli_strdupf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

double cli_now_ms(void) { return cli_now_s() * 1e3; }

double cli_now_s(void) { return ifp_now_us() / 1e6; }
