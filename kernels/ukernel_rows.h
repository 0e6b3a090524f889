/* ukernel_rows.h -- a micro-kernel from its tile function, written once:
 * the row edges (mr < MR) run a copy of the tile with fewer rows, one
 * function per row count (each with its count a constant, so that its
 * accumulators live in registers), chosen from a table.
 *
 * The including file defines first:
 *   UK_MR        the register block's rows (1 to 16)
 *   UK_TILE      its tile function: UK_TILE(M, k, a, lda, b, c, ldc, nr, e)
 *                for M rows (always_inline)
 *   UK_NAME      the micro-kernel's name (kernels/isa.h)
 * and gets UK_NAME, an ifk_ukr_fn (kernels/ukernel.h). */

typedef void (*uk_rows_fn)(int64_t k, const float *a, size_t lda, const float *b, float *c,
                           size_t ldc, int nr, const ifk_epi *e);

#define UK_ROWS(M)                                                                                 \
    static void uk_rows_##M(int64_t k, const float *a, size_t lda, const float *b, float *c,       \
                            size_t ldc, int nr, const ifk_epi *e) {                                \
        UK_TILE(M, k, a, lda, b, c, ldc, nr, e);                                                   \
    }
UK_ROWS(1)
UK_ROWS(2)
UK_ROWS(3)
UK_ROWS(4)
#if UK_MR >= 5
UK_ROWS(5)
#endif
#if UK_MR >= 6
UK_ROWS(6)
#endif
#if UK_MR >= 7
UK_ROWS(7)
#endif
#if UK_MR >= 8
UK_ROWS(8)
#endif
#if UK_MR >= 9
UK_ROWS(9)
#endif
#if UK_MR >= 10
UK_ROWS(10)
#endif
#if UK_MR >= 11
UK_ROWS(11)
#endif
#if UK_MR >= 12
UK_ROWS(12)
#endif
#if UK_MR >= 13
UK_ROWS(13)
#endif
#if UK_MR >= 14
UK_ROWS(14)
#endif
#if UK_MR >= 15
UK_ROWS(15)
#endif
#if UK_MR >= 16
UK_ROWS(16)
#endif
#if UK_MR < 4 || UK_MR > 16
#error "ukernel_rows.h: UK_MR must be 4 to 16"
#endif
#undef UK_ROWS

static const uk_rows_fn uk_by_rows[UK_MR] = {
    uk_rows_1,  uk_rows_2, uk_rows_3, uk_rows_4,
#if UK_MR >= 5
    uk_rows_5,
#endif
#if UK_MR >= 6
    uk_rows_6,
#endif
#if UK_MR >= 7
    uk_rows_7,
#endif
#if UK_MR >= 8
    uk_rows_8,
#endif
#if UK_MR >= 9
    uk_rows_9,
#endif
#if UK_MR >= 10
    uk_rows_10,
#endif
#if UK_MR >= 11
    uk_rows_11,
#endif
#if UK_MR >= 12
    uk_rows_12,
#endif
#if UK_MR >= 13
    uk_rows_13,
#endif
#if UK_MR >= 14
    uk_rows_14,
#endif
#if UK_MR >= 15
    uk_rows_15,
#endif
#if UK_MR >= 16
    uk_rows_16,
#endif
};

void UK_NAME(int64_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, int mr,
             int nr, const ifk_epi *e) {
    if (mr >= 1 && mr <= UK_MR) uk_by_rows[mr - 1](k, a, lda, b, c, ldc, nr, e);
}
