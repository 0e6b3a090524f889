/* op.c -- the helpers every op file uses (runtime/op.h): operand and
 * attribute access, shape errors, ROI windows, the thread split. */
#include <stdio.h>

#include "runtime/op.h"
#include "runtime/threadpool.h"

const rt_shape *rt_in_shape(const rt_infer_ctx *c, uint32_t i) {
    if (i >= c->n->n_in || c->n->in[i] == IFG_NO_TENSOR) return NULL;
    return &c->shape[c->n->in[i]];
}

if_status rt_bad_shape(const rt_infer_ctx *c, const char *what) {
    return rt_fail(c->err, c->cap, IF_ERR_BAD_SHAPE, "node '%.*s' (%s): %s", (int)c->n->name_len,
                   c->n->name, ifg_op_name(c->n->op), what);
}

void rt_shape3(rt_shape *s, int64_t a, int64_t b, int64_t c) {
    s->rank = 3;
    s->d[0] = a;
    s->d[1] = b;
    s->d[2] = c;
}

if_status rt_roi_window(const rt_infer_ctx *c, const int32_t *roi, int64_t s, int64_t h, int64_t w,
                        int64_t win[4]) {
    if (!roi) {
        win[0] = 0;
        win[1] = 0;
        win[2] = h;
        win[3] = w;
        return IF_OK;
    }
    int64_t l = roi[0], u = roi[1], r = roi[2], b = roi[3];
    if (s <= 0 || l % s || u % s || r % s || b % s)
        return rt_fail(c->err, c->cap, IF_ERR_INVALID_ARG,
                       "roi [%lld,%lld,%lld,%lld] is not a multiple of stride %lld", (long long)l,
                       (long long)u, (long long)r, (long long)b, (long long)s);
    if (l < 0 || u < 0 || l >= r || u >= b || r / s > w || b / s > h)
        return rt_fail(c->err, c->cap, IF_ERR_INVALID_ARG,
                       "roi [%lld,%lld,%lld,%lld] is empty or outside the %lldx%lld map of stride "
                       "%lld",
                       (long long)l, (long long)u, (long long)r, (long long)b, (long long)h,
                       (long long)w, (long long)s);
    win[0] = u / s;
    win[1] = l / s;
    win[2] = b / s - u / s;
    win[3] = r / s - l / s;
    return IF_OK;
}

int64_t rt_attr_i(const ifg_node *n, ifg_attr_key k, uint32_t idx, int64_t dflt) {
    const ifg_attr *a = ifg_node_attr(n, k);
    return (a && idx < a->count && a->type == IFG_ATTR_INT) ? a->v.i[idx] : dflt;
}

double rt_attr_f(const ifg_node *n, ifg_attr_key k, double dflt) {
    const ifg_attr *a = ifg_node_attr(n, k);
    return (a && a->count && a->type == IFG_ATTR_FLOAT) ? a->v.f[0] : dflt;
}

/* ---------------------------------------------------------------------- */

const rt_shape *rt_node_in_shape(const rt_node *nd, uint32_t i) { return &nd->shape[nd->n->in[i]]; }

const rt_shape *rt_node_out_shape(const rt_node *nd) { return &nd->shape[nd->n->out[0]]; }

typedef struct {
    const rt_node *nd;
    rt_range_fn fn;
    const void *arg;
    int64_t total;
    int tasks;
} split;

static void split_task(void *ctx, int task, int thread) {
    const split *s = (const split *)ctx;
    const int64_t lo = s->total * task / s->tasks, hi = s->total * (task + 1) / s->tasks;
    if (lo >= hi) return;
    void *scratch = s->nd->scratch ? s->nd->scratch + (size_t)thread * s->nd->scratch_stride : NULL;
    s->fn(s->arg, lo, hi, scratch);
}

void rt_parallel(const rt_node *nd, int64_t total, int64_t min_per_task, rt_range_fn fn,
                 const void *arg) {
    int t = rt_pool_threads(nd->pool);
    if (min_per_task < 1) min_per_task = 1;
    if (total / min_per_task < t) t = (int)(total / min_per_task);
    split s = {nd, fn, arg, total, t < 1 ? 1 : t};
    rt_pool_run(nd->pool, s.tasks, split_task, &s);
}

typedef struct {
    rt_range_fn fn;
    const void *arg;
    int64_t n;
} elems;

static void elem_chunks(const void *arg, int64_t lo, int64_t hi, void *scratch) {
    const elems *e = (const elems *)arg;
    const int64_t end = hi * RT_ELEM_CHUNK < e->n ? hi * RT_ELEM_CHUNK : e->n;
    e->fn(e->arg, lo * RT_ELEM_CHUNK, end, scratch);
}

void rt_parallel_elems(const rt_node *nd, int64_t n, rt_range_fn fn, const void *arg) {
    const elems e = {fn, arg, n};
    rt_parallel(nd, (n + RT_ELEM_CHUNK - 1) / RT_ELEM_CHUNK, RT_ELEM_MIN_CHUNKS, elem_chunks, &e);
}
