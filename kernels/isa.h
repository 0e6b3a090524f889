/* isa.h -- every micro-kernel and vector loop by name, and the instruction
 * set tables made of them (kernels/isa_tables.c) (internal to kernels/).
 *
 * Names say what a kernel is, XNNPACK-style: ifk_<datatype>_<op>[_<tile>]__<isa>,
 * e.g. ifk_f32_gemm_6x16__avx2 is the 6 x 16 float GEMM micro-kernel
 * for AVX2, ifk_f32_gn_apply__neon GroupNorm's normalisation loop on
 * NEON. The suffix is the instruction set of kernels/dispatch.h: c
 * (portable C), avx2 (AVX2 + FMA: kernels/x86/target.h), avx512
 * (AVX-512F on top of that), neon (AArch64 Advanced SIMD), wasm
 * (WebAssembly SIMD128). Each kernel has
 * the semantics of the ifk_isa member of its op (kernels/ukernel.h); the
 * suffix names its file (below). The reference kernels of kernels/scalar/
 * keep their ifk_* names (kernels/kernels.h). */
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
/* WebAssembly SIMD128: only when the compiler was asked for it (emcc
 * -msimd128; engines without SIMD128 cannot load such a module at all, so
 * `make wasm` also builds a module without it: then kernels/wasm/ compiles
 * to nothing and the scalar and generic sets run). */
#if defined(__wasm_simd128__)
#define IFK_HAVE_WASM 1
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
#ifdef IFK_HAVE_WASM
extern const ifk_isa ifk_isa_wasm;
#endif
extern const ifk_isa *const ifk_isas[];
extern const int ifk_n_isas;
const ifk_isa *ifk__isa_named(const char *name);

/* The signatures, once: those of the ifk_isa members (kernels/ukernel.h),
 * XNNPACK-style; the names stay literal below, for grep. */
#define IFK_GEMM(fn)                                                                               \
    void fn(int64_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int mr,   \
            int nr, const ifk_epi *e)
#define IFK_SOFTMAX_ROW(fn) float fn(float *row, int64_t m, float scale, const float *bias)
#define IFK_GATHER(fn)                                                                             \
    void fn(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx)
#define IFK_DWCONV(fn)                                                                             \
    void fn(const float *x, const ifk_conv_params *p, const float *wt, const float *bias, float *y)
#define IFK_DW3_ROW(fn)                                                                            \
    void fn(const float *const r[3], int w, int c, const float *wt, const float *bias, int act,    \
            float *y)
#define IFK_SUM_D(fn)   double fn(const float *x, int64_t n)
#define IFK_SUMSQ_D(fn) double fn(const float *x, int64_t n, double mean)
#define IFK_LN_APPLY(fn)                                                                           \
    void fn(const float *x, int64_t n, float mhi, float mlo, float rstd, const float *gamma,       \
            const float *beta, float *y)
#define IFK_GN_CHANNEL_SUMS(fn)                                                                    \
    void fn(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk, const double *mk,       \
            double *cs)
#define IFK_GN_APPLY(fn)                                                                           \
    void fn(const float *x, float *y, int64_t hw, int64_t c, int64_t nk, const float *mk,          \
            const float *lk, const float *sk, const float *bk, int act)
#define IFK_ACTIVATION(fn) void fn(const float *x, int64_t n, int act, float *y)
#define IFK_ADD(fn)        void fn(const float *a, const float *b, int64_t n, float *y)
#define IFK_MAX_PIXELS(fn) void fn(float *y, const float *x, int64_t npix, int64_t c)
#define IFK_AXPY2(fn)                                                                              \
    void fn(float *y, const float *x0, float a0, const float *x1, float a1, int64_t n)
#define IFK_RESIZE_BILINEAR(fn)                                                                    \
    void fn(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0, int oy1)
#define IFK_F16_TO_F32(fn) void fn(const uint16_t *src, int64_t n, float *dst)
#define IFK_WINO_IN(fn)    void fn(const float *const d[36], int64_t n, float *v, size_t ldv)
#define IFK_WINO_OUT(fn)                                                                           \
    void fn(const float *m, size_t ldm, int64_t n, const float *bias, float *const y[4], int cols, \
            size_t ldy)

/* ------------------------------------------------------------ the kernels
 * By op, every instruction set's version. Declared on every build; defined
 * where the target has them (kernels/isa_tables.c refers to them under the
 * same #if). The suffix says the file: __c kernels/generic/vec_c.c,
 * __avx2 kernels/x86/vec_avx2.c, __avx512 kernels/x86/vec_avx512.c,
 * __neon kernels/arm/vec_neon.c, __wasm kernels/wasm/vec_wasm.c; the
 * micro-kernels have files of their own names
 * (kernels/x86/f32_gemm_6x16_avx2.c). */

/* GEMM micro-kernels (ukr): f32_gemm_<MR>x<NR>_<isa>.c */
IFK_GEMM(ifk_f32_gemm_4x16__c);
IFK_GEMM(ifk_f32_gemm_6x16__avx2);
IFK_GEMM(ifk_f32_gemm_14x32__avx512);
IFK_GEMM(ifk_f32_gemm_8x8__neon);
IFK_GEMM(ifk_f32_gemm_6x8__wasm);

/* attention: the softmax of a score row */
IFK_SOFTMAX_ROW(ifk_f32_softmax_row__c);
IFK_SOFTMAX_ROW(ifk_f32_softmax_row__avx2);
IFK_SOFTMAX_ROW(ifk_f32_softmax_row__avx512);
IFK_SOFTMAX_ROW(ifk_f32_softmax_row__neon);
IFK_SOFTMAX_ROW(ifk_f32_softmax_row__wasm);

/* ViT attention: the relative position bias gather */
IFK_GATHER(ifk_f32_gather__c);
IFK_GATHER(ifk_f32_gather__avx2);
IFK_GATHER(ifk_f32_gather__avx512);

/* depthwise convolution */
IFK_DWCONV(ifk_f32_dwconv__c);
IFK_DWCONV(ifk_f32_dwconv__avx2);
IFK_DWCONV(ifk_f32_dwconv__neon);
IFK_DWCONV(ifk_f32_dwconv__wasm);
IFK_DW3_ROW(ifk_f32_dw3_row__c);
IFK_DW3_ROW(ifk_f32_dw3_row__avx2);
IFK_DW3_ROW(ifk_f32_dw3_row__neon);
IFK_DW3_ROW(ifk_f32_dw3_row__wasm);

/* the norms: sums in double */
IFK_SUM_D(ifk_f32_sum_d__c);
IFK_SUM_D(ifk_f32_sum_d__avx2);
IFK_SUM_D(ifk_f32_sum_d__neon);
IFK_SUM_D(ifk_f32_sum_d__wasm);
IFK_SUMSQ_D(ifk_f32_sumsq_d__c);
IFK_SUMSQ_D(ifk_f32_sumsq_d__avx2);
IFK_SUMSQ_D(ifk_f32_sumsq_d__neon);
IFK_SUMSQ_D(ifk_f32_sumsq_d__wasm);

/* LayerNorm: the normalisation of a row (driver: kernels/layernorm.c) */
IFK_LN_APPLY(ifk_f32_ln_apply__c);
IFK_LN_APPLY(ifk_f32_ln_apply__avx2);
IFK_LN_APPLY(ifk_f32_ln_apply__neon);
IFK_LN_APPLY(ifk_f32_ln_apply__wasm);

/* GroupNorm: per-channel sums and the normalisation (driver:
 * kernels/groupnorm.c) */
IFK_GN_CHANNEL_SUMS(ifk_f32_gn_channel_sums__c);
IFK_GN_CHANNEL_SUMS(ifk_f32_gn_channel_sums__avx2);
IFK_GN_CHANNEL_SUMS(ifk_f32_gn_channel_sums__neon);
IFK_GN_CHANNEL_SUMS(ifk_f32_gn_channel_sums__wasm);
IFK_GN_APPLY(ifk_f32_gn_apply__c);
IFK_GN_APPLY(ifk_f32_gn_apply__avx2);
IFK_GN_APPLY(ifk_f32_gn_apply__neon);
IFK_GN_APPLY(ifk_f32_gn_apply__wasm);

/* element-wise (the generic set runs the reference kernels ifk_activation,
 * ifk_add, ifk_resize_bilinear) */
IFK_ACTIVATION(ifk_f32_activation__avx2);
IFK_ACTIVATION(ifk_f32_activation__neon);
IFK_ADD(ifk_f32_add__avx2);
IFK_ADD(ifk_f32_add__neon);
IFK_ADD(ifk_f32_add__wasm);
IFK_AXPY2(ifk_f32_axpy2__c);
IFK_MAX_PIXELS(ifk_f32_max_pixels__c);
IFK_MAX_PIXELS(ifk_f32_max_pixels__avx2);
IFK_MAX_PIXELS(ifk_f32_max_pixels__neon);
IFK_AXPY2(ifk_f32_axpy2__avx2);
IFK_AXPY2(ifk_f32_axpy2__neon);
IFK_AXPY2(ifk_f32_axpy2__wasm);

/* bilinear resize */
IFK_RESIZE_BILINEAR(ifk_f32_resize_bilinear__avx2);
IFK_RESIZE_BILINEAR(ifk_f32_resize_bilinear__neon);

/* IEEE half -> float, for packing f16 weights (kernels/gemm.c): files
 * f16_<isa>.c; the generic set runs the reference ifk_f16_to_f32 */
IFK_F16_TO_F32(ifk_f16_to_f32__avx2);
IFK_F16_TO_F32(ifk_f16_to_f32__neon);

/* Winograd F(4x4, 3x3) transforms (kernels/winograd_tx.h; driver:
 * kernels/winograd.c) */
IFK_WINO_IN(ifk_f32_wino_in__c);
IFK_WINO_IN(ifk_f32_wino_in__avx2);
IFK_WINO_IN(ifk_f32_wino_in__avx512);
IFK_WINO_IN(ifk_f32_wino_in__neon);
IFK_WINO_IN(ifk_f32_wino_in__wasm);
IFK_WINO_OUT(ifk_f32_wino_out__c);
IFK_WINO_OUT(ifk_f32_wino_out__avx2);
IFK_WINO_OUT(ifk_f32_wino_out__avx512);
IFK_WINO_OUT(ifk_f32_wino_out__neon);
IFK_WINO_OUT(ifk_f32_wino_out__wasm);

/* sum_d and sumsq_d continued from s over x[i], i < n, in increasing i:
 * the portable loops' body and the vector loops' tail. */
static inline double ifk__sum_d_tail(double s, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
}
static inline double ifk__sumsq_d_tail(double s, const float *x, int64_t n, double mean) {
    for (int64_t i = 0; i < n; i++) {
        const double d = x[i] - mean;
        s += d * d;
    }
    return s;
}

/* One pixel's channels [k, nk) of gn_channel_sums, in double: cs[k] += x or
 * (x - mk)^2. The portable loop's body and the vector loops' tail. */
static inline void ifk__gn_sums_tail(const float *xp, const double *mk, double *cs, int64_t k,
                                     int64_t nk) {
    for (; k < nk; k++) {
        const double d = mk ? xp[k] - mk[k] : xp[k];
        cs[k] += mk ? d * d : d;
    }
}

#endif
