/* f32_gemm_6x16_avx2.c -- the AVX2+FMA micro-kernel: 6 rows x 16 columns,
 * 12 ymm accumulators, per k step 2 loads of B, 6 broadcasts of A and 12
 * FMAs (contract: kernels/ukernel.h). Row edges (mr < 6) run a copy of the
 * kernel with fewer rows, column edges mask the loads and stores of C. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_X86

#include <immintrin.h>

#include "kernels/x86/vmath_avx2.h"

IFK_TARGET_AVX2_BEGIN

#define UK_MR 6               /* rows, for kernels/ukernel_rows.h */
enum { MR = UK_MR, NR = 16 }; /* as ifk_isa_avx2 (kernels/isa_tables.c) says */

/* The columns of a row of C that a tile may touch: all 16, or the first nr
 * (masked loads and stores). */
typedef struct {
    int full;
    __m256i m0, m1;
} uk_cols;
static inline uk_cols cols_of(int nr) {
    const uk_cols g = {nr == NR, ifk_mask8(nr), ifk_mask8(nr - 8)};
    return g;
}
static inline __m256 uk_ld(const float *p, int h, uk_cols g) {
    return g.full ? _mm256_loadu_ps(p + 8 * h) : _mm256_maskload_ps(p + 8 * h, h ? g.m1 : g.m0);
}
static inline void uk_st(float *p, int h, __m256 v, uk_cols g) {
    if (g.full)
        _mm256_storeu_ps(p + 8 * h, v);
    else
        _mm256_maskstore_ps(p + 8 * h, h ? g.m1 : g.m0, v);
}
#define UK_V           __m256
#define UK_ADD(a, b)   _mm256_add_ps((a), (b))
#define UK_ACT(v, act) ifk_act8((v), (act))
#include "kernels/ukernel_epilogue.h"

/* The hot loop of every GEMM-shaped op on AVX2. M is a constant in each
 * instantiation below, so acc[][] lives in registers. */
static inline __attribute__((always_inline)) void tile(const int M, int64_t k,
                                                       const float *IF_RESTRICT a, size_t lda,
                                                       const float *IF_RESTRICT b, float *c,
                                                       size_t ldc, int nr, const ifk_epi *e) {
    __m256 c0[MR], c1[MR];
    /* C is only read (if at all) after the k loop: prefetch its lines now,
     * so that a tile of a C bigger than the caches costs no stall. */
    IF_UNROLL_FULL
    for (int i = 0; i < M; i++) {
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + NR - 1), _MM_HINT_T0);
        c0[i] = c1[i] = _mm256_setzero_ps();
    }
    const float *ar[MR];
    IF_UNROLL_FULL
    for (int i = 0; i < M; i++) ar[i] = a + (size_t)i * lda;
    IF_UNROLL(4)
    for (int64_t p = 0; p < k; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        b += NR;
        IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const __m256 ai = _mm256_broadcast_ss(ar[i] + p);
            c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
        }
    }
    uk_epilogue(M, c0, c1, c, ldc, e, cols_of(nr));
}

#define UK_TILE tile
#define UK_NAME ifk_f32_gemm_6x16__avx2
#include "kernels/ukernel_rows.h"

IFK_TARGET_END

#else
typedef int ifk_no_avx2; /* not an x86-64 build: nothing here */
#endif
