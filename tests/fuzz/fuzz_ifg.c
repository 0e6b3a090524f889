/* fuzz_ifg.c -- libFuzzer harness: the graph file reader, then planning and
 * running whatever it accepts.
 *
 * Each input is loaded as it is (the header, size and CRC checks) and, when
 * different, with its size and CRC made consistent (fuzz_util.h), so that
 * mutations reach the record checks. A graph that loads is planned at a
 * small image size, every input is bound to zeros of its size, and the
 * per-image and per-click parts are run; outputs are read in full. Any
 * status is fine; a crash, a sanitizer report, a leak or a hang is not.
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

static void try_graph(const uint8_t *data, size_t size, int variant) {
    if_options opt = if_default_options();
    /* Half the inputs on the portable kernels, half on the best this CPU
     * has: they index memory differently. */
    opt.isa = variant & 1 ? "scalar" : NULL;
    if_model *m = NULL;
    if (if_model_load_buffer(data, size, 1, &opt, &m) != IF_OK) return;
    if_model_info info;
    if_model_get_info(m, &info);
    /* Small and not square, so that H and W are not interchangeable. */
    int H, W;
    if (if_padded_size(m, 32, 48, &H, &W) == IF_OK && H <= 64 && W <= 64) {
        rt_plan *p = NULL;
        char err[RT_ERR_CAP];
        if (rt_plan_new(m->rt, H, W, 1, &p, err, sizeof err) == IF_OK) {
            uint64_t need = p->arena_bytes;
            for (uint32_t i = 0; i < m->rt->g.n_inputs; i++) need += input_bytes(&m->rt->g, p, i);
            if (need <= RUN_BUDGET) run_graph(m, p, variant % 3);
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
