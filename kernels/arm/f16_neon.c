/* f16_neon.c -- IEEE half -> float widening with FCVTL (vcvt_f32_f16, part
 * of every AArch64 CPU), for packing f16 weights (kernels/gemm.c's
 * ifk__pack_b_f16). Bit-identical to the reference ifk_f16_to_f32 in the
 * default floating-point mode (FPCR as Linux starts a thread; the library
 * never sets it): the widening is exact on zeros, subnormals, normals and
 * infinities; NaNs, which it would quiet where the reference keeps the
 * bits, take the reference. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_NEON

#include <arm_neon.h>

void ifk_f16_to_f32__neon(const uint16_t *src, int64_t n, float *dst) {
    const uint16x8_t magnitude = vdupq_n_u16(0x7fff), inf = vdupq_n_u16(0x7c00);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint16x8_t h = vld1q_u16(src + i);
        if (vmaxvq_u16(vcgtq_u16(vandq_u16(h, magnitude), inf))) { /* a NaN */
            ifk_f16_to_f32(src + i, 8, dst + i);
            continue;
        }
        const float16x8_t f = vreinterpretq_f16_u16(h);
        vst1q_f32(dst + i, vcvt_f32_f16(vget_low_f16(f)));
        vst1q_f32(dst + i + 4, vcvt_high_f32_f16(f));
    }
    if (i < n) ifk_f16_to_f32(src + i, n - i, dst + i);
}

#endif
