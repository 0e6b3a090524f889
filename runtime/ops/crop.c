/* CROP (format/FORMAT.md): the window of a map (stride STRIDE) that the
 * zoom-in ROI selects; the whole map without a ROI. One copy. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0);
    int64_t win[4];
    if (x->rank != 3) return rt_bad_shape(c, "expects a (H,W,C) map");
    if_status s = rt_roi_window(c, rt_in_shape(c, 1) ? c->roi : NULL,
                                rt_attr_i(c->n, IFG_ATTR_STRIDE, 0, 1), x->d[0], x->d[1], win);
    if (s != IF_OK) return s;
    rt_shape3(o, win[2], win[3], x->d[2]);
    *scratch = 0;
    return IF_OK;
}

static if_status run(const rt_node *nd) {
    const int64_t s = rt_attr_i(nd->n, IFG_ATTR_STRIDE, 0, 1);
    const int32_t *roi = (const int32_t *)rt_in(nd, 1);
    const rt_shape *sx = rt_node_in_shape(nd, 0), *so = rt_node_out_shape(nd);
    ifk_crop((const float *)rt_in(nd, 0), (int)sx->d[0], (int)sx->d[1], (int)sx->d[2],
             roi ? (int)(roi[1] / s) : 0, roi ? (int)(roi[0] / s) : 0, (int)so->d[0], (int)so->d[1],
             nd->y);
    return IF_OK;
}

const rt_op rt_op_crop = {infer, run, NULL, NULL, NULL};
