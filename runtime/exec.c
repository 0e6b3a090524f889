/* exec.c -- runs a planned graph: one arena, bound inputs, kernel calls.
 *
 * Nothing here allocates after rt_exec_new(): that is what makes a click
 * cost only its arithmetic. The heavy ops are split into disjoint ranges
 * (rows, output rows, queries) run on the executor's thread pool; each
 * thread has its own slice of the node's scratch. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernels/dispatch.h"
#include "../kernels/kernels.h"
#include "runtime.h"
#include "threadpool.h"

static if_status prepare_weights(rt_exec *e);

if_status rt_exec_new(const rt_plan *p, const ifk_ops *ops, rt_exec **out) {
    if (!p || !out || !ops) return IF_ERR_INVALID_ARG;
    *out = NULL;
    rt_exec *e = rt_calloc(1, sizeof *e);
    if (!e) return IF_ERR_NO_MEMORY;
    uint32_t nt = p->m->g.n_tensors;
    e->p = p;
    e->ops = ops;
    e->bound = rt_calloc(nt, sizeof *e->bound);
    e->shape = rt_calloc(nt, sizeof *e->shape);
    e->arena = rt_aligned_alloc(64, p->arena_bytes);
    e->pool = rt_pool_new(p->threads);
    if (!e->bound || !e->shape || !e->arena || !e->pool) {
        rt_exec_free(e);
        return IF_ERR_NO_MEMORY;
    }
    /* Profiling is opt-in and decided once, so the per-click path stays free
     * of clock reads and allocations unless asked for. */
    const char *prof = getenv("IF_PROFILE");
    if (prof && *prof && strcmp(prof, "0") &&
        !(e->node_ms = rt_calloc(p->m->g.n_nodes, sizeof *e->node_ms))) {
        rt_exec_free(e);
        return IF_ERR_NO_MEMORY;
    }
    memcpy(e->shape, p->shape, nt * sizeof *e->shape);
    if (prepare_weights(e) != IF_OK) {
        rt_exec_free(e);
        return IF_ERR_NO_MEMORY;
    }
    *out = e;
    return IF_OK;
}

void rt_exec_free(rt_exec *e) {
    if (!e) return;
    rt_free(e->bound);
    rt_free(e->shape);
    rt_free(e->node_ms);
    rt_free((void *)e->prep);
    rt_aligned_free(e->prep_block);
    rt_aligned_free(e->arena);
    rt_pool_free(e->pool);
    rt_free(e);
}

if_status rt_exec_bind(rt_exec *e, const char *name, const void *data, size_t bytes) {
    if (!e || !name) return IF_ERR_INVALID_ARG;
    const ifg_graph *g = &e->p->m->g;
    int64_t t = ifg_find_tensor(g, name);
    int is_input = 0;
    uint32_t flags = 0;
    for (uint32_t i = 0; t >= 0 && i < g->n_inputs; i++)
        if (g->inputs[i].tensor == (uint32_t)t) {
            is_input = 1;
            flags = g->inputs[i].flags;
        }
    if (!is_input)
        return rt_fail(e->err, sizeof e->err, IF_ERR_INVALID_ARG,
                       "'%s' is not an input of this graph", name);
    if (!data && !(flags & IFG_IN_OPTIONAL))
        return rt_fail(e->err, sizeof e->err, IF_ERR_INVALID_ARG, "input '%s' is required", name);
    size_t want = (size_t)rt_shape_elems(&e->p->shape[t]) * ifg_dtype_size(g->tensors[t].dtype);
    if (data && bytes != want)
        return rt_fail(e->err, sizeof e->err, IF_ERR_INVALID_ARG,
                       "input '%s' needs %zu bytes for a %dx%d plan, got %zu", name, want, e->p->H,
                       e->p->W, bytes);
    e->bound[t] = data;
    if (!(flags & IFG_IN_PER_CLICK)) e->image_ready = 0;
    return IF_OK;
}

/* ---------------------------------------------------------------------- */

static const void *tensor_ptr(const rt_exec *e, uint32_t t) {
    if (t == IFG_NO_TENSOR) return NULL;
    const rt_model *m = e->p->m;
    if (m->weights[t]) return m->weights[t];
    if (e->p->offset[t] != UINT64_MAX) return e->arena + e->p->offset[t];
    return e->bound[t];
}

static int64_t ai(const ifg_node *n, ifg_attr_key k, uint32_t i, int64_t dflt) {
    const ifg_attr *a = ifg_node_attr(n, k);
    return (a && i < a->count) ? a->v.i[i] : dflt;
}

static double af(const ifg_node *n, ifg_attr_key k, double dflt) {
    const ifg_attr *a = ifg_node_attr(n, k);
    return a ? a->v.f[0] : dflt;
}

/* The kernel parameters of a CONV2D node for tensor shapes `shape`. */
static ifk_conv_params conv_params(const ifg_node *n, const rt_shape *shape) {
    const rt_shape *sx = &shape[n->in[0]], *so = &shape[n->out[0]];
    return (ifk_conv_params){.h = (int)sx->d[0],
                             .w = (int)sx->d[1],
                             .cin = (int)sx->d[2],
                             .cout = (int)so->d[2],
                             .kh = (int)ai(n, IFG_ATTR_KERNEL, 0, 1),
                             .kw = (int)ai(n, IFG_ATTR_KERNEL, 1, 1),
                             .sh = (int)ai(n, IFG_ATTR_STRIDE, 0, 1),
                             .sw = (int)ai(n, IFG_ATTR_STRIDE, 1, 1),
                             .pt = (int)ai(n, IFG_ATTR_PAD, 0, 0),
                             .pl = (int)ai(n, IFG_ATTR_PAD, 1, 0),
                             .pb = (int)ai(n, IFG_ATTR_PAD, 2, 0),
                             .pr = (int)ai(n, IFG_ATTR_PAD, 3, 0),
                             .groups = (int)ai(n, IFG_ATTR_GROUPS, 0, 1),
                             .act = (int)ai(n, IFG_ATTR_ACT, 0, IFK_ACT_NONE)};
}

size_t rt_exec_prep_bytes(const rt_plan *p, const ifk_ops *ops) {
    const ifg_graph *g = &p->m->g;
    size_t total = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        if (n->op != IFG_OP_CONV2D || !p->m->weights[n->in[1]]) continue;
        const ifk_conv_params cp = conv_params(n, p->shape);
        total += (ops->conv2d_prep_bytes(&cp) + 63) / 64 * 64;
    }
    return total;
}

/* Prepares the weights of every convolution that has something to prepare
 * (for the planned shapes), once, in one allocation: after this no click
 * and no thread transforms weights again. */
static if_status prepare_weights(rt_exec *e) {
    const ifg_graph *g = &e->p->m->g;
    const size_t total = rt_exec_prep_bytes(e->p, e->ops);
    if (!total) return IF_OK;
    e->prep = rt_calloc(g->n_nodes, sizeof *e->prep);
    e->prep_block = rt_aligned_alloc(64, total);
    if (!e->prep || !e->prep_block) return IF_ERR_NO_MEMORY;
    e->prep_bytes = total;
    size_t at = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        if (n->op != IFG_OP_CONV2D || !e->p->m->weights[n->in[1]]) continue;
        const ifk_conv_params cp = conv_params(n, e->p->shape);
        const size_t bytes = (e->ops->conv2d_prep_bytes(&cp) + 63) / 64 * 64;
        if (!bytes) continue;
        e->prep[i] = e->prep_block + at;
        e->ops->conv2d_prep(&cp, tensor_ptr(e, n->in[1]), e->prep_block + at);
        at += bytes;
    }
    return IF_OK;
}

/* Element-wise ops split in chunks of this many floats (whole cache lines). */
enum { ELEM_CHUNK = 4096 };

/* One heavy node split into ranges: everything a task needs. */
typedef struct {
    const rt_exec *e;
    const ifg_node *node;
    const ifk_ops *ops;
    uint32_t op;
    int tasks;
    int64_t total; /* rows / output rows / queries / tokens to split */
    const float *x;
    const void *in1, *in2;
    const void *prep; /* CONV2D: prepared weights, or NULL */
    int phase;        /* GROUP_NORM: 0 sums, 1 squared deviations, 2 normalise */
    int groups;
    double *part; /* GROUP_NORM: per-chunk sums, chunks x groups */
    const double *mean;
    const float *mhi, *mlo, *rstd;
    float *y;
    uint8_t *scratch; /* thread t uses scratch + t * stride */
    size_t stride;
    int act;
    int64_t k, n; /* LINEAR: in and out features; ATTENTION: m keys; ADD: elements */
    int c, heads; /* ATTENTION, VIT_ATTENTION; c: RESIZE channels */
    float scale, eps;
    int h, w, gh, gw, cin, cout, kh, kw; /* gh, gw: also RESIZE output size */
    ifk_conv_params cp;
} par_node;

static void par_task(void *ctx, int task, int thread) {
    const par_node *a = ctx;
    int64_t lo = a->total * task / a->tasks, hi = a->total * (task + 1) / a->tasks;
    if (lo >= hi) return;
    void *scratch = a->scratch ? a->scratch + (size_t)thread * a->stride : NULL;
    switch (a->op) {
    case IFG_OP_LINEAR:
        a->ops->linear(a->x + lo * a->k, hi - lo, a->k, a->in1, a->in2, a->n, a->act,
                       a->y + lo * a->n, scratch);
        break;
    case IFG_OP_CONV2D: {
        ifk_conv_params cp = a->cp;
        cp.oy0 = (int)lo;
        cp.oy1 = (int)hi;
        a->ops->conv2d(a->x, &cp, a->in1, a->prep, a->in2, a->y, scratch);
        break;
    }
    case IFG_OP_CONV_TRANSPOSE2D: /* input rows; each makes kh output rows */
        a->ops->conv_transpose2d(a->x + lo * a->w * a->cin, (int)(hi - lo), a->w, a->cin, a->in1,
                                 a->in2, a->cout, a->kh, a->kw,
                                 a->y + lo * a->kh * a->w * a->kw * a->cout, scratch);
        break;
    case IFG_OP_ATTENTION:
        a->ops->attention(a->x + lo * a->c, hi - lo, a->in1, a->k, a->c, a->heads, a->scale,
                          a->y + lo * a->c, scratch);
        break;
    case IFG_OP_VIT_ATTENTION:
        a->ops->vit_attention(a->x, a->h, a->w, a->c, a->heads, a->scale, a->in1, a->gh, a->gw,
                              (int)lo, (int)hi, a->y, scratch);
        break;
    case IFG_OP_LAYER_NORM:
        a->ops->layer_norm(a->x + lo * a->c, hi - lo, a->c, a->in1, a->in2, a->eps,
                           a->y + lo * a->c);
        break;
    case IFG_OP_GROUP_NORM: /* chunks of RT_GN_PIXELS pixels */
        for (int64_t ch = lo; ch < hi; ch++) {
            const int64_t p0 = ch * RT_GN_PIXELS,
                          np = a->n - p0 < RT_GN_PIXELS ? a->n - p0 : RT_GN_PIXELS;
            if (a->phase < 2) {
                double *sums = a->part + ch * a->groups;
                for (int g = 0; g < a->groups; g++) sums[g] = 0.0;
                a->ops->group_norm_sums(a->x + p0 * a->c, np, a->c, a->groups,
                                        a->phase ? a->mean : NULL, sums);
            } else {
                a->ops->group_norm_apply(a->x + p0 * a->c, np, a->c, a->groups, a->mhi, a->mlo,
                                         a->rstd, a->in1, a->in2, a->act, a->y + p0 * a->c);
            }
        }
        break;
    case IFG_OP_RESIZE_BILINEAR: /* output rows */
        a->ops->resize_bilinear(a->x, a->h, a->w, a->c, a->y, a->gh, a->gw, (int)lo, (int)hi);
        break;
    case IFG_OP_ADD: /* elements, in whole cache lines */
        lo *= ELEM_CHUNK;
        hi = hi * ELEM_CHUNK < a->n ? hi * ELEM_CHUNK : a->n;
        a->ops->add(a->x + lo, (const float *)a->in1 + lo, hi - lo, a->y + lo);
        break;
    case IFG_OP_ACTIVATION:
        lo *= ELEM_CHUNK;
        hi = hi * ELEM_CHUNK < a->n ? hi * ELEM_CHUNK : a->n;
        a->ops->activation(a->x + lo, hi - lo, a->act, a->y + lo);
        break;
    case IFG_OP_CONCAT_CHANNELS: { /* pixels */
        const ifg_node *n = a->node;
        int64_t off = 0;
        for (uint32_t k = 0; k < n->n_in; k++) {
            const float *src = tensor_ptr(a->e, n->in[k]);
            const int64_t ck = a->e->shape[n->in[k]].d[2];
            for (int64_t i = lo; i < hi; i++)
                memcpy(a->y + i * a->c + off, src + i * ck, (size_t)ck * sizeof(float));
            off += ck;
        }
        break;
    }
    case IFG_OP_ADAPTIVE_AVG_POOL: /* output rows */
        ifk_adaptive_avg_pool(a->x, a->h, a->w, a->c, a->y, a->gh, a->gw, (int)lo, (int)hi);
        break;
    case IFG_OP_ADAPTIVE_MAX_POOL:
        ifk_adaptive_max_pool(a->x, a->h, a->w, a->c, a->y, a->gh, a->gw, (int)lo, (int)hi);
        break;
    case IFG_OP_IM2COL:
        ifk_im2col(a->x, a->h, a->w, a->c, a->kh, a->kw, a->cp.sh, a->cp.sw, a->cp.pt, a->cp.pl,
                   a->cp.pb, a->cp.pr, a->y, (int)lo, (int)hi);
        break;
    case IFG_OP_REF_EMBED: {
        const rt_shape *tab = &a->e->shape[a->node->in[1]];
        ifk_ref_embed((const uint8_t *)a->x, a->h, a->w, a->in1, (int)tab->d[0], (int)tab->d[1],
                      a->y, a->gh, a->gw, (int)lo, (int)hi);
        break;
    }
    default: break;
    }
}

/* Splits a node over the pool: one task per thread (the ranges are uniform
 * work), none when the range is too short to be worth waking a thread. */
static void run_parallel(rt_exec *e, par_node *a, int64_t min_per_task) {
    int t = rt_pool_threads(e->pool);
    if (a->total / min_per_task < t) t = (int)(a->total / min_per_task);
    a->tasks = t < 1 ? 1 : t;
    rt_pool_run(e->pool, a->tasks, par_task, a);
}

/* GROUP_NORM on the pool: the sums per chunk (any thread), added here in
 * chunk order; the same for the squared deviations; then the normalisation
 * by chunks. */
static void run_group_norm(rt_exec *e, par_node *a, float eps, int groups, int64_t hw, int64_t c) {
    const int64_t chunks = (hw + RT_GN_PIXELS - 1) / RT_GN_PIXELS;
    double *mean = (double *)a->scratch, *sq = mean + groups;
    float *mhi = (float *)(sq + groups), *mlo = mhi + groups, *rstd = mlo + groups;
    a->part = (double *)(rstd + groups + (groups & 1)); /* 8-byte aligned after 3*groups floats */
    a->groups = groups;
    a->n = hw;
    a->c = (int)c;
    a->total = chunks;
    a->mean = mean;
    a->mhi = mhi;
    a->mlo = mlo;
    a->rstd = rstd;
    const double count = (double)hw * (double)(c / groups);
    for (a->phase = 0; a->phase < 2; a->phase++) {
        run_parallel(e, a, 1);
        double *acc = a->phase ? sq : mean;
        for (int g = 0; g < groups; g++) acc[g] = 0.0;
        for (int64_t ch = 0; ch < chunks; ch++)
            for (int g = 0; g < groups; g++) acc[g] += a->part[ch * groups + g];
        if (!a->phase)
            for (int g = 0; g < groups; g++) mean[g] /= count;
    }
    ifk_group_norm_moments(groups, count, eps, mean, sq, mhi, mlo, rstd);
    run_parallel(e, a, 1);
}

size_t rt_group_norm_scratch(int64_t hw, int64_t groups) {
    const int64_t chunks = (hw + RT_GN_PIXELS - 1) / RT_GN_PIXELS;
    return (size_t)(2 * groups + chunks * groups + 1) * sizeof(double) +
           (size_t)(3 * groups + 1) * sizeof(float);
}

static if_status run_node(rt_exec *e, uint32_t idx) {
    const rt_plan *p = e->p;
    const ifg_node *n = &p->m->g.nodes[idx];
    const rt_shape *sx = &e->shape[n->in[0]];
    const rt_shape *so = &e->shape[n->out[0]];
    const float *x = tensor_ptr(e, n->in[0]);
    const void *in1 = n->n_in > 1 ? tensor_ptr(e, n->in[1]) : NULL;
    const void *in2 = n->n_in > 2 ? tensor_ptr(e, n->in[2]) : NULL;
    float *y = (float *)(e->arena + p->offset[n->out[0]]);
    float *scratch = p->scratch[idx] != UINT64_MAX ? (float *)(e->arena + p->scratch[idx]) : NULL;
    int act = (int)ai(n, IFG_ATTR_ACT, 0, IFK_ACT_NONE);
    int64_t c_last = sx->d[sx->rank - 1];

    par_node a = {.e = e,
                  .node = n,
                  .ops = e->ops,
                  .op = n->op,
                  .x = x,
                  .in1 = in1,
                  .in2 = in2,
                  .y = y,
                  .scratch = (uint8_t *)scratch,
                  .stride = p->scratch_bytes[idx],
                  .act = act};
    switch (n->op) {
    case IFG_OP_CONV2D:
        a.cp = conv_params(n, e->shape);
        a.prep = e->prep ? e->prep[idx] : NULL;
        a.total = so->d[0];
        run_parallel(e, &a, 2);
        break;
    case IFG_OP_CONV_TRANSPOSE2D:
        a.h = (int)sx->d[0];
        a.w = (int)sx->d[1];
        a.cin = (int)sx->d[2];
        a.cout = (int)so->d[2];
        a.kh = (int)ai(n, IFG_ATTR_KERNEL, 0, 1);
        a.kw = (int)ai(n, IFG_ATTR_KERNEL, 1, 1);
        a.total = sx->d[0];
        run_parallel(e, &a, 2);
        break;
    case IFG_OP_LINEAR:
        a.k = c_last;
        a.n = so->d[so->rank - 1];
        a.total = rt_shape_elems(sx) / c_last;
        run_parallel(e, &a, 32);
        break;
    case IFG_OP_LAYER_NORM:
        a.c = (int)c_last;
        a.eps = (float)af(n, IFG_ATTR_EPS, 1e-5);
        a.total = rt_shape_elems(sx) / c_last;
        run_parallel(e, &a, 64);
        break;
    case IFG_OP_GROUP_NORM:
        run_group_norm(e, &a, (float)af(n, IFG_ATTR_EPS, 1e-5), (int)ai(n, IFG_ATTR_GROUPS, 0, 1),
                       sx->d[0] * sx->d[1], c_last);
        break;
    case IFG_OP_ACTIVATION:
    case IFG_OP_ADD:
        a.n = rt_shape_elems(sx);
        a.total = (a.n + ELEM_CHUNK - 1) / ELEM_CHUNK;
        run_parallel(e, &a, 4);
        break;
    case IFG_OP_CONCAT_CHANNELS:
        a.c = (int)so->d[2];
        a.total = so->d[0] * so->d[1];
        run_parallel(e, &a, 256);
        break;
    case IFG_OP_CONCAT_TOKENS: {
        float *dst = y;
        for (uint32_t k = 0; k < n->n_in; k++) {
            int64_t cnt = rt_shape_elems(&e->shape[n->in[k]]);
            memcpy(dst, tensor_ptr(e, n->in[k]), (size_t)cnt * sizeof(float));
            dst += cnt;
        }
        break;
    }
    case IFG_OP_RESIZE_BILINEAR:
        a.h = (int)sx->d[0];
        a.w = (int)sx->d[1];
        a.c = (int)sx->d[2];
        a.gh = (int)so->d[0];
        a.gw = (int)so->d[1];
        a.total = so->d[0];
        run_parallel(e, &a, 4);
        break;
    case IFG_OP_ADAPTIVE_AVG_POOL:
    case IFG_OP_ADAPTIVE_MAX_POOL:
    case IFG_OP_IM2COL:
        a.h = (int)sx->d[0];
        a.w = (int)sx->d[1];
        a.c = (int)sx->d[2];
        a.gh = (int)so->d[0];
        a.gw = (int)so->d[1];
        a.kh = (int)ai(n, IFG_ATTR_KERNEL, 0, 1);
        a.kw = (int)ai(n, IFG_ATTR_KERNEL, 1, 1);
        a.cp = (ifk_conv_params){.sh = (int)ai(n, IFG_ATTR_STRIDE, 0, 1),
                                 .sw = (int)ai(n, IFG_ATTR_STRIDE, 1, 1),
                                 .pt = (int)ai(n, IFG_ATTR_PAD, 0, 0),
                                 .pl = (int)ai(n, IFG_ATTR_PAD, 1, 0),
                                 .pb = (int)ai(n, IFG_ATTR_PAD, 2, 0),
                                 .pr = (int)ai(n, IFG_ATTR_PAD, 3, 0)};
        a.total = so->d[0];
        run_parallel(e, &a, 2);
        break;
    case IFG_OP_ATTENTION:
        a.k = e->shape[n->in[1]].d[0];
        a.c = (int)c_last;
        a.heads = (int)ai(n, IFG_ATTR_HEADS, 0, 1);
        a.scale = (float)af(n, IFG_ATTR_SCALE, 1.0);
        a.total = rt_shape_elems(sx) / c_last;
        run_parallel(e, &a, 16);
        break;
    case IFG_OP_VIT_ATTENTION:
        a.h = (int)e->shape[n->in[2]].d[0];
        a.w = (int)e->shape[n->in[2]].d[1];
        a.c = (int)(c_last / 3);
        a.heads = (int)ai(n, IFG_ATTR_HEADS, 0, 1);
        a.scale = (float)af(n, IFG_ATTR_SCALE, 1.0);
        a.gh = (int)ai(n, IFG_ATTR_WINDOW, 0, 1);
        a.gw = (int)ai(n, IFG_ATTR_WINDOW, 1, 1);
        a.total = sx->d[0];
        run_parallel(e, &a, 16);
        break;
    case IFG_OP_TOKENS_FROM_GRID:
        ifk_tokens_from_grid(x, (int)sx->d[0], (int)sx->d[1], (int)sx->d[2], in1, in2,
                             (int)ai(n, IFG_ATTR_WINDOW, 0, 1), (int)ai(n, IFG_ATTR_WINDOW, 1, 1),
                             y);
        break;
    case IFG_OP_TOKENS_TO_GRID:
        memcpy(y, x + c_last, (size_t)rt_shape_elems(so) * sizeof(float));
        break;
    case IFG_OP_REF_EMBED: {
        const uint8_t *lab = (const uint8_t *)x;
        const rt_shape *tab = &e->shape[n->in[1]];
        int64_t hw = sx->d[0] * sx->d[1];
        for (int64_t i = 0; i < hw; i++)
            if (lab[i] >= tab->d[0])
                return rt_fail(e->err, sizeof e->err, IF_ERR_INVALID_ARG,
                               "reference label %u at pixel (%lld, %lld) is not below %lld", lab[i],
                               (long long)(i / sx->d[1]), (long long)(i % sx->d[1]),
                               (long long)tab->d[0]);
        a.h = (int)sx->d[0];
        a.w = (int)sx->d[1];
        a.gh = (int)so->d[0];
        a.gw = (int)so->d[1];
        a.total = so->d[0];
        run_parallel(e, &a, 2);
        break;
    }
    case IFG_OP_CROP:
    case IFG_OP_PASTE: {
        int64_t s = ai(n, IFG_ATTR_STRIDE, 0, 1);
        const int32_t *roi = n->op == IFG_OP_CROP ? in1 : in2;
        int y0 = roi ? (int)(roi[1] / s) : 0, x0 = roi ? (int)(roi[0] / s) : 0;
        if (n->op == IFG_OP_CROP) {
            ifk_crop(x, (int)sx->d[0], (int)sx->d[1], (int)sx->d[2], y0, x0, (int)so->d[0],
                     (int)so->d[1], y);
        } else {
            const rt_shape *sp = &e->shape[n->in[1]];
            memcpy(y, x, (size_t)rt_shape_elems(sx) * sizeof(float));
            ifk_paste(y, (int)sx->d[0], (int)sx->d[1], (int)sx->d[2], y0, x0, (int)sp->d[0],
                      (int)sp->d[1], in1);
        }
        break;
    }
    default: return rt_fail(e->err, sizeof e->err, IF_ERR_BAD_OP, "op %u not supported", n->op);
    }
    return IF_OK;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* run_node, timed into node_ms when profiling. */
static if_status run_timed(rt_exec *e, uint32_t idx) {
    if (!e->node_ms) return run_node(e, idx);
    double t0 = now_ms();
    if_status s = run_node(e, idx);
    e->node_ms[idx] += now_ms() - t0;
    return s;
}

static if_status check_bound(rt_exec *e, int per_click) {
    const ifg_graph *g = &e->p->m->g;
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const ifg_io *io = &g->inputs[i];
        if (!!(io->flags & IFG_IN_PER_CLICK) != per_click || (io->flags & IFG_IN_OPTIONAL))
            continue;
        if (!e->bound[io->tensor]) {
            const ifg_tensor *t = &g->tensors[io->tensor];
            return rt_fail(e->err, sizeof e->err, IF_ERR_STATE, "input '%.*s' is not bound",
                           (int)t->name_len, t->name);
        }
    }
    return IF_OK;
}

if_status rt_exec_run_image(rt_exec *e) {
    if (!e) return IF_ERR_INVALID_ARG;
    if_status s = check_bound(e, 0);
    if (s != IF_OK) return s;
    memcpy(e->shape, e->p->shape, e->p->m->g.n_tensors * sizeof *e->shape);
    e->image_ready = 0;
    const uint32_t n = e->p->n_image;
    for (uint32_t k = 0; k < n; k++) {
        if ((s = run_timed(e, e->p->order[k])) != IF_OK) return s;
        /* Between nodes: a cancelled run leaves nothing half-written that a
         * later run would trust (image_ready stays 0). */
        if (e->progress && e->progress(e->progress_user, (double)(k + 1) / n))
            return rt_fail(e->err, sizeof e->err, IF_ERR_CANCELLED,
                           "cancelled by the progress callback");
    }
    e->image_ready = 1;
    return IF_OK;
}

if_status rt_exec_run_click(rt_exec *e) {
    if (!e) return IF_ERR_INVALID_ARG;
    if (!e->image_ready)
        return rt_fail(e->err, sizeof e->err, IF_ERR_STATE,
                       "per-image part not run for these inputs");
    if_status s = check_bound(e, 1);
    if (s != IF_OK) return s;
    const rt_plan *p = e->p;
    const ifg_graph *g = &p->m->g;
    /* A ROI changes the shapes below each CROP; re-derive them (this also
     * validates the ROI against every stride). */
    const int32_t *roi = NULL;
    for (uint32_t i = 0; i < g->n_inputs; i++)
        if ((g->inputs[i].flags & IFG_IN_OPTIONAL) &&
            g->tensors[g->inputs[i].tensor].dtype == IFG_I32)
            roi = e->bound[g->inputs[i].tensor];
    if (roi)
        s = rt_infer_shapes(p->m, p->H, p->W, roi, e->shape, NULL, e->err, sizeof e->err);
    else
        memcpy(e->shape, p->shape, g->n_tensors * sizeof *e->shape);
    if (s != IF_OK) return s;
    for (uint32_t k = p->n_image; k < g->n_nodes; k++)
        if ((s = run_timed(e, p->order[k])) != IF_OK) return s;
    return IF_OK;
}

const float *rt_exec_output(const rt_exec *e, const char *name, rt_shape *shape) {
    if (!e || !name) return NULL;
    const ifg_graph *g = &e->p->m->g;
    int64_t t = ifg_find_tensor(g, name);
    int is_output = 0;
    for (uint32_t i = 0; t >= 0 && i < g->n_outputs; i++) is_output |= g->outputs[i] == (uint32_t)t;
    if (!is_output) return NULL;
    if (shape) *shape = e->shape[t];
    return (const float *)(e->arena + e->p->offset[t]);
}
