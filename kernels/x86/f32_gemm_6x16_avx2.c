/* f32_gemm_6x16_avx2.c -- the AVX2+FMA micro-kernel: 6 rows x 16 columns,
 * 12 ymm accumulators, per k step 2 loads of B, 6 broadcasts of A and 12
 * FMAs (contract: kernels/ukernel.h). Row edges (mr < 6) run a copy of the
 * kernel with fewer rows, column edges mask the loads and stores of C. */
#include "kernels/isa.h"

#ifdef IFK_HAVE_X86

#include <immintrin.h>

#include "kernels/x86/vmath_avx2.h"

enum { MR = 6, NR = 16 };

/* The hot loop of every GEMM-shaped op on AVX2. M is a constant in each
 * instantiation below, so acc[][] lives in registers. */
static inline __attribute__((always_inline)) void tile(const int M, int64_t k,
                                                       const float *restrict a, size_t lda,
                                                       const float *restrict b, float *c,
                                                       size_t ldc, int nr, const ifk_epi *e) {
    __m256 c0[MR], c1[MR];
    const int full = nr == NR;
    const __m256i m0 = ifk_mask8(nr), m1 = ifk_mask8(nr - 8);
    /* C is only read (if at all) after the k loop: prefetch its lines now,
     * so that a tile of a C bigger than the caches costs no stall. */
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + NR - 1), _MM_HINT_T0);
        c0[i] = c1[i] = _mm256_setzero_ps();
    }
    const float *ar[MR];
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) ar[i] = a + (size_t)i * lda;
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        b += NR;
#pragma GCC unroll 16
        for (int i = 0; i < M; i++) {
            const __m256 ai = _mm256_broadcast_ss(ar[i] + p);
            c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
        }
    }
    if (e->flags & IFK_EPI_LOAD) {
#pragma GCC unroll 16
        for (int i = 0; i < M; i++) {
            const float *ci = c + (size_t)i * ldc;
            c0[i] = _mm256_add_ps(full ? _mm256_loadu_ps(ci) : _mm256_maskload_ps(ci, m0), c0[i]);
            c1[i] = _mm256_add_ps(full ? _mm256_loadu_ps(ci + 8) : _mm256_maskload_ps(ci + 8, m1),
                                  c1[i]);
        }
    }
    if (e->flags & IFK_EPI_FINAL) {
        if (e->bias) {
            const __m256 s0 = full ? _mm256_loadu_ps(e->bias) : _mm256_maskload_ps(e->bias, m0);
            const __m256 s1 =
                full ? _mm256_loadu_ps(e->bias + 8) : _mm256_maskload_ps(e->bias + 8, m1);
#pragma GCC unroll 16
            for (int i = 0; i < M; i++) {
                c0[i] = _mm256_add_ps(c0[i], s0);
                c1[i] = _mm256_add_ps(c1[i], s1);
            }
        }
        if (e->act != IFK_ACT_NONE)
#pragma GCC unroll 16
            for (int i = 0; i < M; i++) {
                c0[i] = ifk_act8(c0[i], e->act);
                c1[i] = ifk_act8(c1[i], e->act);
            }
        if (e->res)
#pragma GCC unroll 16
            for (int i = 0; i < M; i++) {
                const float *ri = e->res + (size_t)i * e->ldr;
                c0[i] =
                    _mm256_add_ps(c0[i], full ? _mm256_loadu_ps(ri) : _mm256_maskload_ps(ri, m0));
                c1[i] = _mm256_add_ps(c1[i], full ? _mm256_loadu_ps(ri + 8)
                                                  : _mm256_maskload_ps(ri + 8, m1));
            }
    }
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
        float *ci = c + (size_t)i * ldc;
        if (full) {
            _mm256_storeu_ps(ci, c0[i]);
            _mm256_storeu_ps(ci + 8, c1[i]);
        } else {
            _mm256_maskstore_ps(ci, m0, c0[i]);
            _mm256_maskstore_ps(ci + 8, m1, c1[i]);
        }
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

void ifk_f32_gemm_6x16__avx2(int64_t k, const float *a, size_t lda, const float *b, float *c,
                             size_t ldc, int mr, int nr, const ifk_epi *e) {
    switch (mr) {
    case 6: ukr_6(k, a, lda, b, c, ldc, nr, e); break;
    case 5: ukr_5(k, a, lda, b, c, ldc, nr, e); break;
    case 4: ukr_4(k, a, lda, b, c, ldc, nr, e); break;
    case 3: ukr_3(k, a, lda, b, c, ldc, nr, e); break;
    case 2: ukr_2(k, a, lda, b, c, ldc, nr, e); break;
    case 1: ukr_1(k, a, lda, b, c, ldc, nr, e); break;
    default: break;
    }
}

#else
typedef int ifk_no_avx2; /* not an x86-64 build: nothing here */
#endif
