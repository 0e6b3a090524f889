/* distance.c -- see distance.h. */
#include "session/distance.h"

#include <float.h>

/* Cost of a pixel that is not a site: large, but finite so the envelope
 * arithmetic needs no special cases; anything above NO_SITE/2 means "no
 * site on this line". */
#define NO_SITE 1e20

static size_t line_len(int H, int W) { return (size_t)(H > W ? H : W) + 2; }

size_t rt_edt_scratch_bytes(int H, int W) {
    size_t L = line_len(H, W);
    return ((size_t)H * W + 3 * L + 1) * sizeof(double) + L * sizeof(int);
}

/* d[q] = min_p (q - p)^2 + f[p] over p in [0, n). */
static void dt1d(const double *f, int n, double *d, int *v, double *z) {
    int k = 0;
    v[0] = 0;
    z[0] = -DBL_MAX;
    z[1] = DBL_MAX;
    for (int q = 1; q < n; q++) {
        /* Pop parabolas hidden by q's; z[0] = -inf stops at the first. */
        double s;
        for (;;) {
            int p = v[k];
            s = ((f[q] + (double)q * q) - (f[p] + (double)p * p)) / (2.0 * (q - p));
            if (s > z[k]) break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = DBL_MAX;
    }
    k = 0;
    for (int q = 0; q < n; q++) {
        while (z[k + 1] < q) k++;
        double t = (double)q - v[k];
        d[q] = t * t + f[v[k]];
    }
}

void rt_edt_sq(const uint8_t *mask, int H, int W, int border, float *d2, void *scratch) {
    size_t L = line_len(H, W);
    double *col = (double *)scratch, *f = col + (size_t)H * W, *d = f + L, *z = d + L;
    int *v = (int *)(void *)(z + L + 1);
    int b = border ? 1 : 0;
    for (int x = 0; x < W; x++) { /* columns; padding rows are sites */
        int n = H + 2 * b;
        for (int i = 0; i < n; i++) {
            int y = i - b;
            f[i] = (y < 0 || y >= H || !mask[(size_t)y * W + x]) ? 0.0 : NO_SITE;
        }
        dt1d(f, n, d, v, z);
        for (int y = 0; y < H; y++) col[(size_t)y * W + x] = d[y + b];
    }
    for (int y = 0; y < H; y++) { /* rows; padding columns are sites */
        int n = W + 2 * b;
        for (int i = 0; i < n; i++) {
            int x = i - b;
            f[i] = (x < 0 || x >= W) ? 0.0 : col[(size_t)y * W + x];
            if (f[i] > NO_SITE / 2) f[i] = NO_SITE;
        }
        dt1d(f, n, d, v, z);
        for (int x = 0; x < W; x++) {
            double r = d[x + b];
            d2[(size_t)y * W + x] = r > NO_SITE / 2 ? FLT_MAX : (float)r;
        }
    }
}
