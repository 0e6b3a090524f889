/* features.h -- the per-image feature file (format/FEATURES.md): its
 * reader and writer, internal to the library. The public object is
 * if_features (interformer.h; session/features.c), which reads and writes
 * files through these.
 *
 * iff_parse validates a whole file image before returning anything, as
 * ifg_parse does: every field against the spec and the buffer size. */
#ifndef IF_FORMAT_FEATURES_H
#define IF_FORMAT_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "interformer.h" /* if_status */

#define IFF_LEVELS      4
#define IFF_IDENT_BYTES 72

/* What a feature file holds. Sizes in pixels; level i is lh x lw x
 * channels, channels-last, at stride strides[i] of the padded grid. */
typedef struct {
    uint32_t version;       /* 1 or 2 (2 records the working size) */
    uint32_t dtype;         /* IFG_F32 or IFG_F16 (format/ifg.h) */
    int width, height;      /* the original image */
    int work_w, work_h;     /* the image as the encoder saw it */
    int padded_w, padded_h; /* the model's grid */
    int channels[IFF_LEVELS], strides[IFF_LEVELS], lh[IFF_LEVELS], lw[IFF_LEVELS];
    char identity[IFF_IDENT_BYTES + 1]; /* the encoder's model identity, NUL-terminated */
    const void *data[IFF_LEVELS];       /* iff_parse: level i's values in the buffer */
} iff_file;

/* Validates the file image buf[0..size) and fills *out (data[] point into
 * buf). IF_OK, or a specific status with a one-line reason in msg. */
if_status iff_parse(const void *buf, size_t size, iff_file *out, char *msg, size_t cap);

/* Bytes of the file for f's sizes and dtype (the levels' offsets follow
 * FEATURES.md's layout). */
uint64_t iff_file_bytes(const iff_file *f);

/* Writes the file image of f with level values level[i] (f32, lh x lw x
 * channels each; converted to f16 when f->dtype says so) into buf, which
 * holds iff_file_bytes(f) zeroed bytes. */
void iff_encode(const iff_file *f, const float *const level[IFF_LEVELS], uint8_t *buf);

/* Writes buf[0..n) to path whole or not at all: a temporary file next to
 * the target, synced, renamed over it (a symbolic link is followed; a
 * device or FIFO is written in place). IF_OK or IF_ERR_IO with the reason
 * in msg. */
if_status iff_write_file(const char *path, const uint8_t *buf, size_t n, char *msg, size_t cap);

#endif
