/* CONCAT_TOKENS (format/FORMAT.md): token sequences (or maps read as
 * sequences) one after another. One thread: a few copies. */
#include <string.h>

#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0);
    const int64_t ch = x->d[x->rank - 1];
    int64_t sum = 0;
    for (uint32_t i = 0; i < c->n->n_in; i++) {
        const rt_shape *t = rt_in_shape(c, i);
        if ((t->rank != 2 && t->rank != 3) || t->d[t->rank - 1] != ch)
            return rt_bad_shape(c, "inputs must be tokens or maps with one channel count");
        sum += rt_shape_elems(t) / ch;
    }
    o->rank = 2;
    o->d[0] = sum;
    o->d[1] = ch;
    *scratch = 0;
    return IF_OK;
}

static if_status run(const rt_node *nd) {
    float *dst = nd->y;
    for (uint32_t k = 0; k < nd->n->n_in; k++) {
        const int64_t cnt = rt_shape_elems(rt_node_in_shape(nd, k));
        memcpy(dst, rt_in(nd, k), (size_t)cnt * sizeof(float));
        dst += cnt;
    }
    return IF_OK;
}

const rt_op rt_op_concat_tokens = {infer, run, NULL, NULL, NULL};
