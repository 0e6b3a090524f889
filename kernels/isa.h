/* isa.h -- every micro-kernel and vector loop by name, and the instruction
 * set tables made of them (kernels/isa_tables.c) (internal to kernels/).
 *
 * Names say what a kernel is, XNNPACK-style: ifk_<datatype>_<op>[_<tile>]__<isa>,
 * e.g. ifk_f32_gemm_6x16__avx2 is the 6 x 16 float GEMM micro-kernel
 * for AVX2, ifk_f32_gn_apply__neon GroupNorm's normalisation loop on
 * NEON. The suffix is the instruction set of kernels/dispatch.h: c
 * (portable C), avx2 (AVX2 + FMA: the Makefile's -mavx2 -mfma), avx512
 * (AVX-512F on top of that), neon (AArch64 Advanced SIMD). Each kernel has the semantics of the ifk_isa member of the same op
 * (kernels/ukernel.h); the file that defines it is named by the section
 * below. The reference kernels of kernels/scalar/ keep their ifk_* names
 * (kernels/kernels.h). */
#ifndef IF_KERNELS_ISA_H
#define IF_KERNELS_ISA_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "kernels/ukernel.h"

#if defined(__x86_64__) || defined(_M_X64)
#define IFK_HAVE_X86 1
#endif
/* NEON (Advanced SIMD) is part of every AArch64 CPU, so a build for AArch64
 * has it unless the compiler was told to avoid the vector registers (no
 * __ARM_NEON: then the files of kernels/arm/ compile to nothing). */
#if defined(__aarch64__) && defined(__ARM_NEON)
#define IFK_HAVE_NEON 1
#endif

/* The instruction sets of this build, best last, and one by name (NULL
 * when not in this build): kernels/isa_tables.c. "scalar" is no ifk_isa
 * (it runs the reference kernels directly: kernels/dispatch.c). */
extern const ifk_isa ifk_isa_generic;
#ifdef IFK_HAVE_X86
extern const ifk_isa ifk_isa_avx2;
extern const ifk_isa ifk_isa_avx512;
#endif
#ifdef IFK_HAVE_NEON
extern const ifk_isa ifk_isa_neon;
#endif
extern const ifk_isa *const ifk_isas[];
extern const int ifk_n_isas;
const ifk_isa *ifk__isa_named(const char *name);

/* -------------- portable C: kernels/generic/ (f32_gemm_4x16_c.c, vec_c.c) */

void ifk_f32_gemm_4x16__c(int64_t k, const float *a, size_t lda, const float *b, float *c,
                          size_t ldc, int mr, int nr, const ifk_epi *e);
float ifk_f32_softmax_row__c(float *row, int64_t m, float scale, const float *bias);
void ifk_f32_gather__c(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx);
void ifk_f32_dwconv__c(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                       float *y);
double ifk_f32_sum_d__c(const float *x, int64_t n);
double ifk_f32_sumsq_d__c(const float *x, int64_t n, double mean);
void ifk_f32_ln_apply__c(const float *x, int64_t n, float mhi, float mlo, float rstd,
                         const float *gamma, const float *beta, float *y);
void ifk_f32_gn_channel_sums__c(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                                const double *mk, double *cs);
void ifk_f32_gn_apply__c(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                         const float *mk, const float *lk, const float *sk, const float *bk,
                         int act);
void ifk_f32_wino_in__c(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk_f32_wino_out__c(const float *m, size_t ldm, int64_t n, const float *bias,
                         float *const y[4], int cols, size_t ldy);

/* One pixel's channels [k, nk) of gn_channel_sums, in double: cs[k] += x or
 * (x - mk)^2. The portable loop's body and the vector loops' tail. */
static inline void ifk__gn_sums_tail(const float *xp, const double *mk, double *cs, int64_t k,
                                     int64_t nk) {
    for (; k < nk; k++) {
        const double d = mk ? xp[k] - mk[k] : xp[k];
        cs[k] += mk ? d * d : d;
    }
}

/* ------------- x86-64 AVX2: kernels/x86/ (f32_gemm_6x16_avx2.c, vec_avx2.c) */
#ifdef IFK_HAVE_X86
void ifk_f32_gemm_6x16__avx2(int64_t k, const float *a, size_t lda, const float *b, float *c,
                             size_t ldc, int mr, int nr, const ifk_epi *e);
float ifk_f32_softmax_row__avx2(float *row, int64_t m, float scale, const float *bias);
void ifk_f32_gather__avx2(float *dst, int64_t n, const float *tab, int32_t base,
                          const int32_t *idx);
void ifk_f32_dwconv__avx2(const float *x, const ifk_conv_params *p, const float *wt,
                          const float *bias, float *y);
double ifk_f32_sum_d__avx2(const float *x, int64_t n);
double ifk_f32_sumsq_d__avx2(const float *x, int64_t n, double mean);
void ifk_f32_ln_apply__avx2(const float *x, int64_t n, float mhi, float mlo, float rstd,
                            const float *gamma, const float *beta, float *y);
void ifk_f32_gn_channel_sums__avx2(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                                   const double *mk, double *cs);
void ifk_f32_gn_apply__avx2(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                            const float *mk, const float *lk, const float *sk, const float *bk,
                            int act);
void ifk_f32_activation__avx2(const float *x, int64_t n, int act, float *y);
void ifk_f32_add__avx2(const float *a, const float *b, int64_t n, float *y);
void ifk_f32_resize_bilinear__avx2(const float *x, int h, int w, int c, float *y, int oh, int ow,
                                   int oy0, int oy1);
void ifk_f32_wino_in__avx2(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk_f32_wino_out__avx2(const float *m, size_t ldm, int64_t n, const float *bias,
                            float *const y[4], int cols, size_t ldy);

/* ------------- x86-64 AVX-512F: kernels/x86/ (f32_gemm_14x32_avx512.c, vec_avx512.c) */
void ifk_f32_gemm_14x32__avx512(int64_t k, const float *a, size_t lda, const float *b, float *c,
                                size_t ldc, int mr, int nr, const ifk_epi *e);
float ifk_f32_softmax_row__avx512(float *row, int64_t m, float scale, const float *bias);
void ifk_f32_gather__avx512(float *dst, int64_t n, const float *tab, int32_t base,
                            const int32_t *idx);
void ifk_f32_wino_in__avx512(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk_f32_wino_out__avx512(const float *m, size_t ldm, int64_t n, const float *bias,
                              float *const y[4], int cols, size_t ldy);
#endif

/* ------------ AArch64 NEON: kernels/arm/ (f32_gemm_8x8_neon.c, vec_neon.c) */
#ifdef IFK_HAVE_NEON
void ifk_f32_gemm_8x8__neon(int64_t k, const float *a, size_t lda, const float *b, float *c,
                            size_t ldc, int mr, int nr, const ifk_epi *e);
float ifk_f32_softmax_row__neon(float *row, int64_t m, float scale, const float *bias);
void ifk_f32_dwconv__neon(const float *x, const ifk_conv_params *p, const float *wt,
                          const float *bias, float *y);
double ifk_f32_sum_d__neon(const float *x, int64_t n);
double ifk_f32_sumsq_d__neon(const float *x, int64_t n, double mean);
void ifk_f32_ln_apply__neon(const float *x, int64_t n, float mhi, float mlo, float rstd,
                            const float *gamma, const float *beta, float *y);
void ifk_f32_gn_channel_sums__neon(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                                   const double *mk, double *cs);
void ifk_f32_gn_apply__neon(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                            const float *mk, const float *lk, const float *sk, const float *bk,
                            int act);
void ifk_f32_activation__neon(const float *x, int64_t n, int act, float *y);
void ifk_f32_add__neon(const float *a, const float *b, int64_t n, float *y);
void ifk_f32_resize_bilinear__neon(const float *x, int h, int w, int c, float *y, int oh, int ow,
                                   int oy0, int oy1);
void ifk_f32_wino_in__neon(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk_f32_wino_out__neon(const float *m, size_t ldm, int64_t n, const float *bias,
                            float *const y[4], int cols, size_t ldy);
#endif

#endif
