/* conv_parts.c -- a convolution whose input is the channel concatenation
 * of several maps, without making the concatenation (drivers.h), some of
 * them given at a lower resolution and standing for their bilinear
 * upsampling (kernels.h's ifk_parts).
 *
 * UPerNet's fusion convolution reads the concatenation of four 128x128x64
 * maps, three of them upsampled from 64x64, 32x32 and 16x16: made whole,
 * 16 MB of arena next to 12 MB of upsampled maps, the peak of a click's
 * memory, and the most expensive convolution of a click.
 *
 * Full-size parts: Winograd's input transform works channel by channel, so
 * it reads each part where it is (winograd.c). Any other convolution gets
 * its input in bands of rows, concatenated in scratch (low-resolution
 * parts resized into the band as RESIZE_BILINEAR would), each band run as
 * a convolution of its own whose padding stands where the map's edges are:
 * the same sums pixel for pixel as the convolution of the whole map.
 *
 * Low-resolution parts, stride 1 (the fast way, with an instruction set):
 * the convolution is linear and so is the resize, so the channel mixing
 * can come first, at the low resolution. For part x (h' x w', c' channels)
 * and tap t = (ky, kx) of the kernel, Y_t = x W_t (W_t: the tap's cout x c'
 * slice of the weight) is a GEMM over h' w' pixels instead of h w; the
 * output adds, for each tap, Y_t resized and shifted:
 *     y(oy, ox) += sum_t resize(Y_t)(oy - pt + ky, ox - pl + kx)
 * (zero outside the map, as the padding). A bilinear resize is separable,
 * so a row of y is made in two steps: G(c, kx) = sum over ky of the
 * vertical interpolation of Y's rows, at the low width; then y(ox) = sum
 * over kx of the horizontal interpolation of G. For UPerNet's 2x, 4x and
 * 8x parts this is 4x, 16x and 64x fewer multiply-adds in the GEMM than
 * Winograd at full size, and no transforms. The sums are the same
 * convolution's in another order: within float rounding of the resized
 * map's convolution, not bit for bit (tests/test_kernels_simd.c). Each
 * thread keeps the rows of Y its output rows need in a ring, so every row
 * is one GEMM, whatever splits the output. */
#include <string.h>

#include "kernels/drivers.h"
#include "kernels/scalar/scalar.h"

enum { BAND_ROWS = 8, MAX_RING = 16 };

static int band_input_rows(const ifk_conv_params *p) { return (BAND_ROWS - 1) * p->sh + p->kh; }

static int has_lowres(const ifk_parts *in) {
    for (int k = 0; k < in->n; k++)
        if (in->h[k] > 0) return 1;
    return 0;
}

/* Whether the weights are prepared for the fast way: decided by what does
 * not change between runs (a zoomed-in run has other sizes). */
static int lowres_layout(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p) {
    return isa && has_lowres(in) && p->sh == 1 && p->sw == 1 && p->groups == 1 &&
           p->kh + 1 <= MAX_RING;
}

/* And whether this run's sizes let the fast way run: every low-resolution
 * part upsampled (or kept) in both directions, so the rows of Y one output
 * row needs span at most kh + 1 rows (the ring). */
static int lowres_sizes_ok(const ifk_parts *in, const ifk_conv_params *p) {
    for (int k = 0; k < in->n; k++)
        if (in->h[k] > 0 && (in->h[k] > p->h || in->w[k] > p->w || in->w[k] < 1)) return 0;
    return 1;
}

/* Where the fast way keeps its prepared weights, and what it runs the
 * full-size parts as. The prep starts with a header (64 bytes): the size
 * of the full-size parts' own prep (Winograd's weights, or none), which
 * depends on the sizes the prep was made for, not on a run's (a zoomed-in
 * run's maps may be too small for Winograd where the whole image's were
 * not). */
enum { HEADER = 64 };
typedef struct {
    size_t direct_bytes; /* the full-size parts' conv2d prep, at HEADER */
} lowres_header;

typedef struct {
    ifk_parts direct;           /* the full-size parts, in order */
    ifk_conv_params q;          /* their convolution: cin = their channels, no activation */
    size_t direct_bytes;        /* their prep's bytes (the header's) */
    size_t wd_at;               /* byte offset of their weight slice (OHWI, q.cin wide) */
    size_t b_at[IFK_MAX_PARTS]; /* a low part's packed taps: kh*kw blocks of b_bytes */
    size_t b_bytes[IFK_MAX_PARTS];
    size_t bytes; /* all of it */
} lowres_plan;

/* direct_bytes: the header's, or SIZE_MAX for what these sizes want. */
static void plan_lowres(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p,
                        size_t direct_bytes, lowres_plan *L) {
    memset(L, 0, sizeof *L);
    L->q = *p;
    L->q.act = IFK_ACT_NONE;
    L->q.cin = 0;
    for (int k = 0; k < in->n; k++)
        if (in->h[k] <= 0) {
            L->direct.x[L->direct.n] = in->x[k];
            L->direct.c[L->direct.n++] = in->c[k];
            L->q.cin += in->c[k];
        }
    size_t at = HEADER;
    if (L->q.cin) {
        L->direct_bytes =
            direct_bytes != SIZE_MAX ? direct_bytes : ifk__conv2d_prep_bytes(isa, &L->q);
        at += ifk__round_up(L->direct_bytes, 64);
        L->wd_at = at;
        at += ifk__piece((size_t)p->cout * p->kh * p->kw * L->q.cin);
    }
    for (int k = 0; k < in->n; k++)
        if (in->h[k] > 0) {
            L->b_at[k] = at;
            L->b_bytes[k] = ifk__piece(ifk__packed_b_floats(isa, in->c[k], p->cout));
            at += (size_t)p->kh * p->kw * L->b_bytes[k];
        }
    L->bytes = at;
}

size_t ifk__conv2d_parts_prep_bytes(const ifk_isa *isa, const ifk_parts *in,
                                    const ifk_conv_params *p) {
    if (!lowres_layout(isa, in, p)) return isa ? ifk__conv2d_prep_bytes(isa, p) : 0;
    lowres_plan L;
    plan_lowres(isa, in, p, SIZE_MAX, &L);
    return L.bytes;
}

void ifk__conv2d_parts_prep(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p,
                            const float *wt, void *prep) {
    if (!lowres_layout(isa, in, p)) {
        if (isa) ifk__conv2d_prep(isa, p, wt, prep);
        return;
    }
    lowres_plan L;
    plan_lowres(isa, in, p, SIZE_MAX, &L);
    char *base = (char *)prep;
    const int taps = p->kh * p->kw;
    lowres_header hd;
    memset(&hd, 0, sizeof hd);
    hd.direct_bytes = L.direct_bytes;
    memset(base, 0, HEADER);
    memcpy(base, &hd, sizeof hd);
    if (L.q.cin) { /* the full-size parts' channels of every (o, tap) */
        float *wd = (float *)(base + L.wd_at);
        for (size_t ot = 0; ot < (size_t)p->cout * taps; ot++) {
            float *dst = wd + ot * L.q.cin;
            int off = 0;
            for (int k = 0; k < in->n; k++) {
                if (in->h[k] <= 0) {
                    memcpy(dst, wt + ot * p->cin + off, (size_t)in->c[k] * sizeof *dst);
                    dst += in->c[k];
                }
                off += in->c[k];
            }
        }
        if (L.direct_bytes) ifk__conv2d_prep(isa, &L.q, wd, base + HEADER);
    }
    int off = 0;
    for (int k = 0; k < in->n; k++) {
        if (in->h[k] > 0) /* tap t's cout x c' slice: rows taps*cin floats apart */
            for (int t = 0; t < taps; t++)
                ifk__pack_b_all(isa, wt + (size_t)t * p->cin + off, (size_t)taps * p->cin, p->cout,
                                in->c[k], (float *)(base + L.b_at[k] + t * L.b_bytes[k]));
        off += in->c[k];
    }
}

/* The fast way's scratch after the full-size parts' convolution: a ring of
 * kh + 1 rows of Y (each w' pixels of kh*kw*cout), G (w' x kw x cout), and
 * the GEMM's. */
static size_t lowres_scratch(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p) {
    int wmax = 0, cmax = 1;
    for (int k = 0; k < in->n; k++)
        if (in->h[k] > 0) {
            if (in->w[k] > wmax) wmax = in->w[k];
            if (in->c[k] > cmax) cmax = in->c[k];
        }
    const size_t row = (size_t)wmax * p->kh * p->kw * p->cout;
    return ifk__piece((size_t)(p->kh + 1) * row) + ifk__piece((size_t)wmax * p->kw * p->cout) +
           ifk__gemm_packed_scratch(isa, cmax);
}

size_t ifk__conv2d_parts_scratch(const ifk_isa *isa, const ifk_parts *in, const ifk_conv_params *p,
                                 size_t (*conv_scratch)(const ifk_isa *isa,
                                                        const ifk_conv_params *q)) {
    /* The most any way may want: a run on maps smaller than these sizes
     * (a zoomed-in crop) may take the bands where these take Winograd or
     * the fast way, and each way wants no more on smaller maps. */
    size_t most = 0;
    if (lowres_layout(isa, in, p)) {
        lowres_plan L;
        plan_lowres(isa, in, p, SIZE_MAX, &L);
        most = IFK_SCRATCH_SLACK + lowres_scratch(isa, in, p);
        if (L.q.cin) most += ifk__conv2d_parts_scratch(isa, &L.direct, &L.q, conv_scratch);
    } else if (isa && !has_lowres(in) && ifk__winograd_ok(p)) {
        most = ifk__winograd_scratch(isa, p);
    }
    /* The bands (their convolution runs without prepared weights when parts
     * are low). */
    ifk_conv_params q = *p;
    q.h = band_input_rows(p) < p->h ? band_input_rows(p) : p->h;
    const size_t band = IFK_SCRATCH_SLACK + ifk__piece((size_t)q.h * p->w * p->cin) +
                        (conv_scratch ? conv_scratch(isa, &q) : 0);
    return band > most ? band : most;
}

/* Input row r of part k, as the concatenation holds it (pixels stride
 * floats apart): a full-size part's row, or a low part's resized as
 * RESIZE_BILINEAR would, bit for bit. */
static void part_pixels(const ifk_parts *in, int k, const ifk_conv_params *p, int r, float *dst,
                        size_t stride) {
    const int h = in->h[k] > 0 ? in->h[k] : p->h, w = in->h[k] > 0 ? in->w[k] : p->w;
    ifk__resize_bilinear_row(in->x[k], h, w, in->c[k], r, p->h, p->w, dst, stride);
}

static void conv_bands(const ifk_isa *isa, ifk_conv_fn conv, const ifk_parts *in,
                       const ifk_conv_params *p, const float *wt, const void *prep,
                       const float *bias, float *y, void *scratch) {
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const int oy0 = p->oy0 < 0 ? 0 : p->oy0, oy1 = p->oy1 <= 0 || p->oy1 > ho ? ho : p->oy1;
    const int rows = band_input_rows(p) < p->h ? band_input_rows(p) : p->h;
    char *cur = ifk__align64(scratch);
    float *band = ifk__carve(&cur, (size_t)rows * p->w * p->cin);
    for (int y0 = oy0; y0 < oy1; y0 += BAND_ROWS) {
        const int y1 = y0 + BAND_ROWS < oy1 ? y0 + BAND_ROWS : oy1;
        const int r0 = y0 * p->sh - p->pt > 0 ? y0 * p->sh - p->pt : 0;
        const int want = (y1 - 1) * p->sh - p->pt + p->kh;
        const int r1 = want < p->h ? want : p->h;
        for (int r = r0; r < r1; r++) {
            float *dst = band + (size_t)(r - r0) * p->w * p->cin;
            for (int k = 0; k < in->n; k++) {
                part_pixels(in, k, p, r, dst, (size_t)p->cin);
                dst += in->c[k];
            }
        }
        /* The band's own convolution: output row y0 + j is its row j; the
         * rows of padding it sees are the map's, no more. */
        ifk_conv_params q = *p;
        q.h = r1 - r0;
        q.pt = p->pt + r0 - y0 * p->sh;
        q.pb = (y1 - y0 - 1) * p->sh + p->kh - q.h - q.pt;
        q.oy0 = 0;
        q.oy1 = 0;
        conv(isa, band, &q, wt, prep, bias, y + (size_t)y0 * wo * p->cout, cur);
    }
}

/* y's rows [oy0, oy1) += the convolution of low part k (the fast way). */
static void add_lowres_part(const ifk_isa *isa, const ifk_parts *in, int k,
                            const ifk_conv_params *p, const char *bp, size_t b_bytes, int oy0,
                            int oy1, int wo, float *y, char *cur) {
    const int h = in->h[k], w = in->w[k], ck = in->c[k], cout = p->cout, kw = p->kw;
    const int taps = p->kh * kw, ring_n = p->kh + 1;
    const size_t yrow =
        (size_t)w * taps * cout; /* Y's row: pixel c, tap t at c*taps*cout + t*cout */
    float *ring = ifk__carve(&cur, (size_t)ring_n * yrow);
    float *g = ifk__carve(&cur, (size_t)w * kw * cout);
    void *gemm_scratch = cur;
    int tag[MAX_RING];
    for (int s = 0; s < ring_n; s++) tag[s] = -1;
    const float sy = (float)h / (float)p->h, sx = (float)w / (float)p->w;
    for (int oy = oy0; oy < oy1; oy++) {
        memset(g, 0, (size_t)w * kw * cout * sizeof *g);
        for (int ky = 0; ky < p->kh; ky++) {
            const int s = oy - p->pt + ky;
            if (s < 0 || s >= p->h) continue;
            const ifk__lin_tap ty = ifk__lin_index(s, h, p->h, sy);
            const float *yr[2];
            const int want[2] = {ty.i0, ty.i1};
            for (int v = 0; v < 2; v++) {
                const int slot = want[v] % ring_n;
                float *row = ring + (size_t)slot * yrow;
                if (tag[slot] != want[v]) {
                    const float *x = in->x[k] + (size_t)want[v] * w * ck;
                    for (int t = 0; t < taps; t++)
                        ifk__gemm_packed(isa, x, (size_t)ck, w, ck,
                                         (const float *)(bp + (size_t)t * b_bytes), NULL, cout,
                                         IFK_ACT_NONE, NULL, 0, row + (size_t)t * cout,
                                         (size_t)taps * cout, gemm_scratch);
                    tag[slot] = want[v];
                }
                yr[v] = row;
            }
            /* the kw taps of row ky are contiguous in Y and in G */
            for (int c = 0; c < w; c++) {
                const size_t at = (size_t)c * taps * cout + (size_t)ky * kw * cout;
                isa->axpy2(g + (size_t)c * kw * cout, yr[0] + at, ty.l0, yr[1] + at, ty.l1,
                           (int64_t)kw * cout);
            }
        }
        float *out = y + (size_t)oy * wo * cout;
        for (int ox = 0; ox < wo; ox++)
            for (int kx = 0; kx < kw; kx++) {
                const int s = ox - p->pl + kx;
                if (s < 0 || s >= p->w) continue;
                const ifk__lin_tap tx = ifk__lin_index(s, w, p->w, sx);
                isa->axpy2(out + (size_t)ox * cout, g + ((size_t)tx.i0 * kw + kx) * cout, tx.l0,
                           g + ((size_t)tx.i1 * kw + kx) * cout, tx.l1, cout);
            }
    }
}

static void conv_lowres(const ifk_isa *isa, ifk_conv_fn conv, const ifk_parts *in,
                        const ifk_conv_params *p, const void *prep, const float *bias, float *y,
                        void *scratch) {
    int ho, wo;
    ifk_conv2d_out_size(p, &ho, &wo);
    const int oy0 = p->oy0 < 0 ? 0 : p->oy0, oy1 = p->oy1 <= 0 || p->oy1 > ho ? ho : p->oy1;
    if (oy0 >= oy1) return;
    const char *base = (const char *)prep;
    lowres_header hd;
    memcpy(&hd, base, sizeof hd);
    lowres_plan L;
    plan_lowres(isa, in, p, hd.direct_bytes, &L);
    char *cur = ifk__align64(scratch);
    const size_t row = (size_t)wo * p->cout;
    if (L.q.cin) {
        ifk_conv_params q = L.q;
        q.oy0 = oy0;
        q.oy1 = oy1;
        /* Winograd's weights when this run takes Winograd and they were made;
         * the other ways read the weight slice (and Winograd without them
         * transforms it itself). */
        const void *dp = L.direct_bytes && ifk__winograd_ok(&q) ? base + HEADER : NULL;
        ifk__conv2d_parts(isa, conv, &L.direct, &q, (const float *)(base + L.wd_at), dp, bias, y,
                          cur + lowres_scratch(isa, in, p));
    } else {
        for (int oy = oy0; oy < oy1; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float *o = y + oy * row + (size_t)ox * p->cout;
                if (bias)
                    memcpy(o, bias, (size_t)p->cout * sizeof *o);
                else
                    memset(o, 0, (size_t)p->cout * sizeof *o);
            }
    }
    for (int k = 0; k < in->n; k++)
        if (in->h[k] > 0)
            add_lowres_part(isa, in, k, p, base + L.b_at[k], L.b_bytes[k], oy0, oy1, wo, y, cur);
    if (p->act != IFK_ACT_NONE)
        isa->activation(y + oy0 * row, (int64_t)(oy1 - oy0) * row, p->act, y + oy0 * row);
}

void ifk__conv2d_parts(const ifk_isa *isa, ifk_conv_fn conv, const ifk_parts *in,
                       const ifk_conv_params *p, const float *wt, const void *prep,
                       const float *bias, float *y, void *scratch) {
    if (lowres_layout(isa, in, p)) {
        if (lowres_sizes_ok(in, p))
            conv_lowres(isa, conv, in, p, prep, bias, y, scratch);
        else /* prep is the fast way's, not conv's */
            conv_bands(isa, conv, in, p, wt, NULL, bias, y, scratch);
        return;
    }
    if (isa && !has_lowres(in) && ifk__winograd_ok(p)) {
        ifk__conv3x3_winograd_parts(isa, in, p, wt, prep, bias, y, scratch);
        return;
    }
    conv_bands(isa, conv, in, p, wt, prep, bias, y, scratch);
}
