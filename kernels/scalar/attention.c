/* attention.c -- ATTENTION (IMSA cross attention) and VIT_ATTENTION (ViT
 * self attention with the relative position bias).
 *
 * Never materialises an N x N matrix. Queries go in blocks of up to QB = 4
 * rows: their scores against all keys (an NT GEMM, q . k) go to a QB x N
 * scratch block, are scaled (plus the bias), turned into probabilities
 * (max-subtracted softmax) and multiplied into the values (an NN GEMM).
 * Heads are the outer loop so that one head's keys and values (N x 2d
 * floats, strided) stay in cache for all queries. Every score and every
 * output is one float sum in increasing index order, whatever the block. */

#include "kernels/scalar/scalar.h"

enum { QB = 4, ATT_STACK = 256 };

/* Each of nr rows (lds apart) of m scores -> softmax. */
static void softmax_rows(float *s, size_t lds, int nr, int64_t m) {
    if (m <= 0) return;
    for (int r = 0; r < nr; r++) {
        float *IF_RESTRICT row = s + (size_t)r * lds;
        float mx = row[0];
        for (int64_t j = 1; j < m; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0.0f;
        for (int64_t j = 0; j < m; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < m; j++) row[j] *= inv;
    }
}

void ifk_attention(const float *q, int64_t nq, const float *kv, int64_t m, int c, int heads,
                   float scale, float *y, float *scratch) {
    const int d = c / heads;
    const size_t ldkv = (size_t)2 * c;
    /* The contract gives m floats of scratch: one query row at a time, or
     * QB rows in a stack block when m is small (the usual IMSA case). */
    float block[QB * ATT_STACK];
    float *s = m <= ATT_STACK ? block : scratch;
    const int qb = m <= ATT_STACK ? QB : 1;
    for (int hd = 0; hd < heads; hd++) {
        const float *k = kv + (size_t)hd * d, *v = kv + c + (size_t)hd * d;
        for (int64_t i = 0; i < nq; i += qb) {
            const int nr = nq - i < qb ? (int)(nq - i) : qb;
            ifk__gemm_nt(q + (size_t)i * c + (size_t)hd * d, (size_t)c, nr, d, k, ldkv, NULL, m,
                         IFK_ACT_NONE, s, (size_t)m);
            for (int64_t j = 0; j < nr * m; j++) s[j] *= scale;
            softmax_rows(s, (size_t)m, nr, m);
            ifk__gemm_nn(s, (size_t)m, nr, m, v, ldkv, d, y + (size_t)i * c + (size_t)hd * d,
                         (size_t)c);
        }
    }
}

/* Scratch: QB x N scores (N = 1 + h*w), then h*w cell codes
 * K = P*(2Gw-1) + Q (small integers, exact in float), so that the bias index
 * of cells p, q is K(p) - K(q) + (Gh-1)(2Gw-1) + (Gw-1). */
size_t ifk_vit_attention_scratch(int h, int w) {
    const size_t cells = (size_t)h * w;
    return QB * (1 + cells) + cells;
}

void ifk_vit_attention(const float *qkv, int h, int w, int c, int heads, float scale,
                       const float *table, int gh, int gw, float *y, float *scratch) {
    ifk_vit_attention_range(qkv, h, w, c, heads, scale, table, gh, gw, 0, 1 + h * w, y, scratch);
}

void ifk_vit_attention_range(const float *qkv, int h, int w, int c, int heads, float scale,
                             const float *table, int gh, int gw, int q0, int q1, float *y,
                             float *scratch) {
    const int cells = h * w, n = 1 + cells, d = c / heads;
    const int R = (2 * gh - 1) * (2 * gw - 1) + 3;
    const int base = (gh - 1) * (2 * gw - 1) + (gw - 1);
    const size_t ld = (size_t)3 * c;
    const int qe = q1 < n ? q1 : n;
    float *s = scratch, *code = scratch + (size_t)QB * n;

    /* Native cell of every runtime cell (FORMAT.md): flat index when
     * h*w == Gh*Gw, PyTorch nearest per axis otherwise. */
    const int flat = cells == gh * gw;
    for (int i = 0; i < h; i++) {
        const int P = flat ? 0 : ifk_nearest_index(i, h, gh);
        for (int j = 0; j < w; j++) {
            const int f = i * w + j;
            const int K = flat ? (f / gw) * (2 * gw - 1) + f % gw
                               : P * (2 * gw - 1) + ifk_nearest_index(j, w, gw);
            code[f] = (float)K;
        }
    }

    for (int hd = 0; hd < heads; hd++) {
        const float *k = qkv + c + (size_t)hd * d, *v = qkv + 2 * (size_t)c + (size_t)hd * d;
        const float *tb = table + hd; /* bias of index r: tb[r * heads] */
        for (int a0 = q0 < 0 ? 0 : q0; a0 < qe; a0 += QB) {
            const int nr = qe - a0 < QB ? qe - a0 : QB;
            ifk__gemm_nt(qkv + (size_t)a0 * ld + (size_t)hd * d, ld, nr, d, k, ld, NULL, n,
                         IFK_ACT_NONE, s, (size_t)n);
            for (int r = 0; r < nr; r++) {
                float *IF_RESTRICT row = s + (size_t)r * n;
                const int a = a0 + r;
                if (a == 0) {
                    row[0] = scale * row[0] + tb[(size_t)(R - 1) * heads];
                    const float bc = tb[(size_t)(R - 3) * heads];
                    for (int b = 1; b < n; b++) row[b] = scale * row[b] + bc;
                } else {
                    row[0] = scale * row[0] + tb[(size_t)(R - 2) * heads];
                    const float *ta = tb + (size_t)((int)code[a - 1] + base) * heads;
                    for (int b = 1; b < n; b++)
                        row[b] = scale * row[b] + ta[-(ptrdiff_t)((int)code[b - 1]) * heads];
                }
            }
            softmax_rows(s, (size_t)n, nr, n);
            ifk__gemm_nn(s, (size_t)n, nr, n, v, ld, d, y + (size_t)a0 * c + (size_t)hd * d,
                         (size_t)c);
        }
    }
}
