/* f32_gemm_14x32_avx512.c -- the AVX-512F micro-kernel: 14 rows x 32 columns,
 * 28 zmm accumulators, per k step 2 loads of B, 14 broadcasts of A and 28
 * FMAs (contract: kernels/ukernel.h). Row edges run a copy of the kernel with
 * fewer rows; column edges use masked loads and stores of C. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_X86

#include <immintrin.h>

#include "kernels/x86/vmath_avx512.h"

enum { MR = 14, NR = 32 };

/* The hot loop of every GEMM-shaped op on AVX-512. M is a constant in each
 * instantiation, so acc[][] lives in registers. Rows are addressed from two
 * bases (rows 0-6 and 7-13) with index registers lda, 3 lda and 5 lda, so
 * no row pointer is spilled. */
static inline __attribute__((always_inline)) void tile(const int M, int64_t k,
                                                       const float *restrict a, size_t lda,
                                                       const float *restrict b, float *c,
                                                       size_t ldc, int nr, const ifk_epi *e) {
    __m512 c0[MR], c1[MR];
    const __mmask16 m0 = ifk_mask16(nr), m1 = ifk_mask16(nr - 16);
    /* C is only read (if at all) after the k loop: prefetch its lines now,
     * so that a tile of a C bigger than the caches costs no stall. */
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + NR - 1), _MM_HINT_T0);
        c0[i] = c1[i] = _mm512_setzero_ps();
    }
    const float *a0 = a, *a7 = a + 7 * lda;
#pragma GCC unroll 2
    for (int64_t p = 0; p < k; p++) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        b += NR;
#pragma GCC unroll 16
        for (int i = 0; i < M; i++) {
            const float *ap = i < 7 ? a0 + (size_t)i * lda : a7 + (size_t)(i - 7) * lda;
            const __m512 ai = _mm512_set1_ps(ap[p]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
    }
    if (e->flags & IFK_EPI_LOAD) {
#pragma GCC unroll 16
        for (int i = 0; i < M; i++) {
            const float *ci = c + (size_t)i * ldc;
            c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), c0[i]);
            c1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), c1[i]);
        }
    }
    if (e->flags & IFK_EPI_FINAL) {
        if (e->bias) {
            const __m512 s0 = _mm512_maskz_loadu_ps(m0, e->bias);
            const __m512 s1 = _mm512_maskz_loadu_ps(m1, e->bias + 16);
#pragma GCC unroll 16
            for (int i = 0; i < M; i++) {
                c0[i] = _mm512_add_ps(c0[i], s0);
                c1[i] = _mm512_add_ps(c1[i], s1);
            }
        }
        if (e->act != IFK_ACT_NONE)
#pragma GCC unroll 16
            for (int i = 0; i < M; i++) {
                c0[i] = ifk_act16(c0[i], e->act);
                c1[i] = ifk_act16(c1[i], e->act);
            }
        if (e->res)
#pragma GCC unroll 16
            for (int i = 0; i < M; i++) {
                const float *ri = e->res + (size_t)i * e->ldr;
                c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(m0, ri));
                c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(m1, ri + 16));
            }
    }
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
        float *ci = c + (size_t)i * ldc;
        _mm512_mask_storeu_ps(ci, m0, c0[i]);
        _mm512_mask_storeu_ps(ci + 16, m1, c1[i]);
    }
}

#define ROWS(M)                                                                                    \
    static void ukr_##M(int64_t k, const float *a, size_t lda, const float *b, float *c,           \
                        size_t ldc, int nr, const ifk_epi *e) {                                    \
        tile(M, k, a, lda, b, c, ldc, nr, e);                                                      \
    }
ROWS(1)
ROWS(2)
ROWS(3)
ROWS(4)
ROWS(5)
ROWS(6)
ROWS(7)
ROWS(8)
ROWS(9)
ROWS(10)
ROWS(11)
ROWS(12)
ROWS(13)
ROWS(14)

typedef void (*rows_fn)(int64_t, const float *, size_t, const float *, float *, size_t, int,
                        const ifk_epi *);
static const rows_fn by_rows[MR + 1] = {NULL,  ukr_1, ukr_2,  ukr_3,  ukr_4,  ukr_5,  ukr_6, ukr_7,
                                        ukr_8, ukr_9, ukr_10, ukr_11, ukr_12, ukr_13, ukr_14};

void ifk_f32_gemm_14x32__avx512(int64_t k, const float *a, size_t lda, const float *b, float *c,
                                size_t ldc, int mr, int nr, const ifk_epi *e) {
    if (mr >= 1 && mr <= MR) by_rows[mr](k, a, lda, b, c, ldc, nr, e);
}

#else
typedef int ifk_no_avx512; /* not an x86-64 build: nothing here */
#endif
