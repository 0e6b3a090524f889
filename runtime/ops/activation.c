/* ACTIVATION (format/FORMAT.md): ReLU, GELU (erf) or Hardswish, element-wise.
 * Split in chunks of whole cache lines. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    *o = *rt_in_shape(c, 0);
    *scratch = 0;
    return IF_OK;
}

static void elements(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const float *x = (const float *)rt_in(nd, 0);
    (void)scratch;
    nd->k->activation(x + lo, hi - lo, (int)rt_attr_i(nd->n, IFG_ATTR_ACT, 0, IFK_ACT_NONE),
                      nd->y + lo);
}

static if_status run(const rt_node *nd) {
    rt_parallel_elems(nd, rt_shape_elems(rt_node_in_shape(nd, 0)), elements, nd);
    return IF_OK;
}

const rt_op rt_op_activation = {infer, run, NULL, NULL, NULL};
