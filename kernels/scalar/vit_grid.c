/* vit_grid.c -- the runtime-grid -> native-ViT-grid mapping and
 * TOKENS_FROM_GRID (FORMAT.md, "Native cell of a runtime cell"). */

#include "kernels/scalar/scalar.h"

/* PyTorch upsample_nearest2d (mode 'nearest', size given), nearest_idx(). */
int ifk_nearest_index(int i, int n, int g) {
    if (n == g) return i;
    if (n == 2 * g) return i >> 1;
    const float scale = (float)g / (float)n;
    const int src = (int)floorf((float)i * scale);
    return src < g - 1 ? src : g - 1;
}

int ifk_native_cells(int h, int w, int gh, int gw, int *map_h, int *map_w, int *native) {
    if (h * w == gh * gw) {
        /* cell f stands for native (f / gw, f % gw), i.e. native flat index f. */
        if (native)
            for (int f = 0; f < h * w; f++) native[f] = (f / gw) * gw + f % gw;
        return 1;
    }
    if (map_h)
        for (int i = 0; i < h; i++) map_h[i] = ifk_nearest_index(i, h, gh);
    if (map_w)
        for (int j = 0; j < w; j++) map_w[j] = ifk_nearest_index(j, w, gw);
    return 0;
}

void ifk_tokens_from_grid(const float *x, int h, int w, int c, const float *cls, const float *pos,
                          int gh, int gw, float *y) {
    for (int k = 0; k < c; k++) y[k] = cls[k] + pos[k];
    const int flat = h * w == gh * gw;
    for (int i = 0; i < h; i++) {
        const int P = flat ? 0 : ifk_nearest_index(i, h, gh);
        for (int j = 0; j < w; j++) {
            const int f = i * w + j;
            const int nat = flat ? f : P * gw + ifk_nearest_index(j, w, gw);
            const float *IF_RESTRICT xp = x + (size_t)f * c;
            const float *IF_RESTRICT pp = pos + (size_t)(1 + nat) * c;
            float *IF_RESTRICT yp = y + (size_t)(1 + f) * c;
            for (int k = 0; k < c; k++) yp[k] = xp[k] + pp[k];
        }
    }
}
