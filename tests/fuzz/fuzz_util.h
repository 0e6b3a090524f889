/* fuzz_util.h -- helpers shared by the libFuzzer harnesses (tests/fuzz/).
 *
 * Graph and feature files carry a CRC-32 of everything after byte 16 and
 * their own size at byte 16. A mutated file almost never has a matching
 * CRC, so a harness that only fed the raw bytes would test the checksum
 * test and little else. fuzz_fix_crc() makes a copy self-consistent, so
 * that mutations reach the structural checks behind it; both the raw and
 * the fixed bytes are fed. */
#ifndef IF_FUZZ_UTIL_H
#define IF_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "format/ifg.h" /* ifg_crc32: the same CRC both formats use */
#include "interformer.h"

static inline void fuzz_wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void fuzz_wr64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A malloc'ed copy of data with file_bytes (offset 16) set to size and the
 * CRC (offset 12) recomputed, or NULL when the input is too short to have
 * the fields or the copy would equal the input (nothing new to test). */
static inline uint8_t *fuzz_fix_crc(const uint8_t *data, size_t size) {
    if (size < 24) return NULL;
    uint8_t *c = malloc(size);
    if (!c) return NULL;
    memcpy(c, data, size);
    fuzz_wr64(c + 16, size);
    fuzz_wr32(c + 12, ifg_crc32(0, c + 16, size - 16));
    if (!memcmp(c, data, size)) {
        free(c);
        return NULL;
    }
    return c;
}

/* Reads every byte of p[0..n) so that ASan checks the whole range a
 * function claimed to fill; the result keeps the loop from being dropped. */
static inline unsigned fuzz_touch(const void *p, size_t n) {
    const volatile uint8_t *b = p;
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) s += b[i];
    return s;
}

/* The graph PREFIX.PART.ifg (the tiny test model, or $IF_FUZZ_MODEL's);
 * a harness cannot run without it: aborts with a hint, naming itself. */
static inline if_model *fuzz_load_model(const char *harness, const char *prefix, const char *part,
                                        const if_options *opt) {
    char path[4096];
    snprintf(path, sizeof path, "%s.%s.ifg", prefix, part);
    if_model *m = NULL;
    if (if_model_load(path, opt, &m) != IF_OK) {
        fprintf(stderr, "%s: %s (set IF_FUZZ_MODEL to a model prefix)\n", harness, if_last_error());
        abort();
    }
    return m;
}

#endif
