/* npy.h -- minimal NumPy .npy (format 1.0/2.0) reader and writer for the
 * examples: little-endian float32, uint8, int32 and int64, C order. */
#ifndef IF_EXAMPLES_NPY_H
#define IF_EXAMPLES_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { NPY_F32, NPY_U8, NPY_I32, NPY_I64 } npy_dtype;

typedef struct {
    npy_dtype dtype;
    int rank;
    int64_t shape[8];
    int64_t count; /* elements */
    void *data;    /* malloc'ed, count elements of dtype */
} npy_array;

/* Parses the memory image of a .npy file, buf[0..n), into *a (the data is
 * copied: buf may go away). Trusts nothing in it: a shape whose element
 * count is over 2^31 or more than the bytes present is an error. Returns 0
 * on success, -1 with a message in err (and *a zeroed). */
int npy_parse(const void *buf, size_t n, npy_array *a, char *err, size_t cap);
/* Reads path into *a. Returns 0 on success, -1 with a message in err
 * ("path: what"). */
int npy_read(const char *path, npy_array *a, char *err, size_t cap);
void npy_free(npy_array *a);
/* Writes a float32 array to an open stream (not closed; the caller checks
 * its flush and close); returns 0 when every write succeeded. */
int npy_write_f32_to(FILE *f, const float *data, const int64_t *shape, int rank);

#endif
