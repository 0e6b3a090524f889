/* test_f16_weights.c -- f16 weights that stay f16 (runtime/model.c): a
 * graph of an f16 file run with its LINEAR weights kept f16 (widened while
 * packing: ifk_ops.linear_f16) gives the outputs of the same graph with
 * every weight widened at load (IF_F16_WIDEN=1), bit for bit, on every
 * instruction set of this build and the reference; the load keeps and
 * counts only what it widens (the memory budget); and the kept model holds
 * about half the weight memory.
 *
 *   test_f16_weights ENCODER.ifg DECODER.ifg   (a model converted with
 *                                               --weights f16)
 *
 * Last line of output: "N passed, M failed"; exit status 1 on any failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "platform/platform.h"
#include "runtime/runtime.h"
#include "tests/check.h"

enum { SIZE = 64 };

static rt_model *load(const char *path, int widen, size_t limit, if_status *st) {
    char err[RT_ERR_CAP];
    rt_model *m = NULL;
    ifp_setenv("IF_F16_WIDEN", widen ? "1" : NULL);
    *st = rt_model_load_file(path, limit, &m, err, sizeof err);
    ifp_setenv("IF_F16_WIDEN", NULL);
    if (*st != IF_OK && !limit) printf("  load %s: %s\n", path, err);
    return m;
}

/* Bytes of f16 weights kept, and of all f16 weights, of m. */
static void f16_bytes(const rt_model *m, uint64_t *kept, uint64_t *all) {
    *kept = *all = 0;
    for (uint32_t t = 0; t < m->g.n_tensors; t++) {
        const ifg_tensor *x = &m->g.tensors[t];
        if (x->storage != IFG_CONST || x->dtype != IFG_F16) continue;
        *all += x->nbytes;
        if (m->f16[t]) *kept += x->nbytes;
    }
}

/* Deterministic inputs for every required input of m at SIZE x SIZE:
 * floats in [-1, 1), labels 0..2 (per_click inputs too). */
static void *input_data(const rt_plan *p, uint32_t t, size_t *bytes) {
    const ifg_tensor *x = &p->m->g.tensors[t];
    const size_t n = (size_t)rt_shape_elems(&p->shape[t]);
    *bytes = n * ifg_dtype_size(x->dtype);
    uint8_t *d = (uint8_t *)malloc(*bytes ? *bytes : 1);
    for (size_t i = 0; i < n; i++) {
        const uint32_t h = (uint32_t)(i * 2654435761u) ^ t;
        if (x->dtype == IFG_F32) {
            const float v = (float)(h % 2000u) / 1000.0f - 1.0f;
            memcpy(d + i * 4, &v, 4);
        } else if (x->dtype == IFG_U8) {
            d[i] = (uint8_t)((h >> 7) % 3u);
        } else {
            memset(d + i * ifg_dtype_size(x->dtype), 0, ifg_dtype_size(x->dtype));
        }
    }
    return d;
}

/* Runs m (image part, then a click if it has one) on kernels ops; returns
 * its outputs, one malloc'd block each, in out[] with their sizes. */
static int run(const rt_model *m, const ifk_ops *ops, void *out[IFG_MAX_IO],
               size_t out_bytes[IFG_MAX_IO]) {
    char err[RT_ERR_CAP];
    rt_plan *p = NULL;
    rt_exec *e = NULL;
    int ok = 0;
    void *in[IFG_MAX_IO] = {0};
    if (rt_plan_new(m, SIZE, SIZE, 2, &p, err, sizeof err) != IF_OK) {
        printf("  plan: %s\n", err);
        return 0;
    }
    if (rt_exec_new(p, ops, &e) != IF_OK) goto done;
    for (uint32_t i = 0; i < m->g.n_inputs; i++) {
        if (m->g.inputs[i].flags & IFG_IN_OPTIONAL) continue;
        const uint32_t t = m->g.inputs[i].tensor;
        size_t bytes;
        in[i] = input_data(p, t, &bytes);
        const ifg_tensor *x = &m->g.tensors[t];
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)x->name_len, x->name);
        if (rt_exec_bind(e, name, in[i], bytes) != IF_OK) {
            printf("  bind %s: %s\n", name, e->err);
            goto done;
        }
    }
    if (rt_exec_run_image(e) != IF_OK || (p->n_image < m->g.n_nodes && rt_exec_run_click(e))) {
        printf("  run: %s\n", e->err);
        goto done;
    }
    for (uint32_t i = 0; i < m->g.n_outputs; i++) {
        const uint32_t t = m->g.outputs[i];
        out_bytes[i] = (size_t)rt_shape_elems(&e->shape[t]) * ifg_dtype_size(m->g.tensors[t].dtype);
        out[i] = malloc(out_bytes[i] ? out_bytes[i] : 1);
        memcpy(out[i], rt_exec_tensor(e, t), out_bytes[i]);
    }
    ok = 1;
done:
    for (uint32_t i = 0; i < IFG_MAX_IO; i++) free(in[i]);
    rt_exec_free(e);
    rt_plan_free(p);
    return ok;
}

static void check_model(const char *path) {
    printf("== %s\n", path);
    if_status st;
    rt_model *kept = load(path, 0, 0, &st), *wide = load(path, 1, 0, &st);
    CHECK(kept && wide, "load %s", path);
    if (!kept || !wide) goto out;
    uint64_t k_bytes, all_bytes, k2, all2;
    f16_bytes(kept, &k_bytes, &all_bytes);
    f16_bytes(wide, &k2, &all2);
    printf("  f16 weights %.2f MB, kept f16 %.2f MB; widened at load %.2f MB (IF_F16_WIDEN=1: "
           "%.2f MB)\n",
           all_bytes / 1e6, k_bytes / 1e6, kept->converted_bytes / 1e6,
           wide->converted_bytes / 1e6);
    CHECK(all_bytes > 0, "%s has f16 weights (convert it with --weights f16)", path);
    CHECK(k_bytes > 0 && k2 == 0, "LINEAR weights kept f16, none under IF_F16_WIDEN=1");
    CHECK(kept->converted_bytes == 2 * (all_bytes - k_bytes) &&
              wide->converted_bytes == 2 * all_bytes,
          "converted holds exactly the widened weights");
    for (uint32_t t = 0; t < kept->g.n_tensors; t++)
        if (kept->f16[t]) {
            int ok = 1;
            for (uint32_t i = 0; i < kept->g.n_nodes; i++) {
                const ifg_node *n = &kept->g.nodes[i];
                for (uint32_t j = 0; j < n->n_in; j++)
                    if (n->in[j] == t && !(n->op == IFG_OP_LINEAR && j == 1)) ok = 0;
            }
            CHECK(ok, "kept tensor %u is a LINEAR weight only", t);
        }

    /* The load's budget counts only what it widens: a limit halfway
     * between the two loads' needs takes the kept one, refuses the other. */
    const size_t limit = kept->image_size + kept->converted_bytes +
                         (wide->converted_bytes - kept->converted_bytes) / 2;
    rt_model *m2 = load(path, 0, limit, &st);
    CHECK(st == IF_OK, "kept-f16 load within %zu bytes", limit);
    rt_model_free(m2);
    m2 = load(path, 1, limit, &st);
    CHECK(st == IF_ERR_NO_MEMORY, "widen-all load refused within %zu bytes (status %d)", limit,
          (int)st);
    rt_model_free(m2);

    static const char *const isas[] = {"scalar", "generic", "avx2", "avx512", "neon"};
    for (size_t s = 0; s < sizeof isas / sizeof *isas; s++) {
        const ifk_ops *ops = ifk_select(isas[s], NULL, 0);
        if (!ops) continue;
        void *a[IFG_MAX_IO] = {0}, *b[IFG_MAX_IO] = {0};
        size_t na[IFG_MAX_IO] = {0}, nb[IFG_MAX_IO] = {0};
        const int ra = run(kept, ops, a, na), rb = run(wide, ops, b, nb);
        CHECK(ra && rb, "%s: runs", isas[s]);
        int same = ra && rb;
        for (uint32_t i = 0; same && i < kept->g.n_outputs; i++)
            same = na[i] == nb[i] && !memcmp(a[i], b[i], na[i]);
        CHECK(same, "%s: outputs with LINEAR weights kept f16 == widened at load, bit-exact",
              isas[s]);
        printf("  %s: %u outputs compared\n", isas[s], kept->g.n_outputs);
        for (uint32_t i = 0; i < IFG_MAX_IO; i++) {
            free(a[i]);
            free(b[i]);
        }
    }
out:
    rt_model_free(kept);
    rt_model_free(wide);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_f16_weights ENCODER.ifg DECODER.ifg (f16 weights)\n");
        return 2;
    }
    check_model(argv[1]);
    check_model(argv[2]);
    return CHECK_SUMMARY();
}
