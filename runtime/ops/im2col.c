/* IM2COL (format/FORMAT.md): nn.Unfold in channels-last form. Split over
 * output rows. */
#include "runtime/op.h"

typedef struct {
    int64_t kh, kw, sh, sw, pt, pl, pb, pr;
} window;

static window window_of(const ifg_node *n) {
    const window w = {rt_attr_i(n, IFG_ATTR_KERNEL, 0, 0), rt_attr_i(n, IFG_ATTR_KERNEL, 1, 0),
                      rt_attr_i(n, IFG_ATTR_STRIDE, 0, 1), rt_attr_i(n, IFG_ATTR_STRIDE, 1, 1),
                      rt_attr_i(n, IFG_ATTR_PAD, 0, 0),    rt_attr_i(n, IFG_ATTR_PAD, 1, 0),
                      rt_attr_i(n, IFG_ATTR_PAD, 2, 0),    rt_attr_i(n, IFG_ATTR_PAD, 3, 0)};
    return w;
}

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0);
    const window k = window_of(c->n);
    if (x->rank != 3) return rt_bad_shape(c, "expects a (H,W,C) map");
    if (x->d[0] + k.pt + k.pb < k.kh || x->d[1] + k.pl + k.pr < k.kw)
        return rt_bad_shape(c, "input smaller than kernel");
    rt_shape3(o, (x->d[0] + k.pt + k.pb - k.kh) / k.sh + 1,
              (x->d[1] + k.pl + k.pr - k.kw) / k.sw + 1, x->d[2] * k.kh * k.kw);
    *scratch = 0;
    return IF_OK;
}

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const rt_shape *sx = rt_node_in_shape(nd, 0);
    const window k = window_of(nd->n);
    (void)scratch;
    ifk_im2col((const float *)rt_in(nd, 0), (int)sx->d[0], (int)sx->d[1], (int)sx->d[2], (int)k.kh,
               (int)k.kw, (int)k.sh, (int)k.sw, (int)k.pt, (int)k.pl, (int)k.pb, (int)k.pr, nd->y,
               (int)lo, (int)hi);
}

static if_status run(const rt_node *nd) {
    rt_parallel(nd, rt_node_out_shape(nd)->d[0], 2, rows, nd);
    return IF_OK;
}

const rt_op rt_op_im2col = {infer, run, NULL, NULL, NULL};
