/* activation.c -- elementwise kernels: fused activations and ADD. */

#include "kernels/scalar/scalar.h"

void ifk__act_inplace(float *y, int64_t n, int act) {
    switch (act) {
    case IFK_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = ifk__relu(y[i]);
        break;
    case IFK_ACT_GELU:
        for (int64_t i = 0; i < n; i++) y[i] = ifk__gelu(y[i]);
        break;
    case IFK_ACT_HARDSWISH:
        for (int64_t i = 0; i < n; i++) y[i] = ifk__hardswish(y[i]);
        break;
    default: break;
    }
}

void ifk_activation(const float *x, int64_t n, int act, float *y) {
    /* x and y may be the same buffer, so no restrict here. */
    switch (act) {
    case IFK_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = ifk__relu(x[i]);
        break;
    case IFK_ACT_GELU:
        for (int64_t i = 0; i < n; i++) y[i] = ifk__gelu(x[i]);
        break;
    case IFK_ACT_HARDSWISH:
        for (int64_t i = 0; i < n; i++) y[i] = ifk__hardswish(x[i]);
        break;
    default:
        if (y != x)
            for (int64_t i = 0; i < n; i++) y[i] = x[i];
        break;
    }
}

void ifk_add(const float *a, const float *b, int64_t n, float *y) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
