/* vec_c.c -- the portable vector loops (plain C; names in kernels/isa.h):
 * the "generic" instruction set's, and the fallbacks any other may name in
 * its table (kernels/isa_tables.c). Each evaluates the reference kernel's
 * expressions in the reference's order, so the generic variant's results
 * are the reference's; the compiler vectorises what it can. */
#include <math.h>

#include "kernels/isa.h"
#include "kernels/scalar/scalar.h"

/* ------------------------------------------------------------- attention */

float ifk_f32_softmax_row__c(float *row, int64_t m, float scale, const float *bias) {
    float mx = -INFINITY;
    for (int64_t j = 0; j < m; j++) {
        const float v = bias ? scale * row[j] + bias[j] : scale * row[j];
        row[j] = v;
        mx = v > mx ? v : mx;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < m; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
    }
    return sum;
}

void ifk_f32_gather__c(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx) {
    for (int64_t j = 0; j < n; j++) dst[j] = tab[base - idx[j]];
}

/* ------------------------------------------------- depthwise convolution */

void ifk_f32_dwconv__c(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                       float *y) {
    ifk_conv2d(x, p, wt, bias, y);
}

void ifk_f32_dw3_row__c(const float *const r[3], int w, int c, const float *wt, const float *bias,
                        int act, float *y) {
    for (int X = 0; X < w; X++) {
        const int kx0 = X == 0 ? 1 : 0, kx1 = X == w - 1 ? 2 : 3;
        float *yp = y + (size_t)X * c;
        for (int j = 0; j < c; j++) {
            float acc = 0.0f;
            for (int ky = 0; ky < 3; ky++)
                if (r[ky])
                    for (int kx = kx0; kx < kx1; kx++)
                        acc += r[ky][(size_t)(X - 1 + kx) * c + j] * wt[(ky * 3 + kx) * c + j];
            yp[j] = ifk__act(acc + bias[j], act);
        }
    }
}

/* y += a0 x0 + a1 x1, rounded as written (ukernel.h) */
void ifk_f32_axpy2__c(float *y, const float *x0, float a0, const float *x1, float a1, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (y[i] + a0 * x0[i]) + a1 * x1[i];
}

/* adaptive max pooling's running max, NaN-propagating (ukernel.h) */
void ifk_f32_max_pixels__c(float *y, const float *x, int64_t npix, int64_t c) {
    for (int64_t p = 0; p < npix; p++, x += c)
        for (int64_t k = 0; k < c; k++)
            if (x[k] > y[k] || isnan(x[k])) y[k] = x[k];
}

/* ------------------------------------------------------------------ norms */

double ifk_f32_sum_d__c(const float *x, int64_t n) { return ifk__sum_d_tail(0.0, x, n); }

double ifk_f32_sumsq_d__c(const float *x, int64_t n, double mean) {
    return ifk__sumsq_d_tail(0.0, x, n, mean);
}

void ifk_f32_ln_apply__c(const float *x, int64_t n, float mhi, float mlo, float rstd,
                         const float *gamma, const float *beta, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - mhi) - mlo) * (rstd * gamma[i]) + beta[i];
}

void ifk_f32_gn_channel_sums__c(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                                const double *mk, double *cs) {
    for (int64_t p = 0; p < hw; p++) ifk__gn_sums_tail(x + (size_t)p * c + c0, mk, cs, 0, nk);
}

void ifk_f32_gn_apply__c(const float *x, float *y, int64_t hw, int64_t c, int64_t nk,
                         const float *mk, const float *lk, const float *sk, const float *bk,
                         int act) {
    for (int64_t p = 0; p < hw; p++, x += c, y += c) { /* pixel p */
        for (int64_t k = 0; k < nk; k++) y[k] = ((x[k] - mk[k]) - lk[k]) * sk[k] + bk[k];
        ifk__act_inplace(y, nk, act);
    }
}

/* ---------------------------------------------- Winograd F(4x4, 3x3) */

/* The transforms of kernels/winograd_tx.h over plain floats. */
#define WT_V          float
#define WT_N          1
#define WT_LD(p)      (*(p))
#define WT_ST(p, v)   (*(p) = (v))
#define WT_ADD(a, b)  ((a) + (b))
#define WT_SUB(a, b)  ((a) - (b))
#define WT_MULS(v, k) ((v) * (k))
#define WT_ZERO       0.0f
#define WT_IN         ifk_f32_wino_in__c
#define WT_OUT        ifk_f32_wino_out__c
#include "kernels/winograd_tx.h"
