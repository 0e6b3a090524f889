/* vec_wasm.c -- the WebAssembly SIMD128 vector loops (softmax, the norms,
 * depthwise convolution, element-wise add, the Winograd transforms), the
 * counterparts of kernels/arm/vec_neon.c on the same 4-float vectors. Each
 * has the semantics of the reference kernel of the same name and evaluates
 * the same float expressions in the same order where that is cheap (the
 * norms' normalisation, add), so those results are bit-identical to the
 * reference; sums the reference makes sequential are vector partial sums
 * here, and products are rounded before they are added (SIMD128 has no
 * FMA). Tails shorter than a vector go through vmath_wasm.h's helpers:
 * nothing is read or written outside the arrays. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_WASM

#include <math.h>
#include <string.h>
#include <wasm_simd128.h>

#include "kernels/scalar/scalar.h"
#include "kernels/wasm/vmath_wasm.h"

/* ---------------------------------------------------------------- softmax */

/* Unnormalised softmax (kernels/ukernel.h): row[j] = exp(v[j] - max v),
 * returns the sum. As on NEON, without a bias and with scale > 0 the first
 * pass only reads: the max of scale * row is scale * (max of row). */
float ifk_f32_softmax_row__wasm(float *row, int64_t m, float scale, const float *bias) {
    const v128_t vs = wasm_f32x4_splat(scale), ninf = wasm_f32x4_splat(-INFINITY);
    const int tail = (int)(m % 4);
    const int64_t mv = m - tail;
    const v128_t tm = ifk_mask4w(tail);
    const int stored = bias || !(scale > 0.0f);
    v128_t mx0 = ninf, mx1 = ninf;
    int64_t j = 0;
    if (stored) { /* pass 1: (biased) scaled scores, stored, and their max */
        for (; j < mv; j += 4) {
            v128_t v = wasm_f32x4_mul(vs, wasm_v128_load(row + j));
            if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + j));
            wasm_v128_store(row + j, v);
            mx0 = wasm_f32x4_max(mx0, v);
        }
        if (tail) {
            v128_t v = wasm_f32x4_mul(vs, ifk_load4w(row + j, tail));
            if (bias) v = wasm_f32x4_add(v, ifk_load4w(bias + j, tail));
            ifk_store4w(row + j, v, tail);
            mx0 = wasm_f32x4_max(mx0, wasm_v128_bitselect(v, ninf, tm));
        }
    } else { /* pass 1: max of the raw scores */
        for (; j + 8 <= mv; j += 8) {
            mx0 = wasm_f32x4_max(mx0, wasm_v128_load(row + j));
            mx1 = wasm_f32x4_max(mx1, wasm_v128_load(row + j + 4));
        }
        for (; j < mv; j += 4) mx0 = wasm_f32x4_max(mx0, wasm_v128_load(row + j));
        if (tail)
            mx0 = wasm_f32x4_max(mx0, wasm_v128_bitselect(ifk_load4w(row + j, tail), ninf, tm));
    }
    const v128_t mm = wasm_f32x4_max(mx0, mx1);
    const float hmax = fmaxf(fmaxf(wasm_f32x4_extract_lane(mm, 0), wasm_f32x4_extract_lane(mm, 1)),
                             fmaxf(wasm_f32x4_extract_lane(mm, 2), wasm_f32x4_extract_lane(mm, 3)));
    const v128_t mx = wasm_f32x4_splat(stored ? hmax : scale * hmax);
    /* pass 2: exp(v - max), stored, summed */
    const v128_t s2 = wasm_f32x4_splat(stored ? 1.0f : scale);
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0;
    for (j = 0; j + 8 <= mv; j += 8) {
        const v128_t e0 =
            ifk_exp4w(wasm_f32x4_sub(wasm_f32x4_mul(s2, wasm_v128_load(row + j)), mx));
        const v128_t e1 =
            ifk_exp4w(wasm_f32x4_sub(wasm_f32x4_mul(s2, wasm_v128_load(row + j + 4)), mx));
        wasm_v128_store(row + j, e0);
        wasm_v128_store(row + j + 4, e1);
        s0 = wasm_f32x4_add(s0, e0);
        s1 = wasm_f32x4_add(s1, e1);
    }
    for (; j < mv; j += 4) {
        const v128_t e0 =
            ifk_exp4w(wasm_f32x4_sub(wasm_f32x4_mul(s2, wasm_v128_load(row + j)), mx));
        wasm_v128_store(row + j, e0);
        s0 = wasm_f32x4_add(s0, e0);
    }
    if (tail) {
        const v128_t e0 =
            ifk_exp4w(wasm_f32x4_sub(wasm_f32x4_mul(s2, ifk_load4w(row + j, tail)), mx));
        ifk_store4w(row + j, e0, tail);
        s0 = wasm_f32x4_add(s0, wasm_v128_and(e0, tm));
    }
    return ifk_hsum4w(wasm_f32x4_add(s0, s1));
}

/* ---------------------------------------------------------- element-wise */

void ifk_f32_add__wasm(const float *a, const float *b, int64_t n, float *y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t s0 = wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i));
        const v128_t s1 = wasm_f32x4_add(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4));
        wasm_v128_store(y + i, s0);
        wasm_v128_store(y + i + 4, s1);
    }
    for (; i < n; i++) y[i] = a[i] + b[i];
}

void ifk_f32_axpy2__wasm(float *y, const float *x0, float a0, const float *x1, float a1,
                         int64_t n) {
    const v128_t v0 = wasm_f32x4_splat(a0), v1 = wasm_f32x4_splat(a1);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t s =
            wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(v0, wasm_v128_load(x0 + i)));
        wasm_v128_store(y + i, wasm_f32x4_add(s, wasm_f32x4_mul(v1, wasm_v128_load(x1 + i))));
    }
    for (; i < n; i++) y[i] = (y[i] + a0 * x0[i]) + a1 * x1[i];
}

/* ------------------------------------------------------------------ norms */

/* Sum of n floats, in double (two f64x2 partial sums). */
double ifk_f32_sum_d__wasm(const float *x, int64_t n) {
    v128_t s0 = wasm_f64x2_splat(0.0), s1 = s0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t v = wasm_v128_load(x + i);
        s0 = wasm_f64x2_add(s0, wasm_f64x2_promote_low_f32x4(v));
        s1 = wasm_f64x2_add(s1, wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0)));
    }
    const v128_t s = wasm_f64x2_add(s0, s1);
    return ifk__sum_d_tail(wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1), x + i,
                           n - i);
}

/* Sum of (x - mean)^2 over n floats, in double. */
double ifk_f32_sumsq_d__wasm(const float *x, int64_t n, double mean) {
    const v128_t mv = wasm_f64x2_splat(mean);
    v128_t s0 = wasm_f64x2_splat(0.0), s1 = s0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t v = wasm_v128_load(x + i);
        const v128_t d0 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(v), mv);
        const v128_t d1 =
            wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0)), mv);
        s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(d0, d0));
        s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(d1, d1));
    }
    const v128_t s = wasm_f64x2_add(s0, s1);
    return ifk__sumsq_d_tail(wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1), x + i,
                             n - i, mean);
}

/* One LayerNorm row: y = ((x - mhi) - mlo) * (rstd * gamma) + beta. */
void ifk_f32_ln_apply__wasm(const float *x, int64_t n, float mhi, float mlo, float rstd,
                            const float *gamma, const float *beta, float *y) {
    const v128_t vr = wasm_f32x4_splat(rstd), vh = wasm_f32x4_splat(mhi),
                 vl = wasm_f32x4_splat(mlo);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(x + i), vh), vl);
        const v128_t g = wasm_f32x4_mul(vr, wasm_v128_load(gamma + i));
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_f32x4_mul(t, g), wasm_v128_load(beta + i)));
    }
    ifk_f32_ln_apply__c(x + i, n - i, mhi, mlo, rstd, gamma + i, beta + i, y + i);
}

/* Per-channel double sums over hw pixels of channels [c0, c0+nk) of x, or
 * of (x - mk)^2 when mk, added into cs[0..nk). */
void ifk_f32_gn_channel_sums__wasm(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                                   const double *mk, double *cs) {
    for (int64_t p = 0; p < hw; p++) {
        const float *xp = x + (size_t)p * c + c0;
        int64_t k = 0;
        for (; k + 4 <= nk; k += 4) {
            const v128_t v = wasm_v128_load(xp + k);
            v128_t lo = wasm_f64x2_promote_low_f32x4(v);
            v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0));
            if (mk) {
                lo = wasm_f64x2_sub(lo, wasm_v128_load(mk + k));
                hi = wasm_f64x2_sub(hi, wasm_v128_load(mk + k + 2));
                lo = wasm_f64x2_mul(lo, lo);
                hi = wasm_f64x2_mul(hi, hi);
            }
            wasm_v128_store(cs + k, wasm_f64x2_add(wasm_v128_load(cs + k), lo));
            wasm_v128_store(cs + k + 2, wasm_f64x2_add(wasm_v128_load(cs + k + 2), hi));
        }
        ifk__gn_sums_tail(xp, mk, cs, k, nk);
    }
}

/* y[p][k] = act(((x[p][k] - mk[k]) - lk[k]) * sk[k] + bk[k]) for hw pixels
 * of nk channels starting at x, y (rows c apart). */
void ifk_f32_gn_apply__wasm(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                            const float *mk, const float *lk, const float *sk, const float *bk,
                            int act) {
    for (int64_t p = 0; p < hw; p++) {
        const float *xp = x + (size_t)p * c;
        float *yp = y + (size_t)p * c;
        int64_t k = 0;
        for (; k + 4 <= nk; k += 4) {
            const v128_t t =
                wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(xp + k), wasm_v128_load(mk + k)),
                               wasm_v128_load(lk + k));
            const v128_t v =
                wasm_f32x4_add(wasm_f32x4_mul(t, wasm_v128_load(sk + k)), wasm_v128_load(bk + k));
            wasm_v128_store(yp + k, ifk_act4w(v, act));
        }
        if (k < nk) {
            const int n = (int)(nk - k);
            const v128_t t =
                wasm_f32x4_sub(wasm_f32x4_sub(ifk_load4w(xp + k, n), ifk_load4w(mk + k, n)),
                               ifk_load4w(lk + k, n));
            const v128_t v =
                wasm_f32x4_add(wasm_f32x4_mul(t, ifk_load4w(sk + k, n)), ifk_load4w(bk + k, n));
            ifk_store4w(yp + k, ifk_act4w(v, act), n);
        }
    }
}

/* ------------------------------------------------ depthwise convolution */

enum { DW_CB = 64, DW3_CB = 512 };

/* acc + x * w, the product rounded (no FMA). */
static inline v128_t madd(v128_t acc, v128_t x, v128_t w) {
    return wasm_f32x4_add(acc, wasm_f32x4_mul(x, w));
}

/* The channel vector at q: all 4 lanes, or the first n. */
static inline v128_t ldc4(const float *q, int full, int n) {
    return full ? wasm_v128_load(q) : ifk_load4w(q, n);
}
static inline void stc4(float *q, v128_t v, int full, int n) {
    if (full)
        wasm_v128_store(q, v);
    else
        ifk_store4w(q, v, n);
}

/* One output pixel, 4 channels, taps clipped to the image (weights from
 * the [tap][channel] block wbv). */
static inline v128_t dw3_pixel(const float *x, const ifk_conv_params *p, int c, int cv, int iy0,
                               int ky0, int ky1, int ix0, const float *wbv, int full, int n) {
    const ifk__window wx = ifk__window_at(ix0, 1, 0, 3, p->w);
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = wx.k0; kx < wx.k1; kx++) {
            const float *q = x + ((size_t)(iy0 + ky) * p->w + ix0 + kx) * c + cv;
            acc = madd(acc, ldc4(q, full, n), wasm_v128_load(wbv + (ky * 3 + kx) * DW3_CB));
        }
    return acc;
}

/* 3x3 kernels, as NEON's dw3x3: interior pixels 4 at a time, the 9
 * weights of a 4-channel vector held for the 4 pixels, and at stride 1
 * the 6 input columns of a kernel row loaded once for them. Taps are
 * summed in (ky, kx) order, as the reference, then bias and the
 * activation. */
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
                    const v128_t bv = wasm_v128_load(bb + 4 * v);
                    float *yp = yr + (size_t)X * c + 4 * v;
                    if (npix == 1) {
                        const v128_t acc =
                            dw3_pixel(x, p, c, cv, wy.i0, wy.k0, wy.k1, ix0, wb + 4 * v, full, n);
                        stc4(yp, ifk_act4w(wasm_f32x4_add(acc, bv), p->act), full, n);
                        continue;
                    }
                    v128_t w[9], a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
                    IF_UNROLL_FULL
                    for (int t = 0; t < 9; t++) w[t] = wasm_v128_load(wb + t * DW3_CB + 4 * v);
                    const float *xp = x + ((size_t)wy.i0 * p->w + ix0) * c + cv;
                    if (p->sw == 1) {
                        IF_UNROLL_FULL
                        for (int ky = 0; ky < 3; ky++) {
                            const float *q = xp + ky * rs;
                            v128_t xs[6];
                            IF_UNROLL_FULL
                            for (int j = 0; j < 6; j++) xs[j] = ldc4(q + (size_t)j * c, full, n);
                            IF_UNROLL_FULL
                            for (int kx = 0; kx < 3; kx++) {
                                const v128_t wv = w[ky * 3 + kx];
                                a0 = madd(a0, xs[kx], wv);
                                a1 = madd(a1, xs[kx + 1], wv);
                                a2 = madd(a2, xs[kx + 2], wv);
                                a3 = madd(a3, xs[kx + 3], wv);
                            }
                        }
                    } else {
                        IF_UNROLL_FULL
                        for (int ky = 0; ky < 3; ky++) IF_UNROLL_FULL
                        for (int kx = 0; kx < 3; kx++) {
                            const float *q = xp + ky * rs + (size_t)kx * c;
                            const v128_t wv = w[ky * 3 + kx];
                            a0 = madd(a0, ldc4(q, full, n), wv);
                            a1 = madd(a1, ldc4(q + ps, full, n), wv);
                            a2 = madd(a2, ldc4(q + 2 * ps, full, n), wv);
                            a3 = madd(a3, ldc4(q + 3 * ps, full, n), wv);
                        }
                    }
                    stc4(yp, ifk_act4w(wasm_f32x4_add(a0, bv), p->act), full, n);
                    stc4(yp + c, ifk_act4w(wasm_f32x4_add(a1, bv), p->act), full, n);
                    stc4(yp + 2 * (size_t)c, ifk_act4w(wasm_f32x4_add(a2, bv), p->act), full, n);
                    stc4(yp + 3 * (size_t)c, ifk_act4w(wasm_f32x4_add(a3, bv), p->act), full, n);
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
void ifk_f32_dwconv__wasm(const float *x, const ifk_conv_params *p, const float *wt,
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
        v128_t vb[DW_CB / 4];
        for (int v = 0; v < DW_CB / 4; v++) {
            const int n = nb - v * 4;
            vb[v] = !bias || n <= 0 ? wasm_f32x4_splat(0.0f)
                                    : ifk_load4w(bias + c0 + v * 4, n < 4 ? n : 4);
        }
        for (int Y = p->oy0; Y < p->oy1; Y++) {
            const ifk__window wy = ifk__window_at(Y, p->sh, p->pt, p->kh, p->h);
            for (int X = 0; X < wo; X++) {
                const ifk__window wx = ifk__window_at(X, p->sw, p->pl, p->kw, p->w);
                v128_t acc[DW_CB / 4];
                for (int v = 0; v < DW_CB / 4; v++) acc[v] = wasm_f32x4_splat(0.0f);
                for (int ky = wy.k0; ky < wy.k1; ky++)
                    for (int kx = wx.k0; kx < wx.k1; kx++) {
                        const float *xp = x + ((size_t)(wy.i0 + ky) * p->w + (wx.i0 + kx)) * c + c0;
                        const float *wp = wb + (ky * p->kw + kx) * DW_CB;
                        for (int v = 0; v < nv; v++) {
                            const v128_t xv = v < nv - 1 ? wasm_v128_load(xp + 4 * v)
                                                         : ifk_load4w(xp + 4 * v, nlast);
                            acc[v] = madd(acc[v], xv, wasm_v128_load(wp + 4 * v));
                        }
                    }
                float *yp = y + ((size_t)Y * wo + X) * c + c0;
                for (int v = 0; v < nv; v++)
                    stc4(yp + 4 * v, ifk_act4w(wasm_f32x4_add(acc[v], vb[v]), p->act), v < nv - 1,
                         v < nv - 1 ? 4 : nlast);
            }
        }
    }
}

/* The fused chain's depthwise row (kernels/ukernel.h's dw3_row), as NEON's:
 * interior pixels 4 at a time, and for each 4 every 4-channel vector in
 * turn: per kernel row the 6 input columns loaded once, the 9 weights from
 * L1 (tap-major), so the input is read along its rows; the two edge pixels
 * alone. Taps in (ky, kx) order from 0, products rounded then added, as
 * dwconv__wasm's, so rows equal its. */
static inline __attribute__((always_inline)) void dw3_quad(const float *const r[3], size_t ps,
                                                           int X, int c0, const float *wt,
                                                           const float *bias, int act, float *y,
                                                           int full, int n) {
    v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int ky = 0; ky < 3; ky++) {
        if (!r[ky]) continue;
        const float *q = r[ky] + (size_t)(X - 1) * ps + c0;
        v128_t xs[6];
        IF_UNROLL_FULL
        for (int j = 0; j < 6; j++) xs[j] = ldc4(q + (size_t)j * ps, full, n);
        IF_UNROLL_FULL
        for (int kx = 0; kx < 3; kx++) {
            const v128_t wk = ldc4(wt + (size_t)(ky * 3 + kx) * ps + c0, full, n);
            a0 = madd(a0, xs[kx], wk);
            a1 = madd(a1, xs[kx + 1], wk);
            a2 = madd(a2, xs[kx + 2], wk);
            a3 = madd(a3, xs[kx + 3], wk);
        }
    }
    const v128_t bv = ldc4(bias + c0, full, n);
    const v128_t o[4] = {a0, a1, a2, a3};
    for (int j = 0; j < 4; j++)
        stc4(y + (size_t)(X + j) * ps + c0, ifk_act4w(wasm_f32x4_add(o[j], bv), act), full, n);
}

static void dw3_one(const float *const r[3], int w, size_t ps, int X, int c0, const float *wt,
                    const float *bias, int act, float *y, int full, int n) {
    const int kx0 = X == 0 ? 1 : 0, kx1 = X == w - 1 ? 2 : 3;
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (int ky = 0; ky < 3; ky++) {
        if (!r[ky]) continue;
        for (int kx = kx0; kx < kx1; kx++)
            acc = madd(acc, ldc4(r[ky] + (size_t)(X - 1 + kx) * ps + c0, full, n),
                       ldc4(wt + (size_t)(ky * 3 + kx) * ps + c0, full, n));
    }
    stc4(y + (size_t)X * ps + c0, ifk_act4w(wasm_f32x4_add(acc, ldc4(bias + c0, full, n)), act),
         full, n);
}

void ifk_f32_dw3_row__wasm(const float *const r[3], int w, int c, const float *wt,
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

/* ---------------------------------------------- Winograd F(4x4, 3x3) */

#define WT_V          v128_t
#define WT_N          4
#define WT_LD(p)      wasm_v128_load(p)
#define WT_ST(p, v)   wasm_v128_store((p), (v))
#define WT_ADD(a, b)  wasm_f32x4_add((a), (b))
#define WT_SUB(a, b)  wasm_f32x4_sub((a), (b))
#define WT_MULS(v, k) wasm_f32x4_mul((v), wasm_f32x4_splat(k))
#define WT_ZERO       wasm_f32x4_splat(0.0f)
#define WT_IN         ifk_f32_wino_in__wasm
#define WT_OUT        ifk_f32_wino_out__wasm
#define WT_TAIL_IN    ifk_f32_wino_in__c
#define WT_TAIL_OUT   ifk_f32_wino_out__c
#include "kernels/winograd_tx.h"

#else
typedef int ifk_no_wasm_vec; /* not a WebAssembly SIMD128 build: nothing here */
#endif
