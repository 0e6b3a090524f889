/* test_session.c -- the session API against a golden case, replayed from
 * its clicks (clicks.json), not from the recorded labels: every label fed
 * to the decoder, every ROI and every mask must be the official model's.
 * Also: undo/reset/set_mask, feature files (round trip, corruption,
 * mismatch), no allocation per click, bad arguments.
 *
 * usage: test_session CASE_DIR ENCODER.ifg DECODER.ifg */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/npy.h"
#include "interformer.h"
#include "session/session.h"

#include "check.h"

static int load(const char *dir, const char *name, npy_array *a) {
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (npy_read(path, a, err, sizeof err)) return -1;
    return 0;
}

/* clicks.json: [{"y": 78, "x": 68, "positive": true}, ...] */
static int read_clicks(const char *dir, if_click *c, int cap) {
    char path[1024], buf[8192];
    snprintf(path, sizeof path, "%s/clicks.json", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    int k = 0;
    for (char *p = strchr(buf, '{'); p && k < cap; p = strchr(p + 1, '{')) {
        char *y = strstr(p, "\"y\""), *x = strstr(p, "\"x\""), *pos = strstr(p, "\"positive\"");
        if (!y || !x || !pos) return -1;
        c[k].y = atoi(strchr(y, ':') + 1);
        c[k].x = atoi(strchr(x, ':') + 1);
        c[k].positive = strstr(strchr(pos, ':'), "true") ==
                        strchr(pos, ':') + 1 + strspn(strchr(pos, ':') + 1, " ");
        k++;
    }
    return k;
}

/* The case's features as a features object (NCHW npy -> HWC). */
static if_features *case_features(const char *dir, const if_model *dec) {
    npy_array f[4];
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "feat%d.npy", i);
        if (load(dir, name, &f[i])) return NULL;
    }
    int Hp = (int)f[0].shape[2] * 4, Wp = (int)f[0].shape[3] * 4;
    npy_array lab;
    if (load(dir, "gt.png", &lab) == 0) npy_free(&lab); /* not npy: ignored */
    /* Original size: from the manifest ("image_size": [H, W]). */
    char path[1024], buf[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *mf = fopen(path, "r");
    int H = Hp, W = Wp;
    if (mf) {
        size_t n = fread(buf, 1, sizeof buf - 1, mf);
        buf[n] = 0;
        fclose(mf);
        char *p = strstr(buf, "\"image_size\"");
        if (p && (p = strchr(p, '['))) {
            H = (int)strtol(p + 1, &p, 10);
            W = (int)strtol(p + 1, NULL, 10);
        }
    }
    int ch[4], st[4] = {4, 8, 16, 32};
    for (int i = 0; i < 4; i++) ch[i] = (int)f[i].shape[1];
    if_features *out = NULL;
    if (if__features_alloc(H, W, Hp, Wp, ch, st, dec->info.identity, &out) == IF_OK)
        for (int i = 0; i < 4; i++) {
            int64_t C = f[i].shape[1], hw = f[i].shape[2] * f[i].shape[3];
            const float *src = f[i].data;
            for (int64_t c = 0; c < C; c++)
                for (int64_t p = 0; p < hw; p++) out->level[i][p * C + c] = src[c * hw + p];
        }
    for (int i = 0; i < 4; i++) npy_free(&f[i]);
    return out;
}

/* The label fed at step k equals the official's, except where the previous
 * mask holds a pixel the official model itself could not decide: a margin
 * |l1 - l0| of at most 1e-3 in its logits of step k - 1, which float
 * rounding in another order may flip (as if-golden and the mask check
 * below allow). */
static void label_check(const char *dir, int k, const uint8_t *want, const uint8_t *got, int hp,
                        int wp) {
    const size_t n = (size_t)hp * wp;
    if (!memcmp(want, got, n)) return;
    npy_array prev;
    char name[64];
    snprintf(name, sizeof name, "logits_%d.npy", k - 1);
    const int have = k > 0 && load(dir, name, &prev) == 0;
    const int fits = have && prev.dtype == NPY_F32 && prev.rank == 4 && prev.shape[1] == 2 &&
                     prev.shape[2] == hp && prev.shape[3] == wp;
    long ties = 0, bad = 0;
    for (size_t p = 0; p < n; p++) {
        if (want[p] == got[p]) continue;
        const float *l = fits ? (const float *)prev.data : NULL;
        if (l && fabsf(l[n + p] - l[p]) <= 1e-3f)
            ties++;
        else
            bad++;
    }
    if (have) npy_free(&prev);
    /* A handful at most: more would be a disagreement, not a tie. */
    CHECK(bad == 0 && ties <= 16,
          "%s: step %d label differs from the official at %ld pixels (%ld undecided)", dir, k, bad,
          ties);
    if (ties)
        printf("%s: step %d label: %ld undecided pixel(s) of the previous mask flipped\n", dir, k,
               ties);
}

static void replay(const char *dir, const if_model *dec, const if_features *feat) {
    if_click clicks[64];
    int nc = read_clicks(dir, clicks, 64);
    CHECK(nc > 0, "%s: no clicks", dir);
    if_session *s = NULL;
    CHECK(if_session_new(dec, feat, &s) == IF_OK, "session: %s", if_last_error());
    if (!s) return;
    const if_session *v = s;
    int Hp = feat->padded_h, Wp = feat->padded_w;
    size_t n = (size_t)Hp * Wp;
    for (int k = 0; k < nc; k++) {
        uint64_t before = rt_alloc_count();
        CHECK(if_session_add_click(s, clicks[k]) == IF_OK, "click %d: %s", k, if_session_error(s));
        CHECK(rt_alloc_count() == before, "click %d allocated", k);
        char name[64];
        npy_array lab, logits, roi;
        snprintf(name, sizeof name, "ref_label_%d.npy", k);
        if (load(dir, name, &lab) == 0) {
            label_check(dir, k, (const uint8_t *)lab.data, v->fed + (size_t)k * n, Hp, Wp);
            npy_free(&lab);
        }
        snprintf(name, sizeof name, "roi_%d.npy", k);
        if (load(dir, name, &roi) == 0) {
            const int64_t *r = roi.data;
            CHECK(v->has_roi[k] && v->roi[k][0] == r[0] && v->roi[k][1] == r[1] &&
                      v->roi[k][2] == r[2] && v->roi[k][3] == r[3],
                  "%s: step %d roi", dir, k);
            npy_free(&roi);
        } else {
            CHECK(!v->has_roi[k], "%s: step %d has a roi, the official has none", dir, k);
        }
        snprintf(name, sizeof name, "logits_%d.npy", k);
        if (load(dir, name, &logits) == 0) {
            const float *r = logits.data;
            const uint8_t *m = if_session_mask(s);
            long bad = 0, flips = 0;
            for (int y = 0; y < feat->height; y++)
                for (int x = 0; x < feat->width; x++) {
                    size_t p = (size_t)y * Wp + x;
                    int want = r[n + p] > r[p];
                    if (m[(size_t)y * feat->width + x] != want) {
                        flips++;
                        if (fabsf(r[n + p] - r[p]) > 1e-3f) bad++;
                    }
                }
            CHECK(bad == 0, "%s: step %d mask differs at %ld confident pixels (%ld in all)", dir, k,
                  bad, flips);
            npy_free(&logits);
        }
    }
    CHECK(if_session_click_count(s) == nc, "click count");

    /* Undo restores the previous prediction exactly. */
    if (nc >= 2) {
        int hp, wp;
        size_t hw = (size_t)feat->height * feat->width;
        uint8_t *m_before = malloc(hw);
        float *l_before = malloc(n * 2 * sizeof(float));
        if_session_undo(s);
        memcpy(m_before, if_session_mask(s), hw);
        memcpy(l_before, if_session_logits(s, &hp, &wp), n * 2 * sizeof(float));
        CHECK(if_session_add_click(s, clicks[nc - 1]) == IF_OK, "redo");
        CHECK(if_session_undo(s) == IF_OK, "undo");
        CHECK(!memcmp(m_before, if_session_mask(s), hw), "undo does not restore the mask");
        CHECK(!memcmp(l_before, if_session_logits(s, NULL, NULL), n * 2 * sizeof(float)),
              "undo does not restore the logits");
        while (if_session_click_count(s) > 0) CHECK(if_session_undo(s) == IF_OK, "undo");
        CHECK(if_session_undo(s) == IF_ERR_STATE, "undo with no click");
        CHECK(if_session_logits(s, NULL, NULL) == NULL, "logits after undoing everything");
        float p;
        CHECK(if_session_probability(s, &p) == IF_ERR_STATE, "probability with no prediction");
        free(m_before);
        free(l_before);
    }
    /* Bad clicks leave the session unchanged. */
    CHECK(if_session_add_click(s, (if_click){-1, 0, 1}) == IF_ERR_INVALID_ARG, "negative x");
    CHECK(if_session_add_click(s, (if_click){0, feat->height, 1}) == IF_ERR_INVALID_ARG,
          "y = height");
    CHECK(strstr(if_session_error(s), "outside") != NULL, "message: %s", if_session_error(s));
    CHECK(if_session_click_count(s) == 0, "failed click counted");
    if_click got;
    CHECK(if_session_get_click(s, 0, &got) == IF_ERR_INVALID_ARG, "click 0 of none");

    /* set_mask: the mask shows, and is folded into the label. */
    size_t hw = (size_t)feat->height * feat->width;
    uint8_t *mk = calloc(hw, 1);
    for (size_t i = 0; i < hw / 3; i++) mk[i] = 255;
    CHECK(if_session_set_mask(s, mk, (size_t)feat->width) == IF_OK, "set_mask");
    CHECK(if_session_mask(s)[0] == 1 && if_session_mask(s)[hw - 1] == 0, "set mask not shown");
    CHECK(if_session_add_click(s, clicks[0]) == IF_OK, "click after set_mask");
    CHECK(v->fed[0] == 3 || v->fed[0] == 4 || v->fed[0] == 0,
          "mask not folded into the label (code %d)", v->fed[0]);
    CHECK(if_session_reset(s) == IF_OK && if_session_click_count(s) == 0, "reset");
    CHECK(if_session_mask(s)[0] == 0, "reset keeps the mask");
    free(mk);
    if_session_free(s);
}

static void feature_files(const if_model *dec, const if_features *feat) {
    char path[] = "/tmp/if-test-features-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    if_features *back = NULL;
    /* f32: exact. */
    CHECK(if_features_save(feat, path, IF_DTYPE_F32) == IF_OK, "save: %s", if_last_error());
    CHECK(if_features_load(path, &back) == IF_OK, "load: %s", if_last_error());
    if (back) {
        int same = back->width == feat->width && back->height == feat->height &&
                   !strcmp(back->identity, feat->identity);
        for (int i = 0; i < 4 && same; i++) {
            size_t cnt = (size_t)feat->lh[i] * feat->lw[i] * feat->channels[i];
            same = !memcmp(back->level[i], feat->level[i], cnt * sizeof(float));
        }
        CHECK(same, "f32 round trip is not exact");
        CHECK(if_features_check(dec, back) == IF_OK, "loaded features rejected: %s",
              if_last_error());
        if_features_free(back);
    }
    /* f16: within half-precision rounding. */
    CHECK(if_features_save(feat, path, IF_DTYPE_F16) == IF_OK, "save f16");
    CHECK(if_features_load(path, &back) == IF_OK, "load f16: %s", if_last_error());
    if (back) {
        double worst = 0;
        for (int i = 0; i < 4; i++) {
            size_t cnt = (size_t)feat->lh[i] * feat->lw[i] * feat->channels[i];
            for (size_t j = 0; j < cnt; j++) {
                double a = feat->level[i][j], b = back->level[i][j];
                double tol = fabs(a) * (1.0 / 2048) + 6e-8; /* half ulp of f16, plus subnormals */
                if (fabs(a - b) / tol > worst) worst = fabs(a - b) / tol;
            }
        }
        CHECK(worst <= 1.0, "f16 error %.3f x the rounding bound", worst);
        if_features_free(back);
    }
    /* Corruption: each a specific status. */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)size);
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size, "read back");
    fclose(f);
    CHECK(if_features_load_buffer(buf, (size_t)size, &back) == IF_OK, "buffer load");
    if_features_free(back);
    for (long cut = 0; cut < size; cut += (cut < 300 ? 1 : 997))
        CHECK(if_features_load_buffer(buf, (size_t)cut, &back) != IF_OK && !back,
              "truncated at %ld accepted", cut);
    buf[size / 2] ^= 0x40;
    CHECK(if_features_load_buffer(buf, (size_t)size, &back) == IF_ERR_CHECKSUM, "flipped byte");
    buf[size / 2] ^= 0x40;
    buf[0] = 'X';
    CHECK(if_features_load_buffer(buf, (size_t)size, &back) == IF_ERR_BAD_MAGIC, "bad magic");
    buf[0] = 'I';
    buf[8] = 9;
    CHECK(if_features_load_buffer(buf, (size_t)size, &back) == IF_ERR_BAD_VERSION, "bad version");
    free(buf);
    CHECK(if_features_load("/nonexistent/x.iff", &back) == IF_ERR_IO, "missing file");
    CHECK(strstr(if_last_error(), "/nonexistent/x.iff") != NULL, "message names the file: %s",
          if_last_error());
    CHECK(if_features_save(feat, "/nonexistent/dir/x.iff", IF_DTYPE_F32) == IF_ERR_IO,
          "unwritable path");
    unlink(path);

    /* Features of another model are refused, with the reason. */
    if_features *other = NULL;
    if__features_alloc(feat->height, feat->width, feat->padded_h, feat->padded_w, feat->channels,
                       feat->strides,
                       "0000000000000000000000000000000000000000000000000000000000000000", &other);
    if_session *s = NULL;
    CHECK(if_session_new(dec, other, &s) == IF_ERR_MISMATCH && !s,
          "features of another model accepted");
    CHECK(strstr(if_last_error(), "model") != NULL, "mismatch message: %s", if_last_error());
    if_features_free(other);
    int ch[4] = {feat->channels[0] + 1, feat->channels[1], feat->channels[2], feat->channels[3]};
    if__features_alloc(feat->height, feat->width, feat->padded_h, feat->padded_w, ch, feat->strides,
                       feat->identity, &other);
    CHECK(if_session_new(dec, other, &s) == IF_ERR_MISMATCH,
          "features with other channels accepted");
    if_features_free(other);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: test_session CASE_DIR ENCODER.ifg DECODER.ifg\n");
        return 2;
    }
    const char *dir = argv[1];
    if_model *enc = NULL, *dec = NULL;
    CHECK(if_model_load(argv[2], NULL, &enc) == IF_OK, "encoder: %s", if_last_error());
    CHECK(if_model_load(argv[3], NULL, &dec) == IF_OK, "decoder: %s", if_last_error());
    if_features *feat = dec ? case_features(dir, dec) : NULL;
    CHECK(feat != NULL, "%s: features", dir);
    if (feat) {
        replay(dir, dec, feat);
        feature_files(dec, feat);
        if_session *s = NULL;
        CHECK(if_session_new(enc, feat, &s) == IF_ERR_INVALID_ARG, "encoder used as decoder");
        CHECK(if_session_new(dec, NULL, &s) == IF_ERR_INVALID_ARG, "NULL features");
        CHECK(if_session_new(dec, feat, NULL) == IF_ERR_INVALID_ARG, "NULL out");
    }
    uint8_t px[3] = {0};
    if_features *f2 = NULL;
    CHECK(if_encode_rgb8(dec, px, 1, 1, 3, &f2) == IF_ERR_INVALID_ARG, "decoder used as encoder");
    CHECK(if_encode_rgb8(enc, px, 1, 1, 2, &f2) == IF_ERR_INVALID_ARG, "stride below width*3");
    CHECK(if_encode_rgb8(enc, NULL, 1, 1, 3, &f2) == IF_ERR_INVALID_ARG, "NULL pixels");
    if (enc && feat) {
        /* Encoding a 1x1 image works (padding) and records the identity. */
        CHECK(if_encode_rgb8(enc, px, 1, 1, 3, &f2) == IF_OK, "encode 1x1: %s", if_last_error());
        if (f2)
            CHECK(if_features_check(dec, f2) == IF_OK, "own features rejected: %s",
                  if_last_error());
        if_features_free(f2);
    }
    if_features_free(feat);
    if_model_free(enc);
    if_model_free(dec);
    return CHECK_SUMMARY();
}
