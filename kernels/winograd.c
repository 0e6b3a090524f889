/* winograd.c -- 3x3 stride-1 convolutions as Winograd F(4x4, 3x3).
 *
 * Why: the UPerNet head's 3x3 convolutions are two thirds of a click's
 * arithmetic. F(4x4, 3x3) computes each 4x4 block of outputs from a 6x6
 * block of inputs with 36 multiplies per (input, output channel) pair
 * instead of 144: 4x fewer, and the multiplies become 36 independent
 * GEMMs (tiles x cin) x (cin x cout) that run on the ISA's micro-kernel.
 * The transforms cost memory traffic, not multiplies, and the rounding
 * error grows by the transform coefficients (up to 8): about 1e-6
 * relative here, against 1e-7 for the direct sum (tests bound it).
 *
 *   U = G g G^T   (per output and input channel; 3x3 -> 6x6; prepared once
 *                 by the caller through conv2d_prep, else per call)
 *   V = B^T d B   (per 6x6 input tile and channel; winograd_tx.h, the
 *                 ISA's wino_in)
 *   M = U . V     (36 GEMMs over the channels)
 *   Y = A^T M A   (6x6 -> 4x4 outputs; winograd_tx.h, the ISA's wino_out),
 *                 then bias, activation
 *
 *   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *
 * Tiles are taken in blocks of TB (the block's V and M stay in L2). Output
 * rows [oy0, oy1) may start and end anywhere: tiles start at oy0 and the
 * last one stores only the rows in range, so threads can split rows
 * freely; likewise the last tile column. */

#include <string.h>

#include "kernels/drivers.h"

enum { T = 6, T2 = 36, V_BUDGET = 1024 * 1024, TB_MAX = 256, WINO_MIN_PIXELS = 2048 };

/* Worth it on maps of many tiles. On small ones (the PSP bottleneck's
 * 16 x 16) the edge tiles waste much of their 6 x 6 inputs, and the
 * transformed weights (4x the kernel's floats, per call or prepared)
 * cost more than the multiplies they save. */
int ifk__winograd_ok(const ifk_conv_params *p) {
    return p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->groups == 1 && p->cin >= 16 &&
           p->cout >= 16 && (int64_t)p->h * p->w >= WINO_MIN_PIXELS;
}

/* Tiles per block: as many as keep the block's V (36 x TB x cin) in
 * budget, a multiple of the micro-kernel's MR. */
static int tiles_per_block(const ifk_isa *isa, int cin) {
    int tb = (int)(V_BUDGET / (T2 * sizeof(float) * (size_t)cin));
    tb = tb / isa->mr * isa->mr;
    if (tb < isa->mr) tb = isa->mr;
    if (tb > TB_MAX) tb = TB_MAX / isa->mr * isa->mr;
    return tb;
}

size_t ifk__winograd_scratch(const ifk_isa *isa, const ifk_conv_params *p) {
    const size_t tb = (size_t)tiles_per_block(isa, p->cin);
    return IFK_SCRATCH_SLACK +
           ifk__piece(T2 * (size_t)p->cin * ifk__round_up((size_t)p->cout, (size_t)isa->nr)) +
           ifk__piece(T2 * tb * p->cin) + ifk__piece(T2 * tb * p->cout) +
           ifk__piece((size_t)p->cin);
}

/* G applied to three values (a column of a 3x3 kernel, or a row of G g),
 * written to column s of t. */
static void g_rows(double g0, double g1, double g2, double t[][3], int s) {
    static const double k6 = 1.0 / 6, k12 = 1.0 / 12, k24 = 1.0 / 24;
    const double e = g0 + g2;
    t[0][s] = 0.25 * g0;
    t[1][s] = -(e + g1) * k6;
    t[2][s] = -(e - g1) * k6;
    t[3][s] = g0 * k24 + g1 * k12 + g2 * k6;
    t[4][s] = g0 * k24 - g1 * k12 + g2 * k6;
    t[5][s] = g2;
}

/* U = G g G^T for every (output j, input c), packed as the micro-kernel's
 * B: per e, ceil(cout / NR) panels of cin x NR (columns >= cout zero).
 * In double, rounded once (the 1/6 and 1/24 are not exact in float).
 * Loops run panel, c, j so that each of the 36 destinations is written
 * sequentially (the 9 taps are the strided reads). */
static void transform_weights(const float *wt, int cin, int cout, int nr, void *out) {
    const size_t per_e = ifk__round_up((size_t)cout, (size_t)nr) * cin;
    float *up = (float *)out;
    for (int j0 = 0; j0 < cout; j0 += nr) {
        float *panel = up + (size_t)j0 * cin; /* (j0 / nr) * cin * nr */
        for (int c = 0; c < cin; c++) {
            float *dst = panel + (size_t)c * nr;
            for (int jj = 0; jj < nr; jj++) {
                double u[T2] = {0};
                if (j0 + jj < cout) {
                    const float *g = wt + (size_t)(j0 + jj) * 9 * cin + c;
                    double t[T][3]; /* G g: rows */
                    for (int s = 0; s < 3; s++) {
                        const double g0 = g[(size_t)s * cin], g1 = g[(size_t)(3 + s) * cin],
                                     g2 = g[(size_t)(6 + s) * cin];
                        g_rows(g0, g1, g2, t, s);
                    }
                    for (int r = 0; r < T; r++) { /* (G g) G^T: columns */
                        double col[T][3];
                        g_rows(t[r][0], t[r][1], t[r][2], col, 0);
                        for (int q = 0; q < T; q++) u[r * T + q] = col[q][0];
                    }
                }
                for (int e = 0; e < T2; e++) dst[(size_t)e * per_e + jj] = (float)u[e];
            }
        }
    }
}

size_t ifk__winograd_weights_bytes(const ifk_isa *isa, const ifk_conv_params *p) {
    return T2 * ifk__round_up((size_t)p->cout, (size_t)isa->nr) * p->cin * sizeof(float);
}

void ifk__winograd_weights(const ifk_isa *isa, const ifk_conv_params *p, const float *wt,
                           void *prep) {
    transform_weights(wt, p->cin, p->cout, isa->nr, prep);
}

void ifk__conv3x3_winograd(const ifk_isa *isa, const float *x, const ifk_conv_params *p,
                           const float *wt, const void *prep, const float *bias, float *y,
                           void *scratch) {
    const ifk_parts one = {1, {x}, {p->cin}, {0}, {0}};
    ifk__conv3x3_winograd_parts(isa, &one, p, wt, prep, bias, y, scratch);
}

/* The input's channels come from the parts in order: each part's slice of
 * V is its own input transform (the transform is per channel), so V, and
 * the result, are those of the concatenated input. */
void ifk__conv3x3_winograd_parts(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p,
                                 const float *wt, const void *prep, const float *bias, float *y,
                                 void *scratch) {
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const int oy0 = p->oy0 < 0 ? 0 : p->oy0, oy1 = p->oy1 <= 0 || p->oy1 > ho ? ho : p->oy1;
    if (oy0 >= oy1) return;
    const int cin = p->cin, cout = p->cout, MR = isa->mr, NR = isa->nr, KC = isa->kc;
    const int TB = tiles_per_block(isa, cin);
    const size_t per_e = ifk__round_up((size_t)cout, (size_t)NR) * cin;

    /* Scratch: V, M, a zero pixel, and U unless prepared. */
    char *cur = ifk__align64(scratch);
    float *v = ifk__carve(&cur, T2 * (size_t)TB * cin);
    float *mm = ifk__carve(&cur, T2 * (size_t)TB * cout);
    float *zero = ifk__carve(&cur, (size_t)cin);
    memset(zero, 0, (size_t)cin * sizeof *zero);
    const float *up = (const float *)prep;
    if (!up) {
        float *u = ifk__carve(&cur, T2 * per_e);
        transform_weights(wt, cin, cout, NR, u);
        up = u;
    }

    const int tcols = (wo + 3) / 4, trows = (oy1 - oy0 + 3) / 4;
    const int64_t ntiles = (int64_t)tcols * trows;
    const size_t ldv = (size_t)TB * cin, ldm = (size_t)TB * cout;
    for (int64_t t0 = 0; t0 < ntiles; t0 += TB) {
        const int nt = ntiles - t0 < TB ? (int)(ntiles - t0) : TB;
        /* Input transform: V[e][t][c]. Pixels outside the image read zeros. */
        for (int t = 0; t < nt; t++) {
            const int ty = (int)((t0 + t) / tcols), tx = (int)((t0 + t) % tcols);
            const int iy = oy0 + 4 * ty - p->pt, ix = 4 * tx - p->pl;
            int coff = 0;
            for (int k = 0; k < in->n; k++) {
                const int ck = in->c[k];
                const float *d[T2];
                for (int r = 0; r < T; r++)
                    for (int s = 0; s < T; s++) {
                        const int yy = iy + r, xx = ix + s;
                        d[r * T + s] = yy >= 0 && yy < p->h && xx >= 0 && xx < p->w
                                           ? in->x[k] + ((size_t)yy * p->w + xx) * ck
                                           : zero;
                    }
                isa->wino_in(d, ck, v + (size_t)t * cin + coff, ldv);
                coff += ck;
            }
        }
        /* M[e] = V[e] U[e]: nt x cin times cin x cout, 36 times. */
        for (int e = 0; e < T2; e++) {
            const float *ve = v + (size_t)e * ldv;
            float *me = mm + (size_t)e * ldm;
            for (int j0 = 0; j0 < cout; j0 += NR) {
                const int nr = cout - j0 < NR ? cout - j0 : NR;
                const float *panel = up + (size_t)e * per_e + (size_t)(j0 / NR) * cin * NR;
                for (int kk = 0; kk < cin; kk += KC) {
                    const int kc = cin - kk < KC ? cin - kk : KC;
                    const ifk_epi ep = {kk > 0 ? IFK_EPI_LOAD : 0, IFK_ACT_NONE, NULL, NULL, 0};
                    for (int i = 0; i < nt; i += MR)
                        isa->ukr(kc, ve + (size_t)i * cin + kk, (size_t)cin,
                                 panel + (size_t)kk * NR, me + (size_t)i * cout + j0, (size_t)cout,
                                 nt - i < MR ? nt - i : MR, nr, &ep);
                }
            }
        }
        /* Output transform, bias, activation; rows and columns in range only. */
        for (int t = 0; t < nt; t++) {
            const int ty = (int)((t0 + t) / tcols), tx = (int)((t0 + t) % tcols);
            const int oy = oy0 + 4 * ty, ox = 4 * tx, cols = wo - ox < 4 ? wo - ox : 4;
            float *rows[4];
            for (int r = 0; r < 4; r++)
                rows[r] = oy + r < oy1 ? y + ((size_t)(oy + r) * wo + ox) * cout : NULL;
            isa->wino_out(mm + (size_t)t * cout, ldm, cout, bias, rows, cols, (size_t)cout);
            if (p->act != IFK_ACT_NONE)
                for (int r = 0; r < 4 && rows[r]; r++)
                    isa->activation(rows[r], (int64_t)cols * cout, p->act, rows[r]);
        }
    }
}
