/* x86.h -- the x86-64 vector loops (kernels/x86/vec_avx2.c, vec_avx512.c),
 * for the ifk_isa tables of the micro-kernel files. Semantics: gemm.h. */
#ifndef IF_KERNELS_X86_H
#define IF_KERNELS_X86_H

#include <stdint.h>

#include "kernels/kernels.h"

float ifk__softmax_row_avx2(float *row, int64_t m, float scale, const float *bias);
void ifk__gather_avx2(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx);
void ifk__dwconv_avx2(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                      float *y);
void ifk__layer_norm_avx2(const float *x, int64_t rows, int64_t c, const float *gamma,
                          const float *beta, float eps, float *y);
double ifk__sum_d_avx2(const float *x, int64_t n);
double ifk__sumsq_d_avx2(const float *x, int64_t n, double mean);
void ifk__gn_channel_sums_avx2(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                               const double *mk, double *cs);
void ifk__gn_apply_avx2(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                        const float *mk, const float *lk, const float *sk, const float *bk,
                        int act);
void ifk__activation_avx2(const float *x, int64_t n, int act, float *y);
void ifk__add_avx2(const float *a, const float *b, int64_t n, float *y);
void ifk__resize_bilinear_avx2(const float *x, int h, int w, int c, float *y, int oh, int ow,
                               int oy0, int oy1);
void ifk__wino_in_avx2(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk__wino_out_avx2(const float *m, size_t ldm, int64_t n, const float *bias, float *const y[4],
                        int cols, size_t ldy);

float ifk__softmax_row_avx512(float *row, int64_t m, float scale, const float *bias);
void ifk__gather_avx512(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx);
void ifk__wino_in_avx512(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk__wino_out_avx512(const float *m, size_t ldm, int64_t n, const float *bias,
                          float *const y[4], int cols, size_t ldy);

#endif
