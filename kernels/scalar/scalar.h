/* scalar.h -- helpers shared by the portable reference kernels (internal to
 * kernels/scalar/; nothing here is part of the kernel API in kernels.h). */
#ifndef IF_KERNELS_SCALAR_H
#define IF_KERNELS_SCALAR_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* 1/sqrt(2); M_SQRT1_2 is not declared in strict C11 + POSIX mode. */
#define IFK_SQRT1_2 0.70710678118654752440f

/* The fused activations, exactly as PyTorch evaluates them in float:
 * ReLU max(x, 0) (NaN propagates), GELU 0.5 x (1 + erf(x / sqrt 2)),
 * Hardswish x * min(max(x + 3, 0), 6) / 6. */
static inline float ifk__relu(float x) { return x < 0.0f ? 0.0f : x; }
static inline float ifk__gelu(float x) { return 0.5f * x * (1.0f + erff(x * IFK_SQRT1_2)); }
static inline float ifk__hardswish(float x)
{
    float t = x + 3.0f;
    t = t < 0.0f ? 0.0f : t;
    t = t > 6.0f ? 6.0f : t;
    return x * t / 6.0f;
}
static inline float ifk__act(float x, int act)
{
    switch (act) {
    case IFK_ACT_RELU: return ifk__relu(x);
    case IFK_ACT_GELU: return ifk__gelu(x);
    case IFK_ACT_HARDSWISH: return ifk__hardswish(x);
    default: return x;
    }
}

/* In-place activation of n floats (no-op for IFK_ACT_NONE). */
void ifk__act_inplace(float *y, int64_t n, int act);

/* Strided "NT" GEMM, the engine of ifk_linear, 1x1 convolutions and the
 * transposed convolution:
 *   y[i*ldy + j] = act(bias[j] + sum_{kk<k} x[i*ldx + kk] * w[j*ldw + kk])
 * for i < m, j < n; bias may be NULL. y must not overlap x or w. */
void ifk__gemm_nt(const float *x, size_t ldx, int64_t m, int64_t k, const float *w, size_t ldw,
                  const float *bias, int64_t n, int act, float *y, size_t ldy);

/* Strided "NN" GEMM (attention: probabilities times values):
 *   y[i*ldy + t] = sum_{p<k} a[i*lda + p] * b[p*ldb + t]
 * for i < m, t < n, each a float sum in increasing p. y must not overlap
 * a or b. */
void ifk__gemm_nn(const float *a, size_t lda, int64_t m, int64_t k, const float *b, size_t ldb,
                  int64_t n, float *y, size_t ldy);

#endif
