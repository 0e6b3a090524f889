/* drivers.h -- the portable drivers: each op of kernels/dispatch.h's
 * ifk_ops run on an instruction set's ifk_isa (kernels/ukernel.h), one op
 * a file (internal to kernels/):
 *
 *   linear, 1x1 conv    kernels/gemm.c             (ifk__gemm, gemm.h)
 *   conv2d's choice,    kernels/conv_gemm.c        pointwise GEMM, Winograd,
 *   conv_transpose2d                               depthwise, implicit GEMM
 *   3x3 convolutions    kernels/winograd.c         F(4x4, 3x3)
 *   attention,          kernels/fused_attention.c  packed, never N x N
 *   vit_attention
 *   expand-dw-project   kernels/inverted_bottleneck.c
 *   adaptive max pool   kernels/pool.c
 *   layer_norm          kernels/layernorm.c
 *   group_norm          kernels/groupnorm.c
 *
 * (activation, add and resize_bilinear are an ISA's vector loops as they
 * are.) Every driver works in the caller's scratch only (sizes: the
 * *_scratch functions), allocates nothing and is re-entrant. */
#ifndef IF_KERNELS_DRIVERS_H
#define IF_KERNELS_DRIVERS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/ukernel.h"

/* -------------------------------------------------- kernels/conv_gemm.c */

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

/* -------------------------------------- kernels/inverted_bottleneck.c */

/* ifk_inv_bottleneck on weights prepared once (inv_bottleneck_prep: the
 * GEMMs' B packed, depthwise weights tap-major), equal bit for bit to the
 * three convolutions and the add run one by one on this ISA. */
size_t ifk__inv_bottleneck_prep_bytes(const ifk_isa *isa, const ifk_ib_params *p);
void ifk__inv_bottleneck_prep(const ifk_isa *isa, const ifk_ib_params *p, const float *we,
                              const float *be, const float *wd, const float *bd, const float *wp,
                              const float *bp, void *prep);
void ifk__inv_bottleneck(const ifk_isa *isa, const float *x, const ifk_ib_params *p,
                         const void *prep, const float *res, float *y, void *scratch);
size_t ifk__inv_bottleneck_scratch(const ifk_isa *isa, const ifk_ib_params *p);

/* ---------------------------------------------- kernels/conv_parts.c */

/* A convolution over concatenated parts (kernels.h's ifk_parts). With
 * full-size parts only: through Winograd's input transform, part by part,
 * where ifk__winograd_ok; else on bands of rows whose concatenation is made
 * in scratch, each run by conv (this ISA's conv2d, or the reference's):
 * equal bit for bit to the convolution of the concatenated input on the
 * same kernels. Low-resolution parts (stride 1, one group, an ISA): their
 * taps' GEMMs at the low resolution, then resized and added (the file's
 * comment), within float rounding of the resized maps' convolution; else
 * bands into which they are resized (bit for bit). prep: what
 * ifk__conv2d_parts_prep made of wt for these parts (channels and which are
 * low; any sizes no larger). */
typedef void (*ifk_conv_fn)(const ifk_isa *isa, const float *x, const ifk_conv_params *p,
                            const float *wt, const void *prep, const float *bias, float *y,
                            void *scratch);
void ifk__conv2d_parts(const ifk_isa *isa, ifk_conv_fn conv, const ifk_parts *in,
                       const ifk_conv_params *p, const float *wt, const void *prep,
                       const float *bias, float *y, void *scratch);
/* Scratch of ifk__conv2d_parts: the band and conv's own scratch for it
 * (conv_scratch: that of conv for a band's parameters), or the fast way's. */
size_t ifk__conv2d_parts_scratch(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p,
                                 size_t (*conv_scratch)(const ifk_isa *isa,
                                                        const ifk_conv_params *q));
/* Weights prepared for ifk__conv2d_parts: conv2d's for p, or with
 * low-resolution parts the full-size parts' slice and its prep, and each
 * low part's taps packed as GEMM operands. */
size_t ifk__conv2d_parts_prep_bytes(const ifk_isa *isa, const ifk_parts *in,
                                    const ifk_conv_params *p);
void ifk__conv2d_parts_prep(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p,
                            const float *wt, void *prep);

/* ----------------------------------------------------- kernels/pool.c */

/* ifk_adaptive_max_pool on the ISA's max_pixels: the same bits. */
void ifk__adaptive_max_pool(const ifk_isa *isa, const float *x, int h, int w, int c, float *y,
                            int oh, int ow, int oy0, int oy1);

/* ------------------------------------------------ kernels/winograd.c */

/* 3x3 stride-1 dense convolutions by Winograd F(4x4, 3x3); ifk__conv2d
 * takes this path where ifk__winograd_ok. */
int ifk__winograd_ok(const ifk_conv_params *p);
void ifk__conv3x3_winograd(const ifk_isa *isa, const float *x, const ifk_conv_params *p,
                           const float *wt, const void *prep, const float *bias, float *y,
                           void *scratch);
void ifk__conv3x3_winograd_parts(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p,
                                 const float *wt, const void *prep, const float *bias, float *y,
                                 void *scratch);
size_t ifk__winograd_scratch(const ifk_isa *isa, const ifk_conv_params *p);
/* The transformed weights (U, packed), conv3x3_winograd's prep. */
size_t ifk__winograd_weights_bytes(const ifk_isa *isa, const ifk_conv_params *p);
void ifk__winograd_weights(const ifk_isa *isa, const ifk_conv_params *p, const float *wt,
                           void *prep);

/* ----------------------------------------- kernels/fused_attention.c */

void ifk__attention(const ifk_isa *isa, const float *q, int64_t nq, const float *kv, int64_t m,
                    int c, int heads, float scale, float *y, void *scratch);
size_t ifk__attention_scratch(const ifk_isa *isa, int64_t m, int c, int heads);

void ifk__vit_attention(const ifk_isa *isa, const float *qkv, int h, int w, int c, int heads,
                        float scale, const float *table, int gh, int gw, int q0, int q1, float *y,
                        void *scratch);
size_t ifk__vit_attention_scratch(const ifk_isa *isa, int h, int w, int c, int heads, int gh,
                                  int gw);

/* ------------------------------ kernels/layernorm.c, kernels/groupnorm.c */

void ifk__layer_norm(const ifk_isa *isa, const float *x, int64_t rows, int64_t c,
                     const float *gamma, const float *beta, float eps, float *y);

/* GroupNorm whole, and the two pieces of kernels.h's ifk_group_norm_sums /
 * _apply. */
void ifk__group_norm(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                     const float *gamma, const float *beta, float eps, int act, float *y);
void ifk__group_norm_sums(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                          const double *mean, double *sums);
void ifk__group_norm_apply(const ifk_isa *isa, const float *x, int64_t hw, int64_t c, int groups,
                           const float *mhi, const float *mlo, const float *rstd,
                           const float *gamma, const float *beta, int act, float *y);

#endif
