/* vec_avx512.c -- the AVX-512F vector loops of attention (softmax of a
 * score row, the relative-position bias gather) and of the Winograd
 * transforms (semantics: kernels/ukernel.h). */
#include "kernels/isa.h"

#ifdef IFK_HAVE_X86

#include <immintrin.h>
#include <math.h>

#include "kernels/x86/vmath_avx512.h"

IFK_TARGET_AVX512_BEGIN

/* exp for x <= 0 (softmax): as ifk_exp16 with the 2^n scaling by scalef,
 * which also takes care of underflow (no clamp needed). */
static inline __m512 exp_neg16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f)); /* exp underflows to 0 below */
    __m512 n;
    const __m512 p = ifk_exp16_r(x, &n);
    return _mm512_scalef_ps(p, n);
}

float ifk_f32_softmax_row__avx512(float *row, int64_t m, float scale, const float *bias) {
    const __m512 vs = _mm512_set1_ps(scale);
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    const int64_t mv = m - m % 16;
    const __mmask16 tm = ifk_mask16((int)(m % 16));
    __m512 mx;
    const int stored = bias || !(scale > 0.0f);
    if (stored) { /* pass 1: (biased) scaled scores, stored, and their max */
        int64_t j = 0;
        for (; j < mv; j += 16) {
            __m512 v = _mm512_mul_ps(vs, _mm512_loadu_ps(row + j));
            if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + j));
            _mm512_storeu_ps(row + j, v);
            vmax = _mm512_max_ps(vmax, v);
        }
        if (tm) {
            __m512 v = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(tm, row + j));
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(tm, bias + j));
            _mm512_mask_storeu_ps(row + j, tm, v);
            vmax = _mm512_mask_max_ps(vmax, tm, vmax, v);
        }
        mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    } else { /* pass 1: max of the raw scores (scale > 0 keeps the argmax) */
        int64_t j = 0;
        for (; j < mv; j += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(row + j));
        if (tm) vmax = _mm512_mask_max_ps(vmax, tm, vmax, _mm512_maskz_loadu_ps(tm, row + j));
        mx = _mm512_set1_ps(scale * _mm512_reduce_max_ps(vmax));
    }
    /* pass 2: exp(v - max), stored, summed */
    const __m512 s2 = _mm512_set1_ps(stored ? 1.0f : scale);
    __m512 vsum = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j < mv; j += 16) {
        const __m512 e = exp_neg16(_mm512_sub_ps(_mm512_mul_ps(s2, _mm512_loadu_ps(row + j)), mx));
        _mm512_storeu_ps(row + j, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    if (tm) {
        const __m512 e =
            exp_neg16(_mm512_sub_ps(_mm512_mul_ps(s2, _mm512_maskz_loadu_ps(tm, row + j)), mx));
        _mm512_mask_storeu_ps(row + j, tm, e);
        vsum = _mm512_mask_add_ps(vsum, tm, vsum, e);
    }
    return _mm512_reduce_add_ps(vsum);
}

void ifk_f32_gather__avx512(float *dst, int64_t n, const float *tab, int32_t base,
                            const int32_t *idx) {
    const __m512i vb = _mm512_set1_epi32(base);
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512i ix = _mm512_sub_epi32(vb, _mm512_loadu_si512(idx + j));
        _mm512_storeu_ps(dst + j, _mm512_i32gather_ps(ix, tab, 4));
    }
    const __mmask16 tm = ifk_mask16((int)(n - j));
    if (tm) {
        const __m512i ix = _mm512_sub_epi32(vb, _mm512_maskz_loadu_epi32(tm, idx + j));
        _mm512_mask_storeu_ps(dst + j, tm,
                              _mm512_mask_i32gather_ps(_mm512_setzero_ps(), tm, ix, tab, 4));
    }
}

/* ---------------------------------------------- Winograd F(4x4, 3x3) */

#define WT_V          __m512
#define WT_N          16
#define WT_LD(p)      _mm512_loadu_ps(p)
#define WT_ST(p, v)   _mm512_storeu_ps((p), (v))
#define WT_ADD(a, b)  _mm512_add_ps((a), (b))
#define WT_SUB(a, b)  _mm512_sub_ps((a), (b))
#define WT_MULS(v, k) _mm512_mul_ps((v), _mm512_set1_ps(k))
#define WT_ZERO       _mm512_setzero_ps()
#define WT_IN         ifk_f32_wino_in__avx512
#define WT_OUT        ifk_f32_wino_out__avx512
#define WT_TAIL_IN    ifk_f32_wino_in__c
#define WT_TAIL_OUT   ifk_f32_wino_out__c
#include "kernels/winograd_tx.h"

IFK_TARGET_END

#else
typedef int ifk_no_avx512_vec; /* not an x86-64 build: nothing here */
#endif
