/* TOKENS_TO_GRID (format/FORMAT.md): a token sequence back to the grid of
 * input 1's size, without the class token. One copy. */
#include <string.h>

#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *grid = rt_in_shape(c, 1);
    if (x->rank != 2 || grid->rank < 2 || x->d[0] != 1 + grid->d[0] * grid->d[1])
        return rt_bad_shape(c, "token count does not match the grid");
    rt_shape3(o, grid->d[0], grid->d[1], x->d[1]);
    *scratch = 0;
    return IF_OK;
}

static if_status run(const rt_node *nd) {
    const float *x = (const float *)rt_in(nd, 0);
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    memcpy(nd->y, x + sx->d[sx->rank - 1],
           (size_t)rt_shape_elems(rt_node_out_shape(nd)) * sizeof(float));
    return IF_OK;
}

const rt_op rt_op_tokens_to_grid = {infer, run, NULL, NULL, NULL};
