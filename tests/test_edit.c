/* test_edit.c -- the session's editing calls (interformer.h): redo, remove
 * a click, set the whole click list (and the two-list form), preview.
 *
 *   test_edit [ENCODER.ifg DECODER.ifg]     (default: the bundled demo model)
 *
 * Every edit is checked against the definition it claims: a fresh session
 * given the resulting clicks one by one must have the same mask and the
 * same probabilities, byte for byte; and against its cost, read from
 * if_session_decoder_runs. Both at the image's own size and on a working
 * grid smaller than the image (max_side), where masks come from upsampled
 * logits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "format/annotation.h"
#include "format/ifg.h"
#include "format/le.h"
#include "interformer.h"
#include "runtime/runtime.h"

enum { W = 200, H = 168, N = 6, MAXC = 12 };

static if_model *enc, *dec;
static float *prob_a, *prob_b;
static uint8_t *tmp_mask;

/* A disk, a square, a gradient: something for the clicks to find. */
static void draw(uint8_t *rgb) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + ((size_t)y * W + x) * 3;
            const int dx = x - 70, dy = y - 84;
            p[0] = (uint8_t)(40 + x / 4);
            p[1] = (uint8_t)(60 + y / 4);
            p[2] = (uint8_t)(120 + (x + y) / 8);
            if (dx * dx + dy * dy < 45 * 45) p[0] = 240, p[1] = 140, p[2] = 30;
            if (x >= 130 && x < 180 && y >= 30 && y < 80) p[0] = 40, p[1] = 80, p[2] = 220;
        }
}

static const if_click clicks[N] = {{70, 84, 1}, {70, 50, 1},  {150, 55, 0},
                                   {40, 84, 1}, {100, 84, 1}, {20, 150, 0}};

/* A fresh session given clicks[0..n) one by one. */
static if_session *replay(const if_features *f, const if_click *c, int n) {
    if_session *s = NULL;
    if (if_session_new(dec, f, &s) != IF_OK) return NULL;
    for (int i = 0; i < n; i++)
        if (if_session_add_click(s, c[i]) != IF_OK) {
            if_session_free(s);
            return NULL;
        }
    return s;
}

/* s and a fresh replay of c[0..n) agree: clicks, mask, probabilities. */
static int same_as_replay(const if_features *f, if_session *s, const if_click *c, int n) {
    if_session *r = replay(f, c, n);
    if (!r) return 0;
    int ok = if_session_click_count(s) == n;
    for (int i = 0; ok && i < n; i++) {
        if_click got;
        ok = if_session_get_click(s, i, &got) == IF_OK && got.x == c[i].x && got.y == c[i].y &&
             got.positive == (c[i].positive != 0);
    }
    ok = ok && !memcmp(if_session_mask(s), if_session_mask(r), (size_t)W * H);
    if (ok && n > 0)
        ok = if_session_probability(s, prob_a) == IF_OK &&
             if_session_probability(r, prob_b) == IF_OK &&
             !memcmp(prob_a, prob_b, sizeof(float) * W * H);
    if_session_free(r);
    return ok;
}

static void test_edits(const if_features *f, const char *grid) {
    if_session *s = NULL;
    CHECK(if_session_new(dec, f, &s) == IF_OK, "%s: session: %s", grid, if_last_error());
    if (!s) return;
    uint64_t runs = if_session_decoder_runs(s);
    CHECK(runs == 0, "%s: a new session ran the decoder %llu times", grid,
          (unsigned long long)runs);

    /* redo */
    for (int i = 0; i < 4; i++) CHECK(if_session_add_click(s, clicks[i]) == IF_OK, "add %d", i);
    size_t on = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) on += if_session_mask(s)[i];
    CHECK(on > 500 && on < (size_t)W * H / 2, "%s: 4 clicks gave a mask of %zu pixels", grid, on);
    CHECK(if_session_redo(s) == IF_ERR_STATE, "%s: redo with nothing undone", grid);
    CHECK(if_session_undo(s) == IF_OK && if_session_undo(s) == IF_OK, "%s: undo x2", grid);
    CHECK(if_session_redo_count(s) == 2, "%s: redo count %d", grid, if_session_redo_count(s));
    runs = if_session_decoder_runs(s);
    CHECK(if_session_redo(s) == IF_OK, "%s: redo: %s", grid, if_session_error(s));
    CHECK(if_session_decoder_runs(s) - runs == 1, "%s: redo ran the decoder %llu times", grid,
          (unsigned long long)(if_session_decoder_runs(s) - runs));
    CHECK(same_as_replay(f, s, clicks, 3), "%s: redo is not the 3-click state", grid);
    CHECK(if_session_redo(s) == IF_OK && same_as_replay(f, s, clicks, 4),
          "%s: second redo is not the 4-click state", grid);
    CHECK(if_session_undo(s) == IF_OK && if_session_add_click(s, clicks[5]) == IF_OK &&
              if_session_redo_count(s) == 0 && if_session_redo(s) == IF_ERR_STATE,
          "%s: a new click keeps an undone one redoable", grid);

    /* set_clicks: from nothing, append one, change the tail, shrink, empty */
    CHECK(if_session_set_clicks(s, NULL, 0) == IF_OK && if_session_click_count(s) == 0,
          "%s: set to no clicks", grid);
    runs = if_session_decoder_runs(s);
    CHECK(if_session_set_clicks(s, clicks, 3) == IF_OK && same_as_replay(f, s, clicks, 3),
          "%s: set 3 clicks", grid);
    CHECK(if_session_decoder_runs(s) - runs == 3, "%s: 3 clicks set in %llu runs", grid,
          (unsigned long long)(if_session_decoder_runs(s) - runs));
    runs = if_session_decoder_runs(s);
    CHECK(if_session_set_clicks(s, clicks, 4) == IF_OK && same_as_replay(f, s, clicks, 4),
          "%s: set 4 clicks", grid);
    CHECK(if_session_decoder_runs(s) - runs == 1, "%s: one click appended in %llu runs", grid,
          (unsigned long long)(if_session_decoder_runs(s) - runs));
    if_click other[N];
    memcpy(other, clicks, sizeof other);
    other[2] = clicks[4];
    runs = if_session_decoder_runs(s);
    CHECK(if_session_set_clicks(s, other, 3) == IF_OK && same_as_replay(f, s, other, 3),
          "%s: set with a changed third click", grid);
    CHECK(if_session_decoder_runs(s) - runs == 2, "%s: step back + 1 click took %llu runs", grid,
          (unsigned long long)(if_session_decoder_runs(s) - runs));
    runs = if_session_decoder_runs(s);
    CHECK(if_session_set_clicks(s, other, 3) == IF_OK && if_session_decoder_runs(s) == runs,
          "%s: the same list again ran the decoder", grid);

    /* a bad list changes nothing */
    if_click bad[3] = {clicks[0], clicks[1], {W, 10, 1}};
    CHECK(if_session_set_clicks(s, bad, 3) == IF_ERR_INVALID_ARG, "%s: click outside", grid);
    CHECK(same_as_replay(f, s, other, 3), "%s: a refused list changed the session", grid);
    if_click many[MAXC + 1];
    for (int i = 0; i <= MAXC; i++) many[i] = clicks[i % N];
    CHECK(if_session_set_clicks(s, many, MAXC + 1) == IF_ERR_STATE, "%s: over max_clicks", grid);
    CHECK(if_session_set_clicks(s, NULL, 2) == IF_ERR_INVALID_ARG &&
              if_session_set_clicks(s, clicks, -1) == IF_ERR_INVALID_ARG,
          "%s: NULL list / negative count", grid);
    CHECK(same_as_replay(f, s, other, 3), "%s: refused lists changed the session", grid);

    /* remove click i */
    CHECK(if_session_set_clicks(s, clicks, N) == IF_OK, "%s: set %d clicks", grid, N);
    runs = if_session_decoder_runs(s);
    CHECK(if_session_remove_click(s, 2) == IF_OK, "%s: remove: %s", grid, if_session_error(s));
    if_click rest[N];
    int m = 0;
    for (int i = 0; i < N; i++)
        if (i != 2) rest[m++] = clicks[i];
    CHECK(same_as_replay(f, s, rest, m), "%s: removing click 2 is not replaying the others", grid);
    CHECK(if_session_decoder_runs(s) - runs == 1 + (N - 3), "%s: remove took %llu runs", grid,
          (unsigned long long)(if_session_decoder_runs(s) - runs));
    runs = if_session_decoder_runs(s);
    CHECK(if_session_remove_click(s, 0) == IF_OK && same_as_replay(f, s, rest + 1, m - 1),
          "%s: remove the first click", grid);
    CHECK(if_session_decoder_runs(s) - runs == (uint64_t)(m - 1),
          "%s: removing the first click took %llu runs", grid,
          (unsigned long long)(if_session_decoder_runs(s) - runs));
    CHECK(if_session_remove_click(s, m - 1) == IF_ERR_INVALID_ARG &&
              if_session_remove_click(s, -1) == IF_ERR_INVALID_ARG,
          "%s: removing a click that is not there", grid);

    /* two unordered lists: interleaved */
    const if_click pos[3] = {clicks[0], clicks[1], clicks[3]}, neg[1] = {{150, 55, 1}};
    const if_click order[4] = {clicks[0], {150, 55, 0}, clicks[1], clicks[3]};
    CHECK(if_session_set_click_lists(s, pos, 2, neg, 1) == IF_OK && same_as_replay(f, s, order, 3),
          "%s: lists (2 positive, 1 negative) are not pos0, neg0, pos1", grid);
    runs = if_session_decoder_runs(s);
    CHECK(if_session_set_click_lists(s, pos, 3, neg, 1) == IF_OK &&
              same_as_replay(f, s, order, 4) && if_session_decoder_runs(s) - runs == 1,
          "%s: a positive appended to its list: one more run, at the end", grid);

    /* preview: the mask of the next click, nothing else changes */
    const uint64_t allocs = rt_alloc_count();
    uint8_t *before = (uint8_t *)malloc((size_t)W * H);
    memcpy(before, if_session_mask(s), (size_t)W * H);
    CHECK(if_session_probability(s, prob_a) == IF_OK, "%s: probability", grid);
    CHECK(if_session_logits(s, NULL, NULL) != NULL, "%s: logits before the preview", grid);
    runs = if_session_decoder_runs(s);
    CHECK(if_session_preview(s, clicks[4], tmp_mask) == IF_OK, "%s: preview: %s", grid,
          if_session_error(s));
    CHECK(if_session_decoder_runs(s) - runs == 1, "%s: a preview is one run", grid);
    CHECK(rt_alloc_count() == allocs, "%s: the preview allocated", grid);
    CHECK(!memcmp(before, if_session_mask(s), (size_t)W * H) && if_session_click_count(s) == 4,
          "%s: the preview changed the session", grid);
    CHECK(if_session_probability(s, prob_b) == IF_OK &&
              !memcmp(prob_a, prob_b, sizeof(float) * W * H),
          "%s: the preview changed the probabilities", grid);
    CHECK(if_session_logits(s, NULL, NULL) == NULL, "%s: logits after a preview", grid);
    if_click next[5];
    memcpy(next, order, sizeof order);
    next[4] = clicks[4];
    if_session *r = replay(f, next, 5);
    CHECK(r && !memcmp(tmp_mask, if_session_mask(r), (size_t)W * H),
          "%s: the preview is not the mask of that click", grid);
    if_session_free(r);
    CHECK(if_session_preview(s, (if_click){-1, 0, 1}, tmp_mask) == IF_ERR_INVALID_ARG &&
              if_session_preview(s, clicks[0], NULL) == IF_ERR_INVALID_ARG,
          "%s: preview of a bad click / NULL mask", grid);
    CHECK(if_session_add_click(s, clicks[4]) == IF_OK && same_as_replay(f, s, next, 5) &&
              if_session_logits(s, NULL, NULL) != NULL,
          "%s: the click after a preview", grid);
    free(before);

    /* a set mask stays the base of the clicks */
    uint8_t *base = (uint8_t *)calloc((size_t)W * H, 1);
    for (int y = 60; y < 110; y++) memset(base + (size_t)y * W + 40, 1, 60);
    CHECK(if_session_set_mask(s, base, W) == IF_OK && if_session_set_clicks(s, clicks, 2) == IF_OK,
          "%s: mask, then clicks", grid);
    CHECK(if_session_set_clicks(s, NULL, 0) == IF_OK &&
              !memcmp(if_session_mask(s), base, (size_t)W * H),
          "%s: no clicks on a set mask is not the mask", grid);
    free(base);

    /* NULL sessions */
    CHECK(if_session_redo(NULL) == IF_ERR_INVALID_ARG &&
              if_session_remove_click(NULL, 0) == IF_ERR_INVALID_ARG &&
              if_session_set_clicks(NULL, clicks, 1) == IF_ERR_INVALID_ARG &&
              if_session_set_click_lists(NULL, pos, 1, neg, 1) == IF_ERR_INVALID_ARG &&
              if_session_preview(NULL, clicks[0], tmp_mask) == IF_ERR_INVALID_ARG &&
              if_session_redo_count(NULL) == 0 && if_session_decoder_runs(NULL) == 0,
          "NULL session");
    if_session_free(s);
}

static size_t count_id(const uint16_t *map, uint16_t id) {
    size_t c = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) c += map[i] == id;
    return c;
}

/* Several objects over one decoder run. */
static void test_annotation(const if_features *f) {
    if_annotation *a = NULL;
    CHECK(if_annotation_new(dec, f, &a) == IF_OK, "annotation: %s", if_last_error());
    if (!a) return;
    int id1 = 0, id2 = 0, id3 = 0;
    CHECK(if_annotation_add_object(a, &id1) == IF_OK && if_annotation_add_object(a, &id2) == IF_OK,
          "two objects: %s", if_annotation_error(a));
    CHECK(id1 == 1 && id2 == 2 && if_annotation_count(a) == 2 && if_annotation_id(a, 1) == 2,
          "ids %d %d, count %d", id1, id2, if_annotation_count(a));
    if_session *o1 = if_annotation_object(a, id1), *o2 = if_annotation_object(a, id2);
    CHECK(o1 && o2 && o1 != o2, "the objects' sessions");
    if (!o1 || !o2) {
        if_annotation_free(a);
        return;
    }
    /* interleaved clicks on two objects: each is what it would be alone */
    uint64_t allocs = rt_alloc_count();
    CHECK(if_session_add_click(o1, clicks[0]) == IF_OK &&
              if_session_add_click(o2, clicks[2]) == IF_OK &&
              if_session_add_click(o1, clicks[1]) == IF_OK,
          "clicks on two objects");
    CHECK(rt_alloc_count() == allocs, "clicks on objects allocated");
    CHECK(same_as_replay(f, o1, clicks, 2), "object 1 after object 2's click is not its replay");
    const if_click sq[1] = {{155, 55, 1}};
    allocs = rt_alloc_count();
    CHECK(if_session_add_click(o2, sq[0]) == IF_OK && if_session_undo(o2) == IF_OK &&
              if_session_undo(o2) == IF_OK && if_session_add_click(o2, sq[0]) == IF_OK,
          "object 2: undo and a click, between object 1's");
    CHECK(rt_alloc_count() == allocs, "undo and clicks on objects allocated");
    CHECK(same_as_replay(f, o2, sq, 1), "object 2 is not its replay");

    /* shared decoder: an object costs its history, not a decoder */
    if_session *alone = NULL;
    CHECK(if_session_new(dec, f, &alone) == IF_OK, "a session");
    const size_t one = if_session_memory_bytes(o1), session = if_session_memory_bytes(alone);
    const size_t before = if_annotation_memory_bytes(a);
    CHECK(if_annotation_add_object(a, &id3) == IF_OK && id3 == 3, "object 3");
    CHECK(if_annotation_memory_bytes(a) - before == one, "object 3 added %zu bytes, not %zu",
          if_annotation_memory_bytes(a) - before, one);
    CHECK(one < session / 2, "an object holds %zu bytes, a session %zu", one, session);
    printf("memory: session %.1f MB, annotation with 3 objects %.1f MB, an object %.2f MB\n",
           session / 1e6, if_annotation_memory_bytes(a) / 1e6, one / 1e6);
    if_session_free(alone);

    /* exclusive: a finished object's pixels stay its own */
    uint16_t *map = (uint16_t *)malloc(sizeof(uint16_t) * W * H);
    CHECK(if_annotation_finish(a, id1) == IF_OK && if_annotation_is_finished(a, id1), "finish 1");
    if_session *o3 = if_annotation_object(a, id3);
    CHECK(if_session_add_click(o3, clicks[3]) == IF_OK, "object 3 clicks on object 1's disk");
    size_t overlap = 0, on1 = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        on1 += if_session_mask(o1)[i];
        overlap += if_session_mask(o1)[i] && if_session_mask(o3)[i];
    }
    CHECK(on1 > 0 && overlap == 0, "object 3 took %zu of finished object 1's %zu pixels", overlap,
          on1);
    /* a mask it is given leaves them out too, and comes back as given */
    uint8_t *all = (uint8_t *)malloc((size_t)W * H);
    memset(all, 1, (size_t)W * H);
    CHECK(if_session_set_mask(o3, all, W) == IF_OK, "object 3: a mask of everything");
    overlap = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        overlap += if_session_mask(o1)[i] && if_session_mask(o3)[i];
    CHECK(overlap == 0, "a set mask took %zu of finished object 1's pixels", overlap);
    CHECK(if_session_add_click(o3, clicks[3]) == IF_OK && if_session_undo(o3) == IF_OK,
          "a click and its undo on the set mask");
    overlap = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        overlap += if_session_mask(o1)[i] && if_session_mask(o3)[i];
    CHECK(overlap == 0, "undo to the set mask took %zu of finished object 1's pixels", overlap);
    free(all);
    CHECK(if_session_set_clicks(o3, NULL, 0) == IF_OK && if_session_reset(o3) == IF_OK &&
              if_session_add_click(o3, clicks[3]) == IF_OK,
          "object 3 back to its click");
    CHECK(if_annotation_instance_map(a, map, W) == IF_OK && count_id(map, 1) == on1 &&
              count_id(map, 2) > 0,
          "instance map: %zu pixels of object 1 (mask %zu), %zu of object 2", count_id(map, 1), on1,
          count_id(map, 2));
    /* not exclusive: the same click takes them */
    CHECK(if_annotation_set_exclusive(a, 0) == IF_OK && if_session_undo(o3) == IF_OK &&
              if_session_add_click(o3, clicks[3]) == IF_OK,
          "object 3, not exclusive");
    overlap = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        overlap += if_session_mask(o1)[i] && if_session_mask(o3)[i];
    CHECK(overlap > 0, "not exclusive, object 3 still left out object 1");
    /* reopened: its pixels are free again */
    CHECK(if_annotation_set_exclusive(a, 1) == IF_OK && if_annotation_reopen(a, id1) == IF_OK &&
              !if_annotation_is_finished(a, id1) && if_session_undo(o3) == IF_OK &&
              if_session_add_click(o3, clicks[3]) == IF_OK,
          "reopen 1, click 3 again");
    if_session *r = replay(f, clicks + 3, 1);
    CHECK(r && !memcmp(if_session_mask(o3), if_session_mask(r), (size_t)W * H),
          "with no finished object, object 3 is not its replay");
    if_session_free(r);
    /* delete */
    CHECK(if_annotation_delete(a, id2) == IF_OK && if_annotation_count(a) == 2 &&
              !if_annotation_object(a, id2) && if_annotation_id(a, 1) == id3,
          "delete 2");
    CHECK(if_annotation_instance_map(a, map, W) == IF_OK && count_id(map, 2) == 0,
          "a deleted object in the instance map");
    /* bad arguments */
    int id = -1;
    CHECK(if_annotation_finish(a, 99) == IF_ERR_INVALID_ARG &&
              if_annotation_reopen(a, id2) == IF_ERR_INVALID_ARG &&
              if_annotation_delete(a, 0) == IF_ERR_INVALID_ARG && !if_annotation_object(a, 7) &&
              if_annotation_id(a, 5) == 0 && if_annotation_id(a, -1) == 0 &&
              if_annotation_instance_map(a, NULL, W) == IF_ERR_INVALID_ARG &&
              if_annotation_instance_map(a, map, W - 1) == IF_ERR_INVALID_ARG,
          "bad ids and arguments");
    CHECK(if_annotation_add_object(NULL, &id) == IF_ERR_INVALID_ARG &&
              if_annotation_add_object(a, NULL) == IF_ERR_INVALID_ARG &&
              if_annotation_new(dec, f, NULL) == IF_ERR_INVALID_ARG &&
              if_annotation_new(enc, f, &(if_annotation *){NULL}) != IF_OK &&
              if_annotation_count(NULL) == 0 && if_annotation_memory_bytes(NULL) == 0,
          "NULL annotation arguments");
    free(map);
    if_annotation_free(a);
    if_annotation_free(NULL);
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = (uint8_t *)malloc(*n ? *n : 1);
    if (b && fread(b, 1, *n, fp) != *n) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    return b;
}

/* A corrupted copy of file image b (n bytes), its CRC made right again so
 * that the field itself is what the reader must refuse. */
static if_status load_patched2(const if_features *f, const uint8_t *b, size_t n, size_t at,
                               uint32_t value, size_t at2, uint32_t value2, size_t new_n) {
    uint8_t *c = (uint8_t *)calloc(new_n > n ? new_n : n, 1);
    memcpy(c, b, n);
    if (at < n && n - at >= 4) fmt_wr32(c + at, value);
    if (at2 < n && n - at2 >= 4) fmt_wr32(c + at2, value2);
    fmt_wr64(c + 16, new_n);
    fmt_wr32(c + 12, ifg_crc32(0, c + 16, new_n - 16));
    if_annotation *a = NULL;
    if_status st = if_annotation_load_buffer(dec, f, c, new_n, &a);
    if_annotation_free(a);
    free(c);
    return st;
}
static if_status load_patched(const if_features *f, const uint8_t *b, size_t n, size_t at,
                              uint32_t value, size_t new_n) {
    return load_patched2(f, b, n, at, value, SIZE_MAX, 0, new_n);
}

/* Save, load: the same objects, clicks, states and masks; and every kind of
 * bad file refused with its status, never a crash. */
static void test_save_load(const if_features *f, const char *path) {
    if_annotation *a = NULL;
    int id1, id2, id3;
    CHECK(if_annotation_new(dec, f, &a) == IF_OK, "annotation: %s", if_last_error());
    if (!a) return;
    uint8_t *base = (uint8_t *)calloc((size_t)W * H, 1);
    for (int y = 25; y < 85; y++) memset(base + (size_t)y * W + 125, 1, 60);
    if_annotation_add_object(a, &id1);
    if_session_set_clicks(if_annotation_object(a, id1), clicks, 3);
    if_annotation_finish(a, id1);
    if_annotation_add_object(a, &id2);
    if_annotation_add_object(a, &id3);
    if_session *o3 = if_annotation_object(a, id3);
    CHECK(if_session_set_mask(o3, base, W) == IF_OK && if_session_add_click(o3, clicks[2]) == IF_OK,
          "object 3: a mask and a click");
    if_annotation_delete(a, id2);
    CHECK(if_annotation_save(a, path) == IF_OK, "save: %s", if_annotation_error(a));
    if_annotation *b = NULL;
    CHECK(if_annotation_load(dec, f, path, &b) == IF_OK, "load: %s", if_last_error());
    if (b) {
        CHECK(if_annotation_count(b) == 2 && if_annotation_id(b, 0) == id1 &&
                  if_annotation_id(b, 1) == id3 && if_annotation_is_finished(b, id1) &&
                  !if_annotation_is_finished(b, id3),
              "loaded objects: %d", if_annotation_count(b));
        for (int k = 0; k < 2; k++) {
            const int id = k ? id3 : id1;
            if_session *x = if_annotation_object(a, id), *y = if_annotation_object(b, id);
            CHECK(y && if_session_click_count(x) == if_session_click_count(y) &&
                      !memcmp(if_session_mask(x), if_session_mask(y), (size_t)W * H),
                  "object %d after loading", id);
        }
        /* the set mask came back too: no clicks on object 3 is that mask,
         * less the pixels of object 1, finished (exclusive) */
        if_session *y3 = if_annotation_object(b, id3);
        uint8_t *want = (uint8_t *)malloc((size_t)W * H);
        for (size_t i = 0; i < (size_t)W * H; i++)
            want[i] = base[i] && !if_session_mask(if_annotation_object(b, id1))[i];
        CHECK(y3 && if_session_set_clicks(y3, NULL, 0) == IF_OK &&
                  !memcmp(if_session_mask(y3), want, (size_t)W * H),
              "object 3's set mask after loading");
        free(want);
        int id4 = 0;
        CHECK(if_annotation_add_object(b, &id4) == IF_OK && id4 == 4, "next id %d, not 4", id4);
    }
    if_annotation_free(b);
    size_t n = 0;
    uint8_t *file = slurp(path, &n);
    CHECK(file && n > IFA_HEADER, "the saved file: %zu bytes", n);
    if (file) {
        printf("annotation file: %zu bytes (2 objects, 4 clicks, a mask)\n", n);
        /* every truncation, every flipped byte */
        int bad = 0;
        for (size_t k = 0; k < n; k++) {
            if_annotation *x = NULL;
            bad += if_annotation_load_buffer(dec, f, file, k, &x) == IF_OK || x;
            if_annotation_free(x);
        }
        CHECK(!bad, "%d truncated files were taken", bad);
        bad = 0;
        for (size_t k = 0; k < n; k++) {
            if_annotation *x = NULL;
            file[k] ^= 0x40;
            bad += if_annotation_load_buffer(dec, f, file, n, &x) == IF_OK || x;
            file[k] ^= 0x40;
            if_annotation_free(x);
        }
        CHECK(!bad, "%d files with a flipped byte were taken", bad);
        /* fields out of range, with a right CRC */
        const size_t rec = IFA_HEADER; /* object 1's record */
        CHECK(load_patched(f, file, n, 8, 2, n) == IF_ERR_BAD_VERSION, "version 2");
        CHECK(load_patched(f, file, n, 112, 4, n) == IF_ERR_BAD_COUNT, "more objects than ids");
        CHECK(load_patched(f, file, n, 104, 2, n) == IF_ERR_BAD_META, "unknown header flag");
        CHECK(load_patched2(f, file, n, 24, H, 28, W, n) == IF_ERR_MISMATCH, "another image size");
        CHECK(load_patched(f, file, n, 24, 0, n) == IF_ERR_BAD_SHAPE, "width 0");
        CHECK(load_patched(f, file, n, rec, 5, n) == IF_ERR_BAD_COUNT, "id over last_id");
        CHECK(load_patched(f, file, n, rec + 4, 4, n) == IF_ERR_BAD_META, "unknown object flag");
        CHECK(load_patched(f, file, n, rec + 16, W, n) == IF_ERR_BAD_META, "click outside");
        CHECK(load_patched(f, file, n, rec + 24, 2, n) == IF_ERR_BAD_META, "click positive = 2");
        CHECK(load_patched(f, file, n, rec + 8, 100, n) == IF_ERR_TRUNCATED, "100 clicks");
        CHECK(load_patched(f, file, n, n - 4, 7, n) == IF_ERR_BAD_COUNT, "runs not adding up");
        CHECK(load_patched(f, file, n, SIZE_MAX, 0, n + 4) == IF_ERR_BAD_OFFSET,
              "bytes after the end");
        CHECK(load_patched(f, file, n, 32, 0x41414141, n) == IF_ERR_MISMATCH,
              "an identity of another model");
    }
    CHECK(if_annotation_load(dec, f, "/nonexistent/x.ifa", &b) == IF_ERR_IO && !b, "no file");
    CHECK(if_annotation_load_buffer(dec, f, NULL, 10, &b) == IF_ERR_INVALID_ARG &&
              if_annotation_load(dec, f, path, NULL) == IF_ERR_INVALID_ARG &&
              if_annotation_save(NULL, path) == IF_ERR_INVALID_ARG &&
              if_annotation_save(a, "/nonexistent/dir/x.ifa") == IF_ERR_IO,
          "bad arguments of save and load");
    free(file);
    free(base);
    if_annotation_free(a);
    remove(path);
}

int main(int argc, char **argv) {
    const char *enc_path = "models/demo.encoder.ifg", *dec_path = "models/demo.decoder.ifg";
    if (argc == 3) {
        enc_path = argv[1];
        dec_path = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: test_edit [ENCODER.ifg DECODER.ifg]\n");
        return 2;
    }
    if_options o = if_default_options();
    o.max_clicks = MAXC;
    if (if_model_load(enc_path, &o, &enc) != IF_OK || if_model_load(dec_path, &o, &dec) != IF_OK) {
        fprintf(stderr, "test_edit: %s\n", if_last_error());
        return 1;
    }
    static uint8_t rgb[W * H * 3];
    draw(rgb);
    prob_a = (float *)malloc(sizeof(float) * W * H);
    prob_b = (float *)malloc(sizeof(float) * W * H);
    tmp_mask = (uint8_t *)malloc((size_t)W * H);
    /* the image's own grid, then a working grid of 120 pixels a side */
    for (int scaled = 0; scaled < 2; scaled++) {
        if_encode_options eo = if_default_encode_options();
        eo.max_side = scaled ? 120 : 0;
        if_features *f = NULL;
        CHECK(if_encode(enc, rgb, W, H, W * 3, &eo, &f) == IF_OK, "encode: %s", if_last_error());
        if (f) test_edits(f, scaled ? "working grid 120" : "image grid");
        if (f) test_annotation(f);
        if (f) test_save_load(f, "build/test_edit.ifa");
        if_features_free(f);
    }
    free(prob_a);
    free(prob_b);
    free(tmp_mask);
    if_model_free(dec);
    if_model_free(enc);
    return CHECK_SUMMARY();
}
