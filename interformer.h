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

#ifdef __cplusplus
}
#endif

#endif /* INTERFORMER_H */
