/* gemm.c -- packing and the GEMM loop nest around an instruction set's
 * micro-kernel (gemm.h; the micro-kernel's contract: ukernel.h).
 *
 * ifk__gemm serves linear layers and 1x1 convolutions, and the other
 * drivers (drivers.h) use its packing: BLIS's five loops (NC columns, KC
 * depth, MC rows, NR, MR); B packed per KC x NC block, A read in place
 * (copied only when its row stride would thrash L1 sets). Only the
 * caller's scratch is used (size: ifk__gemm_scratch). */
#include <string.h>

#include "kernels/gemm.h"

enum { SLACK = IFK_SCRATCH_SLACK };

/* Whether MR rows lda floats apart crowd one L1 set (64 sets of 64-byte
 * lines, 8-12 ways): then A is copied before use. */
static int rows_conflict(size_t lda, int mr) {
    int count[64] = {0}, worst = 0;
    for (int i = 0; i < mr; i++) {
        const int set = (int)(((size_t)i * lda * sizeof(float) / 64) % 64);
        if (++count[set] > worst) worst = count[set];
    }
    return worst > 4;
}

void ifk__pack_b(const float *w, size_t ldw, int64_t n, int64_t k0, int64_t kc, int nr, float *bp) {
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        const int nn = (int)ifk__min64(nr, n - j0);
        float *IF_RESTRICT dst = bp + (size_t)(j0 / nr) * (size_t)kc * nr;
        int jj = 0;
        for (; jj + 4 <= nn; jj += 4) { /* 4 rows at a time: 16-byte stores */
            const float *IF_RESTRICT s0 = w + (size_t)(j0 + jj) * ldw + k0;
            const float *IF_RESTRICT s1 = s0 + ldw, *IF_RESTRICT s2 = s1 + ldw,
                                     *IF_RESTRICT s3 = s2 + ldw;
            for (int64_t p = 0; p < kc; p++) {
                float *IF_RESTRICT d = dst + (size_t)p * nr + jj;
                d[0] = s0[p];
                d[1] = s1[p];
                d[2] = s2[p];
                d[3] = s3[p];
            }
        }
        for (; jj < nn; jj++) {
            const float *IF_RESTRICT src = w + (size_t)(j0 + jj) * ldw + k0;
            for (int64_t p = 0; p < kc; p++) dst[(size_t)p * nr + jj] = src[p];
        }
        for (jj = nn; jj < nr; jj++)
            for (int64_t p = 0; p < kc; p++) dst[(size_t)p * nr + jj] = 0.0f;
    }
}

/* Rows widen through a small float buffer, F16_ROWS x F16_CHUNK (2 KiB:
 * L1), then take ifk__pack_b's places: the panels are those of ifk__pack_b
 * on the widened weights, bit for bit. The widening adds one pass over an
 * L1-resident chunk to the packing, which reads each weight once per GEMM
 * call anyway. */
enum { F16_ROWS = 4, F16_CHUNK = 128 };

void ifk__pack_b_f16(const ifk_isa *isa, const uint16_t *w, size_t ldw, int64_t n, int64_t k0,
                     int64_t kc, int nr, float *bp) {
    float buf[F16_ROWS][F16_CHUNK];
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        const int nn = (int)ifk__min64(nr, n - j0);
        float *IF_RESTRICT dst = bp + (size_t)(j0 / nr) * (size_t)kc * nr;
        for (int jj = 0; jj < nn; jj += F16_ROWS) {
            const int rows = (int)ifk__min64(F16_ROWS, nn - jj);
            for (int64_t p0 = 0; p0 < kc; p0 += F16_CHUNK) {
                const int pc = (int)ifk__min64(F16_CHUNK, kc - p0);
                for (int r = 0; r < rows; r++)
                    isa->f16_to_f32(w + (size_t)(j0 + jj + r) * ldw + k0 + p0, pc, buf[r]);
                float *IF_RESTRICT d = dst + (size_t)p0 * nr + jj;
                if (rows == F16_ROWS) {
                    for (int p = 0; p < pc; p++, d += nr) {
                        d[0] = buf[0][p];
                        d[1] = buf[1][p];
                        d[2] = buf[2][p];
                        d[3] = buf[3][p];
                    }
                } else {
                    for (int p = 0; p < pc; p++, d += nr)
                        for (int r = 0; r < rows; r++) d[r] = buf[r][p];
                }
            }
        }
        for (int jj = nn; jj < nr; jj++)
            for (int64_t p = 0; p < kc; p++) dst[(size_t)p * nr + jj] = 0.0f;
    }
}

void ifk__pack_b_nn(const float *v, size_t ldv, int64_t k, int64_t n, int nr, float *bp) {
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
        const int nn = (int)ifk__min64(nr, n - j0);
        float *IF_RESTRICT dst = bp + (size_t)(j0 / nr) * (size_t)k * nr;
        for (int64_t p = 0; p < k; p++) {
            const float *IF_RESTRICT src = v + (size_t)p * ldv + j0;
            float *IF_RESTRICT d = dst + (size_t)p * nr;
            memcpy(d, src, (size_t)nn * sizeof(float));
            for (int jj = nn; jj < nr; jj++) d[jj] = 0.0f;
        }
    }
}

/* ------------------------------------------------------------------ GEMM */

size_t ifk__gemm_scratch(const ifk_isa *isa, int64_t m, int64_t k, int64_t n) {
    const size_t kc = (size_t)(k < 1 ? 1 : ifk__min64(k, isa->kc));
    const size_t nc = ifk__round_up((size_t)ifk__min64(n, isa->nc), (size_t)isa->nr);
    const size_t mc = ifk__round_up((size_t)ifk__min64(m, isa->mc), (size_t)isa->mr);
    return SLACK + ifk__piece(kc * nc) + ifk__piece(mc * ifk__packed_lda((int64_t)kc));
}

/* The MC / NR / MR loops of one packed kc x nc block of B (bp) over rows
 * [0, m) of x (columns [pc, pc + kc) of it): A read in place, or copied to
 * ap first when its rows would crowd one L1 set. */
static void gemm_block(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t pc,
                       int64_t kc, const float *bp, int64_t nc, const float *bias, const float *res,
                       size_t ldr, float *y, size_t ldy, ifk_epi e, float *ap) {
    const int MR = isa->mr, NR = isa->nr;
    const int pack_a = rows_conflict(ldx, MR);
    for (int64_t ic = 0; ic < m; ic += isa->mc) {
        const int64_t mc = ifk__min64(isa->mc, m - ic);
        const float *a = x + (size_t)ic * ldx + pc;
        size_t lda = ldx;
        if (pack_a) {
            lda = ifk__packed_lda(kc);
            for (int64_t i = 0; i < mc; i++)
                memcpy(ap + (size_t)i * lda, a + (size_t)i * ldx, (size_t)kc * sizeof(float));
            a = ap;
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
            const int nr = (int)ifk__min64(NR, nc - jr);
            const float *b = bp + (size_t)(jr / NR) * (size_t)kc * NR;
            e.bias = bias ? bias + jr : NULL;
            for (int64_t ir = 0; ir < mc; ir += MR) {
                const int mr = (int)ifk__min64(MR, mc - ir);
                e.res = res ? res + (size_t)(ic + ir) * ldr + jr : NULL;
                isa->ukr(kc, a + (size_t)ir * lda, lda, b, y + (size_t)(ic + ir) * ldy + jr, ldy,
                         mr, nr, &e);
            }
        }
    }
}

static ifk_epi block_epi(int64_t pc, int64_t kc, int64_t k, int act, size_t ldr) {
    const ifk_epi e = {(pc > 0 ? IFK_EPI_LOAD : 0) | (pc + kc >= k ? IFK_EPI_FINAL : 0), act, NULL,
                       NULL, ldr};
    return e;
}

/* ifk__gemm on f32 weights w, or on f16 weights wh when w is NULL. */
static void gemm(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k,
                 const float *w, const uint16_t *wh, size_t ldw, const float *bias, int64_t n,
                 int act, const float *res, size_t ldr, float *y, size_t ldy, void *scratch) {
    char *cur = ifk__align64(scratch);
    const int64_t KC = isa->kc, NC = isa->nc;
    float *bp = ifk__carve(&cur, (size_t)(k < 1 ? 1 : ifk__min64(k, KC)) *
                                     ifk__round_up((size_t)ifk__min64(n, NC), (size_t)isa->nr));
    float *ap = ifk__carve(&cur, 0);
    for (int64_t jc = 0; jc < n; jc += NC) {
        const int64_t nc = ifk__min64(NC, n - jc);
        for (int64_t pc = 0; pc < k || pc == 0; pc += KC) {
            const int64_t kc = ifk__min64(KC, k - pc);
            if (w)
                ifk__pack_b(w + (size_t)jc * ldw, ldw, nc, pc, kc, isa->nr, bp);
            else
                ifk__pack_b_f16(isa, wh + (size_t)jc * ldw, ldw, nc, pc, kc, isa->nr, bp);
            gemm_block(isa, x, ldx, m, pc, kc, bp, nc, bias ? bias + jc : NULL,
                       res ? res + jc : NULL, ldr, y + jc, ldy, block_epi(pc, kc, k, act, ldr), ap);
        }
    }
}

void ifk__gemm(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k, const float *w,
               size_t ldw, const float *bias, int64_t n, int act, const float *res, size_t ldr,
               float *y, size_t ldy, void *scratch) {
    gemm(isa, x, ldx, m, k, w, NULL, ldw, bias, n, act, res, ldr, y, ldy, scratch);
}

void ifk__gemm_f16(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k,
                   const uint16_t *w, size_t ldw, const float *bias, int64_t n, int act, float *y,
                   size_t ldy, void *scratch) {
    gemm(isa, x, ldx, m, k, NULL, w, ldw, bias, n, act, NULL, 0, y, ldy, scratch);
}

/* ------------------------------------------------- GEMM, B packed once */

size_t ifk__packed_b_floats(const ifk_isa *isa, int64_t k, int64_t n) {
    return (size_t)(k < 1 ? 1 : k) * ifk__round_up((size_t)(n < 1 ? 1 : n), (size_t)isa->nr);
}

void ifk__pack_b_all(const ifk_isa *isa, const float *w, size_t ldw, int64_t n, int64_t k,
                     float *bp) {
    for (int64_t pc = 0; pc < k || pc == 0; pc += isa->kc) {
        const int64_t kc = ifk__min64(isa->kc, k - pc);
        ifk__pack_b(w, ldw, n, pc, kc, isa->nr,
                    bp + (size_t)pc * ifk__round_up((size_t)n, (size_t)isa->nr));
    }
}

size_t ifk__gemm_packed_scratch(const ifk_isa *isa, int64_t k) {
    const int64_t kc = k < 1 ? 1 : ifk__min64(k, isa->kc);
    return SLACK + ifk__piece((size_t)isa->mc * ifk__packed_lda(kc));
}

void ifk__gemm_packed(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k,
                      const float *bp, const float *bias, int64_t n, int act, const float *res,
                      size_t ldr, float *y, size_t ldy, void *scratch) {
    float *ap = (float *)ifk__align64(scratch);
    const size_t np = ifk__round_up((size_t)n, (size_t)isa->nr);
    for (int64_t pc = 0; pc < k || pc == 0; pc += isa->kc) {
        const int64_t kc = ifk__min64(isa->kc, k - pc);
        gemm_block(isa, x, ldx, m, pc, kc, bp + (size_t)pc * np, n, bias, res, ldr, y, ldy,
                   block_epi(pc, kc, k, act, ldr), ap);
    }
}
