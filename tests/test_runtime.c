/* test_runtime.c -- planner and executor properties on a real converted
 * model: the arena never lets live tensors share bytes, runs allocate
 * nothing, the per-image work is not repeated per click, bad run inputs are
 * rejected with the right status.
 *
 * usage: test_runtime ENCODER.ifg DECODER.ifg */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interformer.h"
#include "kernels/dispatch.h"
#include "platform/platform.h"
#include "runtime/runtime.h"

#include "check.h"

/* Recomputes lifetimes independently of the planner and checks that no two
 * tensors (or scratch ranges) that are alive together overlap in the arena. */
static void check_no_overlap(const rt_plan *p) {
    const ifg_graph *g = &p->m->g;
    uint32_t nt = g->n_tensors, nn = g->n_nodes;
    uint32_t *pos = calloc(nn, sizeof *pos);
    uint32_t *def = calloc(nt, sizeof *def), *use = calloc(nt, sizeof *use);
    for (uint32_t k = 0; k < nn; k++) pos[p->order[k]] = k;
    for (uint32_t t = 0; t < nt; t++) def[t] = UINT32_MAX;
    for (uint32_t i = 0; i < nn; i++) def[g->nodes[i].out[0]] = use[g->nodes[i].out[0]] = pos[i];
    for (uint32_t i = 0; i < nn; i++)
        for (uint32_t j = 0; j < g->nodes[i].n_in; j++) {
            uint32_t t = g->nodes[i].in[j];
            if (t == IFG_NO_TENSOR || def[t] == UINT32_MAX) continue;
            /* per-image results read by per-click nodes live to the end */
            uint32_t u =
                (p->per_click[i] && pos[i] >= p->n_image && def[t] < p->n_image) ? nn : pos[i];
            if (u > use[t]) use[t] = u;
        }
    for (uint32_t i = 0; i < g->n_outputs; i++) use[g->outputs[i]] = nn;
    /* A fused chain's inner tensors have no bytes; its output is written
     * when its head runs, and what its resizes read is read then. */
    for (uint32_t k = 0; k < p->n_chains; k++) {
        const rt_chain *c = &p->chains[k];
        for (int j = 0; j < RT_CHAIN_MAX_NODES; j++)
            if (c->node[j] != UINT32_MAX && g->nodes[c->node[j]].out[0] != c->out)
                def[g->nodes[c->node[j]].out[0]] = UINT32_MAX;
        def[c->out] = pos[c->node[0]];
        for (int j = 0; j < RT_CHAIN_MAX_PARTS; j++)
            if (c->src[j] != IFG_NO_TENSOR && use[c->src[j]] < pos[c->node[0]])
                use[c->src[j]] = pos[c->node[0]];
    }
    int bad = 0;
    for (uint32_t a = 0; a < nt && !bad; a++) {
        if (def[a] == UINT32_MAX) continue;
        CHECK(p->offset[a] != UINT64_MAX, "tensor %u has no arena slot", a);
        for (uint32_t b = a + 1; b < nt && !bad; b++) {
            if (def[b] == UINT32_MAX) continue;
            if (def[a] > use[b] || def[b] > use[a]) continue;
            int64_t ea = 1, eb = 1;
            for (int k = 0; k < p->shape[a].rank; k++) ea *= p->shape[a].d[k];
            for (int k = 0; k < p->shape[b].rank; k++) eb *= p->shape[b].d[k];
            uint64_t a0 = p->offset[a], b0 = p->offset[b];
            uint64_t a1 = a0 + (uint64_t)ea * ifg_dtype_size(g->tensors[a].dtype);
            uint64_t b1 = b0 + (uint64_t)eb * ifg_dtype_size(g->tensors[b].dtype);
            if (a0 < b1 && b0 < a1) bad = 1;
            CHECK(!(a0 < b1 && b0 < a1), "live tensors %u and %u overlap", a, b);
            CHECK(a1 <= p->arena_bytes && b1 <= p->arena_bytes, "tensor beyond the arena");
        }
    }
    free(pos);
    free(def);
    free(use);
}

static int name_has(const ifg_node *n, const char *s) {
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)n->name_len, n->name);
    return strstr(buf, s) != NULL;
}

/* The decoder's logits for fixed features and labels (one image run, two
 * clicks, the second with a ROI when the graph zooms in) on kernels `isa`,
 * planned with fusion on or off; the arena size in *arena. NULL when the
 * ISA is not available here. */
static float *decoder_logits(const rt_model *dec, const char *isa, const char *fuse, size_t *n_out,
                             size_t *arena, uint32_t *n_chains) {
    const ifk_ops *ops = ifk_select(isa, NULL, 0);
    if (!ops) return NULL;
    char err[RT_ERR_CAP];
    ifp_setenv("IF_FUSE", fuse);
    rt_plan *p = NULL;
    rt_exec *e = NULL;
    float *out = NULL, *feat[4] = {NULL, NULL, NULL, NULL};
    uint8_t *lab = calloc(256 * 256, 1);
    /* 256x256: UPerNet's fusion conv (64x64) takes the Winograd path */
    CHECK(rt_plan_new(dec, 256, 256, 2, &p, err, sizeof err) == IF_OK, "plan: %s", err);
    ifp_setenv("IF_FUSE", NULL);
    if (!p || rt_exec_new(p, ops, &e) != IF_OK) goto done;
    *arena = p->arena_bytes;
    *n_chains = p->n_chains;
    for (int i = 0; i < 4; i++) {
        char name[3] = {'F', (char)('1' + i), 0};
        const int64_t t = ifg_find_tensor(&dec->g, name);
        const size_t n = (size_t)rt_shape_elems(&p->shape[t]);
        feat[i] = malloc(n * sizeof(float));
        for (size_t j = 0; j < n; j++)
            feat[i][j] = (float)(((j + 7 * i) * 2654435761u) % 1000) / 500.0f - 1.0f;
        CHECK(rt_exec_bind(e, name, feat[i], n * sizeof(float)) == IF_OK, "bind: %s", e->err);
    }
    for (int i = 0; i < 256 * 256; i++)
        lab[i] =
            (uint8_t)((i / 256 - 64) * (i / 256 - 64) + (i % 256 - 50) * (i % 256 - 50) < 400 ? 3
                                                                                              : 2);
    lab[64 * 256 + 50] = 4;
    CHECK(rt_exec_bind(e, "ref_label", lab, 256 * 256) == IF_OK, "bind labels: %s", e->err);
    CHECK(rt_exec_run_image(e) == IF_OK, "run image: %s", e->err);
    CHECK(rt_exec_run_click(e) == IF_OK, "run click: %s", e->err);
    rt_shape s;
    const float *lg = rt_exec_output(e, "logits", &s);
    size_t n = lg ? (size_t)rt_shape_elems(&s) : 0;
    const int32_t roi[4] = {32, 32, 96, 96};
    if (dec->max_crop_stride > 0) { /* a zoomed click: the chain on cropped maps */
        CHECK(rt_exec_bind(e, "roi", roi, sizeof roi) == IF_OK, "bind roi");
        CHECK(rt_exec_run_click(e) == IF_OK, "run roi click: %s", e->err);
        lg = rt_exec_output(e, "logits", &s);
        n = lg ? (size_t)rt_shape_elems(&s) : 0;
    }
    if (lg && n) {
        out = malloc(n * sizeof *out);
        memcpy(out, lg, n * sizeof *out);
        *n_out = n;
    }
done:
    rt_exec_free(e);
    rt_plan_free(p);
    for (int i = 0; i < 4; i++) free(feat[i]);
    free(lab);
    return out;
}

/* Fusion changes nothing but the order of the upsampled parts' sums: the
 * plan fused bit-exactly (IF_FUSE=exact) gives the unfused plan's logits
 * bit for bit on every instruction set; the fully fused plan (its
 * convolution of UPerNet's upsampled levels at their own resolution) the
 * same within float rounding, bit for bit on the reference (which resizes
 * them into its bands); both in a smaller arena. */
static void check_fusion(const rt_model *dec) {
    static const char *const isas[] = {"scalar", "generic", "avx2", "avx512", "neon"};
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        size_t n0 = 0, n1 = 0, n2 = 0, a0 = 0, a1 = 0, a2 = 0;
        uint32_t c0 = 0, c1 = 0, c2 = 0;
        float *plain = decoder_logits(dec, isas[i], "0", &n0, &a0, &c0);
        float *exact = decoder_logits(dec, isas[i], "exact", &n1, &a1, &c1);
        float *fused = decoder_logits(dec, isas[i], NULL, &n2, &a2, &c2);
        if (plain && exact && fused) {
            CHECK(c0 == 0 && c1 > 0 && c2 == c1, "%s: %u chains unfused, %u exact, %u fused",
                  isas[i], c0, c1, c2);
            CHECK(n0 == n1 && n0 && !memcmp(plain, exact, n0 * sizeof *plain),
                  "%s: exactly fused logits differ from unfused", isas[i]);
            double worst = 0.0, top = 0.0;
            for (size_t j = 0; n2 == n0 && j < n0; j++) {
                const double d = fabs((double)fused[j] - plain[j]);
                if (d > worst) worst = d;
                if (fabs((double)plain[j]) > top) top = fabs((double)plain[j]);
            }
            CHECK(n2 == n0 && worst <= 1e-5 * (top + 1.0),
                  "%s: fused logits off by %.3g (max %.3g)", isas[i], worst, top);
            if (!strcmp(isas[i], "scalar") && n2 == n0)
                CHECK(!memcmp(plain, fused, n0 * sizeof *plain),
                      "scalar: fused logits differ from unfused");
            /* UPerNet's upsampled maps are gone: the resizes joined the chain. */
            CHECK(a2 < a1, "%s: arena %zu fused, %zu exactly fused", isas[i], a2, a1);
            printf("fusion on %s: %u chains, exact logits equal, fused within %.3g of %.3g "
                   "(%zu values); arena %.2f / %.2f / %.2f MB\n",
                   isas[i], c2, worst, top, n0, a0 / 1e6, a1 / 1e6, a2 / 1e6);
        }
        free(plain);
        free(exact);
        free(fused);
    }
    /* The wide maps between a chain's convolutions are gone from the arena
     * (at 128x128 the chain's scratch outweighs them; at 512x512 not). */
    size_t arena[2] = {0, 0};
    for (int fuse = 0; fuse < 2; fuse++) {
        rt_plan *p = NULL;
        char err[RT_ERR_CAP];
        ifp_setenv("IF_FUSE", fuse ? NULL : "0");
        CHECK(rt_plan_new(dec, 512, 512, 2, &p, err, sizeof err) == IF_OK, "plan: %s", err);
        ifp_setenv("IF_FUSE", NULL);
        if (p) arena[fuse] = p->arena_bytes;
        rt_plan_free(p);
    }
    CHECK(arena[1] < arena[0], "fused arena %zu not below unfused %zu at 512x512", arena[1],
          arena[0]);
    printf("arena at 512x512: %.2f MB unfused, %.2f MB fused\n", arena[0] / 1e6, arena[1] / 1e6);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_runtime ENCODER.ifg DECODER.ifg\n");
        return 2;
    }
    char err[RT_ERR_CAP];
    rt_model *enc = NULL, *dec = NULL;
    CHECK(rt_model_load_file(argv[1], 0, &enc, err, sizeof err) == IF_OK, "load encoder: %s", err);
    CHECK(rt_model_load_file(argv[2], 0, &dec, err, sizeof err) == IF_OK, "load decoder: %s", err);
    if (!enc || !dec) goto out;

    /* Plans at several sizes keep live tensors apart. */
    static const int sizes[][2] = {{128, 128}, {160, 128}, {64, 96}, {256, 32}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        rt_plan *p = NULL;
        CHECK(rt_plan_new(dec, sizes[i][0], sizes[i][1], 1 + (int)(i % 2), &p, err, sizeof err) ==
                  IF_OK,
              "plan: %s", err);
        if (p) check_no_overlap(p);
        rt_plan_free(p);
        CHECK(rt_plan_new(enc, sizes[i][0], sizes[i][1], 1 + (int)(i % 2), &p, err, sizeof err) ==
                  IF_OK,
              "plan: %s", err);
        if (p) check_no_overlap(p);
        rt_plan_free(p);
    }

    /* Sizes that are not multiples of the pad are refused. */
    rt_plan *p = NULL;
    CHECK(rt_plan_new(dec, 100, 128, 1, &p, err, sizeof err) == IF_ERR_INVALID_ARG,
          "size 100 accepted");
    CHECK(rt_plan_new(dec, 0, 128, 1, &p, err, sizeof err) == IF_ERR_INVALID_ARG,
          "size 0 accepted");

    /* The keys/values of each stage's first block depend on the image only:
     * they are in the per-image part, never in the per-click part. */
    CHECK(rt_plan_new(dec, 128, 128, 2, &p, err, sizeof err) == IF_OK, "plan: %s", err);
    if (!p) goto out;
    int kv_per_image = 0, kv_per_click = 0;
    for (uint32_t k = 0; k < dec->g.n_nodes; k++) {
        const ifg_node *n = &dec->g.nodes[p->order[k]];
        if (!name_has(n, "blocks.0.attn.key_value_proj") || !name_has(n, "neck.stages.")) continue;
        if (k < p->n_image)
            kv_per_image++;
        else
            kv_per_click++;
    }
    printf("decoder: %u nodes, %u per image, %u per click; first-block kv projections: %d per "
           "image, %d per click\n",
           dec->g.n_nodes, p->n_image, dec->g.n_nodes - p->n_image, kv_per_image, kv_per_click);
    CHECK(kv_per_image == 4 && kv_per_click == 0, "first-block kv projections not per image");

    /* Runs allocate nothing. */
    rt_exec *e = NULL;
    CHECK(rt_exec_new(p, ifk_select(NULL, NULL, 0), &e) == IF_OK, "exec");
    int64_t c[4] = {8, 16, 32, 64};
    float *feat[4];
    uint8_t *lab = malloc(128 * 128);
    memset(lab, 2, 128 * 128);
    for (int i = 0; i < 4; i++) {
        const ifg_graph *g = &dec->g;
        char name[3] = {'F', (char)('1' + i), 0};
        int64_t t = ifg_find_tensor(g, name);
        c[i] = p->shape[t].d[2];
        size_t n = (size_t)(128 >> (2 + i)) * (128 >> (2 + i)) * (size_t)c[i];
        feat[i] = malloc(n * sizeof(float));
        for (size_t j = 0; j < n; j++)
            feat[i][j] = (float)((j * 2654435761u) % 1000) / 500.0f - 1.0f;
        CHECK(rt_exec_bind(e, name, feat[i], n * sizeof(float)) == IF_OK, "bind %s: %s", name,
              e->err);
    }
    CHECK(rt_exec_run_click(e) == IF_ERR_STATE, "click before image accepted");
    CHECK(rt_exec_bind(e, "ref_label", lab, 128 * 128) == IF_OK, "bind labels: %s", e->err);
    uint64_t before = rt_alloc_count();
    CHECK(rt_exec_run_image(e) == IF_OK, "run image: %s", e->err);
    for (int k = 0; k < 3; k++) {
        lab[1000 * k + 5] = (uint8_t)(k % 2 ? 0 : 4);
        CHECK(rt_exec_run_click(e) == IF_OK, "run click: %s", e->err);
    }
    CHECK(rt_alloc_count() == before, "a run allocated %llu times",
          (unsigned long long)(rt_alloc_count() - before));

    /* Bad run inputs. */
    CHECK(rt_exec_bind(e, "ref_label", lab, 100) == IF_ERR_INVALID_ARG, "short labels accepted");
    CHECK(rt_exec_bind(e, "nope", lab, 100) == IF_ERR_INVALID_ARG, "unknown input accepted");
    CHECK(rt_exec_bind(e, "F1", NULL, 0) == IF_ERR_INVALID_ARG, "NULL required input accepted");
    lab[77] = 9;
    CHECK(rt_exec_run_click(e) == IF_ERR_INVALID_ARG, "label 9 accepted");
    CHECK(strstr(e->err, "label 9") != NULL, "message: %s", e->err);
    lab[77] = 2;
    int32_t roi[4] = {0, 0, 64, 48}; /* 48 is not a multiple of 32 */
    CHECK(rt_exec_bind(e, "roi", roi, sizeof roi) == IF_OK, "bind roi");
    if (dec->max_crop_stride > 0) {
        CHECK(rt_exec_run_click(e) == IF_ERR_INVALID_ARG, "bad roi accepted");
    }
    CHECK(rt_exec_bind(e, "roi", NULL, 0) == IF_OK, "unbind roi");
    CHECK(rt_exec_run_click(e) == IF_OK, "run click after unbinding roi: %s", e->err);

    rt_exec_free(e);
    rt_plan_free(p);
    for (int i = 0; i < 4; i++) free(feat[i]);
    free(lab);
    check_fusion(dec);
out:
    rt_model_free(enc);
    rt_model_free(dec);
    return CHECK_SUMMARY();
}
