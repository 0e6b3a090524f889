/* fuzz_session.c -- libFuzzer harness: session call sequences on the tiny
 * test model (build/models/tiny_vit, or the prefix in $IF_FUZZ_MODEL).
 *
 * One synthetic 64x48 image is encoded once; each input is a program of
 * byte-coded calls (clicks inside and outside the image, undo, reset,
 * set_mask, the read-outs) run on a fresh session, with the API's promises
 * checked after each call against a shadow model of the session:
 *   - the click count is what the calls made it; a failing call changes
 *     nothing (mask, count) and fails with the documented status;
 *   - undo restores the mask of one click earlier exactly, and re-adding
 *     the undone click gives the same mask again;
 *   - the mask is 0/1, the probability in [0, 1] and on the mask's side of
 *     0.5, logits exist exactly when there was a prediction;
 *   - the session's memory does not change after creation;
 *   - redo re-applies an undone click with the mask it had; remove_click
 *     and set_clicks leave the clicks the call says (checked through
 *     get_click), keep the masks of the common prefix, and cost the decoder
 *     runs the header says; preview changes nothing but the logits.
 * A broken promise aborts, which libFuzzer reports as a crash. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "interformer.h"

#ifndef IF_SOURCE_DIR
#define IF_SOURCE_DIR "."
#endif

enum { W = 64, H = 48, MAX_CLICKS = 6, MAX_OPS = 24 };

static if_model *encoder, *decoder;
static if_features *features;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *prefix = getenv("IF_FUZZ_MODEL");
    if (!prefix) prefix = IF_SOURCE_DIR "/build/models/tiny_vit";
    if_options opt = if_default_options();
    opt.max_clicks = MAX_CLICKS; /* small, so that a full history is reached */
    encoder = fuzz_load_model("fuzz_session", prefix, "encoder", &opt);
    decoder = fuzz_load_model("fuzz_session", prefix, "decoder", &opt);
    /* A bright disk on a gradient: something for the clicks to find. */
    static uint8_t rgb[H * W * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = (x - 30) * (x - 30) + (y - 22) * (y - 22) < 14 * 14;
            uint8_t *p = rgb + (y * W + x) * 3;
            p[0] = in ? 230 : (uint8_t)(x * 3);
            p[1] = in ? 120 : (uint8_t)(y * 4);
            p[2] = in ? 20 : 90;
        }
    if (if_encode_rgb8(encoder, rgb, W, H, W * 3, &features) != IF_OK) {
        fprintf(stderr, "fuzz_session: encode: %s\n", if_last_error());
        abort();
    }
    return 0;
}

/* The input, read a byte at a time; zeros once it runs out. */
typedef struct {
    const uint8_t *p;
    size_t n, at;
} reader;

static int next(reader *r) { return r->at < r->n ? r->p[r->at++] : 0; }

/* A coordinate: mostly inside 0..size-1, some just outside, a few extreme. */
static int coord(reader *r, int size) {
    int b = next(r);
    if (b == 255) return INT_MAX;
    if (b == 254) return INT_MIN;
    return b % (size + 16) - 8;
}

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_session: %s:%d: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    if_session *s;
    int n;                                /* clicks, as the calls made it */
    int redo;                             /* undone clicks redo can re-apply */
    if_click clicks[MAX_CLICKS];          /* the clicks, and the undone ones after them */
    uint8_t saved[MAX_CLICKS + 1][H * W]; /* mask after k clicks */
    uint8_t known[MAX_CLICKS + 1];        /* saved[k] is that mask (not lost to an edit) */
    int predicted;                        /* a prediction exists */
    int logits_gone;                      /* a preview ran since the last prediction */
    size_t bytes;
} shadow;

/* Records the current mask as the state after n clicks. */
static void record(shadow *sh) {
    memcpy(sh->saved[sh->n], if_session_mask(sh->s), H * W);
    sh->known[sh->n] = 1;
}

static void check_state(const shadow *sh) {
    CHECK(if_session_click_count(sh->s) == sh->n);
    CHECK(if_session_memory_bytes(sh->s) == sh->bytes);
    const uint8_t *m = if_session_mask(sh->s);
    CHECK(m && sh->known[sh->n] && !memcmp(m, sh->saved[sh->n], H * W));
    for (int k = 0; k < sh->n; k++) {
        if_click c;
        CHECK(if_session_get_click(sh->s, k, &c) == IF_OK);
        CHECK(c.x == sh->clicks[k].x && c.y == sh->clicks[k].y &&
              c.positive == sh->clicks[k].positive);
    }
    CHECK(if_session_redo_count(sh->s) == sh->redo);
    int ph = 0, pw = 0;
    const float *lg = if_session_logits(sh->s, &ph, &pw);
    CHECK(!lg == (!sh->predicted || sh->logits_gone));
    if (lg) CHECK(ph >= H && pw >= W);
    static float prob[H * W];
    if_status st = if_session_probability(sh->s, prob);
    CHECK((st == IF_OK) == sh->predicted);
    if (st == IF_OK)
        for (int i = 0; i < H * W; i++) {
            CHECK(prob[i] >= 0.0f && prob[i] <= 1.0f);
            if (prob[i] > 0.5f) CHECK(m[i] == 1);
            if (prob[i] < 0.5f) CHECK(m[i] == 0);
        }
    CHECK(if_session_error(sh->s) != NULL);
}

static void add_click(shadow *sh, if_click c) {
    int inside = c.x >= 0 && c.x < W && c.y >= 0 && c.y < H;
    if_status st = if_session_add_click(sh->s, c);
    if (!inside)
        CHECK(st == IF_ERR_INVALID_ARG);
    else if (sh->n == MAX_CLICKS)
        CHECK(st == IF_ERR_STATE);
    else
        CHECK(st == IF_OK);
    if (st != IF_OK) return;
    sh->clicks[sh->n++] = c;
    sh->predicted = 1;
    sh->logits_gone = 0;
    sh->redo = 0;
    const uint8_t *m = if_session_mask(sh->s);
    for (int i = 0; i < H * W; i++) CHECK(m[i] <= 1);
    record(sh);
    if_click got;
    CHECK(if_session_get_click(sh->s, sh->n - 1, &got) == IF_OK);
    CHECK(got.x == c.x && got.y == c.y && got.positive == c.positive);
}

static void undo(shadow *sh) {
    if_status st = if_session_undo(sh->s);
    CHECK((st == IF_OK) == (sh->n > 0));
    if (st != IF_OK) return;
    sh->n--;
    sh->redo++;
    sh->predicted = sh->n > 0;
    sh->logits_gone = 0;
    if (!sh->known[sh->n]) record(sh); /* an edit lost it: this is it now */
}

static void redo(shadow *sh) {
    const uint64_t runs = if_session_decoder_runs(sh->s);
    if_status st = if_session_redo(sh->s);
    CHECK((st == IF_OK) == (sh->redo > 0));
    if (st != IF_OK) return;
    CHECK(if_session_decoder_runs(sh->s) == runs + 1);
    sh->n++;
    sh->redo--;
    sh->predicted = 1;
    sh->logits_gone = 0;
    if (!sh->known[sh->n]) record(sh);
}

/* How many of list[0..m) the session's clicks share from the start: the
 * prefix set_clicks keeps. */
static int common_prefix(const shadow *sh, const if_click *list, int m) {
    int k = 0;
    while (k < sh->n && k < m && list[k].x == sh->clicks[k].x && list[k].y == sh->clicks[k].y &&
           list[k].positive == sh->clicks[k].positive)
        k++;
    return k;
}

/* The decoder runs set_clicks promises: one to step back to a nonempty
 * prefix shorter than the clicks, one per click after the prefix. */
static uint64_t edit_runs(const shadow *sh, int same, int m) {
    return (uint64_t)(same < sh->n && same > 0) + (uint64_t)(m - same);
}

/* The session now has list[0..m), of which it kept the first `same`
 * clicks: the masks after those stay, later ones are lost, undone ones are
 * no longer redoable. */
static void edited(shadow *sh, const if_click *list, int m, int same) {
    memmove(sh->clicks, list, (size_t)m * sizeof *list);
    sh->n = m;
    for (int k = same + 1; k <= MAX_CLICKS; k++) sh->known[k] = 0;
    sh->redo = 0;
    sh->predicted = m > 0;
    sh->logits_gone = 0;
    if (m > same || !sh->known[m]) record(sh); /* else check_state compares with the kept mask */
}

static void remove_click(shadow *sh, reader *r) {
    const int i = (int8_t)next(r) % (MAX_CLICKS + 2);
    const uint64_t runs = if_session_decoder_runs(sh->s);
    if_status st = if_session_remove_click(sh->s, i);
    CHECK((st == IF_OK) == (i >= 0 && i < sh->n));
    if (st != IF_OK) return;
    if_click list[MAX_CLICKS];
    int m = 0;
    for (int k = 0; k < sh->n; k++)
        if (k != i) list[m++] = sh->clicks[k];
    const int same = common_prefix(sh, list, m);
    CHECK(if_session_decoder_runs(sh->s) - runs == edit_runs(sh, same, m));
    edited(sh, list, m, same);
}

/* set_clicks: the first `keep` of the current clicks, then up to two new. */
static void set_clicks(shadow *sh, reader *r) {
    int keep = next(r) % (sh->n + 1), extra = next(r) % 3;
    if_click list[MAX_CLICKS + 2];
    memcpy(list, sh->clicks, (size_t)keep * sizeof *list);
    int inside = 1;
    for (int k = 0; k < extra; k++) {
        list[keep + k] = (if_click){coord(r, W), coord(r, H), next(r) & 1};
        inside &= list[keep + k].x >= 0 && list[keep + k].x < W && list[keep + k].y >= 0 &&
                  list[keep + k].y < H;
    }
    const int m = keep + extra;
    const uint64_t runs = if_session_decoder_runs(sh->s);
    if_status st = if_session_set_clicks(sh->s, list, m);
    if (m > MAX_CLICKS)
        CHECK(st == IF_ERR_STATE);
    else if (!inside)
        CHECK(st == IF_ERR_INVALID_ARG);
    else
        CHECK(st == IF_OK);
    if (st != IF_OK) return;
    const int same = common_prefix(sh, list, m);
    CHECK(if_session_decoder_runs(sh->s) - runs == edit_runs(sh, same, m));
    if (same == m && m == sh->n) { /* the same list: nothing ran */
        sh->redo = 0;
        return;
    }
    edited(sh, list, m, same);
}

static void preview(shadow *sh, reader *r) {
    const if_click c = {coord(r, W), coord(r, H), next(r) & 1};
    const int inside = c.x >= 0 && c.x < W && c.y >= 0 && c.y < H;
    static uint8_t out[H * W];
    if_status st = if_session_preview(sh->s, c, out);
    CHECK((st == IF_OK) == inside);
    if (st != IF_OK) return;
    for (int i = 0; i < H * W; i++) CHECK(out[i] <= 1);
    sh->logits_gone = 1;
}

static void set_mask(shadow *sh, reader *r) {
    int x0 = next(r) % W, y0 = next(r) % H, x1 = next(r) % W, y1 = next(r) % H;
    int pad = next(r) % 3;              /* stride W, W+1, W+2 */
    uint8_t v = (uint8_t)(next(r) | 1); /* any nonzero value is object */
    size_t stride = (size_t)W + pad;
    static uint8_t buf[H * (W + 2)];
    memset(buf, 0, sizeof buf);
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) buf[(size_t)y * stride + x] = v;
    CHECK(if_session_set_mask(sh->s, buf, stride) == IF_OK);
    CHECK(if_session_set_mask(sh->s, buf, W - 1) == IF_ERR_INVALID_ARG); /* changes nothing */
    sh->n = 0;
    sh->redo = 0;
    sh->predicted = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) sh->saved[0][y * W + x] = buf[(size_t)y * stride + x] != 0;
    memset(sh->known, 0, sizeof sh->known);
    sh->known[0] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static shadow sh; /* static: about 20 KB of masks */
    memset(&sh, 0, sizeof sh);
    CHECK(if_session_new(decoder, features, &sh.s) == IF_OK);
    sh.bytes = if_session_memory_bytes(sh.s);
    sh.known[0] = 1;
    reader r = {data, size, 0};
    for (int op = 0; op < MAX_OPS && r.at < r.n; op++) {
        switch (next(&r) % 12) {
        case 0:
        case 1: {
            if_click c;
            c.x = coord(&r, W);
            c.y = coord(&r, H);
            c.positive = next(&r) & 1;
            add_click(&sh, c);
            break;
        }
        case 2: undo(&sh); break;
        case 3:
            CHECK(if_session_reset(sh.s) == IF_OK);
            sh.n = 0;
            sh.redo = 0;
            sh.predicted = 0;
            memset(sh.saved[0], 0, H * W);
            memset(sh.known, 0, sizeof sh.known);
            sh.known[0] = 1;
            break;
        case 4: set_mask(&sh, &r); break;
        case 5: {
            int i = (int8_t)next(&r);
            if_click c;
            CHECK((if_session_get_click(sh.s, i, &c) == IF_OK) == (i >= 0 && i < sh.n));
            break;
        }
        case 6: /* undo then the same click again: the same mask */
            if (sh.n > 0) {
                if_click c;
                CHECK(if_session_get_click(sh.s, sh.n - 1, &c) == IF_OK);
                uint8_t before[H * W];
                memcpy(before, sh.saved[sh.n], H * W);
                undo(&sh);
                check_state(&sh);
                add_click(&sh, c);
                CHECK(!memcmp(before, sh.saved[sh.n], H * W));
            }
            break;
        case 8: redo(&sh); break;
        case 9: remove_click(&sh, &r); break;
        case 10: set_clicks(&sh, &r); break;
        case 11: preview(&sh, &r); break;
        case 7: /* calls that must be refused without a change */
            CHECK(if_session_set_mask(sh.s, NULL, W) == IF_ERR_INVALID_ARG);
            CHECK(if_session_get_click(sh.s, sh.n, &(if_click){0, 0, 0}) == IF_ERR_INVALID_ARG);
            break;
        }
        check_state(&sh);
    }
    if_session_free(sh.s);
    return 0;
}
