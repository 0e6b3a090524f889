/* mask.c -- see mask.h. Palette PNGs are read here (chunks, CRCs, filters,
 * Adam7), with stb_image's zlib inflater for the pixel data, because
 * stb_image only returns a palette image expanded to its colours. */
#include "common/mask.h"

#include "common/errbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>

#include "platform/platform.h"

#define MAX_SIDE   (1 << 24)
#define MAX_PIXELS ((size_t)1 << 31)
#define MAX_FILE   ((size_t)1 << 30)

static int size_ok(int w, int h) {
    return w > 0 && h > 0 && w <= MAX_SIDE && h <= MAX_SIDE && (size_t)w * (size_t)h <= MAX_PIXELS;
}

/* ------------------------------------------------------- palette PNGs */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 of PNG chunks (ISO 3309, reflected, polynomial 0xEDB88320); the
 * bitwise form: masks are small and this runs once per chunk byte. */
static uint32_t png_crc(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

/* Adam7 passes: first column, first row, column step, row step. A
 * non-interlaced image is the one pass {0, 0, 1, 1}. */
static const int adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
static const int single_pass[1][4] = {{0, 0, 1, 1}};

static int pass_dim(int full, int first, int step) {
    return full > first ? (full - first + step - 1) / step : 0;
}

static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the row filters of one pass in place (filter unit: 1 byte, as for
 * every palette depth) and scatters its indices into idx (w wide). */
static int unfilter_pass(unsigned char *raw, int pw, int ph, int depth, const int pass[4], int w,
                         const unsigned char *zero_row, uint8_t *idx, char *err, size_t cap) {
    size_t row_bytes = ((size_t)pw * (size_t)depth + 7) / 8;
    const unsigned char *prev = zero_row;
    unsigned mask = (1u << depth) - 1u;
    for (int y = 0; y < ph; y++) {
        unsigned char *row = raw + (size_t)y * (row_bytes + 1), *cur = row + 1;
        int ft = row[0];
        for (size_t i = 0; i < row_bytes; i++) {
            int a = i ? cur[i - 1] : 0, b = prev[i], c = i ? prev[i - 1] : 0, add;
            switch (ft) {
            case 0: add = 0; break;
            case 1: add = a; break;
            case 2: add = b; break;
            case 3: add = (a + b) / 2; break;
            case 4: add = paeth(a, b, c); break;
            default: return errbuf_fail(err, cap, "PNG: unknown row filter %d", ft);
            }
            cur[i] = (unsigned char)(cur[i] + add);
        }
        uint8_t *dst = idx + (size_t)(pass[1] + y * pass[3]) * (size_t)w;
        for (int x = 0; x < pw; x++) {
            size_t bit = (size_t)x * (size_t)depth;
            unsigned v = (unsigned)(cur[bit / 8] >> (8 - depth - (int)(bit % 8))) & mask;
            dst[pass[0] + x * pass[2]] = (uint8_t)v;
        }
        prev = cur;
    }
    return 0;
}

/* A PNG of colour type 3: *idx (w*h indices, malloc'ed) and its palette.
 * Returns 1 when decoded, 0 when buf is not a palette PNG (another reader's
 * job), -1 on a broken file. */
static int png_palette(const unsigned char *buf, size_t n, uint8_t **idx, int *w, int *h,
                       unsigned char pal[256][3], int *n_pal, char *err, size_t cap) {
    *idx = NULL;
    *n_pal = 0;
    if (n < 8 + 25 || memcmp(buf, png_sig, 8) || be32(buf + 8) != 13 || memcmp(buf + 12, "IHDR", 4))
        return 0;
    const unsigned char *ih = buf + 16;
    if (ih[9] != 3) return 0;
    int width = (int)(be32(ih) > INT_MAX ? 0 : be32(ih)),
        height = (int)(be32(ih + 4) > INT_MAX ? 0 : be32(ih + 4));
    int depth = ih[8], interlace = ih[12];
    if (!size_ok(width, height))
        return errbuf_fail(err, cap, "PNG: size %ux%u is outside 1..%d per side, %zu pixels",
                           be32(ih), be32(ih + 4), MAX_SIDE, MAX_PIXELS);
    if (depth != 1 && depth != 2 && depth != 4 && depth != 8)
        return errbuf_fail(err, cap, "PNG: bit depth %d is not allowed for a palette image", depth);
    if (ih[10] || ih[11] || interlace > 1)
        return errbuf_fail(err, cap, "PNG: unknown compression, filter or interlace method");

    /* Chunks: lengths within the file, every CRC right; IDAT bytes summed. */
    size_t idat_n = 0, pos = 8;
    int seen_end = 0;
    for (; pos + 12 <= n;) {
        size_t len = be32(buf + pos);
        const unsigned char *type = buf + pos + 4;
        if (len > n - pos - 12)
            return errbuf_fail(err, cap, "PNG: truncated (chunk %.4s)", (const char *)type);
        if (png_crc(type, len + 4) != be32(type + 4 + len))
            return errbuf_fail(err, cap, "PNG: CRC mismatch in chunk %.4s", (const char *)type);
        if (!memcmp(type, "PLTE", 4)) {
            if (!len || len % 3 || len > 768 || *n_pal)
                return errbuf_fail(err, cap, "PNG: bad palette (%zu bytes)", len);
            *n_pal = (int)(len / 3);
            memcpy(pal, type + 4, len);
        } else if (!memcmp(type, "IDAT", 4)) {
            idat_n += len;
        } else if (!memcmp(type, "IEND", 4)) {
            seen_end = 1;
            break;
        } else if (!(type[0] & 0x20) && memcmp(type, "IHDR", 4)) {
            return errbuf_fail(err, cap, "PNG: unknown critical chunk %.4s", (const char *)type);
        }
        pos += len + 12;
    }
    if (!seen_end) return errbuf_fail(err, cap, "PNG: truncated (no IEND chunk)");
    if (!*n_pal) return errbuf_fail(err, cap, "PNG: a palette image without a palette (PLTE)");
    if (!idat_n || idat_n > INT_MAX) return errbuf_fail(err, cap, "PNG: no image data (IDAT)");

    int interlaced = interlace == 1, n_pass = interlaced ? 7 : 1;
    const int(*passes)[4] = interlaced ? adam7 : single_pass;
    size_t raw_n = 0, max_row = 0;
    for (int p = 0; p < n_pass; p++) {
        int pw = pass_dim(width, passes[p][0], passes[p][2]),
            ph = pass_dim(height, passes[p][1], passes[p][3]);
        if (!pw || !ph) continue;
        size_t rb = ((size_t)pw * (size_t)depth + 7) / 8;
        raw_n += (size_t)ph * (rb + 1);
        if (rb > max_row) max_row = rb;
    }
    if (raw_n > INT_MAX)
        return errbuf_fail(err, cap, "PNG: %dx%d is too large to inflate", width, height);
    unsigned char *idat = malloc(idat_n), *raw = malloc(raw_n), *zero = calloc(1, max_row + 1);
    uint8_t *out = malloc((size_t)width * (size_t)height);
    int rc = -1;
    if (!idat || !raw || !zero || !out) {
        errbuf_fail(err, cap, "out of memory for a %dx%d PNG", width, height);
        goto done;
    }
    size_t at = 0;
    for (pos = 8; pos + 12 <= n;) {
        size_t len = be32(buf + pos);
        if (!memcmp(buf + pos + 4, "IDAT", 4)) {
            memcpy(idat + at, buf + pos + 8, len);
            at += len;
        }
        if (!memcmp(buf + pos + 4, "IEND", 4)) break;
        pos += len + 12;
    }
    int got = stbi_zlib_decode_buffer((char *)raw, (int)raw_n, (const char *)idat, (int)idat_n);
    if (got != (int)raw_n) {
        errbuf_fail(err, cap, "PNG: the compressed image data is broken or of the wrong size");
        goto done;
    }
    size_t off = 0;
    for (int p = 0; p < n_pass; p++) {
        int pw = pass_dim(width, passes[p][0], passes[p][2]),
            ph = pass_dim(height, passes[p][1], passes[p][3]);
        if (!pw || !ph) continue;
        if (unfilter_pass(raw + off, pw, ph, depth, passes[p], width, zero, out, err, cap))
            goto done;
        off += (size_t)ph * (((size_t)pw * (size_t)depth + 7) / 8 + 1);
    }
    *idx = out;
    *w = width;
    *h = height;
    out = NULL;
    rc = 1;
done:
    free(out);
    free(zero);
    free(raw);
    free(idat);
    return rc;
}

/* ------------------------------------------------------- interpreting */

/* Gray values (or indices read as values) -> labels, in place. */
static const char *gray_to_labels(uint8_t *v, size_t n) {
    size_t hist[256] = {0}, n_small = 0;
    for (size_t i = 0; i < n; i++) hist[v[i]]++;
    int other = 0;
    for (int k = 1; k < 255; k++) {
        if (k <= 63)
            n_small += hist[k];
        else
            other |= hist[k] != 0;
    }
    /* In a label map 255 is a void band around objects, not many times
     * their area; a 0/255 mask with a few stray small values is binary. */
    if (n_small && !other && n_small >= hist[255] / 8)
        return "label map (0 = background, 1..63 = objects, 255 = ignore)";
    for (size_t i = 0; i < n; i++) v[i] = v[i] > 128 ? 1 : v[i] == 128 ? MASK_IGNORE : 0;
    return "binary (> 128 = object, 128 = ignore, < 128 = background)";
}

/* Colour pixels (comp >= 3) -> labels: distinct colours to ids. Returns
 * NULL when there are more than 254 object colours. */
static const char *colour_to_labels(const unsigned char *px, int comp, size_t n, uint8_t *label) {
    enum { SLOTS = 1024 }; /* open addressing over at most 254 colours */
    uint32_t key[SLOTS];
    uint8_t id[SLOTS];
    memset(key, 0xFF, sizeof key); /* 0xFFFFFFFF: empty (colours are 24-bit) */
    int next = 1;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = px + i * (size_t)comp;
        uint32_t c = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        if (!c) {
            label[i] = 0;
            continue;
        }
        if (c == 0xE0E0C0u) {
            label[i] = MASK_IGNORE;
            continue;
        }
        uint32_t s = (c * 2654435761u) >> 22; /* top 10 bits */
        while (key[s] != 0xFFFFFFFFu && key[s] != c) s = (s + 1) & (SLOTS - 1);
        if (key[s] != c) {
            if (next > 254) return NULL;
            key[s] = c;
            id[s] = (uint8_t)next++;
        }
        label[i] = id[s];
    }
    return "colours (black = background, (224,224,192) = ignore, each other colour an object)";
}

int mask_decode(const unsigned char *buf, size_t n, mask_image *out, char *err, size_t cap) {
    memset(out, 0, sizeof *out);
    if (!buf || !n) return errbuf_fail(err, cap, "empty file");
    unsigned char pal[256][3];
    int n_pal, w = 0, h = 0;
    uint8_t *label = NULL;
    const char *enc = NULL;
    int pr = png_palette(buf, n, &label, &w, &h, pal, &n_pal, err, cap);
    if (pr < 0) return -1;
    size_t np = (size_t)w * (size_t)h;
    if (pr == 1) {
        int gray = 1;
        uint8_t used[256] = {0};
        for (size_t i = 0; i < np; i++) used[label[i]] = 1;
        for (int k = 0; k < 256 && gray; k++)
            if (used[k]) gray = k < n_pal && pal[k][0] == k && pal[k][1] == k && pal[k][2] == k;
        enc = gray ? gray_to_labels(label, np)
                   : "palette indices (0 = background, 255 = ignore, other indices = objects)";
    } else {
        int comp;
        if (n > INT_MAX || !stbi_info_from_memory(buf, (int)n, &w, &h, &comp))
            return errbuf_fail(err, cap, "not an image stb_image can read: %s",
                               stbi_failure_reason());
        if (!size_ok(w, h))
            return errbuf_fail(err, cap, "size %dx%d is outside 1..%d per side", w, h, MAX_SIDE);
        np = (size_t)w * (size_t)h;
        if (stbi_is_16_bit_from_memory(buf, (int)n) && comp <= 2) {
            /* 16-bit gray: id maps store small values; scaled 8-bit files
             * store multiples of 257. */
            stbi_us *v = stbi_load_16_from_memory(buf, (int)n, &w, &h, &comp, 1);
            if (!v) return errbuf_fail(err, cap, "cannot decode: %s", stbi_failure_reason());
            int small = 1, scaled = 1;
            for (size_t i = 0; i < np; i++) {
                small &= v[i] <= 255;
                scaled &= v[i] % 257 == 0;
            }
            if (!small && !scaled) {
                stbi_image_free(v);
                return errbuf_fail(err, cap, "16-bit values above 255 (more than 254 objects?)");
            }
            label = malloc(np);
            if (label)
                for (size_t i = 0; i < np; i++) label[i] = (uint8_t)(small ? v[i] : v[i] / 257);
            stbi_image_free(v);
            if (!label) return errbuf_fail(err, cap, "out of memory for a %dx%d mask", w, h);
            enc = gray_to_labels(label, np);
        } else {
            unsigned char *px = stbi_load_from_memory(buf, (int)n, &w, &h, &comp, 0);
            if (!px) return errbuf_fail(err, cap, "cannot decode: %s", stbi_failure_reason());
            label = malloc(np);
            if (!label) {
                stbi_image_free(px);
                return errbuf_fail(err, cap, "out of memory for a %dx%d mask", w, h);
            }
            int colour = 0;
            for (size_t i = 0; comp >= 3 && i < np && !colour; i++) {
                const unsigned char *p = px + i * (size_t)comp;
                colour = p[0] != p[1] || p[1] != p[2];
            }
            if (colour && !(enc = colour_to_labels(px, comp, np, label))) {
                for (size_t i = 0; i < np; i++) {
                    const unsigned char *p = px + i * (size_t)comp;
                    unsigned char m = p[0] > p[1] ? p[0] : p[1];
                    label[i] = m > p[2] ? m : p[2];
                }
                gray_to_labels(label, np);
                enc =
                    "colour with more than 254 colours, by its brightest channel (> 128 = object, "
                    "128 = ignore)";
            } else if (!colour) {
                for (size_t i = 0; i < np; i++) label[i] = px[i * (size_t)comp];
                enc = gray_to_labels(label, np);
            }
            stbi_image_free(px);
        }
    }
    uint8_t present[256] = {0};
    for (size_t i = 0; i < np; i++) present[label[i]] = 1;
    for (int k = 1; k < 255; k++)
        if (present[k]) out->ids[out->n_objects++] = (uint8_t)k;
    for (size_t i = 0; i < np; i++) out->n_ignore += label[i] == MASK_IGNORE;
    out->w = w;
    out->h = h;
    out->label = label;
    out->encoding = enc;
    return 0;
}

int mask_read(const char *path, mask_image *out, char *err, size_t cap) {
    memset(out, 0, sizeof *out);
    FILE *f = ifp_fopen(path, "rb");
    if (!f) return errbuf_fail(err, cap, "cannot open: %s", strerror(errno));
    size_t n = 0, room = 1 << 16;
    unsigned char *buf = malloc(room);
    int rc = -1;
    while (buf) {
        n += fread(buf + n, 1, room - n, f);
        if (ferror(f)) {
            errbuf_fail(err, cap, "cannot read: %s", strerror(errno));
            goto done;
        }
        if (n < room) break;
        if (room >= MAX_FILE) {
            errbuf_fail(err, cap, "larger than %zu bytes: not a mask", MAX_FILE);
            goto done;
        }
        unsigned char *b = realloc(buf, room * 2);
        if (!b) break;
        buf = b;
        room *= 2;
    }
    if (!buf || n == room) {
        errbuf_fail(err, cap, "out of memory reading the file");
        goto done;
    }
    rc = mask_decode(buf, n, out, err, cap);
done:
    free(buf);
    fclose(f);
    return rc;
}

void mask_image_free(mask_image *m) {
    if (!m) return;
    free(m->label);
    m->label = NULL;
}
