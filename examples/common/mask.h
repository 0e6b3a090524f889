/* mask.h -- reading segmentation masks as datasets ship them (examples only).
 *
 * Benchmark masks come in several encodings, and reading them all as "gray
 * values" (stb_image's view) silently misreads some: a palette PNG is
 * expanded to its palette colours, so DAVIS's or PASCAL VOC's index 1
 * (object) becomes (128, 0, 0). mask_decode reads the stored values and
 * turns them into one label map:
 *
 *   0        background
 *   255      ignore (void): left out of the IoU
 *   1..254   object ids
 *
 * by these rules, in order (the encoding found is named in mask.encoding):
 *   - palette PNG (colour type 3): the palette INDICES are the labels
 *     (0 background, 255 void, every other index an object), whatever the
 *     colours -- unless the palette maps every used index i to gray (i,i,i),
 *     in which case the values are gray values and the rules below apply;
 *   - gray (or colour with R = G = B everywhere), including 16-bit PNGs
 *     with values up to 255:
 *       every value in 0..63 or 255, some in 1..63 and 255 (a void band)
 *       on at most 8 times as many pixels: a label map as PASCAL VOC, the
 *       official InterFormer conversion (1 = object, 255 = void) and 0/1
 *       maps store it;
 *       otherwise a binary mask by threshold: > 128 object (id 1), 128
 *       ignore (GrabCut's boundary band), < 128 background;
 *   - colour: black background, (224, 224, 192) (VOC's void colour) ignore,
 *     each other colour an object (ids in order of first appearance); with
 *     more than 254 colours (a lossy file), the brightest channel by the
 *     threshold rule.
 * The alpha channel, where there is one, is not used. */
#ifndef IF_EXAMPLES_MASK_H
#define IF_EXAMPLES_MASK_H

#include <stddef.h>
#include <stdint.h>

#define MASK_IGNORE 255

typedef struct {
    int w, h;
    uint8_t *label;       /* w*h, row-major (malloc'ed; mask_image_free) */
    int n_objects;        /* distinct object ids present */
    uint8_t ids[254];     /* those ids, ascending */
    size_t n_ignore;      /* pixels labelled MASK_IGNORE */
    const char *encoding; /* static text: how the values were read */
} mask_image;

/* Decodes a mask file's bytes (PNG, BMP, TGA, PNM, GIF, JPEG, ...: palette
 * PNGs by this file's own reader, everything else by stb_image) into *out.
 * Returns 0, or -1 with a one-line reason in err (cap bytes) and *out
 * zeroed. Never trusts a size in the file: the decoded size is bounded by
 * the dimensions, which must not exceed 1<<24 each nor 1<<31 pixels. */
int mask_decode(const unsigned char *buf, size_t n, mask_image *out, char *err, size_t cap);

/* Reads the file at path and decodes it (as mask_decode; the reason names
 * the file's problem, not the path). */
int mask_read(const char *path, mask_image *out, char *err, size_t cap);

void mask_image_free(mask_image *m);

#endif
