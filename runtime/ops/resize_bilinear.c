/* RESIZE_BILINEAR (format/FORMAT.md): a map resized to the size of input 1
 * (align_corners False, PyTorch's index rule). Split over output rows. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *like = rt_in_shape(c, 1);
    if (x->rank != 3 || like->rank < 2)
        return rt_bad_shape(c, "expects a map and a size reference");
    rt_shape3(o, like->d[0], like->d[1], x->d[2]);
    *scratch = 0;
    return IF_OK;
}

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const rt_shape *sx = rt_node_in_shape(nd, 0), *so = rt_node_out_shape(nd);
    (void)scratch;
    nd->k->resize_bilinear((const float *)rt_in(nd, 0), (int)sx->d[0], (int)sx->d[1], (int)sx->d[2],
                           nd->y, (int)so->d[0], (int)so->d[1], (int)lo, (int)hi);
}

static if_status run(const rt_node *nd) {
    rt_parallel(nd, rt_node_out_shape(nd)->d[0], 4, rows, nd);
    return IF_OK;
}

const rt_op rt_op_resize_bilinear = {infer, run, NULL, NULL, NULL};
