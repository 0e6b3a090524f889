/* vmath_wasm.h -- exp, the fused activations and the loads/stores of the
 * first n lanes on 4 floats (WebAssembly SIMD128). Included only by the
 * files of kernels/wasm/, under IFK_HAVE_WASM.
 *
 * SIMD128 has no fused multiply-add (relaxed SIMD is not in the Emscripten
 * this is built with), so the polynomials of kernels/vmath_coef.h are
 * evaluated here with a rounded product and a rounded sum per step: exp is
 * within ~2 ulp of the FMA sets' rather than equal to them. GELU and
 * Hardswish, whose reference results the tests compare exactly or within
 * ~1 ulp, go lane by lane through the reference's own expressions
 * (kernels/scalar/scalar.h): the decoder runs few of them, and an erf
 * without FMA would not hold the tests' bound. ReLU is a compare and
 * select (x < 0 ? 0 : x), as ifk__relu: ReLU(-0) = -0, ReLU(NaN) = NaN.
 *
 * Tail loads and stores go through a small stack array (clang 14 has no
 * load_lane intrinsics): nothing is read or written outside the arrays. */
#ifndef IF_KERNELS_WASM_VMATH_WASM_H
#define IF_KERNELS_WASM_VMATH_WASM_H

#include <string.h>
#include <wasm_simd128.h>

#include "kernels/kernels.h"
#include "kernels/scalar/scalar.h"
#include "kernels/vmath_coef.h"

/* p * x + c, rounded twice (no FMA in SIMD128). */
static inline v128_t ifk_madd4(v128_t p, v128_t x, v128_t c) {
    return wasm_f32x4_add(wasm_f32x4_mul(p, x), c);
}

/* Horner: p = c[0], then p = p * x + c[i] for i < n. */
static inline __attribute__((always_inline)) v128_t ifk_horner4w(v128_t x, const float *c, int n) {
    v128_t p = wasm_f32x4_splat(c[0]);
    IF_UNROLL_FULL
    for (int i = 1; i < n; i++) p = ifk_madd4(p, x, wasm_f32x4_splat(c[i]));
    return p;
}

/* e^x: 2^n * e^r, |r| <= ln2/2, input clamped to [-87.336, 88]; a NaN
 * lane stays NaN (the clamps are NaN-propagating min/max). */
static inline v128_t ifk_exp4w(v128_t x) {
    x = wasm_f32x4_max(x, wasm_f32x4_splat(-87.336f));
    x = wasm_f32x4_min(x, wasm_f32x4_splat(88.0f));
    const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(IFK_LOG2E)));
    v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(IFK_LN2_HI)));
    r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(IFK_LN2_LO)));
    v128_t p = ifk_horner4w(r, ifk_exp_p, 6);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, wasm_f32x4_mul(r, r)), r);
    p = wasm_f32x4_add(p, wasm_f32x4_splat(1.0f));
    const v128_t e =
        wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
    return wasm_f32x4_mul(p, e);
}

/* The fused activations, as kernels/scalar/scalar.h evaluates them. */
static inline v128_t ifk_act4w(v128_t v, int act) {
    switch (act) {
    case IFK_ACT_NONE: return v;
    case IFK_ACT_RELU: {
        const v128_t zero = wasm_f32x4_splat(0.0f);
        return wasm_v128_bitselect(zero, v, wasm_f32x4_lt(v, zero));
    }
    default: {
        float t[4];
        wasm_v128_store(t, v);
        for (int i = 0; i < 4; i++) t[i] = ifk__act(t[i], act);
        return wasm_v128_load(t);
    }
    }
}

/* The first n lanes of p (0 <= n <= 4), zeros after: no read past p[n-1]. */
static inline v128_t ifk_load4w(const float *p, int n) {
    if (n >= 4) return wasm_v128_load(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (n > 0) memcpy(t, p, (size_t)n * sizeof *p);
    return wasm_v128_load(t);
}

/* Stores the first n lanes of v (0 <= n <= 4) to p. */
static inline void ifk_store4w(float *p, v128_t v, int n) {
    if (n >= 4) {
        wasm_v128_store(p, v);
        return;
    }
    float t[4];
    wasm_v128_store(t, v);
    if (n > 0) memcpy(p, t, (size_t)n * sizeof *p);
}

/* Lanes [0, n) set. */
static inline v128_t ifk_mask4w(int n) {
    return wasm_i32x4_lt(wasm_i32x4_make(0, 1, 2, 3), wasm_i32x4_splat(n));
}

/* The sum of the 4 lanes, ((0 + 1) + (2 + 3)). */
static inline float ifk_hsum4w(v128_t v) {
    return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
           (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

#endif
