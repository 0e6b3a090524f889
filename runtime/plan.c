/* plan.c -- execution order, tensor lifetimes and the one arena.
 *
 * The arena is planned once per image size. Every intermediate tensor (and
 * every node's scratch) gets a byte range in it, chosen so that tensors
 * whose lifetimes overlap never share bytes: greedy placement by decreasing
 * size, each at the lowest offset that fits beside the already placed
 * tensors it is alive with. Graph inputs are bound by the caller and take no
 * arena space.
 *
 * Zoom-in graphs crop refined windows out of their maps; a ROI changes the
 * shapes downstream of a CROP. The plan sizes every tensor for the largest
 * bytes it takes over all ROI sizes the graph accepts, so one arena serves
 * every click. */
#include <stdlib.h>
#include <string.h>

#include "runtime/op.h"
#include "runtime/runtime.h"

#define ARENA_ALIGN 64u

typedef struct {
    size_t bytes;
    uint32_t start, end; /* positions in the execution order, inclusive */
    uint64_t *slot;      /* where to store the offset */
} item;

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN; }

static size_t tensor_bytes(const rt_shape *s, uint32_t dtype) {
    return (size_t)rt_shape_elems(s) * ifg_dtype_size(dtype);
}

static int by_size_desc(const void *a, const void *b) {
    const item *x = (const item *)a, *y = (const item *)b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int by_offset(const void *a, const void *b) {
    const item *const *x = (const item *const *)a, *const *y = (const item *const *)b;
    return *(*x)->slot < *(*y)->slot ? -1 : *(*x)->slot > *(*y)->slot;
}

/* Places items (sorted by size, descending) and returns the arena size. */
static size_t place(item *it, uint32_t n, const item **live) {
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nl = 0;
        for (uint32_t j = 0; j < i; j++)
            if (it[j].start <= it[i].end && it[i].start <= it[j].end) live[nl++] = &it[j];
        qsort(live, nl, sizeof *live, by_offset);
        size_t off = 0;
        for (uint32_t j = 0; j < nl; j++) {
            size_t lo = (size_t)*live[j]->slot, hi = lo + live[j]->bytes;
            if (lo >= off + it[i].bytes) break; /* fits in the gap before live[j] */
            if (hi > off) off = hi;
        }
        *it[i].slot = off;
        if (off + it[i].bytes > total) total = off + it[i].bytes;
    }
    return total;
}

/* Largest bytes per tensor and scratch per node over every ROI size. */
static if_status max_over_rois(const rt_model *m, int H, int W, size_t *tbytes, size_t *sbytes,
                               rt_shape *tmp, size_t *tmp_s, char *err, size_t cap) {
    const ifg_graph *g = &m->g;
    int64_t S = m->max_crop_stride;
    for (int64_t kh = 1; kh <= H / S; kh++)
        for (int64_t kw = 1; kw <= W / S; kw++) {
            int32_t roi[4] = {0, 0, (int32_t)(kw * S), (int32_t)(kh * S)};
            if_status s = rt_infer_shapes(m, H, W, roi, tmp, tmp_s, err, cap);
            if (s != IF_OK) return s;
            for (uint32_t t = 0; t < g->n_tensors; t++) {
                size_t b = tensor_bytes(&tmp[t], g->tensors[t].dtype);
                if (b > tbytes[t]) tbytes[t] = b;
            }
            for (uint32_t i = 0; i < g->n_nodes; i++)
                if (tmp_s[i] > sbytes[i]) sbytes[i] = tmp_s[i];
        }
    return IF_OK;
}

if_status rt_plan_new(const rt_model *m, int H, int W, int threads, rt_plan **out, char *err,
                      size_t cap) {
    if (!m || !out) return rt_fail(err, cap, IF_ERR_INVALID_ARG, "NULL model or out");
    *out = NULL;
    const ifg_graph *g = &m->g;
    int64_t pad = 32;
    if (!ifg_meta_int(g, "preprocess.pad_multiple", 0, &pad) || pad < 1) pad = 32;
    if (H < 1 || W < 1 || H > (1 << 16) || W > (1 << 16) || H % pad || W % pad)
        return rt_fail(err, cap, IF_ERR_INVALID_ARG,
                       "padded size %dx%d must be positive multiples of %lld, at most 65536", H, W,
                       (long long)pad);
    uint32_t nt = g->n_tensors, nn = g->n_nodes;
    rt_plan *p = (rt_plan *)rt_calloc(1, sizeof *p);
    size_t *tbytes = (size_t *)rt_calloc(nt, sizeof *tbytes);
    uint8_t *dyn = (uint8_t *)rt_calloc(nt, 1);
    uint32_t *pos = (uint32_t *)rt_calloc(nn, sizeof *pos);
    uint32_t *first = (uint32_t *)rt_calloc(nt, sizeof *first),
             *last = (uint32_t *)rt_calloc(nt, sizeof *last);
    item *it = (item *)rt_calloc((size_t)nt + nn, sizeof *it);
    const item **live = (const item **)rt_calloc((size_t)nt + nn, sizeof *live);
    rt_shape *tmp = (rt_shape *)rt_calloc(nt, sizeof *tmp);
    size_t *tmp_s = (size_t *)rt_calloc(nn, sizeof *tmp_s);
    if_status s = IF_OK;
    uint32_t at = 0, end = nn ? nn - 1 : 0, ni = 0; /* here: C++ gotos may not skip them */
    if (!p || !tbytes || !dyn || !pos || !first || !last || !it || !live || !tmp || !tmp_s) {
        s = rt_fail(err, cap, IF_ERR_NO_MEMORY, "plan tables");
        goto done;
    }
    p->m = m;
    p->H = H;
    p->W = W;
    p->threads = threads < 1 ? 1 : threads > 256 ? 256 : threads;
    p->shape = (rt_shape *)rt_calloc(nt, sizeof *p->shape);
    p->offset = (uint64_t *)rt_calloc(nt, sizeof *p->offset);
    p->scratch = (uint64_t *)rt_calloc(nn, sizeof *p->scratch);
    p->scratch_bytes = (size_t *)rt_calloc(nn, sizeof *p->scratch_bytes);
    p->order = (uint32_t *)rt_calloc(nn, sizeof *p->order);
    p->per_click = (uint8_t *)rt_calloc(nn, 1);
    if (!p->shape || !p->offset || !p->scratch || !p->scratch_bytes || !p->order || !p->per_click) {
        s = rt_fail(err, cap, IF_ERR_NO_MEMORY, "plan tables");
        goto done;
    }

    s = rt_infer_shapes(m, H, W, NULL, p->shape, p->scratch_bytes, err, cap);
    if (s != IF_OK) goto done;
    for (uint32_t t = 0; t < nt; t++) tbytes[t] = tensor_bytes(&p->shape[t], g->tensors[t].dtype);
    if (m->max_crop_stride > 0) {
        s = max_over_rois(m, H, W, tbytes, p->scratch_bytes, tmp, tmp_s, err, cap);
        if (s != IF_OK) goto done;
    }

    /* Per-click marking, then order: per-image nodes first. */
    for (uint32_t i = 0; i < g->n_inputs; i++)
        if (g->inputs[i].flags & IFG_IN_PER_CLICK) dyn[g->inputs[i].tensor] = 1;
    for (uint32_t i = 0; i < nn; i++) {
        const ifg_node *n = &g->nodes[i];
        for (uint32_t k = 0; k < n->n_in; k++)
            if (n->in[k] != IFG_NO_TENSOR && dyn[n->in[k]]) p->per_click[i] = 1;
        for (uint32_t k = 0; k < n->n_out; k++) dyn[n->out[k]] = p->per_click[i];
    }
    for (int phase = 0; phase < 2; phase++)
        for (uint32_t i = 0; i < nn; i++)
            if (p->per_click[i] == phase) {
                if (phase == 0) p->n_image++;
                pos[i] = at;
                p->order[at++] = i;
            }

    s = rt_fuse_plan(p, pos, err, cap);
    if (s != IF_OK) goto done;

    /* Lifetimes in execution positions. A per-image result read by a
     * per-click node, and every graph output, lives to the end. */
    for (uint32_t t = 0; t < nt; t++) {
        first[t] = UINT32_MAX;
        p->offset[t] = UINT64_MAX;
    }
    for (uint32_t i = 0; i < nn; i++) {
        const ifg_node *n = &g->nodes[i];
        for (uint32_t j = 0; j < n->n_out; j++) first[n->out[j]] = last[n->out[j]] = pos[i];
    }
    for (uint32_t i = 0; i < nn; i++) {
        const ifg_node *n = &g->nodes[i];
        for (uint32_t j = 0; j < n->n_in; j++) {
            uint32_t t = n->in[j];
            if (t == IFG_NO_TENSOR || first[t] == UINT32_MAX) continue;
            uint32_t until = (p->per_click[i] && !dyn[t]) ? end : pos[i];
            if (until > last[t]) last[t] = until;
        }
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) last[g->outputs[i]] = end;
    /* A fused chain: its head writes its output; what lies between its
     * nodes is never whole (no bytes); its scratch is the fused kernel's. */
    for (uint32_t k = 0; k < p->n_chains; k++) {
        const rt_chain *c = &p->chains[k];
        for (int j = 0; j < RT_CHAIN_MAX_NODES; j++) {
            if (c->node[j] == UINT32_MAX) continue;
            const uint32_t t = g->nodes[c->node[j]].out[0];
            if (t != c->out) first[t] = UINT32_MAX;
            p->scratch_bytes[c->node[j]] = 0;
        }
        first[c->out] = pos[c->node[0]];
        /* A resize the head runs: its input lives until the head. */
        for (int j = 0; j < RT_CHAIN_MAX_PARTS; j++)
            if (c->src[j] != IFG_NO_TENSOR && first[c->src[j]] != UINT32_MAX &&
                last[c->src[j]] < pos[c->node[0]])
                last[c->src[j]] = pos[c->node[0]];
        p->scratch_bytes[c->node[0]] = rt_chain_scratch_bytes(p, c);
    }

    for (uint32_t t = 0; t < nt; t++)
        if (first[t] != UINT32_MAX) {
            const item x = {align_up(tbytes[t]), first[t], last[t], &p->offset[t]};
            it[ni++] = x;
        }
    for (uint32_t i = 0; i < nn; i++) {
        p->scratch[i] = UINT64_MAX;
        p->scratch_bytes[i] = align_up(p->scratch_bytes[i]);
        if (p->scratch_bytes[i]) {
            const item x = {p->scratch_bytes[i] * (size_t)p->threads, pos[i], pos[i],
                            &p->scratch[i]};
            it[ni++] = x;
        }
    }
    qsort(it, ni, sizeof *it, by_size_desc);
    p->arena_bytes = place(it, ni, live);

done:
    rt_free(tbytes);
    rt_free(dyn);
    rt_free(pos);
    rt_free(first);
    rt_free(last);
    rt_free(it);
    rt_free(live);
    rt_free(tmp);
    rt_free(tmp_s);
    if (s != IF_OK) {
        rt_plan_free(p);
        return s;
    }
    *out = p;
    return IF_OK;
}

void rt_plan_free(rt_plan *p) {
    if (!p) return;
    rt_free(p->shape);
    rt_free(p->offset);
    rt_free(p->scratch);
    rt_free(p->scratch_bytes);
    rt_free(p->order);
    rt_free(p->per_click);
    rt_free(p->chain);
    rt_free(p->chains);
    rt_free(p);
}
