/* vec_avx512.c -- the AVX-512F vector loops of attention: softmax of a
 * score row and the relative-position bias gather (semantics: gemm.h). */
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>
#include <math.h>

#include "kernels/gemm.h"
#include "kernels/x86/vmath_avx512.h"
#include "kernels/x86/x86.h"

void ifk__softmax_row_avx512(float *row, int64_t m, float scale, const float *bias)
{
    const __m512 vs = _mm512_set1_ps(scale);
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + 16 <= m; j += 16) {
        __m512 v = _mm512_mul_ps(vs, _mm512_loadu_ps(row + j));
        if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + j));
        _mm512_storeu_ps(row + j, v);
        vmax = _mm512_max_ps(vmax, v);
    }
    const __mmask16 tm = ifk_mask16((int)(m - j));
    if (tm) {
        __m512 v = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(tm, row + j));
        if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(tm, bias + j));
        _mm512_mask_storeu_ps(row + j, tm, v);
        vmax = _mm512_mask_max_ps(vmax, tm, vmax, v);
    }
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (j = 0; j + 16 <= m; j += 16) {
        const __m512 e = ifk_exp16(_mm512_sub_ps(_mm512_loadu_ps(row + j), mx));
        _mm512_storeu_ps(row + j, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    if (tm) {
        const __m512 e = ifk_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tm, row + j), mx));
        _mm512_mask_storeu_ps(row + j, tm, e);
        vsum = _mm512_mask_add_ps(vsum, tm, vsum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (j = 0; j + 16 <= m; j += 16) _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
    if (tm) _mm512_mask_storeu_ps(row + j, tm, _mm512_mul_ps(_mm512_maskz_loadu_ps(tm, row + j), inv));
}

void ifk__gather_avx512(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx)
{
    const __m512i vb = _mm512_set1_epi32(base);
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512i ix = _mm512_sub_epi32(vb, _mm512_loadu_si512(idx + j));
        _mm512_storeu_ps(dst + j, _mm512_i32gather_ps(ix, tab, 4));
    }
    const __mmask16 tm = ifk_mask16((int)(n - j));
    if (tm) {
        const __m512i ix = _mm512_sub_epi32(vb, _mm512_maskz_loadu_epi32(tm, idx + j));
        _mm512_mask_storeu_ps(dst + j, tm, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), tm, ix, tab, 4));
    }
}

#else
typedef int ifk_no_avx512_vec; /* not an x86-64 build: nothing here */
#endif
