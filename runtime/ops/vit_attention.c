/* VIT_ATTENTION (format/FORMAT.md): the ViT's self-attention over a class
 * token and a grid of tokens, from one (N, 3C) qkv tensor, with the
 * relative position bias of a native WINDOW grid. Split over query tokens. */
#include "runtime/op.h"

static if_status infer(const rt_infer_ctx *c, rt_shape *o, size_t *scratch) {
    const rt_shape *x = rt_in_shape(c, 0), *tab = rt_in_shape(c, 1), *grid = rt_in_shape(c, 2);
    const int64_t heads = rt_attr_i(c->n, IFG_ATTR_HEADS, 0, 1);
    const int64_t gh = rt_attr_i(c->n, IFG_ATTR_WINDOW, 0, 0);
    const int64_t gw = rt_attr_i(c->n, IFG_ATTR_WINDOW, 1, 0);
    if (x->rank != 2 || x->d[1] % 3 || (x->d[1] / 3) % heads)
        return rt_bad_shape(c, "qkv must be (N,3C)");
    if (grid->rank < 2 || x->d[0] != 1 + grid->d[0] * grid->d[1])
        return rt_bad_shape(c, "token count does not match the grid");
    if (tab->rank != 2 || tab->d[1] != heads || tab->d[0] != (2 * gh - 1) * (2 * gw - 1) + 3)
        return rt_bad_shape(c, "relative position table does not match WINDOW and HEADS");
    o->rank = 2;
    o->d[0] = x->d[0];
    o->d[1] = x->d[1] / 3;
    *scratch = ifk_vit_attention_scratch_bytes((int)grid->d[0], (int)grid->d[1], (int)(x->d[1] / 3),
                                               (int)heads, (int)gh, (int)gw);
    return IF_OK;
}

typedef struct {
    const rt_node *nd;
    const float *qkv, *table;
    int h, w, c, heads, gh, gw;
    float scale;
} task;

static void queries(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const task *t = (const task *)arg;
    t->nd->k->vit_attention(t->qkv, t->h, t->w, t->c, t->heads, t->scale, t->table, t->gh, t->gw,
                            (int)lo, (int)hi, t->nd->y, scratch);
}

static if_status run(const rt_node *nd) {
    const rt_shape *sx = rt_node_in_shape(nd, 0), *grid = rt_node_in_shape(nd, 2);
    const task t = {nd,
                    (const float *)rt_in(nd, 0),
                    (const float *)rt_in(nd, 1),
                    (int)grid->d[0],
                    (int)grid->d[1],
                    (int)(sx->d[1] / 3),
                    (int)rt_attr_i(nd->n, IFG_ATTR_HEADS, 0, 1),
                    (int)rt_attr_i(nd->n, IFG_ATTR_WINDOW, 0, 1),
                    (int)rt_attr_i(nd->n, IFG_ATTR_WINDOW, 1, 1),
                    (float)rt_attr_f(nd->n, IFG_ATTR_SCALE, 1.0)};
    rt_parallel(nd, sx->d[0], 16, queries, &t);
    return IF_OK;
}

/* Two products of n x n x c (n tokens, c channels). */
static double flops(const ifg_node *n, const rt_shape *shape) {
    const rt_shape *x = &shape[n->in[0]];
    return 4.0 * (double)x->d[0] * (double)x->d[0] * (double)(x->d[1] / 3);
}

const rt_op rt_op_vit_attention = {infer, run, flops, NULL, NULL};
