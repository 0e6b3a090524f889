/* f32_gemm_14x32_avx512.c -- the AVX-512F micro-kernel: 14 rows x 32 columns,
 * 28 zmm accumulators, per k step 2 loads of B, 14 broadcasts of A and 28
 * FMAs (contract: kernels/ukernel.h). Row edges run a copy of the kernel with
 * fewer rows; column edges use masked loads and stores of C. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_X86

#include <immintrin.h>

#include "kernels/x86/vmath_avx512.h"

IFK_TARGET_AVX512_BEGIN

#define UK_MR 14              /* rows, for kernels/ukernel_rows.h */
enum { MR = UK_MR, NR = 32 }; /* as ifk_isa_avx512 (kernels/isa_tables.c) says */

/* The columns of a row of C that a tile may touch: masks of the first nr
 * (all 32 in a full tile). */
typedef struct {
    __mmask16 m0, m1;
} uk_cols;
static inline uk_cols cols_of(int nr) {
    const uk_cols g = {ifk_mask16(nr), ifk_mask16(nr - 16)};
    return g;
}
static inline __m512 uk_ld(const float *p, int h, uk_cols g) {
    return _mm512_maskz_loadu_ps(h ? g.m1 : g.m0, p + 16 * h);
}
static inline void uk_st(float *p, int h, __m512 v, uk_cols g) {
    _mm512_mask_storeu_ps(p + 16 * h, h ? g.m1 : g.m0, v);
}
#define UK_V           __m512
#define UK_ADD(a, b)   _mm512_add_ps((a), (b))
#define UK_ACT(v, act) ifk_act16((v), (act))
#include "kernels/ukernel_epilogue.h"

/* The hot loop of every GEMM-shaped op on AVX-512. M is a constant in each
 * instantiation, so acc[][] lives in registers. Rows are addressed from two
 * bases (rows 0-6 and 7-13) with index registers lda, 3 lda and 5 lda, so
 * no row pointer is spilled. */
static inline __attribute__((always_inline)) void tile(const int M, int64_t k,
                                                       const float *IF_RESTRICT a, size_t lda,
                                                       const float *IF_RESTRICT b, float *c,
                                                       size_t ldc, int nr, const ifk_epi *e) {
    __m512 c0[MR], c1[MR];
    /* C is only read (if at all) after the k loop: prefetch its lines now,
     * so that a tile of a C bigger than the caches costs no stall. */
    IF_UNROLL_FULL
    for (int i = 0; i < M; i++) {
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + NR - 1), _MM_HINT_T0);
        c0[i] = c1[i] = _mm512_setzero_ps();
    }
    const float *a0 = a, *a7 = a + 7 * lda;
    IF_UNROLL(2)
    for (int64_t p = 0; p < k; p++) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        b += NR;
        IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const float *ap = i < 7 ? a0 + (size_t)i * lda : a7 + (size_t)(i - 7) * lda;
            const __m512 ai = _mm512_set1_ps(ap[p]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
    uk_epilogue(M, c0, c1, c, ldc, e, cols_of(nr));
}

#define UK_TILE tile
#define UK_NAME ifk_f32_gemm_14x32__avx512
#include "kernels/ukernel_rows.h"

IFK_TARGET_END

#else
typedef int ifk_no_avx512; /* not an x86-64 build: nothing here */
#endif
