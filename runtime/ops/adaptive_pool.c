/* ADAPTIVE_AVG_POOL and ADAPTIVE_MAX_POOL (format/FORMAT.md): PyTorch's
 * adaptive pooling bins, to OUT_SIZE or to the size I-MSA's POOL_LIMIT rule
 * gives. One file for the two: they share the shape rule. Split over
 * output rows. */
#include <math.h>

#include "runtime/op.h"

/* Python's round(): half to even, as the official pooled-size rule uses. */
static double round_half_even(double x) {
    double r = floor(x + 0.5);
    if (r - x == 0.5 && fmod(r, 2.0) != 0.0) r -= 1.0;
    return r;
}

/* I-MSA's pooled size of an axis of n cells under a limit. */
static int64_t limited_size(int64_t n, double limit) {
    double p = limit < (double)n ? limit : (double)n;
    double k = round_half_even((double)n / p);
    if (k < 1) k = 1;
    return (int64_t)round_half_even((double)n / k);
}

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0);
    if (x->rank != 3) return rt_bad_shape(c, "expects a (H,W,C) map");
    const ifg_attr *lim = ifg_node_attr(c->n, IFG_ATTR_POOL_LIMIT);
    int64_t oh, ow;
    if (lim) {
        if (!(lim->v.f[0] > 0) || !(lim->v.f[1] > 0))
            return rt_bad_shape(c, "POOL_LIMIT must be positive");
        oh = limited_size(x->d[0], lim->v.f[0]);
        ow = limited_size(x->d[1], lim->v.f[1]);
    } else {
        oh = rt_attr_i(c->n, IFG_ATTR_OUT_SIZE, 0, 0);
        ow = rt_attr_i(c->n, IFG_ATTR_OUT_SIZE, 1, 0);
    }
    if (oh < 1 || ow < 1) return rt_bad_shape(c, "empty pooled size");
    rt_shape3(o, oh, ow, x->d[2]);
    *scratch = 0;
    return IF_OK;
}

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const rt_shape *sx = rt_node_in_shape(nd, 0), *so = rt_node_out_shape(nd);
    (void)scratch;
    (nd->n->op == IFG_OP_ADAPTIVE_MAX_POOL ? nd->k->adaptive_max_pool : ifk_adaptive_avg_pool)(
        (const float *)rt_in(nd, 0), (int)sx->d[0], (int)sx->d[1], (int)sx->d[2], nd->y,
        (int)so->d[0], (int)so->d[1], (int)lo, (int)hi);
}

static if_status run(const rt_node *nd) {
    rt_parallel(nd, rt_node_out_shape(nd)->d[0], 2, rows, nd);
    return IF_OK;
}

const rt_op rt_op_adaptive_avg_pool = {infer, run, NULL, NULL, NULL};
const rt_op rt_op_adaptive_max_pool = {infer, run, NULL, NULL, NULL};
