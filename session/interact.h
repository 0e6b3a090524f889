/* interact.h -- reference labels, clicks and the zoom-in region (internal).
 * All maps are on the padded H x W grid, row-major, one byte per pixel. */
#ifndef IF_SESSION_INTERACT_H
#define IF_SESSION_INTERACT_H

#include <stddef.h>
#include <stdint.h>

/* The five reference-label codes of the official model. */
enum {
    RT_REF_BG = 0, /* definite background (negative click) */
    RT_REF_POSSIBLE_BG = 1,
    RT_REF_UNKNOWN = 2,
    RT_REF_POSSIBLE_FG = 3,
    RT_REF_FG = 4 /* definite foreground (positive click) */
};

/* Sets every pixel within `radius` (Euclidean, inclusive) of (y, x) to
 * RT_REF_FG or RT_REF_BG. (y, x) may lie outside the grid. */
void rt_stamp_click(uint8_t *label, int H, int W, int y, int x, int positive, int radius);

/* The update after a prediction (pred: 1 foreground, 0 background). */
void rt_update_after_prediction(uint8_t *label, const uint8_t *pred, size_t n);

/* The zoom-in ROI [left, up, right, bottom] for the next step, from the
 * previous prediction and the current reference label. */
void rt_zoom_roi(const uint8_t *prev_pred, const uint8_t *label, int H, int W, float expand_ratio,
                 int min_size, int max_stride, int32_t roi[4]);

#endif
