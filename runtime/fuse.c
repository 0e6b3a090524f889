/* fuse.c -- chains of nodes the planner runs as one kernel call.
 *
 * Two patterns, both about maps that need not exist whole:
 *   - the inverted bottleneck of InterFormer's decoder MLPs (and of
 *     MobileNet-style blocks): CONV2D 1x1 -> CONV2D 3x3 depthwise (stride
 *     1, padding 1) -> CONV2D 1x1, optionally -> ADD of a residual. Run node
 *     by node it writes and reads two maps of the wide channel count (16 MB
 *     each for Light's first stage at 512x512) on every click; fused
 *     (kernels/inverted_bottleneck.c) those maps are never whole;
 *   - a CONCAT_CHANNELS read only by a CONV2D (UPerNet's fusion conv): the
 *     convolution reads the parts where they are (kernels/conv_parts.c), so
 *     the 16 MB concatenation, the peak of a click's arena, is never made.
 *     A part made by a RESIZE_BILINEAR that upsamples and is read by the
 *     concatenation alone joins the chain too: the kernel takes the map
 *     before its resize and convolves it at its own resolution (UPerNet's
 *     upsampled levels: 12 MB of maps never made, and most of the
 *     convolution's work done at 1/4 to 1/64 of the pixels).
 * The arena loses those maps and the click their memory traffic. A fused
 * run is bit for bit the unfused one, except for the convolution of
 * upsampled parts, whose sums come in another order (within float
 * rounding; tests/test_runtime.c compares both ways).
 *
 * The graph file and the ops stay as they are: the plan marks the chain's
 * first node as its head (it runs the chain) and the others as inner
 * (skipped); the tensors between them get no arena bytes. Set IF_FUSE=0 in
 * the environment to plan without fusion, IF_FUSE=exact for the chains
 * that are bit for bit the unfused run only (no resizes: for comparisons
 * and debugging). */
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"

/* A CONV2D with constant weights (and bias, when present), a k x k kernel,
 * stride 1, padding pad on every side, and either one group or (depthwise)
 * as many groups as input and output channels. */
static int conv_is(const rt_model *m, const ifg_node *n, const rt_shape *shape, int k, int pad,
                   int depthwise) {
    if (n->op != IFG_OP_CONV2D || n->n_in < 2 || !m->weights[n->in[1]]) return 0;
    if (n->n_in > 2 && n->in[2] != IFG_NO_TENSOR && !m->weights[n->in[2]]) return 0;
    for (uint32_t i = 0; i < 2; i++)
        if (rt_attr_i(n, IFG_ATTR_KERNEL, i, 0) != k || rt_attr_i(n, IFG_ATTR_STRIDE, i, 0) != 1)
            return 0;
    for (uint32_t i = 0; i < 4; i++)
        if (rt_attr_i(n, IFG_ATTR_PAD, i, -1) != pad) return 0;
    const rt_shape *x = &shape[n->in[0]], *y = &shape[n->out[0]];
    if (x->rank != 3 || y->rank != 3) return 0;
    const int64_t groups = rt_attr_i(n, IFG_ATTR_GROUPS, 0, 1);
    return depthwise ? groups == x->d[2] && y->d[2] == x->d[2] : groups == 1;
}

static int same_shape(const rt_shape *a, const rt_shape *b) {
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i] != b->d[i]) return 0;
    return 1;
}

/* Nodes reading tensor t (graph outputs count as readers), the last of
 * them in *reader. */
static uint32_t readers(const ifg_graph *g, uint32_t t, uint32_t *reader) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        for (uint32_t j = 0; j < g->nodes[i].n_in; j++)
            if (g->nodes[i].in[j] == t) {
                n++;
                *reader = i;
            }
    for (uint32_t i = 0; i < g->n_outputs; i++) n += g->outputs[i] == t;
    return n;
}

/* The node that produces tensor t (one at most: format/ifg_reader.c), or
 * UINT32_MAX for an input or a constant. */
static uint32_t writer(const ifg_graph *g, uint32_t t) {
    for (uint32_t i = 0; i < g->n_nodes; i++)
        for (uint32_t j = 0; j < g->nodes[i].n_out; j++)
            if (g->nodes[i].out[j] == t) return i;
    return UINT32_MAX;
}

/* The inverted bottleneck headed by node e, if there is one; pos:
 * execution positions. */
static int match_ib(const rt_plan *p, const uint32_t *pos, uint32_t e, rt_chain *c) {
    const rt_model *m = p->m;
    const ifg_graph *g = &m->g;
    const ifg_node *ne = &g->nodes[e];
    if (!conv_is(m, ne, p->shape, 1, 0, 0)) return 0;
    uint32_t d = 0, q = 0, a = 0;
    if (readers(g, ne->out[0], &d) != 1 || !conv_is(m, &g->nodes[d], p->shape, 3, 1, 1)) return 0;
    if (readers(g, g->nodes[d].out[0], &q) != 1 || !conv_is(m, &g->nodes[q], p->shape, 1, 0, 0))
        return 0;
    if (p->per_click[d] != p->per_click[e] || p->per_click[q] != p->per_click[e]) return 0;
    c->kind = RT_CHAIN_INV_BOTTLENECK;
    c->node[0] = e;
    c->node[1] = d;
    c->node[2] = q;
    for (int k = 3; k < RT_CHAIN_MAX_NODES; k++) c->node[k] = UINT32_MAX;
    for (int k = 0; k < RT_CHAIN_MAX_PARTS; k++) c->src[k] = IFG_NO_TENSOR;
    c->res = IFG_NO_TENSOR;
    c->out = g->nodes[q].out[0];
    /* The residual add joins when it is the projection's only reader and
     * its other operand exists before the chain starts. */
    if (readers(g, c->out, &a) == 1 && g->nodes[a].op == IFG_OP_ADD && g->nodes[a].n_in == 2 &&
        p->per_click[a] == p->per_click[e]) {
        const ifg_node *na = &g->nodes[a];
        const uint32_t r = na->in[0] == c->out ? na->in[1] : na->in[0];
        const uint32_t wr = writer(g, r);
        const int before = wr == UINT32_MAX || pos[wr] < pos[e];
        if (r != c->out && r != IFG_NO_TENSOR && before &&
            same_shape(&p->shape[r], &p->shape[c->out]) && g->tensors[r].dtype == IFG_F32) {
            c->node[3] = a;
            c->res = r;
            c->out = na->out[0];
        }
    }
    return 1;
}

/* The RESIZE_BILINEAR that makes tensor t, if it upsamples an f32 map (in
 * one direction at least, keeping the other), is read by nothing else and runs in the same phase as node i. */
static uint32_t upsampling_of(const rt_plan *p, uint32_t t, uint32_t i) {
    const ifg_graph *g = &p->m->g;
    uint32_t r = 0;
    const uint32_t j = writer(g, t);
    if (readers(g, t, &r) != 1 || j == UINT32_MAX) return UINT32_MAX;
    const ifg_node *n = &g->nodes[j];
    if (n->op != IFG_OP_RESIZE_BILINEAR || n->out[0] != t || n->n_in < 1 ||
        n->in[0] == IFG_NO_TENSOR || p->per_click[j] != p->per_click[i] ||
        g->tensors[n->in[0]].dtype != IFG_F32)
        return UINT32_MAX;
    const rt_shape *x = &p->shape[n->in[0]], *y = &p->shape[t];
    if (x->rank != 3 || y->rank != 3 || x->d[0] > y->d[0] || x->d[1] > y->d[1] ||
        (x->d[0] == y->d[0] && x->d[1] == y->d[1])) /* a copy: nothing to gain */
        return UINT32_MAX;
    return j;
}

/* A concatenation headed by node i whose only reader is a convolution of
 * it, with constant weights and pads smaller than its kernel. */
static int match_concat(const rt_plan *p, uint32_t i, int exact, rt_chain *c) {
    const rt_model *m = p->m;
    const ifg_graph *g = &m->g;
    const ifg_node *n = &g->nodes[i];
    if (n->op != IFG_OP_CONCAT_CHANNELS || n->n_in < 1 || n->n_in > IFK_MAX_PARTS) return 0;
    for (uint32_t k = 0; k < n->n_in; k++)
        if (n->in[k] == IFG_NO_TENSOR || g->tensors[n->in[k]].dtype != IFG_F32) return 0;
    uint32_t q = 0;
    if (readers(g, n->out[0], &q) != 1) return 0;
    const ifg_node *nq = &g->nodes[q];
    if (nq->op != IFG_OP_CONV2D || nq->in[0] != n->out[0] || !m->weights[nq->in[1]] ||
        p->per_click[q] != p->per_click[i])
        return 0;
    if (nq->n_in > 2 && nq->in[2] != IFG_NO_TENSOR && !m->weights[nq->in[2]]) return 0;
    const ifk_conv_params cp = rt_conv2d_params(nq, p->shape);
    if (cp.groups != 1 || cp.pt >= cp.kh || cp.pb >= cp.kh || cp.pl >= cp.kw || cp.pr >= cp.kw)
        return 0;
    c->kind = RT_CHAIN_CONCAT_CONV;
    c->node[0] = i;
    c->node[1] = q;
    for (int k = 2; k < RT_CHAIN_MAX_NODES; k++) c->node[k] = UINT32_MAX;
    int at = 2;
    for (uint32_t k = 0; k < RT_CHAIN_MAX_PARTS; k++) {
        c->src[k] = IFG_NO_TENSOR;
        const uint32_t r = k < n->n_in && !exact ? upsampling_of(p, n->in[k], i) : UINT32_MAX;
        if (r == UINT32_MAX || p->chain[r] >= 0) continue;
        c->node[at++] = r;
        c->src[k] = g->nodes[r].in[0];
    }
    c->res = IFG_NO_TENSOR;
    c->out = nq->out[0];
    return 1;
}

static int match(const rt_plan *p, const uint32_t *pos, uint32_t i, int exact, rt_chain *c) {
    return match_ib(p, pos, i, c) || match_concat(p, i, exact, c);
}

if_status rt_fuse_plan(rt_plan *p, const uint32_t *pos, char *err, size_t cap) {
    const ifg_graph *g = &p->m->g;
    const char *env = getenv("IF_FUSE");
    p->chain = (int32_t *)rt_malloc((size_t)g->n_nodes * sizeof *p->chain);
    if (!p->chain) return rt_fail(err, cap, IF_ERR_NO_MEMORY, "plan tables");
    for (uint32_t i = 0; i < g->n_nodes; i++) p->chain[i] = -1;
    if (env && !strcmp(env, "0")) return IF_OK;
    const int exact = env && !strcmp(env, "exact");
    /* A chain owns at least two nodes, none of them another chain's. */
    p->chains = (rt_chain *)rt_calloc(g->n_nodes / 2 + 1, sizeof *p->chains);
    if (!p->chains) return rt_fail(err, cap, IF_ERR_NO_MEMORY, "plan tables");
    rt_chain c;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        if (p->chain[i] >= 0 || !match(p, pos, i, exact, &c)) continue;
        for (int k = 0; k < RT_CHAIN_MAX_NODES; k++)
            if (c.node[k] != UINT32_MAX) p->chain[c.node[k]] = (int32_t)p->n_chains;
        p->chains[p->n_chains++] = c;
    }
    return IF_OK;
}

static ifk_ib_params ib_params(const rt_model *m, const rt_chain *c, const rt_shape *shape) {
    const ifg_graph *g = &m->g;
    const ifg_node *e = &g->nodes[c->node[0]], *d = &g->nodes[c->node[1]],
                   *q = &g->nodes[c->node[2]];
    const rt_shape *x = &shape[e->in[0]];
    ifk_ib_params ib = IF_ZERO_INIT;
    ib.h = (int)x->d[0];
    ib.w = (int)x->d[1];
    ib.cin = (int)x->d[2];
    ib.cmid = (int)shape[e->out[0]].d[2];
    ib.cout = (int)shape[q->out[0]].d[2];
    ib.act_expand = (int)rt_attr_i(e, IFG_ATTR_ACT, 0, IFK_ACT_NONE);
    ib.act_dw = (int)rt_attr_i(d, IFG_ATTR_ACT, 0, IFK_ACT_NONE);
    ib.act_project = (int)rt_attr_i(q, IFG_ATTR_ACT, 0, IFK_ACT_NONE);
    return ib;
}

/* A node's weight or bias (NULL when absent): f32, as runtime/model.c keeps
 * f16 only LINEAR weights. */
static const float *weight(const rt_model *m, uint32_t node, uint32_t i) {
    const ifg_node *n = &m->g.nodes[node];
    return i < n->n_in && n->in[i] != IFG_NO_TENSOR ? (const float *)m->weights[n->in[i]] : NULL;
}

/* A concat chain's parts for shapes `shape`: channels, and a resized
 * part's size before its resize; data as given (NULL: none). */
static ifk_parts chain_parts(const rt_model *m, const rt_chain *c, const rt_shape *shape,
                             const void *const *in, const float *const *src) {
    IF_STATIC_ASSERT((int)RT_CHAIN_MAX_PARTS == (int)IFK_MAX_PARTS,
                     "a chain's parts are the kernel's");
    const ifg_node *n = &m->g.nodes[c->node[0]];
    ifk_parts parts;
    memset(&parts, 0, sizeof parts);
    parts.n = (int)n->n_in;
    for (uint32_t k = 0; k < n->n_in; k++) {
        parts.c[k] = (int)shape[n->in[k]].d[2];
        if (c->src[k] != IFG_NO_TENSOR) {
            parts.h[k] = (int)shape[c->src[k]].d[0];
            parts.w[k] = (int)shape[c->src[k]].d[1];
            parts.x[k] = src ? src[k] : NULL;
        } else {
            parts.x[k] = in ? (const float *)in[k] : NULL;
        }
    }
    return parts;
}

size_t rt_chain_scratch_bytes(const rt_plan *p, const rt_chain *c) {
    if (c->kind == RT_CHAIN_CONCAT_CONV) {
        const ifk_conv_params cp = rt_conv2d_params(&p->m->g.nodes[c->node[1]], p->shape);
        const ifk_parts parts = chain_parts(p->m, c, p->shape, NULL, NULL);
        return ifk_conv2d_parts_scratch_bytes(&parts, &cp);
    }
    const ifk_ib_params ib = ib_params(p->m, c, p->shape);
    return ifk_inv_bottleneck_scratch_bytes(&ib);
}

size_t rt_chain_prep_bytes(const rt_plan *p, const rt_chain *c, const ifk_ops *k) {
    if (c->kind == RT_CHAIN_CONCAT_CONV) {
        const ifk_conv_params cp = rt_conv2d_params(&p->m->g.nodes[c->node[1]], p->shape);
        const ifk_parts parts = chain_parts(p->m, c, p->shape, NULL, NULL);
        return k->conv2d_parts_prep_bytes(&parts, &cp);
    }
    const ifk_ib_params ib = ib_params(p->m, c, p->shape);
    return k->inv_bottleneck_prep_bytes(&ib);
}

void rt_chain_prep(const rt_plan *p, const rt_chain *c, const ifk_ops *k, void *dst) {
    const rt_model *m = p->m;
    if (c->kind == RT_CHAIN_CONCAT_CONV) {
        const ifk_conv_params cp = rt_conv2d_params(&m->g.nodes[c->node[1]], p->shape);
        const ifk_parts parts = chain_parts(m, c, p->shape, NULL, NULL);
        k->conv2d_parts_prep(&parts, &cp, weight(m, c->node[1], 1), dst);
        return;
    }
    const ifk_ib_params ib = ib_params(m, c, p->shape);
    const float *w[6];
    for (int j = 0; j < 3; j++) {
        w[2 * j] = weight(m, c->node[j], 1);
        w[2 * j + 1] = weight(m, c->node[j], 2);
    }
    k->inv_bottleneck_prep(&ib, w, dst);
}

/* ------------------------------------------------------------------ runs */

typedef struct {
    const rt_node *nd;
    ifk_ib_params ib;
    const float *x, *res;
} ib_task;

static void ib_rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const ib_task *t = (const ib_task *)arg;
    ifk_ib_params ib = t->ib;
    ib.oy0 = (int)lo;
    ib.oy1 = (int)hi;
    t->nd->k->inv_bottleneck(t->x, &ib, t->nd->prep, t->res, t->nd->y, scratch);
}

typedef struct {
    const rt_node *nd;
    ifk_conv_params cp;
    ifk_parts parts;
    const float *w, *b;
} parts_task;

static void parts_rows(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const parts_task *t = (const parts_task *)arg;
    ifk_conv_params cp = t->cp;
    int ho, wo;
    ifk_conv2d_out_size(&cp, &ho, &wo);
    cp.oy0 = (int)(lo * RT_CONV_ROW_BLOCK);
    cp.oy1 = (int)(hi * RT_CONV_ROW_BLOCK < ho ? hi * RT_CONV_ROW_BLOCK : ho);
    t->nd->k->conv2d_parts(&t->parts, &cp, t->w, t->nd->prep, t->b, t->nd->y, scratch);
}

if_status rt_chain_run(const rt_node *nd, const rt_model *m, const rt_chain *c, const float *res,
                       const float *const src[RT_CHAIN_MAX_PARTS]) {
    if (c->kind == RT_CHAIN_CONCAT_CONV) {
        const parts_task t = {nd, rt_conv2d_params(&m->g.nodes[c->node[1]], nd->shape),
                              chain_parts(m, c, nd->shape, nd->in, src), weight(m, c->node[1], 1),
                              weight(m, c->node[1], 2)};
        int ho, wo;
        ifk_conv2d_out_size(&t.cp, &ho, &wo);
        rt_parallel(nd, (ho + RT_CONV_ROW_BLOCK - 1) / RT_CONV_ROW_BLOCK, 1, parts_rows, &t);
        return IF_OK;
    }
    const ib_task t = {nd, ib_params(m, c, nd->shape), (const float *)rt_in(nd, 0), res};
    /* Each cut between threads re-expands a halo row: at least 8 rows a thread. */
    rt_parallel(nd, t.ib.h, 8, ib_rows, &t);
    return IF_OK;
}
