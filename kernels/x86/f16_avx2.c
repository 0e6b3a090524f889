/* f16_avx2.c -- IEEE half -> float widening with F16C (VCVTPH2PS, part of
 * the AVX2 target: kernels/x86/target.h), for packing f16 weights
 * (kernels/gemm.c's ifk__pack_b_f16). Bit-identical to the reference
 * ifk_f16_to_f32: VCVTPH2PS is exact on zeros, subnormals, normals and
 * infinities (MXCSR's DAZ does not apply to half inputs); NaNs, which it
 * would quiet where the reference keeps the bits, take the reference. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_X86

#include <immintrin.h>

#include "kernels/x86/target.h"

IFK_TARGET_AVX2_BEGIN

void ifk_f16_to_f32__avx2(const uint16_t *src, int64_t n, float *dst) {
    const __m128i magnitude = _mm_set1_epi16(0x7fff), inf = _mm_set1_epi16(0x7c00);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        /* |h| > inf (a signed compare is right: |h| <= 0x7fff) is a NaN. */
        if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(h, magnitude), inf)))
            ifk_f16_to_f32(src + i, 8, dst + i);
        else
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    if (i < n) ifk_f16_to_f32(src + i, n - i, dst + i);
}

IFK_TARGET_END

#endif
