/* gemm.c -- the portable half of the SIMD kernels: packing, cache blocking
 * and loop nests around an instruction set's micro-kernel (gemm.h).
 *
 *   ifk__gemm             linear layers and 1x1 convolutions: BLIS's five
 *                         loops (NC columns, KC depth, MC rows, NR, MR); B
 *                         packed per KC x NC block, A read in place (copied
 *                         only when its row stride would thrash L1 sets).
 *   ifk__conv2d           implicit GEMM: the A operand of a tile is read in
 *                         place from the input (MR output pixels of one
 *                         row, sw*cin floats apart, one run of kw*cin per
 *                         kernel row, cut in KC chunks); per block of output
 *                         rows (~BLOCK_PIX pixels) each kc x NR chunk of the
 *                         packed weights serves every tile from L1.
 *                         Horizontally padded convolutions read from a ring
 *                         of zero-padded input rows. No im2col is ever
 *                         materialised. Depthwise: the ISA's vector loop.
 *   ifk__conv_transpose2d one GEMM of each input row with all kh*kw taps.
 *   ifk__attention,       per head: K^T and V packed once, then per block of
 *   ifk__vit_attention    QT x MR queries a score tile (queries x keys) by
 *                         the micro-kernel, an unnormalised softmax per row
 *                         (the relative position bias gathered per row), the
 *                         probabilities times V by the micro-kernel in KC
 *                         chunks of keys, and each output row times 1/sum.
 *                         Never an N x N matrix.
 * All of them only use the caller's scratch (sizes: ifk__*_scratch). */

#include <string.h>

#include "kernels/gemm.h"
#include "kernels/scalar/scalar.h"

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
enum { SLACK = IFK_SCRATCH_SLACK };

/* Row stride of a packed A block: a multiple of 16 floats plus 16, so that
 * MR rows fall into different cache sets. */
static size_t packed_lda(int64_t k) { return ifk__round_up((size_t)(k > 0 ? k : 1), 16) + 16; }

/* Whether MR rows lda floats apart crowd one L1 set (64 sets of 64-byte
 * lines, 8-12 ways): then A is copied before use. */
static int rows_conflict(size_t lda, int mr) {
    int count[64] = {0}, worst = 0;
    for (int i = 0; i < mr; i++) {
        const int set = (int)(((size_t)i * lda * sizeof(float) / 64) % 64);
        if (++count[set] > worst) worst = count[set];
    }
    return worst > 4;
}

void ifk__pack_b(const float *w, size_t ldw, int64_t n, int64_t k0, int64_t kc, int nr, float *bp) {
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        const int nn = (int)min64(nr, n - j0);
        float *restrict dst = bp + (size_t)(j0 / nr) * (size_t)kc * nr;
        int jj = 0;
        for (; jj + 4 <= nn; jj += 4) { /* 4 rows at a time: 16-byte stores */
            const float *restrict s0 = w + (size_t)(j0 + jj) * ldw + k0;
            const float *restrict s1 = s0 + ldw, *restrict s2 = s1 + ldw, *restrict s3 = s2 + ldw;
            for (int64_t p = 0; p < kc; p++) {
                float *restrict d = dst + (size_t)p * nr + jj;
                d[0] = s0[p];
                d[1] = s1[p];
                d[2] = s2[p];
                d[3] = s3[p];
            }
        }
        for (; jj < nn; jj++) {
            const float *restrict src = w + (size_t)(j0 + jj) * ldw + k0;
            for (int64_t p = 0; p < kc; p++) dst[(size_t)p * nr + jj] = src[p];
        }
        for (jj = nn; jj < nr; jj++)
            for (int64_t p = 0; p < kc; p++) dst[(size_t)p * nr + jj] = 0.0f;
    }
}

/* Rows p < k of v (row p: v[p*ldv + j], j < n) as ceil(n / nr) panels of
 * k x nr floats, zero-padded columns: the B operand of an NN product. */
static void pack_b_nn(const float *v, size_t ldv, int64_t k, int64_t n, int nr, float *bp) {
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        const int nn = (int)min64(nr, n - j0);
        float *restrict dst = bp + (size_t)(j0 / nr) * (size_t)k * nr;
        for (int64_t p = 0; p < k; p++) {
            const float *restrict src = v + (size_t)p * ldv + j0;
            float *restrict d = dst + (size_t)p * nr;
            memcpy(d, src, (size_t)nn * sizeof(float));
            for (int jj = nn; jj < nr; jj++) d[jj] = 0.0f;
        }
    }
}

/* ------------------------------------------------------------------ GEMM */

size_t ifk__gemm_scratch(const ifk_isa *isa, int64_t m, int64_t k, int64_t n) {
    const size_t kc = (size_t)(k < 1 ? 1 : min64(k, isa->kc));
    const size_t nc = ifk__round_up((size_t)min64(n, isa->nc), (size_t)isa->nr);
    const size_t mc = ifk__round_up((size_t)min64(m, isa->mc), (size_t)isa->mr);
    return SLACK + ifk__piece(kc * nc) + ifk__piece(mc * packed_lda((int64_t)kc));
}

void ifk__gemm(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k, const float *w,
               size_t ldw, const float *bias, int64_t n, int act, const float *res, size_t ldr,
               float *y, size_t ldy, void *scratch) {
    const int MR = isa->mr, NR = isa->nr;
    char *cur = ifk__align64(scratch);
    const int64_t KC = isa->kc, NC = isa->nc, MC = isa->mc;
    float *bp = ifk__carve(&cur, (size_t)(k < 1 ? 1 : min64(k, KC)) *
                                     ifk__round_up((size_t)min64(n, NC), (size_t)NR));
    float *ap = ifk__carve(&cur, 0);
    const int pack_a = rows_conflict(ldx, MR);

    for (int64_t jc = 0; jc < n; jc += NC) {
        const int64_t nc = min64(NC, n - jc);
        for (int64_t pc = 0; pc < k || pc == 0; pc += KC) {
            const int64_t kc = min64(KC, k - pc);
            ifk__pack_b(w + (size_t)jc * ldw, ldw, nc, pc, kc, NR, bp);
            ifk_epi e = {(pc > 0 ? IFK_EPI_LOAD : 0) | (pc + kc >= k ? IFK_EPI_FINAL : 0), act,
                         NULL, NULL, ldr};
            for (int64_t ic = 0; ic < m; ic += MC) {
                const int64_t mc = min64(MC, m - ic);
                const float *a = x + (size_t)ic * ldx + pc;
                size_t lda = ldx;
                if (pack_a) {
                    lda = packed_lda(kc);
                    for (int64_t i = 0; i < mc; i++)
                        memcpy(ap + (size_t)i * lda, a + (size_t)i * ldx,
                               (size_t)kc * sizeof(float));
                    a = ap;
                }
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int nr = (int)min64(NR, nc - jr);
                    const float *b = bp + (size_t)(jr / NR) * (size_t)kc * NR;
                    e.bias = bias ? bias + jc + jr : NULL;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int mr = (int)min64(MR, mc - ir);
                        e.res = res ? res + (size_t)(ic + ir) * ldr + jc + jr : NULL;
                        isa->ukr(kc, a + (size_t)ir * lda, lda, b,
                                 y + (size_t)(ic + ir) * ldy + jc + jr, ldy, mr, nr, &e);
                    }
                }
            }
        }
    }
}

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
           ifk__piece((size_t)isa->mr * packed_lda(cin));
}

void ifk__conv_transpose2d(const ifk_isa *isa, const float *x, int h, int w, int cin,
                           const float *wt, const float *bias, int cout, int kh, int kw, float *y,
                           void *scratch) {
    const int MR = isa->mr, NR = isa->nr, taps = kh * kw;
    const size_t npad = ifk__round_up((size_t)cout, (size_t)NR), ow = (size_t)w * kw;
    const size_t lda = packed_lda(cin);
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

/* ------------------------------------------------------------ ATTENTION */

enum { QT = 8 }; /* query tiles (of MR queries) per block */

/* Score tile row stride: keys rounded up to NR, plus 16 floats (sets). */
static size_t tile_ld(const ifk_isa *isa, int64_t keys) {
    return ifk__round_up((size_t)keys, (size_t)isa->nr) + 16;
}

/* The relative position bias of VIT_ATTENTION (NULL for ATTENTION). Bias
 * of query cell a, key cell b: tbh[code(a) + base - code(b)], code = P *
 * (2Gw-1) + Q of the native cell (as the reference). */
typedef struct {
    const float *tbh;    /* this head's column of the table, contiguous */
    const int32_t *code; /* per cell */
    int base, R, cells;
    float *brow; /* one row of biases */
} vit_bias;

/* One block of nq <= QT*MR queries (rows ldq apart, token index a0 for
 * the bias) against m keys of one head: K^T packed in kp (d x m, NR
 * panels), V in vp (m x d, NR panels).
 *   scores:  per NR panel of keys (d x NR of kp, in L1), every query tile;
 *   softmax: per row, with the bias gathered into brow, unnormalised;
 *   P V:     per NR panel of V and kc chunk of keys (in L1), every query
 *            tile, accumulated in y; then each row of y times 1 / sum. */
static void attend(const ifk_isa *isa, const float *q, size_t ldq, int nq, int d, const float *kp,
                   const float *vp, int64_t m, float scale, float *s, size_t lds, float *y,
                   size_t ldy, const vit_bias *vb, int a0) {
    const int MR = isa->mr, NR = isa->nr, KC = isa->kc;
    const ifk_epi plain = {0, IFK_ACT_NONE, NULL, NULL, 0};
    float inv[QT * 32]; /* QT * MR rows; MR <= 32 */
    for (int64_t j0 = 0; j0 < m; j0 += NR) {
        const int nr = (int)min64(NR, m - j0);
        for (int t0 = 0; t0 < nq; t0 += MR)
            isa->ukr(d, q + (size_t)t0 * ldq, ldq, kp + (size_t)j0 * d, s + (size_t)t0 * lds + j0,
                     lds, nq - t0 < MR ? nq - t0 : MR, nr, &plain);
    }
    for (int r = 0; r < nq; r++) {
        const float *bias = NULL;
        if (vb) {
            const int a = a0 + r;
            float *br = vb->brow;
            if (a == 0) {
                br[0] = vb->tbh[vb->R - 1];
                for (int b = 1; b <= vb->cells; b++) br[b] = vb->tbh[vb->R - 3];
            } else {
                br[0] = vb->tbh[vb->R - 2];
                isa->gather(br + 1, vb->cells, vb->tbh, vb->code[a - 1] + vb->base, vb->code);
            }
            bias = br;
        }
        inv[r] = 1.0f / isa->softmax_row(s + (size_t)r * lds, m, scale, bias);
    }
    for (int j0 = 0; j0 < d; j0 += NR) {
        const int nr = d - j0 < NR ? d - j0 : NR;
        for (int64_t kk = 0; kk < m; kk += KC) {
            const int64_t kc = min64(KC, m - kk);
            const ifk_epi e = {(kk > 0 ? IFK_EPI_LOAD : 0) | (kk + kc >= m ? IFK_EPI_FINAL : 0),
                               IFK_ACT_NONE, NULL, NULL, 0};
            for (int t0 = 0; t0 < nq; t0 += MR)
                isa->ukr(kc, s + (size_t)t0 * lds + kk, lds, vp + (size_t)j0 * m + (size_t)kk * NR,
                         y + (size_t)t0 * ldy + j0, ldy, nq - t0 < MR ? nq - t0 : MR, nr, &e);
        }
    }
    for (int r = 0; r < nq; r++) {
        float *yr = y + (size_t)r * ldy;
        for (int j = 0; j < d; j++) yr[j] *= inv[r];
    }
}

size_t ifk__attention_scratch(const ifk_isa *isa, int64_t m, int c, int heads) {
    const int d = c / heads;
    const size_t mpad = ifk__round_up((size_t)m, (size_t)isa->nr);
    const size_t dpad = ifk__round_up((size_t)d, (size_t)isa->nr);
    return SLACK + ifk__piece((size_t)d * mpad) + ifk__piece((size_t)m * dpad) +
           ifk__piece((size_t)QT * isa->mr * tile_ld(isa, m));
}

void ifk__attention(const ifk_isa *isa, const float *q, int64_t nq, const float *kv, int64_t m,
                    int c, int heads, float scale, float *y, void *scratch) {
    const int NR = isa->nr, d = c / heads, QB = QT * isa->mr;
    const size_t ldkv = (size_t)2 * c, lds = tile_ld(isa, m);
    char *cur = ifk__align64(scratch);
    float *kp = ifk__carve(&cur, (size_t)d * ifk__round_up((size_t)m, (size_t)NR));
    float *vp = ifk__carve(&cur, (size_t)m * ifk__round_up((size_t)d, (size_t)NR));
    float *s = ifk__carve(&cur, (size_t)QB * lds);
    if (m <= 0) return;
    for (int hd = 0; hd < heads; hd++) {
        const float *k = kv + (size_t)hd * d, *v = kv + c + (size_t)hd * d;
        ifk__pack_b(k, ldkv, m, 0, d, NR, kp);
        pack_b_nn(v, ldkv, m, d, NR, vp);
        for (int64_t i0 = 0; i0 < nq; i0 += QB)
            attend(isa, q + (size_t)i0 * c + (size_t)hd * d, (size_t)c, (int)min64(QB, nq - i0), d,
                   kp, vp, m, scale, s, lds, y + (size_t)i0 * c + (size_t)hd * d, (size_t)c, NULL,
                   0);
    }
}

size_t ifk__vit_attention_scratch(const ifk_isa *isa, int h, int w, int c, int heads, int gh,
                                  int gw) {
    const int64_t n = 1 + (int64_t)h * w;
    const size_t R = (size_t)(2 * gh - 1) * (2 * gw - 1) + 3;
    return ifk__attention_scratch(isa, n, c, heads) + ifk__piece(tile_ld(isa, n)) + ifk__piece(R) +
           ifk__piece((size_t)h * w);
}

void ifk__vit_attention(const ifk_isa *isa, const float *qkv, int h, int w, int c, int heads,
                        float scale, const float *table, int gh, int gw, int q0, int q1, float *y,
                        void *scratch) {
    const int NR = isa->nr, d = c / heads, cells = h * w, n = 1 + cells, QB = QT * isa->mr;
    const int R = (2 * gh - 1) * (2 * gw - 1) + 3;
    const size_t ld = (size_t)3 * c, lds = tile_ld(isa, n);
    if (q0 < 0) q0 = 0;
    if (q1 > n) q1 = n;
    if (q0 >= q1) return;
    char *cur = ifk__align64(scratch);
    float *kp = ifk__carve(&cur, (size_t)d * ifk__round_up((size_t)n, (size_t)NR));
    float *vp = ifk__carve(&cur, (size_t)n * ifk__round_up((size_t)d, (size_t)NR));
    float *s = ifk__carve(&cur, (size_t)QB * lds);
    float *brow = ifk__carve(&cur, lds);
    float *tbh = ifk__carve(&cur, (size_t)R);
    int32_t *code = (int32_t *)ifk__carve(&cur, (size_t)cells);

    const int flat = cells == gh * gw;
    for (int i = 0; i < h; i++) {
        const int P = flat ? 0 : ifk_nearest_index(i, h, gh);
        for (int j = 0; j < w; j++) {
            const int f = i * w + j;
            code[f] = flat ? (f / gw) * (2 * gw - 1) + f % gw
                           : P * (2 * gw - 1) + ifk_nearest_index(j, w, gw);
        }
    }
    const vit_bias vb = {tbh, code, (gh - 1) * (2 * gw - 1) + (gw - 1), R, cells, brow};
    for (int hd = 0; hd < heads; hd++) {
        for (int r = 0; r < R; r++) tbh[r] = table[(size_t)r * heads + hd];
        ifk__pack_b(qkv + c + (size_t)hd * d, ld, n, 0, d, NR, kp);
        pack_b_nn(qkv + 2 * (size_t)c + (size_t)hd * d, ld, n, d, NR, vp);
        for (int a0 = q0; a0 < q1; a0 += QB)
            attend(isa, qkv + (size_t)a0 * ld + (size_t)hd * d, ld, q1 - a0 < QB ? q1 - a0 : QB, d,
                   kp, vp, n, scale, s, lds, y + (size_t)a0 * c + (size_t)hd * d, (size_t)c, &vb,
                   a0);
    }
}

/* ------------------------------------------------- portable vector loops */

float ifk__softmax_row_c(float *row, int64_t m, float scale, const float *bias) {
    float mx = -INFINITY;
    for (int64_t j = 0; j < m; j++) {
        const float v = bias ? scale * row[j] + bias[j] : scale * row[j];
        row[j] = v;
        mx = v > mx ? v : mx;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < m; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
    }
    return sum;
}

void ifk__gather_c(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx) {
    for (int64_t j = 0; j < n; j++) dst[j] = tab[base - idx[j]];
}

void ifk__dwconv_c(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                   float *y) {
    ifk_conv2d(x, p, wt, bias, y);
}
