/* vmath_avx512.h -- exp, erf and the fused activations on 16 floats
 * (AVX-512F). The same approximations as vmath_avx2.h (kernels/vmath_coef.h).
 * Compiled for AVX-512F (kernels/x86/target.h) wherever it is included. */
#ifndef IF_KERNELS_X86_VMATH_AVX512_H
#define IF_KERNELS_X86_VMATH_AVX512_H

#include <immintrin.h>

#include "kernels/kernels.h"
#include "kernels/x86/target.h"
#include "kernels/x86/vmath_avx2.h"

IFK_TARGET_AVX512_BEGIN

/* Horner: p = c[0], then p = p * x + c[i] for i < n, one rounding each. */
static inline __attribute__((always_inline)) __m512 ifk_horner16(__m512 x, const float *c, int n) {
    __m512 p = _mm512_set1_ps(c[0]);
    IF_UNROLL_FULL
    for (int i = 1; i < n; i++) p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[i]));
    return p;
}

/* e^r of x = n ln2 + r, |r| <= ln2/2, and n (the 2^n scaling is the
 * caller's): the body of ifk_exp16 and of the softmax's exp. */
static inline __m512 ifk_exp16_r(__m512 x, __m512 *n) {
    *n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(IFK_LOG2E)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(IFK_LN2_HI), x);
    r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(IFK_LN2_LO), r);
    __m512 p = ifk_horner16(r, ifk_exp_p, 6);
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    return _mm512_add_ps(p, _mm512_set1_ps(1.0f));
}

static inline __m512 ifk_exp16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.336f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
    __m512 n;
    const __m512 p = ifk_exp16_r(x, &n);
    const __m512i e =
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

static inline __m512 ifk_erf16(__m512 x) {
    const __m512i signbit = _mm512_set1_epi32((int)0x80000000u);
    const __m512i xi = _mm512_castps_si512(x);
    const __m512i sign = _mm512_and_si512(xi, signbit);
    const __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(signbit, xi));
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 t = _mm512_mul_ps(a, a);
    __m512 s = ifk_horner16(t, ifk_erf_p, 7);
    s = _mm512_mul_ps(s, a);
    const __mmask16 large = _mm512_cmp_ps_mask(a, one, _CMP_GE_OQ);
    if (large) {
        const __m512 u =
            _mm512_sub_ps(_mm512_min_ps(a, _mm512_set1_ps(3.92f)), _mm512_set1_ps(2.5f));
        const __m512 g = ifk_horner16(u, ifk_erf_g, 11);
        const __m512 e = ifk_exp16(_mm512_sub_ps(_mm512_setzero_ps(), t));
        __m512 l = _mm512_fnmadd_ps(e, g, one);
        l = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(3.92f), _CMP_GE_OQ), l, one);
        s = _mm512_mask_blend_ps(large, s, l);
    }
    /* NaN lanes: neither branch; keep the input. */
    s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), s, a);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(s), sign));
}

/* a / 6 without a divide: see ifk_div6_8. */
static inline __m512 ifk_div6_16(__m512 a) {
    const __m512 six = _mm512_set1_ps(6.0f), inv = _mm512_set1_ps(1.0f / 6.0f);
    const __m512 q = _mm512_mul_ps(a, inv);
    const __m512 y = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, six, a), inv, q);
    const __m512 abs = _mm512_castsi512_ps(
        _mm512_andnot_si512(_mm512_set1_epi32((int)0x80000000u), _mm512_castps_si512(a)));
    const __mmask16 bad =
        (__mmask16)(_mm512_cmp_ps_mask(abs, _mm512_set1_ps(IFK_DIV6_TINY), _CMP_LT_OQ) &
                    _mm512_cmp_ps_mask(abs, _mm512_setzero_ps(), _CMP_NEQ_OQ)) |
        _mm512_cmp_ps_mask(abs, _mm512_set1_ps(FLT_MAX), _CMP_NLE_UQ);
    if (bad) return _mm512_div_ps(a, six);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(abs, _mm512_setzero_ps(), _CMP_EQ_OQ), y, a);
}

static inline __m512 ifk_act16(__m512 v, int act) {
    const __m512 zero = _mm512_setzero_ps();
    switch (act) {
    case IFK_ACT_RELU: return _mm512_max_ps(zero, v); /* second operand when NaN: NaN stays */
    case IFK_ACT_GELU: {
        const __m512 e = ifk_erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752440f)));
        return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v),
                             _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    case IFK_ACT_HARDSWISH: {
        __m512 t = _mm512_add_ps(v, _mm512_set1_ps(3.0f));
        t = _mm512_max_ps(zero, t);
        t = _mm512_min_ps(_mm512_set1_ps(6.0f), t);
        return ifk_div6_16(_mm512_mul_ps(v, t));
    }
    default: return v;
    }
}

/* Lanes [0, n) (n clamped to [0, 16]). */
static inline __mmask16 ifk_mask16(int n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

IFK_TARGET_END

#endif
