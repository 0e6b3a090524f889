/* interformer -- the command-line tool of InterFormer-C, built on the public
 * API only (interformer.h); images are read and written with stb_image and
 * stb_image_write (examples only: the library never touches image files).
 *
 *   interformer encode  IMAGE -o FEATURES [--f16]
 *   interformer segment (IMAGE|FEATURES) --click X,Y,+ [--click X,Y,- ...] -o MASK.png|OUT.json
 *                       [--overlay OUT.png [--image IMAGE]] [--prob OUT.png] [--logits OUT.npy]
 *   interformer info    FILE
 *   interformer eval    DATASET_DIR [--max-clicks N] [--out R.json] [--csv R.csv] [--svg R.svg]
 *                       [--limit N]   (examples/eval.c)
 *
 * The model: --model PREFIX (PREFIX.encoder.ifg + PREFIX.decoder.ifg), or
 * --encoder E / --decoder D; without either, the bundled default model,
 * PREFIX = $IF_MODEL if set, else IF_DEFAULT_MODEL (compiled in by the
 * Makefile: build/models/default in the source tree, or
 * $(PREFIX)/share/interformer/models/default for an installed binary).
 *
 * Errors: one line on stderr, "interformer: <what>: <detail>", and exit
 * status 1 for runtime and input errors, 2 for usage errors. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "batch.h"
#include "common/cli.h"
#include "common/coco_json.h"
#include "common/npy.h"
#include "common/outfile.h"
#include "common/progress.h"
#include "eval.h"
#include "interformer.h"
#include "platform/platform.h"

#ifndef IF_DEFAULT_MODEL
#define IF_DEFAULT_MODEL "/usr/local/share/interformer/models/default"
#endif
#ifndef IF_VERSION
#define IF_VERSION "unknown"
#endif

/* model.identity of tests/data/golden/tiny_vit/model.pth: a tiny ViT with
 * random weights that the tests run on. Files of this model get a note
 * saying their masks are meaningless. */
#define PLACEHOLDER_IDENTITY "b0a74940cb83e6c50a23fc42c54261939874436c6583b6c7cc5d4f09ab0b3f41"

#define PATH_CAP 4096

/* The working resolution of encode and segment when --max-side is not
 * given: the longer side at most this many pixels (README "Working
 * resolution" has the measurements behind it). eval keeps native size, as
 * the papers measure. */
#define CLI_MAX_SIDE 1024
#define STR_(x)      #x
#define XSTR(x)      STR_(x)

/* --------------------------------------------------------------- options */

/* The options every model-using command takes, in its argument struct. */
typedef struct {
    const char *model, *encoder, *decoder;
    int threads;      /* 0: the library's default */
    size_t mem_limit; /* --mem-limit, bytes; 0 = the library's automatic budget */
    int max_side;     /* --max-side: the working resolution (0 = native); -1: not given */
} model_opts;

#define MO(field) offsetof(model_opts, field)

/* Parsed by every model-using command; 'interformer --help' shows them,
 * except --max-side: each command's help says what it means there. */
static const cli_opt model_rows[] = {
    CLI_ROW(CLI_STR, MO(model), "--model PREFIX",
            "PREFIX.encoder.ifg and PREFIX.decoder.ifg, as written by\n"
            "'python3 -m converter CHECKPOINT -o DIR --name NAME'"),
    CLI_ROW(CLI_STR, MO(encoder), "--encoder FILE", NULL),
    CLI_ROW(CLI_STR, MO(decoder), "--decoder FILE", NULL),
    CLI_DOC_ROW("--encoder FILE, --decoder FILE",
                "the two graph files separately (override --model)"),
    CLI_INT_ROW(MO(threads), "--threads N", "worker threads (default 1)", 1, 1024,
                "a number from 1 to 1024"),
    {.kind = CLI_SIZE,
     .off = MO(mem_limit),
     .spec = "--mem-limit SIZE",
     .help = "the most one step (loading, encoding, a session) may\n"
             "allocate, e.g. 4G or 512M (1G = 10^9 bytes); over it\n"
             "the command fails with the figures instead of running\n"
             "out of memory (default: 7/8 of what the machine can\n"
             "give now)",
     .expect = "a size such as 4G, 512M or 1000000"},
    CLI_INT_ROW(MO(max_side), "--max-side N", NULL, 0, 32768,
                "0 (native size) or a number of pixels up to 32768"),
    CLI_END_ROW,
};

/* A command's model options: one row in its help. */
#define MODEL_ROWS(T, s, h)                                                                        \
    { .kind = CLI_TABLE, .off = offsetof(T, mo), .spec = (s), .help = (h), .sub = model_rows }
#define MODEL_ENC_DEC                                                                              \
    "--model PREFIX | --encoder FILE --decoder FILE, --threads N, --mem-limit SIZE"
#define MODEL_SEE "the model (see 'interformer --help')"

/* ------------------------------------------------------------------ help */

static const char help_main[] =
    "usage: interformer <command> [options]\n"
    "\n"
    "Interactive image segmentation with InterFormer (ICCV 2023).\n"
    "\n"
    "commands:\n"
    "  encode   IMAGE -o FEATURES      run the encoder once, save the features\n"
    "  segment  IMAGE|FEATURES --click X,Y,+|- ... -o MASK.png|.pgm\n"
    "                                  apply clicks in order, write the mask\n"
    "                                  (or COCO JSON: -o OUT.json)\n"
    "  info     FILE                   describe a graph (.ifg) or feature file\n"
    "  eval     DATASET_DIR            the standard click-simulation benchmark:\n"
    "                                  NoC@85/90, mIoU per click, time per click\n"
    "  help     [COMMAND]              this text, or a command's\n"
    "\n"
    "'interformer COMMAND --help' describes a command. --version prints the version.\n"
    "\n"
    "model (encode, segment, eval):\n";

static const char help_main_model[] =
    "  Without --model, --encoder and --decoder: the bundled default model,\n"
    "  PREFIX = $IF_MODEL if set, else\n"
    "    %s\n"
    "  The bundled default model is a small demo InterFormer (4.2 M parameters)\n"
    "  trained from scratch in 88 CPU minutes on 400 COCO images\n"
    "  (models/README.md): it follows clicked objects but needs many clicks, far\n"
    "  from the paper's models. For those, convert an official checkpoint\n"
    "  (python3 -m converter) and give --model PREFIX.\n"
    "\n"
    "Errors print one line 'interformer: <what>: <detail>' on stderr; the exit\n"
    "status is 1 for runtime and input errors, 2 for usage errors.\n";

typedef struct {
    model_opts mo;
    const char *input, *output, *list, *shard;
    int f16;
} encode_args;

#define ENC(field) offsetof(encode_args, field)

static const cli_opt encode_rows[] = {
    CLI_TEXT_ROW("\n"
                 "Runs the encoder (the heavy part, once per image) on IMAGE and saves the\n"
                 "features, the image size and the model's identity to FEATURES (format\n"
                 "format/FEATURES.md), for 'interformer segment FEATURES' later, possibly on\n"
                 "another machine.\n"
                 "\n"),
    CLI_DOC_ROW("IMAGE", "any image stb_image reads (PNG, JPEG, BMP, TGA, GIF,\n"
                         "PSD, HDR, PIC, PNM); used as RGB"),
    CLI_ROW(CLI_STR, ENC(output), "-o, --output FILE", "the feature file to write (atomically)"),
    CLI_ROW(CLI_FLAG, ENC(f16), "--f16",
            "store values as IEEE half floats: half the size,\n"
            "rounded (default: float32, exact)"),
    CLI_DOC_ROW("--max-side N",
                "the working resolution: the model sees the image\n"
                "area-averaged to N pixels on its longer side when it\n"
                "is longer (default " XSTR(
                    CLI_MAX_SIDE) "; 0 = native size); the file\n"
                                  "records both sizes, and 'segment FEATURES' takes clicks\n"
                                  "and gives masks in the image's own pixels"),
    MODEL_ROWS(encode_args, "--model PREFIX | --encoder FILE, --threads N, --mem-limit SIZE",
               "the model (see 'interformer --help'; only the encoder\n"
               "is loaded)"),
    CLI_TEXT_ROW("\n"
                 "Prints one line: image size, padded size, file size, encoding time.\n"
                 "\n"
                 "Many images (docs/batch-encoding.md): each to OUTDIR/STEM.iff (STEM: the\n"
                 "image's file name without its extension), skipping those whose feature file\n"
                 "is up to date (it loads, checksum right, and is of this model and of the\n"
                 "image at its size now), so that a run stopped at any point and started again\n"
                 "finishes the rest.\n"),
    CLI_ROW(CLI_STR, ENC(list), "--list FILE",
            "the images: a path a line, relative ones relative to\n"
            "FILE's folder; blank lines and lines starting with #\n"
            "skipped"),
    CLI_DOC_ROW("FOLDER", "or the images of a folder (names ending in an image\n"
                          "extension, not starting with '.'), in name order"),
    CLI_DOC_ROW("-o, --output OUTDIR", "made when missing"),
    CLI_ROW(CLI_STR, ENC(shard), "--shard I/N",
            "only images k (0-based, in list order) with k mod N = I,\n"
            "0 <= I < N: N runs, e.g. on N machines, share the list\n"
            "without writing the same file; 'slurm' takes I and N\n"
            "from a Slurm job array's environment"),
    CLI_TEXT_ROW("Two images with the same STEM are refused before any work. Prints one line\n"
                 "per image (encoded, skipped or FAILED and why) and a summary; an image that\n"
                 "fails does not stop the others, but the exit status is then 1. SIGTERM and\n"
                 "SIGINT stop it after the file being written.\n"),
    CLI_END_ROW,
};

static const cli_command encode_cmd = {
    "encode",
    "interformer encode IMAGE -o FEATURES [--f16] [model options]\n"
    "       interformer encode (--list FILE | FOLDER) -o OUTDIR [--shard I/N] [--f16]\n"
    "                          [model options]\n",
    encode_rows, ENC(input)};

typedef struct {
    model_opts mo;
    const char *input, *output, *overlay, *logits, *prob, *image, *tolerance;
    cli_list clicks;
    int verbose, polygons;
} segment_args;

#define SEG(field) offsetof(segment_args, field)

/* The --next-object row's spec: the mark it leaves among the clicks is this
 * very string (CLI_MARK), told apart from a click's value by its address. */
static const char next_object[] = "--next-object";

static const cli_opt segment_rows[] = {
    CLI_TEXT_ROW("\n"
                 "Segments one object: the clicks are applied in order, as a user would click,\n"
                 "each refining the previous prediction.\n"
                 "\n"),
    CLI_DOC_ROW("IMAGE | FEATURES", "an image stb_image reads, or a feature file written by\n"
                                    "'interformer encode' (recognised by its contents, not\n"
                                    "its name; then only the decoder is loaded)"),
    CLI_ROW(CLI_LIST, SEG(clicks), "--click X,Y,S",
            "X = column, Y = row (pixels of the original image,\n"
            "0-based), S = '+' (the object is here) or '-' (it is\n"
            "not); repeat for more clicks"),
    CLI_ROW(CLI_MARK, SEG(clicks), next_object,
            "starts another object: the clicks after it are the\n"
            "new object's, and its mask leaves out the pixels of\n"
            "the objects before it; -o X.png then writes the\n"
            "instance map (0 = background, k = object k), -o X.json\n"
            "one annotation per object (at most 255 objects)"),
    CLI_ROW(CLI_STR, SEG(output), "-o, --output FILE",
            "the mask: 8-bit gray, 255 = object, 0 = not, at the\n"
            "image's size; or, for a name ending in .json, COCO\n"
            "JSON (the image, one annotation with the mask as COCO\n"
            "RLE, its area and bbox, category 1 \"object\"), which\n"
            "annotation tools and pycocotools read"),
    CLI_ROW(CLI_FLAG, SEG(polygons), "--polygons",
            "with -o X.json: the segmentation as polygons (outer\n"
            "outlines on pixel corners; COCO polygons cannot mark\n"
            "holes, so holes are filled) instead of RLE"),
    CLI_ROW(CLI_STR, SEG(tolerance), "--tolerance PX",
            "with --polygons: how far (pixels) a simplified outline\n"
            "may stray from the mask's; 0 = exact (default 1)"),
    CLI_ROW(CLI_STR, SEG(overlay), "--overlay FILE",
            "the image with the mask tinted red, its boundary in\n"
            "yellow and the clicks as green (+) and red (-) dots"),
    CLI_ROW(CLI_STR, SEG(image), "--image IMAGE",
            "the image, for --overlay when the input is FEATURES"),
    CLI_ROW(CLI_STR, SEG(prob), "--prob FILE", "foreground probability as 8-bit gray (255 = 1.0)"),
    CLI_ROW(CLI_STR, SEG(logits), "--logits FILE",
            "the last prediction's logits on the model's padded grid\n"
            "(the working size, padded), .npy float32 (padded_h,\n"
            "padded_w, 2): background, foreground"),
    CLI_DOC_ROW("--max-side N",
                "the working resolution for IMAGE input: the model sees\n"
                "the image area-averaged to N pixels on its longer side\n"
                "when it is longer (default " XSTR(
                    CLI_MAX_SIDE) "; 0 = native size, the\n"
                                  "papers' protocol); clicks and outputs stay in the\n"
                                  "image's own pixels, the mask upsampled from the logits"),
    CLI_ROW(CLI_FLAG, SEG(verbose), "-v, --verbose", "also print the session's memory"),
    MODEL_ROWS(segment_args, MODEL_ENC_DEC, MODEL_SEE),
    CLI_TEXT_ROW("\n"
                 "Images are written as PNG, or JPEG / BMP / TGA for names ending in .jpg,\n"
                 ".jpeg, .bmp, .tga. COCO JSON: \"file_name\" is IMAGE's name (with FEATURES,\n"
                 "--image's, else the feature file's); an empty mask gives no annotation.\n"
                 "Prints one line: size, clicks, mask pixels, time per click (and the\n"
                 "encoding time when IMAGE was encoded).\n"),
    CLI_END_ROW,
};

static const cli_command segment_cmd = {
    "segment",
    "interformer segment (IMAGE|FEATURES) --click X,Y,+|- [--click ...] -o MASK.png\n"
    "       interformer segment ... -o OUT.json [--polygons [--tolerance PX]]\n"
    "                           [--overlay OUT.png [--image IMAGE]] [--prob OUT.png]\n"
    "                           [--logits OUT.npy] [model options]\n",
    segment_rows, SEG(input)};

typedef struct {
    const char *path;
} info_args;

static const cli_opt info_rows[] = {
    CLI_TEXT_ROW("\n"
                 "Describes a graph file (.ifg: kind, name, identity, parameters, metadata,\n"
                 "inputs and outputs) or a feature file (image size, padded size, levels,\n"
                 "identity of the model that made it). The file is fully validated first.\n"),
    CLI_END_ROW,
};

static const cli_command info_cmd = {"info", "interformer info FILE\n", info_rows,
                                     offsetof(info_args, path)};

typedef struct {
    model_opts mo;
    const char *dir, *json, *csv, *svg;
    int max_clicks, limit, per_object, allow_skip, quiet;
} eval_args;

#define EV(field) offsetof(eval_args, field)

static const cli_opt eval_rows[] = {
    CLI_TEXT_ROW("\n"
                 "The standard interactive-segmentation benchmark (RITM, InterFormer papers):\n"
                 "for each instance (an image and one object's mask) the image is encoded once,\n"
                 "then up to N clicks are simulated, each at the point of the current mask's\n"
                 "errors farthest from their border (positive in a missed part of the object,\n"
                 "negative in a wrongly added part), and the IoU with the mask is taken after\n"
                 "each click, leaving out the mask's 'ignore' pixels. When no error is left, no\n"
                 "more clicks are made and the IoU stays.\n"
                 "\n"),
    CLI_DOC_ROW("DATASET_DIR", "one of these layouts (images and masks matched by file\n"
                               "stem; .jpg, .jpeg, .png, .bmp):\n"
                               "  data_GT/ + boundary_GT/   GrabCut\n"
                               "  img/ + gt/                COCO_MVal, Berkeley, DAVIS\n"
                               "  images/ + masks/\n"
                               "  list/val.txt              the names to use, one per\n"
                               "            line, in one of the folder pairs above or:\n"
                               "  NAME.jpg + NAME#001.png   one folder (the official\n"
                               "            InterFormer conversion)\n"
                               "Masks are read by their stored values: palette PNGs by\n"
                               "index (0 = background, 255 = ignore, others = objects:\n"
                               "DAVIS, PASCAL VOC); gray label maps with values 0..63\n"
                               "and 255 likewise (0/1 masks, the official conversion);\n"
                               "other gray masks by threshold (> 128 = object, 128 =\n"
                               "ignore: GrabCut's band); colour masks by colour (black =\n"
                               "background, (224,224,192) = ignore). The summary says\n"
                               "how the masks were read."),
    CLI_INT_ROW(EV(max_clicks), "--max-clicks N",
                "clicks per instance, 1.." XSTR(EVAL_MAX_CLICKS_LIMIT) " (default 20)", 1,
                EVAL_MAX_CLICKS_LIMIT, "a number from 1 to " XSTR(EVAL_MAX_CLICKS_LIMIT)),
    CLI_INT_ROW(EV(limit), "--limit N", "only the first N instances (in name order)", 1, 1000000000,
                "a positive number"),
    CLI_ROW(CLI_FLAG, EV(per_object), "--per-object",
            "one instance per object of a multi-object mask (named\n"
            "NAME#ID); by default all objects of a mask together"),
    CLI_ROW(CLI_FLAG, EV(allow_skip), "--allow-skip",
            "evaluate the rest when some instances cannot be\n"
            "evaluated (by default that is an error, before any\n"
            "encoding)"),
    CLI_ROW(CLI_STR, EV(json), "-o, --out FILE",
            "a JSON report: the summary, the mIoU curve, timings and\n"
            "one row per instance (IoU after each click, the clicks)"),
    CLI_ROW(CLI_STR, EV(csv), "--csv FILE",
            "one row per instance: name, width, height, NoC@85,\n"
            "NoC@90, the IoU after each click"),
    CLI_ROW(CLI_STR, EV(svg), "--svg FILE", "a line plot of mIoU against the number of clicks"),
    CLI_ROW(CLI_FLAG, EV(quiet), "-q, --quiet", "no progress lines on stderr"),
    CLI_DOC_ROW("--max-side N", "encode each image at a working resolution of N pixels on\n"
                                "its longer side (default 0: native size, the protocol\n"
                                "the papers report)"),
    MODEL_ROWS(eval_args, MODEL_ENC_DEC, MODEL_SEE),
    CLI_TEXT_ROW("\n"
                 "Prints on stdout: how many instances were evaluated of how many found,\n"
                 "NoC@85 and NoC@90 (mean number of clicks to reach IoU 0.85 / 0.90; N when\n"
                 "never reached), failures (instances never reaching 0.90 within N clicks),\n"
                 "mIoU after 1, 5 and 20 clicks, seconds per click (the decoder only), PIE\n"
                 "(seconds per click per image pixel, the mean over clicks; also per megapixel)\n"
                 "and the encoder's seconds per image. Progress goes to stderr.\n"
                 "Instances that cannot be evaluated (an image without a mask or the reverse, an\n"
                 "unreadable file, a mask of another size, a mask without object) are an error\n"
                 "listing them all, unless --allow-skip: then they are skipped with a warning,\n"
                 "listed in the JSON, and the summary marks the result PARTIAL (as --limit does).\n"
                 "The reports are written at the end, each whole or not at all; a report path\n"
                 "that is a dataset or model file is refused before the run.\n"),
    CLI_END_ROW,
};

static const cli_command eval_cmd = {
    "eval",
    "interformer eval DATASET_DIR [--max-clicks N] [--limit N] [--per-object]\n"
    "                        [--allow-skip] [--out R.json] [--csv R.csv] [--svg R.svg]\n"
    "                        [-q] [model options]\n",
    eval_rows, EV(dir)};

/* ----------------------------------------------------------------- model */

/* Paths of the graph files a command needs (NULL when not needed). A path
 * that is needed but not given is a usage error; with none of --model,
 * --encoder, --decoder the default model is used. */
typedef struct {
    char enc[PATH_CAP], dec[PATH_CAP];
    int is_default;
} model_paths;

static int resolve_model(const char *cmd, const model_opts *mo, int need_enc, int need_dec,
                         model_paths *mp) {
    memset(mp, 0, sizeof *mp);
    const char *prefix = mo->model;
    if (!prefix && !mo->encoder && !mo->decoder) {
        const char *env = getenv("IF_MODEL");
        prefix = env && *env ? env : IF_DEFAULT_MODEL;
        mp->is_default = 1;
    }
    struct {
        int need;
        const char *given, *suffix, *opt;
        char *dst;
    } f[2] = {{need_enc, mo->encoder, ".encoder.ifg", "--encoder", mp->enc},
              {need_dec, mo->decoder, ".decoder.ifg", "--decoder", mp->dec}};
    for (int k = 0; k < 2; k++) {
        if (!f[k].need) continue;
        int n;
        if (f[k].given)
            n = snprintf(f[k].dst, PATH_CAP, "%s", f[k].given);
        else if (prefix)
            n = snprintf(f[k].dst, PATH_CAP, "%s%s", prefix, f[k].suffix);
        else
            return cli_usage(cmd, "this needs the %s too: give %s FILE or --model PREFIX",
                             k ? "decoder" : "encoder", f[k].opt);
        if (n < 0 || n >= PATH_CAP) return cli_usage(cmd, "model path too long");
    }
    return 0;
}

/* Loads a graph file that must be of `kind`. Returns 0 or an exit status. */
static int load_model(const char *path, if_model_kind kind, const if_options *opt, int is_default,
                      if_model **out) {
    const char *role = kind == IF_MODEL_ENCODER ? "loading encoder" : "loading decoder";
    if_status s = if_model_load(path, opt, out);
    if (s != IF_OK) {
        if (is_default && s == IF_ERR_IO)
            return cli_fail(role, "%s: %s (the default model: set IF_MODEL or give --model PREFIX)",
                            if_status_str(s), if_last_error());
        return cli_fail_api(role, s, if_last_error());
    }
    if_model_info info;
    if_model_get_info(*out, &info);
    if (info.kind != kind) {
        if_model_free(*out);
        *out = NULL;
        return cli_fail(role, "%s is %s graph file", path,
                        info.kind == IF_MODEL_ENCODER ? "an encoder" : "a decoder");
    }
    return 0;
}

/* The library options of --threads and --mem-limit. */
static if_options model_options(const model_opts *mo) {
    if_options opt = if_default_options();
    if (mo->threads) opt.n_threads = mo->threads;
    opt.mem_limit = mo->mem_limit;
    return opt;
}

/* Loads the decoder (when dec is not NULL), then the encoder (when enc is
 * not NULL) of mp; both: they must be of the same model. Returns 0 or an
 * exit status (what is loaded is freed by the caller either way). */
static int load_models(const model_paths *mp, const if_options *opt, if_model **enc,
                       if_model **dec) {
    int rc;
    if (dec && (rc = load_model(mp->dec, IF_MODEL_DECODER, opt, mp->is_default, dec))) return rc;
    if (enc && (rc = load_model(mp->enc, IF_MODEL_ENCODER, opt, mp->is_default, enc))) return rc;
    if (!enc || !dec) return 0;
    if_model_info einfo, dinfo;
    if_model_get_info(*enc, &einfo);
    if_model_get_info(*dec, &dinfo);
    if (strcmp(einfo.identity, dinfo.identity))
        return cli_fail("model",
                        "%s: the encoder (identity %.12s...) and the decoder (identity %.12s...) "
                        "are of different models",
                        if_status_str(IF_ERR_MISMATCH), einfo.identity, dinfo.identity);
    return 0;
}

/* ----------------------------------------------------------------- files */

static const char feat_magic[8] = {'I', 'F', 'F', 'E', 'A', 'T', 0, 0};
static const char graph_magic[8] = {'I', 'F', 'G', 'R', 'A', 'P', 'H', 0};

/* Reads up to 64 bytes of the file's start. Returns 0 or an exit status. */
static int read_head(const char *path, unsigned char head[64], size_t *n) {
    FILE *f = ifp_fopen(path, "rb");
    if (!f) return cli_fail(path, "cannot open: %s", strerror(errno));
    *n = fread(head, 1, 64, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) return cli_fail(path, "cannot read: %s", strerror(err));
    return 0;
}

static int is_features(const unsigned char *head, size_t n) {
    return n >= 8 && !memcmp(head, feat_magic, 8);
}

static long long file_size(const char *path) {
    ifp_stat_info st;
    return ifp_stat(path, &st) == 0 ? (long long)st.size : -1;
}

typedef struct {
    int w, h;
    unsigned char *rgb; /* w * h * 3, from stbi_load */
} image;

static int load_image(const char *path, image *img) {
    FILE *f = ifp_fopen(path, "rb");
    if (!f) return cli_fail(path, "cannot open: %s", strerror(errno));
    int comp;
    img->rgb = stbi_load_from_file(f, &img->w, &img->h, &comp, 3);
    if (!img->rgb) {
        const char *why = stbi_failure_reason();
        /* stb_image decodes a PNG of up to 2^30 bytes of pixels, other
         * formats up to 2^31, and its own size query refuses the same
         * files: say what the limit is, with a PNG's size from its header. */
        unsigned char hd[24];
        rewind(f);
        size_t got = fread(hd, 1, sizeof hd, f);
        fclose(f);
        if (why && !strcmp(why, "too large")) {
            if (got == sizeof hd && !memcmp(hd, "\x89PNG\r\n\x1a\n", 8) &&
                !memcmp(hd + 12, "IHDR", 4))
                return cli_fail(
                    path,
                    "%lux%lu pixels is more than stb_image decodes (a PNG of up to 1 GB "
                    "of pixels): scale the image down first",
                    (unsigned long)hd[16] << 24 | (unsigned long)hd[17] << 16 | hd[18] << 8 |
                        hd[19],
                    (unsigned long)hd[20] << 24 | (unsigned long)hd[21] << 16 | hd[22] << 8 |
                        hd[23]);
            return cli_fail(
                path, "too large for stb_image to decode (up to 2 GB of pixels): scale the image "
                      "down first");
        }
        return cli_fail(path, "not an image stb_image can read: %s", why);
    }
    fclose(f);
    return 0;
}

/* stb_image_write's sink: into an out_file, which remembers a failure. */
static void write_sink(void *ctx, void *data, int size) { out_write(ctx, data, (size_t)size); }

/* Writes an 8-bit image (comp 1 = gray, 3 = RGB), format by extension,
 * through out_file (outfile.h): the whole file or no change. */
static int write_image(const char *path, int w, int h, int comp, const unsigned char *px) {
    out_file o;
    char err[512];
    if (out_open(&o, path, err, sizeof err)) return cli_fail(path, "%s", err);
    int ok;
    static const char *const jpeg[] = {".jpg", ".jpeg"}, *const bmp[] = {".bmp"},
                             *const tga[] = {".tga"}, *const pnm[] = {".pgm", ".ppm", ".pnm"};
    if (cli_ext_len(path, pnm, 3)) { /* binary PGM (gray) or PPM (RGB): header, then rows */
        char head[48];
        const int n = snprintf(head, sizeof head, "P%c\n%d %d\n255\n", comp == 1 ? '5' : '6', w, h);
        out_write(&o, head, (size_t)n);
        out_write(&o, px, (size_t)w * h * comp);
        ok = 1;
    } else if (cli_ext_len(path, jpeg, 2))
        ok = stbi_write_jpg_to_func(write_sink, &o, w, h, comp, px, 95);
    else if (cli_ext_len(path, bmp, 1))
        ok = stbi_write_bmp_to_func(write_sink, &o, w, h, comp, px);
    else if (cli_ext_len(path, tga, 1))
        ok = stbi_write_tga_to_func(write_sink, &o, w, h, comp, px);
    else
        ok = stbi_write_png_to_func(write_sink, &o, w, h, comp, px, w * comp);
    if (!ok) {
        out_discard(&o);
        return cli_fail(path, "cannot write: stb_image_write could not encode the image");
    }
    if (out_commit(&o, err, sizeof err)) return cli_fail(path, "%s", err);
    return 0;
}

/* The working resolution a command uses: --max-side, else the CLI's. */
static int max_side_of(const model_opts *mo) {
    return mo->max_side >= 0 ? mo->max_side : CLI_MAX_SIDE;
}

/* Encodes img at max_side with a progress bar on a terminal (for long
 * encodes). Returns the library's status. */
static if_status encode_image(const if_model *enc, const image *img, int max_side,
                              if_features **feat) {
    progress_bar bar;
    progress_start(&bar, "encoding");
    if_encode_options eo = if_default_encode_options();
    eo.max_side = max_side;
    eo.progress = progress_update;
    eo.user = &bar;
    if_status s = if_encode(enc, img->rgb, img->w, img->h, (size_t)img->w * 3, &eo, feat);
    progress_end(&bar);
    return s;
}

/* "model at WxH, " when the model saw the image resized, else "". */
static const char *work_note(const if_features_info *fi, char *buf, size_t cap) {
    if (fi->work_w == fi->width && fi->work_h == fi->height) return "";
    snprintf(buf, cap, "model at %dx%d, ", fi->work_w, fi->work_h);
    return buf;
}

/* ---------------------------------------------------------------- encode */

static int cmd_encode(int argc, char **argv) {
    const char *cmd = "encode";
    encode_args a = {.mo.max_side = -1};
    int rc;
    if (!cli_parse(&encode_cmd, &a, argc, argv, &rc)) return rc;
    const char *input = a.input, *output = a.output, *list = a.list, *shard = a.shard;
    const model_opts mo = a.mo;
    int f16 = a.f16;
    ifp_stat_info in_st;
    int folder = !list && input && ifp_stat(input, &in_st) == 0 && in_st.kind == IFP_DIR;
    if (list && input) return cli_usage(cmd, "give --list FILE or IMAGE, not both");
    if (!input && !list) return cli_usage(cmd, "no IMAGE given (or --list FILE, or a FOLDER)");
    if (!output)
        return cli_usage(cmd, list || folder ? "no output folder given (-o OUTDIR)"
                                             : "no output file given (-o FEATURES)");
    if (mo.decoder) return cli_usage(cmd, "encode uses no decoder (--decoder)");
    if (shard && !list && !folder)
        return cli_usage(cmd, "--shard is for many images: --list FILE or a FOLDER");
    model_paths mp;
    if ((rc = resolve_model(cmd, &mo, 1, 0, &mp))) return rc;
    if (list || folder) { /* examples/batch.c */
        batch_options bo = {.list = list,
                            .folder = folder ? input : NULL,
                            .out_dir = output,
                            .n_shards = 1,
                            .f16 = f16,
                            .max_side = max_side_of(&mo)};
        char err[512];
        if (shard && batch_parse_shard(shard, &bo.shard, &bo.n_shards, err, sizeof err))
            return cli_usage(cmd, "%s", err);
        batch *b = NULL;
        if_model *enc = NULL;
        if_options opt = model_options(&mo);
        if (!(rc = batch_open(&bo, &b)) && !(rc = load_models(&mp, &opt, &enc, NULL)))
            rc = batch_run(b, enc);
        if_model_free(enc);
        batch_free(b);
        return rc;
    }
    const char *ins[] = {input, mp.enc};
    if ((rc = cli_check_outputs(cmd, &output, 1, ins, 2))) return rc;

    image img = {0};
    if_model *enc = NULL;
    if_features *feat = NULL;
    if_options opt = model_options(&mo);
    if ((rc = load_image(input, &img)) || (rc = load_models(&mp, &opt, &enc, NULL))) goto done;
    double t0 = cli_now_ms();
    if_status s = encode_image(enc, &img, max_side_of(&mo), &feat);
    double t_enc = cli_now_ms() - t0;
    if (s != IF_OK) {
        rc = cli_fail_api("encoding", s, if_last_error());
        goto done;
    }
    s = if_features_save(feat, output, f16 ? IF_DTYPE_F16 : IF_DTYPE_F32);
    if (s != IF_OK) {
        rc = cli_fail_api("saving features", s, if_last_error());
        goto done;
    }
    if_features_info fi;
    if_features_get_info(feat, &fi);
    char note[64];
    printf("%s: %dx%d (%spadded %dx%d) -> %s: %s, %.2f MB, encoded in %.1f ms\n", input, img.w,
           img.h, work_note(&fi, note, sizeof note), fi.padded_w, fi.padded_h, output,
           f16 ? "f16" : "f32", file_size(output) / 1e6, t_enc);
done:
    if_features_free(feat);
    if_model_free(enc);
    stbi_image_free(img.rgb);
    return rc;
}

/* --------------------------------------------------------------- segment */

/* Parses "X,Y,+" or "X,Y,-" (decimal integers, no spaces). */
static int parse_click(const char *s, if_click *c) {
    long v[2];
    const char *p = s;
    for (int k = 0; k < 2; k++) {
        char *end;
        if (!(*p == '-' || *p == '+' || (*p >= '0' && *p <= '9'))) return -1;
        errno = 0;
        v[k] = strtol(p, &end, 10);
        if (errno || end == p || *end != ',' || v[k] < -1000000000L || v[k] > 1000000000L)
            return -1;
        p = end + 1;
    }
    if ((p[0] != '+' && p[0] != '-') || p[1]) return -1;
    c->x = (int)v[0];
    c->y = (int)v[1];
    c->positive = p[0] == '+';
    return 0;
}

static void put_px(unsigned char *rgb, int w, int h, int x, int y, const unsigned char col[3]) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    memcpy(rgb + ((size_t)y * w + x) * 3, col, 3);
}

/* The overlay: the image, the mask tinted 50% red, the mask's boundary
 * (pixels on either side of an object/background edge: 2 px) in yellow,
 * each click a dot, green for +, red for -, ringed in black. */
static unsigned char *make_overlay(const image *img, const uint8_t *mask, const if_click *clicks,
                                   int n_clicks) {
    int w = img->w, h = img->h;
    unsigned char *out = malloc((size_t)w * h * 3);
    if (!out) return NULL;
    static const unsigned char yellow[3] = {255, 230, 0}, green[3] = {0, 220, 0},
                               red[3] = {255, 0, 0}, black[3] = {0, 0, 0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * w + x;
            const unsigned char *src = img->rgb + p * 3;
            unsigned char *dst = out + p * 3;
            int m = mask[p] != 0;
            int edge = (x > 0 && (mask[p - 1] != 0) != m) ||
                       (x + 1 < w && (mask[p + 1] != 0) != m) ||
                       (y > 0 && (mask[p - w] != 0) != m) || (y + 1 < h && (mask[p + w] != 0) != m);
            if (edge)
                memcpy(dst, yellow, 3);
            else if (m) {
                dst[0] = (unsigned char)((src[0] + 255 + 1) / 2);
                dst[1] = (unsigned char)(src[1] / 2);
                dst[2] = (unsigned char)(src[2] / 2);
            } else
                memcpy(dst, src, 3);
        }
    int r = (w < h ? w : h) / 60;
    if (r < 3) r = 3;
    if (r > 10) r = 10;
    for (int k = 0; k < n_clicks; k++) {
        const if_click *c = &clicks[k];
        for (int dy = -r - 1; dy <= r + 1; dy++)
            for (int dx = -r - 1; dx <= r + 1; dx++) {
                int d2 = dx * dx + dy * dy;
                if (d2 <= r * r)
                    put_px(out, w, h, c->x + dx, c->y + dy, c->positive ? green : red);
                else if (d2 <= (r + 1) * (r + 1))
                    put_px(out, w, h, c->x + dx, c->y + dy, black);
            }
    }
    return out;
}

/* True when the decoder is of the placeholder default model. */
static int is_placeholder(const char *identity) { return !strcmp(identity, PLACEHOLDER_IDENTITY); }

/* segment --next-object: objects in one command (the instance map's ids
 * are 8-bit in the PNG). */
#define MAX_OBJECTS 255

static int cmd_segment(int argc, char **argv) {
    const char *cmd = "segment";
    segment_args a = {.mo.max_side = -1};
    const char **click_args = a.clicks.v = calloc((size_t)argc + 1, sizeof *click_args);
    if_click *clicks = calloc((size_t)argc + 1, sizeof *clicks);
    image img = {0};
    if_model *enc = NULL, *dec = NULL;
    if_features *feat = NULL;
    if_session *sess = NULL;
    if_annotation *ann = NULL;
    const uint8_t *masks[MAX_OBJECTS];
    int first[MAX_OBJECTS + 1];
    unsigned char *buf = NULL;
    float *pbuf = NULL;
    int rc = 0;
    if (!click_args || !clicks) {
        rc = cli_fail(cmd, "out of memory");
        goto done;
    }
    if (!cli_parse(&segment_cmd, &a, argc, argv, &rc)) goto done;
    const char *input = a.input, *output = a.output, *overlay = a.overlay, *logits = a.logits,
               *prob = a.prob, *image_path = a.image;
    const model_opts mo = a.mo;
    const int verbose = a.verbose;
    int n_clicks = a.clicks.n; /* less the --next-object marks, below */
    if (!input)
        rc = cli_usage(cmd, "no IMAGE or FEATURES given");
    else if (!output)
        rc = cli_usage(cmd, "no output file given (-o MASK.png)");
    else if (!n_clicks)
        rc = cli_usage(cmd, "no clicks given (--click X,Y,+)");
    static const char *const json_ext[] = {".json"};
    const int coco = output && cli_ext_len(output, json_ext, 1) != 0;
    float tolerance = 1.0f;
    if (!rc && (a.polygons || a.tolerance) && !coco)
        rc = cli_usage(cmd, "%s is for COCO JSON output (-o NAME.json)",
                       a.polygons ? "--polygons" : "--tolerance");
    else if (!rc && a.tolerance && !a.polygons)
        rc = cli_usage(cmd, "--tolerance is for --polygons");
    else if (!rc && a.tolerance) {
        char *end;
        double t = strtod(a.tolerance, &end);
        if (end == a.tolerance || *end || !(t >= 0 && t <= 1e6))
            rc = cli_usage(cmd, "bad --tolerance '%s': expected pixels, 0 to 1e6", a.tolerance);
        tolerance = (float)t;
    }
    /* The clicks, and where each object's start: --next-object marks stand
     * among them (CLI_MARK); click_args keeps the clicks only. */
    int n_objects = 1, most = 0;
    first[0] = 0;
    n_clicks = 0;
    for (int k = 0; !rc && k < a.clicks.n; k++) {
        if (click_args[k] == next_object) {
            if (n_clicks == first[n_objects - 1])
                rc = cli_usage(cmd, "--next-object after an object with no click");
            else if (n_objects == MAX_OBJECTS)
                rc =
                    cli_usage(cmd, "more than %d objects (the instance map is 8-bit)", MAX_OBJECTS);
            else
                first[n_objects++] = n_clicks;
        } else if (parse_click(click_args[k], &clicks[n_clicks])) {
            rc = cli_usage(cmd, "bad click '%s': expected X,Y,+ or X,Y,- (column, row, sign)",
                           click_args[k]);
        } else {
            click_args[n_clicks++] = click_args[k];
        }
    }
    first[n_objects] = n_clicks;
    if (!rc && n_objects > 1 && n_clicks == first[n_objects - 1])
        rc = cli_usage(cmd, "--next-object with no click after it");
    if (!rc && n_objects > 1 && (prob || logits))
        rc =
            cli_usage(cmd, "%s is for one object (no --next-object)", prob ? "--prob" : "--logits");
    for (int o = 0; o < n_objects; o++)
        if (first[o + 1] - first[o] > most) most = first[o + 1] - first[o];
    if (rc) goto done;

    /* The input: features or an image, told apart by the file's magic. */
    unsigned char head[64];
    size_t head_n;
    if ((rc = read_head(input, head, &head_n))) goto done;
    int from_features = is_features(head, head_n);
    if (!from_features && image_path) {
        rc = cli_usage(cmd, "--image is for FEATURES input; %s is an image already", input);
        goto done;
    }
    if (from_features && mo.max_side >= 0) {
        rc = cli_usage(cmd, "--max-side is for IMAGE input; %s was encoded at its own working size",
                       input);
        goto done;
    }
    if (from_features && overlay && !image_path) {
        rc = cli_usage(cmd, "--overlay with FEATURES input needs the image: add --image IMAGE");
        goto done;
    }
    model_paths mp;
    if ((rc = resolve_model(cmd, &mo, !from_features, 1, &mp))) goto done;
    {
        const char *outs[] = {output, overlay, prob, logits};
        const char *ins[] = {input, image_path, from_features ? NULL : mp.enc, mp.dec};
        if ((rc = cli_check_outputs(cmd, outs, 4, ins, 4))) goto done;
    }

    int W, H;
    if (from_features) {
        if_status s = if_features_load(input, &feat);
        if (s != IF_OK) {
            rc = cli_fail_api("loading features", s, if_last_error());
            goto done;
        }
        if_features_info fi;
        if_features_get_info(feat, &fi);
        W = fi.width;
        H = fi.height;
        if (image_path) {
            if ((rc = load_image(image_path, &img))) goto done;
            if (img.w != W || img.h != H) {
                rc = cli_fail(image_path, "the image is %dx%d but %s is of a %dx%d image", img.w,
                              img.h, input, W, H);
                goto done;
            }
        }
    } else {
        if ((rc = load_image(input, &img))) goto done;
        W = img.w;
        H = img.h;
    }
    for (int k = 0; k < n_clicks; k++)
        if (clicks[k].x < 0 || clicks[k].y < 0 || clicks[k].x >= W || clicks[k].y >= H) {
            rc = cli_fail("click", "%s is outside the %dx%d image (x 0..%d, y 0..%d)",
                          click_args[k], W, H, W - 1, H - 1);
            goto done;
        }

    if_options opt = model_options(&mo);
    /* Nothing is undone here: several objects keep the history they need,
     * not the default's (a 64-step history is 57 MB at 1024x768). */
    if (most > opt.max_clicks || n_objects > 1) opt.max_clicks = most;
    if ((rc = load_models(&mp, &opt, from_features ? NULL : &enc, &dec))) goto done;
    if_model_info dinfo;
    if_model_get_info(dec, &dinfo);

    double t_enc = -1;
    if (!from_features) {
        double t0 = cli_now_ms();
        if_status s = encode_image(enc, &img, max_side_of(&mo), &feat);
        t_enc = cli_now_ms() - t0;
        if (s != IF_OK) {
            rc = cli_fail_api("encoding", s, if_last_error());
            goto done;
        }
        /* On a camera photo the pixels are the largest block left: kept
         * only when the overlay needs them. */
        if (!overlay) {
            stbi_image_free(img.rgb);
            img.rgb = NULL;
        }
    }
    if_status s = if_features_check(dec, feat);
    if (s != IF_OK) {
        rc = cli_fail_api(from_features ? input : "features", s, if_last_error());
        goto done;
    }
    /* One object: a session. Several: an annotation, each object finished
     * before the next starts, so that it keeps its pixels. */
    if (n_objects == 1)
        s = if_session_new(dec, feat, &sess);
    else
        s = if_annotation_new(dec, feat, &ann);
    if (s != IF_OK) {
        rc = cli_fail_api("creating session", s, if_last_error());
        goto done;
    }
    double t_clicks = 0;
    for (int o = 0; o < n_objects; o++) {
        int id = 0;
        if (ann) {
            if ((s = if_annotation_add_object(ann, &id)) != IF_OK) {
                rc = cli_fail_api("next object", s, if_annotation_error(ann));
                goto done;
            }
            sess = if_annotation_object(ann, id);
        }
        for (int k = first[o]; k < first[o + 1]; k++) {
            double t0 = cli_now_ms();
            s = if_session_add_click(sess, clicks[k]);
            t_clicks += cli_now_ms() - t0;
            if (s != IF_OK) {
                char what[64];
                snprintf(what, sizeof what, "click %d (%s)", k + 1, click_args[k]);
                rc = cli_fail_api(what, s, if_session_error(sess));
                goto done;
            }
        }
        masks[o] = if_session_mask(sess); /* valid: the object gets no more calls */
        if (ann && (s = if_annotation_finish(ann, id)) != IF_OK) {
            rc = cli_fail_api("finishing an object", s, if_annotation_error(ann));
            goto done;
        }
    }
    if (ann) sess = NULL; /* the annotation's: freed with it */

    /* Outputs. */
    size_t n_px = (size_t)W * H;
    /* buf: the mask (all objects') as 0/255, then room for the probability
     * image or the instance map. */
    buf = malloc(prob || ann ? n_px * 2 : n_px);
    pbuf = prob ? malloc(n_px * sizeof *pbuf) : NULL;
    if (!buf || (prob && !pbuf)) {
        rc = cli_fail(cmd, "out of memory for a %dx%d image", W, H);
        goto done;
    }
    size_t fg = 0;
    for (size_t p = 0; p < n_px; p++) {
        int on = 0;
        for (int o = 0; o < n_objects; o++) on |= masks[o][p];
        buf[p] = on ? 255 : 0;
        fg += on != 0;
    }
    if (coco) {
        /* "file_name": the image's, as a dataset lists it. */
        const char *img_name = from_features && image_path ? image_path : input;
        coco_opts co = {ifp_path_base(img_name), a.polygons, tolerance};
        char err[512];
        if (coco_write(output, masks, n_objects, W, H, &co, err, sizeof err)) {
            rc = cli_fail(output, "%s", err);
            goto done;
        }
    } else if (ann) { /* the instance map: object k's pixels are k */
        uint16_t *ids = malloc(n_px * sizeof *ids);
        if (!ids) {
            rc = cli_fail(cmd, "out of memory for a %dx%d image", W, H);
            goto done;
        }
        if ((s = if_annotation_instance_map(ann, ids, (size_t)W)) != IF_OK) {
            free(ids);
            rc = cli_fail_api("instance map", s, if_last_error());
            goto done;
        }
        unsigned char *map = buf + n_px;
        for (size_t p = 0; p < n_px; p++) map[p] = (unsigned char)ids[p]; /* ids <= MAX_OBJECTS */
        free(ids);
        if ((rc = write_image(output, W, H, 1, map))) goto done;
    } else if ((rc = write_image(output, W, H, 1, buf)))
        goto done;
    if (prob) {
        if ((s = if_session_probability(sess, pbuf)) != IF_OK) {
            rc = cli_fail_api("probability", s, if_session_error(sess));
            goto done;
        }
        unsigned char *gray = buf + n_px;
        for (size_t p = 0; p < n_px; p++) {
            float v = pbuf[p] * 255.0f;
            gray[p] = (unsigned char)(v <= 0 ? 0 : v >= 255 ? 255 : lrintf(v));
        }
        if ((rc = write_image(prob, W, H, 1, gray))) goto done;
    }
    if (logits) {
        int ph, pw;
        const float *lg = if_session_logits(sess, &ph, &pw);
        if (!lg) {
            rc = cli_fail("logits", "none: %s", if_session_error(sess));
            goto done;
        }
        int64_t shape[3] = {ph, pw, 2};
        out_file o;
        char err[512];
        if (out_open(&o, logits, err, sizeof err)) {
            rc = cli_fail(logits, "%s", err);
            goto done;
        }
        if (npy_write_f32_to(o.f, lg, shape, 3)) {
            o.failed = 1;
            o.err = errno ? errno : EIO;
        }
        if (out_commit(&o, err, sizeof err)) {
            rc = cli_fail(logits, "%s", err);
            goto done;
        }
    }
    if (overlay) {
        unsigned char *ov = make_overlay(&img, buf, clicks, n_clicks);
        if (!ov) {
            rc = cli_fail(cmd, "out of memory for the overlay");
            goto done;
        }
        rc = write_image(overlay, W, H, 3, ov);
        free(ov);
        if (rc) goto done;
    }

    char enc_note[64] = "", work[64];
    if (t_enc >= 0) snprintf(enc_note, sizeof enc_note, ", encode %.1f ms", t_enc);
    if_features_info fi;
    if_features_get_info(feat, &fi);
    work[0] = 0;
    if (fi.work_w != W || fi.work_h != H)
        snprintf(work, sizeof work, " (model at %dx%d)", fi.work_w, fi.work_h);
    char objects[32] = "";
    if (n_objects > 1) snprintf(objects, sizeof objects, " on %d objects", n_objects);
    printf("%s: %dx%d%s, %d click%s%s, mask %zu px (%.1f%%), %.2f ms/click%s%s\n", input, W, H,
           work, n_clicks, n_clicks == 1 ? "" : "s", objects, fg, 100.0 * fg / n_px,
           t_clicks / n_clicks, enc_note,
           is_placeholder(dinfo.identity) ? " [placeholder model: random weights, meaningless mask]"
                                          : "");
    if (verbose)
        printf(
            "session      %.1f MB (decoder arena, prepared weights, click history and maps at the "
            "model's %dx%d; the mask at %dx%d)\n",
            (ann ? if_annotation_memory_bytes(ann) : if_session_memory_bytes(sess)) / 1e6,
            fi.work_w, fi.work_h, W, H);
done:
    free(pbuf);
    free(buf);
    if (!ann) if_session_free(sess);
    if_annotation_free(ann);
    if_features_free(feat);
    if_model_free(enc);
    if_model_free(dec);
    stbi_image_free(img.rgb);
    free(clicks);
    free(click_args);
    return rc;
}

/* ------------------------------------------------------------------ eval */

static int cmd_eval(int argc, char **argv) {
    const char *cmd = "eval";
    eval_args a = {.mo.max_side = -1, .max_clicks = 20};
    int rc;
    if (!cli_parse(&eval_cmd, &a, argc, argv, &rc)) return rc;
    if (!a.dir) return cli_usage(cmd, "no DATASET_DIR given");
    const char *dir = a.dir;
    const model_opts mo = a.mo;
    eval_select sel = {.limit = a.limit, .per_object = a.per_object, .allow_skip = a.allow_skip};
    eval_options eo = {.max_clicks = a.max_clicks,
                       .quiet = a.quiet,
                       .allow_skip = a.allow_skip,
                       .json_path = a.json,
                       .csv_path = a.csv,
                       .svg_path = a.svg,
                       .version = IF_VERSION};
    model_paths mp;
    if ((rc = resolve_model(cmd, &mo, 1, 1, &mp))) return rc;

    eval_dataset *ds = NULL;
    if_model *enc = NULL, *dec = NULL;
    if ((rc = eval_dataset_open(dir, &sel, &ds))) return rc;
    if_options opt = model_options(&mo);
    opt.max_clicks = eo.max_clicks; /* the session history: no undo needed */
    if ((rc = load_models(&mp, &opt, &enc, &dec))) goto done;
    if_model_info dinfo;
    if_model_get_info(dec, &dinfo);
    eo.threads = opt.n_threads;
    eo.max_side =
        mo.max_side > 0 ? mo.max_side : 0; /* native unless --max-side: the papers' protocol */
    eo.encoder_path = mp.enc;
    eo.decoder_path = mp.dec;
    eo.placeholder = is_placeholder(dinfo.identity);
    rc = eval_run(ds, enc, dec, &eo);
done:
    if_model_free(enc);
    if_model_free(dec);
    eval_dataset_free(ds);
    return rc;
}

/* ------------------------------------------------------------------ info */

static void print_ints(const char *label, const int *v, int n) {
    printf("%-12s [", label);
    for (int i = 0; i < n; i++) printf("%s%d", i ? ", " : "", v[i]);
    printf("]\n");
}

static int info_graph(const char *path) {
    if_model *m = NULL;
    if_status s = if_model_load(path, NULL, &m);
    if (s == IF_ERR_BAD_MAGIC)
        return cli_fail(path, "neither a graph file (.ifg) nor a feature file: %s",
                        if_last_error());
    if (s != IF_OK) return cli_fail_api(path, s, if_last_error());
    if_model_info in;
    if_model_get_info(m, &in);
    int enc = in.kind == IF_MODEL_ENCODER;
    printf("file         %s (%lld bytes)\n", path, file_size(path));
    printf("kind         %s graph (format/FORMAT.md)\n", enc ? "encoder" : "decoder");
    printf("name         %s\n", in.name);
    printf("identity     %s\n", in.identity[0] ? in.identity : "(none)");
    printf("params       %lld (%.3f M)\n", (long long)in.n_params, in.n_params / 1e6);
    printf("mean         [%g, %g, %g]  (R, G, B)\n", in.mean[0], in.mean[1], in.mean[2]);
    printf("std          [%g, %g, %g]\n", in.std[0], in.std[1], in.std[2]);
    printf("pad_multiple %d\n", in.pad_multiple);
    print_ints("channels", in.feature_channels, 4);
    print_ints("strides", in.feature_strides, 4);
    printf("click_radius %d\n", in.click_radius);
    if (in.zoom_in)
        printf("zoom_in      on: expand ratio %g, min size %d, from step %d, max stride %d\n",
               in.zoom_expand_ratio, in.zoom_min_size, in.zoom_start_step, in.zoom_max_stride);
    else
        printf("zoom_in      off\n");
    /* The interface every graph of this kind has (FORMAT.md, "Graph
     * interfaces"); H x W is the padded image size. */
    printf("inputs       (H, W = the padded image size)\n");
    if (enc)
        printf("  image      f32 (H, W, 3)   normalised RGB, zero-padded\n");
    else {
        for (int i = 0; i < 4; i++)
            printf("  F%d         f32 (H/%d, W/%d, %d)\n", i + 1, in.feature_strides[i],
                   in.feature_strides[i], in.feature_channels[i]);
        printf("  ref_label  u8  (H, W)      per click: codes 0..4\n");
        printf("  roi        i32 (4)         per click, optional: zoom-in region\n");
    }
    printf("outputs\n");
    if (enc)
        for (int i = 0; i < 4; i++)
            printf("  F%d         f32 (H/%d, W/%d, %d)\n", i + 1, in.feature_strides[i],
                   in.feature_strides[i], in.feature_channels[i]);
    else
        printf("  logits     f32 (H, W, 2)   background, foreground\n");
    if (is_placeholder(in.identity))
        printf("note         the placeholder default model: random synthetic weights, masks are "
               "meaningless\n");
    if_model_free(m);
    return 0;
}

static int info_features(const char *path, const unsigned char *head, size_t head_n) {
    if_features *f = NULL;
    if_status s = if_features_load(path, &f);
    if (s != IF_OK) return cli_fail_api(path, s, if_last_error());
    if_features_info fi;
    if_features_get_info(f, &fi);
    /* The stored element type is in the header (FEATURES.md: u32 at 24). */
    unsigned dtype =
        head_n >= 28
            ? (unsigned)(head[24] | head[25] << 8 | head[26] << 16 | (unsigned)head[27] << 24)
            : 0;
    printf("file         %s (%lld bytes)\n", path, file_size(path));
    printf("kind         features (format/FEATURES.md), stored as %s\n",
           dtype == 1 ? "f16" : "f32");
    printf("image        %dx%d (width x height)\n", fi.width, fi.height);
    if (fi.work_w != fi.width || fi.work_h != fi.height)
        printf("working      %dx%d (the image as the model saw it: area-averaged)\n", fi.work_w,
               fi.work_h);
    else
        printf("working      %dx%d (native size)\n", fi.work_w, fi.work_h);
    printf("padded       %dx%d\n", fi.padded_w, fi.padded_h);
    printf("identity     %s\n", fi.identity[0] ? fi.identity : "(none)");
    printf("levels       %d\n", fi.n_levels);
    for (int i = 0; i < fi.n_levels && i < 4; i++) {
        int h = 0, w = 0, c = 0;
        if_features_level(f, i, &h, &w, &c);
        printf("  F%d         stride %2d: %d x %d x %d (h, w, c)\n", i + 1, fi.strides[i], h, w, c);
    }
    if (is_placeholder(fi.identity))
        printf("note         made by the placeholder default model (random synthetic weights)\n");
    if_features_free(f);
    return 0;
}

static int cmd_info(int argc, char **argv) {
    const char *cmd = "info";
    info_args a = {0};
    int rc;
    if (!cli_parse(&info_cmd, &a, argc, argv, &rc)) return rc;
    const char *path = a.path;
    if (!path) return cli_usage(cmd, "no FILE given");
    unsigned char head[64];
    size_t n;
    if ((rc = read_head(path, head, &n))) return rc;
    if (is_features(head, n)) return info_features(path, head, n);
    if (n >= 8 && memcmp(head, graph_magic, 8))
        return cli_fail(path, "neither a graph file (.ifg) nor a feature file (unknown magic)");
    return info_graph(path);
}

/* ------------------------------------------------------------------ main */

/* The commands, for main and 'interformer help COMMAND'. */
static const struct {
    const cli_command *cmd;
    int (*run)(int argc, char **argv);
} commands[] = {{&encode_cmd, cmd_encode},
                {&segment_cmd, cmd_segment},
                {&info_cmd, cmd_info},
                {&eval_cmd, cmd_eval}};
#define N_COMMANDS ((int)(sizeof commands / sizeof *commands))

static int find_command(const char *name) {
    for (int k = 0; k < N_COMMANDS; k++)
        if (!strcmp(name, commands[k].cmd->name)) return k;
    return -1;
}

static int print_help(const char *topic) {
    if (!topic) {
        fputs(help_main, stdout);
        cli_print_rows(stdout, model_rows);
        printf(help_main_model, IF_DEFAULT_MODEL);
        return 0;
    }
    int k = find_command(topic);
    if (k < 0) return cli_usage(NULL, "no help for '%s': not a command", topic);
    cli_print_help(stdout, commands[k].cmd);
    return 0;
}

int main(int argc, char **argv) {
    if (ifp_utf8_args(&argc, &argv)) return cli_fail("interformer", "out of memory");
    out_install_signal_handlers();
    if (argc < 2) return cli_usage(NULL, "no command given");
    const char *c = argv[1];
    int k = find_command(c);
    if (k >= 0) return commands[k].run(argc - 2, argv + 2);
    if (!strcmp(c, "--help") || !strcmp(c, "-h")) return print_help(NULL);
    if (!strcmp(c, "help")) {
        if (argc > 3) return cli_usage(NULL, "help takes one COMMAND at most");
        return print_help(argc > 2 ? argv[2] : NULL);
    }
    if (!strcmp(c, "--version")) {
        printf(PROG " " IF_VERSION "\n");
        return 0;
    }
    if (c[0] == '-') return cli_usage(NULL, "unknown option '%s'", c);
    return cli_usage(NULL, "unknown command '%s'", c);
}
