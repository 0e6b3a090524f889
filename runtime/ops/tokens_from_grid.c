/* TOKENS_FROM_GRID (format/FORMAT.md): a ViT grid to its token sequence:
 * the class token first, the position table (native WINDOW grid, nearest
 * cells at other sizes) added. One thread: a single pass of adds. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *cls = rt_in_shape(c, 1), *pos = rt_in_shape(c, 2);
    const int64_t gh = rt_attr_i(c->n, IFG_ATTR_WINDOW, 0, 0);
    const int64_t gw = rt_attr_i(c->n, IFG_ATTR_WINDOW, 1, 0);
    if (x->rank != 3 || cls->rank != 2 || cls->d[0] != 1 || cls->d[1] != x->d[2] ||
        pos->rank != 2 || pos->d[0] != 1 + gh * gw || pos->d[1] != x->d[2])
        return rt_bad_shape(c, "grid, class token and position table do not match");
    o->rank = 2;
    o->d[0] = 1 + x->d[0] * x->d[1];
    o->d[1] = x->d[2];
    *scratch = 0;
    return IF_OK;
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    ifk_tokens_from_grid((const float *)rt_in(nd, 0), (int)sx->d[0], (int)sx->d[1], (int)sx->d[2],
                         (const float *)rt_in(nd, 1), (const float *)rt_in(nd, 2),
                         (int)rt_attr_i(nd->n, IFG_ATTR_WINDOW, 0, 1),
                         (int)rt_attr_i(nd->n, IFG_ATTR_WINDOW, 1, 1), nd->y);
    return IF_OK;
}

const rt_op rt_op_tokens_from_grid = {infer, run, NULL, NULL, NULL};
