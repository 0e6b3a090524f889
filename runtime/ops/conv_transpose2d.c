/* CONV_TRANSPOSE2D (format/FORMAT.md): nn.ConvTranspose2d with kernel ==
 * stride, weights (kh, kw, Co, Ci). Split over input rows, each of which
 * makes kh output rows of its own. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const ifg_node *n = c->n;
    const rt_shape *x = rt_in_shape(c, 0), *w = rt_in_shape(c, 1), *b = rt_in_shape(c, 2);
    int64_t kh = rt_attr_i(n, IFG_ATTR_KERNEL, 0, 0), kw = rt_attr_i(n, IFG_ATTR_KERNEL, 1, 0);
    if (rt_attr_i(n, IFG_ATTR_STRIDE, 0, 0) != kh || rt_attr_i(n, IFG_ATTR_STRIDE, 1, 0) != kw)
        return rt_bad_shape(c, "only STRIDE == KERNEL is supported");
    if (x->rank != 3 || w->rank != 4 || w->d[0] != kh || w->d[1] != kw || w->d[3] != x->d[2])
        return rt_bad_shape(c, "weight (kh,kw,Co,Ci) does not match the input");
    if (b && (b->rank != 1 || b->d[0] != w->d[2])) return rt_bad_shape(c, "bias size");
    rt_shape3(o, x->d[0] * kh, x->d[1] * kw, w->d[2]);
    *scratch = ifk_conv_transpose2d_scratch_bytes((int)x->d[0], (int)x->d[1], (int)x->d[2],
                                                  (int)w->d[2], (int)kh, (int)kw);
    return IF_OK;
}

typedef struct {
    const rt_node *nd;
    const float *x, *w, *b;
    int w_in, cin, cout, kh, kw;
} task;

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const task *t = (const task *)arg;
    t->nd->k->conv_transpose2d(t->x + lo * t->w_in * t->cin, (int)(hi - lo), t->w_in, t->cin, t->w,
                               t->b, t->cout, t->kh, t->kw,
                               t->nd->y + lo * t->kh * t->w_in * t->kw * t->cout, scratch);
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    const task t = {nd,
                    (const float *)rt_in(nd, 0),
                    (const float *)rt_in(nd, 1),
                    (const float *)rt_in(nd, 2),
                    (int)sx->d[1],
                    (int)sx->d[2],
                    (int)rt_node_out_shape(nd)->d[2],
                    (int)rt_attr_i(nd->n, IFG_ATTR_KERNEL, 0, 1),
                    (int)rt_attr_i(nd->n, IFG_ATTR_KERNEL, 1, 1)};
    rt_parallel(nd, sx->d[0], 2, rows, &t);
    return IF_OK;
}

static double flops(const ifg_node *n, const rt_shape *shape) {
    const rt_shape *x = &shape[n->in[0]];
    return 2.0 * (double)rt_shape_elems(&shape[n->out[0]]) * (double)x->d[x->rank - 1];
}

const rt_op rt_op_conv_transpose2d = {infer, run, flops, NULL, NULL};
