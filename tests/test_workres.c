/* test_workres -- the working resolution (if_encode_options.max_side) and
 * the encoder's progress and cancel, against references written here from
 * format/FEATURES.md's rules:
 *   - working sizes, the area-average resize (a naive per-pixel reference),
 *     the click mapping;
 *   - a session on a resized encode: the mask is the bilinear upsampling
 *     of the foreground-minus-background logits thresholded at 0 (computed
 *     here from if_session_logits), the probability its sigmoid, undo and
 *     set_mask give back exact masks, nothing is allocated per click;
 *   - feature files: version 2 keeps both sizes, version 1 files still load;
 *   - progress: increasing fractions ending at 1; a cancel returns
 *     IF_ERR_CANCELLED and the model encodes as before afterwards.
 * Without arguments: the tiny test model (build/models/tiny_vit.*, made by
 * `make models`); else ENCODER DECODER. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "format/ifg.h"
#include "interformer.h"
#include "runtime/runtime.h"
#include "session/workres.h"

static uint32_t rng = 12345;
static uint8_t rnd8(void) {
    rng = rng * 1664525u + 1013904223u;
    return (uint8_t)(rng >> 24);
}

/* ------------------------------------------------------------ geometry */

static void test_work_size(void) {
    int w, h;
    rt_work_size(4000, 3000, 1024, &w, &h);
    CHECK(w == 1024 && h == 768, "4000x3000 -> %dx%d", w, h);
    rt_work_size(2250, 4000, 1024, &w, &h);
    CHECK(w == 576 && h == 1024, "2250x4000 -> %dx%d", w, h);
    rt_work_size(1001, 3, 100, &w, &h); /* 0.2997 rounds to 0: at least 1 */
    CHECK(w == 100 && h == 1, "1001x3 -> %dx%d", w, h);
    rt_work_size(640, 480, 1024, &w, &h);
    CHECK(w == 640 && h == 480, "smaller than max_side: native, got %dx%d", w, h);
    rt_work_size(640, 480, 0, &w, &h);
    CHECK(w == 640 && h == 480, "max_side 0: native, got %dx%d", w, h);
    rt_work_size(300, 300, 200, &w, &h);
    CHECK(w == 200 && h == 200, "square -> %dx%d", w, h);
    int pw, ph;
    CHECK(if_working_size(4000, 2250, 1024, &pw, &ph) == IF_OK && pw == 1024 && ph == 576,
          "if_working_size 4000x2250 -> %dx%d", pw, ph);
    CHECK(if_working_size(0, 5, 10, &pw, &ph) == IF_ERR_INVALID_ARG &&
              if_working_size(5, 5, -1, &pw, &ph) == IF_ERR_INVALID_ARG &&
              if_working_size(5, 5, 10, NULL, &ph) == IF_ERR_INVALID_ARG,
          "if_working_size refuses bad arguments");
    /* Click mapping: the working pixel whose area holds the click's centre. */
    CHECK(rt_work_coord(0, 4000, 1024) == 0 && rt_work_coord(3999, 4000, 1024) == 1023, "ends");
    CHECK(rt_work_coord(1953, 4000, 1024) == 500, "1953 -> %d", rt_work_coord(1953, 4000, 1024));
}

/* The area average of one output pixel, as FEATURES.md says it, in exact
 * integers: source pixel x covers [x*ww, (x+1)*ww) and output pixel xo
 * [xo*w, (xo+1)*w) in units of 1/ww pixel (likewise y); halves round up. */
static int area_ref(const uint8_t *src, int w, int h, size_t stride, int ww, int wh, int xo, int yo,
                    int c) {
    uint64_t sum = 0;
    for (int y = 0; y < h; y++) {
        int64_t oy =
            (int64_t)((y + 1) * (int64_t)wh < (yo + 1) * (int64_t)h ? (y + 1) * (int64_t)wh
                                                                    : (yo + 1) * (int64_t)h) -
            (y * (int64_t)wh > yo * (int64_t)h ? y * (int64_t)wh : yo * (int64_t)h);
        if (oy <= 0) continue;
        for (int x = 0; x < w; x++) {
            int64_t ox = ((x + 1) * (int64_t)ww < (xo + 1) * (int64_t)w ? (x + 1) * (int64_t)ww
                                                                        : (xo + 1) * (int64_t)w) -
                         (x * (int64_t)ww > xo * (int64_t)w ? x * (int64_t)ww : xo * (int64_t)w);
            if (ox > 0)
                sum += (uint64_t)ox * (uint64_t)oy * src[(size_t)y * stride + (size_t)x * 3 + c];
        }
    }
    uint64_t den = (uint64_t)w * (uint64_t)h;
    return (int)((2 * sum + den) / (2 * den));
}

static void test_area_resize(void) {
    /* {100, 100, 50, 50}: 2x2 boxes, a quarter of the random sums are exact
     * halves, which must round up. */
    static const int sizes[][4] = {{37, 23, 10, 6},   {100, 100, 33, 33}, {64, 48, 64, 48},
                                   {1001, 3, 100, 1}, {9, 200, 2, 41},    {100, 100, 50, 50},
                                   {110, 150, 47, 64}};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        int w = sizes[t][0], h = sizes[t][1], ww = sizes[t][2], wh = sizes[t][3];
        size_t stride = (size_t)w * 3 + 5; /* rows with padding */
        uint8_t *src = malloc(stride * h), *dst = malloc((size_t)ww * wh * 3);
        void *scratch = malloc(rt_area_resize_scratch(w, h, ww, wh));
        for (size_t i = 0; i < stride * h; i++) src[i] = rnd8();
        rt_area_resize_rgb8(src, w, h, stride, dst, ww, wh, scratch);
        int bad = 0, worst = 0;
        for (int y = 0; y < wh; y++)
            for (int x = 0; x < ww; x++)
                for (int c = 0; c < 3; c++) {
                    int d = abs(dst[((size_t)y * ww + x) * 3 + c] -
                                area_ref(src, w, h, stride, ww, wh, x, y, c));
                    bad += d != 0;
                    if (d > worst) worst = d;
                }
        CHECK(bad == 0, "%dx%d -> %dx%d: %d values differ from the reference, worst by %d", w, h,
              ww, wh, bad, worst);
        free(src);
        free(dst);
        free(scratch);
    }
    /* A uniform image stays uniform. */
    uint8_t src[50 * 30 * 3], dst[7 * 4 * 3];
    memset(src, 77, sizeof src);
    void *scratch = malloc(rt_area_resize_scratch(50, 30, 7, 4));
    rt_area_resize_rgb8(src, 50, 30, 150, dst, 7, 4, scratch);
    int uniform = 1;
    for (size_t i = 0; i < sizeof dst; i++) uniform &= dst[i] == 77;
    CHECK(uniform, "a uniform image resized stays uniform");
    free(scratch);
}

/* ------------------------------------------------------------ sessions */

static uint8_t *synthetic_rgb(int w, int h) {
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int in = (x - w / 2) * (x - w / 2) * 4 + (y - h / 2) * (y - h / 2) * 9 < w * w / 4;
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(in ? 200 : 40 + (x % 7));
            p[1] = (uint8_t)(in ? 120 : 60 + (y % 5));
            p[2] = (uint8_t)(in ? 30 : 90);
        }
    return rgb;
}

/* The mask and probability a resized session must give, from its logits. */
static void expected(const if_session *s, int W, int H, int ww, int wh, uint8_t *mask,
                     float *prob) {
    int ph, pw;
    const float *lg = if_session_logits(s, &ph, &pw);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double sx = fmax(0, (x + 0.5) * ww / W - 0.5), sy = fmax(0, (y + 0.5) * wh / H - 0.5);
            int x0 = (int)sx, y0 = (int)sy;
            double fx = sx - x0, fy = sy - y0;
            if (x0 >= ww - 1) x0 = ww - 1, fx = 0;
            if (y0 >= wh - 1) y0 = wh - 1, fy = 0;
            int x1 = x0 + 1 < ww ? x0 + 1 : x0, y1 = y0 + 1 < wh ? y0 + 1 : y0;
#define D(yy, xx) ((double)lg[2 * ((size_t)(yy)*pw + (xx)) + 1] - lg[2 * ((size_t)(yy)*pw + (xx))])
            double v = (1 - fy) * ((1 - fx) * D(y0, x0) + fx * D(y0, x1)) +
                       fy * ((1 - fx) * D(y1, x0) + fx * D(y1, x1));
#undef D
            mask[(size_t)y * W + x] = v > 0;
            prob[(size_t)y * W + x] = (float)(1 / (1 + exp(-v)));
        }
}

static int progress_calls, cancel_at_call;
static double last_fraction;
static int monotone;
static int on_progress(void *user, double f) {
    (void)user;
    monotone &= f >= last_fraction && f <= 1.0;
    last_fraction = f;
    return ++progress_calls == cancel_at_call;
}

static void test_session(const char *enc_path, const char *dec_path) {
    if_model *enc = NULL, *dec = NULL;
    if (if_model_load(enc_path, NULL, &enc) != IF_OK ||
        if_model_load(dec_path, NULL, &dec) != IF_OK) {
        printf("SKIP sessions: %s / %s not loadable (make models): %s\n", enc_path, dec_path,
               if_last_error());
        if_model_free(enc);
        return;
    }
    const int W = 301, H = 199, M = 96; /* working 96x63 */
    uint8_t *rgb = synthetic_rgb(W, H);
    if_features *f = NULL;
    if_encode_options eo = if_default_encode_options();
    eo.max_side = M;
    eo.progress = on_progress;
    monotone = 1;
    if_status st = if_encode(enc, rgb, W, H, (size_t)W * 3, &eo, &f);
    CHECK(st == IF_OK, "if_encode max_side %d: %s %s", M, if_status_str(st), if_last_error());
    CHECK(progress_calls > 3 && monotone && last_fraction == 1.0,
          "progress: %d calls, monotone %d, last %g", progress_calls, monotone, last_fraction);
    if (st != IF_OK) goto out;
    if_features_info fi;
    if_features_get_info(f, &fi);
    CHECK(fi.width == W && fi.height == H && fi.work_w == M && fi.work_h == 63,
          "sizes %dx%d work %dx%d", fi.width, fi.height, fi.work_w, fi.work_h);
    CHECK(fi.padded_w >= M && fi.padded_w < M + 64 && fi.padded_h >= 63, "padded %dx%d",
          fi.padded_w, fi.padded_h);

    /* The same features as encoding the area-averaged image at its size. */
    {
        uint8_t *small = malloc((size_t)M * 63 * 3);
        void *scratch = malloc(rt_area_resize_scratch(W, H, M, 63));
        rt_area_resize_rgb8(rgb, W, H, (size_t)W * 3, small, M, 63, scratch);
        if_features *g = NULL;
        CHECK(if_encode_rgb8(enc, small, M, 63, (size_t)M * 3, &g) == IF_OK,
              "native encode of the small image");
        int same = g != NULL;
        for (int l = 0; same && l < 4; l++) {
            int h1, w1, c1, h2, w2, c2;
            const float *a = if_features_level(f, l, &h1, &w1, &c1),
                        *b = if_features_level(g, l, &h2, &w2, &c2);
            same =
                h1 == h2 && w1 == w2 && c1 == c2 && !memcmp(a, b, (size_t)h1 * w1 * c1 * sizeof *a);
        }
        CHECK(same, "resized encode == encode of the resized image");
        if_features_free(g);
        free(small);
        free(scratch);
    }

    if_session *s = NULL;
    CHECK(if_session_new(dec, f, &s) == IF_OK, "session: %s", if_last_error());
    if (!s) goto out;
    uint8_t *want = malloc((size_t)W * H), *m1 = malloc((size_t)W * H), *m2 = malloc((size_t)W * H);
    float *pw = malloc((size_t)W * H * sizeof *pw), *pr = malloc((size_t)W * H * sizeof *pr);
    const if_click clicks[] = {{150, 100, 1}, {20, 20, 0}, {299, 197, 1}};
    uint64_t allocs = rt_alloc_count();
    for (int k = 0; k < 3; k++) {
        CHECK(if_session_add_click(s, clicks[k]) == IF_OK, "click %d: %s", k, if_session_error(s));
        expected(s, W, H, M, 63, want, pw);
        CHECK(!memcmp(if_session_mask(s), want, (size_t)W * H),
              "click %d: mask = upsampled logits > 0", k);
        CHECK(if_session_probability(s, pr) == IF_OK, "probability");
        double worst = 0;
        for (size_t i = 0; i < (size_t)W * H; i++) worst = fmax(worst, fabs(pr[i] - pw[i]));
        CHECK(worst < 1e-5, "click %d: probability off by %g", k, worst);
        if (k == 1) memcpy(m1, if_session_mask(s), (size_t)W * H);
        if_click c;
        CHECK(if_session_get_click(s, k, &c) == IF_OK && c.x == clicks[k].x && c.y == clicks[k].y,
              "clicks are kept in original pixels");
    }
    CHECK(rt_alloc_count() == allocs, "no allocation per click (%llu)",
          (unsigned long long)(rt_alloc_count() - allocs));
    CHECK(if_session_undo(s) == IF_OK && !memcmp(if_session_mask(s), m1, (size_t)W * H),
          "undo: the exact mask");
    CHECK(if_session_add_click(s, (if_click){301, 0, 1}) == IF_ERR_INVALID_ARG,
          "x = W is outside the image");
    /* set_mask: the caller's mask back exactly, also after undo to it. */
    for (size_t i = 0; i < (size_t)W * H; i++) m2[i] = (i % W) > (size_t)W / 3 && (i / W) % 17 != 3;
    CHECK(if_session_set_mask(s, m2, (size_t)W) == IF_OK, "set_mask");
    CHECK(!memcmp(if_session_mask(s), m2, (size_t)W * H), "set_mask: the caller's mask");
    CHECK(if_session_add_click(s, clicks[0]) == IF_OK && if_session_undo(s) == IF_OK &&
              !memcmp(if_session_mask(s), m2, (size_t)W * H),
          "undo to the set mask: exact");
    free(want);
    free(m1);
    free(m2);
    free(pw);
    free(pr);
    if_session_free(s);

    /* Feature files: version 2 keeps both sizes; a version 1 file (no
     * working size) loads as native. */
    {
        const char *path = "build/test_workres.iff";
        CHECK(if_features_save(f, path, IF_DTYPE_F32) == IF_OK, "save: %s", if_last_error());
        if_features *g = NULL;
        CHECK(if_features_load(path, &g) == IF_OK, "load: %s", if_last_error());
        if_features_info gi;
        if (g) if_features_get_info(g, &gi);
        CHECK(g && gi.work_w == M && gi.work_h == 63 && gi.width == W && gi.height == H,
              "v2 round trip");
        if_features_free(g);
        /* A native encode saved, then rewritten as version 1. */
        if_features *n = NULL;
        CHECK(if_encode_rgb8(enc, rgb, 64, 48, (size_t)W * 3, &n) == IF_OK, "native encode");
        CHECK(n && if_features_save(n, path, IF_DTYPE_F32) == IF_OK, "save native");
        FILE *fp = fopen(path, "rb");
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        rewind(fp);
        uint8_t *buf = malloc((size_t)size);
        CHECK(fread(buf, 1, (size_t)size, fp) == (size_t)size, "read back");
        fclose(fp);
        buf[8] = 1;
        memset(buf + 48, 0, 8);
        uint32_t crc = ifg_crc32(0, buf + 16, (size_t)size - 16);
        for (int i = 0; i < 4; i++) buf[12 + i] = (uint8_t)(crc >> (8 * i));
        CHECK(if_features_load_buffer(buf, (size_t)size, &g) == IF_OK, "version 1 loads: %s",
              if_last_error());
        if (g) if_features_get_info(g, &gi);
        CHECK(g && gi.work_w == 64 && gi.work_h == 48 && gi.width == 64,
              "version 1: working size = image");
        if_features_free(g);
        /* A version 2 file whose working size exceeds its image is refused. */
        buf[8] = 2;
        buf[52] = 65; /* work_w 65 > image_w 64 */
        crc = ifg_crc32(0, buf + 16, (size_t)size - 16);
        for (int i = 0; i < 4; i++) buf[12 + i] = (uint8_t)(crc >> (8 * i));
        CHECK(if_features_load_buffer(buf, (size_t)size, &g) == IF_ERR_BAD_SHAPE,
              "work > image refused");
        free(buf);
        if_features_free(n);
        remove(path);
    }

    /* Cancel half-way: IF_ERR_CANCELLED, then the model encodes as before. */
    {
        if_features *g = NULL;
        progress_calls = 0;
        cancel_at_call = 5;
        st = if_encode(enc, rgb, W, H, (size_t)W * 3, &eo, &g);
        CHECK(st == IF_ERR_CANCELLED && !g && progress_calls == 5, "cancel: %s after %d calls",
              if_status_str(st), progress_calls);
        cancel_at_call = 0;
        st = if_encode(enc, rgb, W, H, (size_t)W * 3, &eo, &g);
        int same = st == IF_OK;
        for (int l = 0; same && l < 4; l++) {
            int h1, w1, c1;
            const float *a = if_features_level(f, l, &h1, &w1, &c1),
                        *b = if_features_level(g, l, NULL, NULL, NULL);
            same = !memcmp(a, b, (size_t)h1 * w1 * c1 * sizeof *a);
        }
        CHECK(same, "after a cancel the model encodes the same features");
        if_features_free(g);
    }
out:
    if_features_free(f);
    free(rgb);
    if_model_free(enc);
    if_model_free(dec);
}

int main(int argc, char **argv) {
    const char *enc, *dec;
    if (check_model_args(argc, argv, &enc, &dec)) return 2;
    test_work_size();
    test_area_resize();
    test_session(enc, dec);
    return CHECK_SUMMARY();
}
