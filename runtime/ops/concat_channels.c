/* CONCAT_CHANNELS (format/FORMAT.md): maps of one size side by side along
 * the channels. Split over pixels. */
#include <string.h>

#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0);
    int64_t sum = 0;
    for (uint32_t i = 0; i < c->n->n_in; i++) {
        const rt_shape *t = rt_in_shape(c, i);
        if (t->rank != 3 || t->d[0] != x->d[0] || t->d[1] != x->d[1])
            return rt_bad_shape(c, "inputs must be (H,W,C) maps of one size");
        sum += t->d[2];
    }
    rt_shape3(o, x->d[0], x->d[1], sum);
    *scratch = 0;
    return IF_OK;
}

static void pixels(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    (void)scratch;
    const int64_t c = rt_node_out_shape(nd)->d[2];
    int64_t off = 0;
    for (uint32_t k = 0; k < nd->n->n_in; k++) {
        const float *src = (const float *)rt_in(nd, k);
        const int64_t ck = rt_node_in_shape(nd, k)->d[2];
        for (int64_t i = lo; i < hi; i++)
            memcpy(nd->y + i * c + off, src + i * ck, (size_t)ck * sizeof(float));
        off += ck;
    }
}

static if_status run(const rt_node *nd) {
    const rt_shape *so = rt_node_out_shape(nd);
    rt_parallel(nd, so->d[0] * so->d[1], 256, pixels, nd);
    return IF_OK;
}

const rt_op rt_op_concat_channels = {infer, run, NULL, NULL, NULL};
