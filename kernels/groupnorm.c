/* groupnorm.c -- GroupNorm over an instruction set's vector loops, whole or in
 * pieces (semantics: kernels.h, ifk_group_norm*).
 *
 * An instruction set provides four loops (ifk_isa: sum_d, sumsq_d,
 * gn_channel_sums, gn_apply; e.g. ifk_f32_gn_apply__avx2 in
 * kernels/x86/vec_avx2.c); the chunking over groups and channels is
 * here, once. The pieces (sums over a range of pixels, the normalisation
 * of a range of pixels) let the runtime split one map across threads: it
 * adds the per-range sums itself, in a fixed order. */

#include "kernels/drivers.h"

enum { GN_CH = 256 }; /* channels per block: the per-channel sums stay in L1 */

/* Sums over hw pixels of channels [c0, c0 + n) (whole groups of cg), into
 * gsum[g] for the groups from c0's on: of x, or of (x - gmean[g])^2. */
static void sums_range(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int64_t c0,
                       int64_t n, int64_t cg, const double *gmean, double *gsum) {
    if (n == c && cg == c) { /* one group over the whole map: a flat stream */
        gsum[0] += gmean ? isa->sumsq_d(x, hw * c, gmean[0]) : isa->sum_d(x, hw * c);
        return;
    }
    double cs[GN_CH], mk[GN_CH];
    for (int64_t k0 = 0; k0 < n; k0 += GN_CH) {
        const int64_t nk = n - k0 < GN_CH ? n - k0 : (int64_t)GN_CH;
        for (int64_t k = 0; k < nk; k++) {
            cs[k] = 0.0;
            mk[k] = gmean ? gmean[(k0 + k) / cg] : 0.0;
        }
        isa->gn_channel_sums(x, hw, c, c0 + k0, nk, gmean ? mk : NULL, cs);
        for (int64_t k = 0; k < nk; k++) gsum[(k0 + k) / cg] += cs[k];
    }
}

/* The normalisation of channels [c0, c0 + n), group statistics indexed
 * from c0's group. */
static void apply_range(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int64_t c0,
                        int64_t n, int64_t cg, const float *mhi, const float *mlo,
                        const float *rstd, const float *gamma, const float *beta, int act,
                        float *y) {
    float mk[GN_CH], lk[GN_CH], sk[GN_CH], bk[GN_CH];
    for (int64_t k0 = 0; k0 < n; k0 += GN_CH) {
        const int64_t nk = n - k0 < GN_CH ? n - k0 : (int64_t)GN_CH, base = c0 + k0;
        for (int64_t k = 0; k < nk; k++) {
            const int64_t g = (k0 + k) / cg;
            mk[k] = mhi[g];
            lk[k] = mlo[g];
            sk[k] = rstd[g] * gamma[base + k];
            bk[k] = beta[base + k];
        }
        isa->gn_apply(x + base, y + base, hw, c, nk, mk, lk, sk, bk, act);
    }
}

void ifk__group_norm_sums(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                          const double *mean, double *sums) {
    sums_range(isa, x, hw, c, 0, c, c / groups, mean, sums);
}

void ifk__group_norm_apply(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                           const float *mhi, const float *mlo, const float *rstd,
                           const float *gamma, const float *beta, int act, float *y) {
    apply_range(isa, x, hw, c, 0, c, c / groups, mhi, mlo, rstd, gamma, beta, act, y);
}

/* Whole map: blocks of whole groups spanning at most GN_CH channels (or one
 * wider group), two passes of sums, then the normalisation. */
void ifk__group_norm(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                     const float *gamma, const float *beta, float eps, int act, float *y) {
    const int64_t cg = c / groups;
    const double count = (double)hw * (double)cg;
    int64_t gpc = GN_CH / cg; /* groups per block */
    if (gpc < 1) gpc = 1;
    for (int64_t g0 = 0; g0 < groups; g0 += gpc) {
        const int64_t gn = groups - g0 < gpc ? groups - g0 : gpc;
        const int64_t c0 = g0 * cg, n = gn * cg;
        double mean[GN_CH], sq[GN_CH];
        float mhi[GN_CH], mlo[GN_CH], rstd[GN_CH];
        for (int64_t g = 0; g < gn; g++) mean[g] = sq[g] = 0.0;
        sums_range(isa, x, hw, c, c0, n, cg, NULL, mean);
        for (int64_t g = 0; g < gn; g++) mean[g] /= count;
        sums_range(isa, x, hw, c, c0, n, cg, mean, sq);
        ifk_group_norm_moments(gn, count, eps, mean, sq, mhi, mlo, rstd);
        apply_range(isa, x, hw, c, c0, n, cg, mhi, mlo, rstd, gamma, beta, act, y);
    }
}
