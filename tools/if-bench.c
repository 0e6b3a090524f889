/* if-bench -- times the encoder and the per-click decoder of a model on a
 * synthetic image, and prints one JSON object.
 *
 *   if-bench --encoder E.ifg --decoder D.ifg [--size 512] [--threads N]
 *            [--clicks 20] [--encoder-runs 3] [--object X,Y,R]
 *
 * FLOPs are counted from the graphs (multiply-adds x 2 of convolutions,
 * linear layers and attention products), so GFLOP/s is comparable across
 * implementations. Timings are wall-clock medians; compare ratios measured
 * side by side in one run, not absolute numbers across machines.
 * model_mb is what the two loaded models hold (file images and the f16
 * weights widened at load, runtime/model.c); peak_rss_mb is the process's
 * peak resident set over loading, encoding and the clicks (taken before the
 * FLOP count, which loads the graphs again).
 *
 * The default clicks spiral around the centre of the image. With random
 * weights the predicted mask is arbitrary, so a zoom-in decoder's ROI (the
 * box of the previous prediction and the clicks) is about the whole image
 * there. --object X,Y,R adds the small-object case, on the same features:
 * the same number of clicks on and around a disk of radius R at (X, Y)
 * (positive ones inside at R/2 from the centre, negative ones outside at
 * R + R/4, eight directions in turn; torchref.bench --object makes the same
 * clicks), timed twice: "zoom", where before each click the session's
 * previous prediction is set to that disk (as if the model had segmented
 * the object), so from the decoder's zoom_start_step on the ROI is the
 * expanded box of the disk and the clicks, and "nozoom", where the decoder
 * gets no ROI (the refine blocks run on the whole map). Only
 * if_session_add_click is timed, as for the default clicks.
 *
 * With IF_PROFILE=1 in the environment, a breakdown by operator (ms per
 * run, share, GFLOP/s) of one more encode and of the clicks goes to stderr
 * as well; IF_PROFILE=nodes adds every node with its shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "interformer.h"
#include "runtime/api.h"
#include "runtime/op.h"
#include "runtime/runtime.h"
#include "session/session.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* FLOPs of the nodes in order[from, to) for shapes `shape`. */
static double count_flops(const rt_plan *p, const rt_shape *shape, uint32_t from, uint32_t to) {
    double f = 0;
    for (uint32_t k = from; k < to; k++) f += rt_node_flops(&p->m->g.nodes[p->order[k]], shape);
    return f;
}

/* The nodes order[from, to) of a profiled executor (the per-click ones of a
 * decoder, all of an encoder), grouped by operator (a convolution also by
 * kernel size and whether it is depthwise), per run (`runs` runs summed in
 * node_ms), on stderr. */
static void print_profile_range(const rt_exec *e, uint32_t from, uint32_t to, int clicks,
                                const char *what) {
    const rt_plan *p = e->p;
    const ifg_graph *g = &p->m->g;
    enum { MAX_ROWS = 64 };
    struct {
        char name[48];
        double ms, flops;
        int nodes;
    } row[MAX_ROWS];
    int n_rows = 0;
    double total = 0;
    for (uint32_t k = from; k < to; k++) {
        const ifg_node *n = &g->nodes[p->order[k]];
        char name[48];
        const int32_t ci = p->chain[p->order[k]];
        if (ci >= 0 && p->chains[ci].kind == RT_CHAIN_INV_BOTTLENECK) { /* timed at its head */
            snprintf(name, sizeof name, "CONV2D 1x1+dw3x3+1x1 fused");
        } else if (ci >= 0) { /* a concatenation read by its convolution (timed at the concat) */
            const rt_shape *w = &e->shape[g->nodes[p->chains[ci].node[1]].in[1]];
            snprintf(name, sizeof name, "CONV2D %lldx%lld concat fused", (long long)w->d[1],
                     (long long)w->d[2]);
        } else if (n->op == IFG_OP_CONV2D) {
            const rt_shape *w = &e->shape[n->in[1]];
            snprintf(name, sizeof name, "CONV2D %lldx%lld%s", (long long)w->d[1],
                     (long long)w->d[2],
                     w->d[3] == 1 && e->shape[n->in[0]].d[2] > 1 ? " depthwise" : "");
        } else {
            snprintf(name, sizeof name, "%s", ifg_op_name(n->op));
        }
        int r = 0;
        while (r < n_rows && strcmp(row[r].name, name)) r++;
        if (r == n_rows) {
            if (n_rows == MAX_ROWS) continue;
            snprintf(row[n_rows].name, sizeof row[n_rows].name, "%s", name);
            row[n_rows].ms = row[n_rows].flops = 0;
            row[n_rows++].nodes = 0;
        }
        row[r].ms += e->node_ms[p->order[k]] / clicks;
        row[r].flops += rt_node_flops(n, e->shape);
        row[r].nodes++;
        total += e->node_ms[p->order[k]] / clicks;
    }
    fprintf(stderr, "%-28s %5s %9s %6s %8s\n", what, "nodes", "ms/run", "share", "GFLOP/s");
    for (int pass = 0; pass < n_rows; pass++) { /* largest first */
        int best = -1;
        for (int r = 0; r < n_rows; r++)
            if (row[r].nodes && (best < 0 || row[r].ms > row[best].ms)) best = r;
        fprintf(stderr, "%-28s %5d %9.3f %5.1f%% %8.1f\n", row[best].name, row[best].nodes,
                row[best].ms, 100 * row[best].ms / total,
                row[best].ms > 0 ? row[best].flops / 1e6 / row[best].ms : 0);
        row[best].nodes = 0;
    }
    fprintf(stderr, "%-28s %5s %9.3f\n", "total", "", total);
    if (!strcmp(getenv("IF_PROFILE"), "nodes")) { /* and each node, in run order */
        for (uint32_t k = from; k < to; k++) {
            const ifg_node *n = &g->nodes[p->order[k]];
            const rt_shape *x = &e->shape[n->in[0]], *y = &e->shape[n->out[0]];
            fprintf(stderr, "%4u %-18s in", p->order[k], ifg_op_name(n->op));
            for (int d = 0; d < (int)x->rank; d++)
                fprintf(stderr, "%s%lld", d ? "x" : " ", (long long)x->d[d]);
            fprintf(stderr, " out");
            for (int d = 0; d < (int)y->rank; d++)
                fprintf(stderr, "%s%lld", d ? "x" : " ", (long long)y->d[d]);
            fprintf(stderr, "  %.3f ms\n", e->node_ms[p->order[k]] / clicks);
        }
    }
}

static void print_profile(const rt_exec *e, int clicks) {
    print_profile_range(e, e->p->n_image, e->p->m->g.n_nodes, clicks, "per-click op");
}

/* The encoder's per-operator profile: one more encode of rgb through a run
 * of its own (profiled when IF_PROFILE was set at its creation). */
static int profile_encoder(const if_model *enc, const uint8_t *rgb, int size) {
    if_run *run = NULL;
    const size_t bytes = (size_t)size * size * 3 * sizeof(float);
    float *input = malloc(bytes);
    int ok =
        input && if_run_new(enc, size, size, &run) == IF_OK &&
        if_preprocess_rgb8(enc, rgb, size, size, (size_t)size * 3, input, size, size) == IF_OK &&
        if_run_set_input(run, "image", input, bytes) == IF_OK && if_run_image(run) == IF_OK;
    if (ok && run->exec->node_ms)
        print_profile_range(run->exec, 0, run->exec->p->m->g.n_nodes, 1, "encoder op");
    if (!ok) fprintf(stderr, "if-bench: encoder profile: %s\n", if_last_error());
    if_run_free(run);
    free(input);
    return ok ? 0 : 1;
}

/* Click k of the small-object sequence around a disk of radius r at (ox,
 * oy) in a size x size image (torchref/bench.py object_click is the same):
 * click 0 positive at the centre; then odd k positive at r/2 from it, even
 * k negative at r + r/4, each kind going round eight directions. */
static if_click object_click(int k, int ox, int oy, int r, int size) {
    static const int dirs[8][2] = {{1, 0}, {0, 1},  {-1, 0},  {0, -1},
                                   {1, 1}, {-1, 1}, {-1, -1}, {1, -1}};
    if (k == 0) return (if_click){ox, oy, 1};
    const int positive = k % 2, d = positive ? r / 2 : r + r / 4;
    const int *v = dirs[((k - 1) / 2) % 8];
    int x = ox + v[0] * d, y = oy + v[1] * d;
    x = x < 0 ? 0 : x > size - 1 ? size - 1 : x;
    y = y < 0 ? 0 : y > size - 1 ? size - 1 : y;
    return (if_click){x, y, positive};
}

/* The small-object clicks in a new session on feat, each add_click timed
 * into ms[clicks]; zoom: the previous prediction is the disk before every
 * click, else the decoder gets no ROI. roi: the last click's ROI (the whole
 * map when none); *gflop: the last click's per-click GFLOP. 0 on success. */
static int object_session(const if_model *dec, const if_features *feat, int zoom, int clicks,
                          const int obj[3], int size, double *ms, int32_t roi[4], double *gflop) {
    if_session *s = NULL;
    if (if_session_new(dec, feat, &s)) {
        fprintf(stderr, "if-bench: session: %s\n", if_last_error());
        return 1;
    }
    if (s->scaled) {
        fprintf(stderr, "if-bench: --object needs an image the encoder sees at its size\n");
        if_session_free(s);
        return 1;
    }
    if (!zoom) { /* the decoder's "roi" input stays unbound: no zoom-in */
        const int had_roi = s->roi_input;
        s->roi_input = 0;
        if (had_roi && if_run_set_input(s->run, "roi", NULL, 0)) {
            fprintf(stderr, "if-bench: %s\n", if_run_error(s->run));
            if_session_free(s);
            return 1;
        }
    }
    for (int k = 0; k < clicks; k++) {
        if (zoom) /* the previous prediction: the object's disk */
            for (int y = 0; y < s->Hp; y++)
                for (int x = 0; x < s->Wp; x++) {
                    const int dx = x - obj[0], dy = y - obj[1];
                    s->pred[(size_t)y * s->Wp + x] = dx * dx + dy * dy <= obj[2] * obj[2];
                }
        double c0 = now_ms();
        if (if_session_add_click(s, object_click(k, obj[0], obj[1], obj[2], size))) {
            fprintf(stderr, "if-bench: object click %d: %s\n", k, if_session_error(s));
            if_session_free(s);
            return 1;
        }
        ms[k] = now_ms() - c0;
    }
    const int last = clicks - 1;
    const int32_t whole[4] = {0, 0, s->Wp, s->Hp};
    memcpy(roi, s->has_roi[last] ? s->roi[last] : whole, sizeof whole);
    const rt_exec *e = s->run->exec;
    *gflop = count_flops(e->p, e->shape, e->p->n_image, e->p->m->g.n_nodes) / 1e9;
    if (e->node_ms) {
        fprintf(stderr, "## small-object clicks, %s\n", zoom ? "zoom-in" : "no zoom-in");
        print_profile(e, clicks);
    }
    if_session_free(s);
    return 0;
}

/* FLOPs of a graph at size x size (only its per-click part if per_click),
 * and its arena bytes. */
static double graph_flops(const char *path, int size, int threads, int per_click, size_t *arena) {
    char err[RT_ERR_CAP];
    rt_model *m = NULL;
    rt_plan *p = NULL;
    double f = 0;
    if (rt_model_load_file(path, 0, &m, err, sizeof err) == IF_OK &&
        rt_plan_new(m, size, size, threads, &p, err, sizeof err) == IF_OK)
        f = per_click ? count_flops(p, p->shape, p->n_image, m->g.n_nodes)
                      : count_flops(p, p->shape, 0, m->g.n_nodes);
    if (arena) *arena = p ? p->arena_bytes : 0;
    rt_plan_free(p);
    rt_model_free(m);
    return f;
}

int main(int argc, char **argv) {
    const char *enc_path = NULL, *dec_path = NULL;
    int size = 512, threads = 1, clicks = 20, enc_runs = 3, obj[3] = {0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--encoder") && i + 1 < argc)
            enc_path = argv[++i];
        else if (!strcmp(argv[i], "--decoder") && i + 1 < argc)
            dec_path = argv[++i];
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clicks") && i + 1 < argc)
            clicks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--encoder-runs") && i + 1 < argc)
            enc_runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--object") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%d,%d,%d", &obj[0], &obj[1], &obj[2]) == 3)
            i++;
        else {
            fprintf(stderr, "usage: if-bench --encoder E.ifg --decoder D.ifg [--size 512] "
                            "[--threads N] [--clicks 20] [--encoder-runs 3] "
                            "[--object X,Y,R]\n");
            return 2;
        }
    }
    if (!enc_path || !dec_path || size < 32 || threads < 1 || clicks < 1 || clicks > 1000 ||
        enc_runs < 1 || obj[2] < 0 || obj[2] > size || obj[0] < 0 || obj[1] < 0 || obj[0] >= size ||
        obj[1] >= size) {
        fprintf(
            stderr,
            "if-bench: need --encoder and --decoder, size >= 32, threads, clicks and runs >= 1, "
            "the object's centre inside the image\n");
        return 2;
    }
    if_options opt = if_default_options();
    opt.n_threads = threads;
    opt.max_clicks = clicks;
    if_model *enc = NULL, *dec = NULL;
    if (if_model_load(enc_path, &opt, &enc) || if_model_load(dec_path, &opt, &dec)) {
        fprintf(stderr, "if-bench: %s\n", if_last_error());
        return 1;
    }
    uint8_t *rgb = malloc((size_t)size * size * 3);
    for (size_t i = 0; i < (size_t)size * size * 3; i++)
        rgb[i] = (uint8_t)((i * 2654435761u) >> 24);

    double *enc_ms = calloc((size_t)enc_runs, sizeof *enc_ms),
           *dec_ms = calloc((size_t)clicks, sizeof *dec_ms);
    if_features *feat = NULL;
    for (int r = 0; r < enc_runs; r++) {
        if_features_free(feat);
        feat = NULL;
        double t0 = now_ms();
        if (if_encode_rgb8(enc, rgb, size, size, (size_t)size * 3, &feat)) {
            fprintf(stderr, "if-bench: encode: %s\n", if_last_error());
            return 1;
        }
        enc_ms[r] = now_ms() - t0;
    }
    const char *prof = getenv("IF_PROFILE");
    if (prof && *prof && strcmp(prof, "0") && profile_encoder(enc, rgb, size)) return 1;
    double t0 = now_ms();
    if_session *s = NULL;
    if (if_session_new(dec, feat, &s)) {
        fprintf(stderr, "if-bench: session: %s\n", if_last_error());
        return 1;
    }
    double session_ms = now_ms() - t0;
    /* Clicks spiral around the centre, alternating positive and negative. */
    for (int k = 0; k < clicks; k++) {
        int r = size / 8 + (k * size / 3) / clicks;
        int x = size / 2 + (k % 4 < 2 ? r : -r) / 2, y = size / 2 + (k % 2 ? r : -r) / 2;
        if_click c = {x, y, k % 3 != 1};
        double c0 = now_ms();
        if (if_session_add_click(s, c)) {
            fprintf(stderr, "if-bench: click %d: %s\n", k, if_session_error(s));
            return 1;
        }
        dec_ms[k] = now_ms() - c0;
    }
    if (s->run->exec->node_ms) {
        if (obj[2]) fprintf(stderr, "## default clicks\n");
        print_profile(s->run->exec, clicks);
    }
    if_model_info di;
    if_model_get_info(dec, &di);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double model_mb = 0;
    for (int i = 0; i < 2; i++) {
        const rt_model *m = (i ? dec : enc)->rt;
        model_mb += ((m->image_owned ? m->image_size : 0) + m->converted_bytes) / 1e6;
    }
    size_t enc_arena = 0, dec_arena = 0;
    double enc_flops = graph_flops(enc_path, size, threads, 0, &enc_arena),
           click_flops = graph_flops(dec_path, size, threads, 1, &dec_arena);
    double enc_med = median(enc_ms, enc_runs), dec_med = median(dec_ms, clicks);
    printf(
        "{\"size\": %d, \"threads\": %d, \"isa\": \"%s\", \"model\": \"%s\", \"zoom_in\": %d, "
        "\"encoder_ms\": %.2f, \"encoder_gflop\": %.3f, \"encoder_gflops\": %.2f, "
        "\"decoder_image_ms\": %.2f, \"decoder_click_ms\": %.3f, \"decoder_click_gflop\": %.3f, "
        "\"decoder_click_gflops\": %.2f, \"encoder_arena_mb\": %.2f, \"decoder_arena_mb\": %.2f, "
        "\"session_mb\": %.2f, \"model_mb\": %.1f, "
        "\"peak_rss_mb\": %.1f",
        size, threads, di.isa, di.name, di.zoom_in, enc_med, enc_flops / 1e9,
        enc_flops / 1e6 / enc_med, session_ms, dec_med, click_flops / 1e9,
        click_flops / 1e6 / dec_med, enc_arena / 1e6, dec_arena / 1e6,
        if_session_memory_bytes(s) / 1e6, model_mb, ru.ru_maxrss / 1024.0);
    if_session_free(s);
    s = NULL;
    if (obj[2]) { /* the small-object case, zoom-in and not, on the same features */
        double gflop[2] = {0, 0}, med[2] = {0, 0};
        int32_t roi[2][4];
        for (int zoom = 1; zoom >= 0; zoom--) {
            if (object_session(dec, feat, zoom, clicks, obj, size, dec_ms, roi[zoom], &gflop[zoom]))
                return 1;
            med[zoom] = median(dec_ms, clicks);
        }
        printf(", \"object\": [%d, %d, %d], \"zoom_roi\": [%d, %d, %d, %d], "
               "\"decoder_click_ms_zoom\": %.3f, \"decoder_click_ms_nozoom\": %.3f, "
               "\"decoder_click_gflop_zoom\": %.3f, \"decoder_click_gflop_nozoom\": %.3f",
               obj[0], obj[1], obj[2], roi[1][0], roi[1][1], roi[1][2], roi[1][3], med[1], med[0],
               gflop[1], gflop[0]);
    }
    printf("}\n");
    if_features_free(feat);
    if_model_free(enc);
    if_model_free(dec);
    free(rgb);
    free(enc_ms);
    free(dec_ms);
    return 0;
}
