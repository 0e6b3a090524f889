/* features.c -- the if_features object (interformer.h): an encoded image's
 * levels in one block; accessors; saving and loading through the feature
 * file's reader and writer (format/features.c), with the memory budget
 * checked before anything the size of the image is allocated. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "format/features.h"
#include "format/ifg.h"
#include "kernels/kernels.h" /* f16 -> f32 */
#include "platform/platform.h"
#include "session/session.h"

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
    if_features *f = (if_features *)rt_calloc(1, sizeof *f);
    float *block = f ? (float *)rt_aligned_alloc(64, total * sizeof(float)) : NULL;
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

if_status if_features_save(const if_features *f, const char *path, if_dtype dtype) {
    if (!f || !path) return if__fail(IF_ERR_INVALID_ARG, "if_features_save: NULL argument");
    if (dtype != IF_DTYPE_F32 && dtype != IF_DTYPE_F16)
        return if__fail(IF_ERR_INVALID_ARG, "if_features_save: dtype %d", (int)dtype);
    iff_file file = IF_ZERO_INIT;
    file.version = 2;
    file.dtype = dtype == IF_DTYPE_F16 ? IFG_F16 : IFG_F32;
    file.width = f->width;
    file.height = f->height;
    file.work_w = f->work_w;
    file.work_h = f->work_h;
    file.padded_w = f->padded_w;
    file.padded_h = f->padded_h;
    snprintf(file.identity, sizeof file.identity, "%s", f->identity);
    for (int i = 0; i < IF_LEVELS; i++) {
        file.channels[i] = f->channels[i];
        file.strides[i] = f->strides[i];
        file.lh[i] = f->lh[i];
        file.lw[i] = f->lw[i];
    }
    const uint64_t file_bytes = iff_file_bytes(&file);
    const rt_mem_part part = {"file image", file_bytes};
    size_t ecap;
    char *ebuf = if__last_error_buf(&ecap);
    if_status s = rt_mem_check(0, 0, &part, 1, ebuf, ecap, "%s: saving", path);
    if (s != IF_OK) return s;
    uint8_t *buf = (uint8_t *)rt_calloc(1, (size_t)file_bytes);
    if (!buf)
        return if__fail(IF_ERR_NO_MEMORY, "%s: %llu bytes", path, (unsigned long long)file_bytes);
    iff_encode(&file, (const float *const *)f->level, buf);
    s = iff_write_file(path, buf, (size_t)file_bytes, ebuf, ecap);
    rt_free(buf);
    return s;
}

/* ---------------------------------------------------------------- load */

/* held: bytes the caller holds for this load (if_features_load's copy of
 * the file), counted with the level block against the budget. */
static if_status load_buffer(const void *data, size_t size, uint64_t held, if_features **out) {
    *out = NULL;
    size_t ecap;
    char *ebuf = if__last_error_buf(&ecap);
    iff_file file;
    if_status st = iff_parse(data, size, &file, ebuf, ecap);
    if (st != IF_OK) return st;
    const rt_mem_part parts[] = {
        {"file image", held},
        {"levels", if__features_bytes(file.padded_h, file.padded_w, file.channels, file.strides)}};
    st = rt_mem_check(0, 0, parts, 2, ebuf, ecap, "a %dx%d feature file", file.width, file.height);
    if (st != IF_OK) return st;
    if_features *f;
    st = if__features_alloc(file.height, file.width, file.padded_h, file.padded_w, file.channels,
                            file.strides, file.identity, &f);
    if (st != IF_OK) return st;
    f->work_h = file.work_h;
    f->work_w = file.work_w;
    for (int i = 0; i < IF_LEVELS; i++) {
        const int64_t n = (int64_t)f->lh[i] * f->lw[i] * f->channels[i];
        if (file.dtype == IFG_F16)
            ifk_f16_to_f32((const uint16_t *)file.data[i], n, f->level[i]);
        else
            memcpy(f->level[i], file.data[i], (size_t)n * sizeof(float));
    }
    *out = f;
    return IF_OK;
}

if_status if_features_load_buffer(const void *data, size_t size, if_features **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_features_load_buffer: out is NULL");
    return load_buffer(data, size, 0, out);
}

if_status if__read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *n) {
    *data = NULL;
    *n = 0;
    FILE *fp = ifp_fopen(path, "rb");
    if (!fp) return if__fail(IF_ERR_IO, "%s: %s", path, strerror(errno));
    long long size = -1; /* (ftell's long is 32 bits on Windows) */
    uint64_t fsize = 0;
    if (ifp_file_size(fp, &fsize) == 0) size = (long long)fsize;
    const rt_mem_part image = {"file image", (uint64_t)size}; /* checked when size is valid */
    uint8_t *buf = NULL;
    if_status s = IF_OK;
    size_t ecap;
    char *ebuf = if__last_error_buf(&ecap);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0)
        s = if__fail(IF_ERR_IO, "%s: cannot determine size", path);
    else if ((uint64_t)size > max_bytes)
        s = if__fail(IF_ERR_BAD_COUNT, "%s: %lld bytes is over the limit of %llu", path, size,
                     (unsigned long long)max_bytes);
    else if ((s = rt_mem_check(0, 0, &image, 1, ebuf, ecap, "%s: loading", path)) != IF_OK) {
        /* refused before reading */
    } else if (!(buf = (uint8_t *)rt_malloc((size_t)size)))
        s = if__fail(IF_ERR_NO_MEMORY, "%s: %lld bytes", path, size);
    else if (size && fread(buf, 1, (size_t)size, fp) != (size_t)size)
        s = if__fail(IF_ERR_IO, "%s: read failed", path);
    fclose(fp);
    if (s != IF_OK) {
        rt_free(buf);
        return s;
    }
    *data = buf;
    *n = (size_t)size;
    return IF_OK;
}

void if__prefix_error(const char *path) {
    size_t cap;
    char *e = if__last_error_buf(&cap), tmp[RT_ERR_CAP];
    snprintf(tmp, sizeof tmp, "%s", e);
    snprintf(e, cap, "%s: %s", path, tmp);
}

if_status if_features_load(const char *path, if_features **out) {
    if (!path || !out) return if__fail(IF_ERR_INVALID_ARG, "if_features_load: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t size;
    /* the level block is checked once the header is known */
    if_status s = if__read_file(path, (uint64_t)4 << 30, &buf, &size);
    if (s != IF_OK) return s;
    s = load_buffer(buf, size, (uint64_t)size, out);
    if (s != IF_OK) if__prefix_error(path);
    rt_free(buf);
    return s;
}

/* ------------------------------------------------------------- matching */

if_status if_features_check(const if_model *dec, const if_features *f) {
    if (!dec || !f) return if__fail(IF_ERR_INVALID_ARG, "if_features_check: NULL argument");
    const if_model_info *mi = &dec->info;
    if (mi->kind != IF_MODEL_DECODER)
        return if__fail(IF_ERR_INVALID_ARG, "model '%s' is an encoder, not a decoder", mi->name);
    if (strcmp(mi->identity, f->identity))
        return if__fail(
            IF_ERR_MISMATCH, "features come from model %.16s..., the decoder is model %.16s...",
            f->identity[0] ? f->identity : "(none)", mi->identity[0] ? mi->identity : "(none)");
    for (int i = 0; i < IF_LEVELS; i++)
        if (mi->feature_channels[i] != f->channels[i] || mi->feature_strides[i] != f->strides[i])
            return if__fail(IF_ERR_MISMATCH,
                            "F%d has %d channels at stride %d, the decoder expects %d at %d", i + 1,
                            f->channels[i], f->strides[i], mi->feature_channels[i],
                            mi->feature_strides[i]);
    return IF_OK;
}
