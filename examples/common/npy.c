/* npy.c -- see npy.h. Only the header dictionary forms NumPy itself writes
 * are understood; anything else is an error, never a guess. The parser
 * works on a memory image (npy_parse) so that it can be fuzzed without
 * files; npy_read is a file read around it. */
#include "common/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

/* Elements an array may have: the readers' users index with int64_t and
 * the data must fit in memory anyway. */
#define NPY_MAX_COUNT ((int64_t)1 << 31)

static int fail(char *err, size_t cap, const char *what) {
    if (err && cap) snprintf(err, cap, "%s", what);
    return -1;
}

/* The value of a header key: a pointer just past "'key': " in h, or NULL. */
static const char *dict_value(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s': ", key);
    const char *p = strstr(h, pat);
    return p ? p + strlen(pat) : NULL;
}

int npy_parse(const void *buf, size_t n, npy_array *a, char *err, size_t cap) {
    const unsigned char *p = buf;
    memset(a, 0, sizeof *a);
    if (!p || n < 10 || memcmp(p, "\x93NUMPY", 6)) return fail(err, cap, "not a .npy file");
    /* Version 1.x has a 2-byte header length, 2.x and 3.x a 4-byte one. */
    size_t pre = p[6] >= 2 ? 12 : 10;
    if (n < pre) return fail(err, cap, "truncated header");
    size_t hlen = p[8] | (size_t)p[9] << 8;
    if (pre == 12) hlen |= (size_t)p[10] << 16 | (size_t)p[11] << 24;
    if (hlen > 65536) return fail(err, cap, "header too long");
    if (hlen > n - pre) return fail(err, cap, "truncated header");
    /* A NUL-terminated copy: the dictionary is searched as a string, and a
     * NUL inside it just ends the search early. */
    char *h = malloc(hlen + 1);
    if (!h) return fail(err, cap, "out of memory");
    memcpy(h, p + pre, hlen);
    h[hlen] = 0;

    const char *why = NULL;
    size_t esize = 0;
    const char *d = dict_value(h, "descr");
    if (!d)
        why = "no descr";
    else if (!strncmp(d, "'<f4'", 5))
        a->dtype = NPY_F32, esize = 4;
    else if (!strncmp(d, "'|u1'", 5))
        a->dtype = NPY_U8, esize = 1;
    else if (!strncmp(d, "'<i4'", 5))
        a->dtype = NPY_I32, esize = 4;
    else if (!strncmp(d, "'<i8'", 5))
        a->dtype = NPY_I64, esize = 8;
    else
        why = "unsupported dtype";
    const char *fo = why ? NULL : dict_value(h, "fortran_order");
    if (!why && (!fo || strncmp(fo, "False", 5))) why = "fortran order not supported";
    const char *sp = why ? NULL : dict_value(h, "shape");
    if (!why && (!sp || *sp != '(')) why = "no shape";
    if (!why) {
        /* Each dimension is checked before it multiplies the count: a lying
         * shape must not overflow it. */
        sp++;
        a->count = 1;
        while (*sp >= '0' && *sp <= '9') {
            int64_t v = 0;
            while (*sp >= '0' && *sp <= '9' && v <= NPY_MAX_COUNT) v = v * 10 + (*sp++ - '0');
            if (v > NPY_MAX_COUNT || a->rank == 8) break;
            a->shape[a->rank++] = v;
            if (v && a->count > NPY_MAX_COUNT / v) break;
            a->count *= v;
            while (*sp == ',' || *sp == ' ') sp++;
        }
        if (*sp != ')') why = "bad shape";
    }
    free(h);
    if (why) {
        memset(a, 0, sizeof *a);
        return fail(err, cap, why);
    }
    size_t bytes = (size_t)a->count * esize;
    if (bytes > n - pre - hlen) {
        memset(a, 0, sizeof *a);
        return fail(err, cap, "truncated data");
    }
    a->data = malloc(bytes + 1); /* + 1: a 0-element array still gets a pointer */
    if (!a->data) {
        memset(a, 0, sizeof *a);
        return fail(err, cap, "out of memory");
    }
    memcpy(a->data, p + pre + hlen, bytes);
    return 0;
}

int npy_read(const char *path, npy_array *a, char *err, size_t cap) {
    memset(a, 0, sizeof *a);
    char what[128] = "cannot open";
    unsigned char *buf = NULL;
    long size = -1;
    FILE *f = ifp_fopen(path, "rb");
    if (f && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (f && size >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(size ? (size_t)size : 1);
        if (!buf)
            snprintf(what, sizeof what, "out of memory");
        else if (fread(buf, 1, (size_t)size, f) != (size_t)size)
            snprintf(what, sizeof what, "read failed");
        else if (npy_parse(buf, (size_t)size, a, what, sizeof what) == 0)
            what[0] = 0;
    }
    if (f) fclose(f);
    free(buf);
    if (!what[0]) return 0;
    if (err && cap) snprintf(err, cap, "%s: %s", path, what);
    return -1;
}

void npy_free(npy_array *a) {
    free(a->data);
    a->data = NULL;
}

int npy_write_f32_to(FILE *f, const float *data, const int64_t *shape, int rank) {
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)shape[i],
                      i + 1 < rank ? " " : "");
        count *= shape[i];
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    int total = 10 + n + 1;
    int padn = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)(n + padn + 1);
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 255), (unsigned char)(hl >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (int i = 0; ok && i < padn; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(data, sizeof(float), (size_t)count, f) == (size_t)count;
    return ok ? 0 : -1;
}
