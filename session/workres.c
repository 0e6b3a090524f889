/* workres.c -- see workres.h. */
#include "session/workres.h"

#include <math.h>
#include <string.h>

void rt_work_size(int w, int h, int max_side, int *ww, int *wh) {
    *ww = w;
    *wh = h;
    int l = w > h ? w : h;
    if (max_side <= 0 || l <= max_side) return;
    /* The longer side becomes max_side exactly; the shorter rounds. */
    int64_t s = w > h ? h : w;
    int short_side = (int)((s * max_side * 2 + l) / (2 * (int64_t)l)); /* floor(s*M/L + 0.5) */
    if (short_side < 1) short_side = 1;
    if (w >= h) {
        *ww = max_side;
        *wh = short_side;
    } else {
        *wh = max_side;
        *ww = short_side;
    }
}

/* The source pixels working pixel k covers on an axis of n source and nw
 * working pixels: [*first, *first + count), with the length of each inside
 * the box in units of 1/nw pixel. Integers, so that an exact half of the
 * mean is a half (floating-point box edges would put it a hair under and
 * round it the other way from FEATURES.md, which a PyTorch encoder follows
 * exactly). The weights sum to n. */
static int axis_span(int k, int n, int nw, int *first, uint32_t *wts) {
    uint64_t lo = (uint64_t)k * n, hi = (uint64_t)(k + 1) * n; /* in 1/nw units */
    int f = (int)(lo / nw), count = 0;
    for (uint64_t i = (uint64_t)f; i < (uint64_t)n && i * nw < hi; i++) {
        uint64_t a = lo > i * nw ? lo : i * nw, b = hi < (i + 1) * nw ? hi : (i + 1) * nw;
        wts[count++] = (uint32_t)(b - a);
    }
    *first = f;
    return count;
}

/* A box of n / nw source pixels starts anywhere in a pixel: it touches at
 * most ceil(n / nw) + 1 of them. */
static int max_taps(int n, int nw) { return (n + nw - 1) / nw + 1; }

size_t rt_area_resize_scratch(int w, int h, int ww, int wh) {
    size_t words = (size_t)ww * 3 * 2 /* uint64 sums */ + (size_t)ww * (size_t)max_taps(w, ww) +
                   (size_t)max_taps(h, wh) + (size_t)ww * 2;
    return words * sizeof(uint32_t);
}

void rt_area_resize_rgb8(const uint8_t *src, int w, int h, size_t stride, uint8_t *dst, int ww,
                         int wh, void *scratch) {
    const int tx = max_taps(w, ww);
    uint64_t *acc = (uint64_t *)scratch;
    uint32_t *xw = (uint32_t *)(acc + (size_t)ww * 3), *yw = xw + (size_t)ww * tx;
    int *xfirst = (int *)(yw + max_taps(h, wh)), *xcount = xfirst + ww;
    for (int xo = 0; xo < ww; xo++)
        xcount[xo] = axis_span(xo, w, ww, &xfirst[xo], xw + (size_t)xo * tx);
    /* mean = sum(wx * wy * v) / (w * h) exactly; halves up. The sum is at
     * most w * h * 255 < 2^48 for sides up to 2^20. */
    const uint64_t den = (uint64_t)w * (uint64_t)h;
    for (int yo = 0; yo < wh; yo++) {
        int yfirst, ycount = axis_span(yo, h, wh, &yfirst, yw);
        memset(acc, 0, (size_t)ww * 3 * sizeof *acc);
        for (int j = 0; j < ycount; j++) {
            const uint64_t wy = yw[j];
            const uint8_t *row = src + (size_t)(yfirst + j) * stride;
            for (int xo = 0; xo < ww; xo++) {
                const uint32_t *wts = xw + (size_t)xo * tx;
                const uint8_t *p = row + (size_t)xfirst[xo] * 3;
                uint64_t r = 0, g = 0, b = 0;
                for (int i = 0; i < xcount[xo]; i++, p += 3) {
                    r += (uint64_t)wts[i] * p[0];
                    g += (uint64_t)wts[i] * p[1];
                    b += (uint64_t)wts[i] * p[2];
                }
                acc[xo * 3] += wy * r;
                acc[xo * 3 + 1] += wy * g;
                acc[xo * 3 + 2] += wy * b;
            }
        }
        uint8_t *o = dst + (size_t)yo * ww * 3;
        for (int i = 0; i < ww * 3; i++) {
            uint64_t v = (2 * acc[i] + den) / (2 * den);
            o[i] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
}

int rt_work_coord(int v, int n, int nw) {
    int64_t k = ((int64_t)v * 2 + 1) * nw / (2 * (int64_t)n); /* floor((v + 0.5) * nw / n) */
    return k >= nw ? nw - 1 : (int)k;
}

void rt_axis_taps(int n, int nw, int32_t *i0, float *f) {
    for (int i = 0; i < n; i++) {
        double s = ((double)i + 0.5) * nw / n - 0.5;
        if (s < 0) s = 0;
        int k = (int)s;
        if (k >= nw - 1) {
            i0[i] = nw - 1;
            f[i] = 0.0f;
        } else {
            i0[i] = k;
            f[i] = (float)(s - k);
        }
    }
}

void rt_upsample_logit(const float *d, size_t ds, int ww, int wh, const int32_t *x0,
                       const float *fx, const int32_t *y0, const float *fy, int w, int h,
                       uint8_t *mask, float *prob) {
    for (int y = 0; y < h; y++) {
        const float *r0 = d + (size_t)y0[y] * ds, *r1 = y0[y] + 1 < wh ? r0 + ds : r0;
        float b = fy[y], a = 1.0f - b;
        for (int x = 0; x < w; x++) {
            int c0 = x0[x], c1 = c0 + 1 < ww ? c0 + 1 : c0;
            float q = fx[x], p = 1.0f - q;
            float v = a * (p * r0[c0] + q * r0[c1]) + b * (p * r1[c0] + q * r1[c1]);
            if (mask) mask[(size_t)y * w + x] = v > 0.0f; /* ties: background, as at native size */
            if (prob) prob[(size_t)y * w + x] = 1.0f / (1.0f + expf(-v));
        }
    }
}
