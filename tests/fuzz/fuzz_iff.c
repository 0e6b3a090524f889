/* fuzz_iff.c -- libFuzzer harness: the feature file reader, and a session
 * on what it accepts.
 *
 * Each input is loaded as it is and, when different, with its size and CRC
 * made consistent (fuzz_util.h). Features that load are read in full and
 * checked against the tiny test decoder (build/models/tiny_vit, or the
 * prefix in $IF_FUZZ_MODEL); when they match, a session is made on them
 * and clicked once, so that whatever the reader let through reaches the
 * decoder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "interformer.h"

#ifndef IF_SOURCE_DIR
#define IF_SOURCE_DIR "."
#endif

static if_model *decoder;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *prefix = getenv("IF_FUZZ_MODEL");
    char path[4096];
    snprintf(path, sizeof path, "%s.decoder.ifg",
             prefix ? prefix : IF_SOURCE_DIR "/build/models/tiny_vit");
    if_options opt = if_default_options();
    opt.max_clicks = 2; /* the session's history: one click is all it gets */
    if (if_model_load(path, &opt, &decoder) != IF_OK) {
        fprintf(stderr, "fuzz_iff: %s (set IF_FUZZ_MODEL to a model prefix)\n", if_last_error());
        abort();
    }
    return 0;
}

/* Images this big are read and checked, not clicked: a session's memory
 * grows with the image (the label history), and the file's bytes bound
 * only the features (strides 4..32), not the session. */
#define SESSION_PIXELS (256 * 256)

/* click: make a session and click. That is a decoder run, milliseconds, so
 * the harness does it for the inputs that are valid as they are (the
 * seeds) and for one mutated input in eight (chosen by its last byte): the
 * reader itself gets most of the executions. */
static void try_features(const uint8_t *data, size_t size, int click) {
    if_features *f = NULL;
    if (if_features_load_buffer(data, size, &f) != IF_OK) return;
    if_features_info info;
    if (if_features_get_info(f, &info) != IF_OK) abort();
    for (int l = 0; l < 4; l++) {
        int h, w, c;
        const float *v = if_features_level(f, l, &h, &w, &c);
        if (v) fuzz_touch(v, (size_t)h * w * c * sizeof *v);
    }
    if (click && if_features_check(decoder, f) == IF_OK &&
        (int64_t)info.padded_h * info.padded_w <= SESSION_PIXELS) {
        if_session *s = NULL;
        if (if_session_new(decoder, f, &s) == IF_OK) {
            /* The middle of the image: always inside it. */
            if_click c = {info.width / 2, info.height / 2, 1};
            if (if_session_add_click(s, c) == IF_OK)
                fuzz_touch(if_session_mask(s), (size_t)info.width * info.height);
            if_session_free(s);
        }
    }
    if_features_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *fixed = fuzz_fix_crc(data, size);
    int click = !fixed || data[size - 1] % 8 == 0;
    try_features(data, size, click);
    if (fixed) {
        try_features(fixed, size, click);
        free(fixed);
    }
    return 0;
}
