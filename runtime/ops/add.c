/* ADD (format/FORMAT.md): element-wise sum of two tensors of one shape.
 * Split in chunks of whole cache lines. */
#include <string.h>

#include "runtime/op.h"

enum { CHUNK = 4096 }; /* floats */

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *y = rt_in_shape(c, 1);
    if (x->rank != y->rank || memcmp(x->d, y->d, sizeof(int64_t) * (size_t)x->rank))
        return rt_bad_shape(c, "operands differ in shape");
    *o = *x;
    *scratch = 0;
    return IF_OK;
}

typedef struct {
    const rt_node *nd;
    const float *a, *b;
    int64_t n;
} task;

static void chunks(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const task *t = arg;
    (void)scratch;
    lo *= CHUNK;
    hi = hi * CHUNK < t->n ? hi * CHUNK : t->n;
    t->nd->k->add(t->a + lo, t->b + lo, hi - lo, t->nd->y + lo);
}

static if_status run(const rt_node *nd) {
    const task t = {nd, rt_in(nd, 0), rt_in(nd, 1), rt_shape_elems(rt_node_in_shape(nd, 0))};
    rt_parallel(nd, (t.n + CHUNK - 1) / CHUNK, 4, chunks, &t);
    return IF_OK;
}

const rt_op rt_op_add = {infer, run, NULL, NULL, NULL};
