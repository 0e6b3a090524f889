/* single_header_app.c -- one program, built twice by `make
 * test-single-header`: against the library (libinterformer.a) and against
 * dist/interformer.h alone (-DSINGLE_HEADER, with no build flags), so the
 * two builds' masks can be compared byte for byte and their times per click
 * side by side.
 *
 *   single_header_app ENCODER DECODER MASK_OUT
 *
 * Encodes a synthetic 256x224 image (a disk, a square, a gradient), clicks
 * six times (five inside the disk, one on the square) and writes every
 * click's mask, concatenated, to MASK_OUT. Prints the kernels the model
 * runs ("isa avx2") and the median milliseconds per click. With
 * -DAPP_ALLOCATOR (and tests/counting_alloc.c linked in), the library
 * allocates through INTERFORMER_MALLOC / INTERFORMER_FREE, and the program
 * prints what went through them once everything is freed. */
#ifdef SINGLE_HEADER
#define INTERFORMER_IMPLEMENTATION
#endif
#ifdef APP_ALLOCATOR
/* The allocator knob: the library's every block from tests/counting_alloc.c
 * (another file, so that `nm` of this one shows no malloc or free left). */
#include <stddef.h>
void *app_malloc(size_t size);
void app_free(void *ptr);
void app_alloc_report(void);
#define INTERFORMER_MALLOC(size) app_malloc(size)
#define INTERFORMER_FREE(ptr)    app_free(ptr)
#endif
#include "interformer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { W = 256, H = 224, CLICKS = 6, REPS = 3 };

static double now_ms(void) {
#ifdef TIME_UTC
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
#else /* a C library without C11's timespec_get (older MinGW-w64) */
    return (double)clock() * 1e3 / CLOCKS_PER_SEC;
#endif
}

static int fail(const char *what, if_status s, const char *detail) {
    fprintf(stderr, "single_header_app: %s: %s (%s)\n", what, if_status_str(s), detail);
    return 1;
}

static void draw(uint8_t *rgb) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + ((size_t)y * W + x) * 3;
            const int dx = x - 90, dy = y - 110;
            p[0] = (uint8_t)(40 + x / 4);
            p[1] = (uint8_t)(60 + y / 4);
            p[2] = (uint8_t)(120 + (x + y) / 8);
            if (dx * dx + dy * dy < 55 * 55) p[0] = 240, p[1] = 140, p[2] = 30;
            if (x >= 170 && x < 230 && y >= 40 && y < 100) p[0] = 40, p[1] = 80, p[2] = 220;
        }
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: single_header_app ENCODER DECODER MASK_OUT\n");
        return 2;
    }
    if_model *enc = NULL, *dec = NULL;
    if_status s;
    if ((s = if_model_load(argv[1], NULL, &enc)) != IF_OK)
        return fail("encoder", s, if_last_error());
    if ((s = if_model_load(argv[2], NULL, &dec)) != IF_OK)
        return fail("decoder", s, if_last_error());
    if_model_info info;
    if_model_get_info(dec, &info);
    printf("isa %s\n", info.isa);

    static uint8_t rgb[W * H * 3];
    draw(rgb);
    if_features *feat = NULL;
    const if_encode_options eo = if_default_encode_options();
    if ((s = if_encode(enc, rgb, W, H, W * 3, &eo, &feat)) != IF_OK)
        return fail("encode", s, if_last_error());

    static const if_click clicks[CLICKS] = {{90, 110, 1}, {90, 70, 1},   {90, 150, 1},
                                            {50, 110, 1}, {130, 110, 1}, {200, 70, 0}};
    FILE *out = fopen(argv[3], "wb");
    if (!out) return fail("output", IF_ERR_IO, argv[3]);
    double ms[CLICKS * REPS];
    int n = 0;
    for (int rep = 0; rep < REPS; rep++) {
        if_session *ses = NULL;
        if ((s = if_session_new(dec, feat, &ses)) != IF_OK)
            return fail("session", s, if_last_error());
        for (int i = 0; i < CLICKS; i++) {
            const double t0 = now_ms();
            if ((s = if_session_add_click(ses, clicks[i])) != IF_OK)
                return fail("click", s, if_session_error(ses));
            ms[n++] = now_ms() - t0;
            if (rep == 0 && fwrite(if_session_mask(ses), 1, (size_t)W * H, out) != (size_t)W * H)
                return fail("output", IF_ERR_IO, argv[3]);
        }
        if_session_free(ses);
    }
    if (fclose(out)) return fail("output", IF_ERR_IO, argv[3]);
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("ms_per_click %.3f\n", ms[n / 2]);

    if_features_free(feat);
    if_model_free(dec);
    if_model_free(enc);
#ifdef APP_ALLOCATOR
    app_alloc_report();
#endif
    return 0;
}
