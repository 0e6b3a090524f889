/* f32_gemm_4x16_c.c -- the portable micro-kernel (4 rows x 16 columns,
 * contract: kernels/ukernel.h) of the "generic" instruction set
 * (kernels/isa_tables.c): the packed drivers on plain C. It is the template of a port (an ISA replaces ukr and the vector
 * loops, nothing else) and keeps the drivers tested on every build; the
 * compiler vectorises the 16-wide rows with whatever the baseline has. */

#include "kernels/isa.h"
#include "kernels/scalar/scalar.h"

enum { MR = 4, NR = 16 };

void ifk_f32_gemm_4x16__c(int64_t k, const float *a, size_t lda, const float *b, float *c,
                          size_t ldc, int mr, int nr, const ifk_epi *e) {
    float acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = 0.0f;
    if (mr == MR) {
        const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
        for (int64_t p = 0; p < k; p++) {
            const float *bp = b + (size_t)p * NR;
            const float s0 = a0[p], s1 = a1[p], s2 = a2[p], s3 = a3[p];
            for (int j = 0; j < NR; j++) acc[0][j] += s0 * bp[j];
            for (int j = 0; j < NR; j++) acc[1][j] += s1 * bp[j];
            for (int j = 0; j < NR; j++) acc[2][j] += s2 * bp[j];
            for (int j = 0; j < NR; j++) acc[3][j] += s3 * bp[j];
        }
    } else {
        for (int i = 0; i < mr; i++) {
            const float *ai = a + (size_t)i * lda;
            for (int64_t p = 0; p < k; p++) {
                const float *bp = b + (size_t)p * NR;
                const float s = ai[p];
                for (int j = 0; j < NR; j++) acc[i][j] += s * bp[j];
            }
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float v = acc[i][j];
            if (e->flags & IFK_EPI_LOAD) v = c[(size_t)i * ldc + j] + v;
            if (e->flags & IFK_EPI_FINAL) {
                if (e->bias) v += e->bias[j];
                v = ifk__act(v, e->act);
                if (e->res) v += e->res[(size_t)i * e->ldr + j];
            }
            c[(size_t)i * ldc + j] = v;
        }
}
