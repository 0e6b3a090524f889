/* features.c -- per-image feature objects and their file format
 * (format/FEATURES.md): allocation, accessors, save (atomic) and a load that
 * validates every field before using it. */
/* realpath: an XSI function in glibc's headers. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kernels/kernels.h"
#include "../runtime/api.h"
#include "ifg.h"

#define IFF_MAGIC          "IFFEAT\0\0"
#define IFF_VERSION        2u /* 2: the working size at 48..55; readers take 1 too */
#define IFF_HEADER         64u
#define IFF_IDENT          72u
#define IFF_LEVEL_REC      32u
#define IFF_ALIGN          64u
#define IFF_MAX_SIDE       32768u   /* the grid the model works on */
#define IFF_MAX_IMAGE_SIDE 1048576u /* the original image (version 2) */
#define IFF_MAX_CHANNELS   65536u

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v) {
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}
static uint64_t align64(uint64_t n) { return (n + IFF_ALIGN - 1) / IFF_ALIGN * IFF_ALIGN; }

/* ------------------------------------------------------------- objects */

uint64_t if__features_bytes(int padded_h, int padded_w, const int channels[IF_LEVELS],
                            const int strides[IF_LEVELS]) {
    uint64_t total = 0;
    for (int i = 0; i < IF_LEVELS; i++)
        if (strides[i] > 0 && channels[i] > 0)
            total += (uint64_t)(padded_h / strides[i]) * (uint64_t)(padded_w / strides[i]) *
                     (uint64_t)channels[i] * sizeof(float);
    return total;
}

if_status if__features_alloc(int height, int width, int padded_h, int padded_w,
                             const int channels[IF_LEVELS], const int strides[IF_LEVELS],
                             const char *identity, if_features **out) {
    *out = NULL;
    size_t total = 0;
    for (int i = 0; i < IF_LEVELS; i++) {
        if (strides[i] < 1 || padded_h % strides[i] || padded_w % strides[i] || channels[i] < 1)
            return if__fail(IF_ERR_BAD_SHAPE,
                            "level %d: stride %d and %d channels do not fit %dx%d", i, strides[i],
                            channels[i], padded_w, padded_h);
        total +=
            (size_t)(padded_h / strides[i]) * (size_t)(padded_w / strides[i]) * (size_t)channels[i];
    }
    if_features *f = rt_calloc(1, sizeof *f);
    float *block = f ? rt_aligned_alloc(64, total * sizeof(float)) : NULL;
    if (!block) {
        rt_free(f);
        return if__fail(IF_ERR_NO_MEMORY, "features: %zu floats", total);
    }
    f->width = width;
    f->height = height;
    f->work_w = width; /* native resolution unless the caller says otherwise */
    f->work_h = height;
    f->padded_w = padded_w;
    f->padded_h = padded_h;
    f->block = block;
    snprintf(f->identity, sizeof f->identity, "%s", identity ? identity : "");
    for (int i = 0; i < IF_LEVELS; i++) {
        f->channels[i] = channels[i];
        f->strides[i] = strides[i];
        f->lh[i] = padded_h / strides[i];
        f->lw[i] = padded_w / strides[i];
        f->level[i] = block;
        block += (size_t)f->lh[i] * (size_t)f->lw[i] * (size_t)channels[i];
    }
    *out = f;
    return IF_OK;
}

void if_features_free(if_features *f) {
    if (!f) return;
    rt_aligned_free(f->block);
    rt_free(f);
}

if_status if_features_get_info(const if_features *f, if_features_info *info) {
    if (!f || !info) return if__fail(IF_ERR_INVALID_ARG, "if_features_get_info: NULL argument");
    memset(info, 0, sizeof *info);
    info->width = f->width;
    info->height = f->height;
    info->work_w = f->work_w;
    info->work_h = f->work_h;
    info->padded_w = f->padded_w;
    info->padded_h = f->padded_h;
    info->n_levels = IF_LEVELS;
    for (int i = 0; i < IF_LEVELS; i++) {
        info->channels[i] = f->channels[i];
        info->strides[i] = f->strides[i];
    }
    memcpy(info->identity, f->identity, sizeof info->identity);
    return IF_OK;
}

const float *if_features_level(const if_features *f, int level, int *h, int *w, int *c) {
    if (!f || level < 0 || level >= IF_LEVELS) return NULL;
    if (h) *h = f->lh[level];
    if (w) *w = f->lw[level];
    if (c) *c = f->channels[level];
    return f->level[level];
}

/* ---------------------------------------------------------------- save */

/* Writes all of fd's n bytes; 0, or the errno of the failure. */
static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Atomic: a reader sees the old file or the whole new one. The data goes to
 * a temporary file next to the target, is synced (else a crash soon after
 * the rename can leave an empty file under the new name), and renamed over
 * it. A symbolic link is followed (the file it names is replaced, the link
 * stays); a target that is not a regular file (/dev/stdout, a FIFO) is
 * written in place, since renaming over it would replace the device node. */
static if_status write_whole(const char *path, const uint8_t *buf, size_t n) {
    struct stat st;
    int e;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return if__fail(IF_ERR_IO, "%s: is a folder", path);
        int fd = open(path, O_WRONLY | O_TRUNC);
        if (fd < 0) return if__fail(IF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        e = write_all(fd, buf, n);
        if (close(fd) != 0 && !e) e = errno;
        return e ? if__fail(IF_ERR_IO, "%s: write failed: %s", path, strerror(e)) : IF_OK;
    }
    char *real = realpath(path, NULL); /* NULL for a new file: path itself */
    const char *target = real ? real : path;
    size_t plen = strlen(target);
    char *tmp = rt_malloc(plen + 16);
    if (!tmp) {
        free(real);
        return if__fail(IF_ERR_NO_MEMORY, "path");
    }
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", target);
    if_status s = IF_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        s = if__fail(IF_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
    } else {
        /* mkstemp makes the file private; a feature file is not (or keeps
         * the mode of the file it replaces). */
        fchmod(fd, real ? (st.st_mode & 07777) : 0644);
        e = write_all(fd, buf, n);
        if (!e && fsync(fd) != 0) e = errno;
        if (close(fd) != 0 && !e) e = errno;
        if (!e && rename(tmp, target) != 0) e = errno;
        if (e) {
            s = if__fail(IF_ERR_IO, "%s: write failed: %s", path, strerror(e));
            unlink(tmp);
        }
    }
    rt_free(tmp);
    free(real);
    return s;
}

if_status if_features_save(const if_features *f, const char *path, if_dtype dtype) {
    if (!f || !path) return if__fail(IF_ERR_INVALID_ARG, "if_features_save: NULL argument");
    if (dtype != IF_DTYPE_F32 && dtype != IF_DTYPE_F16)
        return if__fail(IF_ERR_INVALID_ARG, "if_features_save: dtype %d", (int)dtype);
    size_t esize = dtype == IF_DTYPE_F16 ? 2 : 4;
    uint64_t off[IF_LEVELS], nbytes[IF_LEVELS];
    uint64_t pos = align64(IFF_HEADER + IFF_IDENT + IFF_LEVEL_REC * IF_LEVELS);
    for (int i = 0; i < IF_LEVELS; i++) {
        off[i] = pos;
        nbytes[i] = (uint64_t)f->lh[i] * (uint64_t)f->lw[i] * (uint64_t)f->channels[i] * esize;
        pos = align64(pos + nbytes[i]);
    }
    uint64_t file_bytes = off[IF_LEVELS - 1] + nbytes[IF_LEVELS - 1];
    const rt_mem_part part = {"file image", file_bytes};
    size_t ecap;
    char *ebuf = if__last_error_buf(&ecap);
    if_status s = rt_mem_check(0, 0, &part, 1, ebuf, ecap, "%s: saving", path);
    if (s != IF_OK) return s;
    uint8_t *buf = rt_calloc(1, (size_t)file_bytes);
    if (!buf)
        return if__fail(IF_ERR_NO_MEMORY, "%s: %llu bytes", path, (unsigned long long)file_bytes);
    memcpy(buf, IFF_MAGIC, 8);
    wr32(buf + 8, IFF_VERSION);
    wr64(buf + 16, file_bytes);
    wr32(buf + 24, (uint32_t)dtype);
    wr32(buf + 28, IF_LEVELS);
    wr32(buf + 32, (uint32_t)f->height);
    wr32(buf + 36, (uint32_t)f->width);
    wr32(buf + 48, (uint32_t)f->work_h);
    wr32(buf + 52, (uint32_t)f->work_w);
    wr32(buf + 40, (uint32_t)f->padded_h);
    wr32(buf + 44, (uint32_t)f->padded_w);
    memcpy(buf + IFF_HEADER, f->identity, strnlen(f->identity, IFF_IDENT));
    for (int i = 0; i < IF_LEVELS; i++) {
        uint8_t *rec = buf + IFF_HEADER + IFF_IDENT + IFF_LEVEL_REC * (unsigned)i;
        wr32(rec, (uint32_t)f->channels[i]);
        wr32(rec + 4, (uint32_t)f->strides[i]);
        wr32(rec + 8, (uint32_t)f->lh[i]);
        wr32(rec + 12, (uint32_t)f->lw[i]);
        wr64(rec + 16, off[i]);
        wr64(rec + 24, nbytes[i]);
        int64_t n = (int64_t)(nbytes[i] / esize);
        if (dtype == IF_DTYPE_F16)
            ifk_f32_to_f16(f->level[i], n, (uint16_t *)(void *)(buf + off[i]));
        else
            memcpy(buf + off[i], f->level[i], (size_t)nbytes[i]); /* little-endian hosts */
    }
    wr32(buf + 12, ifg_crc32(0, buf + 16, (size_t)file_bytes - 16));

    s = write_whole(path, buf, (size_t)file_bytes);
    rt_free(buf);
    return s;
}

/* ---------------------------------------------------------------- load */

/* held: bytes the caller holds for this load (if_features_load's copy of
 * the file), counted with the level block against the budget. */
static if_status load_buffer(const void *data, size_t size, uint64_t held, if_features **out) {
    *out = NULL;
    const uint8_t *b = data;
    if (!b || size < 8)
        return if__fail(b ? IF_ERR_TRUNCATED : IF_ERR_INVALID_ARG, "feature file: %zu bytes", size);
    if (memcmp(b, IFF_MAGIC, 8)) return if__fail(IF_ERR_BAD_MAGIC, "not a feature file (magic)");
    if (size < IFF_HEADER) return if__fail(IF_ERR_TRUNCATED, "feature file: %zu-byte header", size);
    uint32_t version = rd32(b + 8);
    if (version != 1 && version != IFF_VERSION)
        return if__fail(IF_ERR_BAD_VERSION, "feature file version %u, this build reads 1 and %u",
                        version, IFF_VERSION);
    uint64_t file_bytes = rd64(b + 16);
    if (file_bytes > size)
        return if__fail(IF_ERR_TRUNCATED, "feature file: %zu of %llu bytes", size,
                        (unsigned long long)file_bytes);
    if (file_bytes < size)
        return if__fail(IF_ERR_BAD_OFFSET, "feature file: %zu bytes, header says %llu", size,
                        (unsigned long long)file_bytes);
    uint32_t crc = ifg_crc32(0, b + 16, size - 16);
    if (crc != rd32(b + 12))
        return if__fail(IF_ERR_CHECKSUM, "feature file: crc %08x, stored %08x", crc, rd32(b + 12));
    uint32_t dtype = rd32(b + 24), nl = rd32(b + 28);
    uint32_t ih = rd32(b + 32), iw = rd32(b + 36), ph = rd32(b + 40), pw = rd32(b + 44);
    /* Version 1 has no working size: the encoder saw the image itself. */
    uint32_t wh = version == 1 ? ih : rd32(b + 48), ww = version == 1 ? iw : rd32(b + 52);
    uint32_t max_image = version == 1 ? IFF_MAX_SIDE : IFF_MAX_IMAGE_SIDE;
    if (dtype > 1) return if__fail(IF_ERR_BAD_DTYPE, "feature file: dtype %u", dtype);
    if (nl != IF_LEVELS)
        return if__fail(IF_ERR_BAD_COUNT, "feature file: %u levels, expected %d", nl, IF_LEVELS);
    if (!ih || !iw || ih > max_image || iw > max_image || !wh || !ww || wh > ih || ww > iw ||
        wh > IFF_MAX_SIDE || ww > IFF_MAX_SIDE || ph < wh || pw < ww || ph > IFF_MAX_SIDE * 2 ||
        pw > IFF_MAX_SIDE * 2)
        return if__fail(IF_ERR_BAD_SHAPE,
                        "feature file: image %ux%u, working size %ux%u, padded %ux%u", iw, ih, ww,
                        wh, pw, ph);
    for (int i = version == 1 ? 16 : 24; i < 32; i++)
        if (b[32 + i])
            return if__fail(IF_ERR_BAD_GRAPH, "feature file: reserved byte %d is not zero", 32 + i);
    uint64_t table_end = IFF_HEADER + IFF_IDENT + (uint64_t)IFF_LEVEL_REC * nl;
    if (size < table_end) return if__fail(IF_ERR_TRUNCATED, "feature file: level table");
    char ident[IFF_IDENT + 1];
    memcpy(ident, b + IFF_HEADER, IFF_IDENT);
    ident[IFF_IDENT] = 0;
    int channels[IF_LEVELS], strides[IF_LEVELS];
    uint64_t off[IF_LEVELS], nbytes[IF_LEVELS], esize = dtype ? 2 : 4;
    for (uint32_t i = 0; i < nl; i++) {
        const uint8_t *rec = b + IFF_HEADER + IFF_IDENT + IFF_LEVEL_REC * i;
        uint32_t c = rd32(rec), s = rd32(rec + 4), h = rd32(rec + 8), w = rd32(rec + 12);
        off[i] = rd64(rec + 16);
        nbytes[i] = rd64(rec + 24);
        if (!c || c > IFF_MAX_CHANNELS || !s || ph % s || pw % s || h != ph / s || w != pw / s)
            return if__fail(IF_ERR_BAD_SHAPE,
                            "feature file: level %u is %ux%ux%u at stride %u for a %ux%u grid", i,
                            h, w, c, s, ph, pw);
        if (nbytes[i] != (uint64_t)h * w * c * esize)
            return if__fail(IF_ERR_BAD_SHAPE,
                            "feature file: level %u holds %llu bytes, not %ux%ux%u values", i,
                            (unsigned long long)nbytes[i], h, w, c);
        if (off[i] % IFF_ALIGN || off[i] < table_end || off[i] > size || nbytes[i] > size - off[i])
            return if__fail(IF_ERR_BAD_OFFSET,
                            "feature file: level %u at %llu+%llu in a %zu-byte file", i,
                            (unsigned long long)off[i], (unsigned long long)nbytes[i], size);
        for (uint32_t j = 0; j < i; j++)
            if (off[i] < off[j] + nbytes[j] && off[j] < off[i] + nbytes[i])
                return if__fail(IF_ERR_BAD_OFFSET, "feature file: levels %u and %u overlap", j, i);
        channels[i] = (int)c;
        strides[i] = (int)s;
    }
    const rt_mem_part parts[] = {
        {"file image", held}, {"levels", if__features_bytes((int)ph, (int)pw, channels, strides)}};
    size_t ecap;
    char *ebuf = if__last_error_buf(&ecap);
    if_status st = rt_mem_check(0, 0, parts, 2, ebuf, ecap, "a %ux%u feature file", iw, ih);
    if (st != IF_OK) return st;
    if_features *f;
    st = if__features_alloc((int)ih, (int)iw, (int)ph, (int)pw, channels, strides, ident, &f);
    if (st != IF_OK) return st;
    f->work_h = (int)wh;
    f->work_w = (int)ww;
    for (int i = 0; i < IF_LEVELS; i++) {
        int64_t n = (int64_t)(nbytes[i] / esize);
        if (dtype)
            ifk_f16_to_f32((const uint16_t *)(const void *)(b + off[i]), n, f->level[i]);
        else
            memcpy(f->level[i], b + off[i], (size_t)nbytes[i]);
    }
    *out = f;
    return IF_OK;
}

if_status if_features_load_buffer(const void *data, size_t size, if_features **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_features_load_buffer: out is NULL");
    return load_buffer(data, size, 0, out);
}

if_status if_features_load(const char *path, if_features **out) {
    if (!path || !out) return if__fail(IF_ERR_INVALID_ARG, "if_features_load: NULL argument");
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return if__fail(IF_ERR_IO, "%s: %s", path, strerror(errno));
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    uint8_t *buf = NULL;
    if_status s = IF_OK;
    size_t ecap;
    char *ebuf = if__last_error_buf(&ecap);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0)
        s = if__fail(IF_ERR_IO, "%s: cannot determine size", path);
    else if ((uint64_t)size > ((uint64_t)4 << 30))
        s = if__fail(IF_ERR_BAD_COUNT, "%s: %ld bytes is over the 4 GiB limit", path, size);
    else if ((s = rt_mem_check(0, 0, &(rt_mem_part){"file image", (uint64_t)size}, 1, ebuf, ecap,
                               "%s: loading", path)) != IF_OK) {
        /* refused before reading; the level block is checked once the header is known */
    } else if (!(buf = rt_malloc((size_t)size)))
        s = if__fail(IF_ERR_NO_MEMORY, "%s: %ld bytes", path, size);
    else if (size && fread(buf, 1, (size_t)size, fp) != (size_t)size)
        s = if__fail(IF_ERR_IO, "%s: read failed", path);
    fclose(fp);
    if (s == IF_OK) {
        s = load_buffer(buf, (size_t)size, (uint64_t)size, out);
        if (s != IF_OK) {
            size_t cap;
            char *e = if__last_error_buf(&cap), tmp[RT_ERR_CAP];
            snprintf(tmp, sizeof tmp, "%s", e);
            snprintf(e, cap, "%s: %s", path, tmp);
        }
    }
    rt_free(buf);
    return s;
}
