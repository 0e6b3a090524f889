/* shape.c -- the shapes of every tensor for an image size (and ROI).
 *
 * Declared dimensions of inputs and constants are evaluated here; each
 * node's output comes from its op's shape rule (runtime/ops/, through
 * rt_op_table), which also validates the operands. This is where a graph
 * that parsed fine but does not fit the image size (or is inconsistent) is
 * rejected, with the node's name in the message. */
#include <string.h>

#include "runtime/op.h"
#include "runtime/runtime.h"

/* Dimensions are bounded so that element counts of any tensor fit easily in
 * int64 and indices of a single axis fit in int. */
#define RT_MAX_DIM   (1 << 24)
#define RT_MAX_ELEMS ((int64_t)1 << 34)

/* The op's shape rule (runtime/ops/), then the limits every tensor keeps. */
static if_status infer_node(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_op *op = rt_op_of(c->n->op);
    *scratch = 0;
    memset(o, 0, sizeof *o);
    if (!op)
        return rt_fail(c->err, c->cap, IF_ERR_BAD_OP, "node '%.*s': op %u not supported",
                       (int)c->n->name_len, c->n->name, c->n->op);
    if_status s = op->infer(c, o, scratch);
    if (s != IF_OK) return s;
    for (int i = 0; i < o->rank; i++)
        if (o->d[i] < 1 || o->d[i] > RT_MAX_DIM)
            return rt_bad_shape(c, "output dimension out of range");
    if (rt_shape_elems(o) > RT_MAX_ELEMS) return rt_bad_shape(c, "output too large");
    return IF_OK;
}

/* Evaluates a declared dimension for an H x W image; -1 when ANY. */
static int64_t eval_dim(const ifg_dim *d, int H, int W) {
    int64_t s;
    switch (d->sym) {
    case IFG_SYM_ONE: s = 1; break;
    case IFG_SYM_H: s = H; break;
    case IFG_SYM_W: s = W; break;
    default: return -1;
    }
    int64_t v = (int64_t)d->mul * s;
    if (d->div <= 0 || v % d->div) return -2;
    return v / d->div;
}

if_status rt_infer_shapes(const rt_model *m, int H, int W, const int32_t *roi, rt_shape *shape,
                          size_t *scratch_bytes, char *err, size_t cap) {
    const ifg_graph *g = &m->g;
    /* Constants and graph inputs come from their declarations. */
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const ifg_tensor *t = &g->tensors[i];
        shape[i].rank = (int)t->rank;
        for (uint32_t k = 0; k < t->rank; k++) {
            int64_t v = eval_dim(&t->dims[k], H, W);
            if (v == -2)
                return rt_fail(err, cap, IF_ERR_BAD_SHAPE,
                               "tensor '%.*s': dimension %u is not an integer for a %dx%d image",
                               (int)t->name_len, t->name, k, H, W);
            shape[i].d[k] = v;
        }
    }
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const rt_shape *s = &shape[g->inputs[i].tensor];
        const ifg_tensor *t = &g->tensors[g->inputs[i].tensor];
        int64_t elems = 1;
        for (int k = 0; k < s->rank; k++) {
            if (s->d[k] < 1)
                return rt_fail(err, cap, IF_ERR_BAD_SHAPE, "input '%.*s' has an empty dimension",
                               (int)t->name_len, t->name);
            /* A declared size is bounded only by the file's 32-bit fields:
             * the limits of computed tensors apply, checked before the
             * dimensions multiply (four of them can overflow int64_t). */
            if (s->d[k] > RT_MAX_DIM || elems > RT_MAX_ELEMS / s->d[k])
                return rt_fail(err, cap, IF_ERR_BAD_SHAPE,
                               "input '%.*s' is too large for a %dx%d image", (int)t->name_len,
                               t->name, H, W);
            elems *= s->d[k];
        }
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const rt_infer_ctx c = {m, &g->nodes[i], shape, roi, err, cap};
        rt_shape o;
        size_t sb;
        if_status s = infer_node(&c, &o, &sb);
        if (s != IF_OK) return s;
        if (scratch_bytes) scratch_bytes[i] = sb;
        uint32_t tid = g->nodes[i].out[0];
        const ifg_tensor *t = &g->tensors[tid];
        /* Declared dimensions are checks, for the whole-image case (a ROI
         * legitimately shrinks the refined windows). */
        if (!roi) {
            if ((int)t->rank != o.rank)
                return rt_bad_shape(&c, "inferred rank differs from the declared one");
            for (int k = 0; k < o.rank; k++)
                if (shape[tid].d[k] >= 0 && shape[tid].d[k] != o.d[k])
                    return rt_fail(err, cap, IF_ERR_BAD_SHAPE,
                                   "tensor '%.*s': dimension %d is %lld, declared %lld",
                                   (int)t->name_len, t->name, k, (long long)o.d[k],
                                   (long long)shape[tid].d[k]);
        }
        shape[tid] = o;
    }
    return IF_OK;
}
