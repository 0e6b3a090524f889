/* pool.c -- adaptive max pooling (drivers.h; the semantics: kernels.h's
 * ifk_adaptive_max_pool, PyTorch's bins).
 *
 * I-MSA pools each block's keys four times per click (Tiny: 34 pools of
 * maps up to 128x128x32); the reference's per-element compare-and-branch
 * made them 7% of a Tiny click. Here each bin's rows go to the ISA's
 * max_pixels, a whole row of the bin at a time, channels in vectors. Max is
 * exact and NaN propagates as in the reference: the same bits. */
#include <string.h>

#include "kernels/drivers.h"
#include "kernels/scalar/scalar.h"

void ifk__adaptive_max_pool(const ifk_isa *isa, const float *x, int h, int w, int c, float *y,
                            int oh, int ow, int oy0, int oy1) {
    for (int oy = oy0; oy < oy1; oy++) {
        int y0, y1;
        ifk__pool_bin(oy, h, oh, &y0, &y1);
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            ifk__pool_bin(ox, w, ow, &x0, &x1);
            float *yp = y + ((size_t)oy * ow + ox) * c;
            memcpy(yp, x + ((size_t)y0 * w + x0) * c, (size_t)c * sizeof *y);
            for (int iy = y0; iy < y1; iy++)
                isa->max_pixels(yp, x + ((size_t)iy * w + x0) * c, x1 - x0, c);
        }
    }
}
