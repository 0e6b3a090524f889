/* if-golden -- checks InterFormer-C against a reference case produced by the
 * official PyTorch model (the format of ../shared/golden/README.md).
 *
 *   if-golden CASE_DIR [--encoder E.ifg --decoder D.ifg] [--threads N]
 *
 * Without graph files, the case's model.pth is converted with the project's
 * converter into a temporary directory (removed afterwards); the case
 * directory is only read. With an image, the encoder runs on our own
 * preprocessing of image.png (compared with input.npy) and its F1..F4 are
 * compared with feat*.npy; every click step then runs the decoder on those
 * features (the given feat*.npy in decoder-only cases) with the recorded
 * ref_label_k (and roi_k), and compares logits_k.
 *
 * Per step it prints the max abs logit error, that error relative to the
 * reference's max |logit|, and the mask pixels that differ. Exit status 1
 * when a relative error exceeds 1e-4 or a mask pixel differs where the
 * reference margin |l1 - l0| exceeds 1e-3; 2 on usage or I/O errors. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>

#include "common/cli.h"
#include "common/npy.h"
#include "interformer.h"
#include "platform/platform.h"

#ifndef IF_SOURCE_DIR
#define IF_SOURCE_DIR "."
#endif

#define REL_TOL    1e-4
#define MARGIN_TOL 1e-3

typedef struct {
    const char *case_dir, *enc_path, *dec_path;
    int threads;
} golden_args;

#define GA(field) offsetof(golden_args, field)

/* The command line (examples/common/cli.h parses it and prints the help). */
static const cli_opt golden_rows[] = {
    CLI_TEXT_ROW("\n"
                 "Checks InterFormer-C against a golden case of the official PyTorch model.\n"
                 "\n"),
    CLI_DOC_ROW("CASE_DIR", "the case (../shared/golden/README.md); only read"),
    CLI_ROW(CLI_STR, GA(enc_path), "--encoder E.ifg", NULL),
    CLI_ROW(CLI_STR, GA(dec_path), "--decoder D.ifg", NULL),
    CLI_DOC_ROW("--encoder E.ifg --decoder D.ifg",
                "the graph files to check (default: the case's model.pth,\n"
                "converted into a temporary folder)"),
    CLI_INT_ROW(GA(threads), "--threads N", "worker threads (default 1)", 1, 1024,
                "a number from 1 to 1024"),
    CLI_END_ROW,
};

static const cli_command golden_cmd = {
    NULL, "if-golden CASE_DIR [--encoder E.ifg --decoder D.ifg] [--threads N]\n", golden_rows,
    GA(case_dir)};

static int file_exists(const char *p) { /* and readable */
    FILE *f = ifp_fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* Converts CASE/model.pth into dir; returns 0 on success. */
static int convert(const char *case_dir, const char *dir) {
    const char *py = getenv("IF_PYTHON");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "PYTHONPATH='%s' '%s' -m converter '%s/model.pth' -o '%s' --name case", IF_SOURCE_DIR,
             py && *py ? py : "/usr/bin/python3", case_dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ref is NCHW (1,C,H,W); ours is HWC. Returns 0 when within tolerance. */
static int compare_nchw(const char *what, const float *ours, const npy_array *ref) {
    int64_t C = ref->shape[1], H = ref->shape[2], W = ref->shape[3];
    const float *r = ref->data;
    double max_err = 0, max_ref = 0;
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                double a = ours[(y * W + x) * C + c], b = r[(c * H + y) * W + x];
                double e = fabs(a - b);
                if (!(e <= max_err)) max_err = e;
                if (fabs(b) > max_ref) max_ref = fabs(b);
            }
    double rel = max_ref > 0 ? max_err / max_ref : max_err;
    int ok = rel <= REL_TOL;
    printf("%-8s max|err| %.3e  rel %.3e  %s\n", what, max_err, rel, ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}

static int load_npy(const char *dir, const char *name, npy_array *a) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (npy_read(path, a, err, sizeof err)) {
        fprintf(stderr, "if-golden: %s\n", err);
        return -1;
    }
    return 0;
}

static int check(if_status s, const char *what, const char *detail) {
    if (s == IF_OK) return 0;
    fprintf(stderr, "if-golden: %s: %s: %s\n", what, if_status_str(s), detail);
    return -1;
}

int main(int argc, char **argv) {
    golden_args a = {0};
    int st;
    cli_prog = "if-golden";
    if (!cli_parse(&golden_cmd, &a, argc - 1, argv + 1, &st)) return st;
    if (!a.case_dir) return cli_usage(NULL, "no CASE_DIR given");
    const char *case_dir = a.case_dir, *enc_path = a.enc_path, *dec_path = a.dec_path;
    if_options opt = if_default_options();
    if (a.threads) opt.n_threads = a.threads;

    char tmpdir[] = "/tmp/if-golden-XXXXXX", enc_buf[4200], dec_buf[4200], path[4096];
    int made_tmp = 0, rc = 2;
    if (!dec_path) {
        int e = ifp_mkdtemp(tmpdir);
        if (e) {
            fprintf(stderr, "if-golden: %s: %s\n", tmpdir, strerror(e));
            return 2;
        }
        made_tmp = 1;
        if (convert(case_dir, tmpdir)) {
            fprintf(stderr, "if-golden: converting %s/model.pth failed\n", case_dir);
            goto cleanup_tmp;
        }
        snprintf(enc_buf, sizeof enc_buf, "%s/case.encoder.ifg", tmpdir);
        snprintf(dec_buf, sizeof dec_buf, "%s/case.decoder.ifg", tmpdir);
        enc_path = enc_path ? enc_path : enc_buf;
        dec_path = dec_buf;
    }

    if_model *enc = NULL, *dec = NULL;
    if_run *erun = NULL, *drun = NULL;
    npy_array feats[4] = {{0}}, input = {0};
    float *ours_input = NULL, *enc_feats[4] = {0};
    uint8_t *prev_mask = NULL;
    int failures = 0;

    if (check(if_model_load(dec_path, &opt, &dec), "loading decoder", if_last_error())) goto done;
    if (load_npy(case_dir, "feat0.npy", &feats[0])) goto done;
    int Hp = (int)feats[0].shape[2] * 4, Wp = (int)feats[0].shape[3] * 4;

    snprintf(path, sizeof path, "%s/image.png", case_dir);
    int have_image = file_exists(path);
    if (have_image) {
        if (check(if_model_load(enc_path, &opt, &enc), "loading encoder", if_last_error()))
            goto done;
        if_model_info info;
        if_model_get_info(enc, &info);
        int w, h, comp;
        unsigned char *rgb = stbi_load(path, &w, &h, &comp, 3);
        if (!rgb) {
            fprintf(stderr, "if-golden: %s: %s\n", path, stbi_failure_reason());
            goto done;
        }
        int ph, pw;
        if (check(if_padded_size(enc, h, w, &ph, &pw), "padded size", if_last_error())) {
            stbi_image_free(rgb);
            goto done;
        }
        ours_input = malloc((size_t)ph * pw * 3 * sizeof(float));
        if_status s = if_preprocess_rgb8(enc, rgb, w, h, (size_t)w * 3, ours_input, ph, pw);
        stbi_image_free(rgb);
        if (check(s, "preprocessing", if_last_error()) || load_npy(case_dir, "input.npy", &input))
            goto done;
        if (ph != Hp || pw != Wp || input.shape[2] != ph || input.shape[3] != pw) {
            fprintf(stderr, "if-golden: padded size %dx%d does not match the case's %dx%d\n", ph,
                    pw, Hp, Wp);
            goto done;
        }
        failures += compare_nchw("input", ours_input, &input);
        if (check(if_run_new(enc, ph, pw, &erun), "planning encoder", if_last_error()) ||
            check(if_run_set_input(erun, "image", ours_input, (size_t)ph * pw * 3 * sizeof(float)),
                  "encoder input", if_run_error(erun)) ||
            check(if_run_image(erun), "running encoder", if_run_error(erun)))
            goto done;
        printf("encoder arena %.2f MB\n", if_run_arena_bytes(erun) / 1e6);
    }

    if (check(if_run_new(dec, Hp, Wp, &drun), "planning decoder", if_last_error())) goto done;
    printf("decoder arena %zu bytes (%.2f MB) for %dx%d, %d thread(s)\n", if_run_arena_bytes(drun),
           if_run_arena_bytes(drun) / 1e6, Hp, Wp, opt.n_threads);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "feat%d.npy", i);
        if (i > 0 && load_npy(case_dir, name, &feats[i])) goto done;
        const float *f = NULL;
        size_t bytes = (size_t)feats[i].count * sizeof(float);
        char fname[4] = {'F', (char)('1' + i), 0};
        if (have_image) {
            int64_t dims[4];
            int rank;
            if (check(if_run_output(erun, fname, &f, dims, &rank), "encoder output",
                      if_last_error()))
                goto done;
            failures += compare_nchw(fname, f, &feats[i]);
        } else {
            /* NCHW -> HWC once, kept for the decoder. */
            int64_t C = feats[i].shape[1], H = feats[i].shape[2], W = feats[i].shape[3];
            float *t = malloc(bytes), *src = feats[i].data;
            for (int64_t c = 0; c < C; c++)
                for (int64_t p = 0; p < H * W; p++) t[p * C + c] = src[c * H * W + p];
            enc_feats[i] = t;
            f = t;
        }
        if (check(if_run_set_input(drun, fname, f, bytes), "decoder input", if_run_error(drun)))
            goto done;
    }
    if (check(if_run_image(drun), "decoder per-image part", if_run_error(drun))) goto done;
    prev_mask = calloc((size_t)Hp * Wp, 1);

    for (int k = 0;; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s/logits_%d.npy", case_dir, k);
        if (!file_exists(name)) break;
        npy_array lab = {0}, roi = {0}, ref = {0};
        int32_t roi32[4];
        snprintf(name, sizeof name, "ref_label_%d.npy", k);
        if (load_npy(case_dir, name, &lab)) goto done;
        snprintf(name, sizeof name, "%s/roi_%d.npy", case_dir, k);
        int have_roi = file_exists(name);
        if (have_roi) {
            snprintf(name, sizeof name, "roi_%d.npy", k);
            if (load_npy(case_dir, name, &roi)) goto done;
            for (int j = 0; j < 4; j++) roi32[j] = (int32_t)((int64_t *)roi.data)[j];
            npy_free(&roi);
            /* Our zoom-in rule, from the previous step's reference mask and
             * this step's labels, must give the recorded ROI. */
            if (prev_mask) {
                int32_t mine[4];
                if_zoom_roi(dec, prev_mask, lab.data, Hp, Wp, mine);
                int same = !memcmp(mine, roi32, sizeof mine);
                printf("step %d: roi [%d,%d,%d,%d], ours [%d,%d,%d,%d]  %s\n", k, roi32[0],
                       roi32[1], roi32[2], roi32[3], mine[0], mine[1], mine[2], mine[3],
                       same ? "ok" : "FAIL");
                failures += !same;
            }
        }
        snprintf(name, sizeof name, "logits_%d.npy", k);
        if (load_npy(case_dir, name, &ref)) goto done;
        const float *lg;
        int64_t dims[4];
        int rank;
        if (check(if_run_set_input(drun, "ref_label", lab.data, (size_t)lab.count), "ref_label",
                  if_run_error(drun)) ||
            check(if_run_set_input(drun, "roi", have_roi ? roi32 : NULL, sizeof roi32), "roi",
                  if_run_error(drun)) ||
            check(if_run_click(drun), "running decoder", if_run_error(drun)) ||
            check(if_run_output(drun, "logits", &lg, dims, &rank), "decoder output",
                  if_last_error())) {
            npy_free(&lab);
            npy_free(&ref);
            goto done;
        }
        const float *r = ref.data;
        int64_t HW = (int64_t)Hp * Wp;
        double max_err = 0, max_ref = 0;
        long diff = 0, bad_diff = 0;
        for (int64_t p = 0; p < HW; p++) {
            double a0 = lg[p * 2], a1 = lg[p * 2 + 1], b0 = r[p], b1 = r[HW + p];
            double e = fmax(fabs(a0 - b0), fabs(a1 - b1));
            if (!(e <= max_err)) max_err = e;
            max_ref = fmax(max_ref, fmax(fabs(b0), fabs(b1)));
            if ((a1 > a0) != (b1 > b0)) {
                diff++;
                if (fabs(b1 - b0) > MARGIN_TOL) bad_diff++;
            }
        }
        double rel = max_ref > 0 ? max_err / max_ref : max_err;
        int ok = rel <= REL_TOL && bad_diff == 0;
        printf("step %d%s: max|err| %.3e  rel %.3e  mask diff %ld px  %s\n", k,
               have_roi ? " (roi)" : "", max_err, rel, diff, ok ? "ok" : "FAIL");
        failures += !ok;
        /* The reference prediction of this step, for the next step's ROI. */
        for (int64_t q = 0; q < HW; q++) prev_mask[q] = r[HW + q] > r[q];
        npy_free(&lab);
        npy_free(&ref);
    }
    rc = failures ? 1 : 0;
    printf("%s: %s\n", case_dir, rc ? "FAIL" : "pass");

done:
    for (int i = 0; i < 4; i++) {
        npy_free(&feats[i]);
        free(enc_feats[i]);
    }
    npy_free(&input);
    free(ours_input);
    free(prev_mask);
    if_run_free(erun);
    if_run_free(drun);
    if_model_free(enc);
    if_model_free(dec);
cleanup_tmp:
    if (made_tmp) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "if-golden: could not remove %s\n", tmpdir);
    }
    return rc;
}
