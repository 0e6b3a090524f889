/* vmath_avx2.h -- exp, erf and the fused activations on 8 floats (AVX2+FMA).
 * Compiled for AVX2 + FMA (kernels/x86/target.h) wherever it is included.
 * The approximations, their constants and error bounds:
 * kernels/vmath_coef.h. */
#ifndef IF_KERNELS_X86_VMATH_AVX2_H
#define IF_KERNELS_X86_VMATH_AVX2_H

#include <immintrin.h>

#include "kernels/kernels.h"
#include "kernels/vmath_coef.h"
#include "kernels/x86/target.h"

IFK_TARGET_AVX2_BEGIN

/* Horner: p = c[0], then p = p * x + c[i] for i < n, one rounding each. */
static inline __attribute__((always_inline)) __m256 ifk_horner8(__m256 x, const float *c, int n) {
    __m256 p = _mm256_set1_ps(c[0]);
    IF_UNROLL_FULL
    for (int i = 1; i < n; i++) p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(c[i]));
    return p;
}

static inline __m256 ifk_exp8(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.336f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(IFK_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(IFK_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(IFK_LN2_LO), r);
    __m256 p = ifk_horner8(r, ifk_exp_p, 6);
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline __m256 ifk_erf8(__m256 x) {
    const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    const __m256 one = _mm256_set1_ps(1.0f);
    /* small: a * P(a^2) */
    const __m256 t = _mm256_mul_ps(a, a);
    __m256 s = ifk_horner8(t, ifk_erf_p, 7);
    s = _mm256_mul_ps(s, a);
    const __m256 small = _mm256_cmp_ps(a, one, _CMP_LT_OQ);
    if (_mm256_movemask_ps(small) != 0xff) {
        /* large: 1 - exp(-a^2) G(a - 2.5) */
        const __m256 u =
            _mm256_sub_ps(_mm256_min_ps(a, _mm256_set1_ps(3.92f)), _mm256_set1_ps(2.5f));
        const __m256 g = ifk_horner8(u, ifk_erf_g, 11);
        const __m256 e = ifk_exp8(_mm256_sub_ps(_mm256_setzero_ps(), t));
        __m256 l = _mm256_fnmadd_ps(e, g, one);
        l = _mm256_blendv_ps(l, one, _mm256_cmp_ps(a, _mm256_set1_ps(3.92f), _CMP_GE_OQ));
        s = _mm256_blendv_ps(l, s, small);
    }
    /* NaN in, NaN out: a NaN lane is neither small nor >= 3.92, and u then is
     * min(NaN, 3.92) = 3.92: keep the input instead. */
    s = _mm256_blendv_ps(s, a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
    return _mm256_or_ps(s, sign);
}

/* a / 6, correctly rounded like the division, without a divide: q = a/6
 * rounded, then one FMA correction with the exact residual. Exhaustively
 * checked over all 2^32 floats to equal the division except for results
 * in the subnormal range, infinities and NaN, which take the divide (rare:
 * any such lane sends the whole vector there); zeros keep their sign. */
static inline __m256 ifk_div6_8(__m256 a) {
    const __m256 six = _mm256_set1_ps(6.0f), inv = _mm256_set1_ps(1.0f / 6.0f);
    const __m256 q = _mm256_mul_ps(a, inv);
    const __m256 y = _mm256_fmadd_ps(_mm256_fnmadd_ps(q, six, a), inv, q);
    const __m256 abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a);
    const __m256 bad =
        _mm256_or_ps(_mm256_and_ps(_mm256_cmp_ps(abs, _mm256_set1_ps(IFK_DIV6_TINY), _CMP_LT_OQ),
                                   _mm256_cmp_ps(abs, _mm256_setzero_ps(), _CMP_NEQ_OQ)),
                     _mm256_cmp_ps(abs, _mm256_set1_ps(FLT_MAX), _CMP_NLE_UQ));
    if (_mm256_movemask_ps(bad)) return _mm256_div_ps(a, six);
    return _mm256_blendv_ps(y, a, _mm256_cmp_ps(abs, _mm256_setzero_ps(), _CMP_EQ_OQ));
}

/* The fused activations, as kernels/scalar/scalar.h evaluates them. */
static inline __m256 ifk_act8(__m256 v, int act) {
    const __m256 zero = _mm256_setzero_ps();
    switch (act) {
    case IFK_ACT_RELU: return _mm256_max_ps(zero, v); /* second operand when NaN: NaN stays */
    case IFK_ACT_GELU: {
        const __m256 e = ifk_erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752440f)));
        return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                             _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    case IFK_ACT_HARDSWISH: {
        __m256 t = _mm256_add_ps(v, _mm256_set1_ps(3.0f));
        t = _mm256_max_ps(zero, t);
        t = _mm256_min_ps(_mm256_set1_ps(6.0f), t);
        return ifk_div6_8(_mm256_mul_ps(v, t));
    }
    default: return v;
    }
}

/* Lanes [0, n) set (n may be <= 0 or >= 8). */
static inline __m256i ifk_mask8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

IFK_TARGET_END

#endif
