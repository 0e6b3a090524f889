/* REF_EMBED (format/FORMAT.md): the embedding of a reference label map
 * (table rows by label), bilinearly resized to input 2's size without the
 * full-size map. The labels are the caller's data: checked here, per run.
 * Split over output rows. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *tab = rt_in_shape(c, 1), *like = rt_in_shape(c, 2);
    if (x->rank != 2 || tab->rank != 2 || like->rank < 2)
        return rt_bad_shape(c, "expects (H,W) labels and a (K,C) table");
    rt_shape3(o, like->d[0], like->d[1], tab->d[1]);
    *scratch = 0;
    return IF_OK;
}

static void rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const rt_node *nd = (const rt_node *)arg;
    const rt_shape *sx = rt_node_in_shape(nd, 0), *tab = rt_node_in_shape(nd, 1);
    const rt_shape *so = rt_node_out_shape(nd);
    (void)scratch;
    ifk_ref_embed((const uint8_t *)rt_in(nd, 0), (int)sx->d[0], (int)sx->d[1],
                  (const float *)rt_in(nd, 1), (int)tab->d[0], (int)tab->d[1], nd->y, (int)so->d[0],
                  (int)so->d[1], (int)lo, (int)hi);
}

static if_status run(const rt_node *nd) {
    const uint8_t *lab = (const uint8_t *)rt_in(nd, 0);
    const rt_shape *sx = rt_node_in_shape(nd, 0), *tab = rt_node_in_shape(nd, 1);
    const int64_t hw = sx->d[0] * sx->d[1];
    for (int64_t i = 0; i < hw; i++)
        if (lab[i] >= tab->d[0])
            return rt_run_fail(nd, IF_ERR_INVALID_ARG,
                               "reference label %u at pixel (%lld, %lld) is not below %lld", lab[i],
                               (long long)(i / sx->d[1]), (long long)(i % sx->d[1]),
                               (long long)tab->d[0]);
    rt_parallel(nd, rt_node_out_shape(nd)->d[0], 2, rows, nd);
    return IF_OK;
}

const rt_op rt_op_ref_embed = {infer, run, NULL, NULL, NULL};
