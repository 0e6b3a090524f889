/* sgemm_4x16_c.c -- the portable micro-kernel (4 rows x 16 columns) and the
 * "generic" instruction set: the packed drivers of kernels/gemm.c on plain
 * C. It is the template of a port (an ISA replaces ukr and the vector
 * loops, nothing else) and keeps the drivers tested on every build; the
 * compiler vectorises the 16-wide rows with whatever the baseline has. */

#include "kernels/gemm.h"
#include "kernels/scalar/scalar.h"

enum { MR = 4, NR = 16 };

static void sgemm_4x16_c(int64_t k, const float *a, size_t lda, const float *b, float *c,
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

const ifk_isa ifk_isa_generic = {
    .name = "generic",
    .mr = MR,
    .nr = NR,
    .kc = 256,
    .mc = 64,
    .nc = 2048,
    .ukr = sgemm_4x16_c,
    .softmax_row = ifk__softmax_row_c,
    .gather = ifk__gather_c,
    .dwconv = ifk__dwconv_c,
    .layer_norm = ifk_layer_norm,
    .sum_d = ifk__sum_d_c,
    .sumsq_d = ifk__sumsq_d_c,
    .gn_channel_sums = ifk__gn_channel_sums_c,
    .gn_apply = ifk__gn_apply_c,
    .activation = ifk_activation,
    .add = ifk_add,
    .resize_bilinear = ifk_resize_bilinear,
    .wino_in = ifk__wino_in_c,
    .wino_out = ifk__wino_out_c,
};
