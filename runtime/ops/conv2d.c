/* CONV2D (format/FORMAT.md): nn.Conv2d on a channels-last map, OHWI
 * weights, optional bias, fused activation. Split over output rows; the
 * kernels choose the method (Winograd, implicit GEMM, depthwise) and may
 * want the weights prepared once per executor. */
#include "runtime/op.h"

/* The kernel parameters for input shape x and cout output channels (all
 * output rows). The attributes are required (the reader checks), so the
 * defaults are never used. */
static ifk_conv_params conv_params(const ifg_node *n, const rt_shape *x, int64_t cout) {
    ifk_conv_params p = IF_ZERO_INIT; /* oy0 = oy1 = 0: all output rows */
    p.h = (int)x->d[0];
    p.w = (int)x->d[1];
    p.cin = (int)x->d[2];
    p.cout = (int)cout;
    p.kh = (int)rt_attr_i(n, IFG_ATTR_KERNEL, 0, 1);
    p.kw = (int)rt_attr_i(n, IFG_ATTR_KERNEL, 1, 1);
    p.sh = (int)rt_attr_i(n, IFG_ATTR_STRIDE, 0, 1);
    p.sw = (int)rt_attr_i(n, IFG_ATTR_STRIDE, 1, 1);
    p.pt = (int)rt_attr_i(n, IFG_ATTR_PAD, 0, 0);
    p.pl = (int)rt_attr_i(n, IFG_ATTR_PAD, 1, 0);
    p.pb = (int)rt_attr_i(n, IFG_ATTR_PAD, 2, 0);
    p.pr = (int)rt_attr_i(n, IFG_ATTR_PAD, 3, 0);
    p.groups = (int)rt_attr_i(n, IFG_ATTR_GROUPS, 0, 1);
    p.act = (int)rt_attr_i(n, IFG_ATTR_ACT, 0, IFK_ACT_NONE);
    return p;
}

/* The same for a node's current shapes (op.h). */
ifk_conv_params rt_conv2d_params(const ifg_node *n, const rt_shape *shape) {
    return conv_params(n, &shape[n->in[0]], shape[n->out[0]].d[2]);
}

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *w = rt_in_shape(c, 1), *b = rt_in_shape(c, 2);
    if (x->rank != 3 || w->rank != 4)
        return rt_bad_shape(c, "expects a (H,W,C) input and OHWI weight");
    const ifk_conv_params p = conv_params(c->n, x, w->d[0]);
    if (w->d[1] != p.kh || w->d[2] != p.kw) return rt_bad_shape(c, "weight does not match KERNEL");
    if (x->d[2] % p.groups || w->d[0] % p.groups || w->d[3] != x->d[2] / p.groups)
        return rt_bad_shape(c, "channels do not match the weight and GROUPS");
    if (b && (b->rank != 1 || b->d[0] != w->d[0])) return rt_bad_shape(c, "bias size");
    if (x->d[0] + p.pt + p.pb < p.kh || x->d[1] + p.pl + p.pr < p.kw)
        return rt_bad_shape(c, "input smaller than kernel");
    rt_shape3(o, (x->d[0] + p.pt + p.pb - p.kh) / p.sh + 1,
              (x->d[1] + p.pl + p.pr - p.kw) / p.sw + 1, w->d[0]);
    *scratch = ifk_conv2d_scratch_bytes(&p);
    return IF_OK;
}

typedef struct {
    const rt_node *nd;
    ifk_conv_params cp;
    const float *x, *w, *b;
} task;

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const task *t = (const task *)arg;
    ifk_conv_params cp = t->cp;
    const int64_t ho = t->nd->shape[t->nd->n->out[0]].d[0];
    cp.oy0 = (int)(lo * RT_CONV_ROW_BLOCK);
    cp.oy1 = (int)(hi * RT_CONV_ROW_BLOCK < ho ? hi * RT_CONV_ROW_BLOCK : ho);
    t->nd->k->conv2d(t->x, &cp, t->w, t->nd->prep, t->b, t->nd->y, scratch);
}

static if_status run(const rt_node *nd) {
    const task t = {nd, rt_conv2d_params(nd->n, nd->shape), (const float *)rt_in(nd, 0),
                    (const float *)rt_in(nd, 1), (const float *)rt_in(nd, 2)};
    rt_parallel(nd, (rt_node_out_shape(nd)->d[0] + RT_CONV_ROW_BLOCK - 1) / RT_CONV_ROW_BLOCK, 1,
                rows, &t);
    return IF_OK;
}

static double flops(const ifg_node *n, const rt_shape *shape) {
    const rt_shape *w = &shape[n->in[1]];
    return 2.0 * (double)rt_shape_elems(&shape[n->out[0]]) * (double)(w->d[1] * w->d[2] * w->d[3]);
}

/* Constant weights only: a weight computed by the graph changes per run. */
static size_t prep_bytes(const rt_model *m, const ifg_node *n, const rt_shape *shape,
                         const ifk_ops *k) {
    if (!m->weights[n->in[1]]) return 0;
    const ifk_conv_params cp = rt_conv2d_params(n, shape);
    return k->conv2d_prep_bytes(&cp);
}

static void prep(const rt_model *m, const ifg_node *n, const rt_shape *shape, const ifk_ops *k,
                 void *dst) {
    const ifk_conv_params cp = rt_conv2d_params(n, shape);
    k->conv2d_prep(&cp, (const float *)m->weights[n->in[1]], dst); /* f32: model.c */
}

const rt_op rt_op_conv2d = {infer, run, flops, prep_bytes, prep};
