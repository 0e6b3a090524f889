/* gemm.h -- the packed GEMM drivers and what an instruction set plugs into
 * them (internal to kernels/).
 *
 * BLIS-style split: everything here and in kernels/gemm.c is portable C
 * (packing, cache blocking, loop nests, the implicit-GEMM convolution, the
 * fused attention); an instruction set contributes an ifk_isa: one
 * register-blocked micro-kernel and a few vector loops.
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
 * copy tiles.
 *
 * The activations must match kernels/scalar/scalar.h: ReLU propagates NaN,
 * Hardswish divides by 6 (not a multiply by 1/6), GELU is
 * 0.5f * x * (1 + erf(x / sqrt 2)) with erf accurate to ~1 ulp. */
#ifndef IF_KERNELS_GEMM_H
#define IF_KERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/dispatch.h"
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

/* What an instruction set provides. Vector loops have the semantics of the
 * reference kernels of the same names (kernels.h) unless said here. */
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
    void (*layer_norm)(const float *x, int64_t rows, int64_t c, const float *gamma,
                       const float *beta, float eps, float *y);
    /* GroupNorm's loops (the driver is kernels/norm.c): sum_d and sumsq_d
     * of n floats in double (sumsq_d of x - mean); gn_channel_sums adds to
     * cs[k] the sum over hw pixels (rows c apart) of channel c0 + k < c0 + nk,
     * of x or of (x - mk[k])^2 when mk; gn_apply writes y[p][k] =
     * act(((x[p][k] - mk[k]) - lk[k]) * sk[k] + bk[k]) for hw pixels of nk
     * channels (x, y at the first channel, rows c apart). */
    double (*sum_d)(const float *x, int64_t n);
    double (*sumsq_d)(const float *x, int64_t n, double mean);
    void (*gn_channel_sums)(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                            const double *mk, double *cs);
    void (*gn_apply)(const float *x, float *y, int64_t hw, int64_t c, int64_t nk, const float *mk,
                     const float *lk, const float *sk, const float *bk, int act);
    void (*activation)(const float *x, int64_t n, int act, float *y);
    void (*add)(const float *a, const float *b, int64_t n, float *y);
    void (*resize_bilinear)(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                            int oy1);
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

enum { IFK_DW_MAX_TAPS = 64 };

/* Scratch carving, shared by the drivers: 64-byte aligned pieces of a
 * scratch buffer that is itself aligned up first (IFK_SCRATCH_SLACK bytes). */
enum { IFK_SCRATCH_SLACK = 64 };
static inline size_t ifk__round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }
/* Bytes of a carved piece of `floats` floats. */
static inline size_t ifk__piece(size_t floats) { return ifk__round_up(floats * sizeof(float), 64); }
static inline char *ifk__align64(void *p) {
    const uintptr_t u = (uintptr_t)p;
    return (char *)(u + ((64 - u % 64) % 64));
}
static inline float *ifk__carve(char **cur, size_t floats) {
    float *p = (float *)*cur;
    *cur += ifk__piece(floats);
    return p;
}

/* ------------------------------------------------------------ drivers */

/* Packs rows [0, n) x columns [k0, k0 + kc) of w (n x k, rows ldw apart,
 * nn.Linear layout) as ceil(n / nr) panels of kc x nr floats, zero-padded
 * columns: bp[(j / nr) * kc * nr + p * nr + j % nr] = w[j * ldw + k0 + p]. */
void ifk__pack_b(const float *w, size_t ldw, int64_t n, int64_t k0, int64_t kc, int nr, float *bp);

/* y[i*ldy + j] = act(bias[j] + sum_p x[i*ldx + p] * w[j*ldw + p]) (+ res[i*ldr + j] when res)
 * for i < m, j < n: the BLIS loop nest (NC, KC, MC blocks, packed B,
 * A packed when its row stride would thrash the cache). */
void ifk__gemm(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k, const float *w,
               size_t ldw, const float *bias, int64_t n, int act, const float *res, size_t ldr,
               float *y, size_t ldy, void *scratch);
size_t ifk__gemm_scratch(const ifk_isa *isa, int64_t m, int64_t k, int64_t n);

void ifk__conv2d(const ifk_isa *isa, const float *x, const ifk_conv_params *p, const float *wt,
                 const void *prep, const float *bias, float *y, void *scratch);
size_t ifk__conv2d_prep_bytes(const ifk_isa *isa, const ifk_conv_params *p);
void ifk__conv2d_prep(const ifk_isa *isa, const ifk_conv_params *p, const float *wt, void *prep);
size_t ifk__conv2d_scratch(const ifk_isa *isa, const ifk_conv_params *p);

void ifk__conv_transpose2d(const ifk_isa *isa, const float *x, int h, int w, int cin,
                           const float *wt, const float *bias, int cout, int kh, int kw, float *y,
                           void *scratch);
size_t ifk__conv_transpose2d_scratch(const ifk_isa *isa, int h, int w, int cin, int cout, int kh,
                                     int kw);

void ifk__attention(const ifk_isa *isa, const float *q, int64_t nq, const float *kv, int64_t m,
                    int c, int heads, float scale, float *y, void *scratch);
size_t ifk__attention_scratch(const ifk_isa *isa, int64_t m, int c, int heads);

void ifk__vit_attention(const ifk_isa *isa, const float *qkv, int h, int w, int c, int heads,
                        float scale, const float *table, int gh, int gw, int q0, int q1, float *y,
                        void *scratch);
size_t ifk__vit_attention_scratch(const ifk_isa *isa, int h, int w, int c, int heads, int gh,
                                  int gw);

/* 3x3 stride-1 dense convolutions by Winograd F(4x4, 3x3) (kernels/winograd.c);
 * ifk__conv2d takes this path where ifk__winograd_ok. */
int ifk__winograd_ok(const ifk_conv_params *p);
void ifk__conv3x3_winograd(const ifk_isa *isa, const float *x, const ifk_conv_params *p,
                           const float *wt, const void *prep, const float *bias, float *y,
                           void *scratch);
size_t ifk__winograd_scratch(const ifk_isa *isa, const ifk_conv_params *p);
/* The transformed weights (U, packed), conv3x3_winograd's prep. */
size_t ifk__winograd_weights_bytes(const ifk_isa *isa, const ifk_conv_params *p);
void ifk__winograd_weights(const ifk_isa *isa, const ifk_conv_params *p, const float *wt,
                           void *prep);
void ifk__wino_in_c(const float *const d[36], int64_t n, float *v, size_t ldv);
void ifk__wino_out_c(const float *m, size_t ldm, int64_t n, const float *bias, float *const y[4],
                     int cols, size_t ldy);

/* GroupNorm over isa's loops (kernels/norm.c): whole, and the two pieces
 * of kernels.h's ifk_group_norm_sums / _apply. */
void ifk__group_norm(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                     const float *gamma, const float *beta, float eps, int act, float *y);
void ifk__group_norm_sums(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                          const double *mean, double *sums);
void ifk__group_norm_apply(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                           const float *mhi, const float *mlo, const float *rstd,
                           const float *gamma, const float *beta, int act, float *y);
double ifk__sum_d_c(const float *x, int64_t n);
double ifk__sumsq_d_c(const float *x, int64_t n, double mean);
void ifk__gn_channel_sums_c(const float *x, int64_t hw, int64_t c, int64_t c0, int64_t nk,
                            const double *mk, double *cs);

/* One pixel's channels [k, nk) of gn_channel_sums, in double: cs[k] += x or
 * (x - mk)^2. The portable loop's body and the vector loops' tail. */
static inline void ifk__gn_sums_tail(const float *xp, const double *mk, double *cs, int64_t k,
                                     int64_t nk) {
    for (; k < nk; k++) {
        const double d = mk ? xp[k] - mk[k] : xp[k];
        cs[k] += mk ? d * d : d;
    }
}
void ifk__gn_apply_c(const float *x, float *y, int64_t hw, int64_t c, int64_t nk, const float *mk,
                     const float *lk, const float *sk, const float *bk, int act);

/* Portable vector loops, usable in any ifk_isa (kernels/gemm.c). */
float ifk__softmax_row_c(float *row, int64_t m, float scale, const float *bias);
void ifk__gather_c(float *dst, int64_t n, const float *tab, int32_t base, const int32_t *idx);
void ifk__dwconv_c(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                   float *y);

/* The instruction sets of this build (defined in their own files). */
extern const ifk_isa ifk_isa_generic;
#if defined(__x86_64__) || defined(_M_X64)
#define IFK_HAVE_X86 1
extern const ifk_isa ifk_isa_avx2;
extern const ifk_isa ifk_isa_avx512;
#endif

/* Defines `static const ifk_ops NAME##_ops`, named "NAME", running the
 * drivers above on ISA (an ifk_isa object). */
#define IFK_DEFINE_OPS(NAME, ISA)                                                                  \
    static void NAME##_linear(const float *x, int64_t m, int64_t k, const float *w,                \
                              const float *bias, int64_t n, int act, float *y, void *s) {          \
        ifk__gemm(&(ISA), x, (size_t)k, m, k, w, (size_t)k, bias, n, act, NULL, 0, y, (size_t)n,   \
                  s);                                                                              \
    }                                                                                              \
    static void NAME##_conv2d(const float *x, const ifk_conv_params *p, const float *wt,           \
                              const void *prep, const float *bias, float *y, void *s) {            \
        ifk__conv2d(&(ISA), x, p, wt, prep, bias, y, s);                                           \
    }                                                                                              \
    static size_t NAME##_prep_bytes(const ifk_conv_params *p) {                                    \
        return ifk__conv2d_prep_bytes(&(ISA), p);                                                  \
    }                                                                                              \
    static void NAME##_prep(const ifk_conv_params *p, const float *wt, void *prep) {               \
        ifk__conv2d_prep(&(ISA), p, wt, prep);                                                     \
    }                                                                                              \
    static void NAME##_convt(const float *x, int h, int w, int cin, const float *wt,               \
                             const float *bias, int cout, int kh, int kw, float *y, void *s) {     \
        ifk__conv_transpose2d(&(ISA), x, h, w, cin, wt, bias, cout, kh, kw, y, s);                 \
    }                                                                                              \
    static void NAME##_attention(const float *q, int64_t nq, const float *kv, int64_t m, int c,    \
                                 int heads, float scale, float *y, void *s) {                      \
        ifk__attention(&(ISA), q, nq, kv, m, c, heads, scale, y, s);                               \
    }                                                                                              \
    static void NAME##_vit(const float *qkv, int h, int w, int c, int heads, float scale,          \
                           const float *table, int gh, int gw, int q0, int q1, float *y,           \
                           void *s) {                                                              \
        ifk__vit_attention(&(ISA), qkv, h, w, c, heads, scale, table, gh, gw, q0, q1, y, s);       \
    }                                                                                              \
    static void NAME##_ln(const float *x, int64_t rows, int64_t c, const float *g, const float *b, \
                          float eps, float *y) {                                                   \
        (ISA).layer_norm(x, rows, c, g, b, eps, y);                                                \
    }                                                                                              \
    static void NAME##_gn(const float *x, int64_t hw, int64_t c, int groups, const float *g,       \
                          const float *b, float eps, int act, float *y) {                          \
        ifk__group_norm(&(ISA), x, hw, c, groups, g, b, eps, act, y);                              \
    }                                                                                              \
    static void NAME##_gn_sums(const float *x, int64_t hw, int64_t c, int groups,                  \
                               const double *mean, double *sums) {                                 \
        ifk__group_norm_sums(&(ISA), x, hw, c, groups, mean, sums);                                \
    }                                                                                              \
    static void NAME##_gn_apply(const float *x, int64_t hw, int64_t c, int groups,                 \
                                const float *mhi, const float *mlo, const float *rstd,             \
                                const float *g, const float *b, int act, float *y) {               \
        ifk__group_norm_apply(&(ISA), x, hw, c, groups, mhi, mlo, rstd, g, b, act, y);             \
    }                                                                                              \
    static void NAME##_act(const float *x, int64_t n, int act, float *y) {                         \
        (ISA).activation(x, n, act, y);                                                            \
    }                                                                                              \
    static void NAME##_add(const float *a, const float *b, int64_t n, float *y) {                  \
        (ISA).add(a, b, n, y);                                                                     \
    }                                                                                              \
    static void NAME##_resize(const float *x, int h, int w, int c, float *y, int oh, int ow,       \
                              int oy0, int oy1) {                                                  \
        (ISA).resize_bilinear(x, h, w, c, y, oh, ow, oy0, oy1);                                    \
    }                                                                                              \
    static const ifk_ops NAME##_ops = {                                                            \
        .name = #NAME,                                                                             \
        .linear = NAME##_linear,                                                                   \
        .conv2d = NAME##_conv2d,                                                                   \
        .conv2d_prep_bytes = NAME##_prep_bytes,                                                    \
        .conv2d_prep = NAME##_prep,                                                                \
        .conv_transpose2d = NAME##_convt,                                                          \
        .attention = NAME##_attention,                                                             \
        .vit_attention = NAME##_vit,                                                               \
        .layer_norm = NAME##_ln,                                                                   \
        .group_norm = NAME##_gn,                                                                   \
        .group_norm_sums = NAME##_gn_sums,                                                         \
        .group_norm_apply = NAME##_gn_apply,                                                       \
        .activation = NAME##_act,                                                                  \
        .add = NAME##_add,                                                                         \
        .resize_bilinear = NAME##_resize,                                                          \
    }

#endif
