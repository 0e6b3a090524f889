/* inverted_bottleneck.c -- expand (1x1), depthwise 3x3, project (1x1) and
 * the residual in one pass over the map (drivers.h; the semantics:
 * kernels.h's ifk_inv_bottleneck).
 *
 * Unfused, InterFormer-Light's first decoder MLP writes and reads two
 * 128x128x256 maps (16 MB each) per click to do 0.6 GFLOP: memory-bound.
 * Here the cmid-channel maps only exist as a ring of a few expanded rows
 * (S = R + 2 rows, input row r in slot r % S) and R rows of depthwise
 * output, both in L2. Per group of R output rows: expand the input rows the
 * group newly needs, the depthwise rows (the ISA's dw3_row), then one
 * project GEMM over the R rows with bias, activation and residual in its
 * epilogue. Both GEMMs run on B packed once (the prep) and block K as
 * ifk__gemm does, and dw3_row sums as dwconv does, so the result equals the
 * three convolutions and the add run one by one, bit for bit. A caller
 * splitting rows over threads re-expands one halo row at each cut. */
#include <string.h>

#include "kernels/drivers.h"
#include "kernels/scalar/scalar.h"

enum {
    SLACK = IFK_SCRATCH_SLACK,
    IB_PIX = 128, /* output pixels per group: M of the project GEMM */
};

/* Offsets (floats) into the prep: a header, then the packed expand weights,
 * expand bias, tap-major depthwise weights, depthwise bias, packed project
 * weights, project bias. */
typedef struct {
    int has_be, has_bp; /* the depthwise bias is always there (zeros) */
} ib_header;

typedef struct {
    size_t we, be, wd, bd, wp, bp, total;
} ib_layout;

static size_t up16(size_t n) { return ifk__round_up(n, 16); }

static ib_layout layout(const ifk_isa *isa, const ifk_ib_params *p) {
    ib_layout L;
    size_t at = 16; /* the header's 64 bytes */
    L.we = at;
    at += up16(ifk__packed_b_floats(isa, p->cin, p->cmid));
    L.be = at;
    at += up16((size_t)p->cmid);
    L.wd = at;
    at += up16((size_t)9 * p->cmid);
    L.bd = at;
    at += up16((size_t)p->cmid);
    L.wp = at;
    at += up16(ifk__packed_b_floats(isa, p->cmid, p->cout));
    L.bp = at;
    at += up16((size_t)p->cout);
    L.total = at;
    return L;
}

static int rows_per_group(int w) { return w >= IB_PIX ? 1 : IB_PIX / (w < 1 ? 1 : w); }

size_t ifk__inv_bottleneck_prep_bytes(const ifk_isa *isa, const ifk_ib_params *p) {
    return layout(isa, p).total * sizeof(float);
}

static void copy_or_zero(float *dst, const float *src, int n) {
    if (src)
        memcpy(dst, src, (size_t)n * sizeof(float));
    else
        memset(dst, 0, (size_t)n * sizeof(float));
}

void ifk__inv_bottleneck_prep(const ifk_isa *isa, const ifk_ib_params *p, const float *we,
                              const float *be, const float *wd, const float *bd, const float *wp,
                              const float *bp, void *prep) {
    const ib_layout L = layout(isa, p);
    float *f = (float *)prep;
    const ib_header h = {be != NULL, bp != NULL};
    memset(f, 0, 64);
    memcpy(f, &h, sizeof h);
    ifk__pack_b_all(isa, we, (size_t)p->cin, p->cmid, p->cin, f + L.we);
    copy_or_zero(f + L.be, be, p->cmid);
    ifk__dw_weights(wd, 9, 0, p->cmid, p->cmid, p->cmid, f + L.wd);
    copy_or_zero(f + L.bd, bd, p->cmid);
    ifk__pack_b_all(isa, wp, (size_t)p->cmid, p->cout, p->cmid, f + L.wp);
    copy_or_zero(f + L.bp, bp, p->cout);
}

size_t ifk__inv_bottleneck_scratch(const ifk_isa *isa, const ifk_ib_params *p) {
    const int R = rows_per_group(p->w);
    const size_t er = (size_t)p->w * p->cmid;
    const int64_t k = p->cin > p->cmid ? p->cin : p->cmid;
    return SLACK + ifk__piece((size_t)(R + 2) * er) + ifk__piece((size_t)R * er) +
           ifk__gemm_packed_scratch(isa, k);
}

void ifk__inv_bottleneck(const ifk_isa *isa, const float *x, const ifk_ib_params *p,
                         const void *prep, const float *res, float *y, void *scratch) {
    const int w = p->w, h = p->h, cin = p->cin, cm = p->cmid, co = p->cout;
    const int oy0 = p->oy0 < 0 ? 0 : p->oy0;
    const int oy1 = p->oy1 <= 0 || p->oy1 > h ? h : p->oy1;
    const ib_layout L = layout(isa, p);
    const float *f = (const float *)prep;
    ib_header hd;
    memcpy(&hd, f, sizeof hd);
    const float *be = hd.has_be ? f + L.be : NULL, *bp = hd.has_bp ? f + L.bp : NULL;
    const int R = rows_per_group(w), S = R + 2;
    const size_t er = (size_t)w * cm;
    char *cur = ifk__align64(scratch);
    float *ring = ifk__carve(&cur, (size_t)S * er), *d = ifk__carve(&cur, (size_t)R * er);
    void *gs = cur;
    int next = 0; /* input rows below next are expanded (the last S in the ring) */
    for (int Y0 = oy0; Y0 < oy1; Y0 += R) {
        const int Y1 = Y0 + R < oy1 ? Y0 + R : oy1;
        const int lo = Y0 - 1 < 0 ? 0 : Y0 - 1, hi = Y1 < h ? Y1 : h - 1;
        if (next < lo) next = lo;
        while (next <= hi) { /* runs of rows that do not wrap around the ring */
            const int slot = next % S, cnt = hi - next + 1 < S - slot ? hi - next + 1 : S - slot;
            ifk__gemm_packed(isa, x + (size_t)next * w * cin, (size_t)cin, (int64_t)cnt * w, cin,
                             f + L.we, be, cm, p->act_expand, NULL, 0, ring + (size_t)slot * er,
                             (size_t)cm, gs);
            next += cnt;
        }
        for (int Y = Y0; Y < Y1; Y++) {
            const float *r[3];
            for (int k = 0; k < 3; k++) {
                const int iy = Y - 1 + k;
                r[k] = iy >= 0 && iy < h ? ring + (size_t)(iy % S) * er : NULL;
            }
            isa->dw3_row(r, w, cm, f + L.wd, f + L.bd, p->act_dw, d + (size_t)(Y - Y0) * er);
        }
        const size_t o = (size_t)Y0 * w * co;
        ifk__gemm_packed(isa, d, (size_t)cm, (int64_t)(Y1 - Y0) * w, cm, f + L.wp, bp, co,
                         p->act_project, res ? res + o : NULL, (size_t)co, y + o, (size_t)co, gs);
    }
}
