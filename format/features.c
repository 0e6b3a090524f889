/* features.c -- the per-image feature file (format/FEATURES.md): a reader
 * that validates every field before anything uses it, the writer's layout
 * and encoding, and the atomic write of a file image. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/features.h"
#include "format/ifg.h"
#include "format/le.h"
#include "kernels/kernels.h" /* f16 <-> f32 */
#include "platform/platform.h"

#define IFF_MAGIC          "IFFEAT\0\0"
#define IFF_VERSION        2u /* 2: the working size at 48..55; readers take 1 too */
#define IFF_HEADER         64u
#define IFF_IDENT          IFF_IDENT_BYTES
#define IFF_LEVEL_REC      32u
#define IFF_ALIGN          64u
#define IFF_MAX_SIDE       32768u   /* the grid the model works on */
#define IFF_MAX_IMAGE_SIDE 1048576u /* the original image (version 2) */
#define IFF_MAX_CHANNELS   65536u

static uint64_t align64(uint64_t n) { return (n + IFF_ALIGN - 1) / IFF_ALIGN * IFF_ALIGN; }

/* ---------------------------------------------------------------- write */

/* Level offsets and sizes of FEATURES.md's layout; returns the file size. */
static uint64_t layout(const iff_file *f, uint64_t off[IFF_LEVELS], uint64_t nbytes[IFF_LEVELS]) {
    const uint64_t esize = f->dtype == IFG_F16 ? 2 : 4;
    uint64_t pos = align64(IFF_HEADER + IFF_IDENT + IFF_LEVEL_REC * IFF_LEVELS);
    for (int i = 0; i < IFF_LEVELS; i++) {
        off[i] = pos;
        nbytes[i] = (uint64_t)f->lh[i] * (uint64_t)f->lw[i] * (uint64_t)f->channels[i] * esize;
        pos = align64(pos + nbytes[i]);
    }
    return off[IFF_LEVELS - 1] + nbytes[IFF_LEVELS - 1];
}

uint64_t iff_file_bytes(const iff_file *f) {
    uint64_t off[IFF_LEVELS], nbytes[IFF_LEVELS];
    return layout(f, off, nbytes);
}

void iff_encode(const iff_file *f, const float *const level[IFF_LEVELS], uint8_t *buf) {
    uint64_t off[IFF_LEVELS], nbytes[IFF_LEVELS];
    const uint64_t file_bytes = layout(f, off, nbytes), esize = f->dtype == IFG_F16 ? 2 : 4;
    memcpy(buf, IFF_MAGIC, 8);
    fmt_wr32(buf + 8, IFF_VERSION);
    fmt_wr64(buf + 16, file_bytes);
    fmt_wr32(buf + 24, f->dtype == IFG_F16 ? 1u : 0u);
    fmt_wr32(buf + 28, IFF_LEVELS);
    fmt_wr32(buf + 32, (uint32_t)f->height);
    fmt_wr32(buf + 36, (uint32_t)f->width);
    fmt_wr32(buf + 40, (uint32_t)f->padded_h);
    fmt_wr32(buf + 44, (uint32_t)f->padded_w);
    fmt_wr32(buf + 48, (uint32_t)f->work_h);
    fmt_wr32(buf + 52, (uint32_t)f->work_w);
    const char *end = (const char *)memchr(f->identity, 0, IFF_IDENT); /* strnlen is POSIX */
    memcpy(buf + IFF_HEADER, f->identity, end ? (size_t)(end - f->identity) : IFF_IDENT);
    for (int i = 0; i < IFF_LEVELS; i++) {
        uint8_t *rec = buf + IFF_HEADER + IFF_IDENT + IFF_LEVEL_REC * (unsigned)i;
        fmt_wr32(rec, (uint32_t)f->channels[i]);
        fmt_wr32(rec + 4, (uint32_t)f->strides[i]);
        fmt_wr32(rec + 8, (uint32_t)f->lh[i]);
        fmt_wr32(rec + 12, (uint32_t)f->lw[i]);
        fmt_wr64(rec + 16, off[i]);
        fmt_wr64(rec + 24, nbytes[i]);
        const int64_t n = (int64_t)(nbytes[i] / esize);
        if (f->dtype == IFG_F16)
            ifk_f32_to_f16(level[i], n, (uint16_t *)(void *)(buf + off[i]));
        else
            memcpy(buf + off[i], level[i], (size_t)nbytes[i]); /* little-endian hosts */
    }
    fmt_wr32(buf + 12, ifg_crc32(0, buf + 16, (size_t)file_bytes - 16));
}

/* Writes n bytes to f and closes it (synced first when sync); 0, or the
 * errno of the first failure. */
static int write_close(FILE *f, const uint8_t *p, size_t n, int sync) {
    errno = 0;
    int e = fwrite(p, 1, n, f) != n ? (errno ? errno : EIO) : 0;
    if (!e && sync) e = ifp_sync(f);
    if (!e && fflush(f) != 0) e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e) e = errno ? errno : EIO;
    return e;
}

/* Atomic: a reader sees the old file or the whole new one. The data goes to
 * a temporary file next to the target, is synced (else a crash soon after
 * the rename can leave an empty file under the new name), and renamed over
 * it. A symbolic link is followed (the file it names is replaced, the link
 * stays); a target that is not a regular file (/dev/stdout, a FIFO) is
 * written in place, since renaming over it would replace the device node. */
if_status iff_write_file(const char *path, const uint8_t *buf, size_t n, char *msg, size_t cap) {
    ifp_stat_info st;
    int e;
    if (ifp_stat(path, &st) == 0 && st.kind != IFP_FILE) {
        if (st.kind == IFP_DIR) return ifg_fail(msg, cap, IF_ERR_IO, "%s: is a folder", path);
        FILE *f = ifp_fopen(path, "wb");
        if (!f) return ifg_fail(msg, cap, IF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        e = write_close(f, buf, n, 0);
        return e ? ifg_fail(msg, cap, IF_ERR_IO, "%s: write failed: %s", path, strerror(e)) : IF_OK;
    }
    char *real = ifp_realpath(path); /* NULL for a new file: path itself */
    const char *target = real ? real : path;
    size_t plen = strlen(target);
    char *tmp = (char *)ifp_malloc(plen + 16);
    if (!tmp) {
        ifp_free(real);
        return ifg_fail(msg, cap, IF_ERR_NO_MEMORY, "path");
    }
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", target);
    if_status s = IF_OK;
    /* A feature file is not private: it gets the mode of the file it
     * replaces, or a new file's. */
    FILE *f = ifp_create_temp(tmp, real, &e);
    if (!f) {
        s = ifg_fail(msg, cap, IF_ERR_IO, "%s: cannot create a temporary file: %s", path,
                     strerror(e));
    } else {
        e = write_close(f, buf, n, 1);
        if (!e) e = ifp_replace(tmp, target);
        if (e) {
            s = ifg_fail(msg, cap, IF_ERR_IO, "%s: write failed: %s", path, strerror(e));
            ifp_remove(tmp);
        }
    }
    ifp_free(tmp);
    ifp_free(real);
    return s;
}

/* ---------------------------------------------------------------- read */

if_status iff_parse(const void *data, size_t size, iff_file *out, char *msg, size_t cap) {
    memset(out, 0, sizeof *out);
    const uint8_t *b = (const uint8_t *)data;
    if (!b || size < 8)
        return ifg_fail(msg, cap, b ? IF_ERR_TRUNCATED : IF_ERR_INVALID_ARG,
                        "feature file: %zu bytes", size);
    if (memcmp(b, IFF_MAGIC, 8))
        return ifg_fail(msg, cap, IF_ERR_BAD_MAGIC, "not a feature file (magic)");
    if (size < IFF_HEADER)
        return ifg_fail(msg, cap, IF_ERR_TRUNCATED, "feature file: %zu-byte header", size);
    uint32_t version = fmt_rd32(b + 8);
    if (version != 1 && version != IFF_VERSION)
        return ifg_fail(msg, cap, IF_ERR_BAD_VERSION,
                        "feature file version %u, this build reads 1 and %u", version, IFF_VERSION);
    uint64_t file_bytes = fmt_rd64(b + 16);
    if (file_bytes > size)
        return ifg_fail(msg, cap, IF_ERR_TRUNCATED, "feature file: %zu of %llu bytes", size,
                        (unsigned long long)file_bytes);
    if (file_bytes < size)
        return ifg_fail(msg, cap, IF_ERR_BAD_OFFSET, "feature file: %zu bytes, header says %llu",
                        size, (unsigned long long)file_bytes);
    uint32_t crc = ifg_crc32(0, b + 16, size - 16);
    if (crc != fmt_rd32(b + 12))
        return ifg_fail(msg, cap, IF_ERR_CHECKSUM, "feature file: crc %08x, stored %08x", crc,
                        fmt_rd32(b + 12));
    uint32_t dtype = fmt_rd32(b + 24), nl = fmt_rd32(b + 28);
    uint32_t ih = fmt_rd32(b + 32), iw = fmt_rd32(b + 36), ph = fmt_rd32(b + 40),
             pw = fmt_rd32(b + 44);
    /* Version 1 has no working size: the encoder saw the image itself. */
    uint32_t wh = version == 1 ? ih : fmt_rd32(b + 48), ww = version == 1 ? iw : fmt_rd32(b + 52);
    uint32_t max_image = version == 1 ? IFF_MAX_SIDE : IFF_MAX_IMAGE_SIDE;
    if (dtype > 1) return ifg_fail(msg, cap, IF_ERR_BAD_DTYPE, "feature file: dtype %u", dtype);
    if (nl != IFF_LEVELS)
        return ifg_fail(msg, cap, IF_ERR_BAD_COUNT, "feature file: %u levels, expected %d", nl,
                        IFF_LEVELS);
    if (!ih || !iw || ih > max_image || iw > max_image || !wh || !ww || wh > ih || ww > iw ||
        wh > IFF_MAX_SIDE || ww > IFF_MAX_SIDE || ph < wh || pw < ww || ph > IFF_MAX_SIDE * 2 ||
        pw > IFF_MAX_SIDE * 2)
        return ifg_fail(msg, cap, IF_ERR_BAD_SHAPE,
                        "feature file: image %ux%u, working size %ux%u, padded %ux%u", iw, ih, ww,
                        wh, pw, ph);
    for (int i = version == 1 ? 16 : 24; i < 32; i++)
        if (b[32 + i])
            return ifg_fail(msg, cap, IF_ERR_BAD_GRAPH,
                            "feature file: reserved byte %d is not zero", 32 + i);
    uint64_t table_end = IFF_HEADER + IFF_IDENT + (uint64_t)IFF_LEVEL_REC * nl;
    if (size < table_end) return ifg_fail(msg, cap, IF_ERR_TRUNCATED, "feature file: level table");
    char ident[IFF_IDENT_BYTES + 1];
    memcpy(ident, b + IFF_HEADER, IFF_IDENT);
    ident[IFF_IDENT] = 0;
    int channels[IFF_LEVELS], strides[IFF_LEVELS];
    uint64_t off[IFF_LEVELS], nbytes[IFF_LEVELS], esize = dtype ? 2 : 4;
    for (uint32_t i = 0; i < nl; i++) {
        const uint8_t *rec = b + IFF_HEADER + IFF_IDENT + IFF_LEVEL_REC * i;
        uint32_t c = fmt_rd32(rec), s = fmt_rd32(rec + 4), h = fmt_rd32(rec + 8),
                 w = fmt_rd32(rec + 12);
        off[i] = fmt_rd64(rec + 16);
        nbytes[i] = fmt_rd64(rec + 24);
        if (!c || c > IFF_MAX_CHANNELS || !s || ph % s || pw % s || h != ph / s || w != pw / s)
            return ifg_fail(msg, cap, IF_ERR_BAD_SHAPE,
                            "feature file: level %u is %ux%ux%u at stride %u for a %ux%u grid", i,
                            h, w, c, s, ph, pw);
        if (nbytes[i] != (uint64_t)h * w * c * esize)
            return ifg_fail(msg, cap, IF_ERR_BAD_SHAPE,
                            "feature file: level %u holds %llu bytes, not %ux%ux%u values", i,
                            (unsigned long long)nbytes[i], h, w, c);
        if (off[i] % IFF_ALIGN || off[i] < table_end || off[i] > size || nbytes[i] > size - off[i])
            return ifg_fail(msg, cap, IF_ERR_BAD_OFFSET,
                            "feature file: level %u at %llu+%llu in a %zu-byte file", i,
                            (unsigned long long)off[i], (unsigned long long)nbytes[i], size);
        for (uint32_t j = 0; j < i; j++)
            if (off[i] < off[j] + nbytes[j] && off[j] < off[i] + nbytes[i])
                return ifg_fail(msg, cap, IF_ERR_BAD_OFFSET,
                                "feature file: levels %u and %u overlap", j, i);
        channels[i] = (int)c;
        strides[i] = (int)s;
    }
    out->version = version;
    out->dtype = dtype ? IFG_F16 : IFG_F32;
    out->width = (int)iw;
    out->height = (int)ih;
    out->work_w = (int)ww;
    out->work_h = (int)wh;
    out->padded_w = (int)pw;
    out->padded_h = (int)ph;
    memcpy(out->identity, ident, sizeof out->identity);
    for (int i = 0; i < IFF_LEVELS; i++) {
        out->channels[i] = channels[i];
        out->strides[i] = strides[i];
        out->lh[i] = (int)(ph / (uint32_t)strides[i]);
        out->lw[i] = (int)(pw / (uint32_t)strides[i]);
        out->data[i] = b + off[i];
    }
    return IF_OK;
}
