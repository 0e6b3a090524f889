/* mask_stats.c -- COCO's "bbox" and "area" of a mask (interformer.h,
 * if_mask_bbox), and the argument checks the output calls share. */
#include "output/output.h"

if_status ifo_check_mask(const char *fn, const void *mask, int width, int height, size_t stride,
                         int64_t max_side, int fit32) {
    if (!mask) return if__fail(IF_ERR_INVALID_ARG, "%s: NULL mask", fn);
    if (width < 1 || height < 1 || width > max_side || height > max_side)
        return if__fail(IF_ERR_INVALID_ARG, "%s: size %dx%d (sides 1..%lld)", fn, width, height,
                        (long long)max_side);
    if (stride < (size_t)width)
        return if__fail(IF_ERR_INVALID_ARG, "%s: stride %zu < width %d", fn, stride, width);
    if (fit32 && (uint64_t)width * (uint64_t)height > UINT32_MAX)
        return if__fail(IF_ERR_INVALID_ARG,
                        "%s: %dx%d is over 2^32 - 1 pixels (COCO counts are 32-bit)", fn, width,
                        height);
    return IF_OK;
}

if_status if_mask_bbox(const uint8_t *mask, int width, int height, size_t stride, int box[4],
                       int64_t *area) {
    if_status s = ifo_check_mask("if_mask_bbox", mask, width, height, stride, INT32_MAX, 0);
    if (s != IF_OK) return s;
    int x0 = width, y0 = height, x1 = -1, y1 = -1;
    int64_t count = 0;
    for (int y = 0; y < height; y++) {
        const uint8_t *row = mask + (size_t)y * stride;
        int first = -1, last = -1;
        for (int x = 0; x < width; x++)
            if (row[x]) {
                if (first < 0) first = x;
                last = x;
                count++;
            }
        if (first < 0) continue;
        if (y0 == height) y0 = y;
        y1 = y;
        if (first < x0) x0 = first;
        if (last > x1) x1 = last;
    }
    if (box) {
        if (count) {
            box[0] = x0;
            box[1] = y0;
            box[2] = x1 - x0 + 1;
            box[3] = y1 - y0 + 1;
        } else
            box[0] = box[1] = box[2] = box[3] = 0;
    }
    if (area) *area = count;
    return IF_OK;
}
