/* op_run.c -- runs one IFG graph through the real executor (public API:
 * load, plan, arena, thread pool, image and click phases) on .npy inputs and
 * writes its outputs as .npy: the C side of the op-level tests
 * (tests/test_ops.py), which compares them with tests/ifg_reference.py.
 *
 *   op_run GRAPH.ifg H W ISA THREADS[,THREADS...] OUTDIR ARG...
 *
 * H, W: the plan's image size (the graph's H and W symbols; the graphs of
 * the op tests have preprocess.pad_multiple 1). ISA: "scalar", "generic",
 * "avx2", "avx512", "neon", or "-" for $IF_ISA / the best the CPU has.
 * Each ARG is NAME=FILE.npy (bind input NAME; an optional input not named
 * stays absent) or NAME (an output, written to OUTDIR/NAME.t<threads>.npy
 * for every thread count). Prints "isa <kernels used>" first.
 * Exit status: 0 done, 77 the ISA is not available on this CPU/build (the
 * reason on stdout), 1 any other failure (the reason on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/npy.h"
#include "interformer.h"

enum { MAX_ARGS = 64 };

static int write_npy(const char *path, const float *data, const int64_t *dims, int rank) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = npy_write_f32_to(f, data, dims, rank) != 0;
    bad |= fflush(f) != 0;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

static size_t npy_elem_bytes(npy_dtype t) {
    switch (t) {
    case NPY_U8: return 1;
    case NPY_I64: return 8;
    default: return 4;
    }
}

/* One run of the graph with n_threads threads; outputs written. 0 on success. */
static int run_once(const char *graph, int H, int W, const char *isa, int n_threads,
                    const char *outdir, char **args, int n_args, const npy_array *arrays) {
    if_options opt = if_default_options();
    opt.n_threads = n_threads;
    opt.isa = strcmp(isa, "-") ? isa : NULL;
    if_model *m = NULL;
    if_status s = if_model_load(graph, &opt, &m);
    if (s == IF_ERR_UNSUPPORTED) {
        printf("unsupported: %s\n", if_last_error());
        return 77;
    }
    if (s != IF_OK) {
        fprintf(stderr, "load %s: %s: %s\n", graph, if_status_str(s), if_last_error());
        return 1;
    }
    if_model_info info;
    if_model_get_info(m, &info);
    printf("isa %s threads %d\n", info.isa, info.n_threads);
    if_run *r = NULL;
    int rc = 1;
    if ((s = if_run_new(m, H, W, &r)) != IF_OK) {
        fprintf(stderr, "if_run_new %dx%d: %s: %s\n", H, W, if_status_str(s), if_last_error());
        goto done;
    }
    for (int i = 0; i < n_args; i++) {
        char *eq = strchr(args[i], '=');
        if (!eq) continue;
        *eq = '\0';
        const npy_array *a = &arrays[i];
        s = if_run_set_input(r, args[i], a->data, (size_t)a->count * npy_elem_bytes(a->dtype));
        *eq = '=';
        if (s != IF_OK) {
            fprintf(stderr, "input %s: %s: %s\n", args[i], if_status_str(s), if_run_error(r));
            goto done;
        }
    }
    if ((s = if_run_image(r)) != IF_OK || (s = if_run_click(r)) != IF_OK) {
        fprintf(stderr, "run: %s: %s\n", if_status_str(s), if_run_error(r));
        goto done;
    }
    for (int i = 0; i < n_args; i++) {
        if (strchr(args[i], '=')) continue;
        const float *y;
        int64_t dims[4];
        int rank;
        if ((s = if_run_output(r, args[i], &y, dims, &rank)) != IF_OK) {
            fprintf(stderr, "output %s: %s: %s\n", args[i], if_status_str(s), if_last_error());
            goto done;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.t%d.npy", outdir, args[i], n_threads);
        if (write_npy(path, y, dims, rank)) {
            fprintf(stderr, "cannot write %s\n", path);
            goto done;
        }
    }
    rc = 0;
done:
    if_run_free(r);
    if_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 7 || argc - 7 > MAX_ARGS) {
        fprintf(stderr, "usage: op_run GRAPH.ifg H W ISA THREADS[,THREADS...] OUTDIR "
                        "[NAME=INPUT.npy | OUTPUT_NAME]...\n");
        return 1;
    }
    const int H = atoi(argv[2]), W = atoi(argv[3]);
    char **args = argv + 7;
    const int n_args = argc - 7;
    npy_array arrays[MAX_ARGS];
    memset(arrays, 0, sizeof arrays);
    int rc = 0;
    for (int i = 0; i < n_args && !rc; i++) {
        const char *eq = strchr(args[i], '=');
        char err[512];
        if (eq && npy_read(eq + 1, &arrays[i], err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            rc = 1;
        }
    }
    for (const char *t = argv[5]; !rc && *t;) {
        char *end;
        long n = strtol(t, &end, 10);
        if (end == t || n < 1 || n > 256 || (*end && *end != ',')) {
            fprintf(stderr, "bad thread count list '%s'\n", argv[5]);
            rc = 1;
            break;
        }
        rc = run_once(argv[1], H, W, argv[4], (int)n, argv[6], args, n_args, arrays);
        t = *end ? end + 1 : end;
    }
    for (int i = 0; i < n_args; i++) npy_free(&arrays[i]);
    return rc;
}
