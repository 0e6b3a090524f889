/* runtime.h -- graph runtime of InterFormer-C (internal).
 *
 *   rt_model  a loaded, validated graph file and its weights (read-only,
 *             shareable between threads): f32, but the f16 weights of a
 *             file with them stay f16 where every use takes f16
 *             (LINEAR weights), the rest widened at load (model.c).
 *   rt_plan   everything that depends on the image size: the shape of every
 *             tensor, the execution order (per-image nodes first, then
 *             per-click nodes) and each tensor's offset in ONE arena,
 *             placed by liveness. Read-only once built.
 *   rt_exec   one arena plus input bindings: the only mutable state. Runs
 *             allocate nothing.
 *
 * Per-image vs per-click: a node is per-click when it depends (directly or
 * through other nodes) on a graph input flagged PER_CLICK. All other nodes
 * depend on the image alone; rt_exec_run_image() runs them once and their
 * results stay in the arena for every rt_exec_run_click(). */
#ifndef IF_RUNTIME_H
#define IF_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "format/ifg.h"
#include "interformer.h"

#define RT_ERR_CAP 256

typedef struct {
    int rank;
    int64_t d[IFG_MAX_RANK];
} rt_shape;

/* Number of elements of a shape. */
static inline int64_t rt_shape_elems(const rt_shape *s) {
    int64_t e = 1;
    for (int i = 0; i < s->rank; i++) e *= s->d[i];
    return e;
}

typedef struct rt_model {
    void *image; /* the file image (owned unless borrowed) */
    size_t image_size;
    int image_owned;
    ifg_graph g;
    const void **weights;    /* per tensor: data of CONSTs, NULL for VALUEs: f32, or */
    uint8_t *f16;            /* where f16[t], IEEE half, in place in the image (model.c) */
    float *converted;        /* f16 -> f32 copies (one block) of the other f16 weights */
    size_t converted_bytes;  /* its size */
    int64_t max_crop_stride; /* largest CROP/PASTE stride, 0 when none */
} rt_model;

/* Nodes the plan runs as one kernel call (runtime/fuse.c): an inverted
 * bottleneck, CONV2D 1x1 -> depthwise CONV2D 3x3 -> CONV2D 1x1 (-> ADD),
 * or a CONCAT_CHANNELS read only by a CONV2D, with the RESIZE_BILINEARs
 * that upsample its parts and are read by it alone. */
typedef enum { RT_CHAIN_INV_BOTTLENECK = 1, RT_CHAIN_CONCAT_CONV = 2 } rt_chain_kind;

enum { RT_CHAIN_MAX_PARTS = 8, RT_CHAIN_MAX_NODES = 2 + RT_CHAIN_MAX_PARTS };

typedef struct {
    rt_chain_kind kind;
    uint32_t node[RT_CHAIN_MAX_NODES]; /* inverted bottleneck: expand, depthwise,
                       * project, add (UINT32_MAX: no add); concat: the concat,
                       * the conv, the resizes; UINT32_MAX after the last */
    uint32_t res;                      /* the add's other operand, or IFG_NO_TENSOR */
    uint32_t out; /* what the chain writes: the add's output, else the projection's */
    uint32_t src[RT_CHAIN_MAX_PARTS]; /* concat: part k's map before its resize,
                                       * or IFG_NO_TENSOR (not resized) */
} rt_chain;

typedef struct rt_plan {
    const rt_model *m;
    int H, W;              /* padded image height, width */
    int threads;           /* each node's scratch is planned once per thread */
    rt_shape *shape;       /* per tensor, for the whole-image (no ROI) case */
    uint64_t *offset;      /* per tensor: arena byte offset; UINT64_MAX if not in the arena */
    uint64_t *scratch;     /* per node: arena byte offset of its scratch (or UINT64_MAX) */
    size_t *scratch_bytes; /* per node: bytes of one thread's scratch (64-aligned stride) */
    uint32_t *order;       /* node indices in execution order */
    uint32_t n_image;      /* order[0..n_image) run per image, the rest per click */
    size_t arena_bytes;
    uint8_t *per_click; /* per node: 1 when it depends on a PER_CLICK input */
    int32_t *chain;     /* per node: index of its fused chain, or -1; the chain's
                         * first node runs it, the others are skipped */
    rt_chain *chains;
    uint32_t n_chains;
} rt_plan;

typedef struct rt_exec {
    const rt_plan *p;
    const struct ifk_ops *ops; /* kernels (kernels/dispatch.h) */
    struct rt_pool *pool;      /* plan->threads workers, created once */
    uint8_t *arena;
    const void **bound; /* per tensor: caller's input data, or NULL */
    rt_shape *shape;    /* current shapes (differ from the plan's under a ROI) */
    int image_ready;    /* rt_exec_run_image() done for the current bindings */
    const void **prep;  /* per node: weights prepared for its kernel (e.g. Winograd
                            * transforms), or NULL; all in prep_block */
    uint8_t *prep_block;
    size_t prep_bytes;
    double *node_ms; /* per node: milliseconds summed over runs, when the
                            * environment had IF_PROFILE set at creation; else NULL */
    int (*progress)(void *user, double fraction); /* rt_exec_run_image calls it after each
                            * node; nonzero cancels (IF_ERR_CANCELLED). NULL: none */
    void *progress_user;
    char err[RT_ERR_CAP];
} rt_exec;

/* Load from a file (read into memory) or from a caller buffer (borrowed:
 * must outlive the model, f32 weights are used in place). mem_limit: the
 * budget of the load's own allocations (file image, f16 weights widened), as
 * if_options.mem_limit; 0 = automatic. */
if_status rt_model_load_file(const char *path, size_t mem_limit, rt_model **out, char *err,
                             size_t cap);
if_status rt_model_load_buffer(const void *buf, size_t size, int copy, size_t mem_limit,
                               rt_model **out, char *err, size_t cap);
void rt_model_free(rt_model *m);

/* Plans the graph for an H x W padded image (each a positive multiple of the
 * model's pad multiple), for runs on `threads` threads. */
if_status rt_plan_new(const rt_model *m, int H, int W, int threads, rt_plan **out, char *err,
                      size_t cap);
void rt_plan_free(rt_plan *p);

/* Shapes of all nodes' outputs, for a given ROI (NULL: whole image). Also
 * the validation of every op's operand shapes. Used by the planner and by
 * the executor when a ROI changes the per-click shapes. */
if_status rt_infer_shapes(const rt_model *m, int H, int W, const int32_t *roi, rt_shape *shape,
                          size_t *scratch_bytes, char *err, size_t cap);

/* An executor with the given kernels (ifk_select) and a pool of the plan's
 * thread count: the only allocations of a run's life. */
if_status rt_exec_new(const rt_plan *p, const struct ifk_ops *ops, rt_exec **out);
void rt_exec_free(rt_exec *e);
/* Bytes rt_exec_new allocates for prepared weights (prep_block) with these
 * kernels: known from the plan, so a budget can count them beforehand. */
size_t rt_exec_prep_bytes(const rt_plan *p, const struct ifk_ops *ops);
/* Binds a graph input by name. data must stay valid until the next run. */
if_status rt_exec_bind(rt_exec *e, const char *name, const void *data, size_t bytes);
/* Runs the per-image nodes (all nodes of an encoder). */
if_status rt_exec_run_image(rt_exec *e);
/* Runs the per-click nodes; needs rt_exec_run_image() after the last change
 * of a per-image input. */
if_status rt_exec_run_click(rt_exec *e);
/* Tensor t's data as a run sees it: a constant of the model (f32, or
 * IEEE half where m->f16[t]), an arena tensor or a bound input; NULL for
 * IFG_NO_TENSOR or an unbound input. */
const void *rt_exec_tensor(const rt_exec *e, uint32_t t);
/* Output by name; NULL when absent. */
const float *rt_exec_output(const rt_exec *e, const char *name, rt_shape *shape);

/* Internal allocator: every allocation of the library goes through these,
 * so tests can prove a run allocates nothing. */
void *rt_malloc(size_t n);
void *rt_calloc(size_t n, size_t size);
void rt_free(void *p);
/* align must be a power of two and a multiple of sizeof(void *). */
void *rt_aligned_alloc(size_t align, size_t n);
void rt_aligned_free(void *p);
uint64_t rt_alloc_count(void);

/* The memory budget (runtime/membudget.c): a call that allocates by the
 * image size adds up everything it is about to allocate and asks first, so
 * that an absurd size is an error, not an OOM kill. */
typedef struct {
    const char *what; /* "arena", "input", ...: named in the detail */
    uint64_t bytes;
} rt_mem_part;

/* Bytes one call may allocate: limit when nonzero (if_options.mem_limit),
 * else what this machine can give now (0 when it cannot tell: no budget).
 * *source (may be NULL) names where the figure came from. */
uint64_t rt_mem_budget(size_t limit, const char **source);

/* IF_OK when the parts together fit the budget for `limit` (and the address
 * space); else IF_ERR_NO_MEMORY with err set to "<fmt...> needs N (part N,
 * ...); the budget is N (source)". has_option: the call has if_options, so
 * the detail may point at if_options.mem_limit. */
if_status rt_mem_check(size_t limit, int has_option, const rt_mem_part *parts, int n, char *err,
                       size_t cap, const char *fmt, ...) IFP_PRINTF(7, 8);

/* Formats into err (may be NULL) and returns s: the readers' convention
 * (format/ifg.h's ifg_fail) under the runtime's name. */
#define rt_fail ifg_fail

#endif
