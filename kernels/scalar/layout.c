/* layout.c -- data movement: IM2COL, CROP, PASTE. */

#include <string.h>

#include "kernels/scalar/scalar.h"

void ifk_im2col(const float *x, int h, int w, int c, int kh, int kw, int sh, int sw, int pt, int pl,
                int pb, int pr, float *y, int oy0, int oy1) {
    const int wo = (w + pl + pr - kw) / sw + 1;
    const size_t kk = (size_t)kh * kw;
    (void)pb;
    for (int Y = oy0; Y < oy1; Y++) {
        const int iy0 = Y * sh - pt;
        for (int X = 0; X < wo; X++) {
            const int ix0 = X * sw - pl;
            float *IF_RESTRICT yp = y + ((size_t)Y * wo + X) * c * kk;
            for (int ky = 0; ky < kh; ky++) {
                const int iy = iy0 + ky;
                for (int kx = 0; kx < kw; kx++) {
                    const int ix = ix0 + kx;
                    float *IF_RESTRICT yk = yp + (size_t)ky * kw + kx; /* channel ci at yk[ci*kk] */
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                        for (int ci = 0; ci < c; ci++) yk[ci * kk] = 0.0f;
                    } else {
                        const float *IF_RESTRICT xp = x + ((size_t)iy * w + ix) * c;
                        for (int ci = 0; ci < c; ci++) yk[ci * kk] = xp[ci];
                    }
                }
            }
        }
    }
}

void ifk_crop(const float *x, int h, int w, int c, int y0, int x0, int wh, int ww, float *y) {
    (void)h;
    const size_t row = (size_t)ww * c * sizeof *y;
    for (int r = 0; r < wh; r++)
        memcpy(y + (size_t)r * ww * c, x + ((size_t)(y0 + r) * w + x0) * c, row);
}

void ifk_paste(float *dst, int h, int w, int c, int y0, int x0, int wh, int ww,
               const float *patch) {
    (void)h;
    const size_t row = (size_t)ww * c * sizeof *dst;
    for (int r = 0; r < wh; r++)
        memcpy(dst + ((size_t)(y0 + r) * w + x0) * c, patch + (size_t)r * ww * c, row);
}
