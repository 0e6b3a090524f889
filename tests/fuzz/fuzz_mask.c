/* fuzz_mask.c -- libFuzzer harness: the examples' mask reader
 * (examples/common/mask.c: palette PNGs by its own PNG reader, the rest by
 * stb_image). A decoded mask must be what mask.h promises: its labels
 * readable to the end, its object ids the distinct non-0, non-255 labels
 * in ascending order, its ignore count the number of 255s. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>

#include "common/mask.h"
#include "fuzz_util.h"

/* Masks with more pixels than this (512x512) are probed, not decoded, as in
 * fuzz_image.c: stb_image reads past the end of a truncated TGA as zeros,
 * so 55 bytes make an 18505x21060 RGB image (corpus/mask/
 * stb-tga-55-bytes-18505x21060.bin), which mask_decode's limits (1<<31
 * pixels) let through: 1.5 GB and 10 s, not a memory error. */
#define PIXEL_BUDGET (1 << 18)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int pw, ph, pc;
    if (size <= INT_MAX && stbi_info_from_memory(data, (int)size, &pw, &ph, &pc) &&
        (int64_t)pw * ph > PIXEL_BUDGET)
        return 0;
    mask_image m;
    char err[256];
    err[0] = 0;
    if (mask_decode(data, size, &m, err, sizeof err) != 0) {
        if (m.label || !err[0]) abort(); /* a failure leaves nothing behind and says why */
        return 0;
    }
    if (m.w < 1 || m.h < 1 || !m.label || !m.encoding) abort();
    uint8_t seen[256];
    memset(seen, 0, sizeof seen);
    size_t n = (size_t)m.w * m.h, ignore = 0;
    for (size_t i = 0; i < n; i++) {
        seen[m.label[i]] = 1;
        ignore += m.label[i] == MASK_IGNORE;
    }
    if (ignore != m.n_ignore || m.n_objects < 0 || m.n_objects > 254) abort();
    int k = 0;
    for (int v = 1; v < MASK_IGNORE; v++)
        if (seen[v] && (k >= m.n_objects || m.ids[k++] != v)) abort();
    if (k != m.n_objects) abort();
    mask_image_free(&m);
    return 0;
}
