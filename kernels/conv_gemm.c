/* conv_gemm.c -- the convolutions (drivers.h) on an instruction set's
 * GEMM micro-kernel and loops:
 *
 *   ifk__conv2d           the choice: 1x1 stride-1 -> ifk__gemm (gemm.c);
 *                         3x3 stride-1 on large maps -> Winograd
 *                         (winograd.c); depthwise -> the ISA's dwconv loop;
 *                         other grouped ones -> the reference; the rest by
 *                         implicit GEMM: the A operand of a tile is read in
 *                         place from the input (MR output pixels of one
 *                         row, sw*cin floats apart, one run of kw*cin per
 *                         kernel row, cut in KC chunks); per block of output
 *                         rows (~BLOCK_PIX pixels) each kc x NR chunk of the
 *                         packed weights serves every tile from L1.
 *                         Horizontally padded convolutions read from a ring
 *                         of zero-padded input rows. No im2col is ever
 *                         materialised.
 *   ifk__conv_transpose2d one GEMM of each input row with all kh*kw taps.
 * Only the caller's scratch is used (sizes: ifk__*_scratch). */
#include <string.h>

#include "kernels/drivers.h"

enum { SLACK = IFK_SCRATCH_SLACK };

/* ------------------------------------------------------------- CONV2D */

static int is_pointwise(const ifk_conv_params *p) {
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->groups == 1 && p->pt == 0 &&
           p->pl == 0 && p->pb == 0 && p->pr == 0;
}
static int is_depthwise(const ifk_conv_params *p) {
    return p->groups == p->cin && p->cout == p->cin && p->kh * p->kw <= IFK_DW_MAX_TAPS;
}

enum {
    RING_MAX = 64,   /* padded input rows a block may need */
    BLOCK_PIX = 192, /* output pixels per block of rows (M of one B chunk) */
};

/* Output rows per block: enough rows for ~BLOCK_PIX pixels, so each chunk
 * of B (kc x NR, in L1) serves many tiles; limited by the ring. */
static int rows_per_block(const ifk_conv_params *p, int wo) {
    int r = (BLOCK_PIX + wo - 1) / wo;
    if (r > 32) r = 32;
    while (r > 1 && (r - 1) * p->sh + p->kh > RING_MAX) r--;
    return r;
}

static int implicit_ok(const ifk_conv_params *p) {
    return p->groups == 1 && ((p->pl == 0 && p->pr == 0) || p->kh <= RING_MAX);
}

size_t ifk__conv2d_scratch(const ifk_isa *isa, const ifk_conv_params *p) {
    if (is_pointwise(p)) return ifk__gemm_scratch(isa, (int64_t)p->h * p->w, p->cin, p->cout);
    if (ifk__winograd_ok(p)) return ifk__winograd_scratch(isa, p);
    if (!implicit_ok(p)) return 0;
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const size_t K = (size_t)p->kh * p->kw * p->cin;
    size_t bytes = SLACK + ifk__piece(K * ifk__round_up((size_t)p->cout, (size_t)isa->nr));
    if (p->pl || p->pr) {
        const size_t nring = (size_t)(rows_per_block(p, wo) - 1) * p->sh + p->kh;
        bytes += ifk__piece(nring * (size_t)(p->w + p->pl + p->pr) * p->cin);
    }
    return bytes;
}

/* Output rows [*oy0, *oy1) of p, resolved (oy1 == 0: all) and clamped. */
static void out_rows(const ifk_conv_params *p, int ho, int *oy0, int *oy1) {
    *oy0 = p->oy0 < 0 ? 0 : p->oy0;
    *oy1 = p->oy1 <= 0 || p->oy1 > ho ? ho : p->oy1;
}

/* Implicit GEMM. Per block of output rows (~BLOCK_PIX pixels):
 *   for each NR panel of output channels
 *     for each kernel row ky, for each kc chunk of its kw*cin run
 *       (one kc x NR piece of packed B: L1-resident from here on)
 *       for each output row of the block that sees input row iy0 + ky
 *         for each tile of <= MR pixels: the micro-kernel, A read in place
 *         (pixel X's run starts at row[iy] + X*sw*cin), C accumulated in
 *         place from the first chunk of the row's first kernel row to the
 *         last chunk of its last one (then bias + act).
 * Input rows come from x directly, or from a ring of zero-padded copies
 * when the convolution pads left or right (each row copied once per block
 * of output rows; kernel rows outside the image are skipped, not padded). */
size_t ifk__conv2d_prep_bytes(const ifk_isa *isa, const ifk_conv_params *p) {
    return ifk__winograd_ok(p) ? ifk__winograd_weights_bytes(isa, p) : 0;
}

void ifk__conv2d_prep(const ifk_isa *isa, const ifk_conv_params *p, const float *wt, void *prep) {
    if (ifk__winograd_ok(p)) ifk__winograd_weights(isa, p, wt, prep);
}

void ifk__conv2d(const ifk_isa *isa, const float *x, const ifk_conv_params *p, const float *wt,
                 const void *prep, const float *bias, float *y, void *scratch) {
    int ho, wo, oy0, oy1;
    ifk_conv2d_out_size(p, &ho, &wo);
    out_rows(p, ho, &oy0, &oy1);
    if (oy0 >= oy1) return;
    if (is_pointwise(p)) {
        const size_t r0 = (size_t)oy0 * wo;
        ifk__gemm(isa, x + r0 * p->cin, (size_t)p->cin, (int64_t)(oy1 - oy0) * wo, p->cin, wt,
                  (size_t)p->cin, bias, p->cout, p->act, NULL, 0, y + r0 * p->cout, (size_t)p->cout,
                  scratch);
        return;
    }
    if (ifk__winograd_ok(p)) {
        ifk__conv3x3_winograd(isa, x, p, wt, prep, bias, y, scratch);
        return;
    }
    if (p->groups != 1) {
        ifk_conv_params q = *p;
        q.oy0 = oy0;
        q.oy1 = oy1;
        if (is_depthwise(p))
            isa->dwconv(x, &q, wt, bias, y);
        else
            ifk_conv2d(x, &q, wt, bias, y);
        return;
    }
    if (!implicit_ok(p)) {
        ifk_conv2d(x, p, wt, bias, y);
        return;
    }

    const int MR = isa->mr, NR = isa->nr, KC = isa->kc, cin = p->cin, cout = p->cout;
    const int kh = p->kh, run = p->kw * cin;
    const size_t K = (size_t)kh * run, lda = (size_t)p->sw * cin;
    const int padded = p->pl || p->pr, R = rows_per_block(p, wo);
    const int nring = (R - 1) * p->sh + kh;
    const size_t wp = (size_t)(p->w + p->pl + p->pr) * cin; /* floats of a padded row */
    char *cur = ifk__align64(scratch);
    float *bp = ifk__carve(&cur, K * ifk__round_up((size_t)cout, (size_t)NR));
    float *ring = padded ? ifk__carve(&cur, (size_t)nring * wp) : NULL;
    int tag[RING_MAX];
    for (int i = 0; i < nring && i < RING_MAX; i++) tag[i] = -1;
    ifk__pack_b(wt, K, cout, 0, (int64_t)K, NR, bp);
    const int ntiles = (wo + MR - 1) / MR;

    for (int Yb = oy0; Yb < oy1; Yb += R) {
        const int Ye = Yb + R < oy1 ? Yb + R : oy1;
        /* The block's input rows, into the ring when padded. */
        if (padded) {
            const int lo = Yb * p->sh - p->pt, hi = (Ye - 1) * p->sh - p->pt + kh;
            for (int iy = lo < 0 ? 0 : lo; iy < hi && iy < p->h; iy++) {
                float *r = ring + (size_t)(iy % nring) * wp;
                if (tag[iy % nring] == iy) continue;
                memset(r, 0, (size_t)p->pl * cin * sizeof(float));
                memcpy(r + (size_t)p->pl * cin, x + (size_t)iy * p->w * cin,
                       (size_t)p->w * cin * sizeof(float));
                memset(r + (size_t)(p->pl + p->w) * cin, 0, (size_t)p->pr * cin * sizeof(float));
                tag[iy % nring] = iy;
            }
        }
        for (int j0 = 0; j0 < cout; j0 += NR) {
            const int nr = cout - j0 < NR ? cout - j0 : NR;
            const float *bj = bp + (size_t)j0 * K;
            ifk_epi e = {0, p->act, bias ? bias + j0 : NULL, NULL, 0};
            /* Rows that see no input row at all: bias + act only. */
            for (int Y = Yb; Y < Ye; Y++) {
                const int iy0 = Y * p->sh - p->pt;
                if (iy0 + kh > 0 && iy0 < p->h) continue;
                e.flags = IFK_EPI_FINAL;
                for (int t = 0; t < ntiles; t++) {
                    const int X0 = (int)((int64_t)t * wo / ntiles),
                              X1 = (int)((int64_t)(t + 1) * wo / ntiles);
                    isa->ukr(0, x, lda, bj, y + ((size_t)Y * wo + X0) * cout + j0, (size_t)cout,
                             X1 - X0, nr, &e);
                }
            }
            for (int ky = 0; ky < kh; ky++)
                for (int kk = 0; kk < run; kk += KC) {
                    const int kc = run - kk < KC ? run - kk : KC;
                    const float *b = bj + ((size_t)ky * run + kk) * NR;
                    for (int Y = Yb; Y < Ye; Y++) {
                        const int iy0 = Y * p->sh - p->pt;
                        const int ky0 = iy0 < 0 ? -iy0 : 0;
                        const int ky1 = p->h - iy0 < kh ? p->h - iy0 : kh;
                        if (ky < ky0 || ky >= ky1) continue;
                        const int iy = iy0 + ky;
                        const float *row =
                            padded ? ring + (size_t)(iy % nring) * wp : x + (size_t)iy * p->w * cin;
                        e.flags = (ky > ky0 || kk > 0 ? IFK_EPI_LOAD : 0) |
                                  (ky == ky1 - 1 && kk + kc == run ? IFK_EPI_FINAL : 0);
                        for (int t = 0; t < ntiles; t++) {
                            const int X0 = (int)((int64_t)t * wo / ntiles);
                            const int X1 = (int)((int64_t)(t + 1) * wo / ntiles);
                            isa->ukr(kc, row + (size_t)X0 * lda + kk, lda, b,
                                     y + ((size_t)Y * wo + X0) * cout + j0, (size_t)cout, X1 - X0,
                                     nr, &e);
                        }
                    }
                }
        }
    }
}

/* --------------------------------------------------- CONV_TRANSPOSE2D */

size_t ifk__conv_transpose2d_scratch(const ifk_isa *isa, int h, int w, int cin, int cout, int kh,
                                     int kw) {
    (void)h;
    (void)w;
    const size_t npad = ifk__round_up((size_t)cout, (size_t)isa->nr);
    return SLACK + ifk__piece((size_t)kh * kw * npad * cin) +
           ifk__piece((size_t)isa->mr * ifk__packed_lda(cin));
}

void ifk__conv_transpose2d(const ifk_isa *isa, const float *x, int h, int w, int cin,
                           const float *wt, const float *bias, int cout, int kh, int kw, float *y,
                           void *scratch) {
    const int MR = isa->mr, NR = isa->nr, taps = kh * kw;
    const size_t npad = ifk__round_up((size_t)cout, (size_t)NR), ow = (size_t)w * kw;
    const size_t lda = ifk__packed_lda(cin);
    char *cur = ifk__align64(scratch);
    float *bp = ifk__carve(&cur, (size_t)taps * npad * cin);
    float *ap = ifk__carve(&cur, (size_t)MR * lda);
    for (int t = 0; t < taps; t++)
        ifk__pack_b(wt + (size_t)t * cout * cin, (size_t)cin, cout, 0, cin, NR,
                    bp + (size_t)t * npad * cin);
    const int ntiles = (w + MR - 1) / MR;
    for (int Y = 0; Y < h; Y++) {
        for (int tt = 0; tt < ntiles; tt++) {
            const int X0 = (int)((int64_t)tt * w / ntiles),
                      X1 = (int)((int64_t)(tt + 1) * w / ntiles);
            const int mr = X1 - X0;
            for (int i = 0; i < mr; i++)
                memcpy(ap + (size_t)i * lda, x + ((size_t)Y * w + X0 + i) * cin,
                       (size_t)cin * sizeof(float));
            for (int t = 0; t < taps; t++) {
                const int dy = t / kw, dx = t % kw;
                float *yt = y + (((size_t)Y * kh + dy) * ow + (size_t)X0 * kw + dx) * cout;
                const float *bt = bp + (size_t)t * npad * cin;
                for (int j0 = 0; j0 < cout; j0 += NR) {
                    const int nr = cout - j0 < NR ? cout - j0 : NR;
                    const ifk_epi e = {IFK_EPI_FINAL, IFK_ACT_NONE, bias ? bias + j0 : NULL, NULL,
                                       0};
                    isa->ukr(cin, ap, lda, bt + (size_t)j0 * cin, yt + j0, (size_t)kw * cout, mr,
                             nr, &e);
                }
            }
        }
    }
}
