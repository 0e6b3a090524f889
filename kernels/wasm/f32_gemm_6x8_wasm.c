/* f32_gemm_6x8_wasm.c -- the WebAssembly SIMD128 micro-kernel: 6 rows x 8
 * columns, 12 v128 accumulators (contract: kernels/ukernel.h), the
 * micro-kernel of the "wasm" instruction set (kernels/isa_tables.c).
 *
 * Register block. A WebAssembly engine maps v128 values onto the host's
 * vector registers: 16 on x86-64 (SSE/AVX), 32 on AArch64. 12 accumulators,
 * the 2 vectors of a B row and the broadcast A value fit the smaller file
 * without spilling; 8x8 would need 16 + 3. NR = 8 (two vectors) divides the
 * head dimensions and channel counts of the model, as on NEON.
 *
 * SIMD128 has no fused multiply-add: each k step is a rounded product and
 * a rounded sum per accumulator, in increasing k, as the contract allows
 * (the portable kernel computes the same). Row edges (mr < 6) run the tile
 * with fewer rows (kernels/ukernel_rows.h); column edges (nr < 8) load and
 * store C, bias and the residual through vmath_wasm.h's tail helpers. */

#include "kernels/isa.h"

#ifdef IFK_HAVE_WASM

#include <wasm_simd128.h>

#include "kernels/wasm/vmath_wasm.h"

#define UK_MR 6              /* rows, for kernels/ukernel_rows.h */
enum { MR = UK_MR, NR = 8 }; /* as ifk_isa_wasm (kernels/isa_tables.c) says */

/* The columns of a row of C that a tile may touch: all 8, or the first nr.
 * Half h is columns [4h, 4h + 4), of which n[h] are valid. */
typedef struct {
    int full, n[2];
} uk_cols;
static inline uk_cols cols_of(int nr) {
    const uk_cols g = {nr == NR, {nr < 4 ? nr : 4, nr > 4 ? nr - 4 : 0}};
    return g;
}
static inline v128_t uk_ld(const float *p, int h, uk_cols g) {
    return g.full ? wasm_v128_load(p + 4 * h) : ifk_load4w(p + 4 * h, g.n[h]);
}
static inline void uk_st(float *p, int h, v128_t v, uk_cols g) {
    if (g.full)
        wasm_v128_store(p + 4 * h, v);
    else
        ifk_store4w(p + 4 * h, v, g.n[h]);
}
#define UK_V           v128_t
#define UK_ADD(a, b)   wasm_f32x4_add((a), (b))
#define UK_ACT(v, act) ifk_act4w((v), (act))
#include "kernels/ukernel_epilogue.h"

/* The hot loop of every GEMM-shaped op in the browser. M is a constant in
 * each instantiation (kernels/ukernel_rows.h), so c0[], c1[] live in
 * registers. Two k steps per iteration: the loop overhead of a
 * WebAssembly engine (a bounds-checked branch) is paid half as often. */
static inline __attribute__((always_inline)) void tile(const int M, int64_t k,
                                                       const float *IF_RESTRICT a, size_t lda,
                                                       const float *IF_RESTRICT b, float *c,
                                                       size_t ldc, int nr, const ifk_epi *e) {
    v128_t c0[MR], c1[MR];
    IF_UNROLL_FULL
    for (int i = 0; i < M; i++) c0[i] = c1[i] = wasm_f32x4_splat(0.0f);
    int64_t p = 0;
    for (; p + 2 <= k; p += 2) {
        const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        const v128_t b2 = wasm_v128_load(b + NR), b3 = wasm_v128_load(b + NR + 4);
        b += 2 * NR;
        IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const v128_t ai = wasm_v128_load32_splat(a + (size_t)i * lda + p);
            c0[i] = wasm_f32x4_add(c0[i], wasm_f32x4_mul(ai, b0));
            c1[i] = wasm_f32x4_add(c1[i], wasm_f32x4_mul(ai, b1));
        }
        IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const v128_t ai = wasm_v128_load32_splat(a + (size_t)i * lda + p + 1);
            c0[i] = wasm_f32x4_add(c0[i], wasm_f32x4_mul(ai, b2));
            c1[i] = wasm_f32x4_add(c1[i], wasm_f32x4_mul(ai, b3));
        }
    }
    if (p < k) {
        const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
        IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const v128_t ai = wasm_v128_load32_splat(a + (size_t)i * lda + p);
            c0[i] = wasm_f32x4_add(c0[i], wasm_f32x4_mul(ai, b0));
            c1[i] = wasm_f32x4_add(c1[i], wasm_f32x4_mul(ai, b1));
        }
    }
    uk_epilogue(M, c0, c1, c, ldc, e, cols_of(nr));
}

#define UK_TILE tile
#define UK_NAME ifk_f32_gemm_6x8__wasm
#include "kernels/ukernel_rows.h"

#else
typedef int ifk_no_wasm; /* not a WebAssembly SIMD128 build: nothing here */
#endif
