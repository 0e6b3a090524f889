/* npy.c -- see npy.h. Only the header dictionary forms NumPy itself writes
 * are understood; anything else is an error, never a guess. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t cap, const char *path, const char *what) {
    if (err) snprintf(err, cap, "%s: %s", path, what);
    return -1;
}

int npy_read(const char *path, npy_array *a, char *err, size_t cap) {
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, cap, path, "cannot open");
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
        fclose(f);
        return fail(err, cap, path, "not a .npy file");
    }
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            fclose(f);
            return fail(err, cap, path, "truncated header");
        }
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (hlen > 65536) {
        fclose(f);
        return fail(err, cap, path, "header too long");
    }
    char *h = calloc(1, hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen) {
        free(h);
        fclose(f);
        return fail(err, cap, path, "truncated header");
    }
    size_t esize;
    if (strstr(h, "'<f4'")) a->dtype = NPY_F32, esize = 4;
    else if (strstr(h, "'|u1'")) a->dtype = NPY_U8, esize = 1;
    else if (strstr(h, "'<i4'")) a->dtype = NPY_I32, esize = 4;
    else if (strstr(h, "'<i8'")) a->dtype = NPY_I64, esize = 8;
    else {
        free(h);
        fclose(f);
        return fail(err, cap, path, "unsupported dtype");
    }
    if (strstr(h, "'fortran_order': True")) {
        free(h);
        fclose(f);
        return fail(err, cap, path, "fortran order not supported");
    }
    const char *sp = strstr(h, "'shape': (");
    if (!sp) {
        free(h);
        fclose(f);
        return fail(err, cap, path, "no shape");
    }
    sp += 10;
    a->count = 1;
    while (*sp && *sp != ')') {
        char *end;
        long long v = strtoll(sp, &end, 10);
        if (end == sp || v < 0 || a->rank == 8) break;
        a->shape[a->rank++] = v;
        a->count *= v;
        sp = end;
        while (*sp == ',' || *sp == ' ') sp++;
    }
    int shape_ok = *sp == ')' && a->count <= ((int64_t)1 << 31);
    free(h);
    if (!shape_ok) {
        fclose(f);
        return fail(err, cap, path, "bad shape");
    }
    a->data = malloc((size_t)a->count * esize + 1);
    if (!a->data || fread(a->data, esize, (size_t)a->count, f) != (size_t)a->count) {
        fclose(f);
        npy_free(a);
        return fail(err, cap, path, "truncated data");
    }
    fclose(f);
    return 0;
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
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 255),
                             (unsigned char)(hl >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (int i = 0; ok && i < padn; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(data, sizeof(float), (size_t)count, f) == (size_t)count;
    return ok ? 0 : -1;
}
