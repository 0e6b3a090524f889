/* coco_json.c -- see coco_json.h. The RLE, box, area and polygons come from
 * the library (interformer.h, "Outputs"); this file only writes JSON. */
#include "common/coco_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/errbuf.h"
#include "common/outfile.h"
#include "interformer.h"

IFP_PRINTF(2, 3)
static void putf(out_file *o, const char *fmt, ...) {
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) out_write(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* The length of the well-formed UTF-8 sequence at s (at most n bytes), 0
 * when it is not one (a stray byte, an overlong form, a surrogate, past
 * U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (!len || len > n) return 0;
    unsigned long cp = len == 1 ? c : c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    static const unsigned long min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* s as a JSON string: quotes, backslashes and control characters escaped,
 * a byte that is not well-formed UTF-8 replaced by U+FFFD (JSON text is
 * UTF-8; a file name need not be). */
static void put_string(out_file *o, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, done = 0; /* p[done..i) is written as it is */
    while (p[n]) n++;
    out_write(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = utf8_len(p + i, n - i);
        if (len && c != '"' && c != '\\' && c >= 0x20) {
            i += len;
            continue;
        }
        out_write(o, p + done, i - done);
        if (c == '"' || c == '\\')
            putf(o, "\\%c", c);
        else if (c < 0x20)
            putf(o, "\\u%04x", c);
        else
            putf(o, "\\ufffd");
        done = i += len ? len : 1;
    }
    out_write(o, p + done, n - done);
    out_write(o, "\"", 1);
}

/* The RLE segmentation; 0 or -1 with err. */
static int put_rle(out_file *o, const uint8_t *mask, int w, int h, char *err, size_t cap) {
    size_t n, len;
    uint32_t *counts = NULL;
    char *str = NULL;
    if_status s = if_mask_rle(mask, w, h, (size_t)w, NULL, 0, &n);
    if (s == IF_OK && !(counts = malloc(n * sizeof *counts))) s = IF_ERR_NO_MEMORY;
    if (s == IF_OK) s = if_mask_rle(mask, w, h, (size_t)w, counts, n, &n);
    if (s == IF_OK) s = if_rle_encode_string(counts, n, NULL, 0, &len);
    if (s == IF_OK && !(str = malloc(len + 1))) s = IF_ERR_NO_MEMORY;
    if (s == IF_OK) s = if_rle_encode_string(counts, n, str, len + 1, &len);
    if (s == IF_OK) {
        putf(o, "{\"size\": [%d, %d], \"counts\": ", h, w);
        put_string(o, str); /* '0'..'o': only '\\' needs escaping */
        putf(o, "}");
    }
    free(counts);
    free(str);
    if (s != IF_OK)
        return errbuf_fail(err, cap, "COCO RLE: %s%s%s", if_status_str(s),
                           *if_last_error() ? ": " : "", if_last_error());
    return 0;
}

/* The polygons (outer rings only); 0 or -1 with err. */
static int put_polygons(out_file *o, const uint8_t *mask, int w, int h, float tol, char *err,
                        size_t cap) {
    if_polygons *pg;
    if_status s = if_mask_polygons(mask, w, h, (size_t)w, tol, &pg);
    if (s != IF_OK)
        return errbuf_fail(err, cap, "polygons: %s: %s", if_status_str(s), if_last_error());
    putf(o, "[");
    for (int i = 0, first = 1; i < if_polygons_count(pg); i++) {
        int n, parent;
        const float *xy = if_polygons_ring(pg, i, &n, &parent);
        if (parent >= 0) continue; /* a hole: COCO polygons cannot say so */
        putf(o, "%s[", first ? "" : ", ");
        for (int k = 0; k < 2 * n; k++) putf(o, "%s%.9g", k ? ", " : "", (double)xy[k]);
        putf(o, "]");
        first = 0;
    }
    putf(o, "]");
    if_polygons_free(pg);
    return 0;
}

int coco_write(const char *path, const uint8_t *const *masks, int n, int width, int height,
               const coco_opts *c, char *err, size_t cap) {
    out_file o;
    if (out_open(&o, path, err, cap)) return -1;
    putf(&o, "{\n  \"images\": [{\"id\": 1, \"file_name\": ");
    put_string(&o, c->file_name);
    putf(&o, ", \"width\": %d, \"height\": %d}],\n  \"annotations\": [", width, height);
    int written = 0;
    for (int k = 0; k < n; k++) {
        int box[4];
        int64_t area;
        if_status s = if_mask_bbox(masks[k], width, height, (size_t)width, box, &area);
        if (s != IF_OK) {
            out_discard(&o);
            return errbuf_fail(err, cap, "bbox: %s: %s", if_status_str(s), if_last_error());
        }
        if (!area) continue;
        putf(&o, "%s{\"id\": %d, \"image_id\": 1, \"category_id\": 1, \"segmentation\": ",
             written++ ? ",\n    " : "", k + 1);
        if (c->polygons ? put_polygons(&o, masks[k], width, height, c->tolerance, err, cap)
                        : put_rle(&o, masks[k], width, height, err, cap)) {
            out_discard(&o);
            return -1;
        }
        putf(&o, ", \"area\": %lld, \"bbox\": [%d, %d, %d, %d], \"iscrowd\": 0}", (long long)area,
             box[0], box[1], box[2], box[3]);
    }
    putf(&o, "],\n  \"categories\": [{\"id\": 1, \"name\": \"object\"}]\n}\n");
    return out_commit(&o, err, cap);
}
