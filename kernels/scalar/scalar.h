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
static inline float ifk__hardswish(float x) {
    float t = x + 3.0f;
    t = t < 0.0f ? 0.0f : t;
    t = t > 6.0f ? 6.0f : t;
    return x * t / 6.0f;
}
static inline float ifk__act(float x, int act) {
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

/* Output row oy of ifk_resize_bilinear (the same bits), output pixel X at
 * y + X*ys: a row placed among other channels (kernels/conv_parts.c's
 * bands of a concatenation). */
void ifk__resize_bilinear_row(const float *x, int h, int w, int c, int oy, int oh, int ow, float *y,
                              size_t ys);

/* Adaptive pooling's bin of output index i of an axis in -> out (PyTorch's):
 * [floor(i*in/out), ceil((i+1)*in/out)). */
static inline void ifk__pool_bin(int i, int in, int out, int *lo, int *hi) {
    *lo = (int)(((int64_t)i * in) / out);
    *hi = (int)(((int64_t)(i + 1) * in + out - 1) / out);
}

/* One output index of a bilinear axis: y = l0*x[i0] + l1*x[i1] (shared by
 * the reference and the vector resizes, so all compute the same taps). */
typedef struct {
    int i0, i1;
    float l0, l1;
} ifk__lin_tap;

/* PyTorch's upsample_bilinear2d (align_corners=False) source index and
 * weights (compute_source_index_and_lambda + guard_index_and_lambda):
 * scale = (float)in / out; src = max(scale * (dst + 0.5) - 0.5, 0) in float;
 * i0 = min((int)src, in-1); l1 = clamp(src - i0, 0, 1); i1 = i0 + (i0 < in-1).
 * Equal sizes copy. */
static inline ifk__lin_tap ifk__lin_index(int dst, int in, int out, float scale) {
    ifk__lin_tap t;
    if (in == out) {
        t.i0 = t.i1 = dst;
        t.l0 = 1.0f;
        t.l1 = 0.0f;
        return t;
    }
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    int i0 = (int)src;
    if (i0 > in - 1) i0 = in - 1;
    float l1 = src - (float)i0;
    l1 = l1 < 0.0f ? 0.0f : l1 > 1.0f ? 1.0f : l1;
    t.i0 = i0;
    t.i1 = i0 + (i0 < in - 1);
    t.l1 = l1;
    t.l0 = 1.0f - l1;
    return t;
}

/* The taps of a kernel window that fall inside the input: output index o
 * of a convolution with stride s and leading padding pad reads from input
 * index i0 = o*s - pad on (negative in the padding); of its k taps,
 * [k0, k1) land inside an input of n. */
typedef struct {
    int i0, k0, k1;
} ifk__window;
static inline ifk__window ifk__window_at(int o, int s, int pad, int k, int n) {
    ifk__window w;
    w.i0 = o * s - pad;
    w.k0 = w.i0 < 0 ? -w.i0 : 0;
    w.k1 = n - w.i0 < k ? n - w.i0 : k;
    return w;
}

/* Depthwise weights (c x taps, OHWI) of channels [c0, c0 + nb), transposed
 * tap-major for loops that run over channels: wb[t * ld + j] for j < npad,
 * zero from nb on. */
static inline void ifk__dw_weights(const float *wt, int taps, int c0, int nb, int npad, int ld,
                                   float *wb) {
    for (int t = 0; t < taps; t++)
        for (int j = 0; j < npad; j++)
            wb[t * ld + j] = j < nb ? wt[(size_t)(c0 + j) * taps + t] : 0.0f;
}

/* Output columns [*xlo, *xhi) (of wo) whose three kernel columns are all
 * inside the input: a 3-wide convolution's interior. */
static inline void ifk__interior3(const ifk_conv_params *p, int wo, int *xlo, int *xhi) {
    *xlo = (p->pl + p->sw - 1) / p->sw;
    *xhi = p->w + p->pl - 3 >= 0 ? (p->w + p->pl - 3) / p->sw + 1 : 0;
    if (*xhi > wo) *xhi = wo;
    if (*xlo > *xhi) *xlo = *xhi;
}

#endif
