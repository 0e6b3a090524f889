/* vmath_coef.h -- the polynomial approximations of exp and erf that every
 * vector instruction set evaluates (kernels/x86/vmath_avx2.h,
 * vmath_avx512.h, kernels/arm/vmath_neon.h), with the same fused
 * multiply-adds in the same order, so that they agree bit for bit.
 *
 * exp: 2^n * e^r, |r| <= ln2/2, e^r = 1 + r + r^2 P(r) with P of degree 5
 * (least squares on Chebyshev nodes, rel. error 2e-10 before rounding);
 * input clamped to [-87.336, 88] (the normal range: softmax and erf only
 * feed it values <= 0).
 * erf: |x| < 1: x P(x^2), P of degree 6 (abs. error 1.3e-9); 1 <= |x| <
 * 3.92: 1 - exp(-x^2) G(|x| - 2.5), G of degree 10 (abs. error 1.3e-8);
 * beyond, +-1 (erf rounds to 1 there in float). Both fitted for these
 * kernels; the sum is within ~1 ulp of glibc's erff
 * (tests/test_kernels_simd.c).
 *
 * The coefficients are in Horner order, highest degree first: each ISA's
 * horner helper computes p = c[0], then p = p * x + c[i] (one rounding). */
#ifndef IF_KERNELS_VMATH_COEF_H
#define IF_KERNELS_VMATH_COEF_H

#include <float.h>

#define IFK_LOG2E  1.4426950408889634f
#define IFK_LN2_HI 0.693145751953125f /* 12 significant bits: n * hi is exact */
#define IFK_LN2_LO 1.42860682030941723212e-6f

/* P of exp (degree 5). */
static const float ifk_exp_p[6] = {
    0.0001989927200377935f, 0.0013933656583582717f, 0.00833329848745336f,
    0.04166646478003304f,   0.1666666671898093f,    0.5000000013521099f,
};

/* P of erf, |x| < 1 (degree 6, in x^2). */
static const float ifk_erf_p[7] = {
    7.933493885843026e-05f, -0.0008034846649690627f, 0.005191218377340408f, -0.026855399452039273f,
    0.11283625725084433f,   -0.3761262987767585f,    1.1283791665931537f,
};

/* G of erf, 1 <= |x| < 3.92 (degree 10, in |x| - 2.5). */
static const float ifk_erf_g[11] = {
    1.8360435089053422e-06f, -6.231158515208286e-06f, 1.3570739259687666e-05f,
    -5.42458003303635e-05f,  0.00021426347414121296f, -0.0007380740961221304f,
    0.0024651256635754674f,  -0.007999814868031885f,  0.024938398786193167f,
    -0.07434753826712638f,   0.21080635061357425f,
};

/* The division by 6 (ifk_div6_*) takes the divide below this magnitude,
 * 2^-124 (0x1p-124f: C++ has hexadecimal floats only from C++17), and
 * above FLT_MAX. */
#define IFK_DIV6_TINY (4 * FLT_MIN)

#endif
