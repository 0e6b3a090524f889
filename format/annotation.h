/* annotation.h -- the annotation file (format/ANNOTATION.md): its reader and
 * writer, internal to the library. The public calls are if_annotation_save
 * and if_annotation_load (session/annotation.c).
 *
 * ifa_parse validates the whole file image before returning anything, as
 * the other readers do. */
#ifndef IF_FORMAT_ANNOTATION_H
#define IF_FORMAT_ANNOTATION_H

#include <stddef.h>
#include <stdint.h>

#include "format/features.h" /* IFF_IDENT_BYTES */
#include "interformer.h"     /* if_click, if_status */

#define IFA_HEADER     120u
#define IFA_RECORD     16u
#define IFA_MAX_ID     65535u
#define IFA_MAX_CLICKS 65535u
#define IFA_MAX_SIDE   1048576u
#define IFA_MAX_FILE   ((uint64_t)256 << 20) /* if_annotation_load reads no more */

typedef struct {
    int id, finished;
    int n_clicks;
    const if_click *clicks;
    uint32_t n_runs; /* 0: no set mask */
    const uint32_t *runs;
} ifa_object;

typedef struct {
    int width, height;
    char identity[IFF_IDENT_BYTES + 1];
    int exclusive;
    int last_id, n_objects;
    const ifa_object *objects;
    void *block; /* ifa_parse's allocation (objects, clicks, runs) */
} ifa_file;

/* Validates the file image buf[0..size) and fills *out, its objects,
 * clicks and runs in one block it allocates (ifa_release frees it). IF_OK,
 * or a specific status with a one-line reason in msg. */
if_status ifa_parse(const void *buf, size_t size, ifa_file *out, char *msg, size_t cap);
void ifa_release(ifa_file *f);

/* Bytes of the file image of f (0 when its counts are over the format's
 * limits). */
uint64_t ifa_file_bytes(const ifa_file *f);

/* Writes the file image of f into buf (ifa_file_bytes(f) bytes). */
void ifa_encode(const ifa_file *f, uint8_t *buf);

#endif
