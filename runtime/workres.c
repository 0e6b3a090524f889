/* workres.c -- see workres.h. */
#include "workres.h"

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
 * working pixels: [*first, *first + count), weights in wts (the part of
 * each source pixel inside the box; they sum to n / nw). */
static int axis_span(int k, int n, int nw, int *first, double *wts) {
    double lo = (double)k * n / nw, hi = (double)(k + 1) * n / nw;
    int f = (int)floor(lo), last = (int)ceil(hi) - 1, count = 0;
    if (last >= n) last = n - 1;
    for (int i = f; i <= last; i++) {
        double a = lo > i ? lo : i, b = hi < i + 1 ? hi : i + 1;
        wts[count++] = b > a ? b - a : 0.0;
    }
    *first = f;
    return count;
}

/* A box of n / nw source pixels starts anywhere in a pixel: it touches at
 * most ceil(n / nw) + 1 of them. */
static int max_taps(int n, int nw) { return (n + nw - 1) / nw + 1; }

size_t rt_area_resize_scratch(int w, int h, int ww, int wh) {
    size_t doubles = (size_t)ww * 3 + (size_t)ww * (size_t)max_taps(w, ww) + (size_t)max_taps(h, wh);
    return doubles * sizeof(double) + (size_t)ww * 2 * sizeof(int);
}

void rt_area_resize_rgb8(const uint8_t *src, int w, int h, size_t stride, uint8_t *dst, int ww, int wh,
                         void *scratch) {
    const int tx = max_taps(w, ww);
    double *acc = scratch, *xw = acc + (size_t)ww * 3, *yw = xw + (size_t)ww * tx;
    int *xfirst = (int *)(void *)(yw + max_taps(h, wh)), *xcount = xfirst + ww;
    for (int xo = 0; xo < ww; xo++) xcount[xo] = axis_span(xo, w, ww, &xfirst[xo], xw + (size_t)xo * tx);
    const double norm = 1.0 / (((double)w / ww) * ((double)h / wh));
    for (int yo = 0; yo < wh; yo++) {
        int yfirst, ycount = axis_span(yo, h, wh, &yfirst, yw);
        memset(acc, 0, (size_t)ww * 3 * sizeof *acc);
        for (int j = 0; j < ycount; j++) {
            if (yw[j] == 0.0) continue;
            const uint8_t *row = src + (size_t)(yfirst + j) * stride;
            for (int xo = 0; xo < ww; xo++) {
                const double *wts = xw + (size_t)xo * tx;
                const uint8_t *p = row + (size_t)xfirst[xo] * 3;
                double r = 0, g = 0, b = 0;
                for (int i = 0; i < xcount[xo]; i++, p += 3) {
                    r += wts[i] * p[0];
                    g += wts[i] * p[1];
                    b += wts[i] * p[2];
                }
                acc[xo * 3] += yw[j] * r;
                acc[xo * 3 + 1] += yw[j] * g;
                acc[xo * 3 + 2] += yw[j] * b;
            }
        }
        uint8_t *o = dst + (size_t)yo * ww * 3;
        for (int i = 0; i < ww * 3; i++) {
            double v = floor(acc[i] * norm + 0.5); /* halves up */
            o[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
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

void rt_upsample_logit(const float *d, size_t ds, int ww, int wh, const int32_t *x0, const float *fx,
                       const int32_t *y0, const float *fy, int w, int h, uint8_t *mask, float *prob) {
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
