/* evaluate.c -- the click the standard protocol places next (interformer.h,
 * if_next_click): the interior point of the largest error region farthest
 * from its border, as RITM's and the official InterFormer simulators do. */
#include <float.h>
#include <string.h>

#include "session/distance.h"
#include "session/session.h"

/* Max of d2 over the map and the first pixel (row-major) attaining it. */
static float arg_max(const float *d2, size_t n, size_t *at) {
    float best = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++)
        if (d2[i] > best) {
            best = d2[i];
            *at = i;
        }
    return best;
}

if_status if_next_click(const uint8_t *gt, const uint8_t *pred, const uint8_t *ignore, int width,
                        int height, const if_click *prev, int n_prev, if_click *out) {
    if (!gt || !pred || !out || (n_prev > 0 && !prev) || n_prev < 0)
        return if__fail(IF_ERR_INVALID_ARG, "if_next_click: NULL argument");
    if (width < 1 || height < 1 || width > 32768 || height > 32768)
        return if__fail(IF_ERR_INVALID_ARG, "if_next_click: size %dx%d", width, height);
    size_t n = (size_t)width * height;
    const rt_mem_part parts[] = {{"error maps", 2 * (uint64_t)n},
                                 {"distance maps", 2 * (uint64_t)n * sizeof(float)},
                                 {"transform scratch", rt_edt_scratch_bytes(height, width)}};
    size_t ecap;
    char *ebuf = if__last_error_buf(&ecap);
    if_status st =
        rt_mem_check(0, 0, parts, 3, ebuf, ecap, "if_next_click on %dx%d masks", width, height);
    if (st != IF_OK) return st;
    uint8_t *fn = (uint8_t *)rt_malloc(2 * n);
    float *dn = (float *)rt_malloc(2 * n * sizeof(float));
    void *scratch = rt_malloc(rt_edt_scratch_bytes(height, width));
    if (!fn || !dn || !scratch) {
        rt_free(fn);
        rt_free(dn);
        rt_free(scratch);
        return if__fail(IF_ERR_NO_MEMORY, "if_next_click: %dx%d", width, height);
    }
    uint8_t *fp = fn + n;
    float *dp = dn + n;
    for (size_t i = 0; i < n; i++) {
        int g = gt[i] != 0, p = pred[i] != 0, ign = ignore && ignore[i];
        fn[i] = g && !p && !ign;
        fp[i] = !g && p && !ign;
    }
    /* The official simulator never clicks the same pixel twice. */
    for (int k = 0; k < n_prev; k++)
        if (prev[k].x >= 0 && prev[k].y >= 0 && prev[k].x < width && prev[k].y < height) {
            size_t i = (size_t)prev[k].y * width + prev[k].x;
            fn[i] = fp[i] = 0;
        }
    rt_edt_sq(fn, height, width, 1, dn, scratch);
    rt_edt_sq(fp, height, width, 1, dp, scratch);
    size_t an, ap;
    float mn = arg_max(dn, n, &an), mp = arg_max(dp, n, &ap);
    rt_free(fn);
    rt_free(dn);
    rt_free(scratch);
    if (mn == 0 && mp == 0) return if__fail(IF_ERR_STATE, "no error left to click on");
    /* Positive when the false negatives are farther from their border (ties:
     * negative), compared as the simulator does, on Euclidean distances. */
    int positive = mn > mp;
    size_t at = positive ? an : ap;
    *out = (if_click){(int)(at % (size_t)width), (int)(at / (size_t)width), positive};
    return IF_OK;
}
