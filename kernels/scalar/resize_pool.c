/* resize_pool.c -- RESIZE_BILINEAR, ADAPTIVE_AVG/MAX_POOL and REF_EMBED
 * (a bilinear resize of a table lookup). */

#include <string.h>

#include "kernels/scalar/scalar.h"

enum { RESIZE_COLS = 256 }; /* columns whose taps are found at once */

/* One output row's block of nx columns (taps tx) from input rows r0, r1,
 * pixel j at y + j*ys. C is c, or a constant the compiler unrolls (the
 * logits' two channels). */
static inline void lerp_cols(const float *r0, const float *r1, float h0, float h1,
                             const ifk__lin_tap *tx, int nx, int C, float *IF_RESTRICT y,
                             size_t ys) {
    for (int j = 0; j < nx; j++) {
        const float w0 = tx[j].l0, w1 = tx[j].l1;
        const float *IF_RESTRICT a = r0 + (size_t)tx[j].i0 * C,
                                 *IF_RESTRICT b = r0 + (size_t)tx[j].i1 * C;
        const float *IF_RESTRICT d = r1 + (size_t)tx[j].i0 * C,
                                 *IF_RESTRICT e = r1 + (size_t)tx[j].i1 * C;
        float *IF_RESTRICT yp = y + (size_t)j * ys;
        for (int k = 0; k < C; k++)
            yp[k] = h0 * (w0 * a[k] + w1 * b[k]) + h1 * (w0 * d[k] + w1 * e[k]);
    }
}

void ifk_resize_bilinear(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                         int oy1) {
    if (h == oh && w == ow) {
        const size_t row = (size_t)w * c;
        memcpy(y + oy0 * row, x + oy0 * row, (size_t)(oy1 - oy0) * row * sizeof *x);
        return;
    }
    const float sy = (float)h / (float)oh, sx = (float)w / (float)ow;
    /* The columns' taps once per block of columns, not once per row: with
     * few channels (the logits' two), finding them cost more than using them. */
    ifk__lin_tap tx[RESIZE_COLS];
    for (int ox0 = 0; ox0 < ow; ox0 += RESIZE_COLS) {
        const int nx = ow - ox0 < RESIZE_COLS ? ow - ox0 : RESIZE_COLS;
        for (int j = 0; j < nx; j++) tx[j] = ifk__lin_index(ox0 + j, w, ow, sx);
        for (int oy = oy0; oy < oy1; oy++) {
            const ifk__lin_tap ty = ifk__lin_index(oy, h, oh, sy);
            const float *r0 = x + (size_t)ty.i0 * w * c, *r1 = x + (size_t)ty.i1 * w * c;
            float *yr = y + ((size_t)oy * ow + ox0) * c;
            if (c == 2)
                lerp_cols(r0, r1, ty.l0, ty.l1, tx, nx, 2, yr, 2);
            else
                lerp_cols(r0, r1, ty.l0, ty.l1, tx, nx, c, yr, (size_t)c);
        }
    }
}

void ifk__resize_bilinear_row(const float *x, int h, int w, int c, int oy, int oh, int ow, float *y,
                              size_t ys) {
    if (h == oh && w == ow) {
        const float *src = x + (size_t)oy * w * c;
        for (int X = 0; X < ow; X++) memcpy(y + X * ys, src + (size_t)X * c, (size_t)c * sizeof *y);
        return;
    }
    const ifk__lin_tap ty = ifk__lin_index(oy, h, oh, (float)h / (float)oh);
    const float *r0 = x + (size_t)ty.i0 * w * c, *r1 = x + (size_t)ty.i1 * w * c;
    const float sx = (float)w / (float)ow;
    ifk__lin_tap tx[RESIZE_COLS];
    for (int ox0 = 0; ox0 < ow; ox0 += RESIZE_COLS) {
        const int nx = ow - ox0 < RESIZE_COLS ? ow - ox0 : RESIZE_COLS;
        for (int j = 0; j < nx; j++) tx[j] = ifk__lin_index(ox0 + j, w, ow, sx);
        lerp_cols(r0, r1, ty.l0, ty.l1, tx, nx, c, y + ox0 * ys, ys);
    }
}

void ifk_ref_embed(const uint8_t *labels, int H, int W, const float *table, int k, int c, float *y,
                   int h, int w, int oy0, int oy1) {
    (void)k; /* labels < k is the caller's check */
    if (H == h && W == w) {
        for (size_t p = (size_t)oy0 * w; p < (size_t)oy1 * w; p++)
            memcpy(y + p * c, table + (size_t)labels[p] * c, (size_t)c * sizeof *y);
        return;
    }
    const float sy = (float)H / (float)h, sx = (float)W / (float)w;
    for (int oy = oy0; oy < oy1; oy++) {
        const ifk__lin_tap ty = ifk__lin_index(oy, H, h, sy);
        const uint8_t *l0 = labels + (size_t)ty.i0 * W, *l1 = labels + (size_t)ty.i1 * W;
        const float h0 = ty.l0, h1 = ty.l1;
        for (int ox = 0; ox < w; ox++) {
            const ifk__lin_tap tx = ifk__lin_index(ox, W, w, sx);
            const float w0 = tx.l0, w1 = tx.l1;
            const float *IF_RESTRICT a = table + (size_t)l0[tx.i0] * c;
            const float *IF_RESTRICT b = table + (size_t)l0[tx.i1] * c;
            const float *IF_RESTRICT d = table + (size_t)l1[tx.i0] * c;
            const float *IF_RESTRICT e = table + (size_t)l1[tx.i1] * c;
            float *IF_RESTRICT yp = y + ((size_t)oy * w + ox) * c;
            for (int q = 0; q < c; q++)
                yp[q] = h0 * (w0 * a[q] + w1 * b[q]) + h1 * (w0 * d[q] + w1 * e[q]);
        }
    }
}

void ifk_adaptive_avg_pool(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                           int oy1) {
    for (int oy = oy0; oy < oy1; oy++) {
        int y0, y1;
        ifk__pool_bin(oy, h, oh, &y0, &y1);
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            ifk__pool_bin(ox, w, ow, &x0, &x1);
            float *IF_RESTRICT yp = y + ((size_t)oy * ow + ox) * c;
            for (int k = 0; k < c; k++) yp[k] = 0.0f;
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) {
                    const float *IF_RESTRICT xp = x + ((size_t)iy * w + ix) * c;
                    for (int k = 0; k < c; k++) yp[k] += xp[k];
                }
            const float n = (float)((y1 - y0) * (x1 - x0));
            for (int k = 0; k < c; k++) yp[k] /= n;
        }
    }
}

void ifk_adaptive_max_pool(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                           int oy1) {
    for (int oy = oy0; oy < oy1; oy++) {
        int y0, y1;
        ifk__pool_bin(oy, h, oh, &y0, &y1);
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            ifk__pool_bin(ox, w, ow, &x0, &x1);
            float *IF_RESTRICT yp = y + ((size_t)oy * ow + ox) * c;
            memcpy(yp, x + ((size_t)y0 * w + x0) * c, (size_t)c * sizeof *y);
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) {
                    const float *IF_RESTRICT xp = x + ((size_t)iy * w + ix) * c;
                    /* NaN propagates, as in PyTorch. */
                    for (int k = 0; k < c; k++)
                        if (xp[k] > yp[k] || isnan(xp[k])) yp[k] = xp[k];
                }
        }
    }
}
