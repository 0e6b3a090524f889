/* op.h -- the operator table: everything the runtime knows of one op, in
 * the op's own file (runtime/ops/<op>.c).
 *
 * An op is four functions over plain data, filled into one rt_op:
 *
 *   infer   the op's shape rule: checks its operands' shapes (the format's
 *           reader has checked ranks, counts and attributes already) and
 *           gives the output shape and the scratch one thread needs;
 *   run     the kernel call: reads the node's inputs, splits the work over
 *           the executor's threads (rt_parallel) and calls the kernels of
 *           kernels/dispatch.h (or the portable ones of kernels/kernels.h);
 *   flops   the arithmetic of one run, for profiles and benchmarks (NULL:
 *           data movement only, counted as 0);
 *   prep    optional: weights the kernels want prepared once per executor
 *           (e.g. Winograd-transformed), its size and the preparation.
 *
 * runtime/ops/table.c puts them in rt_op_table, indexed by op code, from the
 * op list of format/ifg.h (IFG_OP_LIST): an op in the list without its
 * rt_op_<name> does not link. docs/adding-an-operator.md is the checklist.
 *
 * Layering: the graph engine (shape.c, exec.c) calls ops only through this
 * table; ops call only the helpers below (runtime/op.c), the thread pool
 * and the kernels, never the engine. */
#ifndef IF_RUNTIME_OP_H
#define IF_RUNTIME_OP_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/dispatch.h"
#include "runtime/runtime.h"

/* ------------------------------------------------------------ shape rule */

/* What infer sees: the node, the shapes of every tensor so far (inputs and
 * constants first, then each node's output in node order) and the ROI of
 * this run (NULL: the whole image). */
typedef struct rt_infer_ctx {
    const rt_model *m;
    const ifg_node *n;
    const rt_shape *shape;
    const int32_t *roi;
    char *err;
    size_t cap;
} rt_infer_ctx;

/* Input i's shape; NULL for an absent optional input. */
const rt_shape *rt_in_shape(const rt_infer_ctx *c, uint32_t i);

/* IF_ERR_BAD_SHAPE with "node 'NAME' (OP): what". */
if_status rt_bad_shape(const rt_infer_ctx *c, const char *what);

/* Sets s to the rank-3 shape (a, b, c). */
void rt_shape3(rt_shape *s, int64_t a, int64_t b, int64_t c);

/* The window [y0, x0, h, w] a ROI (left, top, right, bottom in image
 * pixels, multiples of the map's stride s) selects on an h x w map of
 * stride s; the whole map when roi is NULL. IF_ERR_INVALID_ARG (with the
 * ROI in the message) when it is not on the grid or not inside. */
if_status rt_roi_window(const rt_infer_ctx *c, const int32_t *roi, int64_t s, int64_t h, int64_t w,
                        int64_t win[4]);

/* Attribute access with defaults (the reader has checked types and counts). */
int64_t rt_attr_i(const ifg_node *n, ifg_attr_key k, uint32_t idx, int64_t dflt);
double rt_attr_f(const ifg_node *n, ifg_attr_key k, double dflt);

/* ------------------------------------------------------------------- run */

/* What run sees: one node of one executor, resolved by the executor
 * (exec.c) beforehand, so that ops never call back into it: the inputs'
 * data (constants of the model, arena tensors or the caller's bindings;
 * NULL for an absent optional input), the current shapes of every tensor
 * (a ROI changes the per-click ones), the output y in the arena, the
 * node's scratch (one slice of scratch_stride bytes per thread), what the
 * op's prep made (or NULL), the pool to split work on and the executor's
 * error buffer. */
typedef struct rt_node {
    const ifg_node *n;
    const ifk_ops *k;
    const void *const *in; /* n->n_in entries */
    uint64_t in_f16;       /* bit i: input i is an f16 weight kept as IEEE half (model.c;
                            * only ever a LINEAR weight) */
    const rt_shape *shape;
    float *y;
    uint8_t *scratch;
    size_t scratch_stride;
    const void *prep;
    struct rt_pool *pool;
    char *err;
    size_t err_cap;
} rt_node;

/* Input i's data; NULL for an absent optional input. */
static inline const void *rt_in(const rt_node *nd, uint32_t i) {
    return i < nd->n->n_in ? nd->in[i] : NULL;
}
/* Input i's current shape (NULL for an absent optional input, as
 * rt_in_shape) and output 0's. */
const rt_shape *rt_node_in_shape(const rt_node *nd, uint32_t i);
const rt_shape *rt_node_out_shape(const rt_node *nd);

/* Runs fn over [0, total) split into disjoint ranges [lo, hi), one task per
 * thread (uniform work), fewer when a range would be shorter than
 * min_per_task: not worth waking a thread. scratch is the calling thread's
 * slice of the node's scratch (NULL when the node has none). Returns when
 * every range is done. */
typedef void (*rt_range_fn)(const void *arg, int64_t lo, int64_t hi, void *scratch);
void rt_parallel(const rt_node *nd, int64_t total, int64_t min_per_task, rt_range_fn fn,
                 const void *arg);

/* rt_parallel for element-wise work on n floats: ranges of whole chunks of
 * RT_ELEM_CHUNK floats (whole cache lines: no two threads write one), at
 * least RT_ELEM_MIN_CHUNKS a task; fn gets element ranges [lo, hi). */
enum { RT_ELEM_CHUNK = 4096, RT_ELEM_MIN_CHUNKS = 4 };
void rt_parallel_elems(const rt_node *nd, int64_t n, rt_range_fn fn, const void *arg);

/* Status s with a message in the executor's error buffer, from run: for
 * input data the plan could not check (e.g. a label out of range). */
#define rt_run_fail(nd, s, ...) rt_fail((nd)->err, (nd)->err_cap, (s), __VA_ARGS__)

/* ---------------------------------------------------------- fused chains */

/* A CONV2D node's kernel parameters for shapes `shape`, all output rows
 * (runtime/ops/conv2d.c). */
ifk_conv_params rt_conv2d_params(const ifg_node *n, const rt_shape *shape);
/* A convolution's output rows go to threads in blocks of this many (the
 * CONV2D op and the fused concat-conv alike): the Winograd path tiles rows
 * in fours from each call's first row, so blocks of four keep its tiles,
 * and so its results, whatever the split. */
enum { RT_CONV_ROW_BLOCK = 4 };

/* Finds the chains of the plan's graph (runtime/fuse.c; none when the
 * environment has IF_FUSE=0; bit-exact ones only with IF_FUSE=exact) and fills p->chain, p->chains, p->n_chains;
 * pos: each node's execution position. */
if_status rt_fuse_plan(rt_plan *p, const uint32_t *pos, char *err, size_t cap);
/* Chain c's scratch for one thread (shapes of the plan), its prepared
 * weights for kernels k (bytes, and the preparation into dst). */
size_t rt_chain_scratch_bytes(const rt_plan *p, const rt_chain *c);
size_t rt_chain_prep_bytes(const rt_plan *p, const rt_chain *c, const ifk_ops *k);
void rt_chain_prep(const rt_plan *p, const rt_chain *c, const ifk_ops *k, void *dst);
/* Runs chain c as its head node nd (nd->y: the chain's output; nd->prep:
 * rt_chain_prep's; nd->in: the head's inputs); res: the residual's data or
 * NULL; src[k]: the data of c->src[k] (NULL where that is IFG_NO_TENSOR). */
if_status rt_chain_run(const rt_node *nd, const rt_model *m, const rt_chain *c, const float *res,
                       const float *const src[RT_CHAIN_MAX_PARTS]);

/* -------------------------------------------------------------- the table */

typedef struct rt_op {
    if_status (*infer)(const rt_infer_ctx *c, rt_shape *out, size_t *scratch_bytes);
    if_status (*run)(const rt_node *nd);
    double (*flops)(const ifg_node *n, const rt_shape *shape);
    /* Prepared weights (both NULL when the op has none): bytes for the
     * planned shapes and these kernels (0: nothing to prepare for this
     * node), and the preparation into dst (64-byte aligned). */
    size_t (*prep_bytes)(const rt_model *m, const ifg_node *n, const rt_shape *shape,
                         const ifk_ops *k);
    void (*prep)(const rt_model *m, const ifg_node *n, const rt_shape *shape, const ifk_ops *k,
                 void *dst);
} rt_op;

/* Each op's entry, one per IFG_OP_LIST line, defined in
 * runtime/ops/<name>.c. Declared here, by name, so that its definition sees
 * the declaration: in C++ a const object without an earlier extern
 * declaration would be local to its file (and dist/interformer.h's
 * generator drops object declarations it can read, not macro-made ones). */
extern const rt_op rt_op_conv2d;
extern const rt_op rt_op_conv_transpose2d;
extern const rt_op rt_op_linear;
extern const rt_op rt_op_layer_norm;
extern const rt_op rt_op_group_norm;
extern const rt_op rt_op_activation;
extern const rt_op rt_op_add;
extern const rt_op rt_op_concat_channels;
extern const rt_op rt_op_concat_tokens;
extern const rt_op rt_op_resize_bilinear;
extern const rt_op rt_op_adaptive_avg_pool;
extern const rt_op rt_op_adaptive_max_pool;
extern const rt_op rt_op_im2col;
extern const rt_op rt_op_attention;
extern const rt_op rt_op_vit_attention;
extern const rt_op rt_op_tokens_from_grid;
extern const rt_op rt_op_tokens_to_grid;
extern const rt_op rt_op_ref_embed;
extern const rt_op rt_op_crop;
extern const rt_op rt_op_paste;

/* Indexed by op code; every code of IFG_OP_LIST has its entry. */
extern const rt_op *const rt_op_table[IFG_OP_COUNT_];

/* The op of a node (NULL for a code outside the table: the reader refuses
 * those, so only a corrupted graph in memory would see it). */
const rt_op *rt_op_of(uint32_t op);

/* FLOPs of a node for the given shapes (0 for data-movement ops). */
double rt_node_flops(const ifg_node *n, const rt_shape *shape);

#endif
