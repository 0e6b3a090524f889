/* arm.h -- the AArch64 NEON instruction set (kernels/arm/): the ifk_isa of
 * sgemm_8x8_neon.c and the vector loops of vec_neon.c (semantics:
 * kernels/gemm.h). NEON (Advanced SIMD) is part of every AArch64 CPU, so
 * a build for AArch64 has it unless the compiler was told to avoid the
 * vector registers (no __ARM_NEON: then IFK_HAVE_NEON is not defined and
 * the files of kernels/arm/ compile to nothing). */
#ifndef IF_KERNELS_ARM_H
#define IF_KERNELS_ARM_H

#include <stdint.h>

#include "kernels/kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#define IFK_HAVE_NEON 1

struct ifk_isa;
extern const struct ifk_isa ifk_isa_neon;

float ifk__softmax_row_neon(float *row, int64_t m, float scale, const float *bias);
void ifk__dwconv_neon(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                      float *y);
void ifk__layer_norm_neon(const float *x, int64_t rows, int64_t c, const float *gamma,
                          const float *beta, float eps, float *y);
double ifk__sum_d_neon(const float *x, int64_t n);
double ifk__sumsq_d_neon(const float *x, int64_t n, double mean);
void ifk__gn_channel_sums_neon(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                               const double *mk, double *cs);
void ifk__gn_apply_neon(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                        const float *mk, const float *lk, const float *sk, const float *bk,
                        int act);
void ifk__activation_neon(const float *x, int64_t n, int act, float *y);
void ifk__add_neon(const float *a, const float *b, int64_t n, float *y);
void ifk__resize_bilinear_neon(const float *x, int h, int w, int c, float *y, int oh, int ow,
                               int oy0, int oy1);
void ifk__wino_in_neon(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk__wino_out_neon(const float *m, size_t ldm, int64_t n, const float *bias, float *const y[4],
                        int cols, size_t ldy);
#endif

#endif
