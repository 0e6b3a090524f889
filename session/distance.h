/* distance.h -- exact Euclidean distance transform (internal). */
#ifndef IF_SESSION_DISTANCE_H
#define IF_SESSION_DISTANCE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of scratch rt_edt_sq needs for an H x W map (use malloc'ed memory:
 * it holds doubles). */
size_t rt_edt_scratch_bytes(int H, int W);

/* d2[p] = squared Euclidean distance from pixel p to the nearest pixel with
 * mask == 0 (0 where mask == 0). With border = 1 the map is padded by one
 * ring of zero pixels, as the official click simulator does; without it, a
 * map with no zero pixel gets FLT_MAX everywhere. Exact: two passes of the
 * 1-D lower envelope of parabolas (Felzenszwalb & Huttenlocher), in
 * double. */
void rt_edt_sq(const uint8_t *mask, int H, int W, int border, float *d2, void *scratch);

#endif
