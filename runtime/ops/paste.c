/* PASTE (format/FORMAT.md): a map with its ROI window replaced by a patch
 * (the zoom-in's refined part); the patch is the whole map without a ROI.
 * One copy and a paste. */
#include <string.h>

#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *patch = rt_in_shape(c, 1);
    int64_t win[4];
    if (x->rank != 3) return rt_bad_shape(c, "expects a (H,W,C) map");
    if_status s = rt_roi_window(c, rt_in_shape(c, 2) ? c->roi : NULL,
                                rt_attr_i(c->n, IFG_ATTR_STRIDE, 0, 1), x->d[0], x->d[1], win);
    if (s != IF_OK) return s;
    if (patch->rank != 3 || patch->d[0] != win[2] || patch->d[1] != win[3] ||
        patch->d[2] != x->d[2])
        return rt_bad_shape(c, "patch does not match the ROI window");
    *o = *x;
    *scratch = 0;
    return IF_OK;
}

static if_status run(const rt_node *nd) {
    const int64_t s = rt_attr_i(nd->n, IFG_ATTR_STRIDE, 0, 1);
    const int32_t *roi = (const int32_t *)rt_in(nd, 2);
    const rt_shape *sx = rt_node_in_shape(nd, 0), *sp = rt_node_in_shape(nd, 1);
    memcpy(nd->y, rt_in(nd, 0), (size_t)rt_shape_elems(sx) * sizeof(float));
    ifk_paste(nd->y, (int)sx->d[0], (int)sx->d[1], (int)sx->d[2], roi ? (int)(roi[1] / s) : 0,
              roi ? (int)(roi[0] / s) : 0, (int)sp->d[0], (int)sp->d[1],
              (const float *)rt_in(nd, 1));
    return IF_OK;
}

const rt_op rt_op_paste = {infer, run, NULL, NULL, NULL};
