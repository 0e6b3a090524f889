/* conv.c -- CONV2D (direct, im2col-free) and CONV_TRANSPOSE2D.
 *
 * CONV2D weights are OHWI: output channel o's kh*kw*(cin/groups) weights are
 * contiguous in (ky, kx, ci) order, and so is an input patch row: for one
 * kernel row ky the inputs x[iy][ix0 .. ix0+kw)[all cin] are one contiguous
 * run. So an output is a sum over kernel rows of dot products of contiguous
 * runs (one run of kw*cin per row when groups == 1; runs of cin/groups per
 * tap otherwise), and the work is a GEMM whose "x rows" are input patches.
 *
 * Loop nest (general path), per group:
 *   for a block of OB output channels (OB * K weights, ~128 KiB: L2)
 *     for each output row Y (kernel rows clipped to the image once per row)
 *       4 interior pixels x 4 output channels at a time (the 4x4 kernel,
 *       pixel patches ldx = sw*cin apart), border pixels 1 x 4 with the kernel
 *       columns clipped; output-channel tails 1 x 1.
 * Every output is one float sum over its taps in (ky, kx, ci) order.
 * Only output rows [p->oy0, p->oy1) are computed (all when p->oy1 == 0).
 *
 * Fast paths: 1x1 stride-1 unpadded ungrouped -> GEMM; depthwise
 * (groups == cin == cout) -> per-channel-block loop with the weights
 * transposed to (tap, channel) on the stack, SIMD-friendly over channels. */

#include "kernels/scalar/scalar.h"

enum { W_BLOCK_FLOATS = 32768, DW_CB = 64, DW_MAX_TAPS = 64 };

void ifk_conv2d_out_size(const ifk_conv_params *p, int *ho, int *wo) {
    *ho = (p->h + p->pt + p->pb - p->kh) / p->sh + 1;
    *wo = (p->w + p->pl + p->pr - p->kw) / p->sw + 1;
}

/* The output rows [oy0, oy1) a call computes: all when p->oy1 == 0. */
static void out_rows(const ifk_conv_params *p, int ho, int *oy0, int *oy1) {
    *oy0 = p->oy0 < 0 ? 0 : p->oy0;
    *oy1 = p->oy1 <= 0 || p->oy1 > ho ? ho : p->oy1;
}

/* The taps of one output pixel (or of 4 pixels ldx apart) form runs of
 * len contiguous floats in both the input and the weights: nky kernel rows
 * (steps xky, wky) of nrun runs each (steps xrun, wrun). */
typedef struct {
    int nky, nrun, len;
    size_t xky, wky, xrun, wrun;
} tap_runs;

/* The hot loop: acc[i][j] = sum over all runs of x_i . w_j for 4 pixels
 * (x + i*ldx) and 4 output channels (w + j*ldw); per step 8 loads and 16
 * multiply-adds, written as 4-wide rows as in linear.c. The accumulators
 * live in this function only, which keeps both gcc and clang at SIMD code. */
static void taps_4x4(const float *IF_RESTRICT x, size_t ldx, const float *IF_RESTRICT w, size_t ldw,
                     const tap_runs *t, float acc[4][4]) {
    float c0[4] = {0}, c1[4] = {0}, c2[4] = {0}, c3[4] = {0};
    for (int ky = 0; ky < t->nky; ky++) {
        for (int r = 0; r < t->nrun; r++) {
            const float *x0 = x + ky * t->xky + r * t->xrun, *w0 = w + ky * t->wky + r * t->wrun;
            const float *x1 = x0 + ldx, *x2 = x0 + 2 * ldx, *x3 = x0 + 3 * ldx;
            const float *w1 = w0 + ldw, *w2 = w0 + 2 * ldw, *w3 = w0 + 3 * ldw;
            for (int p = 0; p < t->len; p++) {
                const float b[4] = {w0[p], w1[p], w2[p], w3[p]};
                const float a0 = x0[p], a1 = x1[p], a2 = x2[p], a3 = x3[p];
                for (int j = 0; j < 4; j++) c0[j] += a0 * b[j];
                for (int j = 0; j < 4; j++) c1[j] += a1 * b[j];
                for (int j = 0; j < 4; j++) c2[j] += a2 * b[j];
                for (int j = 0; j < 4; j++) c3[j] += a3 * b[j];
            }
        }
    }
    for (int j = 0; j < 4; j++) {
        acc[0][j] = c0[j];
        acc[1][j] = c1[j];
        acc[2][j] = c2[j];
        acc[3][j] = c3[j];
    }
}

/* 1 pixel x 4 output channels. */
static void taps_1x4(const float *IF_RESTRICT x, const float *IF_RESTRICT w, size_t ldw,
                     const tap_runs *t, float acc[4]) {
    float c[4] = {0};
    for (int ky = 0; ky < t->nky; ky++) {
        for (int r = 0; r < t->nrun; r++) {
            const float *x0 = x + ky * t->xky + r * t->xrun, *w0 = w + ky * t->wky + r * t->wrun;
            const float *w1 = w0 + ldw, *w2 = w0 + 2 * ldw, *w3 = w0 + 3 * ldw;
            for (int p = 0; p < t->len; p++) {
                const float b[4] = {w0[p], w1[p], w2[p], w3[p]};
                const float a = x0[p];
                for (int j = 0; j < 4; j++) c[j] += a * b[j];
            }
        }
    }
    for (int j = 0; j < 4; j++) acc[j] = c[j];
}

/* 1 pixel x 1 output channel. */
static float taps_1x1(const float *IF_RESTRICT x, const float *IF_RESTRICT w, const tap_runs *t) {
    float c = 0.0f;
    for (int ky = 0; ky < t->nky; ky++)
        for (int r = 0; r < t->nrun; r++) {
            const float *x0 = x + ky * t->xky + r * t->xrun, *w0 = w + ky * t->wky + r * t->wrun;
            for (int p = 0; p < t->len; p++) c += x0[p] * w0[p];
        }
    return c;
}

static void conv_general(const float *x, const ifk_conv_params *p, const float *wt,
                         const float *bias, float *y) {
    int ho, wo, oy0, oy1;
    ifk_conv2d_out_size(p, &ho, &wo);
    out_rows(p, ho, &oy0, &oy1);
    const int cig = p->cin / p->groups, cog = p->cout / p->groups;
    const size_t K = (size_t)p->kh * p->kw * cig;
    const size_t ldx = (size_t)p->sw * p->cin;
    const int merged = cig == p->cin; /* one run of kw*cin per kernel row */
    int ob = K ? (int)(W_BLOCK_FLOATS / K) : cog;
    ob -= ob % 4;
    if (ob < 4) ob = 4;

    /* Output columns [xlo, xhi) have every kernel column inside the image. */
    int xlo = (p->pl + p->sw - 1) / p->sw;
    int xhi = p->w + p->pl - p->kw >= 0 ? (p->w + p->pl - p->kw) / p->sw + 1 : 0;
    if (xhi > wo) xhi = wo;
    if (xlo > xhi) xlo = xhi;

    for (int gi = 0; gi < p->groups; gi++) {
        const float *xg = x + (size_t)gi * cig;
        const float *wg = wt + (size_t)gi * cog * K;
        for (int o0 = 0; o0 < cog; o0 += ob) {
            const int o1 = o0 + ob < cog ? o0 + ob : cog;
            for (int Y = oy0; Y < oy1; Y++) {
                const int iy0 = Y * p->sh - p->pt;
                const int ky0 = iy0 < 0 ? -iy0 : 0;
                const int ky1 = p->h - iy0 < p->kh ? p->h - iy0 : p->kh;
                for (int X = 0; X < wo;) {
                    const int ix = X * p->sw - p->pl;
                    int np = 1, kx0 = 0, kx1 = p->kw;
                    if (X >= xlo && X + 4 <= xhi) {
                        np = 4;
                    } else {
                        if (ix < 0) kx0 = -ix;
                        if (p->w - ix < kx1) kx1 = p->w - ix;
                    }
                    tap_runs t = {0, 1, 0, (size_t)p->w * p->cin, (size_t)p->kw * cig, 0, 0};
                    t.nky = ky1 > ky0 ? ky1 - ky0 : 0;
                    if (kx1 <= kx0) {
                        t.nky = 0;
                    } else if (merged) {
                        t.len = (kx1 - kx0) * p->cin;
                    } else {
                        t.nrun = kx1 - kx0;
                        t.len = cig;
                        t.xrun = (size_t)p->cin;
                        t.wrun = (size_t)cig;
                    }
                    const float *xp = xg; /* no taps: any in-bounds pointer */
                    size_t wofs = 0;
                    if (t.nky) {
                        xp += ((size_t)(iy0 + ky0) * p->w + (ix + kx0)) * p->cin;
                        wofs = ((size_t)ky0 * p->kw + kx0) * cig;
                    }
                    for (int o = o0; o < o1;) {
                        const int nr = o + 4 <= o1 ? 4 : 1;
                        const float *wo_ = wg + (size_t)o * K + wofs;
                        float acc[4][4];
                        if (np == 4 && nr == 4) {
                            taps_4x4(xp, ldx, wo_, K, &t, acc);
                        } else if (nr == 4) {
                            taps_1x4(xp, wo_, K, &t, acc[0]);
                        } else {
                            for (int q = 0; q < np; q++)
                                acc[q][0] = taps_1x1(xp + q * ldx, wo_, &t);
                        }
                        for (int q = 0; q < np; q++) {
                            float *yq =
                                y + ((size_t)Y * wo + X + q) * p->cout + (size_t)gi * cog + o;
                            for (int j = 0; j < nr; j++) {
                                float v = acc[q][j];
                                if (bias) v += bias[(size_t)gi * cog + o + j];
                                yq[j] = ifk__act(v, p->act);
                            }
                        }
                        o += nr;
                    }
                    X += np;
                }
            }
        }
    }
}

/* groups == cin == cout, kh*kw <= DW_MAX_TAPS. */
static void conv_depthwise(const float *x, const ifk_conv_params *p, const float *wt,
                           const float *bias, float *y) {
    int ho, wo, oy0, oy1;
    ifk_conv2d_out_size(p, &ho, &wo);
    out_rows(p, ho, &oy0, &oy1);
    const int c = p->cin, taps = p->kh * p->kw;
    float wb[DW_MAX_TAPS * DW_CB]; /* weights of a channel block, [tap][channel] */
    float acc[DW_CB];

    for (int c0 = 0; c0 < c; c0 += DW_CB) {
        const int nb = c - c0 < DW_CB ? c - c0 : DW_CB;
        ifk__dw_weights(wt, taps, c0, nb, nb, DW_CB, wb);
        for (int Y = oy0; Y < oy1; Y++) {
            const ifk__window wy = ifk__window_at(Y, p->sh, p->pt, p->kh, p->h);
            for (int X = 0; X < wo; X++) {
                const ifk__window wx = ifk__window_at(X, p->sw, p->pl, p->kw, p->w);
                for (int j = 0; j < DW_CB; j++) acc[j] = 0.0f;
                for (int ky = wy.k0; ky < wy.k1; ky++) {
                    for (int kx = wx.k0; kx < wx.k1; kx++) {
                        const float *IF_RESTRICT xp =
                            x + ((size_t)(wy.i0 + ky) * p->w + (wx.i0 + kx)) * c + c0;
                        const float *IF_RESTRICT wp = wb + (ky * p->kw + kx) * DW_CB;
                        if (nb == DW_CB)
                            for (int j = 0; j < DW_CB; j++) acc[j] += xp[j] * wp[j];
                        else
                            for (int j = 0; j < nb; j++) acc[j] += xp[j] * wp[j];
                    }
                }
                float *yp = y + ((size_t)Y * wo + X) * c + c0;
                for (int j = 0; j < nb; j++) {
                    float v = acc[j];
                    if (bias) v += bias[c0 + j];
                    yp[j] = ifk__act(v, p->act);
                }
            }
        }
    }
}

void ifk_conv2d(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                float *y) {
    if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->groups == 1 && p->pt == 0 &&
        p->pl == 0 && p->pb == 0 && p->pr == 0) {
        int ho, wo, oy0, oy1;
        ifk_conv2d_out_size(p, &ho, &wo);
        out_rows(p, ho, &oy0, &oy1);
        if (oy0 >= oy1) return;
        const size_t r0 = (size_t)oy0 * wo;
        ifk_linear(x + r0 * p->cin, (int64_t)(oy1 - oy0) * wo, p->cin, wt, bias, p->cout, p->act,
                   y + r0 * p->cout);
    } else if (p->groups == p->cin && p->cout == p->cin && p->kh * p->kw <= DW_MAX_TAPS) {
        conv_depthwise(x, p, wt, bias, y);
    } else {
        conv_general(x, p, wt, bias, y);
    }
}

/* Kernel == stride: output pixel (Y*kh+dy, X*kw+dx) sees only input (Y, X),
 * so each tap (dy, dx) is a GEMM of an input row (w pixels) with that tap's
 * cout x cin weight matrix, written kw*cout floats apart. */
void ifk_conv_transpose2d(const float *x, int h, int w, int cin, const float *wt, const float *bias,
                          int cout, int kh, int kw, float *y) {
    const size_t ow = (size_t)w * kw;
    for (int dy = 0; dy < kh; dy++) {
        for (int dx = 0; dx < kw; dx++) {
            const float *wd = wt + ((size_t)dy * kw + dx) * cout * cin;
            for (int Y = 0; Y < h; Y++) {
                const float *xr = x + (size_t)Y * w * cin;
                float *yr = y + (((size_t)Y * kh + dy) * ow + dx) * cout;
                ifk__gemm_nt(xr, (size_t)cin, w, cin, wd, (size_t)cin, bias, cout, IFK_ACT_NONE, yr,
                             (size_t)kw * cout);
            }
        }
    }
}

/* Row by row over a ring of three expanded rows (input row r in slot
 * r % 3), each expanded once: the same sums as the three convolutions. */
size_t ifk_inv_bottleneck_ref_floats(const ifk_ib_params *p) {
    return (size_t)4 * (size_t)p->w * (size_t)p->cmid;
}

void ifk_inv_bottleneck(const float *x, const ifk_ib_params *p, const float *we, const float *be,
                        const float *wd, const float *bd, const float *wp, const float *bp,
                        const float *res, float *y, float *scratch) {
    const int w = p->w, cm = p->cmid;
    const int oy0 = p->oy0 < 0 ? 0 : p->oy0;
    const int oy1 = p->oy1 <= 0 || p->oy1 > p->h ? p->h : p->oy1;
    const size_t er = (size_t)w * cm;
    float *ring = scratch, *d = scratch + 3 * er;
    int next = oy0 - 1 < 0 ? 0 : oy0 - 1; /* the next input row to expand */
    for (int Y = oy0; Y < oy1; Y++) {
        const int hi = Y + 1 < p->h ? Y + 1 : p->h - 1;
        for (; next <= hi; next++)
            ifk_linear(x + (size_t)next * w * p->cin, w, p->cin, we, be, cm, p->act_expand,
                       ring + (size_t)(next % 3) * er);
        for (int X = 0; X < w; X++)
            for (int j = 0; j < cm; j++) {
                float acc = 0.0f;
                for (int ky = 0; ky < 3; ky++) {
                    const int iy = Y - 1 + ky;
                    if (iy < 0 || iy >= p->h) continue;
                    const float *row = ring + (size_t)(iy % 3) * er;
                    for (int kx = 0; kx < 3; kx++) {
                        const int ix = X - 1 + kx;
                        if (ix >= 0 && ix < w)
                            acc += row[(size_t)ix * cm + j] * wd[j * 9 + ky * 3 + kx];
                    }
                }
                d[(size_t)X * cm + j] = ifk__act(acc + (bd ? bd[j] : 0.0f), p->act_dw);
            }
        float *yr = y + (size_t)Y * w * p->cout;
        ifk_linear(d, w, cm, wp, bp, p->cout, p->act_project, yr);
        if (res) ifk_add(yr, res + (size_t)Y * w * p->cout, (int64_t)w * p->cout, yr);
    }
}
