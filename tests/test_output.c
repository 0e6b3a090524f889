/* test_output.c -- the outputs for annotation tools (interformer.h,
 * "Outputs"): COCO RLE counts against a naive column-major run count, the
 * compressed string on hand-made vectors and round trips, its decoder on
 * broken strings, boxes and areas against a naive scan, and polygons
 * rasterised back (even-odd at pixel centres) equal to the mask at
 * tolerance 0, with the components and holes a naive flood fill finds;
 * on empty, full, 1x1, single-pixel, checkerboard, nested-hole, odd-sized
 * and random masks (with row padding: stride > width). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "interformer.h"

/* ---------------------------------------------------------------- masks */

typedef struct {
    int w, h;
    size_t stride;
    uint8_t *px; /* h rows of stride bytes; the padding holds 0xAB */
} mask_t;

static mask_t mask_new(int w, int h) {
    mask_t m = {w, h, (size_t)w + 3, NULL};
    m.px = malloc(m.stride * h);
    memset(m.px, 0xAB, m.stride * h);
    for (int y = 0; y < h; y++) memset(m.px + y * m.stride, 0, (size_t)w);
    return m;
}

static int at(const mask_t *m, int x, int y) {
    return x >= 0 && y >= 0 && x < m->w && y < m->h && m->px[y * m->stride + x] != 0;
}

static void set(mask_t *m, int x, int y, int v) { m->px[y * m->stride + x] = (uint8_t)v; }

static unsigned rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* A random mask: nonzero values of every kind, density in percent, and
 * (blobby) a few rounds of smoothing so that regions and holes form. */
static mask_t random_mask(int w, int h, int density, int blobby, unsigned seed) {
    mask_t m = mask_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            set(&m, x, y, (int)(rnd(&seed) % 100) < density ? 1 + (int)(rnd(&seed) % 255) : 0);
    for (int r = 0; r < blobby; r++) {
        mask_t t = mask_new(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int n = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) n += at(&m, x + dx, y + dy);
                set(&t, x, y, n >= 5 ? 7 : 0);
            }
        free(m.px);
        m = t;
    }
    return m;
}

/* -------------------------------------------------------- naive references */

/* COCO RLE counts: the mask column by column, runs from a run of 0s. */
static size_t naive_rle(const mask_t *m, uint32_t *out) {
    size_t n = 0;
    uint32_t run = 0;
    int cur = 0;
    for (int x = 0; x < m->w; x++)
        for (int y = 0; y < m->h; y++) {
            if (at(m, x, y) != cur) {
                out[n++] = run;
                run = 0;
                cur = !cur;
            }
            run++;
        }
    out[n++] = run;
    return n;
}

/* Components by flood fill: of the object (8-connected) or of the
 * background not reaching the border (4-connected: the holes). */
static int naive_components(const mask_t *m, int holes) {
    int w = m->w, h = m->h, n = 0;
    int *lab = calloc((size_t)w * h, sizeof(int)), *stack = malloc((size_t)w * h * sizeof(int));
    for (int s = 0; s < w * h; s++) {
        if (lab[s] || at(m, s % w, s / w) == holes) continue;
        int top = 0, border = 0;
        stack[top++] = s;
        lab[s] = 1;
        while (top) {
            int p = stack[--top], x = p % w, y = p / w;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    if (holes && dx && dy) continue;
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h) {
                        border = 1;
                        continue;
                    }
                    int q = ny * w + nx;
                    if (lab[q] || at(m, nx, ny) == holes) continue;
                    lab[q] = 1;
                    stack[top++] = q;
                }
        }
        n += !holes || !border;
    }
    free(lab);
    free(stack);
    return n;
}

/* Twice the signed area of a ring (y down: > 0 clockwise on the image). */
static double ring_area2(const float *p, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n;
        s += (double)p[2 * i] * p[2 * j + 1] - (double)p[2 * j] * p[2 * i + 1];
    }
    return s;
}

/* Every ring rasterised: a pixel is object when its centre is inside an
 * odd number of rings (crossings of a ray to the right). */
static uint8_t *rasterise(const if_polygons *pg, int w, int h) {
    uint8_t *r = calloc((size_t)w * h, 1);
    for (int i = 0; i < if_polygons_count(pg); i++) {
        int n;
        const float *p = if_polygons_ring(pg, i, &n, NULL);
        for (int y = 0; y < h; y++) {
            double cy = y + 0.5;
            for (int k = 0; k < n; k++) {
                double x1 = p[2 * k], y1 = p[2 * k + 1];
                double x2 = p[2 * ((k + 1) % n)], y2 = p[2 * ((k + 1) % n) + 1];
                if ((y1 > cy) == (y2 > cy)) continue;
                double xi = x1 + (cy - y1) * (x2 - x1) / (y2 - y1);
                for (int x = 0; x < w; x++)
                    if (x + 0.5 < xi) r[(size_t)y * w + x] ^= 1;
            }
        }
    }
    return r;
}

/* ------------------------------------------------------------------ RLE */

static void check_rle(const mask_t *m, const char *what) {
    size_t cap = (size_t)m->w * m->h + 1, n = 0, n2 = 0, len = 0, len2 = 0;
    uint32_t *ref = malloc(cap * sizeof *ref), *got = malloc(cap * sizeof *got);
    size_t nref = naive_rle(m, ref);
    CHECK(if_mask_rle(m->px, m->w, m->h, m->stride, NULL, 0, &n) == IF_OK && n == nref,
          "%s: size query %zu, want %zu", what, n, nref);
    CHECK(if_mask_rle(m->px, m->w, m->h, m->stride, got, nref, &n) == IF_OK && n == nref &&
              !memcmp(got, ref, nref * sizeof *ref),
          "%s: counts differ from the naive ones", what);
    if (nref > 1)
        CHECK(if_mask_rle(m->px, m->w, m->h, m->stride, got, nref - 1, &n) == IF_ERR_INVALID_ARG &&
                  n == nref,
              "%s: a buffer one short must fail and say the size", what);
    CHECK(if_rle_encode_string(ref, nref, NULL, 0, &len) == IF_OK, "%s: string size", what);
    char *str = malloc(len + 1);
    str[len] = 'X';
    CHECK(if_rle_encode_string(ref, nref, str, len, &len2) == IF_ERR_INVALID_ARG,
          "%s: no room for the NUL must fail", what);
    CHECK(if_rle_encode_string(ref, nref, str, len + 1, &len2) == IF_OK && len2 == len &&
              str[len] == 0 && strlen(str) == len,
          "%s: string", what);
    CHECK(if_rle_decode_string(str, len, NULL, 0, &n2) == IF_OK && n2 == nref,
          "%s: decoded size %zu, want %zu", what, n2, nref);
    memset(got, 0xee, cap * sizeof *got);
    CHECK(if_rle_decode_string(str, len, got, nref, &n2) == IF_OK && n2 == nref &&
              !memcmp(got, ref, nref * sizeof *ref),
          "%s: string round trip", what);
    mask_t back = mask_new(m->w, m->h);
    for (int y = 0; y < m->h; y++) memset(back.px + y * back.stride, 0x55, (size_t)m->w);
    CHECK(if_rle_to_mask(got, nref, m->w, m->h, back.px, back.stride) == IF_OK, "%s: to mask",
          what);
    int same = 1;
    for (int y = 0; y < m->h; y++) {
        for (int x = 0; x < m->w; x++) same &= back.px[y * back.stride + x] == at(m, x, y);
        for (size_t x = (size_t)m->w; x < back.stride; x++)
            same &= back.px[y * back.stride + x] == 0xAB;
    }
    CHECK(same, "%s: mask from counts differs (or the row padding was written)", what);
    /* Box and area. */
    int box[4], x0 = m->w, y0 = m->h, x1 = -1, y1 = -1;
    int64_t area, ref_area = 0;
    for (int y = 0; y < m->h; y++)
        for (int x = 0; x < m->w; x++)
            if (at(m, x, y)) {
                ref_area++;
                x0 = x < x0 ? x : x0;
                y0 = y < y0 ? y : y0;
                x1 = x > x1 ? x : x1;
                y1 = y > y1 ? y : y1;
            }
    int ref_box[4] = {0, 0, 0, 0};
    if (ref_area) {
        ref_box[0] = x0;
        ref_box[1] = y0;
        ref_box[2] = x1 - x0 + 1;
        ref_box[3] = y1 - y0 + 1;
    }
    CHECK(if_mask_bbox(m->px, m->w, m->h, m->stride, box, &area) == IF_OK && area == ref_area &&
              !memcmp(box, ref_box, sizeof box),
          "%s: bbox [%d %d %d %d] area %lld, want [%d %d %d %d] %lld", what, box[0], box[1], box[2],
          box[3], (long long)area, ref_box[0], ref_box[1], ref_box[2], ref_box[3],
          (long long)ref_area);
    free(back.px);
    free(str);
    free(ref);
    free(got);
}

static void rle_vectors(void) {
    /* Hand-made: each value's 5-bit groups + 48, 0x20 = more, bit 4 of
     * the last = sign; from the 4th count on, the difference with the
     * count two before. */
    static const struct {
        uint32_t c[6];
        size_t n;
        const char *s;
    } v[] = {
        {{3}, 1, "3"},
        {{0, 4}, 2, "04"},                 /* a full 2x2 mask */
        {{16}, 1, "`0"},                   /* 16 needs a second group: bit 4 is the sign */
        {{15}, 1, "?"},                    /* 15 does not */
        {{5, 2, 9, 1}, 4, "529O"},         /* 4th: 1 - 2 = -1 -> 31 + 48 = 'O' */
        {{5, 2, 9, 1, 9}, 5, "529O0"},     /* 5th: 9 - 9 = 0 */
        {{40}, 1, "X1"},                   /* 40 = 8 + 32: 8|0x20 -> 'X', then 1 */
        {{0, 4294967295u}, 2, "0oooooo3"}, /* 6 groups of 31, then 3 */
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        char s[64];
        size_t len, n;
        uint32_t c[8];
        if_status st = if_rle_encode_string(v[i].c, v[i].n, s, sizeof s, &len);
        CHECK(st == IF_OK && !strcmp(s, v[i].s), "vector %zu: encoded '%s', want '%s'", i, s,
              v[i].s);
        st = if_rle_decode_string(v[i].s, strlen(v[i].s), c, 8, &n);
        CHECK(st == IF_OK && n == v[i].n && !memcmp(c, v[i].c, n * sizeof *c),
              "vector %zu: decoding '%s'", i, v[i].s);
    }
}

static void rle_bad_strings(void) {
    static const char *const bad[] = {
        "p",        /* past 'o' */
        "3 4",      /* a space */
        "/",        /* before '0' */
        "`",        /* ends after a continuation */
        "3`",       /* the same after a good count */
        "```````0", /* 8 groups */
        "O",        /* first count -1 */
        "008O",     /* 4th count 0 - 0 ... -1 */
        "oooooo?",  /* 7 groups: 2^34 - 1, over 2^32 - 1 */
        "oooooo4",  /* 5 * 2^30 - 1: over */
        "0oooooo3"
        "3"
        "oooooo3", /* 4th = (2^32 - 1) + (2^32 - 1): over */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint32_t c[16];
        size_t n = 99;
        if_status st = if_rle_decode_string(bad[i], strlen(bad[i]), c, 16, &n);
        CHECK(st == IF_ERR_BAD_COUNT && n == 0 && *if_last_error(), "bad string '%s': %s (%s)",
              bad[i], if_status_str(st), if_last_error());
        st = if_rle_decode_string(bad[i], strlen(bad[i]), NULL, 0, &n);
        CHECK(st == IF_ERR_BAD_COUNT, "bad string '%s' in a size query: %s", bad[i],
              if_status_str(st));
    }
    /* A NUL inside, and non-ASCII bytes. */
    const char nul[] = {'3', 0, '4'}, hi[] = {'3', (char)0xC3, (char)0xA9};
    size_t n;
    uint32_t c[4];
    CHECK(if_rle_decode_string(nul, 3, c, 4, &n) == IF_ERR_BAD_COUNT, "NUL inside");
    CHECK(if_rle_decode_string(hi, 3, c, 4, &n) == IF_ERR_BAD_COUNT, "UTF-8 bytes");
    CHECK(if_rle_decode_string("", 0, c, 4, &n) == IF_OK && n == 0, "empty string: no counts");
    CHECK(if_rle_decode_string(NULL, 0, NULL, 0, &n) == IF_OK && n == 0, "NULL, 0");
    CHECK(if_rle_decode_string(NULL, 3, c, 4, &n) == IF_ERR_INVALID_ARG, "NULL string");
    CHECK(if_rle_decode_string("34", 2, c, 1, &n) == IF_ERR_INVALID_ARG && n == 2,
          "short buffer: error and the size");
    CHECK(if_rle_decode_string("34", 2, c, 4, NULL) == IF_ERR_INVALID_ARG, "NULL n");
    /* Counts that do not fit the image. */
    uint8_t m[12];
    const uint32_t over[] = {4294967295u, 4294967295u, 4294967295u};
    const uint32_t c11[] = {5, 6}, c13[] = {5, 8}, c12[] = {0, 12};
    CHECK(if_rle_to_mask(c11, 2, 3, 4, m, 3) == IF_ERR_BAD_COUNT, "sum 11 for 12 pixels");
    CHECK(if_rle_to_mask(c13, 2, 3, 4, m, 3) == IF_ERR_BAD_COUNT, "sum 13 for 12 pixels");
    CHECK(if_rle_to_mask(over, 3, 3, 4, m, 3) == IF_ERR_BAD_COUNT, "huge counts");
    CHECK(if_rle_to_mask(c12, 0, 3, 4, m, 3) == IF_ERR_BAD_COUNT, "no counts");
    CHECK(if_rle_to_mask(c12, 2, 3, 4, m, 2) == IF_ERR_INVALID_ARG, "stride < width");
    CHECK(if_rle_to_mask(c12, 2, 0, 4, m, 3) == IF_ERR_INVALID_ARG, "width 0");
    CHECK(if_rle_to_mask(NULL, 2, 3, 4, m, 3) == IF_ERR_INVALID_ARG, "NULL counts");
    CHECK(if_rle_to_mask(c12, 2, 3, 4, NULL, 3) == IF_ERR_INVALID_ARG, "NULL mask");
    CHECK(if_rle_to_mask(c12, 2, 3, 4, m, 3) == IF_OK && m[0] == 1 && m[11] == 1, "full 3x4");
    CHECK(if_mask_rle(m, 70000, 70000, 70000, NULL, 0, &n) == IF_ERR_INVALID_ARG,
          "70000x70000 is over 2^32 pixels");
    CHECK(if_mask_rle(m, 3, 4, 3, c, 4, NULL) == IF_ERR_INVALID_ARG, "NULL n");
    CHECK(if_mask_rle(m, 3, 4, 3, NULL, 4, &n) == IF_ERR_INVALID_ARG, "NULL counts, cap 4");
    CHECK(if_mask_rle(m, -1, 4, 3, NULL, 0, &n) == IF_ERR_INVALID_ARG, "width -1");
    CHECK(if_rle_encode_string(NULL, 2, NULL, 0, &n) == IF_ERR_INVALID_ARG, "NULL counts");
    CHECK(if_rle_encode_string(c12, 2, NULL, 0, NULL) == IF_ERR_INVALID_ARG, "NULL len");
    CHECK(if_mask_bbox(NULL, 3, 4, 3, NULL, NULL) == IF_ERR_INVALID_ARG, "bbox of NULL");
    CHECK(if_mask_bbox(m, 3, 4, 2, NULL, NULL) == IF_ERR_INVALID_ARG, "bbox, stride < width");
}

/* ------------------------------------------------------------- polygons */

/* Rings rasterise back to the mask (tolerance 0), one outer ring per
 * component and one ring per hole, outer rings clockwise and holes not,
 * every hole after its outer ring, vertices on the grid. */
static void check_polygons(const mask_t *m, const char *what) {
    if_polygons *pg = NULL;
    if_status st = if_mask_polygons(m->px, m->w, m->h, m->stride, 0, &pg);
    CHECK(st == IF_OK && pg, "%s: polygons: %s (%s)", what, if_status_str(st), if_last_error());
    if (!pg) return;
    int outer = 0, holes = 0, bad = 0;
    for (int i = 0; i < if_polygons_count(pg); i++) {
        int n, parent;
        const float *p = if_polygons_ring(pg, i, &n, &parent);
        double a = ring_area2(p, n);
        if (parent < 0) {
            outer++;
            bad += !(a > 0);
        } else {
            holes++;
            int pp;
            if_polygons_ring(pg, parent, NULL, &pp);
            bad += !(a < 0) || parent >= i || pp != -1;
        }
        bad += n < 4;
        for (int k = 0; k < 2 * n; k++)
            bad += p[k] != floorf(p[k]) || p[k] < 0 || p[k] > (k & 1 ? m->h : m->w);
    }
    CHECK(!bad, "%s: %d rings with a wrong orientation, parent or vertex", what, bad);
    int ref_outer = naive_components(m, 0), ref_holes = naive_components(m, 1);
    CHECK(outer == ref_outer && holes == ref_holes, "%s: %d outer rings and %d holes, want %d, %d",
          what, outer, holes, ref_outer, ref_holes);
    uint8_t *r = rasterise(pg, m->w, m->h);
    int diff = 0;
    for (int y = 0; y < m->h; y++)
        for (int x = 0; x < m->w; x++) diff += r[(size_t)y * m->w + x] != at(m, x, y);
    CHECK(!diff, "%s: %d pixels differ once rasterised", what, diff);
    free(r);
    if_polygons_free(pg);
}

/* The simplified rings of a mask: fewer points, still close (IoU). */
static double simplified_iou(const mask_t *m, float tol, int *points) {
    if_polygons *pg;
    if (if_mask_polygons(m->px, m->w, m->h, m->stride, tol, &pg) != IF_OK) return -1;
    *points = 0;
    for (int i = 0; i < if_polygons_count(pg); i++) {
        int n;
        if_polygons_ring(pg, i, &n, NULL);
        *points += n;
    }
    uint8_t *r = rasterise(pg, m->w, m->h);
    int inter = 0, uni = 0;
    for (int y = 0; y < m->h; y++)
        for (int x = 0; x < m->w; x++) {
            int a = r[(size_t)y * m->w + x], b = at(m, x, y);
            inter += a && b;
            uni += a || b;
        }
    free(r);
    if_polygons_free(pg);
    return uni ? (double)inter / uni : 1;
}

static void polygon_cases(void) {
    /* Empty, full, 1x1, one pixel. */
    mask_t m = mask_new(7, 5);
    if_polygons *pg;
    CHECK(if_mask_polygons(m.px, 7, 5, m.stride, 0, &pg) == IF_OK && if_polygons_count(pg) == 0,
          "empty mask: no ring");
    if_polygons_free(pg);
    check_polygons(&m, "empty 7x5");
    check_rle(&m, "empty 7x5");
    set(&m, 3, 2, 1);
    check_polygons(&m, "one pixel");
    check_rle(&m, "one pixel");
    CHECK(if_mask_polygons(m.px, 7, 5, m.stride, 0, &pg) == IF_OK && if_polygons_count(pg) == 1,
          "one pixel: one ring");
    int n, parent;
    const float *p = if_polygons_ring(pg, 0, &n, &parent);
    static const float square[] = {3, 2, 4, 2, 4, 3, 3, 3};
    CHECK(p && n == 4 && parent == -1 && !memcmp(p, square, sizeof square),
          "one pixel: the square (3,2) (4,2) (4,3) (3,3), clockwise on the image");
    if_polygons_free(pg);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++) set(&m, x, y, 255);
    check_polygons(&m, "full 7x5");
    check_rle(&m, "full 7x5");
    CHECK(if_mask_polygons(m.px, 7, 5, m.stride, 0, &pg) == IF_OK && if_polygons_count(pg) == 1 &&
              if_polygons_ring(pg, 0, &n, NULL) && n == 4,
          "full mask: one 4-point ring");
    if_polygons_free(pg);
    free(m.px);
    for (int v = 0; v < 2; v++) {
        mask_t one = mask_new(1, 1);
        set(&one, 0, 0, v);
        check_polygons(&one, v ? "1x1 object" : "1x1 empty");
        check_rle(&one, v ? "1x1 object" : "1x1 empty");
        free(one.px);
    }

    /* Checkerboards: one 8-connected component, every inner background
     * pixel a hole of its own (the rings touch at the saddles). */
    int sizes[][2] = {{2, 2}, {5, 5}, {8, 6}, {9, 13}};
    for (int s = 0; s < 4; s++)
        for (int phase = 0; phase < 2; phase++) {
            mask_t c = mask_new(sizes[s][0], sizes[s][1]);
            for (int y = 0; y < c.h; y++)
                for (int x = 0; x < c.w; x++) set(&c, x, y, (x + y + phase) & 1);
            char what[64];
            snprintf(what, sizeof what, "checkerboard %dx%d phase %d", c.w, c.h, phase);
            check_polygons(&c, what);
            check_rle(&c, what);
            free(c.px);
        }

    /* Holes within holes: a ring with a hole, an island in the hole with a
     * hole of its own, a pixel in that. */
    mask_t nest = mask_new(13, 13);
    for (int y = 0; y < 13; y++)
        for (int x = 0; x < 13; x++) {
            int d = abs(x - 6) > abs(y - 6) ? abs(x - 6) : abs(y - 6); /* square rings */
            set(&nest, x, y, d == 6 || d == 5 || d == 3 || d == 0);
        }
    check_polygons(&nest, "nested holes");
    check_rle(&nest, "nested holes");
    CHECK(if_mask_polygons(nest.px, 13, 13, nest.stride, 0, &pg) == IF_OK &&
              if_polygons_count(pg) == 5,
          "nested holes: 5 rings");
    static const int want_parent[5] = {-1, 0, -1, 2, -1};
    for (int i = 0; i < if_polygons_count(pg); i++) {
        if_polygons_ring(pg, i, NULL, &parent);
        CHECK(parent == want_parent[i], "nested holes: ring %d's parent %d, want %d", i, parent,
              want_parent[i]);
    }
    if_polygons_free(pg);
    free(nest.px);

    /* Two pixels meeting at a corner: one component, one ring pinched at
     * the saddle; and the background version: two holes meeting there. */
    mask_t diag = mask_new(4, 4);
    set(&diag, 1, 1, 1);
    set(&diag, 2, 2, 1);
    check_polygons(&diag, "diagonal pair");
    CHECK(if_mask_polygons(diag.px, 4, 4, diag.stride, 0, &pg) == IF_OK &&
              if_polygons_count(pg) == 1 && if_polygons_ring(pg, 0, &n, NULL) && n == 8,
          "diagonal pair: one ring of 8 corners");
    if_polygons_free(pg);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) set(&diag, x, y, !at(&diag, x, y));
    check_polygons(&diag, "diagonal pair of holes");
    free(diag.px);

    /* Random masks: odd sizes, densities, noisy and blobby. */
    static const int rs[][2] = {{1, 9}, {9, 1}, {2, 3}, {7, 5}, {16, 16}, {31, 17}, {40, 29}};
    int k = 0;
    for (size_t s = 0; s < sizeof rs / sizeof *rs; s++)
        for (int density = 10; density <= 90; density += 20)
            for (int blobby = 0; blobby <= 2; blobby += 2)
                for (unsigned seed = 1; seed <= 4; seed++, k++) {
                    mask_t r = random_mask(rs[s][0], rs[s][1], density, blobby, seed * 7919 + k);
                    char what[96];
                    snprintf(what, sizeof what, "random %dx%d density %d blobby %d seed %u", r.w,
                             r.h, density, blobby, seed);
                    check_rle(&r, what);
                    check_polygons(&r, what);
                    free(r.px);
                }

    /* Simplifying a disk of radius 40: far fewer points, still the disk. */
    mask_t disk = mask_new(101, 97);
    for (int y = 0; y < 97; y++)
        for (int x = 0; x < 101; x++)
            set(&disk, x, y, (x - 50) * (x - 50) + (y - 48) * (y - 48) < 1600);
    int exact_pts, pts1, pts3;
    double iou0 = simplified_iou(&disk, 0, &exact_pts), iou1 = simplified_iou(&disk, 1, &pts1),
           iou3 = simplified_iou(&disk, 3, &pts3);
    CHECK(iou0 == 1 && iou1 >= 0.98 && iou3 >= 0.95 && pts1 < exact_pts / 3 && pts3 < pts1,
          "disk: IoU %.4f (%d points) / %.4f (%d) / %.4f (%d) at tolerance 0 / 1 / 3", iou0,
          exact_pts, iou1, pts1, iou3, pts3);
    free(disk.px);
    /* Rings a tolerance flattens are dropped: a 3x3 square with a hole
     * at (2,2): the outer ring's corners are 2.12 px off its diagonal,
     * the hole's 0.71 px. */
    mask_t small = mask_new(8, 8);
    for (int y = 2; y < 5; y++)
        for (int x = 2; x < 5; x++) set(&small, x, y, !(y == 3 && x == 3));
    static const float tols[] = {0, 0.5f, 1, 2, 2.2f, 100};
    static const int want_rings[] = {2, 2, 1, 1, 0, 0};
    for (int t = 0; t < 6; t++) {
        CHECK(if_mask_polygons(small.px, 8, 8, small.stride, tols[t], &pg) == IF_OK &&
                  if_polygons_count(pg) == want_rings[t],
              "3x3 square with a hole, tolerance %g: %d rings, want %d", tols[t],
              if_polygons_count(pg), want_rings[t]);
        for (int i = 0; i < if_polygons_count(pg); i++) {
            if_polygons_ring(pg, i, &n, &parent);
            CHECK(n >= 3 && (parent == -1 || parent < i), "tolerance %g: ring %d, %d points",
                  tols[t], i, n);
        }
        if_polygons_free(pg);
    }
    free(small.px);

    /* A big staircase (a 2000x2000 disk) at tolerance 0 and 0.5: linear-ish
     * time, not quadratic (the test would take minutes). */
    mask_t big = mask_new(2000, 2000);
    for (int y = 0; y < 2000; y++)
        for (int x = 0; x < 2000; x++)
            set(&big, x, y,
                (double)(x - 1000) * (x - 1000) + (double)(y - 990) * (y - 990) < 9.6e5);
    for (int t = 0; t < 2; t++) {
        CHECK(if_mask_polygons(big.px, 2000, 2000, big.stride, t ? 0.5f : 0.0f, &pg) == IF_OK &&
                  if_polygons_count(pg) == 1,
              "2000x2000 disk, tolerance %s", t ? "0.5" : "0");
        if_polygons_free(pg);
    }
    free(big.px);

    /* Bad arguments. */
    uint8_t px[4] = {1, 0, 0, 1};
    CHECK(if_mask_polygons(NULL, 2, 2, 2, 0, &pg) == IF_ERR_INVALID_ARG, "NULL mask");
    CHECK(if_mask_polygons(px, 2, 2, 2, 0, NULL) == IF_ERR_INVALID_ARG, "NULL out");
    CHECK(if_mask_polygons(px, 0, 2, 2, 0, &pg) == IF_ERR_INVALID_ARG && !pg, "width 0");
    CHECK(if_mask_polygons(px, 2, 2, 1, 0, &pg) == IF_ERR_INVALID_ARG, "stride < width");
    CHECK(if_mask_polygons(px, 2, 2, 2, -1, &pg) == IF_ERR_INVALID_ARG, "tolerance -1");
    CHECK(if_mask_polygons(px, 2, 2, 2, NAN, &pg) == IF_ERR_INVALID_ARG, "tolerance NaN");
    CHECK(if_mask_polygons(px, 2, 2, 2, INFINITY, &pg) == IF_ERR_INVALID_ARG, "tolerance inf");
    CHECK(if_mask_polygons(px, (1 << 24) + 1, 1, (size_t)1 << 25, 0, &pg) == IF_ERR_INVALID_ARG,
          "a side over 2^24");
    CHECK(if_polygons_count(NULL) == 0 && !if_polygons_ring(NULL, 0, &n, &parent) && n == 0 &&
              parent == -1,
          "NULL polygons");
    CHECK(if_mask_polygons(px, 2, 2, 2, 0, &pg) == IF_OK && if_polygons_count(pg) == 1 &&
              !if_polygons_ring(pg, 1, &n, NULL) && !if_polygons_ring(pg, -1, &n, NULL),
          "ring index out of range");
    if_polygons_free(pg);
    if_polygons_free(NULL);
}

int main(void) {
    rle_vectors();
    rle_bad_strings();
    polygon_cases();
    return CHECK_SUMMARY();
}
