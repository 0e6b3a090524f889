/* shared_link.c -- a C11 user of the installed InterFormer-C, linked against
 * libinterformer.so with the flags of `pkg-config --cflags --libs interformer`.
 *
 *   shared_link [GRAPH.ifg]
 *
 * Status names, the default options, IF_ERR_IO for a missing file and, with
 * a graph file, its info. Prints "ok" and exits 0, or exits 1. */
#include <interformer.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "shared_link: FAIL: %s\n", what);
        failures++;
    }
}

int main(int argc, char **argv) {
    expect(!strcmp(if_status_str(IF_OK), "ok"), "if_status_str(IF_OK) is \"ok\"");
    for (int s = 0; s < IF_STATUS_COUNT_; s++)
        expect(*if_status_str((if_status)s) != 0, "status names");
    if_options opt = if_default_options();
    expect(opt.n_threads == 1 && opt.max_clicks == 64, "if_default_options");
    if_model *m = NULL;
    expect(if_model_load("/nonexistent/interformer/none.ifg", NULL, &m) == IF_ERR_IO && !m,
           "a missing file gives IF_ERR_IO");
    expect(*if_last_error() != 0, "a detail for a missing file");
    if (argc > 1) {
        if_status s = if_model_load(argv[1], &opt, &m);
        if (s != IF_OK) {
            fprintf(stderr, "shared_link: FAIL: %s: %s: %s\n", argv[1], if_status_str(s),
                    if_last_error());
            failures++;
        } else {
            if_model_info info;
            expect(if_model_get_info(m, &info) == IF_OK, "if_model_get_info");
            printf("%s: %s, name %s, %lld params\n", argv[1],
                   info.kind == IF_MODEL_ENCODER ? "encoder" : "decoder", info.name,
                   (long long)info.n_params);
            if_model_free(m);
        }
    }
    if (failures) return 1;
    printf("shared_link: ok\n");
    return 0;
}
