/* interformer.h -- InterFormer-C: an embeddable runtime for InterFormer
 * interactive image segmentation (ICCV 2023), in C11 with libc + pthreads.
 *
 * The model is split in two graph files written by `python3 -m converter`:
 *   NAME.encoder.ifg  image -> features F1..F4   (once per image, heavy)
 *   NAME.decoder.ifg  F1..F4 + clicks -> mask     (every click, light)
 *
 * Typical use (error checks elided; every call returns an if_status):
 *
 *     if_model *enc, *dec;
 *     if_model_load("light.encoder.ifg", NULL, &enc);
 *     if_model_load("light.decoder.ifg", NULL, &dec);
 *
 *     if_features *feat;                       // once per image
 *     if_encode_rgb8(enc, rgb, width, height, width * 3, &feat);
 *     if_features_save(feat, "photo.iff", IF_DTYPE_F16);   // optional
 *
 *     if_session *s;                           // per image, per object
 *     if_session_new(dec, feat, &s);
 *     if_session_add_click(s, (if_click){120, 80, 1});     // x, y, positive
 *     if_session_add_click(s, (if_click){40, 200, 0});
 *     const uint8_t *mask = if_session_mask(s);            // width*height, 0/1
 *     if_session_undo(s);
 *
 *     if_session_free(s); if_features_free(feat);
 *     if_model_free(dec); if_model_free(enc);
 *
 * Conventions of this API
 *   - Every function that can fail returns an if_status; IF_OK is 0.
 *     if_status_str() names a status; objects keep a last-error detail
 *     string that says which file, value or limit was wrong.
 *   - The library never exits, aborts or prints.
 *   - Objects are created by *_load / *_new and released by the matching
 *     *_free, which accepts NULL.
 *   - Models and features are read-only after creation and may be shared by
 *     any number of threads; a session or run is used by one thread at a
 *     time.
 *   - Memory: a session allocates everything in if_session_new (one arena
 *     planned for the image size, plus the click history); clicks allocate
 *     nothing. Every call that allocates by the image or file size first
 *     adds up all it will allocate and fails with IF_ERR_NO_MEMORY, before
 *     allocating any of it, when that is over the budget (if_options.
 *     mem_limit; by default what the machine can give): an absurd size is
 *     an error with the figures in its detail, not an OOM kill.
 *   - Your own allocator: every block the library allocates comes from
 *     INTERFORMER_MALLOC(size) and goes back through INTERFORMER_FREE(ptr)
 *     (defaults: malloc and free; no realloc, no aligned variant needed:
 *     aligned blocks are carved from ordinary ones). Define both (or
 *     neither) where the implementation is compiled: before including
 *     the single header with INTERFORMER_IMPLEMENTATION, or as -D flags
 *     when building the library. Only the system's own allocations (thread
 *     stacks, stdio buffers) bypass them.
 */
#ifndef INTERFORMER_H
#define INTERFORMER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    IF_OK = 0,
    IF_ERR_INVALID_ARG,   /* a NULL pointer, a size of 0, an out-of-range value */
    IF_ERR_NO_MEMORY,     /* an allocation failed, or the call would need more
                           * than its memory budget (if_options.mem_limit) */
    IF_ERR_IO,            /* a file could not be opened, read or written */
    IF_ERR_TRUNCATED,     /* the file is shorter than its header says */
    IF_ERR_BAD_MAGIC,     /* not a file of the expected kind */
    IF_ERR_BAD_VERSION,   /* a format version this build does not read */
    IF_ERR_CHECKSUM,      /* the stored CRC does not match the contents */
    IF_ERR_BAD_OFFSET,    /* an offset or size points outside the file */
    IF_ERR_BAD_COUNT,     /* a count is over its limit or does not fit the file */
    IF_ERR_BAD_DTYPE,     /* unknown or disallowed element type */
    IF_ERR_BAD_SHAPE,     /* bad rank, dimension or shape combination */
    IF_ERR_BAD_OP,        /* unknown operator code, or wrong operand count */
    IF_ERR_BAD_ATTR,      /* unknown attribute key/type, or a bad attribute value */
    IF_ERR_BAD_TENSOR_ID, /* a node or I/O entry names a tensor that does not exist or is misused */
    IF_ERR_BAD_GRAPH,     /* structural error: ordering, duplicate producer, bad I/O */
    IF_ERR_BAD_META,      /* a metadata entry is malformed or missing */
    IF_ERR_MISMATCH,      /* inputs that do not belong together (e.g. features of another model) */
    IF_ERR_UNSUPPORTED,   /* valid but not supported by this build */
    IF_ERR_STATE,         /* call not valid in the object's current state */
    IF_ERR_CANCELLED,     /* the caller's progress callback asked to stop */
    IF_STATUS_COUNT_
} if_status;

/* Returns a static, human-readable name for a status ("checksum mismatch").
 * Never NULL, also for values outside the enum. */
const char *if_status_str(if_status s);

/* Detail of the last failure of a call made by THIS thread that had no
 * object to keep it in (loading, creating): which file, value or limit was
 * wrong. "" when there is none. Valid until the next failing call in the
 * thread. */
const char *if_last_error(void);

/* ------------------------------------------------------------------------
 * Models: one loaded graph file (an encoder or a decoder). Read-only once
 * loaded: any number of threads may use one model at the same time.
 * ---------------------------------------------------------------------- */

typedef struct if_model if_model;

typedef enum { IF_MODEL_ENCODER = 1, IF_MODEL_DECODER = 2 } if_model_kind;

typedef struct {
    int n_threads;    /* threads of each run/session (a pool created once per
                      * run/session, never per op); 0 = 1 */
    int max_clicks;   /* sessions of this model keep this many steps of
                      * history (undo); 0 = 64 */
    const char *isa;  /* kernels: NULL = $IF_ISA if set, else the best this
                      * CPU has; or "scalar", "avx2", "avx512", "neon",
                      * "wasm" (WebAssembly SIMD128: make wasm).
                      * Loading fails with IF_ERR_UNSUPPORTED when the CPU
                      * or build lacks it. */
    size_t mem_limit; /* bytes one call with this model may allocate: the
                       * load itself, if_run_new (arena, prepared weights),
                       * if_encode_rgb8 (those plus the preprocessed input and
                       * the features), if_session_new (those plus the click
                       * history and maps). A call that would need more fails
                       * with IF_ERR_NO_MEMORY before allocating any of it,
                       * the figures in its detail. Each call is counted on
                       * its own, not with what other objects hold.
                       * 0 = automatic: 7/8 of what the machine can give
                       * now (Linux: MemAvailable + SwapFree from
                       * /proc/meminfo, capped by a cgroup memory limit;
                       * Windows: the available commit charge, capped by
                       * a job object's memory limit; elsewhere the
                       * physical memory; no budget where neither is
                       * known). */
} if_options;

/* The defaults: 1 thread, 64 clicks of history, the best kernels, the
 * automatic memory budget. */
if_options if_default_options(void);

/* Loads and validates a graph file (format/FORMAT.md). opt may be NULL for
 * the defaults. On success *out owns the model (free with if_model_free).
 * Errors: IF_ERR_INVALID_ARG, IF_ERR_IO (cannot open or read), the format
 * errors (IF_ERR_TRUNCATED ... IF_ERR_BAD_META), IF_ERR_NO_MEMORY (also
 * when the file's image plus the f16 weights it widens to f32 are over
 * opt->mem_limit); detail in if_last_error(). The f16 weights of linear
 * layers stay f16 in memory (widened, exactly, as each product packs
 * them); the others are widened at load, and all of them when the
 * environment has IF_F16_WIDEN=1. */
if_status if_model_load(const char *path, const if_options *opt, if_model **out);

/* Same, from a memory image of the file. copy = 0 borrows buf (it must
 * stay valid and unchanged until if_model_free; f32 weights are used in
 * place when buf is 64-byte aligned, otherwise it is copied anyway);
 * copy = 1 makes a private copy. */
if_status if_model_load_buffer(const void *buf, size_t size, int copy, const if_options *opt,
                               if_model **out);

/* Frees a model. NULL is allowed. All runs and sessions using it must have
 * been freed first. */
void if_model_free(if_model *m);

typedef struct {
    if_model_kind kind;
    char name[64];     /* model.name */
    char identity[72]; /* model.identity: same in a model's encoder and decoder */
    int feature_channels[4];
    int feature_strides[4];
    int pad_multiple;      /* the padded image size is a multiple of this */
    float mean[3], std[3]; /* preprocessing, R, G, B */
    int click_radius;
    int zoom_in; /* 1 when the decoder refines a zoomed-in region */
    float zoom_expand_ratio;
    int zoom_min_size, zoom_start_step, zoom_max_stride;
    int64_t n_params; /* weights in the file */
    char isa[16];     /* kernels runs use: "scalar", "avx2", "avx512", "neon", "wasm" */
    int n_threads;    /* threads per run/session */
} if_model_info;

/* Fills *info from the model's metadata. */
if_status if_model_get_info(const if_model *m, if_model_info *info);

/* ------------------------------------------------------------------------
 * Images
 * ---------------------------------------------------------------------- */

/* The padded size of a height x width image for this model: each rounded
 * up to the model's pad multiple. Errors: IF_ERR_INVALID_ARG for a size
 * below 1 or above 32768. */
if_status if_padded_size(const if_model *m, int height, int width, int *padded_h, int *padded_w);

/* Writes the encoder input for an RGB8 image (3 bytes per pixel, rows
 * `stride` bytes apart): (rgb - mean) / std per channel with the model's
 * metadata, zero-padded on the bottom and right to padded_h x padded_w,
 * channels last, into dst (padded_h * padded_w * 3 floats, caller-owned).
 * Errors: IF_ERR_INVALID_ARG (NULL pointers, stride < 3*width, padded size
 * smaller than the image). */
if_status if_preprocess_rgb8(const if_model *m, const uint8_t *rgb, int width, int height,
                             size_t stride, float *dst, int padded_h, int padded_w);

/* The zoom-in region [left, up, right, bottom] (padded-image pixels,
 * half-open, multiples of the largest feature stride) that the official
 * ClickSegmentorZoomIn uses for a step: from the previous step's mask
 * (padded_h x padded_w, 1 = foreground) and the step's reference label
 * (same grid, codes 0..4). Parameters come from the decoder's metadata.
 * Errors: IF_ERR_INVALID_ARG. */
if_status if_zoom_roi(const if_model *decoder, const uint8_t *prev_mask, const uint8_t *ref_label,
                      int padded_h, int padded_w, int32_t roi[4]);

/* ------------------------------------------------------------------------
 * Runs: a model planned for one padded image size, with its own arena.
 * The low-level interface below the session API: inputs and outputs are the
 * graph's own tensors (format/FORMAT.md, "Graph interfaces"), channels-last
 * float32. One run is used by one thread at a time; several runs may share
 * a model.
 * ---------------------------------------------------------------------- */

typedef struct if_run if_run;

/* Plans `m` for a padded_h x padded_w image (positive multiples of the pad
 * multiple) and allocates its arena: the only allocation of the run.
 * Errors: IF_ERR_INVALID_ARG, IF_ERR_BAD_SHAPE (the graph does not fit this
 * size), IF_ERR_NO_MEMORY (also when the arena and prepared weights are
 * over the budget, if_options.mem_limit; detail in if_last_error()). */
if_status if_run_new(const if_model *m, int padded_h, int padded_w, if_run **out);
void if_run_free(if_run *r);

/* Bytes of the run's arena (all intermediate tensors and scratch). */
size_t if_run_arena_bytes(const if_run *r);

/* Binds graph input `name` to caller memory of exactly `bytes` bytes (the
 * input's size at this run's image size). The memory is read during the
 * next if_run_image / if_run_click and must stay valid until then. data may
 * be NULL for an optional input (the decoder's "roi"). Changing a per-image
 * input requires if_run_image() before the next if_run_click(). */
if_status if_run_set_input(if_run *r, const char *name, const void *data, size_t bytes);

/* Computes everything that depends on per-image inputs only (for an encoder:
 * everything). For a decoder this is the work shared by all clicks. */
if_status if_run_image(if_run *r);

/* Computes the per-click part of a decoder (IF_ERR_STATE before
 * if_run_image). Allocates nothing. */
if_status if_run_click(if_run *r);

/* Points *data at graph output `name` (valid until the next run call or
 * if_run_free) and writes its dims (channels last) and rank. */
if_status if_run_output(const if_run *r, const char *name, const float **data, int64_t dims[4],
                        int *rank);

/* Detail of the last failure on this run ("" if none). */
const char *if_run_error(const if_run *r);

/* ------------------------------------------------------------------------
 * Features: the encoder's output for one image (F1..F4 at strides 4, 8, 16,
 * 32, channels last, float32), with the image size and the identity of the
 * model that made them. Read-only once made: sessions in several threads
 * may share one. A big machine can encode and save them; a small one loads
 * them and clicks (format/FEATURES.md).
 * ---------------------------------------------------------------------- */

typedef struct if_features if_features;

typedef enum { IF_DTYPE_F32 = 0, IF_DTYPE_F16 = 1 } if_dtype;

typedef struct {
    int width, height;      /* the original image: clicks and masks are in it */
    int work_w, work_h;     /* the image as the model saw it (if_encode_options.
                                * max_side); = width, height at native resolution */
    int padded_w, padded_h; /* the grid the model works on (work size padded) */
    int n_levels;           /* 4 */
    int channels[4], strides[4];
    char identity[72]; /* model.identity of the encoder */
} if_features_info;

/* Runs the encoder on an RGB8 image (3 bytes per pixel, rows `stride`
 * bytes apart, any size up to 32768 x 32768): preprocessing as the model's
 * metadata says, then the graph. *out owns the result (if_features_free).
 * Errors: IF_ERR_INVALID_ARG (NULL, size, stride, not an encoder),
 * IF_ERR_NO_MEMORY, IF_ERR_BAD_SHAPE; detail in if_last_error(). Before
 * reading a pixel or allocating anything big, the whole call (input,
 * arena, prepared weights, features) is compared with the budget
 * (if_options.mem_limit): over it, IF_ERR_NO_MEMORY says how much each part
 * needs and what the budget is. */
if_status if_encode_rgb8(const if_model *encoder, const uint8_t *rgb, int width, int height,
                         size_t stride, if_features **out);

/* Options of if_encode. */
typedef struct {
    /* Working resolution: the model sees the image resized (area-averaged:
     * each output pixel the mean of the source area it covers) so that its
     * longer side is max_side, when it is longer; 0 = native resolution
     * (the official evaluation protocol). Clicks, masks and probabilities
     * stay in the original image's pixels; sessions map them. */
    int max_side;
    /* Progress: called on the calling thread with the fraction done (0..1,
     * increasing, 1 at the end); a nonzero return cancels the encode, which
     * then returns IF_ERR_CANCELLED having freed everything (the model stays
     * usable). To cancel from another thread, have the callback read a flag
     * that thread sets. NULL: no calls. */
    int (*progress)(void *user, double fraction);
    void *user;
} if_encode_options;

/* The defaults: native resolution, no progress callback. */
if_encode_options if_default_encode_options(void);

/* The size if_encode shows the model for a width x height image and
 * max_side (0 = native): the longer side becomes max_side when it is
 * longer, the shorter side is rounded (format/FEATURES.md). For checking a
 * feature file's if_features_info.work_w/work_h without encoding. Errors:
 * IF_ERR_INVALID_ARG (NULL, a size below 1, max_side below 0). */
if_status if_working_size(int width, int height, int max_side, int *work_w, int *work_h);

/* if_encode_rgb8 with options (opt NULL = the defaults): the image is given
 * at its original size (width x height, up to 1048576 per side when
 * max_side brings it to 32768 or less). Errors: those of if_encode_rgb8,
 * and IF_ERR_CANCELLED. */
if_status if_encode(const if_model *encoder, const uint8_t *rgb, int width, int height,
                    size_t stride, const if_encode_options *opt, if_features **out);

void if_features_free(if_features *f);

if_status if_features_get_info(const if_features *f, if_features_info *info);

/* Level i (0..3) as h x w x c floats, owned by f. NULL for a bad level. */
const float *if_features_level(const if_features *f, int level, int *h, int *w, int *c);

/* Saves to path atomically (a temporary file in the same directory, synced,
 * then renamed over path: readers see the old file or the whole new one; a
 * failure leaves path as it was), values as f32 (exact) or f16 (half the
 * size, rounded to nearest even). A symbolic link is followed (the file it
 * names is replaced); a path that is not a regular file (a device, a FIFO)
 * is written in place. Errors: IF_ERR_INVALID_ARG, IF_ERR_IO (detail: the file),
 * IF_ERR_NO_MEMORY (the file's image in memory is over the automatic
 * budget, see if_options.mem_limit). */
if_status if_features_save(const if_features *f, const char *path, if_dtype dtype);

/* Loads and validates a feature file (magic, version, size, checksum,
 * every level against the image size). Errors as for graph files; detail
 * in if_last_error(). The file's image and the f32 levels are checked
 * against the automatic memory budget (as with if_options.mem_limit = 0)
 * before they are allocated: over it, IF_ERR_NO_MEMORY. */
if_status if_features_load(const char *path, if_features **out);
if_status if_features_load_buffer(const void *buf, size_t size, if_features **out);

/* IF_OK when decoder can use features: same model identity, channels and
 * strides; else IF_ERR_MISMATCH with the reason in if_last_error(). */
if_status if_features_check(const if_model *decoder, const if_features *features);

/* ------------------------------------------------------------------------
 * Sessions: interactive segmentation of one image. A session binds a
 * decoder and the image's features (both must outlive it; neither is
 * modified, so many sessions in many threads may share them) and owns all
 * the memory its clicks need, allocated once in if_session_new: a click
 * allocates nothing.
 *
 * Click semantics are the official model's: each click stamps a disk of the
 * model's click radius into the reference label (definite foreground or
 * background), the decoder predicts, and the prediction updates the label's
 * "possible" codes; zoom-in decoders refine the region around the object.
 * ---------------------------------------------------------------------- */

typedef struct if_session if_session;

typedef struct {
    int x, y;     /* pixel of the original image: column, row */
    int positive; /* 1: the object is here; 0: it is not */
} if_click;

/* Errors: IF_ERR_INVALID_ARG (NULL, an encoder as decoder),
 * IF_ERR_MISMATCH (features of another model), IF_ERR_NO_MEMORY (also when
 * the decoder's arena, its prepared weights, the click history and the
 * maps together are over the decoder's budget, if_options.mem_limit,
 * checked before any of it is allocated), IF_ERR_BAD_SHAPE. Detail in
 * if_last_error(). */
if_status if_session_new(const if_model *decoder, const if_features *features, if_session **out);
void if_session_free(if_session *s);

/* Adds a click and predicts. Errors: IF_ERR_INVALID_ARG (outside the
 * image), IF_ERR_STATE (the history holds max_clicks steps: undo or
 * reset first). On error the session is unchanged. */
if_status if_session_add_click(if_session *s, if_click click);

/* Removes the last click, restoring the previous prediction exactly.
 * IF_ERR_STATE when there is no click. */
if_status if_session_undo(if_session *s);

/* Back to no clicks and no mask. */
if_status if_session_reset(if_session *s);

/* Starts from an existing mask (width x height bytes, rows `stride` bytes
 * apart, nonzero = object) instead of nothing: the mask is folded into the
 * reference label as if it were the model's previous prediction. Clears the
 * clicks. The mask is copied. */
if_status if_session_set_mask(if_session *s, const uint8_t *mask, size_t stride);

int if_session_click_count(const if_session *s);
/* The i-th click (0 = first). IF_ERR_INVALID_ARG when out of range. */
if_status if_session_get_click(const if_session *s, int i, if_click *c);

/* The current mask at the original size: width*height bytes, 1 = object,
 * 0 = not, owned by the session and valid until its next call. All 0 (or
 * the set mask) before the first click. */
const uint8_t *if_session_mask(const if_session *s);

/* Foreground probability (softmax of the two logits) at the original size
 * into dst (width*height floats). IF_ERR_STATE before the first click. */
if_status if_session_probability(const if_session *s, float *dst);

/* The last prediction's logits on the padded grid: padded_h x padded_w x 2
 * floats (background, foreground), in the decoder run's memory: NULL
 * before the first click, and after a run made for something else (a
 * preview, or another object of the same annotation) until this session
 * predicts again; if_session_probability has no such limit. */
const float *if_session_logits(const if_session *s, int *padded_h, int *padded_w);

/* Bytes the session holds (arena, weights prepared for its kernels, history,
 * maps), fixed at creation. */
size_t if_session_memory_bytes(const if_session *s);

/* Detail of the last failure on this session ("" if none). The calls that
 * take a const session (if_session_get_click, if_session_probability)
 * cannot record in it: they report in if_last_error(), as calls without
 * an object do. */
const char *if_session_error(const if_session *s);

/* ---- Editing the clicks (every call below allocates nothing) ---------- */

/* Re-applies the click the last if_session_undo removed, with its exact
 * result (one decoder run). Undone clicks stay redoable until a click is
 * added, removed or set, or the session is reset or given a mask (a click
 * refused for its coordinates changes nothing).
 * IF_ERR_STATE when there is nothing to redo. */
if_status if_session_redo(if_session *s);
/* How many undone clicks if_session_redo can re-apply (0 for NULL). */
int if_session_redo_count(const if_session *s);

/* Removes click i (0 = first) as if it had never been made: the state
 * before it is restored and the clicks after it replayed, so the result is
 * exactly that of making the other clicks alone: if_session_set_clicks
 * with the other clicks (at most one decoder run per replayed click, plus
 * one to restore the state before click i when i > 0).
 * IF_ERR_INVALID_ARG when there is no click i. On a decoder failure the
 * session holds the clicks before i and those replayed so far. */
if_status if_session_remove_click(if_session *s, int i);

/* Makes the session's clicks exactly clicks[0..n) (n = 0: none), for
 * stateless servers that send the whole list with every request. The
 * longest common prefix of the session's clicks and the list is kept
 * without running the decoder; the session steps back to it (one decoder
 * run, none when the prefix is empty or all of the session's clicks) and
 * adds the rest of the list, one decoder run each: appending one click to
 * the list costs one run, as if_session_add_click. The list is checked
 * before anything changes (IF_ERR_INVALID_ARG for a click outside the
 * image, IF_ERR_STATE for n > max_clicks); a set mask stays the base the
 * clicks start from. On a decoder failure the session holds the prefix
 * and the clicks added before the failing one. */
if_status if_session_set_clicks(if_session *s, const if_click *clicks, int n);

/* if_session_set_clicks for callers that send positive and negative
 * clicks as two lists with no order between them (CVAT's interactor
 * protocol). The policy: the lists are interleaved, pos[0], neg[0],
 * pos[1], neg[1], ..., the longer list's remainder last, each list in its
 * own order; so a click appended to either list changes the click order
 * only from that click's place on (usually the end: one decoder run). The
 * `positive` fields of the given clicks are ignored. */
if_status if_session_set_click_lists(if_session *s, const if_click *pos, int n_pos,
                                     const if_click *neg, int n_neg);

/* A preview of "what if I clicked here": writes to mask (width*height
 * bytes, 1 = object) the mask the session would have after
 * if_session_add_click(s, click), without changing the session: its
 * clicks, mask, probability and redo list stay as they were. One decoder
 * run; allocates nothing. Afterwards if_session_logits returns NULL until
 * the session's next prediction (the preview's run replaced the logits in
 * the decoder's memory). Errors: IF_ERR_INVALID_ARG (NULL mask, a click
 * outside the image); a full history is no error here. */
if_status if_session_preview(if_session *s, if_click click, uint8_t *mask);

/* How many times this session has run the decoder's per-click half (each
 * click, undo, redo, replay and preview that ran it): a statistic to see
 * what an edit cost. */
uint64_t if_session_decoder_runs(const if_session *s);

/* ------------------------------------------------------------------------
 * Annotations: several objects on one image. An annotation holds one
 * decoder run for the image (its arena, the weights prepared for its
 * kernels and the per-image half of the decoder, made once), and any
 * number of objects, each a session on that run with its own clicks,
 * history, undo and redo: an object costs its click history and maps, not
 * another decoder. Objects are numbered 1, 2, ... in the order they are
 * made (an id is never reused), and are open or finished. By default
 * (exclusive) an object's mask never takes the pixels of a finished
 * object: they are cleared from each of its predictions and from a mask
 * it is given (if_session_set_mask; the mask is kept as given, to be
 * saved), from then on (what it showed before is not redone). Open objects
 * may overlap each other. if_session_probability is the model's, not
 * cleared. A finished object's claim is its mask when it was finished:
 * reopen it before clicking it again.
 *
 * Like a session, an annotation is used by one thread at a time, and the
 * decoder and features must outlive it.
 * ---------------------------------------------------------------------- */

typedef struct if_annotation if_annotation;

/* Errors as if_session_new (the budget check covers the decoder's run and
 * the instance map; each object is checked when it is made). */
if_status if_annotation_new(const if_model *decoder, const if_features *features,
                            if_annotation **out);
/* Frees the annotation and every object's session. */
void if_annotation_free(if_annotation *a);

/* Makes a new open object and returns its id in *id. Allocates the
 * object's session (not on the click path). IF_ERR_STATE after 65535 ids,
 * IF_ERR_NO_MEMORY. */
if_status if_annotation_add_object(if_annotation *a, int *id);

/* The object's session, owned by the annotation (never if_session_free
 * it): every if_session_* call works on it. NULL for an id that is not
 * there (deleted, never made). */
if_session *if_annotation_object(if_annotation *a, int id);

/* Finishes an object: its mask, as it is, becomes the pixels later
 * predictions of the other objects leave out (when exclusive). Reopening
 * gives those pixels back (its clicks and mask are kept; it can be
 * clicked again). Deleting frees the object and its pixels. Errors:
 * IF_ERR_INVALID_ARG for an id that is not there. */
if_status if_annotation_finish(if_annotation *a, int id);
if_status if_annotation_reopen(if_annotation *a, int id);
if_status if_annotation_delete(if_annotation *a, int id);

/* Objects there are; the id of the i-th (0 = the oldest), 0 when out of
 * range; whether an object is finished (0 for an id that is not there). */
int if_annotation_count(const if_annotation *a);
int if_annotation_id(const if_annotation *a, int index);
int if_annotation_is_finished(const if_annotation *a, int id);

/* Exclusive (1, the default) or not (0): whether predictions leave out
 * finished objects' pixels from now on. */
if_status if_annotation_set_exclusive(if_annotation *a, int exclusive);
/* 1 when exclusive, 0 when not (and for NULL). */
int if_annotation_is_exclusive(const if_annotation *a);

/* The instance map: width x height 16-bit ids (0 = background), rows
 * `stride` elements apart; each pixel gets the oldest object whose mask
 * has it (open objects may overlap; objects overlap finished ones only
 * when not exclusive). */
if_status if_annotation_instance_map(const if_annotation *a, uint16_t *dst, size_t stride);

/* Bytes the annotation holds: the decoder's run and prepared weights once,
 * plus every object's session. */
size_t if_annotation_memory_bytes(const if_annotation *a);

/* Saves the annotation to path (format/ANNOTATION.md: every object's
 * clicks, the mask it was given by if_session_set_mask, finished or not;
 * not the undone clicks), whole or not at all (a temporary file renamed
 * over it). A few bytes per click: meant to sit next to the image's .iff.
 * Errors: IF_ERR_INVALID_ARG, IF_ERR_IO, IF_ERR_NO_MEMORY. */
if_status if_annotation_save(if_annotation *a, const char *path);

/* Rebuilds a saved annotation on decoder and features, which must be of
 * the same image and model (IF_ERR_MISMATCH otherwise), by replaying it:
 * each object given its mask and clicks, in the order they were made, and
 * finished if it was. Exact when each object was finished before the next
 * one got its first click, with no object deleted after being finished and
 * the exclusive setting never changed (format/ANNOTATION.md): the replay
 * then sees the finished objects each click saw. The whole file is checked before anything is
 * made. Errors: IF_ERR_INVALID_ARG, IF_ERR_IO, the format errors
 * (IF_ERR_TRUNCATED ... IF_ERR_BAD_META), IF_ERR_MISMATCH, IF_ERR_STATE (an
 * object has more clicks than the decoder's max_clicks), IF_ERR_NO_MEMORY;
 * detail in if_last_error(). The _buffer form reads a file image in
 * memory (not kept). */
if_status if_annotation_load(const if_model *decoder, const if_features *features, const char *path,
                             if_annotation **out);
if_status if_annotation_load_buffer(const if_model *decoder, const if_features *features,
                                    const void *data, size_t size, if_annotation **out);

/* Detail of the last failure on this annotation ("" if none; a failure in
 * an object's session is in if_session_error of that session). */
const char *if_annotation_error(const if_annotation *a);

/* ------------------------------------------------------------------------
 * Evaluation
 * ---------------------------------------------------------------------- */

/* The click the standard evaluation protocol places next (RITM's, and the
 * official InterFormer simulator's): the false negatives (gt and not pred)
 * and false positives (pred and not gt), leaving out `ignore` pixels (may
 * be NULL; e.g. GrabCut's boundary band) and the pixels of the clicks made
 * so far, each get an exact Euclidean distance transform with the image
 * border counting as boundary; the click goes at the farthest pixel of the
 * farther kind (the first in row order among equals), positive when the
 * false negatives win. Masks are width*height bytes, nonzero = object.
 * Allocates its working memory (it is not on a session's click path),
 * checked first against the automatic memory budget (as with
 * if_options.mem_limit = 0). Errors: IF_ERR_INVALID_ARG, IF_ERR_NO_MEMORY,
 * IF_ERR_STATE when pred has no error left. */
if_status if_next_click(const uint8_t *gt, const uint8_t *pred, const uint8_t *ignore, int width,
                        int height, const if_click *prev, int n_prev, if_click *out);

/* ------------------------------------------------------------------------
 * Outputs: COCO run-length encoding, box and area, polygons
 *
 * What annotation tools read (COCO JSON; CVAT, Label Studio, X-AnyLabeling),
 * from a mask such as if_session_mask()'s. These calls need no model; they
 * may be called from any thread. A mask is width x height bytes, row y at
 * mask + y * stride (stride >= width), nonzero = object, x = column (to the
 * right), y = row (down): the image's own pixel grid, as the session's
 * masks are (original image size).
 *
 * COCO RLE ("segmentation": {"size": [height, width], "counts": ...}):
 *   - Order: column-major (Fortran order), as COCO defines it: pixel (x, y)
 *     is element x * height + y; the whole first column top to bottom, then
 *     the second, ...
 *   - counts: lengths of alternating runs, starting with a run of 0
 *     (background) that may be empty, then 1s, 0s, ...; they sum to
 *     width * height. No count after the first is 0 in what we write
 *     (readers accept empty runs).
 *   - The compressed string (the "counts" string of pycocotools and COCO
 *     files): each count in turn, the 4th and later ones (index >= 3) as
 *     the difference with the count two before (a run of the same value),
 *     written as a signed number in 5-bit groups, least significant first,
 *     one character per group: the group, plus 0x20 when more groups
 *     follow, plus 48 ('0' .. 'o'); the last group's bit 0x10 is the sign
 *     (the value is sign-extended from it).
 * Sizes: 1 <= width, height and width * height <= UINT32_MAX (counts are
 * 32-bit, as in pycocotools).
 * ---------------------------------------------------------------------- */

/* The COCO RLE counts of a mask into counts[0..cap). *n gets the number of
 * counts (at most width * height + 1): call with counts NULL and cap 0 to
 * learn it. Errors: IF_ERR_INVALID_ARG (NULL mask or n, a size out of range,
 * stride < width, cap too small: *n still says how many are needed).
 * Allocates nothing. */
if_status if_mask_rle(const uint8_t *mask, int width, int height, size_t stride, uint32_t *counts,
                      size_t cap, size_t *n);

/* counts[0..n) as the compressed COCO string into dst[0..cap): *len gets
 * its length, not counting the terminating NUL that is written after it
 * (so cap must be at least *len + 1). Call with dst NULL and cap 0 to learn
 * *len. Any counts are encoded (n = 0 gives ""); the decoder below checks
 * them. Errors: IF_ERR_INVALID_ARG (NULL len, or counts NULL with n > 0,
 * cap too small: *len still set). Allocates nothing. */
if_status if_rle_encode_string(const uint32_t *counts, size_t n, char *dst, size_t cap,
                               size_t *len);

/* The compressed COCO string s[0..len) (need not be NUL-terminated; a NUL
 * within it is an error) back into counts[0..cap); *n gets the number of
 * counts (call with counts NULL and cap 0 to learn it: at most len). The
 * string is checked: IF_ERR_INVALID_ARG (NULL s or n, cap too small),
 * IF_ERR_BAD_COUNT with the offset in if_last_error() for a character
 * outside '0'..'o', a value cut short (the string ends after a group with
 * the continuation bit), a group too many (over 7 for one value) or a
 * count outside 0..UINT32_MAX once its difference is added. Whether the
 * counts fit an image is if_rle_to_mask's check. Allocates nothing. */
if_status if_rle_decode_string(const char *s, size_t len, uint32_t *counts, size_t cap, size_t *n);

/* Paints counts[0..n) (COCO RLE: column-major, alternating runs starting
 * with 0) into mask: width x height bytes, rows stride bytes apart, 1 =
 * object, 0 = not (the bytes between width and stride are not touched).
 * Errors: IF_ERR_INVALID_ARG (NULL pointers, a size out of range, stride <
 * width), IF_ERR_BAD_COUNT when the counts do not sum to width * height
 * (checked before anything is written: the mask is then untouched).
 * Allocates nothing. */
if_status if_rle_to_mask(const uint32_t *counts, size_t n, int width, int height, uint8_t *mask,
                         size_t stride);

/* COCO's "bbox" and "area" of a mask: box = {x, y, w, h} of the smallest
 * rectangle of whole pixels holding every nonzero pixel (x, y its top-left
 * pixel; x + w, y + h one past its right and bottom pixels), area the
 * number of nonzero pixels (either may be NULL when not wanted). An empty
 * mask gives {0, 0, 0, 0} and 0. Errors: IF_ERR_INVALID_ARG (NULL mask, a
 * size < 1, stride < width). Allocates nothing. */
if_status if_mask_bbox(const uint8_t *mask, int width, int height, size_t stride, int box[4],
                       int64_t *area);

/* Polygons of a mask: the boundary of every connected component of the
 * object (8-connected: pixels touching at a corner are one object; so the
 * background, holes included, is 4-connected), as rings of vertices on
 * pixel corners: vertex (x, y) is the top-left corner of pixel (x, y), so
 * a single pixel (3, 5) is the square (3,5) (4,5) (4,6) (3,6). Each
 * component gives one outer ring and one inner ring per hole; an object
 * inside a hole is a component of its own (an outer ring). Outer rings run
 * clockwise as seen on the image (y down: the object on the right of each
 * edge), holes counter-clockwise; a ring is not closed by repeating its
 * first vertex, and may touch itself at a corner (two object pixels that
 * meet diagonally). Filling the outer rings and emptying the holes (the
 * even-odd rule: a pixel is object when its centre is inside an odd
 * number of rings) gives the mask back exactly when tolerance is 0.
 *
 * tolerance: each ring is simplified (Douglas-Peucker: a vertex is dropped
 * when it is within tolerance pixels of the segment that replaces it);
 * 0 drops only vertices on a straight line, the exact boundary. Rings left
 * with fewer than 3 vertices are dropped, and the holes of a dropped outer
 * ring with it. Rings are in the order of their top-left edge (row by row),
 * an outer ring before its holes. Coordinates are whole numbers, exact in
 * a float (sides up to 2^24).
 *
 * *out gets an object the caller frees with if_polygons_free. Allocates
 * working memory of about 5 bytes per pixel plus 10 bytes per boundary
 * corner, and the result. Errors: IF_ERR_INVALID_ARG (NULL mask or out, a
 * size < 1 or > 2^24, stride < width, tolerance negative or not finite),
 * IF_ERR_NO_MEMORY, IF_ERR_UNSUPPORTED (over 2^31 boundary corners); detail
 * in if_last_error(). */
typedef struct if_polygons if_polygons;
if_status if_mask_polygons(const uint8_t *mask, int width, int height, size_t stride,
                           float tolerance, if_polygons **out);
/* The number of rings (0 for an empty mask or NULL). */
int if_polygons_count(const if_polygons *p);
/* Ring i (0 <= i < count): its n_points vertices as x0, y0, x1, y1, ...,
 * owned by p; *parent (when not NULL) gets -1 for an outer ring, or the
 * index of the outer ring whose hole it is. NULL (and *n_points 0) when i
 * is out of range or p is NULL. */
const float *if_polygons_ring(const if_polygons *p, int i, int *n_points, int *parent);
/* Frees p (NULL is fine). */
void if_polygons_free(if_polygons *p);

#ifdef __cplusplus
}
#endif

#endif /* INTERFORMER_H */
