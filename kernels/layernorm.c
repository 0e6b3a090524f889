/* layernorm.c -- LayerNorm over an instruction set's vector loops
 * (semantics: kernels.h, ifk_layer_norm; the statistics and the float
 * normalisation are kernels/scalar/norm.c's, explained there).
 *
 * An instruction set provides three loops (ifk_isa: sum_d, sumsq_d,
 * ln_apply; e.g. ifk_f32_ln_apply__neon in kernels/arm/vec_neon.c); the
 * per-row statistics (double mean, biased variance, mean split into float
 * hi + lo, 1 / sqrt(variance + eps)) are here, once. */
#include <math.h>

#include "kernels/drivers.h"

void ifk__layer_norm(const ifk_isa *isa, const float *x, int64_t rows, int64_t c,
                     const float *gamma, const float *beta, float eps, float *y) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c;
        const double mean = isa->sum_d(xr, c) / (double)c;
        const double q = isa->sumsq_d(xr, c, mean);
        const float rstd = (float)(1.0 / sqrt(q / (double)c + (double)eps));
        const float mhi = (float)mean, mlo = (float)(mean - (double)mhi);
        isa->ln_apply(xr, c, mhi, mlo, rstd, gamma, beta, y + (size_t)r * c);
    }
}
