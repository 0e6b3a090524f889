/* norm.c -- LAYER_NORM and GROUP_NORM.
 *
 * Statistics are accumulated in double, two passes (mean, then the biased
 * variance of the deviations), so they are exact to float precision however
 * large the mean is relative to the spread. The normalisation itself is
 * float: y = ((x - mean_hi) - mean_lo) * (rstd * gamma) + beta, with the
 * double mean split into two floats so that x - mean keeps full precision
 * when the spread is tiny next to the mean (x - mean_hi is then exact). */

#include "kernels/scalar/scalar.h"

void ifk_layer_norm(const float *x, int64_t rows, int64_t c, const float *gamma, const float *beta,
                    float eps, float *y) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c;
        float *yr = y + (size_t)r * c;
        double s = 0.0;
        for (int64_t i = 0; i < c; i++) s += xr[i];
        const double mean = s / (double)c;
        double q = 0.0;
        for (int64_t i = 0; i < c; i++) {
            const double d = xr[i] - mean;
            q += d * d;
        }
        const float rstd = (float)(1.0 / sqrt(q / (double)c + (double)eps));
        const float mhi = (float)mean, mlo = (float)(mean - (double)mhi);
        for (int64_t i = 0; i < c; i++) yr[i] = ((xr[i] - mhi) - mlo) * (rstd * gamma[i]) + beta[i];
    }
}

/* GroupNorm works on chunks of whole groups spanning at most GN_CH channels
 * (or a single wider group), streaming the map once per pass per chunk with
 * GN_CH contiguous floats read per pixel: per-channel double sums, folded
 * into per-group sums. */
enum { GN_CH = 256 };

/* Per-channel sums over all pixels of channels [c0, c0+n) of either x or
 * (x - mean of the channel's group)^2, folded into gsum[group - g0]. */
static void gn_sums(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t n, int64_t cg,
                    int64_t g0, const double *gmean, double *gsum) {
    double cs[GN_CH];
    for (int64_t k0 = 0; k0 < n; k0 += GN_CH) {
        const int64_t nk = n - k0 < GN_CH ? n - k0 : (int64_t)GN_CH;
        const int64_t base = c0 + k0;
        for (int64_t k = 0; k < nk; k++) cs[k] = 0.0;
        if (!gmean) {
            for (int64_t p = 0; p < hw; p++) {
                const float *xp = x + (size_t)p * c + base;
                for (int64_t k = 0; k < nk; k++) cs[k] += xp[k];
            }
        } else {
            double mk[GN_CH];
            for (int64_t k = 0; k < nk; k++) mk[k] = gmean[(base + k) / cg - g0];
            for (int64_t p = 0; p < hw; p++) {
                const float *xp = x + (size_t)p * c + base;
                for (int64_t k = 0; k < nk; k++) {
                    const double d = xp[k] - mk[k];
                    cs[k] += d * d;
                }
            }
        }
        for (int64_t k = 0; k < nk; k++) gsum[(base + k) / cg - g0] += cs[k];
    }
}

void ifk_group_norm_moments(int64_t n, double count, float eps, const double *mean,
                            const double *sq, float *mhi, float *mlo, float *rstd) {
    for (int64_t g = 0; g < n; g++) {
        mhi[g] = (float)mean[g];
        mlo[g] = (float)(mean[g] - (double)mhi[g]);
        rstd[g] = (float)(1.0 / sqrt(sq[g] / count + (double)eps));
    }
}

void ifk_group_norm_sums(const float *x, int64_t hw, int64_t c, int groups, const double *mean,
                         double *sums) {
    gn_sums(x, hw, c, 0, c, c / groups, 0, mean, sums);
}

void ifk_group_norm_apply(const float *x, int64_t hw, int64_t c, int groups, const float *mhi,
                          const float *mlo, const float *rstd, const float *gamma,
                          const float *beta, int act, float *y) {
    const int64_t cg = c / groups;
    for (int64_t p = 0; p < hw; p++) {
        const float *xp = x + (size_t)p * c;
        float *yp = y + (size_t)p * c;
        for (int64_t k = 0; k < c; k++) {
            const int64_t g = k / cg;
            yp[k] = ((xp[k] - mhi[g]) - mlo[g]) * (rstd[g] * gamma[k]) + beta[k];
        }
        ifk__act_inplace(yp, c, act);
    }
}

void ifk_group_norm(const float *x, int64_t hw, int64_t c, int groups, const float *gamma,
                    const float *beta, float eps, int act, float *y) {
    const int64_t cg = c / groups;
    int64_t gpc = GN_CH / cg; /* groups per chunk */
    if (gpc < 1) gpc = 1;
    double gmean[GN_CH], gvar[GN_CH];
    float mhi[GN_CH], mlo[GN_CH], rstd[GN_CH];

    for (int64_t g0 = 0; g0 < groups; g0 += gpc) {
        const int64_t gn = groups - g0 < gpc ? groups - g0 : gpc;
        const int64_t c0 = g0 * cg, n = gn * cg;
        const double count = (double)hw * (double)cg;
        for (int64_t g = 0; g < gn; g++) gmean[g] = gvar[g] = 0.0;
        gn_sums(x, hw, c, c0, n, cg, g0, NULL, gmean);
        for (int64_t g = 0; g < gn; g++) gmean[g] /= count;
        gn_sums(x, hw, c, c0, n, cg, g0, gmean, gvar);
        ifk_group_norm_moments(gn, count, eps, gmean, gvar, mhi, mlo, rstd);
        /* Apply, channel sub-blocks of GN_CH with scale and shift hoisted. */
        for (int64_t k0 = 0; k0 < n; k0 += GN_CH) {
            const int64_t nk = n - k0 < GN_CH ? n - k0 : (int64_t)GN_CH;
            const int64_t base = c0 + k0;
            float mk[GN_CH], lk[GN_CH], sk[GN_CH], bk[GN_CH];
            for (int64_t k = 0; k < nk; k++) {
                const int64_t g = (base + k) / cg - g0;
                mk[k] = mhi[g];
                lk[k] = mlo[g];
                sk[k] = rstd[g] * gamma[base + k];
                bk[k] = beta[base + k];
            }
            for (int64_t p = 0; p < hw; p++) {
                const float *xp = x + (size_t)p * c + base;
                float *yp = y + (size_t)p * c + base;
                for (int64_t k = 0; k < nk; k++) yp[k] = ((xp[k] - mk[k]) - lk[k]) * sk[k] + bk[k];
                ifk__act_inplace(yp, nk, act);
            }
        }
    }
}
