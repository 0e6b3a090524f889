/* dispatch.h -- run-time choice of kernel implementations (internal).
 *
 * Usage:
 *   char why[128];
 *   const ifk_ops *ops = ifk_select(NULL, why, sizeof why);  // best, or $IF_ISA
 *   if (!ops) fail(why);
 *   ops->linear(x, m, k, w, b, n, act, y, scratch);
 *
 * An ifk_ops is a static, read-only table: one per instruction set, never
 * freed, shareable between threads. Every function in it has the semantics
 * of the reference kernel of the same name in kernels.h (kernels/scalar/ is
 * the numerical truth; the variants agree within float rounding) and:
 *   - is re-entrant: any number of calls may run at once on disjoint outputs;
 *   - allocates nothing: it works in the caller's `scratch` (see the
 *     *_scratch_bytes functions below; 64-byte alignment is best, 4 bytes is
 *     enough) and on the stack (< 64 KiB);
 *   - works on a sub-range when given one, so that a caller can split one op
 *     over threads: linear and attention on a slice of rows/queries (offset
 *     x/q and y, pass the slice's row count), conv2d on output rows
 *     [p->oy0, p->oy1), vit_attention on query tokens [q0, q1),
 *     conv_transpose2d on input rows (offset x by Y0*w*cin and y by
 *     Y0*kh*(w*kw)*cout, pass the slice's h).
 *
 * Instruction sets, best first: "avx512" (x86-64 with AVX-512F and AVX2+FMA,
 * OS-enabled ZMM state), "avx2" (AVX2+FMA, OS-enabled YMM state), "scalar"
 * (the portable reference kernels; every build). "neon" is AArch64's
 * (kernels/arm/; selecting it elsewhere fails with a reason). "generic"
 * runs the same packed drivers as the SIMD variants on a portable C
 * micro-kernel: it is the template of a new port and is tested on every
 * build, but never chosen by default.
 *
 * ------------------------------------------------------------------ ports
 * Layers (docs/kernels.md has the whole map and checklists):
 *   kernels/scalar/       the reference kernels (ifk_*, kernels.h): the truth;
 *   kernels/ (top)        portable drivers over an ifk_isa (kernels/drivers.h:
 *                         gemm.c, conv_gemm.c, winograd.c, fused_attention.c,
 *                         layernorm.c, groupnorm.c);
 *   kernels/generic/, x86/, arm/
 *                         per-ISA micro-kernels and vector loops, by name
 *                         (kernels/isa.h: ifk_f32_<op>[_<tile>]__<isa>);
 *   kernels/isa_tables.c  every ifk_isa in one place: which kernels each runs;
 *   kernels/dispatch.c    an ifk_ops per table, and ifk_select.
 * Adding an ISA (e.g. kernels/arm/f32_gemm_8x12_neon.c) means writing the
 * kernels an ifk_isa names (kernels/ukernel.h) -- no packing, blocking or
 * loop nest code:
 *   - one micro-kernel ifk_ukr_fn with its MR x NR (register block) and the
 *     cache blocks KC, MC, NC; its contract is in kernels/ukernel.h;
 *   - a few vector loops: softmax row, bias gather, the norms' loops,
 *     activation, add, depthwise convolution, bilinear resize, the Winograd
 *     transforms (any of them may be the portable C one of
 *     kernels/generic/vec_c.c);
 * then their names in kernels/isa.h, its table in kernels/isa_tables.c, an
 * IFK_DEFINE_OPS line and a branch of ifk_select in kernels/dispatch.c.
 * tests/test_kernels_simd.c then checks the new variant against the
 * reference on every op. */
#ifndef IF_KERNELS_DISPATCH_H
#define IF_KERNELS_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

typedef struct ifk_ops {
    const char *name; /* "scalar", "generic", "avx2", "avx512" */

    /* y = act(x w^T + bias): ifk_linear. scratch: ifk_linear_scratch_bytes. */
    void (*linear)(const float *x, int64_t m, int64_t k, const float *w, const float *bias,
                   int64_t n, int act, float *y, void *scratch);
    /* linear on IEEE half weights w (n x k): the results of linear on the
     * weights widened to float (ifk_f16_to_f32, exact), bit for bit, with
     * no float copy of w beyond a GEMM's packed block (the packed variants
     * widen while packing B). scratch: ifk_linear_scratch_bytes. */
    void (*linear_f16)(const float *x, int64_t m, int64_t k, const uint16_t *w, const float *bias,
                       int64_t n, int act, float *y, void *scratch);
    /* ifk_conv2d on output rows [p->oy0, p->oy1) (all when oy1 == 0); y is
     * the whole output map. scratch: ifk_conv2d_scratch_bytes. prep: NULL,
     * or what conv2d_prep made of wt for these parameters (then read-only,
     * shared by any number of calls and threads). */
    void (*conv2d)(const float *x, const ifk_conv_params *p, const float *wt, const void *prep,
                   const float *bias, float *y, void *scratch);
    /* Weights prepared once for conv2d (e.g. Winograd-transformed and packed,
     * so that no call and no thread redoes it): the bytes for parameters p
     * (0: this convolution has nothing to prepare), and the preparation
     * into prep (64-byte aligned, that many bytes). The h and w of p only
     * decide whether it is worth it; a prepared convolution accepts any
     * h, w, oy0, oy1 later. */
    size_t (*conv2d_prep_bytes)(const ifk_conv_params *p);
    void (*conv2d_prep)(const ifk_conv_params *p, const float *wt, void *prep);
    /* ifk_conv_transpose2d. scratch: ifk_conv_transpose2d_scratch_bytes. */
    void (*conv_transpose2d)(const float *x, int h, int w, int cin, const float *wt,
                             const float *bias, int cout, int kh, int kw, float *y, void *scratch);
    /* ifk_attention. scratch: ifk_attention_scratch_bytes. */
    void (*attention)(const float *q, int64_t nq, const float *kv, int64_t m, int c, int heads,
                      float scale, float *y, void *scratch);
    /* ifk_vit_attention for query tokens [q0, q1) (token 0 is the class
     * token); qkv and y are the whole (1+h*w)-token tensors.
     * scratch: ifk_vit_attention_scratch_bytes. */
    void (*vit_attention)(const float *qkv, int h, int w, int c, int heads, float scale,
                          const float *table, int gh, int gw, int q0, int q1, float *y,
                          void *scratch);
    void (*layer_norm)(const float *x, int64_t rows, int64_t c, const float *gamma,
                       const float *beta, float eps, float *y);
    void (*group_norm)(const float *x, int64_t hw, int64_t c, int groups, const float *gamma,
                       const float *beta, float eps, int act, float *y);
    /* ifk_group_norm_sums and ifk_group_norm_apply: the pieces, for one map
     * split across threads (with ifk_group_norm_moments in between). */
    void (*group_norm_sums)(const float *x, int64_t hw, int64_t c, int groups, const double *mean,
                            double *sums);
    void (*group_norm_apply)(const float *x, int64_t hw, int64_t c, int groups, const float *mhi,
                             const float *mlo, const float *rstd, const float *gamma,
                             const float *beta, int act, float *y);
    void (*activation)(const float *x, int64_t n, int act, float *y);
    void (*add)(const float *a, const float *b, int64_t n, float *y);
    void (*resize_bilinear)(const float *x, int h, int w, int c, float *y, int oh, int ow, int oy0,
                            int oy1);
    /* ifk_adaptive_max_pool, bit for bit (max is exact). */
    void (*adaptive_max_pool)(const float *x, int h, int w, int c, float *y, int oh, int ow,
                              int oy0, int oy1);
    /* ifk_inv_bottleneck on output rows [p->oy0, p->oy1) (all when oy1 ==
     * 0), y and res (NULL: none) the whole maps, on weights prepared once:
     * inv_bottleneck_prep_bytes for p (any h, oy0, oy1 and a w no larger
     * may run on them later) and inv_bottleneck_prep of w = {we, be, wd,
     * bd, wp, bp} (biases may be NULL) into prep (64-byte aligned; the
     * reference keeps pointers to w, which must outlive it).
     * scratch: ifk_inv_bottleneck_scratch_bytes. Equal bit for bit to the
     * three conv2d calls and the add on the same ops. */
    /* conv2d of the concatenation of the parts of in (kernels.h's
     * ifk_parts), never made whole, low-resolution parts never resized
     * whole; prep: conv2d_parts_prep's for these parts (64-byte aligned;
     * in's pointers and sizes are not read there, only channels and which
     * parts are low). scratch: ifk_conv2d_parts_scratch_bytes. With
     * full-size parts only, equal bit for bit to conv2d of the concatenated
     * input on the same ops; with low ones, within float rounding of conv2d
     * of the resized and concatenated input (kernels/conv_parts.c). Pads
     * smaller than the kernel. */
    void (*conv2d_parts)(const ifk_parts *in, const ifk_conv_params *p, const float *wt,
                         const void *prep, const float *bias, float *y, void *scratch);
    size_t (*conv2d_parts_prep_bytes)(const ifk_parts *in, const ifk_conv_params *p);
    void (*conv2d_parts_prep)(const ifk_parts *in, const ifk_conv_params *p, const float *wt,
                              void *prep);
    size_t (*inv_bottleneck_prep_bytes)(const ifk_ib_params *p);
    void (*inv_bottleneck_prep)(const ifk_ib_params *p, const float *const w[6], void *prep);
    void (*inv_bottleneck)(const float *x, const ifk_ib_params *p, const void *prep,
                           const float *res, float *y, void *scratch);
} ifk_ops;

/* The table for instruction set `isa` ("scalar", "generic", "avx2",
 * "avx512", "neon"), or when isa is NULL or "": $IF_ISA if set and
 * non-empty, else the best this CPU runs. NULL when the set is unknown, not
 * compiled into this build or not supported by this CPU/OS; then why (may be
 * NULL) holds the reason. Also fills why with a one-line description of the
 * choice on success. Allocates nothing; thread-safe. */
const ifk_ops *ifk_select(const char *isa, char *why, size_t cap);

/* Per-call scratch bytes of each op, valid for every variant of this build
 * (the maximum over them), so a plan does not depend on the ISA chosen
 * later. For a call on a sub-range, the size for the whole op is enough. */
size_t ifk_linear_scratch_bytes(int64_t m, int64_t k, int64_t n);
size_t ifk_conv2d_scratch_bytes(const ifk_conv_params *p);
size_t ifk_conv_transpose2d_scratch_bytes(int h, int w, int cin, int cout, int kh, int kw);
size_t ifk_attention_scratch_bytes(int64_t nq, int64_t m, int c, int heads);
size_t ifk_vit_attention_scratch_bytes(int h, int w, int c, int heads, int gh, int gw);
size_t ifk_inv_bottleneck_scratch_bytes(const ifk_ib_params *p);
size_t ifk_conv2d_parts_scratch_bytes(const ifk_parts *in, const ifk_conv_params *p);

#endif
