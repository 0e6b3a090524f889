/* ACTIVATION (format/FORMAT.md): ReLU, GELU (erf) or Hardswish, element-wise.
 * Split in chunks of whole cache lines. */
#include "runtime/op.h"

enum { CHUNK = 4096 }; /* floats */

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    *o = *rt_in_shape(c, 0);
    *scratch = 0;
    return IF_OK;
}

typedef struct {
    const rt_node *nd;
    const float *x;
    int64_t n;
    int act;
} task;

static void chunks(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const task *t = arg;
    (void)scratch;
    lo *= CHUNK;
    hi = hi * CHUNK < t->n ? hi * CHUNK : t->n;
    t->nd->k->activation(t->x + lo, hi - lo, t->act, t->nd->y + lo);
}

static if_status run(const rt_node *nd) {
    const task t = {nd, rt_in(nd, 0), rt_shape_elems(rt_node_in_shape(nd, 0)),
                    (int)rt_attr_i(nd->n, IFG_ATTR_ACT, 0, IFK_ACT_NONE)};
    rt_parallel(nd, (t.n + CHUNK - 1) / CHUNK, 4, chunks, &t);
    return IF_OK;
}

const rt_op rt_op_activation = {infer, run, NULL, NULL, NULL};
