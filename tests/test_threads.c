/* test_threads.c -- sessions in two threads over ONE shared model and ONE
 * shared features object give exactly the masks and logits of a single
 * thread. Run under ThreadSanitizer by `make test-tsan`.
 *
 * usage: test_threads ENCODER.ifg DECODER.ifg */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "interformer.h"

#define W     150
#define H     110
#define STEPS 5

static const if_click clicks[STEPS] = {
    {70, 50, 1}, {20, 20, 0}, {100, 60, 1}, {140, 100, 0}, {60, 70, 1}};

typedef struct {
    const if_model *dec;
    const if_features *feat;
    uint8_t masks[STEPS][W * H];
    float logits[STEPS][2]; /* two probes of each step's logits */
    if_status status;
} job;

static void *segment(void *arg) {
    job *j = arg;
    if_session *s = NULL;
    j->status = if_session_new(j->dec, j->feat, &s);
    for (int k = 0; j->status == IF_OK && k < STEPS; k++) {
        j->status = if_session_add_click(s, clicks[k]);
        if (j->status != IF_OK) break;
        memcpy(j->masks[k], if_session_mask(s), W * H);
        int hp, wp;
        const float *l = if_session_logits(s, &hp, &wp);
        j->logits[k][0] = l[0];
        j->logits[k][1] = l[(size_t)hp * wp * 2 - 1];
    }
    if_session_free(s);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_threads ENCODER.ifg DECODER.ifg\n");
        return 2;
    }
    if_model *enc = NULL, *dec = NULL;
    if (if_model_load(argv[1], NULL, &enc) || if_model_load(argv[2], NULL, &dec)) {
        CHECK(0, "load: %s", if_last_error());
        return CHECK_SUMMARY();
    }
    uint8_t *rgb = malloc(W * H * 3);
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)((i * 7 + (i / (W * 3)) * 13) & 255);
    if_features *feat = NULL;
    if (if_encode_rgb8(enc, rgb, W, H, W * 3, &feat)) {
        CHECK(0, "encode: %s", if_last_error());
        return CHECK_SUMMARY();
    }
    job *ref = calloc(1, sizeof *ref), *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    *ref = (job){.dec = dec, .feat = feat};
    *a = *ref;
    *b = *ref;
    segment(ref);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, segment, a);
    pthread_create(&tb, NULL, segment, b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    for (int k = 0; k < STEPS; k++) {
        int ok = ref->status == IF_OK && a->status == IF_OK && b->status == IF_OK &&
                 !memcmp(ref->masks[k], a->masks[k], W * H) &&
                 !memcmp(ref->masks[k], b->masks[k], W * H) &&
                 !memcmp(ref->logits[k], a->logits[k], sizeof a->logits[k]) &&
                 !memcmp(ref->logits[k], b->logits[k], sizeof b->logits[k]);
        CHECK(ok, "step %d: threads disagree with the single-thread run (status %d %d %d)", k,
              ref->status, a->status, b->status);
    }
    free(ref);
    free(a);
    free(b);
    free(rgb);
    if_features_free(feat);
    if_model_free(enc);
    if_model_free(dec);
    return CHECK_SUMMARY();
}
