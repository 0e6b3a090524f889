/* fuzz_coco.c -- libFuzzer harness: the COCO outputs (interformer.h,
 * "Outputs"). Bytes: width (1 + b0 % 24), height (1 + b1 % 24), tolerance
 * (b2 / 16 pixels), then the rest twice over: as a compressed COCO RLE
 * string, and as a mask (bit 0 of each byte, missing bytes 0). A string
 * the decoder accepts must paint the image exactly when its counts add up,
 * and come back the same through the encoder; every mask's counts must
 * paint it back, and its polygons at tolerance 0 must fill it back (even-
 * odd at pixel centres); at any tolerance every ring has 3 points or more
 * on the grid and a hole's parent is an earlier outer ring. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interformer.h"

enum { MAXS = 24 };

/* Even-odd fill of every ring at pixel centres, compared with m. */
static int polygons_fill(const if_polygons *pg, const uint8_t *m, int w, int h) {
    uint8_t r[MAXS * MAXS] = {0};
    for (int i = 0; i < if_polygons_count(pg); i++) {
        int n;
        const float *p = if_polygons_ring(pg, i, &n, NULL);
        for (int y = 0; y < h; y++)
            for (int k = 0; k < n; k++) {
                double x1 = p[2 * k], y1 = p[2 * k + 1], x2 = p[2 * ((k + 1) % n)],
                       y2 = p[2 * ((k + 1) % n) + 1], cy = y + 0.5;
                if ((y1 > cy) == (y2 > cy)) continue;
                double xi = x1 + (cy - y1) * (x2 - x1) / (y2 - y1);
                for (int x = 0; x < w; x++)
                    if (x + 0.5 < xi) r[y * w + x] ^= 1;
            }
    }
    for (int i = 0; i < w * h; i++)
        if (r[i] != (m[i] != 0)) return 0;
    return 1;
}

static void check_mask(const uint8_t *m, int w, int h, float tol) {
    uint32_t counts[MAXS * MAXS + 1];
    uint8_t back[MAXS * MAXS];
    size_t n;
    if (if_mask_rle(m, w, h, (size_t)w, counts, MAXS * MAXS + 1, &n) != IF_OK) abort();
    if (if_rle_to_mask(counts, n, w, h, back, (size_t)w) != IF_OK) abort();
    for (int i = 0; i < w * h; i++)
        if (back[i] != (m[i] != 0)) abort();
    int box[4];
    int64_t area;
    if (if_mask_bbox(m, w, h, (size_t)w, box, &area) != IF_OK || area < 0 || area > w * h) abort();
    for (int exact = 0; exact < 2; exact++) {
        if_polygons *pg;
        if (if_mask_polygons(m, w, h, (size_t)w, exact ? 0 : tol, &pg) != IF_OK) abort();
        for (int i = 0; i < if_polygons_count(pg); i++) {
            int np, parent, pp;
            const float *p = if_polygons_ring(pg, i, &np, &parent);
            if (!p || np < 3 || parent >= i) abort();
            if (parent >= 0 && (if_polygons_ring(pg, parent, NULL, &pp), pp != -1)) abort();
            for (int k = 0; k < 2 * np; k++)
                if (p[k] < 0 || p[k] > (k & 1 ? h : w) || p[k] != (float)(int)p[k]) abort();
        }
        if (exact && !polygons_fill(pg, m, w, h)) abort();
        if_polygons_free(pg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int w = 1 + data[0] % MAXS, h = 1 + data[1] % MAXS;
    float tol = data[2] / 16.0f;
    const char *s = (const char *)data + 3;
    size_t len = size - 3, n, n2, slen;

    /* The string. */
    if (if_rle_decode_string(s, len, NULL, 0, &n) == IF_OK) {
        uint32_t *c = (uint32_t *)malloc((n ? n : 1) * sizeof *c);
        if (!c || if_rle_decode_string(s, len, c, n, &n2) != IF_OK || n2 != n || n > len) abort();
        if (if_rle_encode_string(c, n, NULL, 0, &slen) != IF_OK) abort();
        char *str = (char *)malloc(slen + 1);
        uint32_t *c2 = (uint32_t *)malloc((n ? n : 1) * sizeof *c2);
        if (!str || !c2 || if_rle_encode_string(c, n, str, slen + 1, &slen) != IF_OK ||
            if_rle_decode_string(str, slen, c2, n, &n2) != IF_OK || n2 != n ||
            memcmp(c, c2, n * sizeof *c))
            abort();
        uint8_t m[MAXS * MAXS];
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) sum += c[i];
        if_status st = if_rle_to_mask(c, n, w, h, m, (size_t)w);
        if ((st == IF_OK) != (sum == (uint64_t)w * h)) abort();
        if (st == IF_OK) check_mask(m, w, h, tol);
        free(c);
        free(c2);
        free(str);
    } else if (!*if_last_error()) {
        abort(); /* a refusal says why */
    }

    /* The bytes as a mask. */
    uint8_t m[MAXS * MAXS] = {0};
    for (int i = 0; i < w * h && (size_t)i < len; i++) m[i] = (uint8_t)(s[i] & 1);
    check_mask(m, w, h, tol);
    return 0;
}
