/* kernel_harness.h -- what the two kernel tests (test_kernels.c: the
 * reference against the formulas; test_kernels_simd.c: every variant
 * against the reference) share: tests/check.h's CHECK, fixed-seed random
 * inputs, allocation that fails loudly, and bitwise comparison.
 *
 * A test defines KH_SEED (its random stream's seed) before including. */
#ifndef IF_TESTS_KERNEL_HARNESS_H
#define IF_TESTS_KERNEL_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"

static uint64_t rng = KH_SEED;

static uint32_t rnd_u32(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 32);
}

static float rnd_f(float lo, float hi) {
    return lo + (hi - lo) * (float)((double)rnd_u32() / 4294967296.0);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static float *rnd_buf(size_t n, float lo, float hi) {
    float *p = xmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = rnd_f(lo, hi);
    return p;
}

/* Bitwise equality of float arrays. */
static void check_exact(const char *what, const float *got, const float *want, size_t n) {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(got + i, want + i, sizeof *got) && !bad++) first = i;
    if (bad)
        printf("  %s: %zu/%zu differ, first at %zu: got %.9g want %.9g\n", what, bad, n, first,
               (double)got[first], (double)want[first]);
    CHECK(bad == 0, "%s", what);
}

static const char *const act_name[] = {"none", "relu", "gelu", "hardswish"};

#endif
