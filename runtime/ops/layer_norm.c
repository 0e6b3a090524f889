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

typedef struct {
    const rt_node *nd;
    const float *x, *gamma, *beta;
    int64_t c;
    float eps;
} task;

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const task *t = arg;
    (void)scratch;
    t->nd->k->layer_norm(t->x + lo * t->c, hi - lo, t->c, t->gamma, t->beta, t->eps,
                         t->nd->y + lo * t->c);
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    const int64_t c = sx->d[sx->rank - 1];
    const task t = {nd,
                    rt_in(nd, 0),
                    rt_in(nd, 1),
                    rt_in(nd, 2),
                    c,
                    (float)rt_attr_f(nd->n, IFG_ATTR_EPS, 1e-5)};
    rt_parallel(nd, rt_shape_elems(sx) / c, 64, rows, &t);
    return IF_OK;
}

const rt_op rt_op_layer_norm = {infer, run, NULL, NULL, NULL};
