/* winograd.c -- 3x3 stride-1 convolutions as Winograd F(2x2, 3x3).
 *
 * Why: the UPerNet head's 3x3 convolutions are two thirds of a click's
 * arithmetic. F(2x2, 3x3) computes each 2x2 block of outputs from a 4x4
 * block of inputs with 16 multiplies per (input, output channel) pair
 * instead of 36: 2.25x fewer, and the multiplies become 16 independent
 * GEMMs (tiles x cin) x (cin x cout) that run on the ISA's micro-kernel.
 * Its rounding error stays within a few ulps of the direct sum's
 * (transforms have coefficients 0, +-1 and 1/2), unlike the larger tiles.
 *
 *   U = G g G^T   (per output and input channel; 3x3 -> 4x4; once per call)
 *   V = B^T d B   (per 4x4 input tile and channel)
 *   M = U . V     (16 GEMMs over the channels)
 *   Y = A^T M A   (4x4 -> 2x2 outputs), then bias and activation
 *
 *   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * Tiles are taken in blocks of TB (the block's V and M stay in L2); the
 * transforms run over channels in the ISA's vectors (ifk_isa.wino_in /
 * wino_out, portable versions below). Output rows [oy0, oy1) may start
 * and end anywhere: tiles start at oy0 and the last one stores one row
 * when the range is odd, so threads can split rows freely. */
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/scalar/scalar.h"

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }
static size_t piece(size_t floats) { return round_up(floats * sizeof(float), 64); }

enum { V_BUDGET = 768 * 1024, TB_MAX = 256, WINO_MIN_PIXELS = 2048 };

/* Worth it when the tiles outnumber what transforming the weights costs
 * (done per call: 16 x cin x cout scattered stores): small maps, like the
 * PSP bottleneck's 16 x 16, stay on the direct path. */
int ifk__winograd_ok(const ifk_conv_params *p)
{
    return p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->groups == 1 && p->cin >= 16 &&
           p->cout >= 16 && (int64_t)p->h * p->w >= WINO_MIN_PIXELS;
}

/* Tiles per block: as many as keep the block's V (16 x TB x cin) in
 * budget, a multiple of the micro-kernel's MR. */
static int tiles_per_block(const ifk_isa *isa, int cin)
{
    int tb = (int)(V_BUDGET / (16 * sizeof(float) * (size_t)cin));
    tb = tb / isa->mr * isa->mr;
    if (tb < isa->mr) tb = isa->mr;
    if (tb > TB_MAX) tb = TB_MAX / isa->mr * isa->mr;
    return tb;
}

size_t ifk__winograd_scratch(const ifk_isa *isa, const ifk_conv_params *p)
{
    const size_t tb = (size_t)tiles_per_block(isa, p->cin);
    return 64 + piece(16 * (size_t)p->cin * round_up((size_t)p->cout, (size_t)isa->nr)) +
           piece(16 * tb * p->cin) + piece(16 * tb * p->cout) + piece((size_t)p->cin);
}

/* U = G g G^T for every (output j, input c), packed as the micro-kernel's
 * B: per e, ceil(cout / NR) panels of cin x NR (columns >= cout zero). */
static void transform_weights(const float *wt, int cin, int cout, int nr, float *up)
{
    const size_t panel = (size_t)cin * nr, per_e = round_up((size_t)cout, (size_t)nr) * cin;
    memset(up, 0, 16 * per_e * sizeof *up);
    for (int j = 0; j < cout; j++) {
        const float *g = wt + (size_t)j * 9 * cin;
        float *uj = up + (size_t)(j / nr) * panel + j % nr;
        for (int c = 0; c < cin; c++) {
            float t[4][3];  /* G g: rows */
            for (int s = 0; s < 3; s++) {
                const float g0 = g[(0 * 3 + s) * cin + c], g1 = g[(1 * 3 + s) * cin + c],
                            g2 = g[(2 * 3 + s) * cin + c];
                t[0][s] = g0;
                t[1][s] = 0.5f * (g0 + g1 + g2);
                t[2][s] = 0.5f * (g0 - g1 + g2);
                t[3][s] = g2;
            }
            for (int r = 0; r < 4; r++) { /* (G g) G^T: columns */
                const float u[4] = {t[r][0], 0.5f * (t[r][0] + t[r][1] + t[r][2]),
                                    0.5f * (t[r][0] - t[r][1] + t[r][2]), t[r][2]};
                for (int s = 0; s < 4; s++) uj[(size_t)(r * 4 + s) * per_e + (size_t)c * nr] = u[s];
            }
        }
    }
}

void ifk__wino_in_c(const float *const d[16], int64_t n, float *v, size_t ldv)
{
    for (int64_t c = 0; c < n; c++) {
        float t[4][4];
        for (int s = 0; s < 4; s++) { /* B^T d: rows */
            const float d0 = d[s][c], d1 = d[4 + s][c], d2 = d[8 + s][c], d3 = d[12 + s][c];
            t[0][s] = d0 - d2;
            t[1][s] = d1 + d2;
            t[2][s] = d2 - d1;
            t[3][s] = d1 - d3;
        }
        for (int r = 0; r < 4; r++) { /* (B^T d) B: columns */
            v[(size_t)(r * 4 + 0) * ldv + c] = t[r][0] - t[r][2];
            v[(size_t)(r * 4 + 1) * ldv + c] = t[r][1] + t[r][2];
            v[(size_t)(r * 4 + 2) * ldv + c] = t[r][2] - t[r][1];
            v[(size_t)(r * 4 + 3) * ldv + c] = t[r][1] - t[r][3];
        }
    }
}

void ifk__wino_out_c(const float *m, size_t ldm, int64_t n, const float *bias, float *y0, float *y1,
                     int cols, size_t ldy)
{
    for (int64_t c = 0; c < n; c++) {
        float s0[4], s1[4];
        for (int s = 0; s < 4; s++) { /* A^T M: rows */
            const float m0 = m[(size_t)s * ldm + c], m1 = m[(size_t)(4 + s) * ldm + c],
                        m2 = m[(size_t)(8 + s) * ldm + c], m3 = m[(size_t)(12 + s) * ldm + c];
            s0[s] = m0 + m1 + m2;
            s1[s] = m1 - m2 - m3;
        }
        const float b = bias ? bias[c] : 0.0f;
        y0[c] = b + (s0[0] + s0[1] + s0[2]);
        if (cols > 1) y0[ldy + c] = b + (s0[1] - s0[2] - s0[3]);
        if (y1) {
            y1[c] = b + (s1[0] + s1[1] + s1[2]);
            if (cols > 1) y1[ldy + c] = b + (s1[1] - s1[2] - s1[3]);
        }
    }
}

void ifk__conv3x3_winograd(const ifk_isa *isa, const float *x, const ifk_conv_params *p,
                           const float *wt, const float *bias, float *y, void *scratch)
{
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const int oy0 = p->oy0 < 0 ? 0 : p->oy0, oy1 = p->oy1 <= 0 || p->oy1 > ho ? ho : p->oy1;
    if (oy0 >= oy1) return;
    const int cin = p->cin, cout = p->cout, MR = isa->mr, NR = isa->nr, KC = isa->kc;
    const int TB = tiles_per_block(isa, cin);
    const size_t per_e = round_up((size_t)cout, (size_t)NR) * cin;

    char *cur = (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *up = (float *)cur;
    cur += piece(16 * per_e);
    float *v = (float *)cur;
    cur += piece(16 * (size_t)TB * cin);
    float *mm = (float *)cur;
    cur += piece(16 * (size_t)TB * cout);
    float *zero = (float *)cur;
    memset(zero, 0, (size_t)cin * sizeof *zero);
    transform_weights(wt, cin, cout, NR, up);

    const int tcols = (wo + 1) / 2, trows = (oy1 - oy0 + 1) / 2;
    const int64_t ntiles = (int64_t)tcols * trows;
    const size_t ldv = (size_t)TB * cin, ldm = (size_t)TB * cout;
    for (int64_t t0 = 0; t0 < ntiles; t0 += TB) {
        const int nt = ntiles - t0 < TB ? (int)(ntiles - t0) : TB;
        /* Input transform: V[e][t][c]. Pixels outside the image read zeros. */
        for (int t = 0; t < nt; t++) {
            const int ty = (int)((t0 + t) / tcols), tx = (int)((t0 + t) % tcols);
            const int iy = oy0 + 2 * ty - p->pt, ix = 2 * tx - p->pl;
            const float *d[16];
            for (int r = 0; r < 4; r++)
                for (int s = 0; s < 4; s++) {
                    const int yy = iy + r, xx = ix + s;
                    d[r * 4 + s] = yy >= 0 && yy < p->h && xx >= 0 && xx < p->w
                                       ? x + ((size_t)yy * p->w + xx) * cin
                                       : zero;
                }
            isa->wino_in(d, cin, v + (size_t)t * cin, ldv);
        }
        /* M[e] = V[e] U[e]: nt x cin times cin x cout, 16 times. */
        for (int e = 0; e < 16; e++) {
            const float *ve = v + (size_t)e * ldv;
            float *me = mm + (size_t)e * ldm;
            for (int j0 = 0; j0 < cout; j0 += NR) {
                const int nr = cout - j0 < NR ? cout - j0 : NR;
                const float *panel = up + (size_t)e * per_e + (size_t)(j0 / NR) * cin * NR;
                for (int kk = 0; kk < cin; kk += KC) {
                    const int kc = cin - kk < KC ? cin - kk : KC;
                    const ifk_epi ep = {kk > 0 ? IFK_EPI_LOAD : 0, IFK_ACT_NONE, NULL, NULL, 0};
                    for (int i = 0; i < nt; i += MR)
                        isa->ukr(kc, ve + (size_t)i * cin + kk, (size_t)cin, panel + (size_t)kk * NR,
                                 me + (size_t)i * cout + j0, (size_t)cout, nt - i < MR ? nt - i : MR, nr,
                                 &ep);
                }
            }
        }
        /* Output transform, bias, activation. */
        for (int t = 0; t < nt; t++) {
            const int ty = (int)((t0 + t) / tcols), tx = (int)((t0 + t) % tcols);
            const int oy = oy0 + 2 * ty, ox = 2 * tx, cols = wo - ox < 2 ? 1 : 2;
            float *r0 = y + ((size_t)oy * wo + ox) * cout;
            float *r1 = oy + 1 < oy1 ? r0 + (size_t)wo * cout : NULL;
            isa->wino_out(mm + (size_t)t * cout, ldm, cout, bias, r0, r1, cols, (size_t)cout);
            if (p->act != IFK_ACT_NONE) {
                isa->activation(r0, (int64_t)cols * cout, p->act, r0);
                if (r1) isa->activation(r1, (int64_t)cols * cout, p->act, r1);
            }
        }
    }
}
