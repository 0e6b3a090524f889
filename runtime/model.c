/* model.c -- a loaded graph file: validated tables plus weights.
 *
 * f16 weights: a file's f16 weight stays f16 in memory (in the file image,
 * m->f16[t] set) when every use of it is the weight of a LINEAR node, whose
 * kernels widen it while packing B (ifk_ops.linear_f16). f16 -> f32 is
 * exact, so the results are those of the weights widened at load, bit for
 * bit, and the memory is half: LINEAR weights are nearly all of a ViT's.
 * Every other f16 weight (convolutions, prepared once per executor from
 * f32; position tables; a weight that is also a graph output) is widened
 * at load into m->converted, as are all of them when the environment has
 * IF_F16_WIDEN=1 (to compare with, or to trade memory for the widening's
 * time in every GEMM call). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "platform/platform.h"
#include "runtime/runtime.h"

/* Files larger than this are refused before reading (a ViT-L f32 encoder is
 * about 1.2 GB). */
#define RT_MAX_FILE_BYTES ((uint64_t)8 << 30)

/* m->f16[t] = 1 for the f16 weights that stay f16 (the file comment):
 * candidates first, then every use that is not a LINEAR weight rules its
 * tensor out. */
static void mark_kept_f16(rt_model *m) {
    const ifg_graph *g = &m->g;
    const char *widen = getenv("IF_F16_WIDEN");
    if (widen && !strcmp(widen, "1")) return;
    for (uint32_t t = 0; t < g->n_tensors; t++)
        m->f16[t] = g->tensors[t].storage == IFG_CONST && g->tensors[t].dtype == IFG_F16;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] != IFG_NO_TENSOR && !(n->op == IFG_OP_LINEAR && j == 1))
                m->f16[n->in[j]] = 0;
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) m->f16[g->outputs[i]] = 0;
}

static if_status finish_load(rt_model *m, size_t mem_limit, char *err, size_t cap) {
    ifg_graph *g = &m->g;
    if_status s = ifg_parse(m->image, m->image_size, g, err, cap);
    if (s != IF_OK) return s;
    m->weights = (const void **)rt_calloc(g->n_tensors, sizeof *m->weights);
    m->f16 = (uint8_t *)rt_calloc(g->n_tensors, 1);
    if (!m->weights || !m->f16) return rt_fail(err, cap, IF_ERR_NO_MEMORY, "weight table");
    mark_kept_f16(m);
    size_t f16_elems = 0; /* those widened */
    for (uint32_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].storage == IFG_CONST && g->tensors[i].dtype == IFG_F16 && !m->f16[i])
            f16_elems += (size_t)(g->tensors[i].nbytes / 2);
    if (f16_elems) {
        /* Only the tensor table says how many f16 weights widen, so this is
         * checked once the image is in (and counted) but before the copy. */
        const rt_mem_part parts[] = {{"file image", m->image_owned ? m->image_size : 0},
                                     {"f16 -> f32 weights", (uint64_t)f16_elems * sizeof(float)}};
        s = rt_mem_check(mem_limit, 1, parts, 2, err, cap, "loading a model");
        if (s != IF_OK) return s;
        m->converted = (float *)rt_malloc(f16_elems * sizeof(float));
        if (!m->converted) return rt_fail(err, cap, IF_ERR_NO_MEMORY, "f16 weights");
        m->converted_bytes = f16_elems * sizeof(float);
    }
    size_t used = 0;
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const ifg_tensor *t = &g->tensors[i];
        if (t->storage != IFG_CONST) continue;
        if (m->f16[i]) {
            /* 64-aligned in the file: IEEE half, widened by linear_f16. */
            m->weights[i] = t->data;
        } else if (t->dtype == IFG_F16) {
            size_t n = (size_t)(t->nbytes / 2);
            ifk_f16_to_f32((const uint16_t *)t->data, (int64_t)n, m->converted + used);
            m->weights[i] = m->converted + used;
            used += n;
        } else {
            /* 64-aligned in the file; the image itself is 64-aligned. */
            m->weights[i] = t->data;
        }
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        if (n->op != IFG_OP_CROP && n->op != IFG_OP_PASTE) continue;
        const ifg_attr *a = ifg_node_attr(n, IFG_ATTR_STRIDE);
        if (a && a->v.i[0] > m->max_crop_stride) m->max_crop_stride = a->v.i[0];
    }
    return IF_OK;
}

/* 64-byte alignment so that f32 weights at 64-aligned file offsets are
 * aligned for SIMD loads. */
static void *aligned_image(size_t size) { return rt_aligned_alloc(64, size); }

if_status rt_model_load_buffer(const void *buf, size_t size, int copy, size_t mem_limit,
                               rt_model **out, char *err, size_t cap) {
    if (!out) return rt_fail(err, cap, IF_ERR_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (!buf || !size) return rt_fail(err, cap, IF_ERR_INVALID_ARG, "empty buffer");
    rt_model *m = (rt_model *)rt_calloc(1, sizeof *m);
    if (!m) return rt_fail(err, cap, IF_ERR_NO_MEMORY, "model");
    /* A borrowed buffer that is not 64-byte aligned is copied: weights are
     * used in place and the kernels may rely on their alignment. */
    if (copy || ((uintptr_t)buf & 63u)) {
        const rt_mem_part part = {"copy of the file", size};
        if_status s = rt_mem_check(mem_limit, 1, &part, 1, err, cap, "loading a model");
        if (s != IF_OK) {
            rt_free(m);
            return s;
        }
        m->image = aligned_image(size);
        if (!m->image) {
            rt_free(m);
            return rt_fail(err, cap, IF_ERR_NO_MEMORY, "cannot allocate %zu bytes", size);
        }
        memcpy(m->image, buf, size);
        m->image_owned = 1;
    } else {
        m->image = (void *)buf;
    }
    m->image_size = size;
    if_status s = finish_load(m, mem_limit, err, cap);
    if (s != IF_OK) {
        rt_model_free(m);
        return s;
    }
    *out = m;
    return IF_OK;
}

if_status rt_model_load_file(const char *path, size_t mem_limit, rt_model **out, char *err,
                             size_t cap) {
    if (!out) return rt_fail(err, cap, IF_ERR_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (!path) return rt_fail(err, cap, IF_ERR_INVALID_ARG, "path is NULL");
    FILE *f = ifp_fopen(path, "rb");
    if (!f) return rt_fail(err, cap, IF_ERR_IO, "%s: %s", path, strerror(errno));
    if_status s = IF_OK;
    void *img = NULL;
    long long size = -1; /* (ftell's long is 32 bits on Windows) */
    uint64_t fsize = 0;
    if (ifp_file_size(f, &fsize) == 0) size = (long long)fsize;
    const rt_mem_part image = {"file image", (uint64_t)size}; /* checked when size is valid */
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        s = rt_fail(err, cap, IF_ERR_IO, "%s: cannot determine size", path);
    } else if ((uint64_t)size > RT_MAX_FILE_BYTES) {
        s = rt_fail(err, cap, IF_ERR_BAD_COUNT, "%s: %lld bytes is over the %llu-byte limit", path,
                    size, (unsigned long long)RT_MAX_FILE_BYTES);
    } else if ((s = rt_mem_check(mem_limit, 1, &image, 1, err, cap, "%s: loading", path)) !=
               IF_OK) {
        /* refused before reading */
    } else if (!(img = aligned_image((size_t)size))) {
        s = rt_fail(err, cap, IF_ERR_NO_MEMORY, "%s: cannot allocate %lld bytes", path, size);
    } else if (size && fread(img, 1, (size_t)size, f) != (size_t)size) {
        s = rt_fail(err, cap, IF_ERR_IO, "%s: read failed", path);
    }
    fclose(f);
    if (s != IF_OK) {
        rt_aligned_free(img);
        return s;
    }
    rt_model *m = (rt_model *)rt_calloc(1, sizeof *m);
    if (!m) {
        rt_aligned_free(img);
        return rt_fail(err, cap, IF_ERR_NO_MEMORY, "model");
    }
    m->image = img;
    m->image_size = (size_t)size;
    m->image_owned = 1;
    s = finish_load(m, mem_limit, err, cap);
    if (s != IF_OK) {
        /* Prefix the reader's message with the file name. */
        if (err && cap) {
            char tmp[RT_ERR_CAP];
            snprintf(tmp, sizeof tmp, "%s", err);
            snprintf(err, cap, "%s: %s", path, tmp);
        }
        rt_model_free(m);
        return s;
    }
    *out = m;
    return IF_OK;
}

void rt_model_free(rt_model *m) {
    if (!m) return;
    ifg_free(&m->g);
    rt_free(m->weights);
    rt_free(m->f16);
    rt_free(m->converted);
    if (m->image_owned) rt_aligned_free(m->image);
    rt_free(m);
}
