/* vec_neon.c -- the AArch64 NEON vector loops (element-wise, norms,
 * softmax, depthwise convolution, bilinear resize), the counterparts of
 * kernels/x86/vec_avx2.c on 4-float vectors. Each has the semantics of the
 * reference kernel of the same name and evaluates the same float
 * expressions in the same order where that is cheap (norms, resize, the
 * activations, add), so most results are bit-identical to the reference;
 * sums that the reference makes sequential are vector partial sums here.
 * Tails shorter than a vector use lane-wise loads and stores
 * (vmath_neon.h): nothing is read or written outside the arrays. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_NEON

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/arm/vmath_neon.h"
#include "kernels/scalar/scalar.h"

/* ---------------------------------------------------------------- softmax */

/* Unnormalised softmax (kernels/ukernel.h): row[j] = exp(v[j] - max v), returns the
 * sum. Without a bias and with scale > 0 the first pass only reads: the
 * max of scale * row is scale * (max of row) (rounding is monotonic), and
 * the second pass forms scale * row[j] itself. */
float ifk_f32_softmax_row__neon(float *row, int64_t m, float scale, const float *bias) {
    const float32x4_t vs = vdupq_n_f32(scale), ninf = vdupq_n_f32(-INFINITY);
    const int tail = (int)(m % 4);
    const int64_t mv = m - tail;
    const uint32x4_t tm = ifk_mask4(tail);
    const int stored = bias || !(scale > 0.0f);
    float32x4_t mx0 = ninf, mx1 = ninf;
    int64_t j = 0;
    if (stored) { /* pass 1: (biased) scaled scores, stored, and their max */
        for (; j + 8 <= mv; j += 8) {
            float32x4_t v0 = vmulq_f32(vs, vld1q_f32(row + j)),
                        v1 = vmulq_f32(vs, vld1q_f32(row + j + 4));
            if (bias) {
                v0 = vaddq_f32(v0, vld1q_f32(bias + j));
                v1 = vaddq_f32(v1, vld1q_f32(bias + j + 4));
            }
            vst1q_f32(row + j, v0);
            vst1q_f32(row + j + 4, v1);
            mx0 = vmaxq_f32(mx0, v0);
            mx1 = vmaxq_f32(mx1, v1);
        }
        for (; j < mv; j += 4) {
            float32x4_t v = vmulq_f32(vs, vld1q_f32(row + j));
            if (bias) v = vaddq_f32(v, vld1q_f32(bias + j));
            vst1q_f32(row + j, v);
            mx0 = vmaxq_f32(mx0, v);
        }
        if (tail) {
            float32x4_t v = vmulq_f32(vs, ifk_load4(row + j, tail));
            if (bias) v = vaddq_f32(v, ifk_load4(bias + j, tail));
            ifk_store4(row + j, v, tail);
            mx0 = vmaxq_f32(mx0, vbslq_f32(tm, v, ninf));
        }
    } else { /* pass 1: max of the raw scores */
        for (; j + 8 <= mv; j += 8) {
            mx0 = vmaxq_f32(mx0, vld1q_f32(row + j));
            mx1 = vmaxq_f32(mx1, vld1q_f32(row + j + 4));
        }
        for (; j < mv; j += 4) mx0 = vmaxq_f32(mx0, vld1q_f32(row + j));
        if (tail) mx0 = vmaxq_f32(mx0, vbslq_f32(tm, ifk_load4(row + j, tail), ninf));
    }
    const float hmax = vmaxvq_f32(vmaxq_f32(mx0, mx1));
    const float32x4_t mx = vdupq_n_f32(stored ? hmax : scale * hmax);
    /* pass 2: exp(v - max), stored, summed */
    const float32x4_t s2 = vdupq_n_f32(stored ? 1.0f : scale);
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
    for (j = 0; j + 8 <= mv; j += 8) {
        const float32x4_t e0 = ifk_exp4(vsubq_f32(vmulq_f32(s2, vld1q_f32(row + j)), mx));
        const float32x4_t e1 = ifk_exp4(vsubq_f32(vmulq_f32(s2, vld1q_f32(row + j + 4)), mx));
        vst1q_f32(row + j, e0);
        vst1q_f32(row + j + 4, e1);
        s0 = vaddq_f32(s0, e0);
        s1 = vaddq_f32(s1, e1);
    }
    for (; j < mv; j += 4) {
        const float32x4_t e0 = ifk_exp4(vsubq_f32(vmulq_f32(s2, vld1q_f32(row + j)), mx));
        vst1q_f32(row + j, e0);
        s0 = vaddq_f32(s0, e0);
    }
    if (tail) {
        const float32x4_t e0 = ifk_exp4(vsubq_f32(vmulq_f32(s2, ifk_load4(row + j, tail)), mx));
        ifk_store4(row + j, e0, tail);
        s0 = vaddq_f32(s0, vbslq_f32(tm, e0, vdupq_n_f32(0.0f)));
    }
    return vaddvq_f32(vaddq_f32(s0, s1));
}

/* ---------------------------------------------------------- element-wise */

/* y = act(x), act a constant in each instantiation (no switch in the loop). */
static inline __attribute__((always_inline)) void act_loop(const float *x, int64_t n, const int act,
                                                           float *y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t v0 = ifk_act4(vld1q_f32(x + i), act);
        const float32x4_t v1 = ifk_act4(vld1q_f32(x + i + 4), act);
        vst1q_f32(y + i, v0);
        vst1q_f32(y + i + 4, v1);
    }
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, ifk_act4(vld1q_f32(x + i), act));
    if (i < n) ifk_store4(y + i, ifk_act4(ifk_load4(x + i, (int)(n - i)), act), (int)(n - i));
}

void ifk_f32_activation__neon(const float *x, int64_t n, int act, float *y) {
    switch (act) {
    case IFK_ACT_RELU: act_loop(x, n, IFK_ACT_RELU, y); break;
    case IFK_ACT_GELU: act_loop(x, n, IFK_ACT_GELU, y); break;
    case IFK_ACT_HARDSWISH: act_loop(x, n, IFK_ACT_HARDSWISH, y); break;
    default:
        if (y != x) memmove(y, x, (size_t)n * sizeof *x);
        break;
    }
}

void ifk_f32_add__neon(const float *a, const float *b, int64_t n, float *y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t s0 = vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
        const float32x4_t s1 = vaddq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        vst1q_f32(y + i, s0);
        vst1q_f32(y + i + 4, s1);
    }
    for (; i < n; i++) y[i] = a[i] + b[i];
}

/* y = x where x > y or x is NaN: the max of pooling, NaN-propagating. */
static inline float32x4_t max_nan4(float32x4_t y, float32x4_t x) {
    const uint32x4_t take = vorrq_u32(vcgtq_f32(x, y), vmvnq_u32(vceqq_f32(x, x)));
    return vbslq_f32(take, x, y);
}

void ifk_f32_max_pixels__neon(float *y, const float *x, int64_t npix, int64_t c) {
    int64_t k = 0;
    for (; k + 16 <= c; k += 16) {
        float32x4_t m0 = vld1q_f32(y + k), m1 = vld1q_f32(y + k + 4), m2 = vld1q_f32(y + k + 8),
                    m3 = vld1q_f32(y + k + 12);
        for (int64_t i = 0; i < npix; i++) {
            const float *p = x + i * c + k;
            m0 = max_nan4(m0, vld1q_f32(p));
            m1 = max_nan4(m1, vld1q_f32(p + 4));
            m2 = max_nan4(m2, vld1q_f32(p + 8));
            m3 = max_nan4(m3, vld1q_f32(p + 12));
        }
        vst1q_f32(y + k, m0);
        vst1q_f32(y + k + 4, m1);
        vst1q_f32(y + k + 8, m2);
        vst1q_f32(y + k + 12, m3);
    }
    for (; k + 4 <= c; k += 4) {
        float32x4_t m = vld1q_f32(y + k);
        for (int64_t p = 0; p < npix; p++) m = max_nan4(m, vld1q_f32(x + p * c + k));
        vst1q_f32(y + k, m);
    }
    for (; k < c; k++)
        for (int64_t p = 0; p < npix; p++) {
            const float v = x[p * c + k];
            if (v > y[k] || v != v) y[k] = v;
        }
}

void ifk_f32_axpy2__neon(float *y, const float *x0, float a0, const float *x1, float a1,
                         int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t s = vaddq_f32(vld1q_f32(y + i), vmulq_n_f32(vld1q_f32(x0 + i), a0));
        vst1q_f32(y + i, vaddq_f32(s, vmulq_n_f32(vld1q_f32(x1 + i), a1)));
    }
    for (; i < n; i++) y[i] = (y[i] + a0 * x0[i]) + a1 * x1[i];
}

/* ------------------------------------------------------------------ norms */

/* Sum of n floats, in double. */
double ifk_f32_sum_d__neon(const float *x, int64_t n) {
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(v)));
        s1 = vaddq_f64(s1, vcvt_high_f64_f32(v));
    }
    return ifk__sum_d_tail(vaddvq_f64(vaddq_f64(s0, s1)), x + i, n - i);
}

/* Sum of (x - mean)^2 over n floats, in double. */
double ifk_f32_sumsq_d__neon(const float *x, int64_t n, double mean) {
    const float64x2_t mv = vdupq_n_f64(mean);
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        const float64x2_t d0 = vsubq_f64(vcvt_f64_f32(vget_low_f32(v)), mv);
        const float64x2_t d1 = vsubq_f64(vcvt_high_f64_f32(v), mv);
        s0 = vfmaq_f64(s0, d0, d0);
        s1 = vfmaq_f64(s1, d1, d1);
    }
    return ifk__sumsq_d_tail(vaddvq_f64(vaddq_f64(s0, s1)), x + i, n - i, mean);
}

/* One LayerNorm row: y = ((x - mhi) - mlo) * (rstd * gamma) + beta. */
void ifk_f32_ln_apply__neon(const float *x, int64_t n, float mhi, float mlo, float rstd,
                            const float *gamma, const float *beta, float *y) {
    const float32x4_t vr = vdupq_n_f32(rstd), vh = vdupq_n_f32(mhi), vl = vdupq_n_f32(mlo);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t t = vsubq_f32(vsubq_f32(vld1q_f32(x + i), vh), vl);
        const float32x4_t g = vmulq_f32(vr, vld1q_f32(gamma + i));
        vst1q_f32(y + i, vaddq_f32(vmulq_f32(t, g), vld1q_f32(beta + i)));
    }
    ifk_f32_ln_apply__c(x + i, n - i, mhi, mlo, rstd, gamma + i, beta + i, y + i);
}

/* Per-channel double sums over hw pixels of channels [c0, c0+nk) of x, or
 * of (x - mk)^2 when mk, added into cs[0..nk). */
void ifk_f32_gn_channel_sums__neon(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                                   const double *mk, double *cs) {
    for (int64_t p = 0; p < hw; p++) {
        const float *xp = x + (size_t)p * c + c0;
        int64_t k = 0;
        for (; k + 4 <= nk; k += 4) {
            const float32x4_t v = vld1q_f32(xp + k);
            float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
            if (mk) {
                lo = vsubq_f64(lo, vld1q_f64(mk + k));
                hi = vsubq_f64(hi, vld1q_f64(mk + k + 2));
                lo = vmulq_f64(lo, lo);
                hi = vmulq_f64(hi, hi);
            }
            vst1q_f64(cs + k, vaddq_f64(vld1q_f64(cs + k), lo));
            vst1q_f64(cs + k + 2, vaddq_f64(vld1q_f64(cs + k + 2), hi));
        }
        ifk__gn_sums_tail(xp, mk, cs, k, nk);
    }
}

/* y[p][k] = act(((x[p][k] - mk[k]) - lk[k]) * sk[k] + bk[k]) for hw pixels
 * of nk channels starting at x, y (rows c apart). */
void ifk_f32_gn_apply__neon(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                            const float *mk, const float *lk, const float *sk, const float *bk,
                            int act) {
    for (int64_t p = 0; p < hw; p++) {
        const float *xp = x + (size_t)p * c;
        float *yp = y + (size_t)p * c;
        int64_t k = 0;
        for (; k + 4 <= nk; k += 4) {
            const float32x4_t t =
                vsubq_f32(vsubq_f32(vld1q_f32(xp + k), vld1q_f32(mk + k)), vld1q_f32(lk + k));
            const float32x4_t v = vaddq_f32(vmulq_f32(t, vld1q_f32(sk + k)), vld1q_f32(bk + k));
            vst1q_f32(yp + k, ifk_act4(v, act));
        }
        if (k < nk) {
            const int n = (int)(nk - k);
            const float32x4_t t = vsubq_f32(vsubq_f32(ifk_load4(xp + k, n), ifk_load4(mk + k, n)),
                                            ifk_load4(lk + k, n));
            const float32x4_t v =
                vaddq_f32(vmulq_f32(t, ifk_load4(sk + k, n)), ifk_load4(bk + k, n));
            ifk_store4(yp + k, ifk_act4(v, act), n);
        }
    }
}

/* ------------------------------------------------ depthwise convolution */

enum { DW_CB = 64, DW3_CB = 512 };

/* The channel vector at q: all 4 lanes, or the first n. */
static inline float32x4_t ldc4(const float *q, int full, int n) {
    return full ? vld1q_f32(q) : ifk_load4(q, n);
}

/* One output pixel, 4 channels, taps clipped to the image (weights from
 * the [tap][channel] block wbv). */
static inline float32x4_t dw3_pixel(const float *x, const ifk_conv_params *p, int c, int cv,
                                    int iy0, int ky0, int ky1, int ix0, const float *wbv, int full,
                                    int n) {
    const ifk__window wx = ifk__window_at(ix0, 1, 0, 3, p->w);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = wx.k0; kx < wx.k1; kx++) {
            const float *q = x + ((size_t)(iy0 + ky) * p->w + ix0 + kx) * c + cv;
            acc = vfmaq_f32(acc, ldc4(q, full, n), vld1q_f32(wbv + (ky * 3 + kx) * DW3_CB));
        }
    return acc;
}

/* 3x3 kernels. Interior pixels go 4 at a time: per 4-channel vector the 9
 * weights stay in registers for the 4 pixels; at stride 1 the 6 input
 * columns of a kernel row are loaded once for the 4 pixels (18 loads, 36
 * FMAs). Taps are summed in (ky, kx) order, as the reference, then bias
 * and the activation. */
static void dw3x3(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                  float *y) {
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const int c = p->cin;
    const size_t rs = (size_t)p->w * c, ps = (size_t)p->sw * c;
    float wb[9 * DW3_CB], bb[DW3_CB];
    for (int c0 = 0; c0 < c; c0 += DW3_CB) {
        const int nb = c - c0 < DW3_CB ? c - c0 : DW3_CB;
        const int nv = (nb + 3) / 4;
        ifk__dw_weights(wt, 9, c0, nb, nv * 4, DW3_CB, wb);
        for (int j = 0; j < nv * 4; j++) bb[j] = bias && j < nb ? bias[c0 + j] : 0.0f;
        int xlo, xhi; /* output columns with all three kernel columns inside */
        ifk__interior3(p, wo, &xlo, &xhi);
        for (int Y = p->oy0; Y < p->oy1; Y++) {
            const ifk__window wy = ifk__window_at(Y, p->sh, p->pt, 3, p->h);
            const int quad_end = wy.k0 == 0 && wy.k1 == 3 ? xlo + (xhi - xlo) / 4 * 4 : xlo;
            float *yr = y + (size_t)Y * wo * c + c0;
            for (int X = 0; X < wo;) {
                const int npix = X >= xlo && X < quad_end ? 4 : 1;
                const int ix0 = X * p->sw - p->pl;
                for (int v = 0; v < nv; v++) {
                    const int cv = c0 + 4 * v, n = nb - 4 * v, full = n >= 4;
                    const float32x4_t bv = vld1q_f32(bb + 4 * v);
                    float *yp = yr + (size_t)X * c + 4 * v;
                    if (npix == 1) {
                        const float32x4_t acc =
                            dw3_pixel(x, p, c, cv, wy.i0, wy.k0, wy.k1, ix0, wb + 4 * v, full, n);
                        const float32x4_t r = ifk_act4(vaddq_f32(acc, bv), p->act);
                        if (full)
                            vst1q_f32(yp, r);
                        else
                            ifk_store4(yp, r, n);
                        continue;
                    }
                    float32x4_t w[9], a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
                    IF_UNROLL_FULL
                    for (int t = 0; t < 9; t++) w[t] = vld1q_f32(wb + t * DW3_CB + 4 * v);
                    const float *xp = x + ((size_t)wy.i0 * p->w + ix0) * c + cv;
                    if (p->sw == 1) {
                        IF_UNROLL_FULL
                        for (int ky = 0; ky < 3; ky++) {
                            const float *q = xp + ky * rs;
                            float32x4_t xs[6];
                            IF_UNROLL_FULL
                            for (int j = 0; j < 6; j++) xs[j] = ldc4(q + (size_t)j * c, full, n);
                            IF_UNROLL_FULL
                            for (int kx = 0; kx < 3; kx++) {
                                const float32x4_t wv = w[ky * 3 + kx];
                                a0 = vfmaq_f32(a0, xs[kx], wv);
                                a1 = vfmaq_f32(a1, xs[kx + 1], wv);
                                a2 = vfmaq_f32(a2, xs[kx + 2], wv);
                                a3 = vfmaq_f32(a3, xs[kx + 3], wv);
                            }
                        }
                    } else {
                        IF_UNROLL_FULL
                        for (int ky = 0; ky < 3; ky++) IF_UNROLL_FULL
                        for (int kx = 0; kx < 3; kx++) {
                            const float *q = xp + ky * rs + (size_t)kx * c;
                            const float32x4_t wv = w[ky * 3 + kx];
                            a0 = vfmaq_f32(a0, ldc4(q, full, n), wv);
                            a1 = vfmaq_f32(a1, ldc4(q + ps, full, n), wv);
                            a2 = vfmaq_f32(a2, ldc4(q + 2 * ps, full, n), wv);
                            a3 = vfmaq_f32(a3, ldc4(q + 3 * ps, full, n), wv);
                        }
                    }
                    a0 = ifk_act4(vaddq_f32(a0, bv), p->act);
                    a1 = ifk_act4(vaddq_f32(a1, bv), p->act);
                    a2 = ifk_act4(vaddq_f32(a2, bv), p->act);
                    a3 = ifk_act4(vaddq_f32(a3, bv), p->act);
                    if (full) {
                        vst1q_f32(yp, a0);
                        vst1q_f32(yp + c, a1);
                        vst1q_f32(yp + 2 * (size_t)c, a2);
                        vst1q_f32(yp + 3 * (size_t)c, a3);
                    } else {
                        ifk_store4(yp, a0, n);
                        ifk_store4(yp + c, a1, n);
                        ifk_store4(yp + 2 * (size_t)c, a2, n);
                        ifk_store4(yp + 3 * (size_t)c, a3, n);
                    }
                }
                X += npix;
            }
        }
    }
}

/* groups == cin == cout, taps <= IFK_DW_MAX_TAPS; rows [p->oy0, p->oy1).
 * 3x3: dw3x3. Otherwise per block of 64 channels the weights go to the
 * stack as [tap][channel]; per output pixel 16 vector accumulators over
 * the in-image taps, in (ky, kx) order, then bias and the activation. */
void ifk_f32_dwconv__neon(const float *x, const ifk_conv_params *p, const float *wt,
                          const float *bias, float *y) {
    if (p->kh == 3 && p->kw == 3) {
        dw3x3(x, p, wt, bias, y);
        return;
    }
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const int c = p->cin, taps = p->kh * p->kw;
    float wb[(int)IFK_DW_MAX_TAPS * DW_CB];
    for (int c0 = 0; c0 < c; c0 += DW_CB) {
        const int nb = c - c0 < DW_CB ? c - c0 : DW_CB;
        const int nv = (nb + 3) / 4;
        const int nlast = nb - (nv - 1) * 4; /* lanes of the last vector */
        ifk__dw_weights(wt, taps, c0, nb, DW_CB, DW_CB, wb);
        float32x4_t vb[DW_CB / 4];
        IF_UNROLL_FULL
        for (int v = 0; v < DW_CB / 4; v++) {
            const int n = nb - v * 4;
            vb[v] =
                !bias || n <= 0 ? vdupq_n_f32(0.0f) : ifk_load4(bias + c0 + v * 4, n < 4 ? n : 4);
        }
        for (int Y = p->oy0; Y < p->oy1; Y++) {
            const ifk__window wy = ifk__window_at(Y, p->sh, p->pt, p->kh, p->h);
            for (int X = 0; X < wo; X++) {
                const ifk__window wx = ifk__window_at(X, p->sw, p->pl, p->kw, p->w);
                float32x4_t acc[DW_CB / 4];
                IF_UNROLL_FULL
                for (int v = 0; v < DW_CB / 4; v++) acc[v] = vdupq_n_f32(0.0f);
                for (int ky = wy.k0; ky < wy.k1; ky++)
                    for (int kx = wx.k0; kx < wx.k1; kx++) {
                        const float *xp = x + ((size_t)(wy.i0 + ky) * p->w + (wx.i0 + kx)) * c + c0;
                        const float *wp = wb + (ky * p->kw + kx) * DW_CB;
                        if (nb == DW_CB) {
                            IF_UNROLL_FULL
                            for (int v = 0; v < DW_CB / 4; v++)
                                acc[v] =
                                    vfmaq_f32(acc[v], vld1q_f32(xp + 4 * v), vld1q_f32(wp + 4 * v));
                        } else {
                            for (int v = 0; v < nv; v++) {
                                const float32x4_t xv = v < nv - 1 ? vld1q_f32(xp + 4 * v)
                                                                  : ifk_load4(xp + 4 * v, nlast);
                                acc[v] = vfmaq_f32(acc[v], xv, vld1q_f32(wp + 4 * v));
                            }
                        }
                    }
                float *yp = y + ((size_t)Y * wo + X) * c + c0;
                IF_UNROLL_FULL
                for (int v = 0; v < DW_CB / 4; v++) {
                    if (v < nv - 1 || nb == DW_CB)
                        vst1q_f32(yp + 4 * v, ifk_act4(vaddq_f32(acc[v], vb[v]), p->act));
                    else if (v == nv - 1) /* no break: clang unrolls no loop that exits */
                        ifk_store4(yp + 4 * v, ifk_act4(vaddq_f32(acc[v], vb[v]), p->act), nlast);
                }
            }
        }
    }
}

/* Interior pixels 4 at a time, and for each 4 every 4-channel vector in
 * turn: per kernel row the 6 input columns loaded once, the 9 weights from
 * L1 (tap-major), so the input is read along its rows; the two edge pixels
 * alone. Taps in (ky, kx) order from 0 as dw3x3's, so rows equal dwconv's. */
static inline __attribute__((always_inline)) void dw3_quad(const float *const r[3], size_t ps,
                                                           int X, int c0, const float *wt,
                                                           const float *bias, int act, float *y,
                                                           int full, int n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int ky = 0; ky < 3; ky++) {
        if (!r[ky]) continue;
        const float *q = r[ky] + (size_t)(X - 1) * ps + c0;
        float32x4_t xs[6];
        IF_UNROLL_FULL
        for (int j = 0; j < 6; j++) xs[j] = ldc4(q + (size_t)j * ps, full, n);
        IF_UNROLL_FULL
        for (int kx = 0; kx < 3; kx++) {
            const float32x4_t wk = ldc4(wt + (size_t)(ky * 3 + kx) * ps + c0, full, n);
            a0 = vfmaq_f32(a0, xs[kx], wk);
            a1 = vfmaq_f32(a1, xs[kx + 1], wk);
            a2 = vfmaq_f32(a2, xs[kx + 2], wk);
            a3 = vfmaq_f32(a3, xs[kx + 3], wk);
        }
    }
    const float32x4_t bv = ldc4(bias + c0, full, n);
    const float32x4_t o[4] = {a0, a1, a2, a3};
    for (int j = 0; j < 4; j++) {
        const float32x4_t v = ifk_act4(vaddq_f32(o[j], bv), act);
        float *yp = y + (size_t)(X + j) * ps + c0;
        if (full)
            vst1q_f32(yp, v);
        else
            ifk_store4(yp, v, n);
    }
}

static void dw3_one(const float *const r[3], int w, size_t ps, int X, int c0, const float *wt,
                    const float *bias, int act, float *y, int full, int n) {
    const int kx0 = X == 0 ? 1 : 0, kx1 = X == w - 1 ? 2 : 3;
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int ky = 0; ky < 3; ky++) {
        if (!r[ky]) continue;
        for (int kx = kx0; kx < kx1; kx++)
            acc = vfmaq_f32(acc, ldc4(r[ky] + (size_t)(X - 1 + kx) * ps + c0, full, n),
                            ldc4(wt + (size_t)(ky * 3 + kx) * ps + c0, full, n));
    }
    const float32x4_t v = ifk_act4(vaddq_f32(acc, ldc4(bias + c0, full, n)), act);
    float *yp = y + (size_t)X * ps + c0;
    if (full)
        vst1q_f32(yp, v);
    else
        ifk_store4(yp, v, n);
}

void ifk_f32_dw3_row__neon(const float *const r[3], int w, int c, const float *wt,
                           const float *bias, int act, float *y) {
    const size_t ps = (size_t)c;
    const int cfull = c / 4 * 4;
    for (int X = 0; X < w;) {
        const int quad = X >= 1 && X + 5 <= w;
        for (int c0 = 0; c0 < cfull; c0 += 4) {
            if (quad)
                dw3_quad(r, ps, X, c0, wt, bias, act, y, 1, 4);
            else
                dw3_one(r, w, ps, X, c0, wt, bias, act, y, 1, 4);
        }
        if (cfull < c) {
            if (quad)
                dw3_quad(r, ps, X, cfull, wt, bias, act, y, 0, c - cfull);
            else
                dw3_one(r, w, ps, X, cfull, wt, bias, act, y, 0, c - cfull);
        }
        X += quad ? 4 : 1;
    }
}

/* ------------------------------------------------------ bilinear resize */

/* Channel-wide vectors; few channels (< 4) go to the reference. Same
 * expression as the reference: h0*(w0*a + w1*b) + h1*(w0*d + w1*e). */
void ifk_f32_resize_bilinear__neon(const float *x, int h, int w, int c, float *y, int oh, int ow,
                                   int oy0, int oy1) {
    if (c < 4 || (h == oh && w == ow)) {
        ifk_resize_bilinear(x, h, w, c, y, oh, ow, oy0, oy1);
        return;
    }
    const float sy = (float)h / (float)oh, sx = (float)w / (float)ow;
    for (int oy = oy0; oy < oy1; oy++) {
        const ifk__lin_tap ty = ifk__lin_index(oy, h, oh, sy);
        const float *r0 = x + (size_t)ty.i0 * w * c, *r1 = x + (size_t)ty.i1 * w * c;
        const float32x4_t h0 = vdupq_n_f32(ty.l0), h1 = vdupq_n_f32(ty.l1);
        for (int ox = 0; ox < ow; ox++) {
            const ifk__lin_tap tx = ifk__lin_index(ox, w, ow, sx);
            const float32x4_t w0 = vdupq_n_f32(tx.l0), w1 = vdupq_n_f32(tx.l1);
            const float *a = r0 + (size_t)tx.i0 * c, *b = r0 + (size_t)tx.i1 * c;
            const float *d = r1 + (size_t)tx.i0 * c, *e = r1 + (size_t)tx.i1 * c;
            float *yp = y + ((size_t)oy * ow + ox) * c;
            int k = 0;
            for (; k + 4 <= c; k += 4) {
                const float32x4_t top =
                    vaddq_f32(vmulq_f32(w0, vld1q_f32(a + k)), vmulq_f32(w1, vld1q_f32(b + k)));
                const float32x4_t bot =
                    vaddq_f32(vmulq_f32(w0, vld1q_f32(d + k)), vmulq_f32(w1, vld1q_f32(e + k)));
                vst1q_f32(yp + k, vaddq_f32(vmulq_f32(h0, top), vmulq_f32(h1, bot)));
            }
            for (; k < c; k++)
                yp[k] =
                    ty.l0 * (tx.l0 * a[k] + tx.l1 * b[k]) + ty.l1 * (tx.l0 * d[k] + tx.l1 * e[k]);
        }
    }
}

/* ---------------------------------------------- Winograd F(4x4, 3x3) */

#define WT_V          float32x4_t
#define WT_N          4
#define WT_LD(p)      vld1q_f32(p)
#define WT_ST(p, v)   vst1q_f32((p), (v))
#define WT_ADD(a, b)  vaddq_f32((a), (b))
#define WT_SUB(a, b)  vsubq_f32((a), (b))
#define WT_MULS(v, k) vmulq_n_f32((v), (k))
#define WT_ZERO       vdupq_n_f32(0.0f)
#define WT_IN         ifk_f32_wino_in__neon
#define WT_OUT        ifk_f32_wino_out__neon
#define WT_TAIL_IN    ifk_f32_wino_in__c
#define WT_TAIL_OUT   ifk_f32_wino_out__c
#include "kernels/winograd_tx.h"

#else
typedef int ifk_no_neon_vec; /* not an AArch64 NEON build: nothing here */
#endif
