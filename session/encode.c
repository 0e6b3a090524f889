/* encode.c -- an image to features (interformer.h: if_encode): the working
 * size, the resize to it, the encoder run, the features object. */
#include <stdio.h>
#include <string.h>

#include "session/session.h"
#include "session/workres.h"

if_encode_options if_default_encode_options(void) {
    if_encode_options o;
    memset(&o, 0, sizeof o);
    return o;
}

if_status if_working_size(int width, int height, int max_side, int *work_w, int *work_h) {
    if (!work_w || !work_h || width < 1 || height < 1 || max_side < 0)
        return if__fail(IF_ERR_INVALID_ARG, "if_working_size: %dx%d, max_side %d", width, height,
                        max_side);
    rt_work_size(width, height, max_side, work_w, work_h);
    return IF_OK;
}

if_status if_encode_rgb8(const if_model *enc, const uint8_t *rgb, int width, int height,
                         size_t stride, if_features **out) {
    return if_encode(enc, rgb, width, height, stride, NULL, out);
}

if_status if_encode(const if_model *enc, const uint8_t *rgb, int width, int height, size_t stride,
                    const if_encode_options *opt, if_features **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_encode: out is NULL");
    *out = NULL;
    if (!enc || !rgb) return if__fail(IF_ERR_INVALID_ARG, "if_encode: NULL argument");
    if (enc->info.kind != IF_MODEL_ENCODER)
        return if__fail(IF_ERR_INVALID_ARG, "if_encode: model '%s' is a decoder", enc->info.name);
    const if_encode_options o = opt ? *opt : if_default_encode_options();
    if (o.max_side < 0) return if__fail(IF_ERR_INVALID_ARG, "if_encode: max_side %d", o.max_side);
    if (width < 1 || height < 1 || width > (1 << 20) || height > (1 << 20))
        return if__fail(IF_ERR_INVALID_ARG, "image size %dx%d is outside 1..1048576", width,
                        height);
    int ww, wh, ph, pw;
    rt_work_size(width, height, o.max_side, &ww, &wh);
    const int resized = ww != width || wh != height;
    if_status s = if_padded_size(enc, wh, ww, &ph, &pw);
    if (s != IF_OK) return s;
    if (stride < (size_t)width * 3)
        return if__fail(IF_ERR_INVALID_ARG, "image %dx%d with stride %zu", width, height, stride);
    /* The run is planned first and the whole call (input, arena, features)
     * checked against the budget before any of it is allocated or a pixel
     * read. */
    const uint64_t input_bytes = (uint64_t)ph * (uint64_t)pw * 3 * sizeof(float);
    const uint64_t work_bytes =
        resized ? (uint64_t)ww * (uint64_t)wh * 3 + rt_area_resize_scratch(width, height, ww, wh)
                : 0;
    const rt_mem_part extra[] = {
        {"input", input_bytes},
        {"features",
         if__features_bytes(ph, pw, enc->info.feature_channels, enc->info.feature_strides)},
        {"resized image", work_bytes},
    };
    char what[96];
    if (resized)
        snprintf(what, sizeof what, "encoding a %dx%d image at %dx%d", width, height, ww, wh);
    else
        snprintf(what, sizeof what, "encoding a %dx%d image", width, height);
    if_run *run = NULL;
    if_features *f = NULL;
    uint8_t *work = NULL;
    void *scratch = NULL;
    float *input = NULL;
    if ((s = if__run_new(enc, ph, pw, extra, 3, what, &run)) != IF_OK) return s;
    if (resized) {
        work = (uint8_t *)rt_malloc((size_t)ww * wh * 3);
        scratch = rt_malloc(rt_area_resize_scratch(width, height, ww, wh));
        if (!work || !scratch) {
            s = if__fail(IF_ERR_NO_MEMORY, "resizing %dx%d to %dx%d", width, height, ww, wh);
            goto done;
        }
        rt_area_resize_rgb8(rgb, width, height, stride, work, ww, wh, scratch);
        rt_free(scratch);
        scratch = NULL;
    }
    input = (float *)rt_aligned_alloc(64, (size_t)input_bytes);
    if (!input) {
        s = if__fail(IF_ERR_NO_MEMORY, "encoder input %dx%d", pw, ph);
        goto done;
    }
    if ((s = if_preprocess_rgb8(enc, resized ? work : rgb, ww, wh,
                                resized ? (size_t)ww * 3 : stride, input, ph, pw)) != IF_OK)
        goto done;
    rt_free(work);
    work = NULL;
    run->exec->progress = o.progress;
    run->exec->progress_user = o.user;
    s = if_run_set_input(run, "image", input, (size_t)input_bytes);
    if (s == IF_OK) s = if_run_image(run);
    if (s != IF_OK) {
        if__fail(s, "encoder: %s", if_run_error(run));
        goto done;
    }
    /* The metadata's sizes are claims: the outputs must agree with them
     * before the features are allocated by them. */
    const float *level[IF_LEVELS];
    for (int i = 0; i < IF_LEVELS; i++) {
        char name[3] = {'F', (char)('1' + i), 0};
        int64_t dims[4];
        int rank, st = enc->info.feature_strides[i];
        if ((s = if_run_output(run, name, &level[i], dims, &rank)) != IF_OK) goto done;
        if (rank != 3 || st < 1 || dims[0] != ph / st || dims[1] != pw / st ||
            dims[2] != enc->info.feature_channels[i]) {
            s = if__fail(
                IF_ERR_BAD_META,
                "encoder output %s is %lldx%lldx%lld, metadata says stride %d, %d channels", name,
                (long long)dims[0], (long long)dims[1], (long long)dims[2], st,
                enc->info.feature_channels[i]);
            goto done;
        }
    }
    s = if__features_alloc(height, width, ph, pw, enc->info.feature_channels,
                           enc->info.feature_strides, enc->info.identity, &f);
    if (s == IF_OK) {
        f->work_w = ww;
        f->work_h = wh;
    }
    for (int i = 0; s == IF_OK && i < IF_LEVELS; i++) /* shapes checked above */
        memcpy(f->level[i], level[i], (size_t)f->lh[i] * f->lw[i] * f->channels[i] * sizeof(float));
    if (s == IF_OK) {
        *out = f;
        f = NULL;
    }
done:
    if_features_free(f);
    if_run_free(run);
    rt_aligned_free(input);
    rt_free(work);
    rt_free(scratch);
    return s;
}
