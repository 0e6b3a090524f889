/* f32_gemm_8x8_neon.c -- the AArch64 NEON micro-kernel: 8 rows x 8 columns,
 * 16 q-register accumulators (contract: kernels/ukernel.h), the micro-kernel
 * of the "neon" instruction set (kernels/isa_tables.c).
 *
 * Register block. A is not packed column-wise (the drivers hand over rows,
 * lda apart, k contiguous), so its values come in as q registers of 4
 * consecutive k of one row (ld128) and are broadcast from their lanes by
 * FMLA (by element): per 4 k steps 8 loads of A, 8 loads of B and 64
 * FMLAs. That is 16 accumulators + 8 A + 2-4 B of the 32 registers; 8x12
 * would need 24 + 8 + 3 and spill. 16 independent accumulators cover the
 * FMA latency of 4-pipe cores (4 x 4 cycles), and NR = 8 divides the
 * head dimensions (32, 64) and channel counts of the model, so the
 * attention and conv panels carry no zero columns.
 *
 * Each accumulator still takes its k terms one FMA at a time in increasing
 * k, as the contract asks. Full tiles run the k loop in inline assembly
 * (loop8: why there); row edges (mr < 8) run the intrinsics kernel with
 * fewer rows; column edges (nr < 8) load and store C, bias and the
 * residual lane-wise (NEON has no masked loads). */

#include "kernels/isa.h"

#ifdef IFK_HAVE_NEON

#include <arm_neon.h>

#include "kernels/arm/vmath_neon.h"

#define UK_MR 8              /* rows, for kernels/ukernel_rows.h */
enum { MR = UK_MR, NR = 8 }; /* as ifk_isa_neon (kernels/isa_tables.c) says */

/* The columns of a row of C that a tile may touch: all 8, or the first nr
 * (lane-wise loads and stores: NEON has no masked ones). Half h is columns
 * [4h, 4h + 4), of which n[h] are valid. */
typedef struct {
    int full, n[2];
} uk_cols;
static inline uk_cols cols_of(int nr) {
    const uk_cols g = {nr == NR, {nr < 4 ? nr : 4, nr > 4 ? nr - 4 : 0}};
    return g;
}
static inline float32x4_t uk_ld(const float *p, int h, uk_cols g) {
    return g.full ? vld1q_f32(p + 4 * h) : ifk_load4(p + 4 * h, g.n[h]);
}
static inline void uk_st(float *p, int h, float32x4_t v, uk_cols g) {
    if (g.full)
        vst1q_f32(p + 4 * h, v);
    else
        ifk_store4(p + 4 * h, v, g.n[h]);
}
#define UK_V           float32x4_t
#define UK_ADD(a, b)   vaddq_f32((a), (b))
#define UK_ACT(v, act) ifk_act4((v), (act))
#include "kernels/ukernel_epilogue.h"

/* One k step of all M rows with lane L of the A registers. */
#define STEP(L)                                                                                    \
    do {                                                                                           \
        const float32x4_t b0 = vld1q_f32(b + (L)*NR), b1 = vld1q_f32(b + (L)*NR + 4);              \
        _Pragma("GCC unroll 8") for (int i = 0; i < M; i++) {                                      \
            c0[i] = vfmaq_laneq_f32(c0[i], b0, av[i], L);                                          \
            c1[i] = vfmaq_laneq_f32(c1[i], b1, av[i], L);                                          \
        }                                                                                          \
    } while (0)

/* The full 8-row block over k4 = 4 n4 > 0 steps, in assembly: gcc (12)
 * gives the intrinsics above 6-9 needless register moves per 64 FMLAs (it
 * splits the tied accumulator of FMLA by element), up to 1/8 of the FMA
 * pipes on cores without vector move elimination; and an asm statement
 * cannot take 16 accumulators as operands (30 at most, in-out counting
 * twice). So the accumulators live in v16-v31 for the whole loop (row i
 * in v(16+2i), v(17+2i)) and are stored to acc[8][8] at the end; A rows
 * in v0-v7 (4 k each), B double-buffered in v8-v11 at immediate offsets
 * (post-indexed loads would chain the 4 B loads through the write-back of
 * one pointer). Same operations in the same order per accumulator as the
 * intrinsics. Static estimate (llvm-mca 14, cycles per 64 FMLAs; the
 * intrinsics as gcc 12 compiles them in brackets): Cortex-A57/A72 model
 * 64.1 (68.1), Apple A13 21.4 (24.1), A64FX 36.1 (44.1), Cortex-A55 69
 * (68), Cortex-A53 119 (119). */
#define LANE(L, b0, b1)                                                                            \
    "fmla v16.4s, " b0 ".4s, v0.s[" #L "]\n\t"                                                     \
    "fmla v17.4s, " b1 ".4s, v0.s[" #L "]\n\t"                                                     \
    "fmla v18.4s, " b0 ".4s, v1.s[" #L "]\n\t"                                                     \
    "fmla v19.4s, " b1 ".4s, v1.s[" #L "]\n\t"                                                     \
    "fmla v20.4s, " b0 ".4s, v2.s[" #L "]\n\t"                                                     \
    "fmla v21.4s, " b1 ".4s, v2.s[" #L "]\n\t"                                                     \
    "fmla v22.4s, " b0 ".4s, v3.s[" #L "]\n\t"                                                     \
    "fmla v23.4s, " b1 ".4s, v3.s[" #L "]\n\t"                                                     \
    "fmla v24.4s, " b0 ".4s, v4.s[" #L "]\n\t"                                                     \
    "fmla v25.4s, " b1 ".4s, v4.s[" #L "]\n\t"                                                     \
    "fmla v26.4s, " b0 ".4s, v5.s[" #L "]\n\t"                                                     \
    "fmla v27.4s, " b1 ".4s, v5.s[" #L "]\n\t"                                                     \
    "fmla v28.4s, " b0 ".4s, v6.s[" #L "]\n\t"                                                     \
    "fmla v29.4s, " b1 ".4s, v6.s[" #L "]\n\t"                                                     \
    "fmla v30.4s, " b0 ".4s, v7.s[" #L "]\n\t"                                                     \
    "fmla v31.4s, " b1 ".4s, v7.s[" #L "]\n\t"

static inline __attribute__((always_inline)) void loop8(int64_t n4, const float *a, size_t lda,
                                                        const float *b, float acc[MR * NR]) {
    const float *a1, *a2, *a3, *a4, *a5, *a6, *a7;
    __asm__ volatile(
        "add %[a1], %[a0], %[ld]\n\t"
        "add %[a2], %[a1], %[ld]\n\t"
        "add %[a3], %[a2], %[ld]\n\t"
        "add %[a4], %[a3], %[ld]\n\t"
        "add %[a5], %[a4], %[ld]\n\t"
        "add %[a6], %[a5], %[ld]\n\t"
        "add %[a7], %[a6], %[ld]\n\t"
        "movi v16.4s, #0\n\t"
        "movi v17.4s, #0\n\t"
        "movi v18.4s, #0\n\t"
        "movi v19.4s, #0\n\t"
        "movi v20.4s, #0\n\t"
        "movi v21.4s, #0\n\t"
        "movi v22.4s, #0\n\t"
        "movi v23.4s, #0\n\t"
        "movi v24.4s, #0\n\t"
        "movi v25.4s, #0\n\t"
        "movi v26.4s, #0\n\t"
        "movi v27.4s, #0\n\t"
        "movi v28.4s, #0\n\t"
        "movi v29.4s, #0\n\t"
        "movi v30.4s, #0\n\t"
        "movi v31.4s, #0\n\t"
        "1:\n\t"
        "ldr q0, [%[a0]], #16\n\t"
        "ldr q1, [%[a1]], #16\n\t"
        "ldr q2, [%[a2]], #16\n\t"
        "ldr q3, [%[a3]], #16\n\t"
        "ldr q4, [%[a4]], #16\n\t"
        "ldr q5, [%[a5]], #16\n\t"
        "ldr q6, [%[a6]], #16\n\t"
        "ldr q7, [%[a7]], #16\n\t"
        "ldp q8, q9, [%[b]]\n\t"
        "ldp q10, q11, [%[b], #32]\n\t" LANE(0, "v8", "v9") "ldp q8, q9, [%[b], #64]\n\t" LANE(
            1, "v10", "v11") "ldp q10, q11, [%[b], #96]\n\t"
                             "add %[b], %[b], #128\n\t" LANE(2, "v8", "v9")
                                 LANE(3, "v10", "v11") "subs %[n], %[n], #1\n\t"
                                                       "b.ne 1b\n\t"
                                                       "stp q16, q17, [%[acc]]\n\t"
                                                       "stp q18, q19, [%[acc], #32]\n\t"
                                                       "stp q20, q21, [%[acc], #64]\n\t"
                                                       "stp q22, q23, [%[acc], #96]\n\t"
                                                       "stp q24, q25, [%[acc], #128]\n\t"
                                                       "stp q26, q27, [%[acc], #160]\n\t"
                                                       "stp q28, q29, [%[acc], #192]\n\t"
                                                       "stp q30, q31, [%[acc], #224]\n\t"
        : [a0] "+r"(a), [b] "+r"(b), [n] "+r"(n4), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
          [a4] "=&r"(a4), [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7)
        : [ld] "r"(lda * sizeof(float)), [acc] "r"(acc)
        : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v16", "v17",
          "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
          "v31", "cc", "memory");
}

/* The hot loop of every GEMM-shaped op on AArch64. M is a constant in each
 * instantiation below, so c0[], c1[] and av[] live in registers. */
static inline __attribute__((always_inline)) void tile(const int M, int64_t k,
                                                       const float *IF_RESTRICT a, size_t lda,
                                                       const float *IF_RESTRICT b, float *c,
                                                       size_t ldc, int nr, const ifk_epi *e) {
    float32x4_t c0[MR], c1[MR];
    const float *ar[MR];
    /* C is only read (if at all) after the k loop: ask for its lines now,
     * so that a tile of a C bigger than the caches costs no stall. */
    IF_UNROLL_FULL
    for (int i = 0; i < M; i++) {
        __builtin_prefetch(c + (size_t)i * ldc, 1, 3);
        __builtin_prefetch(c + (size_t)i * ldc + NR - 1, 1, 3);
        c0[i] = c1[i] = vdupq_n_f32(0.0f);
        ar[i] = a + (size_t)i * lda;
    }
    if (M == MR) {
        if (k >= 4) {
            float acc[MR * NR];
            loop8(k >> 2, a, lda, b, acc);
            IF_UNROLL_FULL
            for (int i = 0; i < M; i++) {
                c0[i] = vld1q_f32(acc + i * NR);
                c1[i] = vld1q_f32(acc + i * NR + 4);
                ar[i] += k & ~(int64_t)3;
            }
            b += (k >> 2) * 4 * NR;
        }
    } else {
        for (int64_t n4 = k >> 2; n4 > 0; n4--) {
            float32x4_t av[MR];
            IF_UNROLL_FULL
            for (int i = 0; i < M; i++) {
                av[i] = vld1q_f32(ar[i]);
                ar[i] += 4;
            }
            STEP(0);
            STEP(1);
            STEP(2);
            STEP(3);
            b += 4 * NR;
        }
    }
    for (int64_t p = 0; p < (k & 3); p++) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        b += NR;
        IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const float32x4_t ai = vld1q_dup_f32(ar[i] + p);
            c0[i] = vfmaq_f32(c0[i], b0, ai);
            c1[i] = vfmaq_f32(c1[i], b1, ai);
        }
    }
    uk_epilogue(M, c0, c1, c, ldc, e, cols_of(nr));
}

#define UK_TILE tile
#define UK_NAME ifk_f32_gemm_8x8__neon
#include "kernels/ukernel_rows.h"

#else
typedef int ifk_no_neon; /* not an AArch64 NEON build: nothing here */
#endif
