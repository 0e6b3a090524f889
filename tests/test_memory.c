/* test_memory.c -- the memory budget (runtime/membudget.c): a call over
 * if_options.mem_limit, or over what this machine can give, fails with
 * IF_ERR_NO_MEMORY and the figures in its detail before it allocates
 * anything or reads a pixel; the model stays usable; nothing leaks (the
 * sanitizer build runs this too).
 *
 * usage: test_memory [ENCODER.ifg DECODER.ifg]
 * Without arguments: the tiny test model (build/models/tiny_vit.*, made by
 * `make models`; make runs the tests from the repository root), and the
 * bundled default encoder when it is there. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "interformer.h"
#include "platform/platform.h"
#include "runtime/runtime.h"

#define MB ((size_t)1 << 20)

static double now_s(void) { return ifp_now_us() / 1e6; }

static int has(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

static if_model *load(const char *path, size_t mem_limit, int max_clicks) {
    if_options o = if_default_options();
    o.mem_limit = mem_limit;
    if (max_clicks) o.max_clicks = max_clicks;
    if_model *m = NULL;
    if_status s = if_model_load(path, &o, &m);
    CHECK(s == IF_OK, "load %s with mem_limit %zu: %s: %s", path, mem_limit, if_status_str(s),
          if_last_error());
    return m;
}

/* The "needs N GB" figure of a refusal's detail, in bytes (0 if absent). */
static double needs_bytes(const char *detail) {
    const char *p = strstr(detail, " needs ");
    double v;
    char unit[8] = "";
    if (!p || sscanf(p + 7, "%lf %7s", &v, unit) != 2) return 0;
    if (!strcmp(unit, "GB")) return v * 1e9;
    if (!strcmp(unit, "MB")) return v * 1e6;
    if (!strcmp(unit, "kB")) return v * 1e3;
    return v;
}

/* An RGB image of n x n that takes no memory: address space never touched.
 * Unreadable where the call must refuse without reading a pixel (a read
 * would crash the test), readable where it might legitimately proceed. */
static uint8_t *huge_image(int n, int readable) {
    void *p = ifp_reserve((size_t)n * n * 3, readable);
    CHECK(p != NULL, "address space for a %dx%d image", n, n);
    return (uint8_t *)p;
}

static void test_helper(void) {
    const char *src = NULL;
    CHECK(rt_mem_budget(12345, &src) == 12345 && has(src, "mem_limit"), "explicit limit: %s", src);
    uint64_t b = rt_mem_budget(0, &src);
    printf("automatic budget: %.2f GB (%s)\n", (double)b / 1e9, src);
#ifdef __linux__
    CHECK(b > 0, "no automatic budget on Linux");
#endif
    char err[RT_ERR_CAP] = "";
    const rt_mem_part ok[] = {{"a", 100}, {"b", 200}};
    CHECK(rt_mem_check(300, 1, ok, 2, err, sizeof err, "x") == IF_OK && !err[0],
          "300 of 300 refused: %s", err);
    CHECK(rt_mem_check(299, 1, ok, 2, err, sizeof err, "job %d", 7) == IF_ERR_NO_MEMORY,
          "301 of 300 accepted");
    CHECK(!strcmp(err, "job 7 needs 300 bytes (a 100 bytes, b 200 bytes); the budget is 299 bytes "
                       "(if_options.mem_limit)"),
          "detail: %s", err);
    /* Absurd parts saturate instead of wrapping round to a small total. */
    const rt_mem_part absurd[] = {{"a", UINT64_MAX}, {"b", UINT64_MAX}, {"c", 5}};
    CHECK(rt_mem_check(0, 0, absurd, 3, err, sizeof err, "absurd") == IF_ERR_NO_MEMORY,
          "absurd accepted");
    CHECK(rt_mem_check(1000, 0, absurd, 3, NULL, 0, "absurd") == IF_ERR_NO_MEMORY,
          "absurd accepted without err");
    /* A zero part is left out of the detail. */
    const rt_mem_part zero[] = {{"a", 0}, {"b", 2000000}};
    rt_mem_check(1000, 0, zero, 2, err, sizeof err, "z");
    CHECK(!strcmp(err, "z needs 2.0 MB (b 2.0 MB); the budget is 1.0 kB (if_options.mem_limit)"),
          "detail: %s", err);
}

/* 64x64 and 512x512 RGB with some structure. */
static uint8_t *image(int n) {
    uint8_t *p = malloc((size_t)n * n * 3);
    for (size_t i = 0; p && i < (size_t)n * n * 3; i++) p[i] = (uint8_t)((i * 2654435761u) >> 24);
    return p;
}

static void test_limits(const char *enc_path, const char *dec_path) {
    if_model *m = NULL;
    /* The load itself: the file image is over a 1000-byte budget. */
    if_options o = if_default_options();
    o.mem_limit = 1000;
    CHECK(if_model_load(enc_path, &o, &m) == IF_ERR_NO_MEMORY && !m, "load within 1000 bytes");
    CHECK(has(if_last_error(), "file image") && has(if_last_error(), "if_options.mem_limit"),
          "detail: %s", if_last_error());

    if_model *enc = load(enc_path, 4 * MB, 0), *free_enc = load(enc_path, 0, 0);
    if_model *dec = load(dec_path, 4 * MB, 0), *free_dec = load(dec_path, 0, 0);
    uint8_t *small = image(64), *mid = image(512);
    if (!enc || !free_enc || !dec || !free_dec || !small || !mid) goto out;

    /* Encode over the limit: refused with every part named. */
    if_features *f = NULL, *f_ref = NULL, *f_mid = NULL;
    if_status s = if_encode_rgb8(enc, mid, 512, 512, 512 * 3, &f);
    const char *e = if_last_error();
    CHECK(s == IF_ERR_NO_MEMORY && !f, "512x512 encode within 4 MB: %s", if_status_str(s));
    CHECK(has(e, "encoding a 512x512 image needs") && has(e, "arena") && has(e, "input") &&
              has(e, "features") && has(e, "the budget is 4.2 MB (if_options.mem_limit)"),
          "detail: %s", e);
    printf("refused: %s\n", e);

    /* The same model then encodes what fits, exactly as without a limit. */
    s = if_encode_rgb8(enc, small, 64, 64, 64 * 3, &f);
    CHECK(s == IF_OK, "64x64 encode within 4 MB: %s", if_last_error());
    CHECK(if_encode_rgb8(free_enc, small, 64, 64, 64 * 3, &f_ref) == IF_OK, "64x64 encode: %s",
          if_last_error());
    for (int l = 0; f && f_ref && l < 4; l++) {
        int h, w, c;
        const float *a = if_features_level(f, l, &h, &w, &c),
                    *b = if_features_level(f_ref, l, NULL, NULL, NULL);
        CHECK(!memcmp(a, b, (size_t)h * w * c * sizeof(float)), "level %d differs with a limit", l);
    }

    /* Runs: the arena over the limit. */
    if_run *r = NULL;
    s = if_run_new(dec, 512, 512, &r);
    CHECK(s == IF_ERR_NO_MEMORY && !r, "512x512 decoder run within 4 MB: %s", if_status_str(s));
    CHECK(has(if_last_error(), "a 512x512 run needs") && has(if_last_error(), "arena"),
          "detail: %s", if_last_error());
    CHECK(if_run_new(dec, 64, 64, &r) == IF_OK, "64x64 run: %s", if_last_error());
    if_run_free(r);

    /* Sessions: the history and maps count with the run. */
    if_session *ss = NULL;
    CHECK(if_encode_rgb8(free_enc, mid, 512, 512, 512 * 3, &f_mid) == IF_OK, "512x512 encode: %s",
          if_last_error());
    s = f_mid ? if_session_new(dec, f_mid, &ss) : IF_ERR_STATE;
    e = if_last_error();
    CHECK(s == IF_ERR_NO_MEMORY && !ss, "512x512 session within 4 MB: %s", if_status_str(s));
    CHECK(has(e, "a session on a 512x512 image needs") && has(e, "arena") &&
              has(e, "click history") && has(e, "maps"),
          "detail: %s", e);
    printf("refused: %s\n", e);
    if (f) {
        CHECK(if_session_new(dec, f, &ss) == IF_OK, "64x64 session within 4 MB: %s",
              if_last_error());
        CHECK(ss && if_session_add_click(ss, (if_click){20, 30, 1}) == IF_OK, "click: %s",
              if_session_error(ss));
        if_session_free(ss);
        ss = NULL;
        /* A longer history alone tips it over: 1000 steps of 64x64 labels. */
        if_model *dec_long = load(dec_path, 4 * MB, 1000);
        s = dec_long ? if_session_new(dec_long, f, &ss) : IF_ERR_STATE;
        CHECK(s == IF_ERR_NO_MEMORY && !ss, "1000-click session within 4 MB: %s", if_status_str(s));
        CHECK(has(if_last_error(), "click history 4.1 MB"), "detail: %s", if_last_error());
        if_model_free(dec_long);
    }
    if_features_free(f);
    if_features_free(f_ref);
    if_features_free(f_mid);

    /* 30000x30000 through an explicit limit: refused at once, no pixel read
     * (the image cannot be read). */
    uint8_t *huge = huge_image(30000, 0);
    if (huge) {
        double t0 = now_s();
        f = NULL;
        s = if_encode_rgb8(enc, huge, 30000, 30000, 30000 * 3, &f);
        double dt = now_s() - t0;
        CHECK(s == IF_ERR_NO_MEMORY && !f, "30000x30000 encode within 4 MB: %s", if_status_str(s));
        CHECK(has(if_last_error(), "encoding a 30000x30000 image needs"), "detail: %s",
              if_last_error());
        CHECK(dt < 5, "refusal took %.1f s", dt);
        printf("refused in %.3f s: %s\n", dt, if_last_error());
        ifp_unreserve(huge, (size_t)30000 * 30000 * 3);
    }
out:
    free(small);
    free(mid);
    if_model_free(enc);
    if_model_free(free_enc);
    if_model_free(dec);
    if_model_free(free_dec);
}

/* 30000x30000 with the automatic budget: refused quickly wherever it needs
 * more than this machine can give (and skipped where it would not, since
 * there the encode would really run). */
static void test_automatic(const char *enc_path) {
    /* What the call needs, from a refusal under a tiny explicit limit. */
    if_model *probe = load(enc_path, 64 * MB, 0);
    uint8_t *huge = huge_image(30000, 1);
    if (!probe || !huge) goto out;
    if_features *f = NULL;
    if_encode_rgb8(probe, huge, 30000, 30000, 30000 * 3, &f);
    double need = needs_bytes(if_last_error());
    CHECK(need > 0 && !f, "no figure in: %s", if_last_error());
    const char *src;
    uint64_t budget = rt_mem_budget(0, &src);
    printf("%s at 30000x30000: %s\n", enc_path, if_last_error());
    if (!budget || need <= 1.05 * (double)budget) { /* a margin: the figure is rounded */
        printf("SKIP automatic refusal with %s: it needs %.1f GB, the budget is %.1f GB (%s)\n",
               enc_path, need / 1e9, (double)budget / 1e9, src);
        goto out;
    }
    if_model *enc = load(enc_path, 0, 0);
    double t0 = now_s();
    if_status s = enc ? if_encode_rgb8(enc, huge, 30000, 30000, 30000 * 3, &f) : IF_ERR_STATE;
    double dt = now_s() - t0;
    CHECK(s == IF_ERR_NO_MEMORY && !f, "30000x30000 encode with the automatic budget: %s",
          if_status_str(s));
    CHECK(has(if_last_error(), "available") || has(if_last_error(), "physical") ||
              has(if_last_error(), "cgroup") || has(if_last_error(), "job object"),
          "detail: %s", if_last_error());
    CHECK(dt < 5, "refusal took %.1f s", dt);
    printf("refused in %.3f s: %s\n", dt, if_last_error());
    if_features_free(f);
    if_model_free(enc);
out:
    ifp_unreserve(huge, (size_t)30000 * 30000 * 3);
    if_model_free(probe);
}

int main(int argc, char **argv) {
    const char *enc, *dec;
    if (check_model_args(argc, argv, &enc, &dec)) return 2;
    test_helper();
    test_limits(enc, dec);
    test_automatic(enc);
    const char *dflt = "build/models/default.encoder.ifg";
    ifp_stat_info st;
    if (argc == 1 && ifp_stat(dflt, &st) == 0 && st.kind == IFP_FILE) {
        test_automatic(dflt);
        /* Its weights are f16: the file fits 6 MB, widened to f32 it does not. */
        if_options o = if_default_options();
        o.mem_limit = 6 * MB;
        if_model *m = NULL;
        CHECK(if_model_load(dflt, &o, &m) == IF_ERR_NO_MEMORY && !m, "f16 model within 6 MB");
        CHECK(has(if_last_error(), "f16 -> f32 weights"), "detail: %s", if_last_error());
        printf("refused: %s\n", if_last_error());
    } else if (argc == 1) {
        printf("SKIP %s: not built (make models)\n", dflt);
    }
    return CHECK_SUMMARY();
}
