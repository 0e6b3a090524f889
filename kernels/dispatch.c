/* dispatch.c -- the ifk_ops tables and their run-time choice (dispatch.h).
 *
 * CPU features come from cpuid and xgetbv, read on every ifk_select call
 * (a few hundred cycles, once per executor): no cached state, so no data
 * race. AVX2 needs AVX2 + FMA + F16C + OSXSAVE with XCR0 enabling SSE and
 * YMM state (F16C: the f16 weights' widening; every AVX2 CPU has it); AVX-512 needs AVX-512F on top of that with XCR0 enabling the
 * opmask and ZMM state.
 *
 * On AArch64, NEON (Advanced SIMD) is mandatory: a build with __ARM_NEON
 * has the "neon" table (kernels/isa_tables.c) and it is the default; on Linux
 * the kernel's HWCAP_ASIMD bit (getauxval) is checked all the same.
 *
 * WebAssembly: a module built with SIMD128 (-msimd128) only loads in an
 * engine that has it, so such a build has the "wasm" table and it is the
 * default; a build without it runs "scalar" (`make wasm` makes both). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/drivers.h"
#include "kernels/isa.h"

#if defined(IFK_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if defined(IFK_HAVE_NEON) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#endif

/* ------------------------------------------------------ the reference */

static void scalar_linear(const float *x, int64_t m, int64_t k, const float *w, const float *bias,
                          int64_t n, int act, float *y, void *scratch) {
    (void)scratch;
    ifk_linear(x, m, k, w, bias, n, act, y);
}

/* The reference on f16 weights: SCALAR_F16_COLS output columns at a time,
 * their weights widened into the scratch, ifk_linear on SCALAR_F16_ROWS
 * rows into the scratch, copied out. Each output of ifk_linear is one sum
 * over k in increasing order wherever it falls in the blocking
 * (kernels/scalar/linear.c), so this equals ifk_linear on the widened
 * weights, bit for bit. */
enum { SCALAR_F16_COLS = 16, SCALAR_F16_ROWS = 32 };

static size_t scalar_linear_f16_scratch(int64_t k) {
    return ((size_t)SCALAR_F16_COLS * (size_t)(k > 0 ? k : 0) +
            (size_t)SCALAR_F16_ROWS * SCALAR_F16_COLS) *
           sizeof(float);
}

static void scalar_linear_f16(const float *x, int64_t m, int64_t k, const uint16_t *w,
                              const float *bias, int64_t n, int act, float *y, void *scratch) {
    float *wf = (float *)scratch, *yb = wf + (size_t)SCALAR_F16_COLS * (size_t)k;
    for (int64_t j0 = 0; j0 < n; j0 += SCALAR_F16_COLS) {
        const int64_t nb = n - j0 < SCALAR_F16_COLS ? n - j0 : (int64_t)SCALAR_F16_COLS;
        ifk_f16_to_f32(w + (size_t)j0 * (size_t)k, nb * k, wf);
        for (int64_t i0 = 0; i0 < m; i0 += SCALAR_F16_ROWS) {
            const int64_t mb = m - i0 < SCALAR_F16_ROWS ? m - i0 : (int64_t)SCALAR_F16_ROWS;
            ifk_linear(x + (size_t)i0 * (size_t)k, mb, k, wf, bias ? bias + j0 : NULL, nb, act, yb);
            for (int64_t i = 0; i < mb; i++)
                memcpy(y + (size_t)(i0 + i) * (size_t)n + j0, yb + (size_t)i * (size_t)nb,
                       (size_t)nb * sizeof(float));
        }
    }
}

static void scalar_conv2d(const float *x, const ifk_conv_params *p, const float *wt,
                          const void *prep, const float *bias, float *y, void *scratch) {
    (void)prep;
    (void)scratch;
    ifk_conv2d(x, p, wt, bias, y);
}

static size_t scalar_conv2d_prep_bytes(const ifk_conv_params *p) {
    (void)p;
    return 0; /* the reference uses the weights as they are */
}

static void scalar_conv2d_prep(const ifk_conv_params *p, const float *wt, void *prep) {
    (void)p;
    (void)wt;
    (void)prep;
}

static void scalar_convt(const float *x, int h, int w, int cin, const float *wt, const float *bias,
                         int cout, int kh, int kw, float *y, void *scratch) {
    (void)scratch;
    ifk_conv_transpose2d(x, h, w, cin, wt, bias, cout, kh, kw, y);
}

static void scalar_attention(const float *q, int64_t nq, const float *kv, int64_t m, int c,
                             int heads, float scale, float *y, void *scratch) {
    ifk_attention(q, nq, kv, m, c, heads, scale, y, (float *)scratch);
}

static void scalar_vit(const float *qkv, int h, int w, int c, int heads, float scale,
                       const float *table, int gh, int gw, int q0, int q1, float *y,
                       void *scratch) {
    ifk_vit_attention_range(qkv, h, w, c, heads, scale, table, gh, gw, q0, q1, y, (float *)scratch);
}

static void scalar_conv_band(const ifk_isa *isa, const float *x, const ifk_conv_params *p,
                             const float *wt, const void *prep, const float *bias, float *y,
                             void *scratch) {
    (void)isa;
    (void)prep;
    (void)scratch;
    ifk_conv2d(x, p, wt, bias, y);
}

static void scalar_conv2d_parts(const ifk_parts *in, const ifk_conv_params *p, const float *wt,
                                const void *prep, const float *bias, float *y, void *scratch) {
    ifk__conv2d_parts(NULL, scalar_conv_band, in, p, wt, prep, bias, y, scratch);
}

/* The reference reads the weights as they are. */
static size_t scalar_parts_prep_bytes(const ifk_parts *in, const ifk_conv_params *p) {
    return ifk__conv2d_parts_prep_bytes(NULL, in, p);
}

static void scalar_parts_prep(const ifk_parts *in, const ifk_conv_params *p, const float *wt,
                              void *prep) {
    ifk__conv2d_parts_prep(NULL, in, p, wt, prep);
}

/* The reference keeps the weights as they are: the prep is six pointers. */
static size_t scalar_ib_prep_bytes(const ifk_ib_params *p) {
    (void)p;
    return 6 * sizeof(const float *);
}

static void scalar_ib_prep(const ifk_ib_params *p, const float *const wts[6], void *prep) {
    (void)p;
    memcpy(prep, wts, 6 * sizeof(const float *));
}

static void scalar_ib(const float *x, const ifk_ib_params *p, const void *prep, const float *res,
                      float *y, void *scratch) {
    const float *w[6];
    memcpy(w, prep, sizeof w);
    ifk_inv_bottleneck(x, p, w[0], w[1], w[2], w[3], w[4], w[5], res, y, (float *)scratch);
}

static const ifk_ops scalar_ops = {
    .name = "scalar",
    .linear = scalar_linear,
    .linear_f16 = scalar_linear_f16,
    .conv2d = scalar_conv2d,
    .conv2d_prep_bytes = scalar_conv2d_prep_bytes,
    .conv2d_prep = scalar_conv2d_prep,
    .conv_transpose2d = scalar_convt,
    .attention = scalar_attention,
    .vit_attention = scalar_vit,
    .layer_norm = ifk_layer_norm,
    .group_norm = ifk_group_norm,
    .group_norm_sums = ifk_group_norm_sums,
    .group_norm_apply = ifk_group_norm_apply,
    .activation = ifk_activation,
    .add = ifk_add,
    .resize_bilinear = ifk_resize_bilinear,
    .adaptive_max_pool = ifk_adaptive_max_pool,
    .conv2d_parts = scalar_conv2d_parts,
    .conv2d_parts_prep_bytes = scalar_parts_prep_bytes,
    .conv2d_parts_prep = scalar_parts_prep,
    .inv_bottleneck_prep_bytes = scalar_ib_prep_bytes,
    .inv_bottleneck_prep = scalar_ib_prep,
    .inv_bottleneck = scalar_ib,
};

/* ------------------------------------------------- the packed variants */

/* Defines `static const ifk_ops NAME##_ops`, named "NAME", running the
 * drivers of kernels/drivers.h on ISA (an ifk_isa of kernels/isa_tables.c). */
#define IFK_DEFINE_OPS(NAME, ISA)                                                                  \
    static void NAME##_linear(const float *x, int64_t m, int64_t k, const float *w,                \
                              const float *bias, int64_t n, int act, float *y, void *s) {          \
        ifk__gemm(&(ISA), x, (size_t)k, m, k, w, (size_t)k, bias, n, act, NULL, 0, y, (size_t)n,   \
                  s);                                                                              \
    }                                                                                              \
    static void NAME##_linear_f16(const float *x, int64_t m, int64_t k, const uint16_t *w,         \
                                  const float *bias, int64_t n, int act, float *y, void *s) {      \
        ifk__gemm_f16(&(ISA), x, (size_t)k, m, k, w, (size_t)k, bias, n, act, y, (size_t)n, s);    \
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
        ifk__layer_norm(&(ISA), x, rows, c, g, b, eps, y);                                         \
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
    static void NAME##_max_pool(const float *x, int h, int w, int c, float *y, int oh, int ow,     \
                                int oy0, int oy1) {                                                \
        ifk__adaptive_max_pool(&(ISA), x, h, w, c, y, oh, ow, oy0, oy1);                           \
    }                                                                                              \
    static void NAME##_conv2d_parts(const ifk_parts *in, const ifk_conv_params *p,                 \
                                    const float *wt, const void *prep, const float *bias,          \
                                    float *y, void *s) {                                           \
        ifk__conv2d_parts(&(ISA), ifk__conv2d, in, p, wt, prep, bias, y, s);                       \
    }                                                                                              \
    static size_t NAME##_parts_prep_bytes(const ifk_parts *in, const ifk_conv_params *p) {         \
        return ifk__conv2d_parts_prep_bytes(&(ISA), in, p);                                        \
    }                                                                                              \
    static void NAME##_parts_prep(const ifk_parts *in, const ifk_conv_params *p, const float *wt,  \
                                  void *prep) {                                                    \
        ifk__conv2d_parts_prep(&(ISA), in, p, wt, prep);                                           \
    }                                                                                              \
    static size_t NAME##_ib_prep_bytes(const ifk_ib_params *p) {                                   \
        return ifk__inv_bottleneck_prep_bytes(&(ISA), p);                                          \
    }                                                                                              \
    static void NAME##_ib_prep(const ifk_ib_params *p, const float *const w[6], void *prep) {      \
        ifk__inv_bottleneck_prep(&(ISA), p, w[0], w[1], w[2], w[3], w[4], w[5], prep);             \
    }                                                                                              \
    static void NAME##_ib(const float *x, const ifk_ib_params *p, const void *prep,                \
                          const float *res, float *y, void *s) {                                   \
        ifk__inv_bottleneck(&(ISA), x, p, prep, res, y, s);                                        \
    }                                                                                              \
    static const ifk_ops NAME##_ops = {                                                            \
        .name = #NAME,                                                                             \
        .linear = NAME##_linear,                                                                   \
        .linear_f16 = NAME##_linear_f16,                                                           \
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
        .adaptive_max_pool = NAME##_max_pool,                                                      \
        .conv2d_parts = NAME##_conv2d_parts,                                                       \
        .conv2d_parts_prep_bytes = NAME##_parts_prep_bytes,                                        \
        .conv2d_parts_prep = NAME##_parts_prep,                                                    \
        .inv_bottleneck_prep_bytes = NAME##_ib_prep_bytes,                                         \
        .inv_bottleneck_prep = NAME##_ib_prep,                                                     \
        .inv_bottleneck = NAME##_ib,                                                               \
    }

IFK_DEFINE_OPS(generic, ifk_isa_generic);
#ifdef IFK_HAVE_X86
IFK_DEFINE_OPS(avx2, ifk_isa_avx2);
IFK_DEFINE_OPS(avx512, ifk_isa_avx512);
#endif
#ifdef IFK_HAVE_NEON
IFK_DEFINE_OPS(neon, ifk_isa_neon);
#endif
#ifdef IFK_HAVE_WASM
IFK_DEFINE_OPS(wasm, ifk_isa_wasm);
#endif

/* ------------------------------------------------------ CPU features */

enum { CPU_AVX2 = 1, CPU_AVX512 = 2, CPU_NEON = 4 };

static int cpu_features(void) {
#if defined(IFK_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1,
              f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    const int ymm = (lo & 0x6) == 0x6, zmm = (lo & 0xe6) == 0xe6;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    int f = 0;
    if (ymm && avx2 && fma && f16c) f |= CPU_AVX2;
    if ((f & CPU_AVX2) && zmm && avx512f) f |= CPU_AVX512;
    return f;
#elif defined(IFK_HAVE_NEON) && defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMD) ? CPU_NEON : 0;
#elif defined(IFK_HAVE_NEON)
    return CPU_NEON;     /* architectural on AArch64 */
#else
    return 0;
#endif
}

/* --------------------------------------------------------- selection */

static const ifk_ops *fail(char *why, size_t cap, const char *fmt, const char *isa) {
    if (why && cap) snprintf(why, cap, fmt, isa);
    return NULL;
}

const ifk_ops *ifk_select(const char *isa, char *why, size_t cap) {
    const char *from = "requested";
    if (!isa || !*isa) {
        const char *env = getenv("IF_ISA");
        if (env && *env) {
            isa = env;
            from = "IF_ISA";
        } else {
            isa = NULL;
        }
    }
    const int f = cpu_features();
    (void)f; /* only x86 and AArch64 builds look at the features */
    const ifk_ops *ops = NULL;
    if (!isa) {
#if defined(IFK_HAVE_X86)
        ops = (f & CPU_AVX512) ? &avx512_ops : (f & CPU_AVX2) ? &avx2_ops : &scalar_ops;
#elif defined(IFK_HAVE_NEON)
        ops = (f & CPU_NEON) ? &neon_ops : &scalar_ops;
#elif defined(IFK_HAVE_WASM)
        ops = &wasm_ops; /* the module would not have loaded without SIMD128 */
#else
        ops = &scalar_ops;
#endif
        from = "best for this CPU";
    } else if (!strcmp(isa, "scalar")) {
        ops = &scalar_ops;
    } else if (!strcmp(isa, "generic")) {
        ops = &generic_ops;
    } else if (!strcmp(isa, "avx2") || !strcmp(isa, "avx512")) {
#ifdef IFK_HAVE_X86
        const int want = isa[3] == '2' ? CPU_AVX2 : CPU_AVX512;
        if (!(f & want))
            return fail(why, cap,
                        want == CPU_AVX2
                            ? "instruction set '%s': this CPU/OS lacks AVX2+FMA+F16C with YMM state"
                            : "instruction set '%s': this CPU/OS lacks AVX-512F with ZMM state",
                        isa);
        ops = want == CPU_AVX2 ? &avx2_ops : &avx512_ops;
#else
        return fail(why, cap, "instruction set '%s': not an x86-64 build", isa);
#endif
    } else if (!strcmp(isa, "neon")) {
#ifdef IFK_HAVE_NEON
        if (!(f & CPU_NEON))
            return fail(why, cap, "instruction set '%s': this CPU/OS reports no ASIMD (HWCAP)",
                        isa);
        ops = &neon_ops;
#else
        return fail(why, cap, "instruction set '%s': not an AArch64 build with NEON", isa);
#endif
    } else if (!strcmp(isa, "wasm")) {
#ifdef IFK_HAVE_WASM
        ops = &wasm_ops;
#else
        return fail(why, cap, "instruction set '%s': not a WebAssembly build with SIMD128", isa);
#endif
    } else {
        return fail(why, cap,
                    "unknown instruction set '%s' (scalar, generic, avx2, avx512, neon, wasm)",
                    isa);
    }
    if (why && cap) snprintf(why, cap, "kernels: %s (%s)", ops->name, from);
    return ops;
}

/* ------------------------------------------------------ scratch sizes */

size_t ifk_linear_scratch_bytes(int64_t m, int64_t k, int64_t n) {
    size_t b = scalar_linear_f16_scratch(k);
    for (int i = 0; i < ifk_n_isas; i++) {
        const size_t s = ifk__gemm_scratch(ifk_isas[i], m, k, n);
        if (s > b) b = s;
    }
    return b;
}

size_t ifk_conv2d_scratch_bytes(const ifk_conv_params *p) {
    size_t b = 0;
    for (int i = 0; i < ifk_n_isas; i++) {
        const size_t s = ifk__conv2d_scratch(ifk_isas[i], p);
        if (s > b) b = s;
    }
    return b;
}

size_t ifk_conv_transpose2d_scratch_bytes(int h, int w, int cin, int cout, int kh, int kw) {
    size_t b = 0;
    for (int i = 0; i < ifk_n_isas; i++) {
        const size_t s = ifk__conv_transpose2d_scratch(ifk_isas[i], h, w, cin, cout, kh, kw);
        if (s > b) b = s;
    }
    return b;
}

size_t ifk_attention_scratch_bytes(int64_t nq, int64_t m, int c, int heads) {
    (void)nq;
    size_t b = (size_t)m * sizeof(float); /* the reference's contract */
    for (int i = 0; i < ifk_n_isas; i++) {
        const size_t s = ifk__attention_scratch(ifk_isas[i], m, c, heads);
        if (s > b) b = s;
    }
    return b;
}

size_t ifk_vit_attention_scratch_bytes(int h, int w, int c, int heads, int gh, int gw) {
    size_t b = ifk_vit_attention_scratch(h, w) * sizeof(float);
    for (int i = 0; i < ifk_n_isas; i++) {
        const size_t s = ifk__vit_attention_scratch(ifk_isas[i], h, w, c, heads, gh, gw);
        if (s > b) b = s;
    }
    return b;
}

size_t ifk_inv_bottleneck_scratch_bytes(const ifk_ib_params *p) {
    size_t b = ifk_inv_bottleneck_ref_floats(p) * sizeof(float);
    for (int i = 0; i < ifk_n_isas; i++) {
        const size_t s = ifk__inv_bottleneck_scratch(ifk_isas[i], p);
        if (s > b) b = s;
    }
    return b;
}

size_t ifk_conv2d_parts_scratch_bytes(const ifk_parts *in, const ifk_conv_params *p) {
    size_t b = ifk__conv2d_parts_scratch(NULL, in, p, NULL);
    for (int i = 0; i < ifk_n_isas; i++) {
        const size_t s = ifk__conv2d_parts_scratch(ifk_isas[i], in, p, ifk__conv2d_scratch);
        if (s > b) b = s;
    }
    return b;
}
