/* vmath_neon.h -- exp, erf and the fused activations on 4 floats (AArch64
 * NEON), and loads/stores of the first n lanes (NEON has no masked
 * loads). Included only by the files of kernels/arm/, under IFK_HAVE_NEON.
 *
 * The approximations and their constants are kernels/vmath_coef.h's (error
 * bounds there), evaluated with the same fused multiply-adds (FMLA/FMLS
 * round like VFMADD/VFNMADD), so NEON and AVX2 agree bit for bit on them.
 * Where the two ISAs differ the code follows the reference, not AVX2:
 *   - FMAX/FMIN propagate NaN (maxps returns its second operand): exp of a
 *     NaN is NaN, as expf's;
 *   - FMAX(0, -0) is +0: ReLU is a compare and select (x < 0 ? 0 : x), so
 *     that ReLU(-0) = -0 and ReLU(NaN) = NaN, as ifk__relu. */
#ifndef IF_KERNELS_ARM_VMATH_NEON_H
#define IF_KERNELS_ARM_VMATH_NEON_H

#include <arm_neon.h>

#include "kernels/kernels.h"
#include "kernels/vmath_coef.h"

/* Horner: p = c[0], then p = p * x + c[i] for i < n, one rounding each. */
static inline __attribute__((always_inline)) float32x4_t ifk_horner4(float32x4_t x, const float *c,
                                                                     int n) {
    float32x4_t p = vdupq_n_f32(c[0]);
    IF_UNROLL_FULL
    for (int i = 1; i < n; i++) p = vfmaq_f32(vdupq_n_f32(c[i]), p, x);
    return p;
}

/* Whether any lane of a mask is set / all lanes are. */
static inline int ifk_any4(uint32x4_t m) { return vmaxvq_u32(m) != 0; }
static inline int ifk_all4(uint32x4_t m) { return vminvq_u32(m) != 0; }

/* e^x: 2^n * e^r, |r| <= ln2/2, input clamped to [-87.336, 88]. */
static inline float32x4_t ifk_exp4(float32x4_t x) {
    x = vmaxq_f32(x, vdupq_n_f32(-87.336f));
    x = vminq_f32(x, vdupq_n_f32(88.0f));
    const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(IFK_LOG2E)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(IFK_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(IFK_LN2_LO));
    float32x4_t p = ifk_horner4(r, ifk_exp_p, 6);
    p = vfmaq_f32(r, p, vmulq_f32(r, r));
    p = vaddq_f32(p, vdupq_n_f32(1.0f));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

/* erf: |x| < 1: x P(x^2); 1 <= |x| < 3.92: 1 - exp(-x^2) G(|x| - 2.5);
 * beyond, +-1; NaN stays NaN. */
static inline float32x4_t ifk_erf4(float32x4_t x) {
    const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), vdupq_n_u32(0x80000000u));
    const float32x4_t a = vabsq_f32(x), one = vdupq_n_f32(1.0f);
    const float32x4_t t = vmulq_f32(a, a);
    float32x4_t s = ifk_horner4(t, ifk_erf_p, 7);
    s = vmulq_f32(s, a);
    const uint32x4_t small = vcltq_f32(a, one);
    if (!ifk_all4(small)) {
        const float32x4_t u = vsubq_f32(vminq_f32(a, vdupq_n_f32(3.92f)), vdupq_n_f32(2.5f));
        const float32x4_t g = ifk_horner4(u, ifk_erf_g, 11);
        const float32x4_t e = ifk_exp4(vnegq_f32(t));
        float32x4_t l = vfmsq_f32(one, e, g);
        l = vbslq_f32(vcgeq_f32(a, vdupq_n_f32(3.92f)), one, l);
        s = vbslq_f32(small, s, l);
    }
    /* A NaN lane is neither small nor >= 3.92 and its large branch is NaN
     * already (FMIN propagates it); keep the input's NaN all the same. */
    s = vbslq_f32(vceqq_f32(a, a), s, a);
    return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(s), sign));
}

/* a / 6, correctly rounded like the division, without a divide: as
 * ifk_div6_8 (vmath_avx2.h, exhaustively checked): q = a * (1/6), one
 * fused correction with the exact residual; subnormal results, infinities
 * and NaN take the divide; zeros keep their sign. */
static inline float32x4_t ifk_div6_4(float32x4_t a) {
    const float32x4_t six = vdupq_n_f32(6.0f), inv = vdupq_n_f32(1.0f / 6.0f);
    const float32x4_t q = vmulq_f32(a, inv);
    const float32x4_t y = vfmaq_f32(q, vfmsq_f32(a, q, six), inv);
    const float32x4_t abs = vabsq_f32(a);
    const uint32x4_t zero = vceqq_f32(abs, vdupq_n_f32(0.0f));
    const uint32x4_t tiny = vbicq_u32(vcltq_f32(abs, vdupq_n_f32(IFK_DIV6_TINY)), zero);
    const uint32x4_t big = vmvnq_u32(vcleq_f32(abs, vdupq_n_f32(FLT_MAX))); /* inf, NaN */
    if (ifk_any4(vorrq_u32(tiny, big))) return vdivq_f32(a, six);
    return vbslq_f32(zero, a, y);
}

/* The fused activations, as kernels/scalar/scalar.h evaluates them. */
static inline float32x4_t ifk_act4(float32x4_t v, int act) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    switch (act) {
    case IFK_ACT_RELU: return vbslq_f32(vcltq_f32(v, zero), zero, v);
    case IFK_ACT_GELU: {
        const float32x4_t e = ifk_erf4(vmulq_f32(v, vdupq_n_f32(0.70710678118654752440f)));
        return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), v), vaddq_f32(vdupq_n_f32(1.0f), e));
    }
    case IFK_ACT_HARDSWISH: {
        /* min(max(v + 3, 0), 6): v + 3 is never -0, and FMAX/FMIN keep a
         * NaN, so this is the reference's compare chain. */
        float32x4_t t = vaddq_f32(v, vdupq_n_f32(3.0f));
        t = vminq_f32(vmaxq_f32(t, zero), vdupq_n_f32(6.0f));
        return ifk_div6_4(vmulq_f32(v, t));
    }
    default: return v;
    }
}

/* The first n lanes of p (0 <= n <= 4), zeros after: no read past p[n-1]. */
static inline float32x4_t ifk_load4(const float *p, int n) {
    const float32x4_t z = vdupq_n_f32(0.0f);
    switch (n) {
    case 0: return z;
    case 1: return vld1q_lane_f32(p, z, 0);
    case 2: return vcombine_f32(vld1_f32(p), vget_low_f32(z));
    case 3: return vld1q_lane_f32(p + 2, vcombine_f32(vld1_f32(p), vget_low_f32(z)), 2);
    default: return vld1q_f32(p);
    }
}

/* Stores the first n lanes of v (0 <= n <= 4) to p. */
static inline void ifk_store4(float *p, float32x4_t v, int n) {
    switch (n) {
    case 0: break;
    case 1: vst1q_lane_f32(p, v, 0); break;
    case 2: vst1_f32(p, vget_low_f32(v)); break;
    case 3:
        vst1_f32(p, vget_low_f32(v));
        vst1q_lane_f32(p + 2, v, 2);
        break;
    default: vst1q_f32(p, v); break;
    }
}

/* Lanes [0, n) set. */
static inline uint32x4_t ifk_mask4(int n) {
    static const int32_t lane[4] = {0, 1, 2, 3};
    return vcltq_s32(vld1q_s32(lane), vdupq_n_s32(n));
}

#endif
