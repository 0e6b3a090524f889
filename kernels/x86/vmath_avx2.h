/* vmath_avx2.h -- exp, erf and the fused activations on 8 floats (AVX2+FMA).
 * Included only by files compiled with -mavx2 -mfma.
 *
 * exp: 2^n * e^r, |r| <= ln2/2, e^r = 1 + r + r^2 P(r) with P of degree 5
 * (least squares on Chebyshev nodes, rel. error 2e-10 before rounding);
 * input clamped to [-87.336, 88] (the normal range: softmax and erf only
 * feed it values <= 0).
 * erf: |x| < 1: x P(x^2), P of degree 6 (abs. error 1.3e-9); 1 <= |x| <
 * 3.92: 1 - exp(-x^2) G(|x| - 2.5), G of degree 10 (abs. error 1.3e-8);
 * beyond, +-1 (erf rounds to 1 there in float). Both fitted for this file;
 * the sum is within ~1 ulp of glibc's erff (tests/test_kernels_simd.c). */
#ifndef IF_KERNELS_X86_VMATH_AVX2_H
#define IF_KERNELS_X86_VMATH_AVX2_H

#include <immintrin.h>

#include "kernels/kernels.h"

#define IFK_EXP_C0 0.5000000013521099f
#define IFK_EXP_C1 0.1666666671898093f
#define IFK_EXP_C2 0.04166646478003304f
#define IFK_EXP_C3 0.00833329848745336f
#define IFK_EXP_C4 0.0013933656583582717f
#define IFK_EXP_C5 0.0001989927200377935f
#define IFK_LOG2E  1.4426950408889634f
#define IFK_LN2_HI 0.693145751953125f /* 12 significant bits: n * hi is exact */
#define IFK_LN2_LO 1.42860682030941723212e-6f

#define IFK_ERF_A0  1.1283791665931537f
#define IFK_ERF_A1  -0.3761262987767585f
#define IFK_ERF_A2  0.11283625725084433f
#define IFK_ERF_A3  -0.026855399452039273f
#define IFK_ERF_A4  0.005191218377340408f
#define IFK_ERF_A5  -0.0008034846649690627f
#define IFK_ERF_A6  7.933493885843026e-05f
#define IFK_ERF_B0  0.21080635061357425f
#define IFK_ERF_B1  -0.07434753826712638f
#define IFK_ERF_B2  0.024938398786193167f
#define IFK_ERF_B3  -0.007999814868031885f
#define IFK_ERF_B4  0.0024651256635754674f
#define IFK_ERF_B5  -0.0007380740961221304f
#define IFK_ERF_B6  0.00021426347414121296f
#define IFK_ERF_B7  -5.42458003303635e-05f
#define IFK_ERF_B8  1.3570739259687666e-05f
#define IFK_ERF_B9  -6.231158515208286e-06f
#define IFK_ERF_B10 1.8360435089053422e-06f

static inline __m256 ifk_exp8(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.336f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(IFK_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(IFK_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(IFK_LN2_LO), r);
    __m256 p = _mm256_set1_ps(IFK_EXP_C5);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IFK_EXP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IFK_EXP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IFK_EXP_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IFK_EXP_C1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IFK_EXP_C0));
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
    __m256 s = _mm256_set1_ps(IFK_ERF_A6);
    s = _mm256_fmadd_ps(s, t, _mm256_set1_ps(IFK_ERF_A5));
    s = _mm256_fmadd_ps(s, t, _mm256_set1_ps(IFK_ERF_A4));
    s = _mm256_fmadd_ps(s, t, _mm256_set1_ps(IFK_ERF_A3));
    s = _mm256_fmadd_ps(s, t, _mm256_set1_ps(IFK_ERF_A2));
    s = _mm256_fmadd_ps(s, t, _mm256_set1_ps(IFK_ERF_A1));
    s = _mm256_fmadd_ps(s, t, _mm256_set1_ps(IFK_ERF_A0));
    s = _mm256_mul_ps(s, a);
    const __m256 small = _mm256_cmp_ps(a, one, _CMP_LT_OQ);
    if (_mm256_movemask_ps(small) != 0xff) {
        /* large: 1 - exp(-a^2) G(a - 2.5) */
        const __m256 u =
            _mm256_sub_ps(_mm256_min_ps(a, _mm256_set1_ps(3.92f)), _mm256_set1_ps(2.5f));
        __m256 g = _mm256_set1_ps(IFK_ERF_B10);
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B9));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B8));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B7));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B6));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B5));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B4));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B3));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B2));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B1));
        g = _mm256_fmadd_ps(g, u, _mm256_set1_ps(IFK_ERF_B0));
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
        _mm256_or_ps(_mm256_and_ps(_mm256_cmp_ps(abs, _mm256_set1_ps(0x1p-124f), _CMP_LT_OQ),
                                   _mm256_cmp_ps(abs, _mm256_setzero_ps(), _CMP_NEQ_OQ)),
                     _mm256_cmp_ps(abs, _mm256_set1_ps(0x1.fffffep127f), _CMP_NLE_UQ));
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

#endif
