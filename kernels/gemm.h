/* gemm.h -- packing and the GEMM loop nest around an instruction set's
 * micro-kernel (kernels/gemm.c), and the scratch carving every packed
 * driver shares (internal to kernels/). The contract of the micro-kernel
 * is kernels/ukernel.h; the drivers built on this are kernels/drivers.h. */
#ifndef IF_KERNELS_GEMM_H
#define IF_KERNELS_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ukernel.h"

/* Scratch carving, shared by the drivers: 64-byte aligned pieces of a
 * scratch buffer that is itself aligned up first (IFK_SCRATCH_SLACK bytes). */
enum { IFK_SCRATCH_SLACK = 64 };
static inline size_t ifk__round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }
/* Bytes of a carved piece of `floats` floats. */
static inline size_t ifk__piece(size_t floats) { return ifk__round_up(floats * sizeof(float), 64); }
static inline char *ifk__align64(void *p) {
    const uintptr_t u = (uintptr_t)p;
    return (char *)(u + ((64 - u % 64) % 64));
}
static inline float *ifk__carve(char **cur, size_t floats) {
    float *p = (float *)*cur;
    *cur += ifk__piece(floats);
    return p;
}
static inline int64_t ifk__min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Row stride of a packed A block: a multiple of 16 floats plus 16, so that
 * MR rows fall into different cache sets. */
static inline size_t ifk__packed_lda(int64_t k) {
    return ifk__round_up((size_t)(k > 0 ? k : 1), 16) + 16;
}

/* Packs rows [0, n) x columns [k0, k0 + kc) of w (n x k, rows ldw apart,
 * nn.Linear layout) as ceil(n / nr) panels of kc x nr floats, zero-padded
 * columns: bp[(j / nr) * kc * nr + p * nr + j % nr] = w[j * ldw + k0 + p]. */
void ifk__pack_b(const float *w, size_t ldw, int64_t n, int64_t k0, int64_t kc, int nr, float *bp);

/* ifk__pack_b of IEEE half weights: the same panels as ifk__pack_b on the
 * weights widened to float (isa->f16_to_f32, exact). */
void ifk__pack_b_f16(const ifk_isa *isa, const uint16_t *w, size_t ldw, int64_t n, int64_t k0,
                     int64_t kc, int nr, float *bp);

/* Rows p < k of v (row p: v[p*ldv + j], j < n) as ceil(n / nr) panels of
 * k x nr floats, zero-padded columns: the B operand of an NN product. */
void ifk__pack_b_nn(const float *v, size_t ldv, int64_t k, int64_t n, int nr, float *bp);

/* y[i*ldy + j] = act(bias[j] + sum_p x[i*ldx + p] * w[j*ldw + p]) (+ res[i*ldr + j] when res)
 * for i < m, j < n: the BLIS loop nest (NC, KC, MC blocks, packed B,
 * A packed when its row stride would thrash the cache). */
void ifk__gemm(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k, const float *w,
               size_t ldw, const float *bias, int64_t n, int act, const float *res, size_t ldr,
               float *y, size_t ldy, void *scratch);
/* ifk__gemm (no residual) on IEEE half weights w, widened while B is
 * packed: bit-identical to ifk__gemm on the widened weights, same scratch. */
void ifk__gemm_f16(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k,
                   const uint16_t *w, size_t ldw, const float *bias, int64_t n, int act, float *y,
                   size_t ldy, void *scratch);
size_t ifk__gemm_scratch(const ifk_isa *isa, int64_t m, int64_t k, int64_t n);

/* B packed once for every call (weights prepared ahead): w (n x k, rows
 * ldw apart) as ifk__gemm packs it per call, every KC block at once --
 * block pc (of KC depth) at bp + pc * round_up(n, NR), each NR panel kc x NR
 * floats; ifk__packed_b_floats floats in all. ifk__gemm_packed is
 * ifk__gemm on it (the same blocks, so the same sums bit for bit) with
 * ifk__gemm_packed_scratch bytes of scratch (A's copy only). */
size_t ifk__packed_b_floats(const ifk_isa *isa, int64_t k, int64_t n);
void ifk__pack_b_all(const ifk_isa *isa, const float *w, size_t ldw, int64_t n, int64_t k,
                     float *bp);
void ifk__gemm_packed(const ifk_isa *isa, const float *x, size_t ldx, int64_t m, int64_t k,
                      const float *bp, const float *bias, int64_t n, int act, const float *res,
                      size_t ldr, float *y, size_t ldy, void *scratch);
size_t ifk__gemm_packed_scratch(const ifk_isa *isa, int64_t k);

#endif
