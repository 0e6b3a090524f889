/* interformer.h -- InterFormer-C: an embeddable runtime for InterFormer
 * interactive image segmentation (ICCV 2023), in C11 with libc + pthreads.
 *
 * The model is split in two graph files written by `python3 -m converter`:
 *   NAME.encoder.ifg  image -> features F1..F4   (once per image, heavy)
 *   NAME.decoder.ifg  F1..F4 + clicks -> mask     (every click, light)
 *
 * Conventions of this API
 *   - Every function that can fail returns an if_status; IF_OK is 0.
 *     if_status_str() names a status; objects keep a last-error detail
 *     string that says which file, value or limit was wrong.
 *   - The library never exits, aborts or prints.
 *   - Objects are created by *_load / *_new and released by the matching
 *     *_free, which accepts NULL.
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
    IF_ERR_NO_MEMORY,     /* an allocation failed */
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
    int n_threads;   /* worker threads for runs; 0 = 1 */
} if_options;

/* The defaults: 1 thread. */
if_options if_default_options(void);

/* Loads and validates a graph file (format/FORMAT.md). opt may be NULL for
 * the defaults. On success *out owns the model (free with if_model_free).
 * Errors: IF_ERR_INVALID_ARG, IF_ERR_IO (cannot open or read), the format
 * errors (IF_ERR_TRUNCATED ... IF_ERR_BAD_META), IF_ERR_NO_MEMORY; detail
 * in if_last_error(). */
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
    char name[64];        /* model.name */
    char identity[72];    /* model.identity: same in a model's encoder and decoder */
    int feature_channels[4];
    int feature_strides[4];
    int pad_multiple;     /* the padded image size is a multiple of this */
    float mean[3], std[3];/* preprocessing, R, G, B */
    int click_radius;
    int zoom_in;          /* 1 when the decoder refines a zoomed-in region */
    float zoom_expand_ratio;
    int zoom_min_size, zoom_start_step, zoom_max_stride;
    int64_t n_params;     /* weights in the file */
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
 * size), IF_ERR_NO_MEMORY. */
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

#ifdef __cplusplus
}
#endif

#endif /* INTERFORMER_H */
