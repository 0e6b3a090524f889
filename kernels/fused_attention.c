/* fused_attention.c -- ATTENTION and VIT_ATTENTION (drivers.h) on an
 * instruction set's micro-kernel: per head, K^T and V packed once, then per
 * block of QT x MR queries a score tile (queries x keys) by the
 * micro-kernel, an unnormalised softmax per row (the relative position
 * bias gathered per row), the probabilities times V by the micro-kernel in
 * KC chunks of keys, and each output row times 1/sum. Never an N x N
 * matrix. Only the caller's scratch is used (sizes: ifk__*_scratch). */
#include "kernels/drivers.h"

enum { SLACK = IFK_SCRATCH_SLACK };

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
        const int nr = (int)ifk__min64(NR, m - j0);
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
            const int64_t kc = ifk__min64(KC, m - kk);
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
        ifk__pack_b_nn(v, ldkv, m, d, NR, vp);
        for (int64_t i0 = 0; i0 < nq; i0 += QB)
            attend(isa, q + (size_t)i0 * c + (size_t)hd * d, (size_t)c,
                   (int)ifk__min64(QB, nq - i0), d, kp, vp, m, scale, s, lds,
                   y + (size_t)i0 * c + (size_t)hd * d, (size_t)c, NULL, 0);
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
        ifk__pack_b_nn(qkv + 2 * (size_t)c + (size_t)hd * d, ld, n, d, NR, vp);
        for (int a0 = q0; a0 < q1; a0 += QB)
            attend(isa, qkv + (size_t)a0 * ld + (size_t)hd * d, ld, q1 - a0 < QB ? q1 - a0 : QB, d,
                   kp, vp, n, scale, s, lds, y + (size_t)a0 * c + (size_t)hd * d, (size_t)c, &vb,
                   a0);
    }
}
