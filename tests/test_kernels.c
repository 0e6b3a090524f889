/* test_kernels.c -- the portable reference kernels (kernels/scalar/) against
 * deliberately naive references written straight from the formulas of
 * format/FORMAT.md, in double where it matters, on odd sizes with fixed-seed
 * random inputs. Scratch buffers are allocated at exactly the documented size
 * so that the sanitizer build catches overruns.
 *
 * Last line of output: "N passed, M failed"; exit status 1 on any failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#define KH_SEED 0x2545F4914F6CDD1Dull
#include "tests/kernel_harness.h"

/* ------------------------------------------------------------------ harness */

static double *dbuf(size_t n) {
    double *p = xmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = 0.0;
    return p;
}

/* One check: every |got - ref| <= atol + rtol * |ref|. */
static void check(const char *what, const float *got, const double *ref, size_t n, double atol,
                  double rtol) {
    size_t bad = 0, first = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - ref[i]);
        const double tol = atol + rtol * fabs(ref[i]);
        if (!(d <= tol)) {
            if (!bad++) first = i;
        }
        if (d > worst) worst = d;
    }
    if (bad)
        printf("  %s: %zu/%zu mismatches, first at %zu: got %.9g want %.9g (max abs err %.3g)\n",
               what, bad, n, first, (double)got[first], ref[first], worst);
    CHECK(bad == 0, "%s", what);
}

static double ref_act(double v, int act) {
    switch (act) {
    case IFK_ACT_RELU: return v < 0 ? 0 : v;
    case IFK_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case IFK_ACT_HARDSWISH: return v * fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0;
    default: return v;
    }
}

/* PyTorch 'nearest' source index, restated from FORMAT.md. */
static int ref_nearest(int i, int n, int g) {
    if (n == g) return i;
    if (n == 2 * g) return i >> 1;
    const float s = (float)g / (float)n;
    const int v = (int)floorf((float)i * s);
    return v < g - 1 ? v : g - 1;
}

/* Native cell (P, Q) of runtime cell (i, j) of an h x w grid over gh x gw. */
static void ref_native(int h, int w, int gh, int gw, int i, int j, int *P, int *Q) {
    if (h * w == gh * gw) {
        const int f = i * w + j;
        *P = f / gw;
        *Q = f % gw;
    } else {
        *P = ref_nearest(i, h, gh);
        *Q = ref_nearest(j, w, gw);
    }
}

/* Bilinear (align_corners False) taps of one axis. The source coordinate is
 * float arithmetic as FORMAT.md (and PyTorch) define it -- far from the
 * origin its rounding is part of the result -- the weights are then used
 * in double. */
static void ref_lin(int dst, int in, int out, int *i0, int *i1, double *l0, double *l1) {
    if (in == out) {
        *i0 = *i1 = dst;
        *l0 = 1;
        *l1 = 0;
        return;
    }
    const float scale = (float)in / (float)out;
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    const int a = (int)src;
    *i0 = a;
    *i1 = a + (a < in - 1);
    *l1 = (double)(src - (float)a);
    *l0 = 1 - *l1;
}

/* ---------------------------------------------------------- elementwise */

static void test_activation(void) {
    enum { N = 1031 };
    float *x = rnd_buf(N, -8.0f, 8.0f);
    const float special[] = {0.0f,    -0.0f,  3.0f,    -3.0f, 1e-30f,
                             -1e-30f, 100.0f, -100.0f, 6.0f,  -6.0f};
    memcpy(x, special, sizeof special);
    float *y = xmalloc(N * sizeof *y), *z = xmalloc(N * sizeof *z);
    double *r = dbuf(N);
    char what[128];
    for (int act = 0; act < 4; act++) {
        for (int i = 0; i < N; i++) r[i] = ref_act(x[i], act);
        ifk_activation(x, N, act, y);
        snprintf(what, sizeof what, "activation %s", act_name[act]);
        check(what, y, r, N, 1e-6, 1e-6);
        memcpy(z, x, N * sizeof *z);
        ifk_activation(z, N, act, z);
        snprintf(what, sizeof what, "activation %s in place", act_name[act]);
        check_exact(what, z, y, N);
    }
    /* Fixed points: exact values PyTorch gives. */
    const float pts[] = {-3.0f, 0.0f, 3.0f, 1.0f};
    float out[4];
    ifk_activation(pts, 4, IFK_ACT_HARDSWISH, out);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 3.0f && out[3] == 1.0f * 4.0f / 6.0f,
          "hardswish fixed points");
    ifk_activation(pts, 4, IFK_ACT_RELU, out);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 3.0f && out[3] == 1.0f,
          "relu fixed points");
    free(x);
    free(y);
    free(z);
    free(r);
}

static void test_add(void) {
    enum { N = 37 };
    float *a = rnd_buf(N, -1, 1), *b = rnd_buf(N, -1, 1), *y = xmalloc(N * sizeof *y);
    float *want = xmalloc(N * sizeof *want);
    for (int i = 0; i < N; i++) want[i] = a[i] + b[i];
    ifk_add(a, b, N, y);
    check_exact("add", y, want, N);
    float *c = xmalloc(N * sizeof *c);
    memcpy(c, a, N * sizeof *c);
    ifk_add(c, b, N, c);
    check_exact("add in place (y == a)", c, want, N);
    memcpy(c, b, N * sizeof *c);
    ifk_add(a, c, N, c);
    check_exact("add in place (y == b)", c, want, N);
    free(a);
    free(b);
    free(c);
    free(y);
    free(want);
}

/* ---------------------------------------------------------------- linear */

static void test_linear(void) {
    static const int sizes[][3] = {
        {1, 1, 1},   {3, 7, 5},   {4, 4, 4},     {13, 17, 9}, {17, 33, 13},
        {5, 300, 7}, {8, 16, 12}, {9, 600, 130}, {2, 1, 6},   {1, 64, 1},
    };
    char what[160];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];
        float *x = rnd_buf((size_t)m * k, -1, 1), *w = rnd_buf((size_t)n * k, -1, 1);
        float *b = rnd_buf((size_t)n, -1, 1), *y = xmalloc((size_t)m * n * sizeof *y);
        double *r = dbuf((size_t)m * n);
        for (int variant = 0; variant < 8; variant++) {
            const int act = variant % 4, has_bias = variant / 4;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double acc = has_bias ? b[j] : 0.0;
                    for (int p = 0; p < k; p++) acc += (double)x[i * k + p] * w[j * k + p];
                    r[i * n + j] = ref_act(acc, act);
                }
            ifk_linear(x, m, k, w, has_bias ? b : NULL, n, act, y);
            snprintf(what, sizeof what, "linear m=%d k=%d n=%d bias=%d act=%s", m, k, n, has_bias,
                     act_name[act]);
            check(what, y, r, (size_t)m * n, 1e-5, 1e-5);
        }
        free(x);
        free(w);
        free(b);
        free(y);
        free(r);
    }
}

/* ------------------------------------------------------------------ conv */

static void ref_conv2d(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                       double *y, int ho, int wo) {
    const int cig = p->cin / p->groups, cog = p->cout / p->groups;
    for (int Y = 0; Y < ho; Y++)
        for (int X = 0; X < wo; X++)
            for (int o = 0; o < p->cout; o++) {
                const int g = o / cog;
                double acc = bias ? bias[o] : 0.0;
                for (int ky = 0; ky < p->kh; ky++)
                    for (int kx = 0; kx < p->kw; kx++)
                        for (int i = 0; i < cig; i++) {
                            const int iy = Y * p->sh - p->pt + ky, ix = X * p->sw - p->pl + kx;
                            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                            acc += (double)wt[((o * p->kh + ky) * p->kw + kx) * cig + i] *
                                   x[(iy * p->w + ix) * p->cin + g * cig + i];
                        }
                y[(Y * wo + X) * p->cout + o] = ref_act(acc, p->act);
            }
}

static void test_conv2d(void) {
    /* h, w, cin, cout, kh, kw, sh, sw, pt, pl, pb, pr, groups */
    static const int cfg[][13] = {
        {7, 13, 5, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1},       /* 1x1 (GEMM path) */
        {7, 13, 5, 9, 1, 1, 2, 2, 0, 0, 0, 0, 1},       /* 1x1 stride 2 */
        {5, 6, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1},        /* 1x1 padded */
        {13, 17, 6, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* 3x3 pad 1 */
        {7, 9, 1, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},        /* 3x3, cin 1 */
        {5, 23, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1},       /* wide rows: 4-pixel blocks */
        {5, 23, 6, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1},       /* same, stride 2 */
        {17, 13, 7, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1},     /* 3x3 stride 2 pad 1 */
        {8, 10, 5, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1},       /* 2x2 stride 2 */
        {9, 7, 3, 5, 2, 2, 2, 2, 0, 0, 0, 0, 1},        /* 2x2 stride 2, odd input */
        {32, 48, 3, 20, 16, 16, 16, 16, 0, 0, 0, 0, 1}, /* 16x16 stride 16 patch embed */
        {33, 50, 3, 6, 16, 16, 16, 16, 0, 0, 0, 0, 1},  /* patch embed, ragged input */
        {9, 11, 13, 13, 3, 3, 1, 1, 1, 1, 1, 1, 13},    /* depthwise 3x3 */
        {10, 7, 70, 70, 3, 3, 2, 2, 1, 1, 1, 1, 70},    /* depthwise s2, c > one block */
        {8, 9, 5, 5, 7, 7, 1, 1, 3, 3, 3, 3, 5},        /* depthwise 7x7 */
        {10, 10, 4, 4, 9, 9, 1, 1, 4, 4, 4, 4, 4},      /* depthwise 9x9 (general path) */
        {4, 4, 3, 3, 3, 3, 1, 1, 3, 3, 3, 3, 3},        /* depthwise, taps all outside */
        {6, 7, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4},        /* depthwise, multiplier 2 */
        {7, 6, 12, 9, 3, 3, 1, 1, 1, 1, 1, 1, 3},       /* grouped */
        {5, 21, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 2},      /* grouped, 4-pixel blocks */
        {5, 5, 8, 6, 1, 1, 1, 1, 0, 0, 0, 0, 2},        /* grouped 1x1 */
        {6, 9, 5, 7, 3, 2, 1, 2, 2, 0, 1, 3, 1},        /* asymmetric kernel/stride/pad */
        {4, 5, 3, 4, 3, 3, 1, 1, 4, 4, 4, 4, 1},        /* pad > kernel: bias-only outputs */
        {1, 1, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},        /* 1x1 image */
        {3, 3, 4, 6, 3, 3, 1, 1, 0, 0, 0, 0, 1},        /* kernel == image */
        {6, 7, 64, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1},     /* several output-channel blocks */
        {4, 9, 2, 3, 1, 3, 1, 1, 0, 1, 0, 1, 1},        /* 1x3 */
    };
    char what[200];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int *c = cfg[s];
        ifk_conv_params p = {.h = c[0],
                             .w = c[1],
                             .cin = c[2],
                             .cout = c[3],
                             .kh = c[4],
                             .kw = c[5],
                             .sh = c[6],
                             .sw = c[7],
                             .pt = c[8],
                             .pl = c[9],
                             .pb = c[10],
                             .pr = c[11],
                             .groups = c[12]};
        int ho, wo;
        ifk_conv2d_out_size(&p, &ho, &wo);
        const int eho = (p.h + p.pt + p.pb - p.kh) / p.sh + 1,
                  ewo = (p.w + p.pl + p.pr - p.kw) / p.sw + 1;
        snprintf(what, sizeof what, "conv2d_out_size case %zu", s);
        CHECK(ho == eho && wo == ewo, "%s", what);
        const size_t nx = (size_t)p.h * p.w * p.cin,
                     nw = (size_t)p.cout * p.kh * p.kw * (p.cin / p.groups);
        const size_t ny = (size_t)ho * wo * p.cout;
        float *x = rnd_buf(nx, -1, 1), *wt = rnd_buf(nw, -1, 1),
              *b = rnd_buf((size_t)p.cout, -1, 1);
        float *y = xmalloc(ny * sizeof *y);
        double *r = dbuf(ny);
        for (int variant = 0; variant < 8; variant++) {
            p.act = variant % 4;
            const float *bias = variant / 4 ? b : NULL;
            ref_conv2d(x, &p, wt, bias, r, ho, wo);
            ifk_conv2d(x, &p, wt, bias, y);
            snprintf(what, sizeof what,
                     "conv2d %dx%dx%d->%d k%dx%d s%dx%d p%d,%d,%d,%d g%d bias=%d act=%s", p.h, p.w,
                     p.cin, p.cout, p.kh, p.kw, p.sh, p.sw, p.pt, p.pl, p.pb, p.pr, p.groups,
                     bias != NULL, act_name[p.act]);
            check(what, y, r, ny, 1e-5, 1e-5);
        }
        free(x);
        free(wt);
        free(b);
        free(y);
        free(r);
    }
}

static void test_conv_transpose(void) {
    static const int cfg[][6] = {
        {3, 5, 7, 9, 2, 2},
        {1, 1, 1, 1, 1, 1},
        {4, 3, 17, 5, 3, 2},
        {2, 7, 6, 13, 2, 2},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int h = cfg[s][0], w = cfg[s][1], cin = cfg[s][2], cout = cfg[s][3];
        const int kh = cfg[s][4], kw = cfg[s][5];
        const int oh = h * kh, ow = w * kw;
        float *x = rnd_buf((size_t)h * w * cin, -1, 1);
        float *wt = rnd_buf((size_t)kh * kw * cout * cin, -1, 1), *b = rnd_buf((size_t)cout, -1, 1);
        float *y = xmalloc((size_t)oh * ow * cout * sizeof *y);
        double *r = dbuf((size_t)oh * ow * cout);
        for (int has_bias = 0; has_bias < 2; has_bias++) {
            for (int Y = 0; Y < h; Y++)
                for (int X = 0; X < w; X++)
                    for (int dy = 0; dy < kh; dy++)
                        for (int dx = 0; dx < kw; dx++)
                            for (int o = 0; o < cout; o++) {
                                double acc = has_bias ? b[o] : 0.0;
                                for (int i = 0; i < cin; i++)
                                    acc += (double)wt[((dy * kw + dx) * cout + o) * cin + i] *
                                           x[(Y * w + X) * cin + i];
                                r[((Y * kh + dy) * ow + X * kw + dx) * cout + o] = acc;
                            }
            ifk_conv_transpose2d(x, h, w, cin, wt, has_bias ? b : NULL, cout, kh, kw, y);
            snprintf(what, sizeof what, "conv_transpose2d %dx%dx%d->%d k%dx%d bias=%d", h, w, cin,
                     cout, kh, kw, has_bias);
            check(what, y, r, (size_t)oh * ow * cout, 1e-5, 1e-5);
        }
        free(x);
        free(wt);
        free(b);
        free(y);
        free(r);
    }
}

/* ------------------------------------------------------------------ norms */

static void test_layer_norm(void) {
    /* rows, c, offset, spread */
    static const double cfg[][4] = {
        {1, 1, 0, 1}, {3, 17, 0, 1},     {5, 768, 0, 2},
        {2, 3, 0, 1}, {4, 33, 100, 0.1}, {3, 64, -50, 3},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int rows = (int)cfg[s][0], c = (int)cfg[s][1];
        const float off = (float)cfg[s][2], sp = (float)cfg[s][3];
        float *x = rnd_buf((size_t)rows * c, off - sp, off + sp);
        float *g = rnd_buf((size_t)c, 0.5f, 1.5f), *b = rnd_buf((size_t)c, -1, 1);
        float *y = xmalloc((size_t)rows * c * sizeof *y);
        double *r = dbuf((size_t)rows * c);
        const float eps = s % 2 ? 1e-6f : 1e-5f;
        for (int i = 0; i < rows; i++) {
            double mean = 0, var = 0;
            for (int k = 0; k < c; k++) mean += x[i * c + k];
            mean /= c;
            for (int k = 0; k < c; k++) var += (x[i * c + k] - mean) * (x[i * c + k] - mean);
            var /= c;
            for (int k = 0; k < c; k++)
                r[i * c + k] = (x[i * c + k] - mean) / sqrt(var + (double)eps) * g[k] + b[k];
        }
        ifk_layer_norm(x, rows, c, g, b, eps, y);
        snprintf(what, sizeof what, "layer_norm rows=%d c=%d offset=%g", rows, c, (double)off);
        check(what, y, r, (size_t)rows * c, 1e-5, 1e-5);
        free(x);
        free(g);
        free(b);
        free(y);
        free(r);
    }
}

static void test_group_norm(void) {
    /* hw, c, groups, offset, spread */
    static const double cfg[][5] = {
        {13, 12, 1, 0, 1},      {13, 12, 3, 0, 1},   {7, 12, 12, 0, 1}, {49, 600, 2, 0, 1},
        {17, 520, 260, 0, 1},   {5, 257, 257, 0, 1}, {1, 6, 3, 0, 1},   {3, 7, 1, 0, 1},
        {31, 64, 32, 20, 0.05}, {9, 300, 300, 0, 1},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int hw = (int)cfg[s][0], c = (int)cfg[s][1], G = (int)cfg[s][2];
        const float off = (float)cfg[s][3], sp = (float)cfg[s][4];
        const int cg = c / G;
        const size_t n = (size_t)hw * c;
        float *x = rnd_buf(n, off - sp, off + sp);
        float *g = rnd_buf((size_t)c, 0.5f, 1.5f), *b = rnd_buf((size_t)c, -1, 1);
        float *y = xmalloc(n * sizeof *y), *z = xmalloc(n * sizeof *z);
        double *r = dbuf(n);
        const float eps = 1e-5f;
        for (int act = 0; act < 4; act++) {
            for (int gi = 0; gi < G; gi++) {
                double mean = 0, var = 0;
                for (int p = 0; p < hw; p++)
                    for (int k = gi * cg; k < (gi + 1) * cg; k++) mean += x[(size_t)p * c + k];
                mean /= (double)hw * cg;
                for (int p = 0; p < hw; p++)
                    for (int k = gi * cg; k < (gi + 1) * cg; k++) {
                        const double d = x[(size_t)p * c + k] - mean;
                        var += d * d;
                    }
                var /= (double)hw * cg;
                for (int p = 0; p < hw; p++)
                    for (int k = gi * cg; k < (gi + 1) * cg; k++) {
                        const double v = (x[(size_t)p * c + k] - mean) / sqrt(var + (double)eps);
                        r[(size_t)p * c + k] = ref_act(v * g[k] + b[k], act);
                    }
            }
            ifk_group_norm(x, hw, c, G, g, b, eps, act, y);
            snprintf(what, sizeof what, "group_norm hw=%d c=%d groups=%d act=%s", hw, c, G,
                     act_name[act]);
            check(what, y, r, n, 1e-5, 1e-5);
            memcpy(z, x, n * sizeof *z);
            ifk_group_norm(z, hw, c, G, g, b, eps, act, z);
            snprintf(what, sizeof what, "group_norm in place hw=%d c=%d groups=%d act=%s", hw, c, G,
                     act_name[act]);
            check_exact(what, z, y, n);
            /* The pieces (sums, moments, sums, moments, apply) over the whole map: the same floats. */
            double mean[600], sq[600];
            float mhi[600], mlo[600], rstd[600];
            for (int gi = 0; gi < G; gi++) mean[gi] = sq[gi] = 0.0;
            ifk_group_norm_sums(x, hw, c, G, NULL, mean);
            for (int gi = 0; gi < G; gi++) mean[gi] /= (double)hw * cg;
            ifk_group_norm_sums(x, hw, c, G, mean, sq);
            ifk_group_norm_moments(G, (double)hw * cg, eps, mean, sq, mhi, mlo, rstd);
            ifk_group_norm_apply(x, hw, c, G, mhi, mlo, rstd, g, b, act, z);
            snprintf(what, sizeof what, "group_norm pieces hw=%d c=%d groups=%d act=%s", hw, c, G,
                     act_name[act]);
            check_exact(what, z, y, n);
        }
        free(x);
        free(g);
        free(b);
        free(y);
        free(z);
        free(r);
    }
}

/* ------------------------------------------------------ resize and pools */

static void ref_bilinear(const double *x, int h, int w, int c, double *y, int oh, int ow) {
    for (int oy = 0; oy < oh; oy++) {
        int i0, i1;
        double a0, a1;
        ref_lin(oy, h, oh, &i0, &i1, &a0, &a1);
        for (int ox = 0; ox < ow; ox++) {
            int j0, j1;
            double b0, b1;
            ref_lin(ox, w, ow, &j0, &j1, &b0, &b1);
            for (int k = 0; k < c; k++)
                y[((size_t)oy * ow + ox) * c + k] = a0 * (b0 * x[((size_t)i0 * w + j0) * c + k] +
                                                          b1 * x[((size_t)i0 * w + j1) * c + k]) +
                                                    a1 * (b0 * x[((size_t)i1 * w + j0) * c + k] +
                                                          b1 * x[((size_t)i1 * w + j1) * c + k]);
        }
    }
}

static void test_resize(void) {
    /* h, w, oh, ow, c */
    static const int cfg[][5] = {
        {3, 5, 7, 13, 3}, {17, 13, 5, 3, 2}, {7, 7, 7, 7, 5},      {1, 1, 5, 3, 4},
        {1, 7, 4, 3, 1},  {5, 17, 9, 4, 3},  {4, 4, 64, 64, 2},    {8, 8, 16, 16, 1},
        {9, 6, 9, 11, 2}, {64, 48, 7, 5, 3}, {6, 130, 24, 520, 2}, /* the columns in several blocks */
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int h = cfg[s][0], w = cfg[s][1], oh = cfg[s][2], ow = cfg[s][3], c = cfg[s][4];
        const size_t nx = (size_t)h * w * c, ny = (size_t)oh * ow * c;
        float *x = rnd_buf(nx, -1, 1), *y = xmalloc(ny * sizeof *y);
        double *xd = dbuf(nx), *r = dbuf(ny);
        for (size_t i = 0; i < nx; i++) xd[i] = x[i];
        ref_bilinear(xd, h, w, c, r, oh, ow);
        ifk_resize_bilinear(x, h, w, c, y, oh, ow, 0, oh);
        snprintf(what, sizeof what, "resize_bilinear %dx%d -> %dx%d c=%d", h, w, oh, ow, c);
        check(what, y, r, ny, 1e-6, 1e-6);
        if (h == oh && w == ow) check_exact("resize_bilinear same size is the identity", y, x, nx);
        free(x);
        free(y);
        free(xd);
        free(r);
    }
    /* F.interpolate([0, 1], size=4, bilinear, align_corners=False) = [0, .25, .75, 1]. */
    const float in[2] = {0.0f, 1.0f};
    float out[4];
    ifk_resize_bilinear(in, 1, 2, 1, out, 1, 4, 0, 1);
    CHECK(out[0] == 0.0f && out[1] == 0.25f && out[2] == 0.75f && out[3] == 1.0f,
          "resize_bilinear PyTorch values 2 -> 4");
    /* 4 -> 2: src = 2*(dst+.5)-.5 = 0.5, 2.5: [(a+b)/2, (c+d)/2]. */
    const float in4[4] = {1.0f, 2.0f, 4.0f, 8.0f};
    float out2[2];
    ifk_resize_bilinear(in4, 4, 1, 1, out2, 2, 1, 0, 2);
    CHECK(out2[0] == 1.5f && out2[1] == 6.0f, "resize_bilinear PyTorch values 4 -> 2");
}

static void test_pools(void) {
    /* h, w, oh, ow, c */
    static const int cfg[][5] = {
        {7, 5, 3, 2, 3}, {5, 5, 7, 9, 2},   {13, 17, 4, 5, 5}, {1, 1, 2, 3, 4},
        {6, 6, 6, 6, 3}, {10, 3, 3, 10, 1}, {64, 48, 7, 5, 2}, {5, 7, 1, 1, 3},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int h = cfg[s][0], w = cfg[s][1], oh = cfg[s][2], ow = cfg[s][3], c = cfg[s][4];
        const size_t nx = (size_t)h * w * c, ny = (size_t)oh * ow * c;
        float *x = rnd_buf(nx, -1, 1), *y = xmalloc(ny * sizeof *y);
        double *ra = dbuf(ny);
        float *rm = xmalloc(ny * sizeof *rm);
        for (int oy = 0; oy < oh; oy++) {
            const int y0 = (int)floor((double)oy * h / oh),
                      y1 = (int)ceil((double)(oy + 1) * h / oh);
            for (int ox = 0; ox < ow; ox++) {
                const int x0 = (int)floor((double)ox * w / ow),
                          x1 = (int)ceil((double)(ox + 1) * w / ow);
                for (int k = 0; k < c; k++) {
                    double sum = 0;
                    float mx = -INFINITY;
                    for (int iy = y0; iy < y1; iy++)
                        for (int ix = x0; ix < x1; ix++) {
                            const float v = x[((size_t)iy * w + ix) * c + k];
                            sum += v;
                            mx = v > mx ? v : mx;
                        }
                    ra[((size_t)oy * ow + ox) * c + k] = sum / ((y1 - y0) * (x1 - x0));
                    rm[((size_t)oy * ow + ox) * c + k] = mx;
                }
            }
        }
        ifk_adaptive_avg_pool(x, h, w, c, y, oh, ow, 0, oh);
        snprintf(what, sizeof what, "adaptive_avg_pool %dx%d -> %dx%d c=%d", h, w, oh, ow, c);
        check(what, y, ra, ny, 1e-6, 1e-6);
        ifk_adaptive_max_pool(x, h, w, c, y, oh, ow, oh / 2, oh);
        ifk_adaptive_max_pool(x, h, w, c, y, oh, ow, 0, oh / 2);
        snprintf(what, sizeof what, "adaptive_max_pool %dx%d -> %dx%d c=%d", h, w, oh, ow, c);
        check_exact(what, y, rm, ny);
        free(x);
        free(y);
        free(ra);
        free(rm);
    }
    /* NaN propagates through max pooling (PyTorch). */
    float xn[4] = {1.0f, NAN, 2.0f, 3.0f}, yn[1];
    ifk_adaptive_max_pool(xn, 2, 2, 1, yn, 1, 1, 0, 1);
    CHECK(isnan(yn[0]), "adaptive_max_pool propagates NaN");
}

/* ----------------------------------------------------------------- im2col */

static void test_im2col(void) {
    /* h, w, c, kh, kw, sh, sw, pt, pl, pb, pr */
    static const int cfg[][11] = {
        {7, 9, 3, 3, 3, 2, 2, 1, 1, 1, 1}, {5, 5, 2, 2, 2, 2, 2, 0, 0, 0, 0},
        {6, 7, 4, 3, 2, 1, 3, 0, 1, 2, 0}, {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
        {4, 5, 3, 3, 3, 1, 1, 2, 2, 2, 2}, {8, 8, 5, 3, 3, 2, 2, 1, 1, 1, 1},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int *q = cfg[s];
        const int h = q[0], w = q[1], c = q[2], kh = q[3], kw = q[4], sh = q[5], sw = q[6];
        const int pt = q[7], pl = q[8], pb = q[9], pr = q[10];
        const int ho = (h + pt + pb - kh) / sh + 1, wo = (w + pl + pr - kw) / sw + 1;
        const int oc = c * kh * kw;
        const size_t ny = (size_t)ho * wo * oc;
        float *x = rnd_buf((size_t)h * w * c, -1, 1), *y = xmalloc(ny * sizeof *y);
        float *r = xmalloc(ny * sizeof *r);
        for (int Y = 0; Y < ho; Y++)
            for (int X = 0; X < wo; X++)
                for (int ci = 0; ci < c; ci++)
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            const int iy = Y * sh - pt + ky, ix = X * sw - pl + kx;
                            const float v = iy < 0 || iy >= h || ix < 0 || ix >= w
                                                ? 0.0f
                                                : x[((size_t)iy * w + ix) * c + ci];
                            r[((size_t)Y * wo + X) * oc + ci * kh * kw + ky * kw + kx] = v;
                        }
        /* In two row ranges, as threads run it. */
        ifk_im2col(x, h, w, c, kh, kw, sh, sw, pt, pl, pb, pr, y, ho / 2, ho);
        ifk_im2col(x, h, w, c, kh, kw, sh, sw, pt, pl, pb, pr, y, 0, ho / 2);
        snprintf(what, sizeof what, "im2col %dx%dx%d k%dx%d s%dx%d p%d,%d,%d,%d", h, w, c, kh, kw,
                 sh, sw, pt, pl, pb, pr);
        check_exact(what, y, r, ny);
        free(x);
        free(y);
        free(r);
    }
}

/* -------------------------------------------------------------- attention */

/* softmax(s) . v in double for one head of one query. */
static void ref_softmax_av(const double *sc, int m, const float *v, size_t ldv, int d,
                           double *out) {
    double mx = sc[0], sum = 0;
    for (int j = 1; j < m; j++) mx = sc[j] > mx ? sc[j] : mx;
    for (int j = 0; j < m; j++) sum += exp(sc[j] - mx);
    for (int t = 0; t < d; t++) out[t] = 0;
    for (int j = 0; j < m; j++) {
        const double pj = exp(sc[j] - mx) / sum;
        for (int t = 0; t < d; t++) out[t] += pj * v[(size_t)j * ldv + t];
    }
}

static void test_attention(void) {
    /* nq, m, c, heads, logit scale multiplier (40: logits far beyond expf's
     * range, so softmax must subtract the maximum) */
    static const int cfg[][5] = {
        {1, 1, 4, 1, 1},   {7, 5, 12, 3, 2},   {13, 17, 6, 1, 1},
        {5, 33, 40, 4, 2}, {3, 2, 9, 3, 1},    {4, 64, 64, 2, 1},
        {6, 9, 16, 2, 40}, {5, 300, 20, 2, 1}, {6, 257, 8, 1, 40},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int nq = cfg[s][0], m = cfg[s][1], c = cfg[s][2], heads = cfg[s][3], d = c / heads;
        const float scale = 1.0f / sqrtf((float)d) * (float)cfg[s][4];
        float *q = rnd_buf((size_t)nq * c, -2, 2), *kv = rnd_buf((size_t)m * 2 * c, -2, 2);
        float *y = xmalloc((size_t)nq * c * sizeof *y),
              *scratch = xmalloc((size_t)m * sizeof *scratch);
        double *r = dbuf((size_t)nq * c), *sc = dbuf((size_t)m);
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < nq; i++) {
                for (int j = 0; j < m; j++) {
                    double acc = 0;
                    for (int t = 0; t < d; t++)
                        acc += (double)q[(size_t)i * c + hd * d + t] *
                               kv[(size_t)j * 2 * c + hd * d + t];
                    sc[j] = scale * acc;
                }
                ref_softmax_av(sc, m, kv + c + hd * d, (size_t)2 * c, d,
                               r + (size_t)i * c + hd * d);
            }
        ifk_attention(q, nq, kv, m, c, heads, scale, y, scratch);
        snprintf(what, sizeof what, "attention nq=%d m=%d c=%d heads=%d scale=%g", nq, m, c, heads,
                 (double)scale);
        check(what, y, r, (size_t)nq * c, 1e-5, 1e-5);
        free(q);
        free(kv);
        free(y);
        free(scratch);
        free(r);
        free(sc);
    }
}

/* h, w, gh, gw, c, heads, logit scale multiplier: native, flat
 * (h*w == gh*gw, h != gh), 2x, odd ratios up and down, one axis native, 1x1. */
static const int vit_cfg[][7] = {
    {3, 4, 3, 4, 6, 1, 1},   {2, 6, 3, 4, 6, 3, 1}, {6, 2, 3, 4, 12, 3, 1}, {4, 3, 3, 4, 6, 2, 1},
    {6, 8, 3, 4, 6, 2, 1},   {5, 7, 3, 4, 6, 3, 1}, {2, 3, 3, 4, 6, 1, 1},  {1, 1, 2, 2, 4, 2, 1},
    {3, 8, 3, 4, 6, 1, 1},   {7, 5, 2, 5, 9, 3, 1}, {4, 10, 2, 5, 8, 4, 1}, {12, 12, 5, 5, 6, 2, 1},
    {2, 6, 3, 4, 16, 2, 40},
};

static void test_vit_attention(void) {
    char what[160];
    for (size_t s = 0; s < sizeof vit_cfg / sizeof vit_cfg[0]; s++) {
        const int h = vit_cfg[s][0], w = vit_cfg[s][1], gh = vit_cfg[s][2], gw = vit_cfg[s][3];
        const int c = vit_cfg[s][4], heads = vit_cfg[s][5], d = c / heads, n = 1 + h * w;
        const int R = (2 * gh - 1) * (2 * gw - 1) + 3;
        const float scale = 1.0f / sqrtf((float)d) * (float)vit_cfg[s][6];
        float *qkv = rnd_buf((size_t)n * 3 * c, -2, 2), *table = rnd_buf((size_t)R * heads, -2, 2);
        float *y = xmalloc((size_t)n * c * sizeof *y);
        const size_t ns = ifk_vit_attention_scratch(h, w);
        float *scratch = xmalloc(ns * sizeof *scratch);
        double *r = dbuf((size_t)n * c), *sc = dbuf((size_t)n);
        for (int hd = 0; hd < heads; hd++)
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    double acc = 0;
                    for (int t = 0; t < d; t++)
                        acc += (double)qkv[(size_t)a * 3 * c + hd * d + t] *
                               qkv[(size_t)b * 3 * c + c + hd * d + t];
                    int idx;
                    if (a == 0 && b == 0) {
                        idx = R - 1;
                    } else if (a == 0) {
                        idx = R - 3;
                    } else if (b == 0) {
                        idx = R - 2;
                    } else {
                        int pi, pj, qi, qj;
                        ref_native(h, w, gh, gw, (a - 1) / w, (a - 1) % w, &pi, &pj);
                        ref_native(h, w, gh, gw, (b - 1) / w, (b - 1) % w, &qi, &qj);
                        idx = (pi - qi + gh - 1) * (2 * gw - 1) + (pj - qj + gw - 1);
                    }
                    sc[b] = scale * acc + table[(size_t)idx * heads + hd];
                }
                ref_softmax_av(sc, n, qkv + 2 * c + hd * d, (size_t)3 * c, d,
                               r + (size_t)a * c + hd * d);
            }
        ifk_vit_attention(qkv, h, w, c, heads, scale, table, gh, gw, y, scratch);
        snprintf(what, sizeof what, "vit_attention grid %dx%d native %dx%d c=%d heads=%d scale=%g",
                 h, w, gh, gw, c, heads, (double)scale);
        check(what, y, r, (size_t)n * c, 1e-5, 1e-5);
        free(qkv);
        free(table);
        free(y);
        free(scratch);
        free(r);
        free(sc);
    }
}

static void test_native_cells(void) {
    /* Spot values of PyTorch's nearest rule. */
    static const int pts[][4] = {
        /* i, n, g, want */
        {0, 5, 3, 0}, {1, 5, 3, 0},   {2, 5, 3, 1}, {3, 5, 3, 1}, {4, 5, 3, 2}, /* scale 0.6 */
        {0, 3, 4, 0}, {1, 3, 4, 1},   {2, 3, 4, 2},                             /* 1.3333334 */
        {7, 8, 4, 3}, {5, 8, 4, 2},   {3, 4, 4, 3},                             /* 2x, same */
        {6, 7, 3, 2}, {13, 14, 5, 4}, {2, 3, 2, 1}, {0, 1, 4, 0},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        const int got = ifk_nearest_index(pts[i][0], pts[i][1], pts[i][2]);
        if (got != pts[i][3]) {
            printf("  nearest_index(%d, %d, %d) = %d, want %d\n", pts[i][0], pts[i][1], pts[i][2],
                   got, pts[i][3]);
            bad++;
        }
    }
    for (int g = 1; g <= 40; g++)
        for (int n = 1; n <= 90; n++)
            for (int i = 0; i < n; i++) {
                const int got = ifk_nearest_index(i, n, g);
                if (got != ref_nearest(i, n, g) || got < 0 || got >= g) bad++;
            }
    CHECK(bad == 0, "nearest_index");

    char what[160];
    for (size_t s = 0; s < sizeof vit_cfg / sizeof vit_cfg[0]; s++) {
        const int h = vit_cfg[s][0], w = vit_cfg[s][1], gh = vit_cfg[s][2], gw = vit_cfg[s][3];
        int mh[16], mw[16], nat[160];
        for (int i = 0; i < 16; i++) mh[i] = mw[i] = -7;
        for (int i = 0; i < 160; i++) nat[i] = -7;
        const int flat = ifk_native_cells(h, w, gh, gw, mh, mw, nat);
        int ok = flat == (h * w == gh * gw);
        if (flat) {
            for (int i = 0; i < 16; i++) ok &= mh[i] == -7 && mw[i] == -7;
            for (int f = 0; f < h * w; f++) {
                int P, Q;
                ref_native(h, w, gh, gw, f / w, f % w, &P, &Q);
                ok &= nat[f] == P * gw + Q;
            }
            ok &= nat[h * w] == -7;
        } else {
            for (int i = 0; i < h; i++) ok &= mh[i] == ref_nearest(i, h, gh);
            for (int j = 0; j < w; j++) ok &= mw[j] == ref_nearest(j, w, gw);
            ok &= mh[h] == -7 && mw[w] == -7 && nat[0] == -7;
        }
        snprintf(what, sizeof what, "native_cells grid %dx%d native %dx%d", h, w, gh, gw);
        CHECK(ok, "%s", what);
    }
}

static void test_tokens_from_grid(void) {
    char what[160];
    for (size_t s = 0; s < sizeof vit_cfg / sizeof vit_cfg[0]; s++) {
        const int h = vit_cfg[s][0], w = vit_cfg[s][1], gh = vit_cfg[s][2], gw = vit_cfg[s][3];
        const int c = vit_cfg[s][4] + 1, n = 1 + h * w;
        float *x = rnd_buf((size_t)h * w * c, -1, 1), *cls = rnd_buf((size_t)c, -1, 1);
        float *pos = rnd_buf((size_t)(1 + gh * gw) * c, -1, 1);
        float *y = xmalloc((size_t)n * c * sizeof *y), *r = xmalloc((size_t)n * c * sizeof *r);
        for (int k = 0; k < c; k++) r[k] = cls[k] + pos[k];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                int P, Q;
                ref_native(h, w, gh, gw, i, j, &P, &Q);
                for (int k = 0; k < c; k++)
                    r[(size_t)(1 + i * w + j) * c + k] =
                        x[(size_t)(i * w + j) * c + k] + pos[(size_t)(1 + P * gw + Q) * c + k];
            }
        ifk_tokens_from_grid(x, h, w, c, cls, pos, gh, gw, y);
        snprintf(what, sizeof what, "tokens_from_grid grid %dx%d native %dx%d c=%d", h, w, gh, gw,
                 c);
        check_exact(what, y, r, (size_t)n * c);
        free(x);
        free(cls);
        free(pos);
        free(y);
        free(r);
    }
}

/* -------------------------------------------------------------- ref_embed */

static void test_ref_embed(void) {
    /* H, W, h, w, k, c */
    static const int cfg[][6] = {
        {17, 13, 5, 7, 5, 3}, {16, 16, 4, 4, 5, 1}, {9, 11, 9, 11, 5, 7},   {1, 1, 3, 3, 2, 2},
        {3, 5, 8, 9, 5, 3},   {20, 8, 5, 8, 3, 2},  {64, 64, 16, 16, 5, 8}, {32, 24, 8, 6, 256, 4},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int H = cfg[s][0], W = cfg[s][1], h = cfg[s][2], w = cfg[s][3], k = cfg[s][4];
        const int c = cfg[s][5];
        uint8_t *lab = xmalloc((size_t)H * W);
        for (int i = 0; i < H * W; i++) lab[i] = (uint8_t)(rnd_u32() % (uint32_t)k);
        float *table = rnd_buf((size_t)k * c, -1, 1), *y = xmalloc((size_t)h * w * c * sizeof *y);
        double *e = dbuf((size_t)H * W * c), *r = dbuf((size_t)h * w * c);
        for (int i = 0; i < H * W; i++)
            for (int q = 0; q < c; q++) e[(size_t)i * c + q] = table[(size_t)lab[i] * c + q];
        ref_bilinear(e, H, W, c, r, h, w);
        ifk_ref_embed(lab, H, W, table, k, c, y, h, w, h / 3, h);
        ifk_ref_embed(lab, H, W, table, k, c, y, h, w, 0, h / 3);
        snprintf(what, sizeof what, "ref_embed %dx%d -> %dx%d k=%d c=%d", H, W, h, w, k, c);
        check(what, y, r, (size_t)h * w * c, H == h && W == w ? 0.0 : 1e-6, 1e-6);
        free(lab);
        free(table);
        free(y);
        free(e);
        free(r);
    }
}

/* ----------------------------------------------------------- crop, paste */

static void test_crop_paste(void) {
    /* h, w, c, y0, x0, wh, ww */
    static const int cfg[][7] = {
        {7, 9, 3, 2, 3, 4, 5},
        {7, 9, 3, 0, 0, 7, 9},
        {5, 6, 2, 4, 5, 1, 1},
        {1, 1, 4, 0, 0, 1, 1},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cfg / sizeof cfg[0]; s++) {
        const int h = cfg[s][0], w = cfg[s][1], c = cfg[s][2], y0 = cfg[s][3], x0 = cfg[s][4];
        const int wh = cfg[s][5], ww = cfg[s][6];
        const size_t n = (size_t)h * w * c, nw = (size_t)wh * ww * c;
        float *x = rnd_buf(n, -1, 1), *y = xmalloc(nw * sizeof *y), *r = xmalloc(nw * sizeof *r);
        for (int i = 0; i < wh; i++)
            for (int j = 0; j < ww; j++)
                for (int k = 0; k < c; k++)
                    r[((size_t)i * ww + j) * c + k] = x[((size_t)(y0 + i) * w + x0 + j) * c + k];
        ifk_crop(x, h, w, c, y0, x0, wh, ww, y);
        snprintf(what, sizeof what, "crop %dx%dx%d at %d,%d size %dx%d", h, w, c, y0, x0, wh, ww);
        check_exact(what, y, r, nw);

        float *patch = rnd_buf(nw, -1, 1), *dst = xmalloc(n * sizeof *dst),
              *want = xmalloc(n * sizeof *want);
        memcpy(dst, x, n * sizeof *dst);
        memcpy(want, x, n * sizeof *want);
        for (int i = 0; i < wh; i++)
            for (int j = 0; j < ww; j++)
                for (int k = 0; k < c; k++)
                    want[((size_t)(y0 + i) * w + x0 + j) * c + k] =
                        patch[((size_t)i * ww + j) * c + k];
        ifk_paste(dst, h, w, c, y0, x0, wh, ww, patch);
        snprintf(what, sizeof what, "paste %dx%dx%d at %d,%d size %dx%d", h, w, c, y0, x0, wh, ww);
        check_exact(what, dst, want, n);
        free(x);
        free(y);
        free(r);
        free(patch);
        free(dst);
        free(want);
    }
}

/* -------------------------------------------------------------------- f16 */

static void test_f16(void) {
    enum { N = 65536 };
    uint16_t *src = xmalloc(N * sizeof *src);
    float *dst = xmalloc(N * sizeof *dst);
    for (int i = 0; i < N; i++) src[i] = (uint16_t)i;
    ifk_f16_to_f32(src, N, dst);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        const int sgn = i >> 15, e = (i >> 10) & 31, m = i & 1023;
        uint32_t got;
        memcpy(&got, dst + i, sizeof got);
        int ok;
        if (e == 31 && m != 0) {
            /* NaN: sign and payload kept, quiet bit as in the source. */
            ok = isnan(dst[i]) && (got >> 31) == (uint32_t)sgn && ((got >> 23) & 0xff) == 0xff &&
                 ((got >> 13) & 0x3ff) == (uint32_t)m && (got & 0x1fff) == 0;
        } else {
            double v = e == 31 ? INFINITY : e == 0 ? ldexp(m, -24) : ldexp(m + 1024, e - 25);
            if (sgn) v = -v;
            const float want = (float)v;
            ok = memcmp(&want, dst + i, sizeof want) == 0;
        }
        if (!ok && bad++ < 5) printf("  f16 0x%04x -> bits 0x%08x\n", (unsigned)i, (unsigned)got);
    }
    CHECK(bad == 0, "f16_to_f32 all 65536 patterns");
    /* A few known values. */
    const uint16_t k[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x3555};
    float kv[6];
    ifk_f16_to_f32(k, 6, kv);
    CHECK(kv[0] == 1.0f && kv[1] == -2.0f && kv[2] == 65504.0f && kv[3] == 0x1p-24f &&
              kv[4] == 0x1p-14f && kv[5] == 0x1.554p-2f,
          "f16_to_f32 known values");
    free(src);
    free(dst);
}

/* float -> half, round to nearest even. The reference works in double:
 * the value rounded (nearbyint: ties to even) to a multiple of the half
 * spacing at its binade, then compared through the (separately tested)
 * half -> float decoder. */
static double ref_half_round(double v) {
    const double a = fabs(v);
    if (a >= 65520.0) return copysign(INFINITY, v); /* halfway to 2^16 rounds up (even) */
    int e;
    frexp(a, &e);                                 /* a in [2^(e-1), 2^e) */
    const int q = e - 1 < -14 ? -24 : e - 1 - 10; /* spacing 2^q */
    return copysign(ldexp(nearbyint(ldexp(a, -q)), q), v);
}

static void test_f32_to_f16(void) {
    enum { NR = 4000 };
    /* Every finite half and infinity round-trips; NaNs stay NaN. */
    uint16_t *h = xmalloc(65536 * sizeof *h), *back = xmalloc(65536 * sizeof *back);
    float *f = xmalloc(65536 * sizeof *f);
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    ifk_f16_to_f32(h, 65536, f);
    ifk_f32_to_f16(f, 65536, back);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        const int nan = ((i >> 10) & 31) == 31 && (i & 1023);
        const int ok = nan ? ((back[i] & 0x7c00) == 0x7c00 && (back[i] & 0x3ff) &&
                              (back[i] >> 15) == (i >> 15))
                           : back[i] == h[i];
        if (!ok && bad++ < 5)
            printf("  f32_to_f16 round trip 0x%04x -> 0x%04x\n", (unsigned)i, (unsigned)back[i]);
    }
    CHECK(bad == 0, "f32_to_f16 round trip of all halves");

    /* Random floats over the whole half range and beyond, exact midpoints
     * between neighbouring halves (ties), and the edges. */
    float *x = xmalloc(NR * sizeof *x);
    uint16_t *y = xmalloc(NR * sizeof *y);
    int n = 0;
    const float edges[] = {65504.0f, 65519.996f,    65520.0f, 65536.0f,   1e30f,    0x1p-24f,
                           0x1p-25f, 0x1.0002p-25f, 0x1p-26f, 0x1.8p-24f, 0x1p-14f, 0x1.ffcp-15f,
                           0.0f,     -0.0f,         INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) x[n++] = edges[i];
    while (n < NR / 2) {
        const float m = rnd_f(1.0f, 2.0f);
        const int e = (int)(rnd_u32() % 50) - 32;
        x[n++] = (rnd_u32() & 1 ? -1.0f : 1.0f) * ldexpf(m, e);
    }
    while (n < NR) {
        const uint16_t a = (uint16_t)(rnd_u32() & 0x7bfe); /* finite, a+1 finite */
        const uint16_t ab[2] = {a, (uint16_t)(a + 1)};
        float v[2];
        ifk_f16_to_f32(ab, 2, v);
        x[n++] = (rnd_u32() & 1 ? -0.5f : 0.5f) * (v[0] + v[1]);
    }
    ifk_f32_to_f16(x, NR, y);
    float *yf = xmalloc(NR * sizeof *yf);
    ifk_f16_to_f32(y, NR, yf);
    bad = 0;
    for (int i = 0; i < NR; i++) {
        const double want = ref_half_round(x[i]);
        const int ok = (double)yf[i] == want && !signbit(yf[i]) == !signbit(want);
        if (!ok && bad++ < 5)
            printf("  f32_to_f16(%a) = 0x%04x (%a), want %a\n", (double)x[i], (unsigned)y[i],
                   (double)yf[i], want);
    }
    CHECK(bad == 0, "f32_to_f16 rounding (random, ties, edges)");
    free(h);
    free(back);
    free(f);
    free(x);
    free(y);
    free(yf);
}

int main(void) {
    test_activation();
    test_add();
    test_linear();
    test_conv2d();
    test_conv_transpose();
    test_layer_norm();
    test_group_norm();
    test_resize();
    test_pools();
    test_im2col();
    test_attention();
    test_vit_attention();
    test_native_cells();
    test_tokens_from_grid();
    test_ref_embed();
    test_crop_paste();
    test_f16();
    test_f32_to_f16();
    return CHECK_SUMMARY();
}
