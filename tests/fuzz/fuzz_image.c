/* fuzz_image.c -- libFuzzer harness: the CLI's image read path. The CLI
 * (examples/interformer.c, examples/eval.c) reads images with stb_image
 * (Debian's libstb, linked as the CLI links it) as 3-channel RGB, and eval
 * reads masks with the file's own channel count; both are done here from
 * memory, and every byte of a returned image is read.
 *
 * libstb is not instrumented, so coverage guides the mutations only
 * through what stb returns; ASan still checks the buffers it hands back
 * (its malloc is ASan's) and the leak checker its frees. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include <stb/stb_image.h>

#include "fuzz_util.h"

/* Images with more pixels than this (512x512) are probed, not decoded: a
 * 20-byte header can ask for gigabytes (a legal request stb_image makes of
 * malloc, and the CLI with it), and a truncated TGA is decoded as zeros to
 * the size its header says, so a few mutated bytes would otherwise cost
 * tens of milliseconds each. */
#define PIXEL_BUDGET (1 << 18)

static void decode(const uint8_t *data, int len, int want) {
    int w, h, comp;
    unsigned char *px = stbi_load_from_memory(data, len, &w, &h, &comp, want);
    if (!px) return;
    /* Debian's stb_image returns a 0x0 image for a PNM whose width is not a
     * number (corpus/image/regress-stb-pnm-0x0.pgm): the CLI refuses it by
     * its size, so only negative sizes are wrong here. */
    if (w < 0 || h < 0 || comp < 1 || comp > 4) abort();
    fuzz_touch(px, (size_t)w * h * (size_t)(want ? want : comp));
    stbi_image_free(px);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > INT_MAX) return 0;
    int w, h, comp;
    /* Only what the probe sizes is decoded: stb's TGA loader takes some
     * headers its probe refuses, and makes gigabyte images of a few bytes
     * (corpus/image/stb-tga-55-bytes-18505x21060.bin and its mutants). */
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp) || (int64_t)w * h > PIXEL_BUDGET)
        return 0;
    decode(data, (int)size, 3); /* interformer.c, eval.c: images */
    decode(data, (int)size, 0); /* eval.c: masks, as stored */
    return 0;
}
