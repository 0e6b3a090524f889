/* rle.c -- COCO run-length encoding (interformer.h, "Outputs"): a mask's
 * counts (column-major runs, starting with 0s), the compressed string of
 * COCO files and pycocotools, and back. Written from the format's
 * description; every count and length is checked, the decoders trust
 * nothing they read. Nothing here allocates. */
#include "output/output.h"

/* A value's groups: 5 bits each, least significant first. */
enum { GROUP_BITS = 5, MAX_GROUPS = 7 /* 35 bits: every difference of two 32-bit counts */ };

if_status if_mask_rle(const uint8_t *mask, int width, int height, size_t stride, uint32_t *counts,
                      size_t cap, size_t *n) {
    if (!n) return if__fail(IF_ERR_INVALID_ARG, "if_mask_rle: NULL n");
    *n = 0;
    if_status s = ifo_check_mask("if_mask_rle", mask, width, height, stride, INT32_MAX, 1);
    if (s != IF_OK) return s;
    if (!counts && cap)
        return if__fail(IF_ERR_INVALID_ARG, "if_mask_rle: NULL counts, cap %zu", cap);
    /* k <= width * height + 1 <= 2^32: counted in 64 bits. */
    uint64_t k = 0;
    uint32_t run = 0;
    int cur = 0;
    for (int x = 0; x < width; x++) {
        const uint8_t *col = mask + x;
        for (int y = 0; y < height; y++, col += stride) {
            int v = *col != 0;
            if (v != cur) {
                if (k < cap) counts[k] = run;
                k++;
                run = 0;
                cur = v;
            }
            run++;
        }
    }
    if (k < cap) counts[k] = run;
    k++;
    if ((uint64_t)(size_t)k != k) /* a 32-bit size_t */
        return if__fail(IF_ERR_INVALID_ARG, "if_mask_rle: %llu counts", (unsigned long long)k);
    *n = (size_t)k;
    if (k > cap && counts)
        return if__fail(IF_ERR_INVALID_ARG, "if_mask_rle: %zu counts do not fit in %zu", *n, cap);
    return IF_OK;
}

/* Writes x's groups at dst (when not NULL); returns how many. The last
 * group is the first after which the rest of x is all sign: 0 when that
 * group's bit 4 is clear, all ones (-1) when it is set. */
static size_t put_value(int64_t x, char *dst) {
    int neg = x < 0;
    uint64_t u = (uint64_t)x; /* two's complement, shifted with the sign below */
    size_t k = 0;
    for (;;) {
        unsigned c = (unsigned)(u & 0x1f);
        u = neg ? (u >> GROUP_BITS) | ~(UINT64_MAX >> GROUP_BITS) : u >> GROUP_BITS;
        int more = (c & 0x10) ? u != UINT64_MAX : u != 0;
        if (more) c |= 0x20;
        if (dst) dst[k] = (char)(c + 48);
        k++;
        if (!more) return k;
    }
}

/* The value stored for count i: counts from index 3 on are stored as the
 * difference with the count two before (pycocotools' rule, index > 2). */
static int64_t stored_value(const uint32_t *counts, size_t i) {
    return (int64_t)counts[i] - (i > 2 ? (int64_t)counts[i - 2] : 0);
}

if_status if_rle_encode_string(const uint32_t *counts, size_t n, char *dst, size_t cap,
                               size_t *len) {
    if (!len) return if__fail(IF_ERR_INVALID_ARG, "if_rle_encode_string: NULL len");
    *len = 0;
    if (!counts && n) return if__fail(IF_ERR_INVALID_ARG, "if_rle_encode_string: NULL counts");
    if (!dst && cap)
        return if__fail(IF_ERR_INVALID_ARG, "if_rle_encode_string: NULL dst, cap %zu", cap);
    /* At most MAX_GROUPS characters per count: the length in 64 bits. */
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += put_value(stored_value(counts, i), NULL);
    if (total >= SIZE_MAX)
        return if__fail(IF_ERR_INVALID_ARG, "if_rle_encode_string: %zu counts are too many", n);
    *len = (size_t)total;
    if (!dst) return IF_OK;
    if (cap <= total)
        return if__fail(IF_ERR_INVALID_ARG,
                        "if_rle_encode_string: %zu characters and a NUL do not fit in %zu", *len,
                        cap);
    size_t p = 0;
    for (size_t i = 0; i < n; i++) p += put_value(stored_value(counts, i), dst + p);
    dst[p] = 0;
    return IF_OK;
}

if_status if_rle_decode_string(const char *s, size_t len, uint32_t *counts, size_t cap, size_t *n) {
    if (!n) return if__fail(IF_ERR_INVALID_ARG, "if_rle_decode_string: NULL n");
    *n = 0;
    if (!s && len) return if__fail(IF_ERR_INVALID_ARG, "if_rle_decode_string: NULL string");
    if (!counts && cap)
        return if__fail(IF_ERR_INVALID_ARG, "if_rle_decode_string: NULL counts, cap %zu", cap);
    /* The two counts before the current one (for the differences), kept
     * here so that a size query checks the values as well. */
    uint32_t prev2 = 0, prev1 = 0;
    size_t m = 0, start = 0;
    uint64_t u = 0;
    int k = 0;
    for (size_t p = 0; p < len; p++) {
        unsigned char ch = (unsigned char)s[p];
        if (ch < 48 || ch > 48 + 63)
            return if__fail(
                IF_ERR_BAD_COUNT,
                "COCO RLE string: character 0x%02x at offset %zu is not one of '0'..'o'", ch, p);
        unsigned c = ch - 48u;
        if (k == 0) start = p;
        if (k == MAX_GROUPS)
            return if__fail(IF_ERR_BAD_COUNT,
                            "COCO RLE string: count %zu (offset %zu) has more than %d groups", m,
                            start, MAX_GROUPS);
        u |= (uint64_t)(c & 0x1f) << (GROUP_BITS * k);
        k++;
        if (c & 0x20) continue;
        /* The last group: its bit 4 is the sign. u < 2^35, so both fit. */
        int64_t x = (int64_t)u - ((c & 0x10) ? (int64_t)1 << (GROUP_BITS * k) : 0);
        if (m > 2) x += prev2;
        if (x < 0 || x > (int64_t)UINT32_MAX)
            return if__fail(IF_ERR_BAD_COUNT,
                            "COCO RLE string: count %zu (offset %zu) is %lld, outside 0..2^32-1", m,
                            start, (long long)x);
        if (m < cap) counts[m] = (uint32_t)x;
        prev2 = prev1;
        prev1 = (uint32_t)x;
        m++;
        u = 0;
        k = 0;
    }
    if (k)
        return if__fail(IF_ERR_BAD_COUNT,
                        "COCO RLE string: ends inside count %zu (offset %zu: its last character "
                        "says more follow)",
                        m, start);
    *n = m;
    if (m > cap && counts)
        return if__fail(IF_ERR_INVALID_ARG, "if_rle_decode_string: %zu counts do not fit in %zu", m,
                        cap);
    return IF_OK;
}

if_status if_rle_to_mask(const uint32_t *counts, size_t n, int width, int height, uint8_t *mask,
                         size_t stride) {
    if_status s = ifo_check_mask("if_rle_to_mask", mask, width, height, stride, INT32_MAX, 1);
    if (s != IF_OK) return s;
    if (!counts && n) return if__fail(IF_ERR_INVALID_ARG, "if_rle_to_mask: NULL counts");
    /* Checked before anything is written: the sum, stopping as soon as it
     * passes the pixels (so it stays under 2^33). */
    uint64_t total = (uint64_t)width * (uint64_t)height, sum = 0;
    for (size_t i = 0; i < n && sum <= total; i++) sum += counts[i];
    if (sum != total)
        return if__fail(IF_ERR_BAD_COUNT,
                        "COCO RLE: %zu counts sum to %s%llu, not %dx%d = %llu pixels", n,
                        sum > total ? "over " : "", (unsigned long long)sum, width, height,
                        (unsigned long long)total);
    int x = 0, y = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)(i & 1);
        for (uint32_t j = 0; j < counts[i]; j++) {
            mask[(size_t)y * stride + (size_t)x] = v;
            if (++y == height) {
                y = 0;
                x++;
            }
        }
    }
    return IF_OK;
}
