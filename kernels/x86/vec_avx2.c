/* vec_avx2.c -- the AVX2+FMA vector loops (element-wise, norms, softmax,
 * depthwise convolution, bilinear resize). Each has the semantics of the
 * reference kernel of the same name and evaluates the same float
 * expressions in the same order where that is cheap (norms, resize, the
 * activations), so most results are bit-identical to the reference;
 * sums that the reference makes sequential are vector partial sums here. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_X86

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/scalar/scalar.h"
#include "kernels/x86/vmath_avx2.h"

IFK_TARGET_AVX2_BEGIN

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline double hsum4d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/* ---------------------------------------------------------------- softmax */

float ifk_f32_softmax_row__avx2(float *row, int64_t m, float scale, const float *bias) {
    const __m256 vs = _mm256_set1_ps(scale);
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    const int tail = (int)(m % 8);
    const int64_t mv = m - tail;
    const __m256i tm = ifk_mask8(tail);
    __m256 mx;
    const int stored = bias || !(scale > 0.0f);
    if (stored) { /* pass 1: (biased) scaled scores, stored, and their max */
        int64_t j = 0;
        for (; j < mv; j += 8) {
            __m256 v = _mm256_mul_ps(vs, _mm256_loadu_ps(row + j));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(row + j, v);
            vmax = _mm256_max_ps(vmax, v);
        }
        if (tail) {
            __m256 v = _mm256_mul_ps(vs, _mm256_maskload_ps(row + j, tm));
            if (bias) v = _mm256_add_ps(v, _mm256_maskload_ps(bias + j, tm));
            _mm256_maskstore_ps(row + j, tm, v);
            vmax = _mm256_max_ps(
                vmax, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), v, _mm256_castsi256_ps(tm)));
        }
        mx = _mm256_set1_ps(hmax8(vmax));
    } else { /* pass 1: max of the raw scores (scale > 0 keeps the argmax) */
        int64_t j = 0;
        for (; j < mv; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + j));
        if (tail)
            vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY),
                                                        _mm256_maskload_ps(row + j, tm),
                                                        _mm256_castsi256_ps(tm)));
        mx = _mm256_set1_ps(scale * hmax8(vmax));
    }
    /* pass 2: exp(v - max), stored, summed */
    const __m256 s2 = _mm256_set1_ps(stored ? 1.0f : scale);
    __m256 vsum = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j < mv; j += 8) {
        const __m256 e = ifk_exp8(_mm256_sub_ps(_mm256_mul_ps(s2, _mm256_loadu_ps(row + j)), mx));
        _mm256_storeu_ps(row + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    if (tail) {
        __m256 e = ifk_exp8(_mm256_sub_ps(_mm256_mul_ps(s2, _mm256_maskload_ps(row + j, tm)), mx));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(tm));
        _mm256_maskstore_ps(row + j, tm, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    return hsum8(vsum);
}

void ifk_f32_gather__avx2(float *dst, int64_t n, const float *tab, int32_t base,
                          const int32_t *idx) {
    const __m256i vb = _mm256_set1_epi32(base);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256i ix = _mm256_sub_epi32(vb, _mm256_loadu_si256((const __m256i *)(idx + j)));
        _mm256_storeu_ps(dst + j, _mm256_i32gather_ps(tab, ix, 4));
    }
    for (; j < n; j++) dst[j] = tab[base - idx[j]];
}

/* ---------------------------------------------------------- element-wise */

void ifk_f32_activation__avx2(const float *x, int64_t n, int act, float *y) {
    if (act == IFK_ACT_NONE) {
        if (y != x) memmove(y, x, (size_t)n * sizeof *x);
        return;
    }
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, ifk_act8(_mm256_loadu_ps(x + i), act));
    if (i < n) {
        const __m256i tm = ifk_mask8((int)(n - i));
        _mm256_maskstore_ps(y + i, tm, ifk_act8(_mm256_maskload_ps(x + i, tm), act));
    }
}

void ifk_f32_add__avx2(const float *a, const float *b, int64_t n, float *y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++) y[i] = a[i] + b[i];
}

/* y = x where x > y or x is NaN: the max of pooling, NaN-propagating. */
static inline __m256 max_nan8(__m256 y, __m256 x) {
    const __m256 take =
        _mm256_or_ps(_mm256_cmp_ps(x, y, _CMP_GT_OQ), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    return _mm256_blendv_ps(y, x, take);
}

/* 32 channels at a time (four chains of compare-and-blend in flight), then 8, then one. */
void ifk_f32_max_pixels__avx2(float *y, const float *x, int64_t npix, int64_t c) {
    int64_t k = 0;
    for (; k + 32 <= c; k += 32) {
        __m256 m0 = _mm256_loadu_ps(y + k), m1 = _mm256_loadu_ps(y + k + 8),
               m2 = _mm256_loadu_ps(y + k + 16), m3 = _mm256_loadu_ps(y + k + 24);
        for (int64_t i = 0; i < npix; i++) {
            const float *p = x + i * c + k;
            m0 = max_nan8(m0, _mm256_loadu_ps(p));
            m1 = max_nan8(m1, _mm256_loadu_ps(p + 8));
            m2 = max_nan8(m2, _mm256_loadu_ps(p + 16));
            m3 = max_nan8(m3, _mm256_loadu_ps(p + 24));
        }
        _mm256_storeu_ps(y + k, m0);
        _mm256_storeu_ps(y + k + 8, m1);
        _mm256_storeu_ps(y + k + 16, m2);
        _mm256_storeu_ps(y + k + 24, m3);
    }
    for (; k + 8 <= c; k += 8) {
        __m256 m = _mm256_loadu_ps(y + k);
        for (int64_t p = 0; p < npix; p++) m = max_nan8(m, _mm256_loadu_ps(x + p * c + k));
        _mm256_storeu_ps(y + k, m);
    }
    for (; k < c; k++)
        for (int64_t p = 0; p < npix; p++) {
            const float v = x[p * c + k];
            if (v > y[k] || v != v) y[k] = v;
        }
}

void ifk_f32_axpy2__avx2(float *y, const float *x0, float a0, const float *x1, float a1,
                         int64_t n) {
    const __m256 v0 = _mm256_set1_ps(a0), v1 = _mm256_set1_ps(a1);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 s =
            _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(v0, _mm256_loadu_ps(x0 + i)));
        _mm256_storeu_ps(y + i, _mm256_add_ps(s, _mm256_mul_ps(v1, _mm256_loadu_ps(x1 + i))));
    }
    for (; i < n; i++) y[i] = (y[i] + a0 * x0[i]) + a1 * x1[i];
}

/* ------------------------------------------------------------------ norms */

/* Sum of n floats, in double. */
double ifk_f32_sum_d__avx2(const float *x, int64_t n) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    return ifk__sum_d_tail(hsum4d(_mm256_add_pd(s0, s1)), x + i, n - i);
}

/* Sum of (x - mean)^2 over n floats, in double. */
double ifk_f32_sumsq_d__avx2(const float *x, int64_t n, double mean) {
    const __m256d mv = _mm256_set1_pd(mean);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), mv);
        const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), mv);
        s0 = _mm256_fmadd_pd(d0, d0, s0);
        s1 = _mm256_fmadd_pd(d1, d1, s1);
    }
    return ifk__sumsq_d_tail(hsum4d(_mm256_add_pd(s0, s1)), x + i, n - i, mean);
}

/* One LayerNorm row: y = ((x - mhi) - mlo) * (rstd * gamma) + beta. */
void ifk_f32_ln_apply__avx2(const float *x, int64_t n, float mhi, float mlo, float rstd,
                            const float *gamma, const float *beta, float *y) {
    const __m256 vr = _mm256_set1_ps(rstd), vh = _mm256_set1_ps(mhi), vl = _mm256_set1_ps(mlo);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 t = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vh), vl);
        const __m256 g = _mm256_mul_ps(vr, _mm256_loadu_ps(gamma + i));
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(t, g), _mm256_loadu_ps(beta + i)));
    }
    ifk_f32_ln_apply__c(x + i, n - i, mhi, mlo, rstd, gamma + i, beta + i, y + i);
}

/* Per-channel double sums over hw pixels of channels [c0, c0+nk) of x, or
 * of (x - mk)^2 when mk, added into cs[0..nk). */
void ifk_f32_gn_channel_sums__avx2(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                                   const double *mk, double *cs) {
    for (int64_t p = 0; p < hw; p++) {
        const float *xp = x + (size_t)p * c + c0;
        int64_t k = 0;
        for (; k + 4 <= nk; k += 4) {
            __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(xp + k));
            if (mk) {
                v = _mm256_sub_pd(v, _mm256_loadu_pd(mk + k));
                v = _mm256_mul_pd(v, v);
            }
            _mm256_storeu_pd(cs + k, _mm256_add_pd(_mm256_loadu_pd(cs + k), v));
        }
        ifk__gn_sums_tail(xp, mk, cs, k, nk);
    }
}

/* y[p][k] = act(((x[p][k] - mk[k]) - lk[k]) * sk[k] + bk[k]), hw pixels of nk
 * channels (rows c apart). */
void ifk_f32_gn_apply__avx2(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                            const float *mk, const float *lk, const float *sk, const float *bk,
                            int act) {
    for (int64_t p = 0; p < hw; p++) {
        const float *xp = x + (size_t)p * c;
        float *yp = y + (size_t)p * c;
        int64_t k = 0;
        for (; k + 8 <= nk; k += 8) {
            const __m256 t =
                _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xp + k), _mm256_loadu_ps(mk + k)),
                              _mm256_loadu_ps(lk + k));
            const __m256 v =
                _mm256_add_ps(_mm256_mul_ps(t, _mm256_loadu_ps(sk + k)), _mm256_loadu_ps(bk + k));
            _mm256_storeu_ps(yp + k, ifk_act8(v, act));
        }
        if (k < nk) {
            const __m256i m = ifk_mask8((int)(nk - k));
            const __m256 t = _mm256_sub_ps(
                _mm256_sub_ps(_mm256_maskload_ps(xp + k, m), _mm256_maskload_ps(mk + k, m)),
                _mm256_maskload_ps(lk + k, m));
            const __m256 v = _mm256_add_ps(_mm256_mul_ps(t, _mm256_maskload_ps(sk + k, m)),
                                           _mm256_maskload_ps(bk + k, m));
            _mm256_maskstore_ps(yp + k, m, ifk_act8(v, act));
        }
    }
}

/* ------------------------------------------------ depthwise convolution */

enum { DW_CB = 64, DW3_CB = 512 };

/* One output pixel, 8 channels, taps clipped to the image (weights from
 * the [tap][channel] block wb). */
static inline __m256 dw3_pixel(const float *x, const ifk_conv_params *p, int c, int cv, int iy0,
                               int ky0, int ky1, int ix0, const float *wbv, int full, __m256i tm) {
    const ifk__window wx = ifk__window_at(ix0, 1, 0, 3, p->w);
    __m256 acc = _mm256_setzero_ps();
    for (int ky = ky0; ky < ky1; ky++)
        for (int kx = wx.k0; kx < wx.k1; kx++) {
            const float *q = x + ((size_t)(iy0 + ky) * p->w + ix0 + kx) * c + cv;
            const __m256 xv = full ? _mm256_loadu_ps(q) : _mm256_maskload_ps(q, tm);
            acc = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wbv + (ky * 3 + kx) * DW3_CB), acc);
        }
    return acc;
}

/* 3x3 kernels. Interior pixels go 4 at a time: per 8-channel vector the 9
 * weights stay in registers for the 4 pixels (36 FMAs on 36 loads from the
 * 3 x 6 input pixels of the tile, which stay in L1 while the channel
 * vectors go by). Taps are summed in (ky, kx) order, as the reference,
 * then bias and the activation. */
static void dw3x3(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                  float *y) {
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const int c = p->cin;
    const size_t rs = (size_t)p->w * c, ps = (size_t)p->sw * c;
    float wb[9 * DW3_CB], bb[DW3_CB];
    for (int c0 = 0; c0 < c; c0 += DW3_CB) {
        const int nb = c - c0 < DW3_CB ? c - c0 : DW3_CB;
        const int nv = (nb + 7) / 8;
        ifk__dw_weights(wt, 9, c0, nb, nv * 8, DW3_CB, wb);
        for (int j = 0; j < nv * 8; j++) bb[j] = bias && j < nb ? bias[c0 + j] : 0.0f;
        int xlo, xhi; /* output columns with all three kernel columns inside */
        ifk__interior3(p, wo, &xlo, &xhi);
        for (int Y = p->oy0; Y < p->oy1; Y++) {
            const ifk__window wy = ifk__window_at(Y, p->sh, p->pt, 3, p->h);
            const int quad_end = wy.k0 == 0 && wy.k1 == 3 ? xlo + (xhi - xlo) / 4 * 4 : xlo;
            float *yr = y + (size_t)Y * wo * c + c0;
            for (int X = 0; X < wo;) {
                const int n = X >= xlo && X < quad_end ? 4 : 1;
                const int ix0 = X * p->sw - p->pl;
                for (int v = 0; v < nv; v++) {
                    const int cv = c0 + 8 * v, full = nb - 8 * v >= 8;
                    const __m256i tm = ifk_mask8(nb - 8 * v);
                    const __m256 bv = _mm256_loadu_ps(bb + 8 * v);
                    float *yp = yr + (size_t)X * c + 8 * v;
                    if (n == 4) {
                        __m256 w[9], a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                        IF_UNROLL_FULL
                        for (int t = 0; t < 9; t++) w[t] = _mm256_loadu_ps(wb + t * DW3_CB + 8 * v);
                        const float *xp = x + ((size_t)wy.i0 * p->w + ix0) * c + cv;
                        IF_UNROLL_FULL
                        for (int ky = 0; ky < 3; ky++) IF_UNROLL_FULL
                        for (int kx = 0; kx < 3; kx++) {
                            const float *q = xp + ky * rs + (size_t)kx * c;
                            const __m256 wv = w[ky * 3 + kx];
                            if (full) {
                                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q), wv, a0);
                                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + ps), wv, a1);
                                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + 2 * ps), wv, a2);
                                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + 3 * ps), wv, a3);
                            } else {
                                a0 = _mm256_fmadd_ps(_mm256_maskload_ps(q, tm), wv, a0);
                                a1 = _mm256_fmadd_ps(_mm256_maskload_ps(q + ps, tm), wv, a1);
                                a2 = _mm256_fmadd_ps(_mm256_maskload_ps(q + 2 * ps, tm), wv, a2);
                                a3 = _mm256_fmadd_ps(_mm256_maskload_ps(q + 3 * ps, tm), wv, a3);
                            }
                        }
                        a0 = ifk_act8(_mm256_add_ps(a0, bv), p->act);
                        a1 = ifk_act8(_mm256_add_ps(a1, bv), p->act);
                        a2 = ifk_act8(_mm256_add_ps(a2, bv), p->act);
                        a3 = ifk_act8(_mm256_add_ps(a3, bv), p->act);
                        if (full) {
                            _mm256_storeu_ps(yp, a0);
                            _mm256_storeu_ps(yp + c, a1);
                            _mm256_storeu_ps(yp + 2 * (size_t)c, a2);
                            _mm256_storeu_ps(yp + 3 * (size_t)c, a3);
                        } else {
                            _mm256_maskstore_ps(yp, tm, a0);
                            _mm256_maskstore_ps(yp + c, tm, a1);
                            _mm256_maskstore_ps(yp + 2 * (size_t)c, tm, a2);
                            _mm256_maskstore_ps(yp + 3 * (size_t)c, tm, a3);
                        }
                    } else {
                        const __m256 acc =
                            dw3_pixel(x, p, c, cv, wy.i0, wy.k0, wy.k1, ix0, wb + 8 * v, full, tm);
                        const __m256 r = ifk_act8(_mm256_add_ps(acc, bv), p->act);
                        if (full)
                            _mm256_storeu_ps(yp, r);
                        else
                            _mm256_maskstore_ps(yp, tm, r);
                    }
                }
                X += n;
            }
        }
    }
}

/* groups == cin == cout, taps <= IFK_DW_MAX_TAPS; rows [p->oy0, p->oy1).
 * 3x3: dw3x3. Otherwise per block of 64 channels the weights go to the
 * stack as [tap][channel]; per output pixel 8 vector accumulators over the
 * in-image taps, in (ky, kx) order, then bias and the activation. */
void ifk_f32_dwconv__avx2(const float *x, const ifk_conv_params *p, const float *wt,
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
        const int nv = (nb + 7) / 8;
        const __m256i tm = ifk_mask8(nb - (nv - 1) * 8); /* lanes of the last vector */
        ifk__dw_weights(wt, taps, c0, nb, DW_CB, DW_CB, wb);
        __m256 vb[DW_CB / 8];
        IF_UNROLL_FULL
        for (int v = 0; v < DW_CB / 8; v++) {
            const int n = nb - v * 8;
            vb[v] = !bias || n <= 0 ? _mm256_setzero_ps()
                    : n >= 8        ? _mm256_loadu_ps(bias + c0 + v * 8)
                                    : _mm256_maskload_ps(bias + c0 + v * 8, ifk_mask8(n));
        }
        for (int Y = p->oy0; Y < p->oy1; Y++) {
            const ifk__window wy = ifk__window_at(Y, p->sh, p->pt, p->kh, p->h);
            for (int X = 0; X < wo; X++) {
                const ifk__window wx = ifk__window_at(X, p->sw, p->pl, p->kw, p->w);
                __m256 acc[DW_CB / 8];
                IF_UNROLL_FULL
                for (int v = 0; v < DW_CB / 8; v++) acc[v] = _mm256_setzero_ps();
                for (int ky = wy.k0; ky < wy.k1; ky++)
                    for (int kx = wx.k0; kx < wx.k1; kx++) {
                        const float *xp = x + ((size_t)(wy.i0 + ky) * p->w + (wx.i0 + kx)) * c + c0;
                        const float *wp = wb + (ky * p->kw + kx) * DW_CB;
                        if (nb == DW_CB) {
                            IF_UNROLL_FULL
                            for (int v = 0; v < DW_CB / 8; v++)
                                acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 8 * v),
                                                         _mm256_loadu_ps(wp + 8 * v), acc[v]);
                        } else {
                            IF_UNROLL_FULL
                            for (int v = 0; v < DW_CB / 8; v++) {
                                if (v >= nv) break;
                                const __m256 xv = v < nv - 1 ? _mm256_loadu_ps(xp + 8 * v)
                                                             : _mm256_maskload_ps(xp + 8 * v, tm);
                                acc[v] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wp + 8 * v), acc[v]);
                            }
                        }
                    }
                float *yp = y + ((size_t)Y * wo + X) * c + c0;
                IF_UNROLL_FULL
                for (int v = 0; v < DW_CB / 8; v++) {
                    if (v < nv - 1 || nb == DW_CB) {
                        _mm256_storeu_ps(yp + 8 * v,
                                         ifk_act8(_mm256_add_ps(acc[v], vb[v]), p->act));
                    } else if (v == nv - 1) { /* no break: clang unrolls no loop that exits */
                        _mm256_maskstore_ps(yp + 8 * v, tm,
                                            ifk_act8(_mm256_add_ps(acc[v], vb[v]), p->act));
                    }
                }
            }
        }
    }
}

/* Interior pixels 4 at a time, and for each 4 every 8-channel vector in
 * turn: per kernel row the 6 input columns are loaded once (18 loads for
 * 36 FMAs) and the 9 weights come from L1 (9 x c floats, tap-major). The
 * input is read along its rows, a cache line after the next, not c floats
 * apart. The two edge pixels go alone. The taps go in (ky, kx) order from
 * 0 as dw3x3's, so rows equal dwconv's. */
static inline __attribute__((always_inline)) __m256 dw3_ld(const float *q, int full, __m256i tm) {
    return full ? _mm256_loadu_ps(q) : _mm256_maskload_ps(q, tm);
}

static inline __attribute__((always_inline)) void dw3_st(float *q, __m256 v, int full, __m256i tm) {
    if (full)
        _mm256_storeu_ps(q, v);
    else
        _mm256_maskstore_ps(q, tm, v);
}

/* Output pixels X .. X+3 (all inside: columns X-1 .. X+4 exist), channels
 * [c0, c0 + 8) (the first n valid). */
static inline __attribute__((always_inline)) void dw3_quad(const float *const r[3], size_t ps,
                                                           int X, int c0, const float *wt,
                                                           const float *bias, int act, float *y,
                                                           int full, __m256i tm) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int ky = 0; ky < 3; ky++) {
        if (!r[ky]) continue;
        const float *q = r[ky] + (size_t)(X - 1) * ps + c0;
        const __m256 x0 = dw3_ld(q, full, tm), x1 = dw3_ld(q + ps, full, tm),
                     x2 = dw3_ld(q + 2 * ps, full, tm), x3 = dw3_ld(q + 3 * ps, full, tm),
                     x4 = dw3_ld(q + 4 * ps, full, tm), x5 = dw3_ld(q + 5 * ps, full, tm);
        const float *wk = wt + (size_t)ky * 3 * ps + c0;
        const __m256 w0 = dw3_ld(wk, full, tm), w1 = dw3_ld(wk + ps, full, tm),
                     w2 = dw3_ld(wk + 2 * ps, full, tm);
        a0 = _mm256_fmadd_ps(x0, w0, a0);
        a0 = _mm256_fmadd_ps(x1, w1, a0);
        a0 = _mm256_fmadd_ps(x2, w2, a0);
        a1 = _mm256_fmadd_ps(x1, w0, a1);
        a1 = _mm256_fmadd_ps(x2, w1, a1);
        a1 = _mm256_fmadd_ps(x3, w2, a1);
        a2 = _mm256_fmadd_ps(x2, w0, a2);
        a2 = _mm256_fmadd_ps(x3, w1, a2);
        a2 = _mm256_fmadd_ps(x4, w2, a2);
        a3 = _mm256_fmadd_ps(x3, w0, a3);
        a3 = _mm256_fmadd_ps(x4, w1, a3);
        a3 = _mm256_fmadd_ps(x5, w2, a3);
    }
    const __m256 bv = dw3_ld(bias + c0, full, tm);
    float *yp = y + (size_t)X * ps + c0;
    dw3_st(yp, ifk_act8(_mm256_add_ps(a0, bv), act), full, tm);
    dw3_st(yp + ps, ifk_act8(_mm256_add_ps(a1, bv), act), full, tm);
    dw3_st(yp + 2 * ps, ifk_act8(_mm256_add_ps(a2, bv), act), full, tm);
    dw3_st(yp + 3 * ps, ifk_act8(_mm256_add_ps(a3, bv), act), full, tm);
}

/* One output pixel X, taps clipped to the row, channels [c0, c0 + 8). */
static void dw3_one(const float *const r[3], int w, size_t ps, int X, int c0, const float *wt,
                    const float *bias, int act, float *y, int full, __m256i tm) {
    const int kx0 = X == 0 ? 1 : 0, kx1 = X == w - 1 ? 2 : 3;
    __m256 acc = _mm256_setzero_ps();
    for (int ky = 0; ky < 3; ky++) {
        if (!r[ky]) continue;
        for (int kx = kx0; kx < kx1; kx++)
            acc = _mm256_fmadd_ps(dw3_ld(r[ky] + (size_t)(X - 1 + kx) * ps + c0, full, tm),
                                  dw3_ld(wt + (size_t)(ky * 3 + kx) * ps + c0, full, tm), acc);
    }
    dw3_st(y + (size_t)X * ps + c0, ifk_act8(_mm256_add_ps(acc, dw3_ld(bias + c0, full, tm)), act),
           full, tm);
}

void ifk_f32_dw3_row__avx2(const float *const r[3], int w, int c, const float *wt,
                           const float *bias, int act, float *y) {
    const size_t ps = (size_t)c;
    const int cfull = c / 8 * 8;
    const __m256i all = _mm256_set1_epi32(-1), tm = ifk_mask8(c - cfull);
    for (int X = 0; X < w;) {
        if (X >= 1 && X + 5 <= w) {
            for (int c0 = 0; c0 < cfull; c0 += 8) dw3_quad(r, ps, X, c0, wt, bias, act, y, 1, all);
            if (cfull < c) dw3_quad(r, ps, X, cfull, wt, bias, act, y, 0, tm);
            X += 4;
        } else {
            for (int c0 = 0; c0 < cfull; c0 += 8)
                dw3_one(r, w, ps, X, c0, wt, bias, act, y, 1, all);
            if (cfull < c) dw3_one(r, w, ps, X, cfull, wt, bias, act, y, 0, tm);
            X++;
        }
    }
}

/* ------------------------------------------------------ bilinear resize */

/* Channels-wide vectors; few channels (< 8) go to the reference. Same
 * expression as the reference: h0*(w0*a + w1*b) + h1*(w0*d + w1*e). */
void ifk_f32_resize_bilinear__avx2(const float *x, int h, int w, int c, float *y, int oh, int ow,
                                   int oy0, int oy1) {
    if (c < 8 || (h == oh && w == ow)) {
        ifk_resize_bilinear(x, h, w, c, y, oh, ow, oy0, oy1);
        return;
    }
    const float sy = (float)h / (float)oh, sx = (float)w / (float)ow;
    const __m256i tm = ifk_mask8(c % 8);
    for (int oy = oy0; oy < oy1; oy++) {
        const ifk__lin_tap ty = ifk__lin_index(oy, h, oh, sy);
        const float *r0 = x + (size_t)ty.i0 * w * c, *r1 = x + (size_t)ty.i1 * w * c;
        const __m256 h0 = _mm256_set1_ps(ty.l0), h1 = _mm256_set1_ps(ty.l1);
        for (int ox = 0; ox < ow; ox++) {
            const ifk__lin_tap tx = ifk__lin_index(ox, w, ow, sx);
            const __m256 w0 = _mm256_set1_ps(tx.l0), w1 = _mm256_set1_ps(tx.l1);
            const float *a = r0 + (size_t)tx.i0 * c, *b = r0 + (size_t)tx.i1 * c;
            const float *d = r1 + (size_t)tx.i0 * c, *e = r1 + (size_t)tx.i1 * c;
            float *yp = y + ((size_t)oy * ow + ox) * c;
            int k = 0;
            for (; k + 8 <= c; k += 8) {
                const __m256 top = _mm256_add_ps(_mm256_mul_ps(w0, _mm256_loadu_ps(a + k)),
                                                 _mm256_mul_ps(w1, _mm256_loadu_ps(b + k)));
                const __m256 bot = _mm256_add_ps(_mm256_mul_ps(w0, _mm256_loadu_ps(d + k)),
                                                 _mm256_mul_ps(w1, _mm256_loadu_ps(e + k)));
                _mm256_storeu_ps(yp + k,
                                 _mm256_add_ps(_mm256_mul_ps(h0, top), _mm256_mul_ps(h1, bot)));
            }
            if (k < c) {
                const __m256 top = _mm256_add_ps(_mm256_mul_ps(w0, _mm256_maskload_ps(a + k, tm)),
                                                 _mm256_mul_ps(w1, _mm256_maskload_ps(b + k, tm)));
                const __m256 bot = _mm256_add_ps(_mm256_mul_ps(w0, _mm256_maskload_ps(d + k, tm)),
                                                 _mm256_mul_ps(w1, _mm256_maskload_ps(e + k, tm)));
                _mm256_maskstore_ps(yp + k, tm,
                                    _mm256_add_ps(_mm256_mul_ps(h0, top), _mm256_mul_ps(h1, bot)));
            }
        }
    }
}

/* ---------------------------------------------- Winograd F(4x4, 3x3) */

#define WT_V          __m256
#define WT_N          8
#define WT_LD(p)      _mm256_loadu_ps(p)
#define WT_ST(p, v)   _mm256_storeu_ps((p), (v))
#define WT_ADD(a, b)  _mm256_add_ps((a), (b))
#define WT_SUB(a, b)  _mm256_sub_ps((a), (b))
#define WT_MULS(v, k) _mm256_mul_ps((v), _mm256_set1_ps(k))
#define WT_ZERO       _mm256_setzero_ps()
#define WT_IN         ifk_f32_wino_in__avx2
#define WT_OUT        ifk_f32_wino_out__avx2
#define WT_TAIL_IN    ifk_f32_wino_in__c
#define WT_TAIL_OUT   ifk_f32_wino_out__c
#include "kernels/winograd_tx.h"

IFK_TARGET_END

#else
typedef int ifk_no_avx2_vec; /* not an x86-64 build: nothing here */
#endif
