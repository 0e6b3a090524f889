/* isa_tables.c -- every instruction set's table, in one place: which
 * micro-kernel, cache blocks and vector loops each runs (the kernels'
 * names and files: kernels/isa.h; what each member does:
 * kernels/ukernel.h). kernels/dispatch.c builds the ifk_ops of each table
 * and chooses among them at run time.
 *
 * A member may name another instruction set's loop (AVX-512 runs the
 * memory-bound AVX2 ones) or the portable one (__c, or the reference
 * kernel itself) where nothing faster exists. */
#include <string.h>

#include "kernels/isa.h"

/* The portable C micro-kernel under the packed drivers: the template of a
 * port, tested on every build, never chosen by default. */
const ifk_isa ifk_isa_generic = {
    .name = "generic",
    .mr = 4,
    .nr = 16,
    .kc = 256,
    .mc = 64,
    .nc = 2048,
    .ukr = ifk_f32_gemm_4x16__c,
    .softmax_row = ifk_f32_softmax_row__c,
    .gather = ifk_f32_gather__c,
    .dwconv = ifk_f32_dwconv__c,
    .dw3_row = ifk_f32_dw3_row__c,
    .sum_d = ifk_f32_sum_d__c,
    .sumsq_d = ifk_f32_sumsq_d__c,
    .ln_apply = ifk_f32_ln_apply__c,
    .gn_channel_sums = ifk_f32_gn_channel_sums__c,
    .gn_apply = ifk_f32_gn_apply__c,
    .activation = ifk_activation,
    .add = ifk_add,
    .axpy2 = ifk_f32_axpy2__c,
    .max_pixels = ifk_f32_max_pixels__c,
    .resize_bilinear = ifk_resize_bilinear,
    .f16_to_f32 = ifk_f16_to_f32,
    .wino_in = ifk_f32_wino_in__c,
    .wino_out = ifk_f32_wino_out__c,
};

#ifdef IFK_HAVE_X86
/* The memory-bound loops (depthwise convolution, the norms, element-wise,
 * resize, f16 widening): AVX2's serve AVX-512 too, as wider vectors do not pay there. */
#define IFK_AVX2_MEMORY_BOUND_LOOPS                                                                \
    .dwconv = ifk_f32_dwconv__avx2, .dw3_row = ifk_f32_dw3_row__avx2,                              \
    .sum_d = ifk_f32_sum_d__avx2, .sumsq_d = ifk_f32_sumsq_d__avx2,                                \
    .ln_apply = ifk_f32_ln_apply__avx2, .gn_channel_sums = ifk_f32_gn_channel_sums__avx2,          \
    .gn_apply = ifk_f32_gn_apply__avx2, .activation = ifk_f32_activation__avx2,                    \
    .add = ifk_f32_add__avx2, .axpy2 = ifk_f32_axpy2__avx2,                                        \
    .max_pixels = ifk_f32_max_pixels__avx2, .resize_bilinear = ifk_f32_resize_bilinear__avx2,      \
    .f16_to_f32 = ifk_f16_to_f32__avx2

const ifk_isa ifk_isa_avx2 = {
    .name = "avx2",
    .mr = 6,
    .nr = 16,
    .kc = 256,
    .mc = 72,
    .nc = 3072,
    .ukr = ifk_f32_gemm_6x16__avx2,
    .softmax_row = ifk_f32_softmax_row__avx2,
    .gather = ifk_f32_gather__avx2,
    IFK_AVX2_MEMORY_BOUND_LOOPS,
    .wino_in = ifk_f32_wino_in__avx2,
    .wino_out = ifk_f32_wino_out__avx2,
};

/* Softmax, the bias gather and the Winograd transforms in 16 lanes. */
const ifk_isa ifk_isa_avx512 = {
    .name = "avx512",
    .mr = 14,
    .nr = 32,
    .kc = 256,
    .mc = 168,
    .nc = 3072,
    .ukr = ifk_f32_gemm_14x32__avx512,
    .softmax_row = ifk_f32_softmax_row__avx512,
    .gather = ifk_f32_gather__avx512,
    IFK_AVX2_MEMORY_BOUND_LOOPS,
    .wino_in = ifk_f32_wino_in__avx512,
    .wino_out = ifk_f32_wino_out__avx512,
};
#endif

#ifdef IFK_HAVE_NEON
/* Cache blocks: a kc x 8 panel of B is 8 KiB and the 8 rows of A it meets
 * another 8 KiB (L1 is 32-64 KiB on these cores); an mc x kc block of A is
 * 128 KiB (L2 is 256 KiB - 1 MiB); a kc x nc block of B is 2 MiB. No
 * vector gather on NEON: the portable loop. */
const ifk_isa ifk_isa_neon = {
    .name = "neon",
    .mr = 8,
    .nr = 8,
    .kc = 256,
    .mc = 128,
    .nc = 2048,
    .ukr = ifk_f32_gemm_8x8__neon,
    .softmax_row = ifk_f32_softmax_row__neon,
    .gather = ifk_f32_gather__c,
    .dwconv = ifk_f32_dwconv__neon,
    .dw3_row = ifk_f32_dw3_row__neon,
    .sum_d = ifk_f32_sum_d__neon,
    .sumsq_d = ifk_f32_sumsq_d__neon,
    .ln_apply = ifk_f32_ln_apply__neon,
    .gn_channel_sums = ifk_f32_gn_channel_sums__neon,
    .gn_apply = ifk_f32_gn_apply__neon,
    .activation = ifk_f32_activation__neon,
    .add = ifk_f32_add__neon,
    .axpy2 = ifk_f32_axpy2__neon,
    .max_pixels = ifk_f32_max_pixels__neon,
    .resize_bilinear = ifk_f32_resize_bilinear__neon,
    .f16_to_f32 = ifk_f16_to_f32__neon,
    .wino_in = ifk_f32_wino_in__neon,
    .wino_out = ifk_f32_wino_out__neon,
};
#endif

#ifdef IFK_HAVE_WASM
/* WebAssembly SIMD128 (kernels/wasm/): one thread, so the blocks are for
 * one core's caches as NEON's, with MC a multiple of MR = 6. No vector
 * gather, activation (GELU goes lane-wise: kernels/wasm/vmath_wasm.h),
 * resize or f16 widening in SIMD128 yet: the portable loops and the
 * reference. */
const ifk_isa ifk_isa_wasm = {
    .name = "wasm",
    .mr = 6,
    .nr = 8,
    .kc = 256,
    .mc = 96,
    .nc = 2048,
    .ukr = ifk_f32_gemm_6x8__wasm,
    .softmax_row = ifk_f32_softmax_row__wasm,
    .gather = ifk_f32_gather__c,
    .dwconv = ifk_f32_dwconv__wasm,
    .dw3_row = ifk_f32_dw3_row__wasm,
    .sum_d = ifk_f32_sum_d__wasm,
    .sumsq_d = ifk_f32_sumsq_d__wasm,
    .ln_apply = ifk_f32_ln_apply__wasm,
    .gn_channel_sums = ifk_f32_gn_channel_sums__wasm,
    .gn_apply = ifk_f32_gn_apply__wasm,
    .activation = ifk_activation,
    .add = ifk_f32_add__wasm,
    .axpy2 = ifk_f32_axpy2__wasm,
    .max_pixels = ifk_f32_max_pixels__c,
    .resize_bilinear = ifk_resize_bilinear,
    .f16_to_f32 = ifk_f16_to_f32,
    .wino_in = ifk_f32_wino_in__wasm,
    .wino_out = ifk_f32_wino_out__wasm,
};
#endif

/* Every table of this build (the scratch sizes are the maximum over them). */
const ifk_isa *const ifk_isas[] = {
    &ifk_isa_generic,
#ifdef IFK_HAVE_X86
    &ifk_isa_avx2,    &ifk_isa_avx512,
#endif
#ifdef IFK_HAVE_NEON
    &ifk_isa_neon,
#endif
#ifdef IFK_HAVE_WASM
    &ifk_isa_wasm,
#endif
};
const int ifk_n_isas = (int)(sizeof ifk_isas / sizeof ifk_isas[0]);

const ifk_isa *ifk__isa_named(const char *name) {
    for (int i = 0; i < ifk_n_isas; i++)
        if (name && !strcmp(ifk_isas[i]->name, name)) return ifk_isas[i];
    return NULL;
}
