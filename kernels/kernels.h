/* kernels.h -- compute kernels of InterFormer-C (internal).
 *
 * Kernels know nothing of graphs, files or the arena: they take plain
 * pointers and sizes. Every activation is f32 and channels-last: a map is
 * h*w*c floats with element (y, x, ch) at (y*w + x)*c + ch; a token sequence
 * is n*c floats. Weight layouts are those of format/FORMAT.md. Outputs never
 * alias inputs unless a function says so. Sizes are validated by the caller
 * (the planner); kernels trust them.
 *
 * The ifk_* functions below are the portable reference implementations
 * (kernels/scalar/). Faster variants must produce the same results within
 * float rounding and are tested against these; kernels/dispatch.h chooses
 * among them at run time.
 *
 * Floating point: products and sums are rounded where the code writes
 * them, in every kernel file (reference and SIMD alike): the Makefile
 * compiles everything with -ffp-contract=off (CRULES), so no compiler fuses
 * a * b + c into an FMA behind the code's back -- clang would by default,
 * and the kernels' results are compared exactly across instruction sets
 * (tests/test_kernels_simd.c). An FMA is written as one (an intrinsic, or
 * fmaf) where it is meant. A build outside the Makefile must pass the same
 * flag. */
#ifndef IF_KERNELS_H
#define IF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/compat.h" /* IF_RESTRICT, IF_STATIC_ASSERT */

enum { IFK_ACT_NONE = 0, IFK_ACT_RELU = 1, IFK_ACT_GELU = 2, IFK_ACT_HARDSWISH = 3 };

/* y[i] = act(x[i]) for n elements; y may equal x. */
void ifk_activation(const float *x, int64_t n, int act, float *y);

/* y = a + b elementwise; y may equal a or b. */
void ifk_add(const float *a, const float *b, int64_t n, float *y);

/* y[m][n] = act(bias[n] + sum_k x[m][k] * w[n][k]); x is m*k, w is n*k
 * (PyTorch nn.Linear layout), bias may be NULL. */
void ifk_linear(const float *x, int64_t m, int64_t k, const float *w, const float *bias, int64_t n,
                int act, float *y);

typedef struct {
    int h, w, cin;      /* input map */
    int cout, kh, kw;   /* weight is cout x kh x kw x (cin/groups), OHWI */
    int sh, sw;         /* stride */
    int pt, pl, pb, pr; /* zero padding top, left, bottom, right */
    int groups;
    int act;
    int oy0, oy1; /* output rows [oy0, oy1) to compute; oy1 == 0: all
                             * (lets a caller split one convolution over threads) */
} ifk_conv_params;

/* An inverted bottleneck (MobileNetV2's block; InterFormer's decoder MLP):
 * a 1x1 convolution cin -> cmid with act_expand, a 3x3 depthwise one
 * (stride 1, padding 1) with act_dw, a 1x1 convolution cmid -> cout with
 * act_project, plus an optional residual: the three convolutions and the
 * add of CONV2D nodes, fused so that the cmid-channel maps never exist
 * whole. Input and output are h x w maps (channels last). */
typedef struct {
    int h, w;
    int cin, cmid, cout;
    int act_expand, act_dw, act_project;
    int oy0, oy1; /* output rows [oy0, oy1) to compute; oy1 == 0: all */
} ifk_ib_params;

/* The reference: y = act_p(project(act_d(dw(act_e(expand(x)))))) (+ res when
 * res) on output rows [oy0, oy1). Weights as CONV2D's (OHWI): we
 * cmid x cin, wd cmid x 3 x 3 x 1, wp cout x cmid; any bias may be NULL.
 * scratch: ifk_inv_bottleneck_ref_floats floats. */
void ifk_inv_bottleneck(const float *x, const ifk_ib_params *p, const float *we, const float *be,
                        const float *wd, const float *bd, const float *wp, const float *bp,
                        const float *res, float *y, float *scratch);
size_t ifk_inv_bottleneck_ref_floats(const ifk_ib_params *p);

/* The input of a convolution as the channel concatenation of maps
 * (CONCAT_CHANNELS feeding a CONV2D, fused: the concatenation is never
 * made): part k has c[k] channels at x[k]; the c[k] add up to cin. A part
 * with h[k] == 0 is a map of the convolution's input size; one with
 * h[k] > 0 is an h[k] x w[k] map that stands for its bilinear resize to
 * that size (RESIZE_BILINEAR's rule, kernels/scalar/scalar.h's
 * ifk__lin_index): UPerNet's upsampled levels, never made whole either. */
enum { IFK_MAX_PARTS = 8 };
typedef struct {
    int n;
    const float *x[IFK_MAX_PARTS];
    int c[IFK_MAX_PARTS];
    int h[IFK_MAX_PARTS], w[IFK_MAX_PARTS];
} ifk_parts;

/* Output size of a convolution: ho = (h+pt+pb-kh)/sh + 1, likewise wo. */
void ifk_conv2d_out_size(const ifk_conv_params *p, int *ho, int *wo);

/* Cross-correlation as nn.Conv2d, then + bias (may be NULL), then act.
 * y is ho x wo x cout; only output rows [p->oy0, p->oy1) are written. */
void ifk_conv2d(const float *x, const ifk_conv_params *p, const float *wt, const float *bias,
                float *y);

/* Transposed convolution with kernel == stride (kh, kw), weight kh x kw x cout x cin:
 * y[Y*kh+dy][X*kw+dx][o] = bias[o] + sum_i wt[dy][dx][o][i] * x[Y][X][i].
 * y is (h*kh) x (w*kw) x cout. */
void ifk_conv_transpose2d(const float *x, int h, int w, int cin, const float *wt, const float *bias,
                          int cout, int kh, int kw, float *y);

/* LayerNorm over the last dimension (c) of rows x c, biased variance. */
void ifk_layer_norm(const float *x, int64_t rows, int64_t c, const float *gamma, const float *beta,
                    float eps, float *y);

/* GroupNorm of an hw x c map: group g holds channels [g*c/groups, (g+1)*c/groups);
 * statistics over all hw positions of the group; affine per channel; then act.
 * y may equal x. */
void ifk_group_norm(const float *x, int64_t hw, int64_t c, int groups, const float *gamma,
                    const float *beta, float eps, int act, float *y);

/* GroupNorm in pieces, so that threads can share one map. sums: adds to
 * sums[g] (double) the sum over the hw pixels of x of group g's channels
 * of x, or of (x - mean[g])^2 when mean is not NULL. moments: from the
 * n groups' means (sums / count) and sums of squares, the normalisation
 * terms: mean split into float hi + lo, and 1 / sqrt(variance + eps).
 * apply: y = act(((x - mhi[g]) - mlo[g]) * (rstd[g] * gamma) + beta) over
 * hw pixels. ifk_group_norm is sums, moments, sums, moments, apply. */
void ifk_group_norm_sums(const float *x, int64_t hw, int64_t c, int groups, const double *mean,
                         double *sums);
void ifk_group_norm_moments(int64_t n, double count, float eps, const double *mean,
                            const double *sq, float *mhi, float *mlo, float *rstd);
void ifk_group_norm_apply(const float *x, int64_t hw, int64_t c, int groups, const float *mhi,
                          const float *mlo, const float *rstd, const float *gamma,
                          const float *beta, int act, float *y);

/* Bilinear resize, align_corners = False, PyTorch's index rule
 * (FORMAT.md, RESIZE_BILINEAR). x is h x w x c, y is oh x ow x c; only
 * output rows [oy0, oy1) are written (0, oh: all), so that threads can
 * share one resize. */
void ifk_resize_bilinear(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                         int oy1);

/* Adaptive pooling with PyTorch's bins [floor(i*in/out), ceil((i+1)*in/out)).
 * Output rows [oy0, oy1) only (0, oh: all), as resize. */
void ifk_adaptive_avg_pool(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                           int oy1);
void ifk_adaptive_max_pool(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                           int oy1);

/* nn.Unfold in channels-last form: y is ho x wo x (c*kh*kw), channel
 * ci*kh*kw + ky*kw + kx = x[Y*sh-pt+ky][X*sw-pl+kx][ci] or 0 outside.
 * Output rows Y in [oy0, oy1) only (0, ho: all). */
void ifk_im2col(const float *x, int h, int w, int c, int kh, int kw, int sh, int sw, int pt, int pl,
                int pb, int pr, float *y, int oy0, int oy1);

/* Multi-head attention: q is nq x c, kv is m x 2c (keys in columns [0,c),
 * values in [c,2c)); y (nq x c) = softmax(scale * q_h k_h^T) v_h per head.
 * scratch must hold m floats. */
void ifk_attention(const float *q, int64_t nq, const float *kv, int64_t m, int c, int heads,
                   float scale, float *y, float *scratch);

/* The native ViT cell a runtime cell index i (of n) stands for, per axis of
 * native size g, by PyTorch's nearest rule (FORMAT.md). */
int ifk_nearest_index(int i, int n, int g);

/* Fills map_h[0..h) and map_w[0..w) with native cells for a runtime grid
 * h x w over a native grid gh x gw, as VIT_ATTENTION / TOKENS_FROM_GRID
 * define it. When h*w == gh*gw the mapping is by flat index: then cell
 * (i, j) stands for native (f / gw, f % gw), f = i*w + j, and native[f]
 * (f in [0, h*w)) is filled instead, with the native flat index
 * (f / gw) * gw + f % gw (which is f); map_h/map_w are untouched.
 * Any of the three pointers may be NULL when not wanted.
 * Returns 1 when the flat form was used. */
int ifk_native_cells(int h, int w, int gh, int gw, int *map_h, int *map_w, int *native);

/* ViT self-attention with the relative position bias (FORMAT.md,
 * VIT_ATTENTION). qkv is (1+h*w) x 3c, table is R x heads with
 * R = (2gh-1)(2gw-1)+3, y is (1+h*w) x c. scratch must hold
 * ifk_vit_attention_scratch(h, w) floats, per concurrent call. */
size_t ifk_vit_attention_scratch(int h, int w);
void ifk_vit_attention(const float *qkv, int h, int w, int c, int heads, float scale,
                       const float *table, int gh, int gw, float *y, float *scratch);
/* The same for query tokens [q0, q1) only (token 0 is the class token): rows
 * q0..q1-1 of y are written; qkv is the whole tensor. Same scratch. */
void ifk_vit_attention_range(const float *qkv, int h, int w, int c, int heads, float scale,
                             const float *table, int gh, int gw, int q0, int q1, float *y,
                             float *scratch);

/* y (1+h*w) x c: y[0] = cls + pos[0]; y[1+i*w+j] = x[i][j] + pos[1 + native cell]. */
void ifk_tokens_from_grid(const float *x, int h, int w, int c, const float *cls, const float *pos,
                          int gh, int gw, float *y);

/* Reference-label embedding: table[labels] at H x W, bilinearly resized to
 * h x w (align_corners False) without materialising the full-size map.
 * Labels must be < k (checked by the caller). y is h x w x c; rows
 * [oy0, oy1) only (0, h: all). */
void ifk_ref_embed(const uint8_t *labels, int H, int W, const float *table, int k, int c, float *y,
                   int h, int w, int oy0, int oy1);

/* Copy a window: rows [y0, y0+wh), cols [x0, x0+ww) of an h x w x c map
 * into y (wh x ww x c); and the reverse (paste into dst, which is h x w x c). */
void ifk_crop(const float *x, int h, int w, int c, int y0, int x0, int wh, int ww, float *y);
void ifk_paste(float *dst, int h, int w, int c, int y0, int x0, int wh, int ww, const float *patch);

/* IEEE half -> float conversion of n values (round trip exact for f16 values). */
void ifk_f16_to_f32(const uint16_t *src, int64_t n, float *dst);

/* float -> IEEE half of n values, round to nearest even (numpy's astype). */
void ifk_f32_to_f16(const float *src, int64_t n, uint16_t *dst);

#endif
