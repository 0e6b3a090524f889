/* ukernel.h -- what an instruction set plugs into the portable drivers: the
 * micro-kernel contract (ifk_ukr_fn, ifk_epi) and the ifk_isa table of one
 * micro-kernel and a few vector loops (internal to kernels/).
 *
 * BLIS-style split: packing, cache blocking and loop nests are portable C
 * (kernels/gemm.c and the drivers of kernels/drivers.h); an instruction
 * set contributes the named kernels of kernels/isa.h, gathered in its
 * ifk_isa in kernels/isa_tables.c.
 *
 * ------------------------------------------------------ the micro-kernel
 *   void ukr(int64_t k, const float *a, size_t lda, const float *b,
 *            float *c, size_t ldc, int mr, int nr, const ifk_epi *e);
 *
 * computes, for i < mr <= MR and j < nr <= NR,
 *   acc[i][j] = sum over p < k, in increasing p, of a[i*lda + p] * b[p*NR + j]
 * (one multiply-add per step from 0; a fused FMA is fine), then
 *   acc[i][j] = c[i*ldc + j] + acc[i][j]    when e->flags & IFK_EPI_LOAD
 * (C is read after the k loop: kernels prefetch it first), then when
 * e->flags & IFK_EPI_FINAL:
 *   acc += e->bias[j] (if bias), acc = act(acc) (e->act, IFK_ACT_*),
 *   acc += e->res[i*e->ldr + j] (if res),
 * and stores c[i*ldc + j] = acc[i][j]. Nothing outside i < mr, j < nr is
 * read from a, c, bias or res, or written to c.
 *   a: mr rows, lda floats apart, each k contiguous floats (any alignment:
 *      the rows of x, input pixels of a convolution, a packed block);
 *   b: a packed panel: k groups of NR floats (columns j >= nr are zero),
 *      as ifk__pack_b makes it; 64-byte aligned when the scratch is;
 *   k may be 0 (then acc is C or 0, and the epilogue still applies).
 * MR x NR is the register block (6x16 on AVX2: 12 accumulators of 8
 * floats; 14x32 on AVX-512: 28 of 16); edges (mr < MR, nr < NR) are the
 * kernel's job (masked loads/stores, fewer rows), so that drivers never
 * copy tiles. kernels/ukernel_epilogue.h is the LOAD/FINAL/store part
 * written once for the vector kernels, and their row-edge dispatch.
 *
 * The activations must match kernels/scalar/scalar.h: ReLU propagates NaN,
 * Hardswish divides by 6 (not a multiply by 1/6), GELU is
 * 0.5f * x * (1 + erf(x / sqrt 2)) with erf accurate to ~1 ulp. */
#ifndef IF_KERNELS_UKERNEL_H
#define IF_KERNELS_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

enum { IFK_EPI_LOAD = 1, IFK_EPI_FINAL = 2 };

typedef struct {
    int flags;         /* IFK_EPI_LOAD | IFK_EPI_FINAL */
    int act;           /* IFK_ACT_*, applied when FINAL */
    const float *bias; /* bias of the tile's column 0, or NULL */
    const float *res;  /* residual at the tile's (0, 0), rows ldr apart, or NULL */
    size_t ldr;
} ifk_epi;

typedef void (*ifk_ukr_fn)(int64_t k, const float *a, size_t lda, const float *b, float *c,
                           size_t ldc, int mr, int nr, const ifk_epi *e);

enum { IFK_DW_MAX_TAPS = 64 };

/* What an instruction set provides (kernels/isa_tables.c fills one per
 * instruction set). Vector loops have the semantics of the reference
 * kernels of the same names (kernels.h) unless said here. */
typedef struct ifk_isa {
    const char *name;
    int mr, nr;     /* register block of ukr */
    int kc, mc, nc; /* cache blocks of the GEMM: kc x nr panels of B in L1,
                     * mc x kc blocks of A in L2, kc x nc blocks of B in L3 */
    ifk_ukr_fn ukr;
    /* Unnormalised softmax in place over j < m (m >= 1): with
     * v[j] = scale * row[j] (+ bias[j] when bias), row[j] = exp(v[j] - max v);
     * returns the sum of the row[j] (the caller divides the product with V
     * by it). */
    float (*softmax_row)(float *row, int64_t m, float scale, const float *bias);
    /* dst[j] = tab[base - idx[j]] for j < n. */
    void (*gather)(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx);
    /* Depthwise conv2d (groups == cin == cout, kh*kw <= IFK_DW_MAX_TAPS) on
     * output rows [p->oy0, p->oy1) (already resolved: oy1 > 0). */
    void (*dwconv)(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                   float *y);
    /* One output row of a 3x3 stride-1 depthwise convolution padded by 1,
     * from its three input rows (r[k]: input row Y - 1 + k, w pixels of c
     * channels; NULL outside the map): y[X][j] = act(acc + bias[j]), acc
     * summed from 0 over the taps inside the map in (ky, kx) order, so a
     * row is bit for bit what dwconv makes of it. wt is tap-major
     * (wt[t * c + j], t = ky * 3 + kx); bias is never NULL. The fused
     * expand-depthwise-project chain's middle (kernels/inverted_bottleneck.c). */
    void (*dw3_row)(const float *const r[3], int w, int c, const float *wt, const float *bias,
                    int act, float *y);
    /* The norms' loops (drivers: kernels/layernorm.c, kernels/groupnorm.c).
     * sum_d and sumsq_d: the sum of n floats in double, and of (x - mean)^2.
     * ln_apply: y[i] = ((x[i] - mhi) - mlo) * (rstd * gamma[i]) + beta[i]
     * for i < n (one LayerNorm row). gn_channel_sums adds to cs[k] the sum
     * over hw pixels (rows c apart) of channel c0 + k < c0 + nk, of x or of
     * (x - mk[k])^2 when mk; gn_apply writes y[p][k] =
     * act(((x[p][k] - mk[k]) - lk[k]) * sk[k] + bk[k]) for hw pixels of nk
     * channels (x, y at the first channel, rows c apart). */
    double (*sum_d)(const float *x, int64_t n);
    double (*sumsq_d)(const float *x, int64_t n, double mean);
    void (*ln_apply)(const float *x, int64_t n, float mhi, float mlo, float rstd,
                     const float *gamma, const float *beta, float *y);
    void (*gn_channel_sums)(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                            const double *mk, double *cs);
    void (*gn_apply)(const float *x, float *y, int64_t hw, int64_t c, int64_t nk, const float *mk,
                     const float *lk, const float *sk, const float *bk, int act);
    void (*activation)(const float *x, int64_t n, int act, float *y);
    void (*add)(const float *a, const float *b, int64_t n, float *y);
    /* y[j] = (y[j] + a0 * x0[j]) + a1 * x1[j] for j < n, each product and
     * sum rounded (no FMA: every port gives the reference's bits). The
     * interpolations of a convolution's low-resolution parts
     * (kernels/conv_parts.c). */
    void (*axpy2)(float *y, const float *x0, float a0, const float *x1, float a1, int64_t n);
    /* Adaptive max pooling's running max (driver: kernels/pool.c): for
     * pixels p < npix in order (c floats each, x[p*c + k]) and k < c,
     * y[k] = x[p*c + k] where that is greater than y[k] or NaN, so NaN
     * propagates as in PyTorch (kernels/scalar's ifk_adaptive_max_pool). */
    void (*max_pixels)(float *y, const float *x, int64_t npix, int64_t c);
    void (*resize_bilinear)(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                            int oy1);
    /* dst[i] = the float of IEEE half src[i] for i < n, bit for bit as the
     * reference ifk_f16_to_f32 (the widening is exact): B's packing of f16
     * weights (ifk__pack_b_f16). */
    void (*f16_to_f32)(const uint16_t *src, int64_t n, float *dst);
    /* Winograd F(4x4, 3x3) transforms over n channels (kernels/winograd_tx.h).
     * wino_in: d[r*6 + s] is input pixel (r, s) of a 6x6 tile (n floats);
     * writes V = B^T d B as v[e*ldv + c], e = 0..35. wino_out: reads
     * M[e] = m[e*ldm + c], writes bias + A^T M A: output pixel (r, s) of
     * the 4x4 tile at y[r][s*ldy + c] for rows while y[r] != NULL (the
     * NULLs come last) and s < cols. */
    void (*wino_in)(const float *const d[36], int64_t n, float *v, size_t ldv);
    void (*wino_out)(const float *m, size_t ldm, int64_t n, const float *bias, float *const y[4],
                     int cols, size_t ldy);
} ifk_isa;

#endif
