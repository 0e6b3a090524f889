/* if-bench-kernels -- single-thread microbenchmark of the hot kernels for
 * every instruction set this CPU runs: GFLOP/s and percent of the measured
 * FMA peak of the ISA.
 *
 *   if-bench-kernels [--isa scalar,avx2,avx512,neon] [--op ukr,gemm,conv,dw,attn,vit,all]
 *                    [--quick] [--reps N]
 *
 * peak: only the measured FMA peak line of each ISA (`make bench` reads it);
 * ukr:  the micro-kernel alone on L1-resident packed panels (k = 256);
 * gemm: ops->linear on ViT/decoder shapes (M x K x N);
 * conv: 3x3 s1 p1 convolutions on 128x128 maps (the UPerHead), the 16x16
 *       s16 patch embedding, 2x2 s2 and 3x3 s2;
 * dw:   depthwise 3x3 + hardswish; attn: IMSA attention; vit: ViT-B
 *       attention at 512x512 (1025 tokens, 12 heads, d = 64).
 * Peaks: a loop of independent FMAs per ISA (2 x 8 or 2 x 16 lanes x 2
 * flops per cycle on this class of core); times are the best of N runs
 * (default 15: the minimum filters out other processes on a shared
 * machine). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/dispatch.h"
#include "kernels/isa.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *fbuf(size_t n) {
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float))) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    uint32_t s = 12345u + (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.5f;
    }
    return p;
}

static void *sbuf(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64)) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memset(p, 0, bytes ? bytes : 64);
    return p;
}

/* ------------------------------------------------------------ FMA peak */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* Independent FMA chains, written out so that they stay in registers. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
__attribute__((target("avx2,fma"))) static float peak_loop_avx2(long iters) {
    const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-6f);
#define DECL(i) __m256 a##i = _mm256_set1_ps((float)i);
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, x, y);
#define SUM(i)  s = _mm256_add_ps(s, a##i);
    CHAINS(DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS(STEP)
    }
    __m256 s = _mm256_setzero_ps();
    CHAINS(SUM)
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
#undef DECL
#undef STEP
#undef SUM
}
__attribute__((target("avx512f"))) static float peak_loop_avx512(long iters) {
    const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-6f);
#define DECL(i) __m512 a##i = _mm512_set1_ps((float)i), b##i = _mm512_set1_ps((float)i + 0.5f);
#define STEP(i)                                                                                    \
    a##i = _mm512_fmadd_ps(a##i, x, y);                                                            \
    b##i = _mm512_fmadd_ps(b##i, x, y);
#define SUM(i) s = _mm512_add_ps(s, _mm512_add_ps(a##i, b##i));
    CHAINS(DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS(STEP)
    }
    __m512 s = _mm512_setzero_ps();
    CHAINS(SUM)
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
#undef DECL
#undef STEP
#undef SUM
}
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
/* 16 independent chains of 4-lane FMAs (AArch64 has 32 vector registers). */
#define CHAINS16(X)                                                                                \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
static float peak_loop_neon(long iters) {
    const float32x4_t x = vdupq_n_f32(0.999f), y = vdupq_n_f32(1e-6f);
#define DECL(i) float32x4_t a##i = vdupq_n_f32((float)i);
#define STEP(i) a##i = vfmaq_f32(y, a##i, x);
#define SUM(i)  s = vaddq_f32(s, a##i);
    CHAINS16(DECL)
    for (long it = 0; it < iters; it++) {
        CHAINS16(STEP)
    }
    float32x4_t s = vdupq_n_f32(0.0f);
    CHAINS16(SUM)
    return vgetq_lane_f32(s, 0);
#undef DECL
#undef STEP
#undef SUM
}
#endif

static volatile float sink;

/* GFLOP/s of one core at the ISA's FMA peak (0 when unknown). */
static double peak_gflops(const char *isa) {
#if defined(__aarch64__) && defined(__ARM_NEON)
    if (strcmp(isa, "neon")) return 0;
    const long iters = 1000000;
    double best = 1e9;
    for (int r = 0; r < 20; r++) {
        const double t0 = now_s();
        sink = peak_loop_neon(iters);
        const double t = now_s() - t0;
        if (t < best) best = t;
    }
    return 16.0 * 4 * 2 * iters / best * 1e-9;
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    const long iters = 1000000;
    double best = 1e9;
    for (int r = 0; r < 40; r++) {
        const double t0 = now_s();
        if (!strcmp(isa, "avx2"))
            sink = peak_loop_avx2(iters);
        else if (!strcmp(isa, "avx512"))
            sink = peak_loop_avx512(iters);
        else
            return 0;
        const double t = now_s() - t0;
        if (t < best) best = t;
    }
    const double flops = !strcmp(isa, "avx2") ? 12.0 * 8 * 2 * iters : 24.0 * 16 * 2 * iters;
    return flops / best * 1e-9;
#else
    (void)isa;
    return 0;
#endif
}

/* ------------------------------------------------------------ harness */

static int reps = 15;

typedef struct {
    const ifk_ops *ops;
    const ifk_isa *isa; /* NULL for scalar */
    double peak;
} variant;

static void report(const char *what, const variant *v, double flops, double t, double t_scalar) {
    const double g = flops / t * 1e-9;
    printf("  %-44s %-7s %8.3f ms %8.1f GFLOP/s", what, v->ops->name, t * 1e3, g);
    if (v->peak > 0) printf("  %5.1f%% of peak", 100.0 * g / v->peak);
    if (t_scalar > 0 && v->isa) printf("  x%.1f vs scalar", t_scalar / t);
    printf("\n");
}

#define TIME_BEST(best, stmt)                                                                      \
    do {                                                                                           \
        best = 1e30;                                                                               \
        for (int r_ = 0; r_ < reps; r_++) {                                                        \
            const double t0_ = now_s();                                                            \
            stmt;                                                                                  \
            const double t_ = now_s() - t0_;                                                       \
            if (t_ < best) best = t_;                                                              \
        }                                                                                          \
    } while (0)

static void bench_ukr(const variant *v) {
    if (!v->isa) return;
    const ifk_isa *I = v->isa;
    const int k = 256;
    float *a = fbuf((size_t)I->mr * k), *b = fbuf((size_t)k * I->nr),
          *c = fbuf((size_t)I->mr * I->nr);
    const ifk_epi e = {IFK_EPI_LOAD, IFK_ACT_NONE, NULL, NULL, 0};
    const long calls = 20000;
    double t;
    TIME_BEST(t, for (long i = 0; i < calls; i++)
                     I->ukr(k, a, (size_t)k, b, c, (size_t)I->nr, I->mr, I->nr, &e));
    char what[64];
    snprintf(what, sizeof what, "ukr %dx%d k=%d (L1)", I->mr, I->nr, k);
    report(what, v, 2.0 * I->mr * I->nr * k * (double)calls, t, 0);
    free(a);
    free(b);
    free(c);
}

static void bench_gemm(const variant *vs, int nv, int quick) {
    static const int64_t shapes[][3] = {
        {1024, 768, 768}, {1024, 768, 2304}, {1024, 768, 3072}, {1024, 3072, 768}, {4096, 768, 768},
        {16384, 256, 64}, {16384, 32, 32},   {4096, 256, 64},   {16384, 64, 256},  {225, 256, 512},
    };
    const int ns = quick ? 5 : (int)(sizeof shapes / sizeof shapes[0]);
    for (int s = 0; s < ns; s++) {
        const int64_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        float *x = fbuf((size_t)(m * k)), *w = fbuf((size_t)(n * k)), *bias = fbuf((size_t)n);
        float *y = fbuf((size_t)(m * n));
        void *scr = sbuf(ifk_linear_scratch_bytes(m, k, n));
        char what[64];
        snprintf(what, sizeof what, "linear M=%lld K=%lld N=%lld", (long long)m, (long long)k,
                 (long long)n);
        double ts = 0;
        for (int i = 0; i < nv; i++) {
            double t;
            const int saved = reps;
            if (!vs[i].isa && m * k * n > 1e9) reps = 1;
            TIME_BEST(t, vs[i].ops->linear(x, m, k, w, bias, n, IFK_ACT_NONE, y, scr));
            reps = saved;
            if (!vs[i].isa) ts = t;
            report(what, &vs[i], 2.0 * m * k * n, t, ts);
        }
        free(x);
        free(w);
        free(bias);
        free(y);
        free(scr);
    }
}

static void bench_conv_one(const variant *vs, int nv, ifk_conv_params p, const char *label) {
    int ho, wo;
    ifk_conv2d_out_size(&p, &ho, &wo);
    const size_t K = (size_t)p.kh * p.kw * (p.cin / p.groups);
    float *x = fbuf((size_t)p.h * p.w * p.cin), *wt = fbuf((size_t)p.cout * K),
          *bias = fbuf((size_t)p.cout);
    float *y = fbuf((size_t)ho * wo * p.cout);
    void *scr = sbuf(ifk_conv2d_scratch_bytes(&p));
    const double flops = 2.0 * ho * wo * p.cout * (double)K;
    double ts = 0;
    for (int i = 0; i < nv; i++) {
        double t;
        const int saved = reps;
        if (!vs[i].isa) reps = 2;
        TIME_BEST(t, vs[i].ops->conv2d(x, &p, wt, NULL, bias, y, scr));
        reps = saved;
        if (!vs[i].isa) ts = t;
        report(label, &vs[i], flops, t, ts);
    }
    free(x);
    free(wt);
    free(bias);
    free(y);
    free(scr);
}

static void bench_conv(const variant *vs, int nv, int quick) {
    static const int cins[] = {64, 256, 320};
    for (int i = 0; i < 3; i++) {
        ifk_conv_params p = {.h = 128,
                             .w = 128,
                             .cin = cins[i],
                             .cout = 64,
                             .kh = 3,
                             .kw = 3,
                             .sh = 1,
                             .sw = 1,
                             .pt = 1,
                             .pl = 1,
                             .pb = 1,
                             .pr = 1,
                             .groups = 1,
                             .act = IFK_ACT_RELU};
        char label[64];
        snprintf(label, sizeof label, "conv3x3 s1 128x128 %d->64 relu", cins[i]);
        bench_conv_one(vs, nv, p, label);
        if (quick) break;
    }
    if (quick) return;
    ifk_conv_params pe = {.h = 512,
                          .w = 512,
                          .cin = 3,
                          .cout = 768,
                          .kh = 16,
                          .kw = 16,
                          .sh = 16,
                          .sw = 16,
                          .groups = 1};
    bench_conv_one(vs, nv, pe, "conv16x16 s16 512x512 3->768 (patch embed)");
    ifk_conv_params p2 = {
        .h = 64, .w = 64, .cin = 256, .cout = 256, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .groups = 1};
    bench_conv_one(vs, nv, p2, "conv2x2 s2 64x64 256->256");
    ifk_conv_params p3 = {.h = 64,
                          .w = 64,
                          .cin = 128,
                          .cout = 128,
                          .kh = 3,
                          .kw = 3,
                          .sh = 2,
                          .sw = 2,
                          .pt = 1,
                          .pl = 1,
                          .pb = 1,
                          .pr = 1,
                          .groups = 1};
    bench_conv_one(vs, nv, p3, "conv3x3 s2 64x64 128->128");
    ifk_conv_params p1 = {.h = 128,
                          .w = 128,
                          .cin = 64,
                          .cout = 64,
                          .kh = 1,
                          .kw = 1,
                          .sh = 1,
                          .sw = 1,
                          .groups = 1,
                          .act = IFK_ACT_HARDSWISH};
    bench_conv_one(vs, nv, p1, "conv1x1 128x128 64->64 hardswish");
}

static void bench_dw(const variant *vs, int nv) {
    ifk_conv_params p = {.h = 128,
                         .w = 128,
                         .cin = 256,
                         .cout = 256,
                         .kh = 3,
                         .kw = 3,
                         .sh = 1,
                         .sw = 1,
                         .pt = 1,
                         .pl = 1,
                         .pb = 1,
                         .pr = 1,
                         .groups = 256,
                         .act = IFK_ACT_HARDSWISH};
    bench_conv_one(vs, nv, p, "dwconv3x3 128x128x256 hardswish");
}

/* The decoder MLPs (Light's four stages): the fused inverted bottleneck,
 * and its expand and project GEMMs alone (linear, B packed per call). */
static void bench_ib(const variant *vs, int nv, int quick) {
    static const int cfg[][5] = {{128, 128, 32, 256, 32},
                                 {64, 64, 64, 512, 64},
                                 {32, 32, 128, 512, 128},
                                 {16, 16, 256, 1024, 256}};
    const int ncfg = quick ? 1 : 4;
    for (int s = 0; s < ncfg; s++) {
        ifk_ib_params p = {.h = cfg[s][0],
                           .w = cfg[s][1],
                           .cin = cfg[s][2],
                           .cmid = cfg[s][3],
                           .cout = cfg[s][4],
                           .act_expand = IFK_ACT_HARDSWISH,
                           .act_dw = IFK_ACT_HARDSWISH};
        const int64_t hw = (int64_t)p.h * p.w;
        float *x = fbuf((size_t)hw * p.cin), *y = fbuf((size_t)hw * p.cout),
              *mid = fbuf((size_t)hw * p.cmid);
        float *we = fbuf((size_t)p.cmid * p.cin), *wd = fbuf((size_t)p.cmid * 9),
              *wp = fbuf((size_t)p.cout * p.cmid), *b = fbuf((size_t)p.cmid);
        const float *w6[6] = {we, b, wd, b, wp, b};
        void *scr = sbuf(ifk_inv_bottleneck_scratch_bytes(&p));
        void *lscr = sbuf(ifk_linear_scratch_bytes(hw, p.cmid, p.cmid));
        const double f_exp = 2.0 * hw * p.cin * p.cmid, f_dw = 18.0 * hw * p.cmid,
                     f_proj = 2.0 * hw * p.cmid * p.cout;
        char what[96];
        for (int i = 0; i < nv; i++) {
            void *prep = sbuf(vs[i].ops->inv_bottleneck_prep_bytes(&p));
            vs[i].ops->inv_bottleneck_prep(&p, w6, prep);
            double t;
            snprintf(what, sizeof what, "inv bottleneck %dx%d %d->%d->%d", p.h, p.w, p.cin, p.cmid,
                     p.cout);
            TIME_BEST(t, vs[i].ops->inv_bottleneck(x, &p, prep, x, y, scr));
            report(what, &vs[i], f_exp + f_dw + f_proj, t, 0);
            snprintf(what, sizeof what, "  expand %lld x %d -> %d hardswish", (long long)hw, p.cin,
                     p.cmid);
            TIME_BEST(t,
                      vs[i].ops->linear(x, hw, p.cin, we, b, p.cmid, IFK_ACT_HARDSWISH, mid, lscr));
            report(what, &vs[i], f_exp, t, 0);
            snprintf(what, sizeof what, "  project %lld x %d -> %d", (long long)hw, p.cmid, p.cout);
            TIME_BEST(t, vs[i].ops->linear(mid, hw, p.cmid, wp, b, p.cout, IFK_ACT_NONE, y, lscr));
            report(what, &vs[i], f_proj, t, 0);
            free(prep);
        }
        free(x);
        free(y);
        free(mid);
        free(we);
        free(wd);
        free(wp);
        free(b);
        free(scr);
        free(lscr);
    }
}

static void bench_attn(const variant *vs, int nv, int quick) {
    static const int cfg[][4] = {
        {16384, 225, 32, 1}, {4096, 225, 64, 2}, {1024, 225, 128, 4}, {256, 225, 256, 8}};
    const int ncfg = quick ? 1 : 4;
    for (int s = 0; s < ncfg; s++) {
        const int64_t nq = cfg[s][0], m = cfg[s][1];
        const int c = cfg[s][2], heads = cfg[s][3];
        float *q = fbuf((size_t)(nq * c)), *kv = fbuf((size_t)(m * 2 * c)),
              *y = fbuf((size_t)(nq * c));
        void *scr = sbuf(ifk_attention_scratch_bytes(nq, m, c, heads));
        char what[64];
        snprintf(what, sizeof what, "attention nq=%lld m=%lld c=%d heads=%d", (long long)nq,
                 (long long)m, c, heads);
        double ts = 0;
        for (int i = 0; i < nv; i++) {
            double t;
            TIME_BEST(t, vs[i].ops->attention(q, nq, kv, m, c, heads, 0.17f, y, scr));
            if (!vs[i].isa) ts = t;
            report(what, &vs[i], 4.0 * nq * m * c, t, ts);
        }
        free(q);
        free(kv);
        free(y);
        free(scr);
    }
}

static void bench_vit(const variant *vs, int nv) {
    const int h = 32, w = 32, c = 768, heads = 12, gh = 32, gw = 32, n = 1 + h * w;
    const int R = (2 * gh - 1) * (2 * gw - 1) + 3;
    float *qkv = fbuf((size_t)n * 3 * c), *tab = fbuf((size_t)R * heads), *y = fbuf((size_t)n * c);
    void *scr = sbuf(ifk_vit_attention_scratch_bytes(h, w, c, heads, gh, gw));
    double ts = 0;
    for (int i = 0; i < nv; i++) {
        double t;
        const int saved = reps;
        if (!vs[i].isa) reps = 2;
        TIME_BEST(t,
                  vs[i].ops->vit_attention(qkv, h, w, c, heads, 0.125f, tab, gh, gw, 0, n, y, scr));
        reps = saved;
        if (!vs[i].isa) ts = t;
        report("vit_attention 32x32 (N=1025) c=768 heads=12", &vs[i], 4.0 * n * n * c, t, ts);
    }
    free(qkv);
    free(tab);
    free(y);
    free(scr);
}

static int has(const char *list, const char *item) {
    const size_t n = strlen(item);
    for (const char *p = list; (p = strstr(p, item)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *isa_list = "scalar,avx2,avx512,neon", *op_list = "all";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--isa") && i + 1 < argc)
            isa_list = argv[++i];
        else if (!strcmp(argv[i], "--op") && i + 1 < argc)
            op_list = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--isa scalar,generic,avx2,avx512,neon,wasm] "
                    "[--op peak,ukr,gemm,conv,dw,ib,attn,vit,all] [--quick] [--reps N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    static const char *names[] = {"scalar", "generic", "avx2", "avx512", "neon", "wasm"};
    enum { N_NAMES = sizeof names / sizeof names[0] };
    variant vs[N_NAMES];
    int nv = 0;
    for (int i = 0; i < N_NAMES; i++) {
        if (!has(isa_list, names[i])) continue;
        char why[160];
        const ifk_ops *ops = ifk_select(names[i], why, sizeof why);
        if (!ops) {
            printf("skip %s: %s\n", names[i], why);
            continue;
        }
        /* isa: NULL for scalar (no ifk_isa: the reference kernels) */
        variant v = {ops, ifk__isa_named(names[i]), peak_gflops(names[i])};
        if (v.peak > 0) printf("%s: measured FMA peak %.1f GFLOP/s (one core)\n", names[i], v.peak);
        vs[nv++] = v;
    }
    const int all = has(op_list, "all");
    if (all || has(op_list, "ukr")) {
        printf("micro-kernel\n");
        for (int i = 0; i < nv; i++) bench_ukr(&vs[i]);
    }
    if (all || has(op_list, "gemm")) {
        printf("gemm\n");
        bench_gemm(vs, nv, quick);
    }
    if (all || has(op_list, "conv")) {
        printf("conv\n");
        bench_conv(vs, nv, quick);
    }
    if (all || has(op_list, "dw")) {
        printf("depthwise\n");
        bench_dw(vs, nv);
    }
    if (all || has(op_list, "ib")) {
        printf("inverted bottleneck\n");
        bench_ib(vs, nv, quick);
    }
    if (all || has(op_list, "attn")) {
        printf("attention\n");
        bench_attn(vs, nv, quick);
    }
    if (all || has(op_list, "vit")) {
        printf("vit attention\n");
        bench_vit(vs, nv);
    }
    return 0;
}
