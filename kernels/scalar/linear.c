/* linear.c -- the portable GEMMs: ifk_linear and the strided NT product that
 * 1x1 convolutions, the transposed convolution and attention scores reuse;
 * the NN product of attention (probabilities times values).
 *
 * y = x w^T with w in nn.Linear layout (n x k, each output's weights
 * contiguous), so every output is a dot product of two contiguous rows.
 * Loop nest (BLIS-like, without packing):
 *   for each block of NC output columns (NC * k floats of w, ~128 KiB: L2)
 *     for each block of MR = 4 rows of x (4 * k floats: L1 for k <= 1024)
 *       for each block of NR = 4 columns: the 4x4 micro-kernel, 16 independent
 *       float accumulators over the whole of k (~20 GFLOP/s, SSE2, one core).
 * Each output is one float sum over k in increasing order (no k blocking),
 * in the micro-kernel and the edge kernels alike, so results do not depend
 * on where a row or column falls in the blocking.
 * A per-ISA packed micro-kernel replaces this later; the signature stays. */

#include "kernels/scalar/scalar.h"

enum { MR = 4, NR = 4, W_BLOCK_FLOATS = 32768 };

/* The hot loop: 4 rows x 4 columns, per k step 8 loads and 16 multiply-adds
 * into 16 independent accumulators. Written as four 4-wide rows (c_i[j] +=
 * a_i * b[j]) so that gcc and clang both turn it into SIMD multiply-adds
 * with a broadcast a_i (about 2x the plain scalar form at -O2). */
static void micro_4x4(const float *IF_RESTRICT x, size_t ldx, const float *IF_RESTRICT w,
                      size_t ldw, int64_t k, float acc[MR][NR]) {
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx;
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
    float c0[NR] = {0}, c1[NR] = {0}, c2[NR] = {0}, c3[NR] = {0};
    for (int64_t p = 0; p < k; p++) {
        const float b[NR] = {w0[p], w1[p], w2[p], w3[p]};
        const float a0 = x0[p], a1 = x1[p], a2 = x2[p], a3 = x3[p];
        for (int j = 0; j < NR; j++) c0[j] += a0 * b[j];
        for (int j = 0; j < NR; j++) c1[j] += a1 * b[j];
        for (int j = 0; j < NR; j++) c2[j] += a2 * b[j];
        for (int j = 0; j < NR; j++) c3[j] += a3 * b[j];
    }
    for (int j = 0; j < NR; j++) {
        acc[0][j] = c0[j];
        acc[1][j] = c1[j];
        acc[2][j] = c2[j];
        acc[3][j] = c3[j];
    }
}

/* A row edge: 1 row x 4 columns. */
static void micro_1x4(const float *IF_RESTRICT x, const float *IF_RESTRICT w, size_t ldw, int64_t k,
                      float acc[NR]) {
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
    float c[NR] = {0};
    for (int64_t p = 0; p < k; p++) {
        const float b[NR] = {w0[p], w1[p], w2[p], w3[p]};
        const float a = x[p];
        for (int j = 0; j < NR; j++) c[j] += a * b[j];
    }
    for (int j = 0; j < NR; j++) acc[j] = c[j];
}

/* Edges: mr x nr (each <= 4); 1x4 strips when nr == 4, else one
 * accumulator per output. */
static void micro_edge(const float *IF_RESTRICT x, size_t ldx, const float *IF_RESTRICT w,
                       size_t ldw, int64_t k, int mr, int nr, float acc[MR][NR]) {
    for (int i = 0; i < mr; i++) {
        const float *xi = x + (size_t)i * ldx;
        if (nr == NR) {
            micro_1x4(xi, w, ldw, k, acc[i]);
            continue;
        }
        for (int j = 0; j < nr; j++) {
            const float *wj = w + (size_t)j * ldw;
            float s = 0.0f;
            for (int64_t p = 0; p < k; p++) s += xi[p] * wj[p];
            acc[i][j] = s;
        }
    }
}

void ifk__gemm_nt(const float *x, size_t ldx, int64_t m, int64_t k, const float *w, size_t ldw,
                  const float *bias, int64_t n, int act, float *y, size_t ldy) {
    int64_t nc = k > 0 ? W_BLOCK_FLOATS / k : n;
    nc -= nc % NR;
    if (nc < NR) nc = NR;

    for (int64_t j0 = 0; j0 < n; j0 += nc) {
        const int64_t j1 = j0 + nc < n ? j0 + nc : n;
        for (int64_t i = 0; i < m; i += MR) {
            const int mr = m - i < MR ? (int)(m - i) : MR;
            const float *xi = x + (size_t)i * ldx;
            for (int64_t j = j0; j < j1; j += NR) {
                const int nr = j1 - j < NR ? (int)(j1 - j) : NR;
                const float *wj = w + (size_t)j * ldw;
                float acc[MR][NR];
                if (mr == MR && nr == NR)
                    micro_4x4(xi, ldx, wj, ldw, k, acc);
                else
                    micro_edge(xi, ldx, wj, ldw, k, mr, nr, acc);
                for (int r = 0; r < mr; r++) {
                    float *yr = y + (size_t)(i + r) * ldy + j;
                    for (int c = 0; c < nr; c++) {
                        float v = acc[r][c];
                        if (bias) v += bias[j + c];
                        yr[c] = ifk__act(v, act);
                    }
                }
            }
        }
    }
}

void ifk_linear(const float *x, int64_t m, int64_t k, const float *w, const float *bias, int64_t n,
                int act, float *y) {
    ifk__gemm_nt(x, (size_t)k, m, k, w, (size_t)k, bias, n, act, y, (size_t)n);
}

/* ------------------------------------------------------------------ NN */

/* y (4 rows x 8 columns) = a (4 x k, rows lda apart) . b (k x 8, rows ldb
 * apart): per k step one 8-wide row of b, 4 broadcasts, 32 multiply-adds.
 * The results go through the contiguous t[][] before the strided stores:
 * clang's SLP vectorizer starts from the stores and gives up on strided
 * ones (5x slower). */
static void nn_4x8(const float *IF_RESTRICT a, size_t lda, const float *IF_RESTRICT b, size_t ldb,
                   int64_t k, float *IF_RESTRICT y, size_t ldy) {
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    float c0[8] = {0}, c1[8] = {0}, c2[8] = {0}, c3[8] = {0};
    for (int64_t p = 0; p < k; p++) {
        const float *IF_RESTRICT v = b + (size_t)p * ldb;
        const float s0 = a0[p], s1 = a1[p], s2 = a2[p], s3 = a3[p];
        for (int u = 0; u < 8; u++) c0[u] += s0 * v[u];
        for (int u = 0; u < 8; u++) c1[u] += s1 * v[u];
        for (int u = 0; u < 8; u++) c2[u] += s2 * v[u];
        for (int u = 0; u < 8; u++) c3[u] += s3 * v[u];
    }
    float t[4][8];
    for (int u = 0; u < 8; u++) {
        t[0][u] = c0[u];
        t[1][u] = c1[u];
        t[2][u] = c2[u];
        t[3][u] = c3[u];
    }
    for (int r = 0; r < 4; r++)
        for (int u = 0; u < 8; u++) y[(size_t)r * ldy + u] = t[r][u];
}

static void nn_1x8(const float *IF_RESTRICT a, const float *IF_RESTRICT b, size_t ldb, int64_t k,
                   float *IF_RESTRICT y) {
    float c[8] = {0};
    for (int64_t p = 0; p < k; p++) {
        const float *IF_RESTRICT v = b + (size_t)p * ldb;
        const float s = a[p];
        for (int u = 0; u < 8; u++) c[u] += s * v[u];
    }
    for (int u = 0; u < 8; u++) y[u] = c[u];
}

void ifk__gemm_nn(const float *a, size_t lda, int64_t m, int64_t k, const float *b, size_t ldb,
                  int64_t n, float *y, size_t ldy) {
    for (int64_t i = 0; i < m; i += MR) {
        const int64_t mr = m - i < MR ? m - i : (int64_t)MR;
        const float *ai = a + (size_t)i * lda;
        float *yi = y + (size_t)i * ldy;
        int64_t t = 0;
        for (; t + 8 <= n; t += 8) {
            if (mr == MR)
                nn_4x8(ai, lda, b + t, ldb, k, yi + t, ldy);
            else
                for (int64_t r = 0; r < mr; r++)
                    nn_1x8(ai + (size_t)r * lda, b + t, ldb, k, yi + (size_t)r * ldy + t);
        }
        for (; t < n; t++)
            for (int64_t r = 0; r < mr; r++) {
                const float *ar = ai + (size_t)r * lda;
                float c = 0.0f;
                for (int64_t p = 0; p < k; p++) c += ar[p] * b[(size_t)p * ldb + t];
                yi[(size_t)r * ldy + t] = c;
            }
    }
}
