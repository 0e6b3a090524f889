/* f16.c -- IEEE binary16 -> binary32, exact for every bit pattern
 * (zeros, subnormals, normals, infinities, NaNs with their payload), by
 * integer manipulation only (no _Float16, no FPU flags raised). */

#include <string.h>

#include "kernels/scalar/scalar.h"

static uint32_t half_to_bits(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    if (e == 0x1f) return sign | 0x7f800000u | (m << 13);     /* inf, NaN */
    if (e != 0) return sign | ((e + 112u) << 23) | (m << 13); /* normal: bias 15 -> 127 */
    if (m == 0) return sign;                                  /* +-0 */
    /* Subnormal m * 2^-24: shift the leading one up to bit 10. */
    uint32_t s = 0;
    while (!(m & 0x400u)) {
        m <<= 1;
        s++;
    }
    return sign | ((113u - s) << 23) | ((m & 0x3ffu) << 13);
}

void ifk_f16_to_f32(const uint16_t *src, int64_t n, float *dst) {
    for (int64_t i = 0; i < n; i++) {
        const uint32_t b = half_to_bits(src[i]);
        memcpy(dst + i, &b, sizeof b);
    }
}
