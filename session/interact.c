/* interact.c -- the official model's click bookkeeping on the padded grid:
 * stamping a click into the reference label, the update after each
 * prediction, and the zoom-in region (ClickSegmentorZoomIn.get_roi).
 * The arithmetic mirrors the official PyTorch code, including float32 and
 * round-half-to-even where it uses them, so that ROIs match exactly. */
#include <math.h>

#include "session/interact.h"

void rt_stamp_click(uint8_t *label, int H, int W, int y, int x, int positive, int radius) {
    uint8_t code = positive ? RT_REF_FG : RT_REF_BG;
    /* The radius comes from the graph's metadata: any int, so the box is
     * computed in 64 bits (a negative radius stamps nothing). */
    int64_t r2 = (int64_t)radius * radius;
    int64_t y0 = (int64_t)y - radius, y1 = (int64_t)y + radius;
    int64_t x0 = (int64_t)x - radius, x1 = (int64_t)x + radius;
    if (y0 < 0) y0 = 0;
    if (x0 < 0) x0 = 0;
    if (y1 > H - 1) y1 = H - 1;
    if (x1 > W - 1) x1 = W - 1;
    for (int64_t i = y0; i <= y1; i++)
        for (int64_t j = x0; j <= x1; j++) {
            int64_t dy = i - y, dx = j - x;
            if (dy * dy + dx * dx <= r2) label[(size_t)i * W + j] = code;
        }
}

void rt_update_after_prediction(uint8_t *label, const uint8_t *pred, size_t n) {
    /* foreground: unknown -> possible fg, possible bg -> unknown;
     * background: unknown -> possible bg, possible fg -> unknown. */
    static const uint8_t on_fg[5] = {RT_REF_BG, RT_REF_UNKNOWN, RT_REF_POSSIBLE_FG,
                                     RT_REF_POSSIBLE_FG, RT_REF_FG};
    static const uint8_t on_bg[5] = {RT_REF_BG, RT_REF_POSSIBLE_BG, RT_REF_POSSIBLE_BG,
                                     RT_REF_UNKNOWN, RT_REF_FG};
    for (size_t i = 0; i < n; i++)
        if (label[i] < 5) label[i] = pred[i] ? on_fg[label[i]] : on_bg[label[i]];
}

/* torch.round on float32: half to even. */
static float round_even(float v) { return nearbyintf(v); }

static void expand_axis(int lo, int hi, int size, float ratio, int min_size, int *out_lo,
                        int *out_hi) {
    float c = (float)(lo + hi) / 2.0f;
    float a = round_even(c - ratio * (c - (float)lo)), b = round_even(c - ratio * (c - (float)hi));
    /* The ratio comes from the graph's metadata: a negative, huge or NaN one
     * must still give ends inside 0..size before they become ints. */
    if (!(a >= 0)) a = 0;
    if (!(b <= (float)size)) b = (float)size;
    if (a > (float)size) a = (float)size;
    if (b < 0) b = 0;
    if (min_size > 0) {
        float ma = round_even(c - (float)min_size / 2.0f),
              mb = round_even(c + (float)min_size / 2.0f);
        if (ma < 0) ma = 0;
        if (mb > (float)size) mb = (float)size;
        if (ma < a) a = ma;
        if (mb > b) b = mb;
    }
    *out_lo = (int)a;
    *out_hi = (int)b;
}

void rt_zoom_roi(const uint8_t *prev_pred, const uint8_t *label, int H, int W, float expand_ratio,
                 int min_size, int max_stride, int32_t roi[4]) {
    int l = W, u = H, r = -1, b = -1;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            size_t k = (size_t)i * W + j;
            if (!(prev_pred[k] == 1 || label[k] == RT_REF_FG || label[k] == RT_REF_BG)) continue;
            if (j < l) l = j;
            if (j > r) r = j;
            if (i < u) u = i;
            if (i > b) b = i;
        }
    if (r < 0) { /* nothing selected: the whole image */
        l = 0;
        u = 0;
        r = W;
        b = H;
    } else {
        r += 1;
        b += 1;
    }
    int L, R, U, B;
    expand_axis(l, r, W, expand_ratio, min_size, &L, &R);
    expand_axis(u, b, H, expand_ratio, min_size, &U, &B);
    /* Snapped in 64 bits: the stride comes from the graph's metadata. A ROI
     * that does not fit the grid is the executor's to refuse. */
    int64_t s = max_stride > 0 ? max_stride : 1;
    roi[0] = (int32_t)(L / s * s);
    roi[1] = (int32_t)(U / s * s);
    roi[2] = (int32_t)((R + s - 1) / s * s < INT32_MAX ? (R + s - 1) / s * s : INT32_MAX);
    roi[3] = (int32_t)((B + s - 1) / s * s < INT32_MAX ? (B + s - 1) / s * s : INT32_MAX);
}
