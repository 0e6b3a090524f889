/* fuzz_ifg.c -- libFuzzer harness: the graph file reader, then planning,
 * running and using whatever it accepts.
 *
 * Each input is loaded as it is (the header, size and CRC checks) and, when
 * different, with its size and CRC made consistent (fuzz_util.h), so that
 * mutations reach the record checks. A graph that loads is planned for a
 * small image, every input is bound to zeros of its size, and the
 * per-image and per-click parts are run; outputs are read in full. Then the
 * graph goes through the API that trusts its metadata: an encoder encodes a
 * small image (if_encode_rgb8); a decoder gets features made to its
 * metadata (a feature file built here, loaded with if_features_load_buffer)
 * and a session that clicks, undoes and reads the probability. Any status
 * is fine; a crash, a sanitizer report, a leak or a hang is not.
 *
 * The harness reads the graph's input table and planned shapes through the
 * library's internal headers: the public API binds inputs by name and size
 * but cannot list them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "interformer.h"
#include "runtime/api.h"

/* Budget of one run (arena plus the inputs the harness allocates): a small
 * file can describe a graph that needs gigabytes at any image size, a
 * legal request the library would make of malloc; those are planned, not
 * run. */
#define RUN_BUDGET ((uint64_t)16 << 20)

/* Bytes of graph input i at the planned size. */
static uint64_t input_bytes(const ifg_graph *g, const rt_plan *p, uint32_t i) {
    uint32_t t = g->inputs[i].tensor;
    return (uint64_t)rt_shape_elems(&p->shape[t]) * ifg_dtype_size(g->tensors[t].dtype);
}

static void tensor_name(const ifg_graph *g, uint32_t t, char *dst, size_t cap) {
    size_t n = g->tensors[t].name_len < cap - 1 ? g->tensors[t].name_len : cap - 1;
    memcpy(dst, g->tensors[t].name, n);
    dst[n] = 0;
}

/* Binds every input (zeros; an optional one absent, zero or the whole
 * image as `mode` says), runs, reads the outputs. */
static void run_graph(const if_model *m, const rt_plan *p, int mode) {
    const ifg_graph *g = &m->rt->g;
    if_run *r = NULL;
    void *buf[IFG_MAX_IO] = {0};
    if (if_run_new(m, p->H, p->W, &r) != IF_OK) return;
    int per_click = 0;
    char name[IFG_MAX_STRING + 1];
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        uint32_t t = g->inputs[i].tensor;
        size_t bytes = (size_t)input_bytes(g, p, i);
        per_click |= g->inputs[i].flags & IFG_IN_PER_CLICK;
        tensor_name(g, t, name, sizeof name);
        if ((g->inputs[i].flags & IFG_IN_OPTIONAL) && mode == 0) {
            if_run_set_input(r, name, NULL, 0);
            continue;
        }
        buf[i] = calloc(1, bytes ? bytes : 1);
        if (!buf[i]) goto done;
        if ((g->inputs[i].flags & IFG_IN_OPTIONAL) && mode == 2 && bytes == 16 &&
            g->tensors[t].dtype == IFG_I32) {
            int32_t roi[4] = {0, 0, p->W, p->H}; /* the whole image: a valid ROI */
            memcpy(buf[i], roi, sizeof roi);
        }
        if_run_set_input(r, name, buf[i], bytes);
    }
    if (if_run_image(r) != IF_OK) goto done;
    if (per_click && if_run_click(r) != IF_OK) goto done;
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        const float *out;
        int64_t dims[4];
        int rank;
        tensor_name(g, g->outputs[i], name, sizeof name);
        if (if_run_output(r, name, &out, dims, &rank) != IF_OK) continue;
        size_t n = 1;
        for (int k = 0; k < rank; k++) n *= (size_t)dims[k];
        fuzz_touch(out, n * sizeof *out);
    }
done:
    for (uint32_t i = 0; i < g->n_inputs; i++) free(buf[i]);
    if_run_free(r);
}

/* The test image: 45x30, padded to the model's multiple. */
enum { IMG_W = 45, IMG_H = 30 };

static void encode(const if_model *m) {
    static uint8_t rgb[IMG_H * IMG_W * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 7);
    if_features *f = NULL;
    if (if_encode_rgb8(m, rgb, IMG_W, IMG_H, IMG_W * 3, &f) == IF_OK) {
        for (int l = 0; l < 4; l++) {
            int h, w, c;
            const float *v = if_features_level(f, l, &h, &w, &c);
            if (v) fuzz_touch(v, (size_t)h * w * c * sizeof *v);
        }
    }
    if_features_free(f);
}

/* A feature file (format/FEATURES.md) of zeros for the decoder's
 * metadata at padded size H x W; NULL when the metadata cannot describe
 * one or it is over the budget. *n: its size. */
static uint8_t *features_file(const if_model_info *info, int H, int W, size_t *n) {
    uint64_t at = 320, off[4], nbytes[4];
    for (int l = 0; l < 4; l++) {
        int c = info->feature_channels[l], st = info->feature_strides[l];
        if (c < 1 || c > 65536 || st < 1 || H % st || W % st) return NULL;
        off[l] = at;
        nbytes[l] = (uint64_t)(H / st) * (uint64_t)(W / st) * (uint64_t)c * 4;
        at += (nbytes[l] + 63) / 64 * 64;
        if (at > RUN_BUDGET) return NULL;
    }
    uint8_t *b = calloc(1, (size_t)at);
    if (!b) return NULL;
    memcpy(b, "IFFEAT\0\0", 8);
    fuzz_wr32(b + 8, 1);
    fuzz_wr32(b + 28, 4);
    fuzz_wr32(b + 32, IMG_H);
    fuzz_wr32(b + 36, IMG_W);
    fuzz_wr32(b + 40, (uint32_t)H);
    fuzz_wr32(b + 44, (uint32_t)W);
    memcpy(b + 64, info->identity, strnlen(info->identity, sizeof info->identity));
    for (int l = 0; l < 4; l++) {
        uint8_t *e = b + 136 + 32 * l;
        int st = info->feature_strides[l];
        fuzz_wr32(e, (uint32_t)info->feature_channels[l]);
        fuzz_wr32(e + 4, (uint32_t)st);
        fuzz_wr32(e + 8, (uint32_t)(H / st));
        fuzz_wr32(e + 12, (uint32_t)(W / st));
        fuzz_wr64(e + 16, off[l]);
        fuzz_wr64(e + 24, nbytes[l]);
    }
    fuzz_wr64(b + 16, at);
    fuzz_wr32(b + 12, ifg_crc32(0, b + 16, (size_t)at - 16));
    *n = (size_t)at;
    return b;
}

static void session(const if_model *m, const if_model_info *info, int H, int W) {
    size_t n;
    uint8_t *file = features_file(info, H, W, &n);
    if (!file) return;
    if_features *f = NULL;
    if_session *s = NULL;
    if (if_features_load_buffer(file, n, &f) == IF_OK && if_session_new(m, f, &s) == IF_OK) {
        /* Two clicks (zoom-in decoders start their ROI at a later click),
         * an undo, the read-outs. */
        if (if_session_add_click(s, (if_click){IMG_W / 2, IMG_H / 2, 1}) == IF_OK &&
            if_session_add_click(s, (if_click){0, IMG_H - 1, 0}) == IF_OK) {
            static float prob[IMG_H * IMG_W];
            if_session_probability(s, prob);
            int ph, pw;
            const float *lg = if_session_logits(s, &ph, &pw);
            if (lg) fuzz_touch(lg, (size_t)ph * pw * 2 * sizeof *lg);
            if_session_undo(s);
        }
        fuzz_touch(if_session_mask(s), IMG_H * IMG_W);
    }
    if_session_free(s);
    if_features_free(f);
    free(file);
}

static void try_graph(const uint8_t *data, size_t size, int variant) {
    if_options opt = if_default_options();
    /* Half the inputs on the portable kernels, half on the best this CPU
     * has: they index memory differently. */
    opt.isa = variant & 1 ? "scalar" : NULL;
    opt.max_clicks = 2;
    if_model *m = NULL;
    if (if_model_load_buffer(data, size, 1, &opt, &m) != IF_OK) return;
    if_model_info info;
    if_model_get_info(m, &info);
    /* Small and not square, so that H and W are not interchangeable. */
    int H, W;
    if (if_padded_size(m, IMG_H, IMG_W, &H, &W) == IF_OK && H <= 64 && W <= 64) {
        rt_plan *p = NULL;
        char err[RT_ERR_CAP];
        if (rt_plan_new(m->rt, H, W, 1, &p, err, sizeof err) == IF_OK) {
            uint64_t need = p->arena_bytes;
            for (uint32_t i = 0; i < m->rt->g.n_inputs; i++) need += input_bytes(&m->rt->g, p, i);
            if (need <= RUN_BUDGET) {
                run_graph(m, p, variant % 3);
                if (info.kind == IF_MODEL_ENCODER)
                    encode(m);
                else
                    session(m, &info, H, W);
            }
        }
        rt_plan_free(p);
    }
    if_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int variant = size ? data[size - 1] : 0;
    try_graph(data, size, variant);
    uint8_t *fixed = fuzz_fix_crc(data, size);
    if (fixed) {
        try_graph(fixed, size, variant);
        free(fixed);
    }
    return 0;
}
