/* coco_json.h -- a COCO JSON file of one image and its objects' masks, for
 * annotation tools (CVAT, Label Studio, X-AnyLabeling) and pycocotools:
 *
 *   {"images": [{"id": 1, "file_name": ..., "width": W, "height": H}],
 *    "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
 *                     "segmentation": ..., "area": A, "bbox": [x, y, w, h],
 *                     "iscrowd": 0}],
 *    "categories": [{"id": 1, "name": "object"}]}
 *
 * segmentation: COCO RLE, {"size": [H, W], "counts": "<compressed>"}, the
 * mask exactly; or (polygons) a list of flat [x1, y1, x2, y2, ...] outer
 * rings on pixel corners, simplified by a tolerance in pixels: COCO
 * polygons cannot mark holes, so holes are left out (filled), and a
 * component simplified to nothing is left out. area and bbox are the
 * mask's (pixels), whichever segmentation is written. Object k (0-based)
 * is annotation k + 1, as in the CLI's instance map; an empty mask has no
 * annotation. */
#ifndef IF_EXAMPLES_COCO_JSON_H
#define IF_EXAMPLES_COCO_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *file_name; /* "file_name" of the image (UTF-8; escaped as JSON needs) */
    int polygons;          /* 0: RLE; 1: polygons */
    float tolerance;       /* polygons: simplification, pixels (0 = exact outline) */
} coco_opts;

/* Writes path (through outfile.h: atomically) for n masks (width x height
 * bytes each, nonzero = object). Returns 0, or -1 with the reason in err. */
int coco_write(const char *path, const uint8_t *const *masks, int n, int width, int height,
               const coco_opts *o, char *err, size_t cap);

#endif
