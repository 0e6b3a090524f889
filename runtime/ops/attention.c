/* ATTENTION (format/FORMAT.md): multi-head attention of queries over a
 * key/value sequence (keys in the first C columns, values in the last C).
 * Split over queries. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *kv = rt_in_shape(c, 1);
    const int64_t ch = x->d[x->rank - 1], heads = rt_attr_i(c->n, IFG_ATTR_HEADS, 0, 1);
    if ((x->rank != 2 && x->rank != 3) || kv->rank != 2 || kv->d[1] != 2 * ch || ch % heads)
        return rt_bad_shape(c, "expects q (...,C) and kv (M,2C) with C divisible by HEADS");
    *o = *x;
    *scratch = ifk_attention_scratch_bytes(rt_shape_elems(x) / ch, kv->d[0], (int)ch, (int)heads);
    return IF_OK;
}

static void queries(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    const int c = (int)sx->d[sx->rank - 1];
    const float *q = (const float *)rt_in(nd, 0);
    nd->k->attention(q + lo * c, hi - lo, (const float *)rt_in(nd, 1),
                     rt_node_in_shape(nd, 1)->d[0], c, (int)rt_attr_i(nd->n, IFG_ATTR_HEADS, 0, 1),
                     (float)rt_attr_f(nd->n, IFG_ATTR_SCALE, 1.0), nd->y + lo * c, scratch);
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    rt_parallel(nd, rt_shape_elems(sx) / sx->d[sx->rank - 1], 16, queries, nd);
    return IF_OK;
}

/* Two products of nq x m x c: q k^T and p v. */
static double flops(const ifg_node *n, const rt_shape *shape) {
    return 4.0 * (double)rt_shape_elems(&shape[n->in[0]]) * (double)shape[n->in[1]].d[0];
}

const rt_op rt_op_attention = {infer, run, flops, NULL, NULL};
