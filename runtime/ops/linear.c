/* LINEAR (format/FORMAT.md): nn.Linear over the last dimension, optional
 * bias, fused activation. Split over rows. The weight may be IEEE half
 * (an f16 file's, kept f16 by runtime/model.c): then the kernels widen it
 * while packing, with the results of the widened weight. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *w = rt_in_shape(c, 1), *b = rt_in_shape(c, 2);
    if (w->rank != 2 || x->d[x->rank - 1] != w->d[1])
        return rt_bad_shape(c, "weight (N,K) does not match input");
    if (b && (b->rank != 1 || b->d[0] != w->d[0])) return rt_bad_shape(c, "bias size");
    *o = *x;
    o->d[o->rank - 1] = w->d[0];
    *scratch = ifk_linear_scratch_bytes(rt_shape_elems(x) / w->d[1], w->d[1], w->d[0]);
    return IF_OK;
}

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const rt_shape *sx = rt_node_in_shape(nd, 0), *so = rt_node_out_shape(nd);
    const int64_t k = sx->d[sx->rank - 1], n = so->d[so->rank - 1];
    const float *x = (const float *)rt_in(nd, 0), *bias = (const float *)rt_in(nd, 2);
    const int act = (int)rt_attr_i(nd->n, IFG_ATTR_ACT, 0, IFK_ACT_NONE);
    if (nd->in_f16 & 2u)
        nd->k->linear_f16(x + lo * k, hi - lo, k, (const uint16_t *)rt_in(nd, 1), bias, n, act,
                          nd->y + lo * n, scratch);
    else
        nd->k->linear(x + lo * k, hi - lo, k, (const float *)rt_in(nd, 1), bias, n, act,
                      nd->y + lo * n, scratch);
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    rt_parallel(nd, rt_shape_elems(sx) / sx->d[sx->rank - 1], 32, rows, nd);
    return IF_OK;
}

static double flops(const ifg_node *n, const rt_shape *shape) {
    const rt_shape *x = &shape[n->in[0]];
    return 2.0 * (double)rt_shape_elems(&shape[n->out[0]]) * (double)x->d[x->rank - 1];
}

const rt_op rt_op_linear = {infer, run, flops, NULL, NULL};
