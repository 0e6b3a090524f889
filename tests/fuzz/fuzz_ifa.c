/* fuzz_ifa.c -- libFuzzer harness: the annotation file reader
 * (format/ANNOTATION.md), and the annotation rebuilt from what it accepts.
 *
 * A 40x28 image (make_corpus.py's tiny_image) is encoded once with the tiny
 * test model (build/models/tiny_vit, or the prefix in $IF_FUZZ_MODEL); the
 * seeds are annotations of it. Each input is read as it is and, when
 * different, with its size and CRC made consistent (fuzz_util.h). A file
 * the format reader accepts is loaded on the features when its replay is
 * small (at most REPLAY_CLICKS clicks and REPLAY_OBJECTS objects: each
 * click is a decoder run), and what loads is checked against the file:
 * its objects, ids, states and clicks, masks of 0/1, an instance map of
 * those ids. A broken promise aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/annotation.h"
#include "fuzz_util.h"
#include "interformer.h"

#ifndef IF_SOURCE_DIR
#define IF_SOURCE_DIR "."
#endif

enum { W = 40, H = 28, REPLAY_CLICKS = 24, REPLAY_OBJECTS = 8 };

static if_model *decoder;
static if_features *features;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *prefix = getenv("IF_FUZZ_MODEL");
    if (!prefix) prefix = IF_SOURCE_DIR "/build/models/tiny_vit";
    if_options opt = if_default_options();
    opt.max_clicks = 8; /* a file with more clicks for an object fails with IF_ERR_STATE */
    if_model *encoder = fuzz_load_model("fuzz_ifa", prefix, "encoder", &opt);
    decoder = fuzz_load_model("fuzz_ifa", prefix, "decoder", &opt);
    /* make_corpus.py's tiny_image: a disk on a gradient */
    static uint8_t rgb[H * W * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + (y * W + x) * 3;
            const int in = (x - 18) * (x - 18) + (y - 13) * (y - 13) < 81;
            p[0] = in ? 230 : (uint8_t)(x * 6);
            p[1] = in ? 120 : (uint8_t)(y * 9);
            p[2] = in ? 20 : 90;
        }
    const if_encode_options eo = if_default_encode_options();
    if (if_encode(encoder, rgb, W, H, W * 3, &eo, &features) != IF_OK) {
        fprintf(stderr, "fuzz_ifa: encode: %s\n", if_last_error());
        abort();
    }
    if_model_free(encoder);
    return 0;
}

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_ifa: broken promise: %s\n", what);
        abort();
    }
}

static void try_file(const uint8_t *data, size_t size) {
    char msg[256];
    ifa_file f;
    if (ifa_parse(data, size, &f, msg, sizeof msg) != IF_OK) {
        if_annotation *a = (if_annotation *)1;
        check(if_annotation_load_buffer(decoder, features, data, size, &a) != IF_OK && !a,
              "a file the format reader refuses loads");
        return;
    }
    int clicks = 0;
    for (int i = 0; i < f.n_objects; i++) clicks += f.objects[i].n_clicks;
    if (f.n_objects <= REPLAY_OBJECTS && clicks <= REPLAY_CLICKS) {
        if_annotation *a = NULL;
        if_status st = if_annotation_load_buffer(decoder, features, data, size, &a);
        check((st == IF_OK) == (a != NULL), "status and annotation disagree");
        if (a) {
            check(if_annotation_count(a) == f.n_objects, "object count");
            check(if_annotation_is_exclusive(a) == f.exclusive, "exclusive flag");
            for (int i = 0; i < f.n_objects; i++) {
                const ifa_object *o = &f.objects[i];
                if_session *s = if_annotation_object(a, o->id);
                check(s && if_annotation_id(a, i) == o->id, "object ids");
                check(if_annotation_is_finished(a, o->id) == o->finished, "object state");
                check(if_session_click_count(s) == o->n_clicks, "click count");
                for (int k = 0; k < o->n_clicks; k++) {
                    if_click c;
                    check(if_session_get_click(s, k, &c) == IF_OK && c.x == o->clicks[k].x &&
                              c.y == o->clicks[k].y && c.positive == o->clicks[k].positive,
                          "clicks");
                }
                const uint8_t *m = if_session_mask(s);
                for (int p = 0; p < W * H; p++) check(m[p] <= 1, "mask values");
            }
            static uint16_t map[W * H];
            check(if_annotation_instance_map(a, map, W) == IF_OK, "instance map");
            for (int p = 0; p < W * H; p++)
                check(!map[p] || if_annotation_object(a, map[p]), "instance map ids");
            int id;
            check(if_annotation_add_object(a, &id) != IF_OK || id > f.last_id, "ids reused");
            if_annotation_free(a);
        }
    }
    ifa_release(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try_file(data, size);
    uint8_t *fixed = fuzz_fix_crc(data, size);
    if (fixed) {
        try_file(fixed, size);
        free(fixed);
    }
    return 0;
}
