/* annotation.c -- see annotation.h and format/ANNOTATION.md. */
#include "format/annotation.h"

#include <string.h>

#include "format/ifg.h" /* ifg_crc32, ifg_fail */
#include "format/le.h"
#include "platform/platform.h"

static const char MAGIC[8] = {'I', 'F', 'A', 'N', 'N', 'O', 'T', 0};

static uint64_t record_bytes(uint64_t n_clicks, uint64_t n_runs) {
    return IFA_RECORD + 12 * n_clicks + 4 * n_runs;
}

uint64_t ifa_file_bytes(const ifa_file *f) {
    if (f->n_objects < 0 || (uint64_t)f->n_objects > IFA_MAX_ID) return 0;
    uint64_t n = IFA_HEADER;
    for (int i = 0; i < f->n_objects; i++) {
        const ifa_object *o = &f->objects[i];
        if (o->n_clicks < 0 || (uint64_t)o->n_clicks > IFA_MAX_CLICKS) return 0;
        n += record_bytes((uint64_t)o->n_clicks, o->n_runs);
    }
    return n;
}

void ifa_encode(const ifa_file *f, uint8_t *buf) {
    const uint64_t size = ifa_file_bytes(f);
    memset(buf, 0, IFA_HEADER);
    memcpy(buf, MAGIC, 8);
    fmt_wr32(buf + 8, 1);
    fmt_wr64(buf + 16, size);
    fmt_wr32(buf + 24, (uint32_t)f->width);
    fmt_wr32(buf + 28, (uint32_t)f->height);
    const char *nul = (const char *)memchr(f->identity, 0, IFF_IDENT_BYTES - 1);
    memcpy(buf + 32, f->identity, nul ? (size_t)(nul - f->identity) : IFF_IDENT_BYTES - 1);
    fmt_wr32(buf + 104, f->exclusive ? 1u : 0u);
    fmt_wr32(buf + 108, (uint32_t)f->last_id);
    fmt_wr32(buf + 112, (uint32_t)f->n_objects);
    uint8_t *p = buf + IFA_HEADER;
    for (int i = 0; i < f->n_objects; i++) {
        const ifa_object *o = &f->objects[i];
        fmt_wr32(p, (uint32_t)o->id);
        fmt_wr32(p + 4, (o->finished ? 1u : 0u) | (o->n_runs ? 2u : 0u));
        fmt_wr32(p + 8, (uint32_t)o->n_clicks);
        fmt_wr32(p + 12, o->n_runs);
        p += IFA_RECORD;
        for (int k = 0; k < o->n_clicks; k++, p += 12) {
            fmt_wr32(p, (uint32_t)o->clicks[k].x);
            fmt_wr32(p + 4, (uint32_t)o->clicks[k].y);
            fmt_wr32(p + 8, o->clicks[k].positive ? 1u : 0u);
        }
        for (uint32_t k = 0; k < o->n_runs; k++, p += 4) fmt_wr32(p, o->runs[k]);
    }
    fmt_wr32(buf + 12, ifg_crc32(0, buf + 16, (size_t)(size - 16)));
}

void ifa_release(ifa_file *f) {
    if (!f) return;
    ifp_free(f->block);
    f->block = NULL;
    f->objects = NULL;
}

/* One record at q (end: the file's end): its counts checked against the
 * header and the bytes left; *next: where the next record starts. */
static if_status check_record(const uint8_t *q, const uint8_t *end, const ifa_file *f, int prev_id,
                              const uint8_t **next, char *msg, size_t cap) {
    if ((size_t)(end - q) < IFA_RECORD)
        return ifg_fail(msg, cap, IF_ERR_TRUNCATED, "object after id %d: the file ends", prev_id);
    const uint32_t id = fmt_rd32(q), flags = fmt_rd32(q + 4), n_clicks = fmt_rd32(q + 8),
                   n_runs = fmt_rd32(q + 12);
    if (id <= (uint32_t)prev_id || id > (uint32_t)f->last_id)
        return ifg_fail(msg, cap, IF_ERR_BAD_COUNT,
                        "object id %u after %d (ids grow, up to last_id %d)", id, prev_id,
                        f->last_id);
    if (flags & ~3u) return ifg_fail(msg, cap, IF_ERR_BAD_META, "object %u: flags %#x", id, flags);
    if (n_clicks > IFA_MAX_CLICKS)
        return ifg_fail(msg, cap, IF_ERR_BAD_COUNT, "object %u: %u clicks", id, n_clicks);
    const uint64_t pixels = (uint64_t)f->width * (uint64_t)f->height;
    if ((flags & 2u) ? (n_runs < 1 || n_runs > pixels + 1) : n_runs != 0)
        return ifg_fail(msg, cap, IF_ERR_BAD_COUNT, "object %u: %u runs for %s", id, n_runs,
                        (flags & 2u) ? "a mask" : "no mask");
    const uint64_t bytes = record_bytes(n_clicks, n_runs);
    if (bytes > (uint64_t)(end - q))
        return ifg_fail(msg, cap, IF_ERR_TRUNCATED, "object %u: %llu bytes, %llu left", id,
                        (unsigned long long)bytes, (unsigned long long)(end - q));
    const uint8_t *p = q + IFA_RECORD;
    for (uint32_t k = 0; k < n_clicks; k++, p += 12) {
        const uint32_t x = fmt_rd32(p), y = fmt_rd32(p + 4), pos = fmt_rd32(p + 8);
        if (x >= (uint32_t)f->width || y >= (uint32_t)f->height || pos > 1)
            return ifg_fail(msg, cap, IF_ERR_BAD_META,
                            "object %u, click %u: (%d, %d, %u) on a %dx%d image", id, k, (int32_t)x,
                            (int32_t)y, pos, f->width, f->height);
    }
    uint64_t sum = 0;
    for (uint32_t k = 0; k < n_runs; k++, p += 4) {
        const uint32_t r = fmt_rd32(p);
        if (k > 0 && r == 0)
            return ifg_fail(msg, cap, IF_ERR_BAD_COUNT, "object %u: run %u is empty", id, k);
        sum += r;
    }
    if (n_runs && sum != pixels)
        return ifg_fail(msg, cap, IF_ERR_BAD_COUNT,
                        "object %u: the mask's runs cover %llu of %llu pixels", id,
                        (unsigned long long)sum, (unsigned long long)pixels);
    *next = q + bytes;
    return IF_OK;
}

if_status ifa_parse(const void *data, size_t size, ifa_file *out, char *msg, size_t cap) {
    memset(out, 0, sizeof *out);
    const uint8_t *buf = (const uint8_t *)data, *end = buf + size;
    if (!buf || size < IFA_HEADER)
        return ifg_fail(msg, cap, IF_ERR_TRUNCATED, "%zu bytes: not even a header", size);
    if (memcmp(buf, MAGIC, 8))
        return ifg_fail(msg, cap, IF_ERR_BAD_MAGIC, "not an annotation file");
    if (fmt_rd32(buf + 8) != 1)
        return ifg_fail(msg, cap, IF_ERR_BAD_VERSION, "version %u (this build reads 1)",
                        fmt_rd32(buf + 8));
    if (fmt_rd64(buf + 16) != size)
        return ifg_fail(msg, cap, IF_ERR_TRUNCATED, "the header says %llu bytes, the file has %zu",
                        (unsigned long long)fmt_rd64(buf + 16), size);
    if (fmt_rd32(buf + 12) != ifg_crc32(0, buf + 16, size - 16))
        return ifg_fail(msg, cap, IF_ERR_CHECKSUM, "the CRC does not match the contents");
    const uint32_t w = fmt_rd32(buf + 24), h = fmt_rd32(buf + 28), flags = fmt_rd32(buf + 104),
                   last_id = fmt_rd32(buf + 108), n_obj = fmt_rd32(buf + 112);
    if (w < 1 || h < 1 || w > IFA_MAX_SIDE || h > IFA_MAX_SIDE ||
        (uint64_t)w * h > UINT32_MAX) /* runs are u32 */
        return ifg_fail(msg, cap, IF_ERR_BAD_SHAPE, "image %ux%u", w, h);
    if (!memchr(buf + 32, 0, IFF_IDENT_BYTES))
        return ifg_fail(msg, cap, IF_ERR_BAD_META, "the identity has no terminating NUL");
    if (flags & ~1u) return ifg_fail(msg, cap, IF_ERR_BAD_META, "flags %#x", flags);
    if (last_id > IFA_MAX_ID || n_obj > last_id || fmt_rd32(buf + 116))
        return ifg_fail(msg, cap, IF_ERR_BAD_COUNT, "%u objects, last id %u, reserved %u", n_obj,
                        last_id, fmt_rd32(buf + 116));
    out->width = (int)w;
    out->height = (int)h;
    memcpy(out->identity, buf + 32, IFF_IDENT_BYTES);
    out->exclusive = (int)(flags & 1u);
    out->last_id = (int)last_id;
    out->n_objects = (int)n_obj;
    /* Every record checked, the space for their contents counted... */
    uint64_t n_clicks = 0, n_runs = 0;
    const uint8_t *q = buf + IFA_HEADER;
    int prev = 0;
    for (uint32_t i = 0; i < n_obj; i++) {
        const uint8_t *next = NULL;
        if_status s = check_record(q, end, out, prev, &next, msg, cap);
        if (s != IF_OK) return s;
        prev = (int)fmt_rd32(q);
        n_clicks += fmt_rd32(q + 8);
        n_runs += fmt_rd32(q + 12);
        q = next;
    }
    if (q != end)
        return ifg_fail(msg, cap, IF_ERR_BAD_OFFSET, "%zu bytes after the last object",
                        (size_t)(end - q));
    /* ... then copied out in one block. */
    const uint64_t bytes = (uint64_t)n_obj * sizeof(ifa_object) + n_clicks * sizeof(if_click) +
                           n_runs * sizeof(uint32_t);
    if (bytes > SIZE_MAX || !(out->block = ifp_malloc((size_t)bytes)))
        return ifg_fail(msg, cap, IF_ERR_NO_MEMORY, "%llu bytes for %u objects",
                        (unsigned long long)bytes, n_obj);
    ifa_object *obj = (ifa_object *)out->block;
    if_click *clicks = (if_click *)(obj + n_obj);
    uint32_t *runs = (uint32_t *)(clicks + n_clicks);
    q = buf + IFA_HEADER;
    for (uint32_t i = 0; i < n_obj; i++) {
        ifa_object *o = &obj[i];
        o->id = (int)fmt_rd32(q);
        o->finished = (int)(fmt_rd32(q + 4) & 1u);
        o->n_clicks = (int)fmt_rd32(q + 8);
        o->n_runs = fmt_rd32(q + 12);
        o->clicks = clicks;
        o->runs = runs;
        q += IFA_RECORD;
        for (int k = 0; k < o->n_clicks; k++, q += 12)
            *clicks++ = (if_click){(int)fmt_rd32(q), (int)fmt_rd32(q + 4), (int)fmt_rd32(q + 8)};
        for (uint32_t k = 0; k < o->n_runs; k++, q += 4) *runs++ = fmt_rd32(q);
    }
    out->objects = obj;
    return IF_OK;
}
