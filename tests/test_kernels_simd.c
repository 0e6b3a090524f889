/* test_kernels_simd.c -- every kernel variant (kernels/dispatch.h) against
 * the portable reference kernels (kernels/scalar/, tested on their own by
 * test_kernels.c): the packed drivers on the portable micro-kernel
 * ("generic"), AVX2 and AVX-512 when this CPU has them, NEON on AArch64
 * builds (each else skipped with the reason), on odd sizes: tails against
 * MR, NR and the vector width, K and N beyond the cache blocks, unaligned
 * row starts, sub-ranges (row slices, conv2d output rows, vit_attention
 * query tokens), in-place calls. Scratch buffers have exactly the size the size functions give (at
 * an unaligned address) so that the sanitizer build catches overruns.
 *
 * Tolerances: results agree with the reference within float rounding; the
 * variants use FMA, other summation blockings and their own exp/erf, so the
 * bound is relative to the magnitude of the terms of each sum.
 *
 * Last line of output: "N passed, M failed"; exit status 1 on any failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/drivers.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "platform/platform.h"

#define KH_SEED 0x9E3779B97F4A7C15ull
#include "tests/kernel_harness.h"

/* ------------------------------------------------------------------ harness */

static float *fill(size_t n, float v) {
    float *p = xmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = v;
    return p;
}

/* Scratch of exactly `bytes`, deliberately 4 bytes off a 64-byte boundary;
 * the block pointer to free is in *base. */
static void *scratch_of(size_t bytes, void **base) {
    char *p = xmalloc(bytes + 4);
    *base = p;
    return p + 4;
}

/* |got - want| <= atol + rtol * |want| everywhere (NaN must match NaN). */
static void check(const char *what, const float *got, const float *want, size_t n, double atol,
                  double rtol) {
    size_t bad = 0, first = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i]) || isnan(got[i])) {
            if (!(isnan(want[i]) && isnan(got[i])) && !bad++) first = i;
            continue;
        }
        if (got[i] == want[i]) continue; /* also infinities */
        const double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= atol + rtol * fabs((double)want[i])) && !bad++) first = i;
        if (d > worst) worst = d;
    }
    if (bad)
        printf("  %s: %zu/%zu mismatches, first at %zu: got %.9g want %.9g (max abs err %.3g)\n",
               what, bad, n, first, (double)got[first], (double)want[first], worst);
    CHECK(bad == 0, "%s", what);
}

/* ------------------------------------------------------------ variants */

typedef struct {
    const char *name;
    const ifk_ops *ops;
    const ifk_isa *isa;
} variant;

static const char *const var_names[] = {"generic", "avx2", "avx512", "neon", "wasm"};
enum { MAX_VARS = sizeof var_names / sizeof var_names[0] };
static variant vars[MAX_VARS];
static int n_vars;

static void find_variants(void) {
    const char *const *names = var_names;
    for (int i = 0; i < MAX_VARS; i++) {
        char why[160];
        const ifk_ops *ops = ifk_select(names[i], why, sizeof why);
        if (!ops) {
            printf("skip %s: %s\n", names[i], why);
            continue;
        }
        variant v = {names[i], ops, ifk__isa_named(names[i])};
        CHECK(!strcmp(ops->name, names[i]), "ifk_select returns the table asked for");
        vars[n_vars++] = v;
    }
}

/* ------------------------------------------------------------- dispatch */

static void test_select(void) {
    char why[160];
    const ifk_ops *s = ifk_select("scalar", why, sizeof why);
    CHECK(s && !strcmp(s->name, "scalar") && s->linear && s->conv2d && s->conv_transpose2d &&
              s->attention && s->vit_attention && s->layer_norm && s->group_norm &&
              s->group_norm_sums && s->group_norm_apply && s->activation && s->add &&
              s->resize_bilinear,
          "select scalar: complete table");
    why[0] = 0;
    CHECK(!ifk_select("sse9", why, sizeof why) && strstr(why, "sse9"),
          "select unknown: NULL + reason");
#ifdef IFK_HAVE_NEON
    const ifk_ops *nn = ifk_select("neon", why, sizeof why);
    CHECK(nn && !strcmp(nn->name, "neon"), "select neon on an AArch64 NEON build");
#else
    why[0] = 0;
    CHECK(!ifk_select("neon", why, sizeof why) && strstr(why, "neon"),
          "select neon elsewhere: NULL + reason");
#endif
    CHECK(!ifk_select("bogus", NULL, 0), "select with no reason buffer");
    const char *old = getenv("IF_ISA");
    char saved[64] = "";
    if (old) snprintf(saved, sizeof saved, "%s", old);
    ifp_setenv("IF_ISA", NULL);
    const ifk_ops *best = ifk_select(NULL, why, sizeof why);
    CHECK(best != NULL, "select best");
    printf("best: %s\n", why);
#ifdef IFK_HAVE_NEON
    CHECK(best && !strcmp(best->name, "neon"), "AArch64: neon is the default");
#endif
    ifp_setenv("IF_ISA", "scalar");
    const ifk_ops *e = ifk_select(NULL, why, sizeof why);
    CHECK(e && !strcmp(e->name, "scalar") && strstr(why, "IF_ISA"), "IF_ISA overrides");
    CHECK(ifk_select("generic", why, sizeof why) == &*ifk_select("generic", NULL, 0),
          "an explicit name wins over IF_ISA");
    ifp_setenv("IF_ISA", "nonsense");
    CHECK(!ifk_select(NULL, why, sizeof why) && strstr(why, "nonsense"),
          "bad IF_ISA: NULL + reason");
    ifp_setenv("IF_ISA", "");
    CHECK(ifk_select(NULL, why, sizeof why) == best, "empty IF_ISA: best");
    if (old)
        ifp_setenv("IF_ISA", saved);
    else
        ifp_setenv("IF_ISA", NULL);
}

/* -------------------------------------------------------- micro-kernel */

/* Each micro-kernel on every mr x nr edge, k in {0, 1, 2, 3, 5, 7, 10, 37}
 * (every remainder of the 4-step unrolls), with and
 * without LOAD / FINAL, bias, every activation and a residual; a and c at
 * odd strides. Reference in double with float-rounded terms. */
static void test_ukr(const variant *v) {
    const ifk_isa *I = v->isa;
    const int MR = I->mr, NR = I->nr;
    static const int ks[] = {0, 1, 2, 3, 5, 7, 10, 37};
    enum { NK = sizeof ks / sizeof ks[0] };
    const size_t lda = 41, ldc = (size_t)NR + 3, ldr = (size_t)NR + 5;
    float *a = rnd_buf((size_t)MR * lda, -1, 1), *b = rnd_buf(37 * (size_t)NR, -1, 1);
    float *bias = rnd_buf((size_t)NR, -1, 1), *res = rnd_buf((size_t)MR * ldr, -1, 1);
    float *c0 = rnd_buf((size_t)MR * ldc, -1, 1);
    float *c = xmalloc((size_t)MR * ldc * sizeof *c),
          *want = xmalloc((size_t)MR * ldc * sizeof *want);
    int bad = 0;
    char what[160];
    for (int ki = 0; ki < NK; ki++)
        for (int mode = 0; mode < 4; mode++)
            for (int mr = 1; mr <= MR; mr++)
                for (int nr = 1; nr <= NR; nr++) {
                    const int k = ks[ki], act = mode == 3 ? (mr + nr) % 4 : IFK_ACT_NONE;
                    ifk_epi e = {0, act, NULL, NULL, ldr};
                    if (mode & 1) e.flags |= IFK_EPI_LOAD;
                    if (mode & 2) {
                        e.flags |= IFK_EPI_FINAL;
                        e.bias = (mr & 1) ? bias : NULL;
                        e.res = (nr & 1) ? res : NULL;
                    }
                    memcpy(c, c0, (size_t)MR * ldc * sizeof *c);
                    memcpy(want, c0, (size_t)MR * ldc * sizeof *c);
                    for (int i = 0; i < mr; i++)
                        for (int j = 0; j < nr; j++) {
                            float s = 0.0f;
                            for (int p = 0; p < k; p++) s = fmaf(a[i * lda + p], b[p * NR + j], s);
                            if (e.flags & IFK_EPI_LOAD) s = c0[i * ldc + j] + s;
                            if (e.flags & IFK_EPI_FINAL) {
                                if (e.bias) s += bias[j];
                                ifk_activation(&s, 1, act, &s);
                                if (e.res) s += res[i * ldr + j];
                            }
                            want[i * ldc + j] = s;
                        }
                    I->ukr(k, a, lda, b, c, ldc, mr, nr, &e);
                    for (size_t t = 0; t < (size_t)MR * ldc; t++) {
                        const double d = fabs((double)c[t] - want[t]);
                        if (!(d <= 1e-5 + 1e-5 * fabs(want[t]))) {
                            if (!bad++)
                                printf("  %s ukr k=%d mode=%d mr=%d nr=%d at %zu: got %.9g want "
                                       "%.9g\n",
                                       v->name, k, mode, mr, nr, t, (double)c[t], (double)want[t]);
                        }
                    }
                }
    snprintf(what, sizeof what,
             "%s micro-kernel %dx%d: every edge, LOAD/FINAL, bias, acts, residual", v->name, MR,
             NR);
    CHECK(bad == 0, "%s", what);
    free(a);
    free(b);
    free(bias);
    free(res);
    free(c0);
    free(c);
    free(want);
}

/* ------------------------------------------------------------- linear */

static void test_linear(const variant *v) {
    static const int64_t shapes[][3] = {
        {1, 1, 1},    {7, 13, 5},  {15, 16, 17},  {37, 300, 70}, {50, 19, 3100},
        {29, 64, 33}, {3, 513, 2}, {61, 1024, 9}, {100, 32, 32}, {14, 3072, 40},
    };
    char what[160];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        const int act = (int)(s % 4);
        /* x starts one float into its block: unaligned rows. */
        float *xb = rnd_buf((size_t)(m * k) + 1, -1, 1), *x = xb + 1;
        float *w = rnd_buf((size_t)(n * k), -1, 1),
              *bias = s % 3 ? rnd_buf((size_t)n, -1, 1) : NULL;
        float *want = fill((size_t)(m * n), 0), *got = fill((size_t)(m * n), NAN);
        void *sb, *scr = scratch_of(ifk_linear_scratch_bytes(m, k, n), &sb);
        ifk_linear(x, m, k, w, bias, n, act, want);
        const double atol = 2e-6 * sqrt((double)k) + 1e-6;
        v->ops->linear(x, m, k, w, bias, n, act, got, scr);
        snprintf(what, sizeof what, "%s linear %lldx%lldx%lld %s%s", v->name, (long long)m,
                 (long long)k, (long long)n, act_name[act], bias ? " bias" : "");
        check(what, got, want, (size_t)(m * n), atol, 1e-5);
        /* Row slices, as threads would call it. */
        if (m >= 3) {
            float *got2 = fill((size_t)(m * n), NAN);
            const int64_t cut[] = {0, m / 3, m / 3 + 1, m};
            for (int r = 0; r < 3; r++)
                v->ops->linear(x + cut[r] * k, cut[r + 1] - cut[r], k, w, bias, n, act,
                               got2 + cut[r] * n, scr);
            snprintf(what, sizeof what, "%s linear %lldx%lldx%lld row slices", v->name,
                     (long long)m, (long long)k, (long long)n);
            check(what, got2, want, (size_t)(m * n), atol, 1e-5);
            free(got2);
        }
        free(xb);
        free(w);
        free(bias);
        free(want);
        free(got);
        free(sb);
    }
}

/* ------------------------------------------------------ f16 weights */

/* Halves that are weights (normal, either sign, small to large), with a
 * few zeros, subnormals, infinities and NaNs (quiet and signalling) mixed
 * in: the widening must keep every bit pattern as the reference does. */
static uint16_t *rnd_halves(size_t n) {
    static const uint16_t odd[] = {0x0000, 0x8000, 0x0001, 0x83ff, 0x7c00,
                                   0xfc00, 0x7e00, 0x7c01, 0xfd55, 0x0400};
    uint16_t *h = xmalloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        const uint32_t r = rnd_u32();
        h[i] = r % 97 == 0 ? odd[(r >> 8) % 10]
                           : (uint16_t)(((r >> 8) % 0x3c00 + 0x1000) | (r & 0x8000u));
    }
    return h;
}

static int same_bits(const float *a, const float *b, size_t n, size_t *at) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a)) {
            *at = i;
            return 0;
        }
    return 1;
}

/* The ISA's widening against the reference on all 65536 halves, at every
 * start modulo 8 and odd lengths (vector bodies and tails). */
static void test_f16_to_f32(const variant *v) {
    enum { N = 65536 + 16 };
    uint16_t *h = xmalloc(N * sizeof *h);
    float *want = xmalloc(N * sizeof *want), *got = xmalloc(N * sizeof *got);
    for (size_t i = 0; i < N; i++) h[i] = (uint16_t)(i * 40503u); /* odd: a permutation */
    int bad = 0;
    size_t at = 0;
    for (int off = 0; off < 8 && !bad; off++)
        for (int64_t len = 0; len < 40 && !bad; len++) {
            memset(got, 0xa5, (size_t)(len + 1) * sizeof *got);
            ifk_f16_to_f32(h + off, len, want);
            v->isa->f16_to_f32(h + off, len, got);
            float guard;
            memset(&guard, 0xa5, sizeof guard);
            if (!same_bits(got, want, (size_t)len, &at) || memcmp(got + len, &guard, sizeof guard))
                bad = printf("  %s f16_to_f32 off %d len %lld: differs at %zu\n", v->name, off,
                             (long long)len, at);
        }
    ifk_f16_to_f32(h + 3, 65536, want);
    v->isa->f16_to_f32(h + 3, 65536, got);
    if (!same_bits(got, want, 65536, &at))
        bad = printf("  %s f16_to_f32: half 0x%04x widens to 0x%08x, reference 0x%08x\n", v->name,
                     h[3 + at], *(uint32_t *)(got + at), *(uint32_t *)(want + at));
    char what[160];
    snprintf(what, sizeof what, "%s f16_to_f32: all 65536 halves bit-exact, every tail", v->name);
    CHECK(bad == 0, "%s", what);
    free(h);
    free(want);
    free(got);
}

/* linear_f16 equals linear on the widened weights bit for bit (shapes over
 * the cache blocks and tiles, row slices), on the ops table `ops`. */
static void test_linear_f16_ops(const char *name, const ifk_ops *ops) {
    static const int64_t shapes[][3] = {
        {1, 1, 1},    {7, 13, 5},  {15, 16, 17},  {37, 300, 70}, {50, 19, 3100},
        {29, 64, 33}, {3, 513, 2}, {61, 1024, 9}, {100, 32, 32}, {14, 3072, 40},
    };
    char what[160];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        const int act = (int)(s % 4);
        float *xb = rnd_buf((size_t)(m * k) + 1, -1, 1), *x = xb + 1;
        /* Weights one half into their block: unaligned rows. */
        uint16_t *hb = rnd_halves((size_t)(n * k) + 1), *h = hb + 1;
        float *w = xmalloc((size_t)(n * k) * sizeof *w),
              *bias = s % 3 ? rnd_buf((size_t)n, -1, 1) : NULL;
        ifk_f16_to_f32(h, n * k, w);
        /* Finite weights only here: a NaN weight would make NaN outputs,
         * which memcmp need not match bit for bit. */
        for (int64_t i = 0; i < n * k; i++)
            if (!isfinite(w[i])) {
                h[i] = 0x3c00;
                w[i] = 1.0f;
            }
        float *want = fill((size_t)(m * n), NAN), *got = fill((size_t)(m * n), NAN);
        void *sb, *scr = scratch_of(ifk_linear_scratch_bytes(m, k, n), &sb);
        ops->linear(x, m, k, w, bias, n, act, want, scr);
        ops->linear_f16(x, m, k, h, bias, n, act, got, scr);
        size_t at = 0;
        snprintf(what, sizeof what, "%s linear_f16 %lldx%lldx%lld %s%s == linear, bit-exact", name,
                 (long long)m, (long long)k, (long long)n, act_name[act], bias ? " bias" : "");
        CHECK(same_bits(got, want, (size_t)(m * n), &at), "%s (first difference at %zu)", what, at);
        if (m >= 3) {
            float *got2 = fill((size_t)(m * n), NAN);
            const int64_t cut[] = {0, m / 3, m / 3 + 1, m};
            for (int r = 0; r < 3; r++)
                ops->linear_f16(x + cut[r] * k, cut[r + 1] - cut[r], k, h, bias, n, act,
                                got2 + cut[r] * n, scr);
            snprintf(what, sizeof what, "%s linear_f16 %lldx%lldx%lld row slices", name,
                     (long long)m, (long long)k, (long long)n);
            CHECK(same_bits(got2, want, (size_t)(m * n), &at), "%s", what);
            free(got2);
        }
        free(xb);
        free(hb);
        free(w);
        free(bias);
        free(want);
        free(got);
        free(sb);
    }
}

static void test_linear_f16(const variant *v) { test_linear_f16_ops(v->name, v->ops); }

/* ------------------------------------------------------------- conv2d */

typedef struct {
    int h, w, cin, cout, kh, kw, sh, sw, pt, pl, pb, pr, groups, act;
} conv_case;

static void test_conv2d(const variant *v) {
    static const conv_case cases[] = {
        /* 3x3 s1 p1: the UPerHead shape, tails in both directions */
        {17, 40, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, IFK_ACT_RELU},
        {9, 13, 67, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, IFK_ACT_NONE},
        {1, 1, 5, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, IFK_ACT_GELU},
        {2, 3, 7, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, IFK_ACT_HARDSWISH},
        {16, 30, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, IFK_ACT_RELU},
        /* large enough for Winograd F(2x2, 3x3): odd sizes (half tiles), odd
         * channel counts, asymmetric and no padding */
        {45, 49, 20, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, IFK_ACT_RELU},
        {47, 46, 17, 19, 3, 3, 1, 1, 0, 2, 1, 0, 1, IFK_ACT_HARDSWISH},
        {64, 40, 96, 16, 3, 3, 1, 1, 0, 0, 0, 0, 1, IFK_ACT_NONE},
        /* strided, asymmetric padding, no padding, big kernels */
        {13, 11, 9, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1, IFK_ACT_NONE},
        {10, 12, 20, 18, 2, 2, 2, 2, 0, 0, 0, 0, 1, IFK_ACT_NONE},
        {32, 48, 3, 40, 16, 16, 16, 16, 0, 0, 0, 0, 1, IFK_ACT_NONE},
        {8, 9, 6, 10, 3, 4, 1, 2, 0, 1, 2, 0, 1, IFK_ACT_RELU},
        {4, 5, 3, 8, 5, 5, 1, 1, 3, 3, 3, 3, 1, IFK_ACT_NONE}, /* rows fully in padding */
        {7, 7, 4, 4, 7, 7, 1, 1, 0, 0, 0, 0, 1, IFK_ACT_NONE}, /* 1x1 output */
        /* 1x1: GEMM path, and strided 1x1 */
        {11, 13, 24, 36, 1, 1, 1, 1, 0, 0, 0, 0, 1, IFK_ACT_HARDSWISH},
        {11, 13, 24, 36, 1, 1, 2, 2, 0, 0, 0, 0, 1, IFK_ACT_NONE},
        /* depthwise (fused bias + hardswish), tails against 8/64 channels */
        {12, 14, 67, 67, 3, 3, 1, 1, 1, 1, 1, 1, 67, IFK_ACT_HARDSWISH},
        {5, 6, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, IFK_ACT_NONE},
        {9, 9, 130, 130, 5, 5, 2, 2, 2, 2, 2, 2, 130, IFK_ACT_RELU},
        {3, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, IFK_ACT_GELU},
        {11, 19, 24, 24, 3, 3, 2, 2, 1, 1, 1, 1, 24, IFK_ACT_HARDSWISH},
        {6, 21, 600, 600, 3, 3, 1, 1, 0, 2, 1, 0, 600, IFK_ACT_RELU}, /* > 512 channels */
        /* grouped, not depthwise: the reference path */
        {6, 7, 8, 12, 3, 3, 1, 1, 1, 1, 1, 1, 2, IFK_ACT_NONE},
    };
    char what[200];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const conv_case *c = &cases[s];
        ifk_conv_params p = {c->h,  c->w,  c->cin, c->cout, c->kh,     c->kw,  c->sh, c->sw,
                             c->pt, c->pl, c->pb,  c->pr,   c->groups, c->act, 0,     0};
        int ho, wo;
        ifk_conv2d_out_size(&p, &ho, &wo);
        const size_t K = (size_t)c->kh * c->kw * (c->cin / c->groups),
                     ny = (size_t)ho * wo * c->cout;
        float *xb = rnd_buf((size_t)c->h * c->w * c->cin + 1, -1, 1), *x = xb + 1;
        float *wt = rnd_buf((size_t)c->cout * K, -1, 1),
              *bias = s % 4 != 1 ? rnd_buf((size_t)c->cout, -1, 1) : NULL;
        float *want = fill(ny, 0), *got = fill(ny, NAN);
        void *sb, *scr = scratch_of(ifk_conv2d_scratch_bytes(&p), &sb);
        ifk_conv2d(x, &p, wt, bias, want);
        v->ops->conv2d(x, &p, wt, NULL, bias, got, scr);
        /* Winograd F(4x4, 3x3) (kernels/winograd.c) rounds its transforms with
         * coefficients up to 8: about 10x the direct sum's error on these
         * uniform [-1, 1] data (measured up to 1.1e-5 * sqrt(K)); the bound
         * leaves 2x to that. End to end the golden logits move from 1.2e-6
         * to 2.2e-6 relative, against the 1e-4 of the parity check. */
        const int wino = strcmp(v->name, "scalar") && ifk__winograd_ok(&p);
        const double atol = (wino ? 2.5e-5 : 2e-6) * sqrt((double)K) + 1e-6;
        snprintf(what, sizeof what, "%s conv2d %dx%dx%d->%d k%dx%d s%dx%d p%d,%d,%d,%d g%d %s",
                 v->name, c->h, c->w, c->cin, c->cout, c->kh, c->kw, c->sh, c->sw, c->pt, c->pl,
                 c->pb, c->pr, c->groups, act_name[c->act]);
        check(what, got, want, ny, atol, 1e-5);
        /* Prepared weights (as the runtime passes them): the same values. */
        const size_t pb = v->ops->conv2d_prep_bytes(&p);
        void *prep = pb ? ifp_aligned_alloc(64, pb) : NULL;
        if (prep) {
            v->ops->conv2d_prep(&p, wt, prep);
            float *got3 = fill(ny, NAN);
            v->ops->conv2d(x, &p, wt, prep, bias, got3, scr);
            snprintf(what, sizeof what, "%s conv2d case %zu with prepared weights", v->name, s);
            check_exact(what, got3, got, ny);
            free(got3);
        }
        /* Output-row ranges, with the prepared weights if any: [0, a), [a, b), [b, 0 = end). */
        if (ho >= 2) {
            float *got2 = fill(ny, NAN);
            const int cut[] = {0, ho / 3, ho / 3 + 1, 0};
            for (int r = 0; r < 3; r++) {
                ifk_conv_params q = p;
                q.oy0 = cut[r];
                q.oy1 = cut[r + 1];
                v->ops->conv2d(x, &q, wt, prep, bias, got2, scr);
            }
            snprintf(what, sizeof what, "%s conv2d case %zu output-row ranges", v->name, s);
            check(what, got2, want, ny, atol, 1e-5);
            /* The reference honours the ranges too. */
            float *want2 = fill(ny, NAN);
            for (int r = 0; r < 3; r++) {
                ifk_conv_params q = p;
                q.oy0 = cut[r];
                q.oy1 = cut[r + 1];
                ifk_conv2d(x, &q, wt, bias, want2);
            }
            snprintf(what, sizeof what, "reference conv2d case %zu output-row ranges (%s run)", s,
                     v->name);
            check_exact(what, want2, want, ny);
            free(want2);
            free(got2);
        }
        free(xb);
        free(wt);
        free(bias);
        free(want);
        free(got);
        free(sb);
        ifp_aligned_free(prep);
    }
}

/* ------------------------------------------------ conv over parts */

/* The channel concatenation of n maps of hw pixels, map k of c[k] channels
 * (cin in all): what CONCAT_CHANNELS would make. */
static float *concat_maps(const float *const *maps, const int *c, int n, size_t hw, int cin) {
    float *cat = fill(hw * (size_t)cin, 0);
    for (int i = 0, off = 0; i < n; off += c[i], i++)
        for (size_t px = 0; px < hw; px++)
            memcpy(cat + px * cin + off, maps[i] + px * c[i], (size_t)c[i] * sizeof(float));
    return cat;
}

/* Low-resolution parts: conv2d_parts on maps that stand for their bilinear
 * resize equals the reference convolution of the resized and concatenated
 * maps within float rounding (the fast way sums in another order), and is
 * the same bit for bit whether run whole or in blocks of rows (each thread
 * makes the low rows it needs itself). Sizes as UPerNet's (2x, 4x, 8x, and
 * the pyramid pooling's 1x1 to 6x6), odd ratios, a map with no full-size
 * part, 1x1 and 5x5 kernels, a part larger than the map (resized down: the
 * bands take it), and a smaller run than planned (a zoom-in). */
static void test_conv2d_lowres_parts(const variant *v) {
    static const int cases[][14] = {
        /* h, w, cout, kernel, pad, then (channels, low h, low w) x 3 (low h 0: full size) */
        {32, 32, 16, 3, 1, 16, 0, 0, 12, 16, 16, 8, 4, 4},
        {16, 16, 8, 3, 1, 24, 0, 0, 8, 1, 1, 8, 6, 6},
        {23, 37, 12, 3, 1, 5, 7, 13, 9, 23, 19, 6, 2, 3},
        {20, 18, 8, 1, 0, 8, 0, 0, 8, 5, 9, 0, 0, 0},
        {19, 21, 8, 5, 2, 8, 10, 11, 4, 0, 0, 0, 0, 0},
        {10, 12, 8, 3, 1, 8, 0, 0, 6, 15, 20, 0, 0, 0}, /* a larger part: the bands */
        {48, 48, 16, 3, 1, 16, 0, 0, 8, 24, 24, 8, 6,
         6}, /* Winograd planned, not in the smaller run */
    };
    char what[200];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int *c = cases[s];
        ifk_parts in = {0, {NULL}, {0}, {0}, {0}};
        float *full[IFK_MAX_PARTS] = {NULL};
        int cin = 0;
        for (int k = 0; k < 3 && c[5 + 3 * k]; k++) {
            const int ck = c[5 + 3 * k], lh = c[6 + 3 * k], lw = c[7 + 3 * k];
            in.c[in.n] = ck;
            in.h[in.n] = lh;
            in.w[in.n] = lw;
            const size_t n = lh ? (size_t)lh * lw * ck : (size_t)c[0] * c[1] * ck;
            float *x = rnd_buf(n, -1, 1);
            in.x[in.n] = x;
            full[in.n] = x;
            if (lh) { /* what RESIZE_BILINEAR would have made of it */
                full[in.n] = fill((size_t)c[0] * c[1] * ck, 0);
                ifk_resize_bilinear(x, lh, lw, ck, full[in.n], c[0], c[1], 0, c[0]);
            }
            in.n++;
            cin += ck;
        }
        const ifk_conv_params p = {c[0], c[1], cin,  c[2], c[3], c[3],         1, 1,
                                   c[4], c[4], c[4], c[4], 1,    IFK_ACT_RELU, 0, 0};
        const size_t hw = (size_t)p.h * p.w, ny = hw * p.cout;
        float *cat = concat_maps((const float *const *)full, in.c, in.n, hw, cin);
        float *wt = rnd_buf((size_t)p.cout * p.kh * p.kw * cin, -0.3, 0.3),
              *b = rnd_buf(p.cout, -1, 1);
        const size_t pb = v->ops->conv2d_parts_prep_bytes(&in, &p);
        void *prep = pb ? ifp_aligned_alloc(64, pb) : NULL;
        if (prep) v->ops->conv2d_parts_prep(&in, &p, wt, prep);
        void *sb, *scr = scratch_of(ifk_conv2d_parts_scratch_bytes(&in, &p), &sb);
        float *want = fill(ny, NAN), *whole = fill(ny, NAN), *rows = fill(ny, NAN);
        ifk_conv2d(cat, &p, wt, b, want);
        /* The fast way (an ISA, every low part no larger than the map) reads
         * its weights from the prep only: given NaN weights, it must still
         * match, which shows it ran (the bands would read them). */
        int fast = v->isa != NULL;
        for (int k = 0; k < in.n; k++)
            if (in.h[k] > p.h || in.w[k] > p.w) fast = 0;
        const size_t nw = (size_t)p.cout * p.kh * p.kw * cin;
        float *wrun = fast ? fill(nw, NAN) : wt;
        v->ops->conv2d_parts(&in, &p, wrun, prep, b, whole, scr);
        for (int y0 = 0; y0 < p.h; y0 += 4) {
            ifk_conv_params q = p;
            q.oy0 = y0;
            q.oy1 = y0 + 4 < p.h ? y0 + 4 : p.h;
            v->ops->conv2d_parts(&in, &q, wrun, prep, b, rows, scr);
        }
        snprintf(what, sizeof what, "%s conv2d_parts low %dx%d %d parts -> %d k%d", v->name, p.h,
                 p.w, in.n, p.cout, p.kh);
        check(what, whole, want, ny, 1e-4, 1e-4); /* Winograd's rounding on full-size parts */
        snprintf(what, sizeof what, "%s conv2d_parts low %dx%d k%d: rows split = whole", v->name,
                 p.h, p.w, p.kh);
        check_exact(what, rows, whole, ny);
        /* A smaller run on the same prep (a zoom-in's crop): the top-left
         * of every map, the low parts in proportion (at least a pixel). */
        ifk_conv_params r = p;
        r.h = p.h * 2 / 3;
        r.w = p.w * 3 / 4;
        ifk_parts small = in;
        float *sfull[IFK_MAX_PARTS] = {NULL};
        for (int k = 0; k < in.n; k++) {
            const int ck = in.c[k];
            const int lh = in.h[k] ? (in.h[k] * r.h + p.h - 1) / p.h : r.h;
            const int lw = in.h[k] ? (in.w[k] * r.w + p.w - 1) / p.w : r.w;
            const int sw = in.h[k] ? in.w[k] : p.w;
            float *x = fill((size_t)lh * lw * ck, 0);
            for (int yy = 0; yy < lh; yy++)
                memcpy(x + (size_t)yy * lw * ck, in.x[k] + (size_t)yy * sw * ck,
                       (size_t)lw * ck * sizeof *x);
            small.x[k] = x;
            if (in.h[k]) {
                small.h[k] = lh;
                small.w[k] = lw;
                sfull[k] = fill((size_t)r.h * r.w * ck, 0);
                ifk_resize_bilinear(x, lh, lw, ck, sfull[k], r.h, r.w, 0, r.h);
            } else {
                sfull[k] = x;
            }
        }
        float *scat = concat_maps((const float *const *)sfull, in.c, in.n, (size_t)r.h * r.w, cin);
        const size_t nys = (size_t)r.h * r.w * r.cout;
        ifk_conv2d(scat, &r, wt, b, want);
        v->ops->conv2d_parts(&small, &r, wrun, prep, b, whole, scr);
        snprintf(what, sizeof what, "%s conv2d_parts low %dx%d of %dx%d (a smaller run)", v->name,
                 r.h, r.w, p.h, p.w);
        check(what, whole, want, nys, 1e-4, 1e-4);
        for (int k = 0; k < in.n; k++) {
            if (sfull[k] != small.x[k]) free(sfull[k]);
            free((void *)small.x[k]);
            if (full[k] != in.x[k]) free(full[k]);
            free((void *)in.x[k]);
        }
        free(scat);
        free(cat);
        if (wrun != wt) free(wrun);
        free(wt);
        free(b);
        free(want);
        free(whole);
        free(rows);
        free(sb);
        ifp_aligned_free(prep);
    }
}

/* conv2d_parts equals conv2d of the concatenated input bit for bit, whole
 * and in blocks of four output rows (the runtime's split), on the Winograd
 * path and on bands. */
static void test_conv2d_parts(const variant *v) {
    static const int cases[][8] = {
        /* h, w, parts' channels (0: none), cout, kernel, pad */
        {48, 50, 16, 24, 8, 20, 3, 1}, /* Winograd */
        {20, 17, 5, 7, 1, 9, 3, 1},    /* small: bands */
        {9, 30, 3, 4, 0, 6, 1, 0},     /* 1x1 */
        {19, 11, 8, 8, 8, 16, 5, 2},   /* 5x5, bands cut by the kernel */
    };
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int *c = cases[s];
        ifk_parts in = {0, {NULL}, {0}, {0}, {0}};
        int cin = 0;
        for (int k = 2; k < 5 && c[k]; k++) {
            in.c[in.n] = c[k];
            in.x[in.n] = rnd_buf((size_t)c[0] * c[1] * c[k], -1, 1);
            in.n++;
            cin += c[k];
        }
        const ifk_conv_params p = {c[0], c[1], cin,  c[5], c[6], c[6],         1, 1,
                                   c[7], c[7], c[7], c[7], 1,    IFK_ACT_RELU, 0, 0};
        const size_t hw = (size_t)p.h * p.w, ny = hw * p.cout;
        float *cat = concat_maps(in.x, in.c, in.n, hw, cin);
        float *wt = rnd_buf((size_t)p.cout * p.kh * p.kw * cin, -0.3, 0.3),
              *b = rnd_buf(p.cout, -1, 1);
        const size_t pb = v->ops->conv2d_prep_bytes(&p);
        CHECK(pb == v->ops->conv2d_parts_prep_bytes(&in, &p), "%s parts prep is conv2d's", v->name);
        void *prep = pb ? ifp_aligned_alloc(64, pb) : NULL;
        if (prep) v->ops->conv2d_parts_prep(&in, &p, wt, prep);
        size_t sc = ifk_conv2d_parts_scratch_bytes(&in, &p);
        if (ifk_conv2d_scratch_bytes(&p) > sc) sc = ifk_conv2d_scratch_bytes(&p);
        void *sb, *scr = scratch_of(sc, &sb);
        float *want = fill(ny, NAN), *got = fill(ny, NAN);
        for (int y0 = 0; y0 < p.h; y0 += 4) { /* as the runtime splits both */
            ifk_conv_params q = p;
            q.oy0 = y0;
            q.oy1 = y0 + 4 < p.h ? y0 + 4 : p.h;
            v->ops->conv2d(cat, &q, wt, prep, b, want, scr);
            v->ops->conv2d_parts(&in, &q, wt, prep, b, got, scr);
        }
        snprintf(what, sizeof what, "%s conv2d_parts %dx%d %d parts -> %d k%d", v->name, p.h, p.w,
                 in.n, p.cout, p.kh);
        check_exact(what, got, want, ny);
        /* The first 8 rows alone on the same prep and scratch (a zoomed-in
         * crop): too few pixels for Winograd where the plan took it, so the
         * bands, in the scratch sized for the plan. */
        ifk_conv_params small = p;
        small.h = 8;
        v->ops->conv2d(cat, &small, wt, prep, b, want, scr);
        v->ops->conv2d_parts(&in, &small, wt, prep, b, got, scr);
        snprintf(what, sizeof what, "%s conv2d_parts 8x%d of %dx%d", v->name, p.w, p.h, p.w);
        check_exact(what, got, want, (size_t)8 * p.w * p.cout);
        for (int k = 0; k < in.n; k++) free((void *)in.x[k]);
        free(cat);
        free(wt);
        free(b);
        free(want);
        free(got);
        free(sb);
        ifp_aligned_free(prep);
    }
}

/* ------------------------------------------------ inverted bottleneck */

/* The fused expand-depthwise-project (+ residual) equals the variant's own
 * three conv2d calls and add bit for bit, in row ranges too, and the
 * reference within the GEMMs' rounding. */
static void test_inv_bottleneck(const variant *v) {
    static const int cases[][7] = {
        /* h, w, cin, cmid, cout, residual, acts (expand, dw, project packed) */
        {9, 13, 8, 64, 8, 1, 0x330},   {1, 1, 5, 17, 5, 1, 0x330},   {2, 7, 3, 9, 4, 0, 0x121},
        {12, 5, 16, 40, 16, 1, 0x300}, {6, 130, 4, 24, 4, 1, 0x330}, {17, 3, 33, 300, 20, 0, 0x000},
    };
    char what[200];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int *c = cases[s];
        ifk_ib_params p = {c[0],      c[1], c[2], c[3], c[4], (c[6] >> 8) & 15, (c[6] >> 4) & 15,
                           c[6] & 15, 0,    0};
        const size_t hw = (size_t)p.h * p.w, nm = hw * p.cmid, ny = hw * p.cout;
        float *x = rnd_buf(hw * p.cin, -1, 1), *res = c[5] ? rnd_buf(ny, -1, 1) : NULL;
        float *we = rnd_buf((size_t)p.cmid * p.cin, -0.5, 0.5), *be = rnd_buf(p.cmid, -1, 1);
        float *wd = rnd_buf((size_t)p.cmid * 9, -0.5, 0.5),
              *bd = s % 2 ? NULL : rnd_buf(p.cmid, -1, 1);
        float *wp = rnd_buf((size_t)p.cout * p.cmid, -0.2, 0.2),
              *bp = s % 3 ? rnd_buf(p.cout, -1, 1) : NULL;
        float *e = fill(nm, NAN), *d = fill(nm, NAN), *plain = fill(ny, NAN);
        const ifk_conv_params pe = {p.h, p.w, p.cin, p.cmid,       1, 1, 1, 1, 0, 0,
                                    0,   0,   1,     p.act_expand, 0, 0};
        const ifk_conv_params pd = {p.h, p.w, p.cmid, p.cmid, 3,      3,        1, 1,
                                    1,   1,   1,      1,      p.cmid, p.act_dw, 0, 0};
        const ifk_conv_params pp = {p.h, p.w, p.cmid, p.cout,        1, 1, 1, 1, 0, 0,
                                    0,   0,   1,      p.act_project, 0, 0};
        size_t sc = ifk_conv2d_scratch_bytes(&pe);
        if (ifk_conv2d_scratch_bytes(&pd) > sc) sc = ifk_conv2d_scratch_bytes(&pd);
        if (ifk_conv2d_scratch_bytes(&pp) > sc) sc = ifk_conv2d_scratch_bytes(&pp);
        void *sb, *scr = scratch_of(sc, &sb);
        v->ops->conv2d(x, &pe, we, NULL, be, e, scr);
        v->ops->conv2d(e, &pd, wd, NULL, bd, d, scr);
        v->ops->conv2d(d, &pp, wp, NULL, bp, plain, scr);
        if (res) v->ops->add(plain, res, (int64_t)ny, plain);
        const float *w6[6] = {we, be, wd, bd, wp, bp};
        void *prep = ifp_aligned_alloc(64, v->ops->inv_bottleneck_prep_bytes(&p));
        v->ops->inv_bottleneck_prep(&p, w6, prep);
        void *fb, *fs = scratch_of(ifk_inv_bottleneck_scratch_bytes(&p), &fb);
        float *got = fill(ny, NAN), *got2 = fill(ny, NAN), *want = fill(ny, NAN);
        v->ops->inv_bottleneck(x, &p, prep, res, got, fs);
        snprintf(what, sizeof what, "%s inv_bottleneck %dx%dx%d->%d->%d%s equals its convolutions",
                 v->name, p.h, p.w, p.cin, p.cmid, p.cout, res ? " +res" : "");
        check_exact(what, got, plain, ny);
        const int cut[] = {0, p.h / 3, p.h / 3 + 1, 0};
        for (int r = 0; r < 3; r++) {
            ifk_ib_params q = p;
            q.oy0 = cut[r];
            q.oy1 = cut[r + 1];
            v->ops->inv_bottleneck(x, &q, prep, res, got2, fs);
        }
        snprintf(what, sizeof what, "%s inv_bottleneck case %zu in row ranges", v->name, s);
        check_exact(what, got2, plain, ny);
        float *rs = fill(ifk_inv_bottleneck_ref_floats(&p), NAN);
        ifk_inv_bottleneck(x, &p, we, be, wd, bd, wp, bp, res, want, rs);
        snprintf(what, sizeof what, "%s inv_bottleneck case %zu against the reference", v->name, s);
        check(what, got, want, ny, 2e-5 * sqrt((double)p.cmid * p.cin) + 1e-5, 1e-5);
        free(x);
        free(res);
        free(we);
        free(be);
        free(wd);
        free(bd);
        free(wp);
        free(bp);
        free(e);
        free(d);
        free(plain);
        free(sb);
        free(fb);
        free(got);
        free(got2);
        free(want);
        free(rs);
        ifp_aligned_free(prep);
    }
}

/* ---------------------------------------------------- conv_transpose2d */

static void test_conv_transpose(const variant *v) {
    static const int cases[][6] = {
        {3, 5, 7, 9, 2, 2},      {4, 4, 64, 33, 2, 2}, {2, 3, 20, 40, 4, 4},
        {5, 17, 1024, 16, 2, 2}, {1, 1, 1, 1, 1, 1},
    };
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int h = cases[s][0], w = cases[s][1], cin = cases[s][2], cout = cases[s][3];
        const int kh = cases[s][4], kw = cases[s][5];
        const size_t ny = (size_t)h * kh * w * kw * cout;
        float *x = rnd_buf((size_t)h * w * cin, -1, 1),
              *wt = rnd_buf((size_t)kh * kw * cout * cin, -1, 1);
        float *bias = s % 2 ? NULL : rnd_buf((size_t)cout, -1, 1);
        float *want = fill(ny, 0), *got = fill(ny, NAN);
        void *sb,
            *scr = scratch_of(ifk_conv_transpose2d_scratch_bytes(h, w, cin, cout, kh, kw), &sb);
        ifk_conv_transpose2d(x, h, w, cin, wt, bias, cout, kh, kw, want);
        v->ops->conv_transpose2d(x, h, w, cin, wt, bias, cout, kh, kw, got, scr);
        const double atol = 2e-6 * sqrt((double)cin) + 1e-6;
        snprintf(what, sizeof what, "%s conv_transpose2d %dx%dx%d->%d k%dx%d", v->name, h, w, cin,
                 cout, kh, kw);
        check(what, got, want, ny, atol, 1e-5);
        if (h >= 2) { /* input-row slices */
            float *got2 = fill(ny, NAN);
            const size_t orow = (size_t)kh * w * kw * cout;
            v->ops->conv_transpose2d(x, 1, w, cin, wt, bias, cout, kh, kw, got2, scr);
            v->ops->conv_transpose2d(x + (size_t)w * cin, h - 1, w, cin, wt, bias, cout, kh, kw,
                                     got2 + orow, scr);
            snprintf(what, sizeof what, "%s conv_transpose2d %dx%d input-row slices", v->name, h,
                     w);
            check(what, got2, want, ny, atol, 1e-5);
            free(got2);
        }
        free(x);
        free(wt);
        free(bias);
        free(want);
        free(got);
        free(sb);
    }
}

/* ---------------------------------------------------------- attention */

static void test_attention(const variant *v) {
    static const int cases[][4] =
        {
            {1, 1, 4, 1},      {13, 7, 8, 2},    {37, 225, 32, 1}, {50, 250, 64, 2},
            {30, 100, 128, 4}, {9, 300, 256, 8}, {20, 17, 48, 3},  {300, 246, 32, 1},
            {130, 600, 64, 2}, /* several query blocks; keys beyond KC */
        };
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int64_t nq = cases[s][0], m = cases[s][1];
        const int c = cases[s][2], heads = cases[s][3];
        const float scale = 1.0f / sqrtf((float)(c / heads));
        float *qb = rnd_buf((size_t)(nq * c) + 3, -2, 2), *q = qb + 3;
        float *kv = rnd_buf((size_t)(m * 2 * c), -2, 2);
        float *want = fill((size_t)(nq * c), 0), *got = fill((size_t)(nq * c), NAN);
        float *rs = xmalloc((size_t)m * sizeof *rs);
        void *sb, *scr = scratch_of(ifk_attention_scratch_bytes(nq, m, c, heads), &sb);
        ifk_attention(q, nq, kv, m, c, heads, scale, want, rs);
        v->ops->attention(q, nq, kv, m, c, heads, scale, got, scr);
        snprintf(what, sizeof what, "%s attention nq=%lld m=%lld c=%d heads=%d", v->name,
                 (long long)nq, (long long)m, c, heads);
        check(what, got, want, (size_t)(nq * c), 2e-6, 2e-5);
        if (nq >= 3) {
            float *got2 = fill((size_t)(nq * c), NAN);
            const int64_t cut[] = {0, 1, nq / 2, nq};
            for (int r = 0; r < 3; r++)
                v->ops->attention(q + cut[r] * c, cut[r + 1] - cut[r], kv, m, c, heads, scale,
                                  got2 + cut[r] * c, scr);
            snprintf(what, sizeof what, "%s attention nq=%lld query slices", v->name,
                     (long long)nq);
            check(what, got2, want, (size_t)(nq * c), 2e-6, 2e-5);
            free(got2);
        }
        free(qb);
        free(kv);
        free(want);
        free(got);
        free(rs);
        free(sb);
    }
}

static void test_vit_attention(const variant *v) {
    /* h, w, gh, gw, c, heads */
    static const int cases[][6] = {
        {3, 4, 3, 4, 24, 2},   /* native grid, flat */
        {2, 8, 4, 4, 16, 2},   /* h*w == gh*gw but another shape: flat rule */
        {5, 3, 4, 4, 12, 3},   /* nearest, downscale and upscale */
        {10, 8, 8, 8, 64, 4},  /* the tiny_vit case */
        {7, 14, 7, 7, 32, 1},  /* 2G on one axis */
        {6, 6, 6, 6, 128, 2},  /* d = 64 */
        {12, 13, 8, 8, 64, 1}, /* 157 tokens: several query blocks */
    };
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int h = cases[s][0], w = cases[s][1], gh = cases[s][2], gw = cases[s][3];
        const int c = cases[s][4], heads = cases[s][5], n = 1 + h * w;
        const int R = (2 * gh - 1) * (2 * gw - 1) + 3;
        const float scale = 1.0f / sqrtf((float)(c / heads));
        float *qkv = rnd_buf((size_t)n * 3 * c, -2, 2), *tab = rnd_buf((size_t)R * heads, -1, 1);
        float *want = fill((size_t)n * c, 0), *got = fill((size_t)n * c, NAN);
        float *rs = xmalloc(ifk_vit_attention_scratch(h, w) * sizeof *rs);
        void *sb, *scr = scratch_of(ifk_vit_attention_scratch_bytes(h, w, c, heads, gh, gw), &sb);
        ifk_vit_attention(qkv, h, w, c, heads, scale, tab, gh, gw, want, rs);
        v->ops->vit_attention(qkv, h, w, c, heads, scale, tab, gh, gw, 0, n, got, scr);
        snprintf(what, sizeof what, "%s vit_attention %dx%d over %dx%d c=%d heads=%d", v->name, h,
                 w, gh, gw, c, heads);
        check(what, got, want, (size_t)n * c, 2e-6, 2e-5);
        /* Query ranges: class token alone, then two ranges. */
        float *got2 = fill((size_t)n * c, NAN);
        const int cut[] = {0, 1, n / 2 + 1, n};
        for (int r = 0; r < 3; r++)
            v->ops->vit_attention(qkv, h, w, c, heads, scale, tab, gh, gw, cut[r], cut[r + 1], got2,
                                  scr);
        snprintf(what, sizeof what, "%s vit_attention %dx%d query ranges", v->name, h, w);
        check(what, got2, want, (size_t)n * c, 2e-6, 2e-5);
        /* The reference's range form agrees with itself. */
        float *want2 = fill((size_t)n * c, NAN);
        for (int r = 0; r < 3; r++)
            ifk_vit_attention_range(qkv, h, w, c, heads, scale, tab, gh, gw, cut[r], cut[r + 1],
                                    want2, rs);
        snprintf(what, sizeof what, "reference vit_attention %dx%d query ranges (%s run)", h, w,
                 v->name);
        check_exact(what, want2, want, (size_t)n * c);
        free(qkv);
        free(tab);
        free(want);
        free(got);
        free(got2);
        free(want2);
        free(rs);
        free(sb);
    }
}

/* ------------------------------------------------ norms and element-wise */

static void test_layer_norm(const variant *v) {
    static const int64_t cases[][2] = {{1, 1}, {5, 7}, {3, 768}, {10, 33}, {4, 8}, {2, 1000}};
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int64_t rows = cases[s][0], c = cases[s][1];
        float *x = rnd_buf((size_t)(rows * c), -3, 3), *g = rnd_buf((size_t)c, 0.5f, 1.5f);
        float *b = rnd_buf((size_t)c, -1, 1);
        if (s == 5)
            for (int64_t i = 0; i < rows * c; i++)
                x[i] = 1000.0f + x[i] * 1e-3f; /* mean >> spread */
        float *want = fill((size_t)(rows * c), 0), *got = fill((size_t)(rows * c), NAN);
        ifk_layer_norm(x, rows, c, g, b, 1e-5f, want);
        v->ops->layer_norm(x, rows, c, g, b, 1e-5f, got);
        snprintf(what, sizeof what, "%s layer_norm %lldx%lld", v->name, (long long)rows,
                 (long long)c);
        check(what, got, want, (size_t)(rows * c), 1e-5, 1e-5);
        free(x);
        free(g);
        free(b);
        free(want);
        free(got);
    }
}

static void test_group_norm(const variant *v) {
    /* hw, c, groups */
    static const int64_t cases[][3] = {{1, 4, 1},    {17, 32, 1}, {50, 64, 32}, {33, 300, 3},
                                       {10, 520, 2}, {9, 13, 13}, {40, 600, 1}};
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int64_t hw = cases[s][0], c = cases[s][1];
        const int groups = (int)cases[s][2], act = (int)(s % 4);
        const size_t n = (size_t)(hw * c);
        float *x = rnd_buf(n, -3, 3), *g = rnd_buf((size_t)c, 0.5f, 1.5f),
              *b = rnd_buf((size_t)c, -1, 1);
        if (s == 6)
            for (size_t i = 0; i < n; i++) x[i] = -500.0f + x[i] * 1e-3f;
        float *want = fill(n, 0), *got = fill(n, NAN);
        ifk_group_norm(x, hw, c, groups, g, b, 1e-5f, act, want);
        v->ops->group_norm(x, hw, c, groups, g, b, 1e-5f, act, got);
        snprintf(what, sizeof what, "%s group_norm hw=%lld c=%lld groups=%d %s", v->name,
                 (long long)hw, (long long)c, groups, act_name[act]);
        check(what, got, want, n, 1e-5, 1e-5);
        memcpy(got, x, n * sizeof *got);
        v->ops->group_norm(got, hw, c, groups, g, b, 1e-5f, act, got);
        snprintf(what, sizeof what, "%s group_norm hw=%lld c=%lld in place", v->name, (long long)hw,
                 (long long)c);
        check(what, got, want, n, 1e-5, 1e-5);
        /* The pieces over two pixel ranges, as the runtime's threads run them. */
        double mean[32], sq[32], part[32];
        float mhi[32], mlo[32], rstd[32];
        const int64_t cut = hw / 3, cg = c / groups;
        for (int pass = 0; pass < 2; pass++) {
            double *acc = pass ? sq : mean;
            for (int k = 0; k < groups; k++) acc[k] = 0.0;
            for (int r = 0; r < 2; r++) {
                const int64_t p0 = r ? cut : 0, p1 = r ? hw : cut;
                for (int k = 0; k < groups; k++) part[k] = 0.0;
                v->ops->group_norm_sums(x + p0 * c, p1 - p0, c, groups, pass ? mean : NULL, part);
                for (int k = 0; k < groups; k++) acc[k] += part[k];
            }
            if (!pass)
                for (int k = 0; k < groups; k++) mean[k] /= (double)hw * cg;
        }
        ifk_group_norm_moments(groups, (double)hw * cg, 1e-5f, mean, sq, mhi, mlo, rstd);
        for (size_t i = 0; i < n; i++) got[i] = NAN;
        v->ops->group_norm_apply(x + cut * c, hw - cut, c, groups, mhi, mlo, rstd, g, b, act,
                                 got + cut * c);
        v->ops->group_norm_apply(x, cut, c, groups, mhi, mlo, rstd, g, b, act, got);
        snprintf(what, sizeof what,
                 "%s group_norm pieces in pixel ranges [0, %lld) + [%lld, %lld) c=%lld groups=%d",
                 v->name, (long long)cut, (long long)cut, (long long)hw, (long long)c, groups);
        check(what, got, want, n, 1e-5, 1e-5);
        free(x);
        free(g);
        free(b);
        free(want);
        free(got);
    }
}

static void test_elementwise(const variant *v) {
    static const int64_t sizes[] = {0, 1, 7, 8, 9, 17, 23, 1031};
    const float special[] = {0.0f,  -0.0f,  3.0f,     -3.0f,     1e-30f, -1e-30f, 100.0f, -100.0f,
                             6.0f,  -6.0f,  INFINITY, -INFINITY, NAN,    0.5f,    -0.5f,  1.0f,
                             -1.0f, 1e-40f, -1e-39f,  3e-38f,    1e38f,  -1e38f,  2.5f,   -2.5f};
    char what[160];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int64_t n = sizes[s];
        float *xb = rnd_buf((size_t)n + 1, -8, 8), *x = xb + 1;
        for (int64_t i = 0; i < n && i < (int64_t)(sizeof special / sizeof special[0]); i++)
            x[i] = special[i];
        /* n >= 0; said so for gcc, whose aarch64 -O2 range analysis sees a negative n */
        const size_t nz = n > 0 ? (size_t)n : 0;
        float *want = fill(nz, 0), *got = fill(nz, 0);
        for (int act = 0; act < 4; act++) {
            ifk_activation(x, n, act, want);
            v->ops->activation(x, n, act, got);
            snprintf(what, sizeof what, "%s activation %s n=%lld", v->name, act_name[act],
                     (long long)n);
            if (act == IFK_ACT_GELU)
                check(what, got, want, (size_t)n, 2e-7, 2e-6);
            else
                check_exact(what, got, want, (size_t)n);
            memcpy(got, x, (size_t)n * sizeof *got);
            v->ops->activation(got, n, act, got);
            snprintf(what, sizeof what, "%s activation %s n=%lld in place", v->name, act_name[act],
                     (long long)n);
            check(what, got, want, (size_t)n, 2e-7, 2e-6);
        }
        float *b = rnd_buf((size_t)n, -1, 1);
        for (int64_t i = 0; i < n; i++) want[i] = x[i] + b[i];
        v->ops->add(x, b, n, got);
        snprintf(what, sizeof what, "%s add n=%lld", v->name, (long long)n);
        check_exact(what, got, want, (size_t)n);
        memcpy(got, x, (size_t)n * sizeof *got);
        v->ops->add(got, b, n, got);
        snprintf(what, sizeof what, "%s add n=%lld in place", v->name, (long long)n);
        check_exact(what, got, want, (size_t)n);
        free(xb);
        free(b);
        free(want);
        free(got);
    }
    /* GELU over a dense range: the vector erf against the exact GELU (erf in
     * double) and against the reference (libm's erff). Both are ~1 ulp off
     * the exact value, and libm's erff is not the same on every target
     * (aarch64 glibc is built with fused multiply-adds): the bound against
     * the reference is the sum of the two, the one against exact is tight. */
    enum { NG = 200001 };
    float *x = xmalloc(NG * sizeof *x), *want = xmalloc(NG * sizeof *want),
          *got = xmalloc(NG * sizeof *got);
    for (int i = 0; i < NG; i++) x[i] = -10.0f + 20.0f * (float)i / (NG - 1);
    ifk_activation(x, NG, IFK_ACT_GELU, want);
    v->ops->activation(x, NG, IFK_ACT_GELU, got);
    double worst = 0, worst_exact = 0, ref_exact = 0;
    for (int i = 0; i < NG; i++) {
        const double s = fmax(1.0, fabs(x[i]));
        const double exact = 0.5 * x[i] * (1.0 + erf((double)x[i] * 0.70710678118654752440));
        worst = fmax(worst, fabs((double)got[i] - want[i]) / s);
        worst_exact = fmax(worst_exact, fabs((double)got[i] - exact) / s);
        ref_exact = fmax(ref_exact, fabs((double)want[i] - exact) / s);
    }
    snprintf(what, sizeof what,
             "%s gelu on [-10, 10]: max |err| / max(1, |x|) = %.2g <= 1.5e-7 (exact), "
             "%.2g <= 2.5e-7 (reference, itself %.2g off)",
             v->name, worst_exact, worst, ref_exact);
    CHECK(worst_exact <= 1.5e-7 && worst <= 2.5e-7, "%s", what);
    if (worst_exact > 1.5e-7 || worst > 2.5e-7) printf("  %s\n", what);
    free(x);
    free(want);
    free(got);
}

static void test_resize(const variant *v) {
    static const int cases[][5] = {{4, 4, 8, 8, 8},     {3, 5, 13, 7, 11}, {16, 16, 64, 33, 47},
                                   {5, 5, 2, 20, 20},   {6, 7, 9, 6, 7},   {8, 6, 16, 3, 2},
                                   {6, 130, 2, 24, 520}};
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int h = cases[s][0], w = cases[s][1], c = cases[s][2], oh = cases[s][3],
                  ow = cases[s][4];
        const size_t ny = (size_t)oh * ow * c;
        float *x = rnd_buf((size_t)h * w * c, -1, 1), *want = fill(ny, 0), *got = fill(ny, NAN);
        ifk_resize_bilinear(x, h, w, c, want, oh, ow, 0, oh);
        v->ops->resize_bilinear(x, h, w, c, got, oh, ow, 0, oh);
        snprintf(what, sizeof what, "%s resize_bilinear %dx%dx%d -> %dx%d", v->name, h, w, c, oh,
                 ow);
        check_exact(what, got, want, ny);
        /* In row ranges, as threads run it: the same values, rows outside untouched. */
        for (size_t i = 0; i < ny; i++) got[i] = NAN;
        const int mid = oh / 3;
        v->ops->resize_bilinear(x, h, w, c, got, oh, ow, mid, oh);
        int outside = 1;
        for (size_t i = 0; i < (size_t)mid * ow * c; i++) outside &= isnan(got[i]);
        v->ops->resize_bilinear(x, h, w, c, got, oh, ow, 0, mid);
        snprintf(what, sizeof what,
                 "%s resize_bilinear %dx%dx%d -> %dx%d in rows [0, %d) + [%d, %d)", v->name, h, w,
                 c, oh, ow, mid, mid, oh);
        CHECK(outside, "%s", what);
        check_exact(what, got, want, ny);
        free(x);
        free(want);
        free(got);
    }
}

/* Adaptive max pooling equals the reference bit for bit, NaN propagating
 * (in a bin's first pixel and later ones), infinities, I-MSA's pooled
 * sizes and odd ones, whole and in row ranges. */
static void test_max_pool(const variant *v) {
    static const int cases[][5] = {{128, 128, 32, 11, 11}, {32, 32, 128, 6, 6}, {16, 16, 256, 5, 5},
                                   {7, 9, 13, 3, 4},       {5, 5, 3, 5, 5},     {9, 8, 40, 4, 3}};
    char what[160];
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        const int h = cases[s][0], w = cases[s][1], c = cases[s][2], oh = cases[s][3],
                  ow = cases[s][4];
        const size_t nx = (size_t)h * w * c, ny = (size_t)oh * ow * c;
        float *x = rnd_buf(nx, -1, 1), *want = fill(ny, 0), *got = fill(ny, 0);
        for (size_t i = 0; i < nx; i += 97) x[i] = NAN;
        for (size_t i = 5; i < nx; i += 131) x[i] = INFINITY;
        for (size_t i = 11; i < nx; i += 89) x[i] = -INFINITY;
        x[(size_t)c - 1] = NAN; /* the first pixel of the first bin */
        ifk_adaptive_max_pool(x, h, w, c, want, oh, ow, 0, oh);
        v->ops->adaptive_max_pool(x, h, w, c, got, oh, ow, 0, oh / 2);
        v->ops->adaptive_max_pool(x, h, w, c, got, oh, ow, oh / 2, oh);
        snprintf(what, sizeof what, "%s adaptive_max_pool %dx%dx%d -> %dx%d", v->name, h, w, c, oh,
                 ow);
        check_exact(what, got, want, ny);
        free(x);
        free(want);
        free(got);
    }
}

/* Softmax rows and the bias gather alone: every tail length. */
static void test_vector_loops(const variant *v) {
    char what[160];
    int bad = 0;
    for (int m = 1; m <= 70; m++) {
        float *row = rnd_buf((size_t)m, -30, 30), *bias = rnd_buf((size_t)m, -2, 2);
        float *want = xmalloc((size_t)m * sizeof *want), *got = xmalloc((size_t)m * sizeof *got);
        for (int wb = 0; wb < 3; wb++) {
            memcpy(want, row, (size_t)m * sizeof *row);
            memcpy(got, row, (size_t)m * sizeof *row);
            const float scale = wb == 1 ? -0.7f : 0.7f; /* a negative scale too */
            const float sw = ifk_f32_softmax_row__c(want, m, scale, wb == 2 ? bias : NULL);
            const float sg = v->isa->softmax_row(got, m, scale, wb == 2 ? bias : NULL);
            if (!(fabsf(sg - sw) <= 2e-6f * sw) && !bad++)
                printf("  %s softmax m=%d: sum %.9g want %.9g\n", v->name, m, (double)sg,
                       (double)sw);
            for (int j = 0; j < m; j++)
                if (!(fabs((double)got[j] - want[j]) <= 1e-7 + 2e-6 * fabs(want[j])) && !bad++)
                    printf("  %s softmax m=%d j=%d: got %.9g want %.9g\n", v->name, m, j,
                           (double)got[j], (double)want[j]);
        }
        int32_t idx[70];
        float tab[200];
        for (int j = 0; j < 200; j++) tab[j] = (float)j;
        for (int j = 0; j < m; j++) idx[j] = (int32_t)(rnd_u32() % 100);
        v->isa->gather(got, m, tab, 120, idx);
        for (int j = 0; j < m; j++)
            if (got[j] != (float)(120 - idx[j]) && !bad++)
                printf("  %s gather m=%d j=%d\n", v->name, m, j);
        free(row);
        free(bias);
        free(want);
        free(got);
    }
    snprintf(what, sizeof what, "%s softmax_row and gather, m = 1..70", v->name);
    CHECK(bad == 0, "%s", what);
}

int main(void) {
    test_select();
    printf("== scalar\n");
    test_linear_f16_ops("scalar", ifk_select("scalar", NULL, 0));
    find_variants();
    for (int i = 0; i < n_vars; i++) {
        const variant *v = &vars[i];
        printf("== %s\n", v->name);
        test_ukr(v);
        test_linear(v);
        test_f16_to_f32(v);
        test_linear_f16(v);
        test_conv2d(v);
        test_inv_bottleneck(v);
        test_conv2d_parts(v);
        test_conv2d_lowres_parts(v);
        test_conv_transpose(v);
        test_attention(v);
        test_vit_attention(v);
        test_layer_norm(v);
        test_group_norm(v);
        test_elementwise(v);
        test_resize(v);
        test_max_pool(v);
        test_vector_loops(v);
    }
    return CHECK_SUMMARY();
}
