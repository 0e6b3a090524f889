/* workres.h -- the working resolution (internal): the image as the model
 * sees it when if_encode_options.max_side shrinks it, and the mapping of
 * clicks and predictions between it and the original image. The rules are
 * format/FEATURES.md's "Working resolution" (a PyTorch encoder implements
 * the same ones). */
#ifndef IF_SESSION_WORKRES_H
#define IF_SESSION_WORKRES_H

#include <stddef.h>
#include <stdint.h>

/* The working size of a w x h image for max_side (0 = native). */
void rt_work_size(int w, int h, int max_side, int *ww, int *wh);

/* Area-average resize of RGB8 src (w x h, rows `stride` bytes apart) to
 * dst (ww x wh, packed; ww <= w, wh <= h). scratch: the bytes
 * rt_area_resize_scratch says (malloc'ed memory: it holds doubles). */
size_t rt_area_resize_scratch(int w, int h, int ww, int wh);
void rt_area_resize_rgb8(const uint8_t *src, int w, int h, size_t stride, uint8_t *dst, int ww,
                         int wh, void *scratch);

/* The working pixel of original coordinate v (0..n-1) on an axis of n
 * original and nw working pixels. */
int rt_work_coord(int v, int n, int nw);

/* Where original pixel i of an axis of n samples a working axis of nw
 * (bilinear, align corners false): between i0[i] and i0[i]+1 (clamped),
 * with weight f[i] on the second. */
void rt_axis_taps(int n, int nw, int32_t *i0, float *f);

/* The foreground-minus-background logit map d (wh x ww, row stride ds)
 * sampled at every original pixel (w x h) with the taps of both axes:
 * mask = d > 0 (if mask), prob = sigmoid(d) (if prob). */
void rt_upsample_logit(const float *d, size_t ds, int ww, int wh, const int32_t *x0,
                       const float *fx, const int32_t *y0, const float *fy, int w, int h,
                       uint8_t *mask, float *prob);

#endif
