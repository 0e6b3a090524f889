/* winograd_tx.h -- the Winograd F(4x4, 3x3) tile transforms, written once
 * over a vector of channels (kernels/winograd.c has the maths).
 *
 * Each instruction set's file defines its vector and includes this file
 * (XNNPACK-style templating, so the transforms exist once in source):
 *
 *   WT_V              the vector type
 *   WT_N              its lanes
 *   WT_LD(p)          load WT_N floats (any alignment)
 *   WT_ST(p, v)       store them
 *   WT_ADD, WT_SUB    (a, b) -> a + b, a - b
 *   WT_MULS(v, k)     v * k for a float constant k
 *   WT_SET1(x), WT_ZERO
 *   WT_IN, WT_OUT     the names of the two functions to define
 *   WT_TAIL_IN, WT_TAIL_OUT   functions of the same signatures for the
 *                     last n % WT_N channels (the portable ones), or leave
 *                     them undefined when WT_N is 1
 *
 * The sums are written in one fixed order with separately rounded
 * products, so every instruction set computes the same floats.
 *
 *   V = B^T d B, B^T = [4  0 -5  0 1 0]      Y = A^T M A, A^T = [1 1  1 1  1 0]
 *                      [0 -4 -4  1 1 0]                         [0 1 -1 2 -2 0]
 *                      [0  4 -4 -1 1 0]                         [0 1  1 4  4 0]
 *                      [0 -2 -1  2 1 0]                         [0 1 -1 8 -8 1]
 *                      [0  2 -1 -2 1 0]
 *                      [0  4  0 -5 0 1]
 */

/* One B^T pass over six values (a column or a row of a tile). */
#define WT_BT(o, i)                                                                                \
    do {                                                                                           \
        const WT_V a_ = WT_SUB(i[4], i[2]), b_ = WT_SUB(i[3], i[1]);                               \
        const WT_V c_ = WT_ADD(i[3], i[4]), d_ = WT_ADD(i[1], i[2]);                               \
        const WT_V e_ = WT_SUB(i[4], i[3]), f_ = WT_SUB(i[1], i[2]);                               \
        o[0] = WT_ADD(WT_SUB(WT_MULS(i[0], 4.0f), WT_MULS(i[2], 5.0f)), i[4]);                     \
        o[1] = WT_SUB(c_, WT_MULS(d_, 4.0f));                                                      \
        o[2] = WT_ADD(e_, WT_MULS(f_, 4.0f));                                                      \
        o[3] = WT_ADD(a_, WT_MULS(b_, 2.0f));                                                      \
        o[4] = WT_SUB(a_, WT_MULS(b_, 2.0f));                                                      \
        o[5] = WT_ADD(WT_SUB(WT_MULS(i[1], 4.0f), WT_MULS(i[3], 5.0f)), i[5]);                     \
    } while (0)

/* One A^T pass: six values to four. */
#define WT_AT(o, i)                                                                                \
    do {                                                                                           \
        const WT_V p_ = WT_ADD(i[1], i[2]), q_ = WT_SUB(i[1], i[2]);                               \
        const WT_V r_ = WT_ADD(i[3], i[4]), s_ = WT_SUB(i[3], i[4]);                               \
        o[0] = WT_ADD(WT_ADD(i[0], p_), r_);                                                       \
        o[1] = WT_ADD(q_, WT_MULS(s_, 2.0f));                                                      \
        o[2] = WT_ADD(p_, WT_MULS(r_, 4.0f));                                                      \
        o[3] = WT_ADD(WT_ADD(q_, WT_MULS(s_, 8.0f)), i[5]);                                        \
    } while (0)

void WT_IN(const float *const d[36], int64_t n, float *v, size_t ldv) {
    int64_t c = 0;
    for (; c + WT_N <= n; c += WT_N) {
        WT_V t[6][6];
        for (int s = 0; s < 6; s++) { /* columns: t[.][s] = B^T d[.][s] */
            WT_V col[6], out[6];
            for (int r = 0; r < 6; r++) col[r] = WT_LD(d[r * 6 + s] + c);
            WT_BT(out, col);
            for (int r = 0; r < 6; r++) t[r][s] = out[r];
        }
        for (int r = 0; r < 6; r++) { /* rows: V[r][.] = t[r][.] B */
            WT_V out[6];
            WT_BT(out, t[r]);
            for (int s = 0; s < 6; s++) WT_ST(v + (size_t)(r * 6 + s) * ldv + c, out[s]);
        }
    }
#ifdef WT_TAIL_IN
    if (c < n) {
        const float *dt[36];
        for (int i = 0; i < 36; i++) dt[i] = d[i] + c;
        WT_TAIL_IN(dt, n - c, v + c, ldv);
    }
#endif
}

void WT_OUT(const float *m, size_t ldm, int64_t n, const float *bias, float *const y[4], int cols,
            size_t ldy) {
    int64_t c = 0;
    for (; c + WT_N <= n; c += WT_N) {
        WT_V t[4][6];
        for (int s = 0; s < 6; s++) { /* columns: t[.][s] = A^T M[.][s] */
            WT_V col[6], out[4];
            for (int r = 0; r < 6; r++) col[r] = WT_LD(m + (size_t)(r * 6 + s) * ldm + c);
            WT_AT(out, col);
            for (int r = 0; r < 4; r++) t[r][s] = out[r];
        }
        const WT_V b = bias ? WT_LD(bias + c) : WT_ZERO;
        for (int r = 0; r < 4 && y[r]; r++) { /* rows: Y[r][.] = t[r][.] A, + bias */
            WT_V out[4];
            WT_AT(out, t[r]);
            for (int s = 0; s < cols; s++) WT_ST(y[r] + (size_t)s * ldy + c, WT_ADD(b, out[s]));
        }
    }
#ifdef WT_TAIL_OUT
    if (c < n) {
        float *yt[4];
        for (int r = 0; r < 4; r++) yt[r] = y[r] ? y[r] + c : NULL;
        WT_TAIL_OUT(m + c, ldm, n - c, bias ? bias + c : NULL, yt, cols, ldy);
    }
#endif
}

#undef WT_BT
#undef WT_AT
