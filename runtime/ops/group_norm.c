/* GROUP_NORM (format/FORMAT.md): GroupNorm of an (H,W,C) map, affine, fused
 * activation.
 *
 * Threads share one map in three passes over chunks of GN_PIXELS pixels:
 * per-chunk sums, added here in chunk order; the same for the squared
 * deviations from the mean; then the normalisation. The chunk size is
 * fixed so that the result does not depend on the thread count. The
 * scratch (thread 0's slice) holds the per-chunk sums and the moments. */
#include "runtime/op.h"

enum { GN_PIXELS = 1024 };

static size_t scratch_bytes(int64_t hw, int64_t groups) {
    const int64_t chunks = (hw + GN_PIXELS - 1) / GN_PIXELS;
    return (size_t)(2 * groups + chunks * groups + 1) * sizeof(double) +
           (size_t)(3 * groups + 1) * sizeof(float);
}

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *w = rt_in_shape(c, 1), *b = rt_in_shape(c, 2);
    const int64_t ch = x->d[x->rank - 1], g = rt_attr_i(c->n, IFG_ATTR_GROUPS, 0, 1);
    if (w->rank != 1 || b->rank != 1 || w->d[0] != ch || b->d[0] != ch)
        return rt_bad_shape(c, "affine parameters do not match channels");
    if (x->rank != 3 || g < 1 || ch % g)
        return rt_bad_shape(c, "expects (H,W,C) with C divisible by GROUPS");
    *o = *x;
    *scratch = scratch_bytes(x->d[0] * x->d[1], g);
    return IF_OK;
}

typedef struct {
    const rt_node *nd;
    const float *x, *gamma, *beta;
    int64_t hw, c;
    int groups, act, phase; /* phase 0: sums, 1: squared deviations, 2: normalise */
    double *part;           /* per-chunk sums, chunks x groups */
    const double *mean;
    const float *mhi, *mlo, *rstd;
} task;

static void chunks(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const task *t = (const task *)arg;
    (void)scratch;
    for (int64_t ch = lo; ch < hi; ch++) {
        const int64_t p0 = ch * GN_PIXELS,
                      np = t->hw - p0 < GN_PIXELS ? t->hw - p0 : (int64_t)GN_PIXELS;
        if (t->phase < 2) {
            double *sums = t->part + ch * t->groups;
            for (int g = 0; g < t->groups; g++) sums[g] = 0.0;
            t->nd->k->group_norm_sums(t->x + p0 * t->c, np, t->c, t->groups,
                                      t->phase ? t->mean : NULL, sums);
        } else {
            t->nd->k->group_norm_apply(t->x + p0 * t->c, np, t->c, t->groups, t->mhi, t->mlo,
                                       t->rstd, t->gamma, t->beta, t->act, t->nd->y + p0 * t->c);
        }
    }
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    const int groups = (int)rt_attr_i(nd->n, IFG_ATTR_GROUPS, 0, 1);
    const int64_t hw = sx->d[0] * sx->d[1], c = sx->d[2];
    const int64_t n_chunks = (hw + GN_PIXELS - 1) / GN_PIXELS;
    double *mean = (double *)nd->scratch, *sq = mean + groups;
    float *mhi = (float *)(sq + groups), *mlo = mhi + groups, *rstd = mlo + groups;
    task t = {nd, (const float *)rt_in(nd, 0), (const float *)rt_in(nd, 1),
              (const float *)rt_in(nd, 2), hw, c, groups,
              (int)rt_attr_i(nd->n, IFG_ATTR_ACT, 0, IFK_ACT_NONE), 0,
              /* 8-byte aligned after 3*groups floats */
              (double *)(rstd + groups + (groups & 1)), mean, mhi, mlo, rstd};
    const double count = (double)hw * (double)(c / groups);
    for (t.phase = 0; t.phase < 2; t.phase++) {
        rt_parallel(nd, n_chunks, 1, chunks, &t);
        double *acc = t.phase ? sq : mean;
        for (int g = 0; g < groups; g++) acc[g] = 0.0;
        for (int64_t ch = 0; ch < n_chunks; ch++)
            for (int g = 0; g < groups; g++) acc[g] += t.part[ch * groups + g];
        if (!t.phase)
            for (int g = 0; g < groups; g++) mean[g] /= count;
    }
    ifk_group_norm_moments(groups, count, (float)rt_attr_f(nd->n, IFG_ATTR_EPS, 1e-5), mean, sq,
                           mhi, mlo, rstd);
    rt_parallel(nd, n_chunks, 1, chunks, &t); /* phase 2 */
    return IF_OK;
}

const rt_op rt_op_group_norm = {infer, run, NULL, NULL, NULL};
