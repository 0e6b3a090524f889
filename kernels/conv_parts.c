/* conv_parts.c -- a convolution whose input is the channel concatenation
 * of several maps, without making the concatenation (drivers.h).
 *
 * UPerNet's fusion convolution reads the concatenation of four 128x128x64
 * maps: made whole, 16 MB of arena next to its 16 MB of inputs, the peak
 * of a click's memory. Winograd's input transform works channel by
 * channel, so it reads each part where it is (winograd.c). Any other
 * convolution gets its input in bands of rows, concatenated in scratch,
 * each band run as a convolution of its own whose padding stands where the
 * map's edges are: the same sums pixel for pixel. */
#include <string.h>

#include "kernels/drivers.h"

enum { BAND_ROWS = 8 };

static int band_input_rows(const ifk_conv_params *p) { return (BAND_ROWS - 1) * p->sh + p->kh; }

size_t ifk__conv2d_parts_scratch(const ifk_isa *isa, const ifk_conv_params *p,
                                 size_t (*conv_scratch)(const ifk_isa *isa,
                                                        const ifk_conv_params *q)) {
    if (isa && ifk__winograd_ok(p)) return ifk__winograd_scratch(isa, p);
    ifk_conv_params q = *p;
    q.h = band_input_rows(p) < p->h ? band_input_rows(p) : p->h;
    return IFK_SCRATCH_SLACK + ifk__piece((size_t)q.h * p->w * p->cin) +
           (conv_scratch ? conv_scratch(isa, &q) : 0);
}

void ifk__conv2d_parts(const ifk_isa *isa, ifk_conv_fn conv, const ifk_parts *in,
                       const ifk_conv_params *p, const float *wt, const void *prep,
                       const float *bias, float *y, void *scratch) {
    if (isa && ifk__winograd_ok(p)) {
        ifk__conv3x3_winograd_parts(isa, in, p, wt, prep, bias, y, scratch);
        return;
    }
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
        for (int r = r0; r < r1; r++)
            for (int X = 0; X < p->w; X++) {
                float *dst = band + ((size_t)(r - r0) * p->w + X) * p->cin;
                for (int k = 0; k < in->n; k++) {
                    const int ck = in->c[k];
                    memcpy(dst, in->x[k] + ((size_t)r * p->w + X) * ck, (size_t)ck * sizeof(float));
                    dst += ck;
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
