/* exec.c -- runs a planned graph: one arena, bound inputs, the nodes in
 * plan order, each by its op's run (runtime/ops/, through rt_op_table).
 *
 * Nothing here allocates after rt_exec_new(): that is what makes a click
 * cost only its arithmetic. Ops split their work into disjoint ranges on
 * the executor's thread pool (rt_parallel, runtime/op.c); each thread has
 * its own slice of the node's scratch. */
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "platform/platform.h"
#include "runtime/op.h"
#include "runtime/runtime.h"
#include "runtime/threadpool.h"

static if_status prepare_weights(rt_exec *e);

if_status rt_exec_new(const rt_plan *p, const ifk_ops *ops, rt_exec **out) {
    if (!p || !out || !ops) return IF_ERR_INVALID_ARG;
    *out = NULL;
    rt_exec *e = (rt_exec *)rt_calloc(1, sizeof *e);
    if (!e) return IF_ERR_NO_MEMORY;
    uint32_t nt = p->m->g.n_tensors;
    e->p = p;
    e->ops = ops;
    e->bound = (const void **)rt_calloc(nt, sizeof *e->bound);
    e->shape = (rt_shape *)rt_calloc(nt, sizeof *e->shape);
    e->arena = (uint8_t *)rt_aligned_alloc(64, p->arena_bytes);
    e->pool = rt_pool_new(p->threads);
    if (!e->bound || !e->shape || !e->arena || !e->pool) {
        rt_exec_free(e);
        return IF_ERR_NO_MEMORY;
    }
    /* Profiling is opt-in and decided once, so the per-click path stays free
     * of clock reads and allocations unless asked for. */
    const char *prof = getenv("IF_PROFILE");
    if (prof && *prof && strcmp(prof, "0") &&
        !(e->node_ms = (double *)rt_calloc(p->m->g.n_nodes, sizeof *e->node_ms))) {
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

const void *rt_exec_tensor(const rt_exec *e, uint32_t t) {
    if (t == IFG_NO_TENSOR) return NULL;
    const rt_model *m = e->p->m;
    if (m->weights[t]) return m->weights[t];
    if (e->p->offset[t] != UINT64_MAX) return e->arena + e->p->offset[t];
    return e->bound[t];
}

/* A node's prepared weights: its op's prep_bytes for the planned shapes,
 * rounded to whole cache lines (0: nothing to prepare). */
static size_t node_prep_bytes(const rt_plan *p, uint32_t i, const ifk_ops *ops) {
    const ifg_node *n = &p->m->g.nodes[i];
    if (p->chain && p->chain[i] >= 0) { /* the head prepares for its chain */
        const rt_chain *c = &p->chains[p->chain[i]];
        return c->node[0] == i ? (rt_chain_prep_bytes(p, c, ops) + 63) / 64 * 64 : 0;
    }
    const rt_op *op = rt_op_of(n->op);
    if (!op || !op->prep_bytes) return 0;
    return (op->prep_bytes(p->m, n, p->shape, ops) + 63) / 64 * 64;
}

size_t rt_exec_prep_bytes(const rt_plan *p, const ifk_ops *ops) {
    size_t total = 0;
    for (uint32_t i = 0; i < p->m->g.n_nodes; i++) total += node_prep_bytes(p, i, ops);
    return total;
}

/* Prepares the weights of every node whose op has something to prepare
 * (for the planned shapes), once, in one allocation: after this no click
 * and no thread transforms weights again. */
static if_status prepare_weights(rt_exec *e) {
    const rt_plan *p = e->p;
    const size_t total = rt_exec_prep_bytes(p, e->ops);
    if (!total) return IF_OK;
    e->prep = (const void **)rt_calloc(p->m->g.n_nodes, sizeof *e->prep);
    e->prep_block = (uint8_t *)rt_aligned_alloc(64, total);
    if (!e->prep || !e->prep_block) return IF_ERR_NO_MEMORY;
    e->prep_bytes = total;
    size_t at = 0;
    for (uint32_t i = 0; i < p->m->g.n_nodes; i++) {
        const size_t bytes = node_prep_bytes(p, i, e->ops);
        if (!bytes) continue;
        const ifg_node *n = &p->m->g.nodes[i];
        e->prep[i] = e->prep_block + at;
        if (p->chain && p->chain[i] >= 0)
            rt_chain_prep(p, &p->chains[p->chain[i]], e->ops, e->prep_block + at);
        else
            rt_op_of(n->op)->prep(p->m, n, p->shape, e->ops, e->prep_block + at);
        at += bytes;
    }
    return IF_OK;
}

/* One node: its op's run (runtime/ops/) on this executor's tensors. */
static if_status run_node(rt_exec *e, uint32_t idx) {
    const rt_plan *p = e->p;
    const ifg_node *n = &p->m->g.nodes[idx];
    const rt_op *op = rt_op_of(n->op);
    if (!op) return rt_fail(e->err, sizeof e->err, IF_ERR_BAD_OP, "op %u not supported", n->op);
    const rt_chain *chain = p->chain && p->chain[idx] >= 0 ? &p->chains[p->chain[idx]] : NULL;
    if (chain && chain->node[0] != idx) return IF_OK; /* its chain's head ran it */
    const void *in[IFG_MAX_NODE_IN];
    uint64_t in_f16 = 0;
    for (uint32_t i = 0; i < n->n_in; i++) {
        in[i] = rt_exec_tensor(e, n->in[i]);
        if (n->in[i] != IFG_NO_TENSOR && p->m->f16[n->in[i]]) in_f16 |= (uint64_t)1 << i;
    }
    const rt_node nd = {
        .n = n,
        .k = e->ops, /* in declaration order, as C++ requires */
        .in = in,
        .in_f16 = in_f16,
        .shape = e->shape,
        .y = (float *)(e->arena + p->offset[chain ? chain->out : n->out[0]]),
        .scratch = p->scratch[idx] != UINT64_MAX ? e->arena + p->scratch[idx] : NULL,
        .scratch_stride = p->scratch_bytes[idx],
        .prep = e->prep ? e->prep[idx] : NULL,
        .pool = e->pool,
        .err = e->err,
        .err_cap = sizeof e->err,
    };
    if (chain) {
        const float *src[RT_CHAIN_MAX_PARTS];
        for (int k = 0; k < RT_CHAIN_MAX_PARTS; k++)
            src[k] = (const float *)rt_exec_tensor(e, chain->src[k]);
        return rt_chain_run(&nd, p->m, chain, (const float *)rt_exec_tensor(e, chain->res), src);
    }
    return op->run(&nd);
}

static double now_ms(void) { return ifp_now_us() / 1e3; }

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
            roi = (const int32_t *)e->bound[g->inputs[i].tensor];
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
