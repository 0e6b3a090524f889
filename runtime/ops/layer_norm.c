/* LAYER_NORM (format/FORMAT.md): over the last dimension, biased variance,
 * affine. Split over rows. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *w = rt_in_shape(c, 1), *b = rt_in_shape(c, 2);
    const int64_t ch = x->d[x->rank - 1];
    if (w->rank != 1 || b->rank != 1 || w->d[0] != ch || b->d[0] != ch)
        return rt_bad_shape(c, "affine parameters do not match channels");
    *o = *x;
    *scratch = 0;
    return IF_OK;
}

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    const int64_t c = sx->d[sx->rank - 1];
    const float *x = (const float *)rt_in(nd, 0);
    (void)scratch;
    nd->k->layer_norm(x + lo * c, hi - lo, c, (const float *)rt_in(nd, 1),
                      (const float *)rt_in(nd, 2), (float)rt_attr_f(nd->n, IFG_ATTR_EPS, 1e-5),
                      nd->y + lo * c);
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    rt_parallel(nd, rt_shape_elems(sx) / sx->d[sx->rank - 1], 64, rows, nd);
    return IF_OK;
}

const rt_op rt_op_layer_norm = {infer, run, NULL, NULL, NULL};
