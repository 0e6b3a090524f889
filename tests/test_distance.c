/* test_distance.c -- the exact Euclidean distance transform against brute
 * force (every pixel against every site) on odd sizes and densities, with
 * and without the one-pixel border; and if_next_click's choices on small
 * hand-made cases. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "interformer.h"
#include "session/distance.h"

static float brute(const uint8_t *m, int H, int W, int border, int y, int x) {
    if (!m[(size_t)y * W + x]) return 0;
    double best = DBL_MAX;
    for (int i = -border; i < H + border; i++)
        for (int j = -border; j < W + border; j++) {
            int site = i < 0 || j < 0 || i >= H || j >= W || !m[(size_t)i * W + j];
            if (!site) continue;
            double d = (double)(i - y) * (i - y) + (double)(j - x) * (j - x);
            if (d < best) best = d;
        }
    return best == DBL_MAX ? FLT_MAX : (float)best;
}

static void edt_case(int H, int W, int density, int border, unsigned seed) {
    uint8_t *m = malloc((size_t)H * W);
    float *d = malloc((size_t)H * W * sizeof(float));
    void *scratch = malloc(rt_edt_scratch_bytes(H, W));
    for (int i = 0; i < H * W; i++) {
        seed = seed * 1103515245u + 12345u;
        m[i] = (int)((seed >> 16) % 100) < density;
    }
    rt_edt_sq(m, H, W, border, d, scratch);
    int bad = 0, by = 0, bx = 0;
    for (int y = 0; y < H && !bad; y++)
        for (int x = 0; x < W && !bad; x++)
            if (d[(size_t)y * W + x] != brute(m, H, W, border, y, x)) {
                bad = 1;
                by = y;
                bx = x;
            }
    CHECK(!bad, "edt %dx%d density %d border %d at (%d,%d): %g vs %g", H, W, density, border, by,
          bx, d[(size_t)by * W + bx], brute(m, H, W, border, by, bx));
    free(m);
    free(d);
    free(scratch);
}

int main(void) {
    static const int sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {3, 5}, {13, 17}, {31, 8}, {40, 40}};
    static const int dens[] = {0, 10, 50, 90, 97, 100};
    unsigned seed = 7;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t k = 0; k < sizeof dens / sizeof *dens; k++)
            for (int b = 0; b < 2; b++) edt_case(sizes[s][0], sizes[s][1], dens[k], b, seed++);

    /* A 9x12 object with nothing predicted: positive click at its centre. */
    enum { W = 20, H = 15 };
    uint8_t gt[H * W] = {0}, pred[H * W] = {0};
    for (int y = 3; y < 12; y++)
        for (int x = 4; x < 16; x++) gt[y * W + x] = 1;
    if_click c;
    int ok = if_next_click(gt, pred, NULL, W, H, NULL, 0, &c) == IF_OK && c.positive && c.y == 7 &&
             c.x >= 8 && c.x <= 11;
    CHECK(ok, "first click (%d,%d,%d)", c.x, c.y, c.positive);
    /* Predicting the object plus a bigger blob elsewhere: negative click. */
    for (int i = 0; i < H * W; i++) pred[i] = gt[i];
    for (int y = 0; y < 15; y++) pred[y * W + 17] = pred[y * W + 18] = pred[y * W + 19] = 1;
    ok = if_next_click(gt, pred, NULL, W, H, NULL, 0, &c) == IF_OK && !c.positive && c.x == 18;
    CHECK(ok, "negative click (%d,%d,%d)", c.x, c.y, c.positive);
    /* Ignored pixels are not errors; a perfect prediction has no click. */
    uint8_t ign[H * W] = {0};
    for (int y = 0; y < 15; y++) ign[y * W + 17] = ign[y * W + 18] = ign[y * W + 19] = 1;
    ok = if_next_click(gt, pred, ign, W, H, NULL, 0, &c) == IF_ERR_STATE;
    CHECK(ok, "ignore mask");
    /* A clicked pixel is not clicked again. */
    for (int i = 0; i < H * W; i++) pred[i] = 0;
    pred[5 * W + 5] = 0;
    gt[0] = 0;
    uint8_t one[H * W] = {0};
    one[5 * W + 5] = 1;
    if_click prev = {5, 5, 1};
    ok = if_next_click(one, pred, NULL, W, H, &prev, 1, &c) == IF_ERR_STATE;
    CHECK(ok, "repeated click");
    ok = if_next_click(NULL, pred, NULL, W, H, NULL, 0, &c) == IF_ERR_INVALID_ARG &&
         if_next_click(gt, pred, NULL, 0, H, NULL, 0, &c) == IF_ERR_INVALID_ARG;
    CHECK(ok, "bad arguments");
    return CHECK_SUMMARY();
}
