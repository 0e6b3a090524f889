/* eval.c -- `interformer eval DATASET_DIR`: the standard interactive
 * segmentation evaluation protocol (RITM's, the InterFormer paper's), on the
 * public API only (interformer.h), images read with stb_image.
 *
 * Per instance (an image and one object's mask): the image is encoded once
 * (if_encode_rgb8), a session starts with no click, then up to max_clicks
 * times: the next click is if_next_click(gt, current mask, ignore, clicks
 * so far) -- at the farthest point of the larger error region --, it is
 * added (if_session_add_click), and the IoU of the new mask with the object
 * is taken over the pixels that are not "ignore". When if_next_click finds
 * no error left to click on (IF_ERR_STATE), no more clicks are made and the
 * last IoU stands for the remaining steps.
 *
 * Metrics (the usual definitions; RITM's compute_noc_metric, the official
 * InterFormer clicktest):
 *   NoC@85, NoC@90  mean over instances of the first click count whose IoU is
 *                   >= 0.85 / 0.90; max_clicks when never reached
 *   failures        instances whose IoU never reaches 0.90 within max_clicks
 *                   ("noc90_at_max" counts NoC@90 == max_clicks, RITM's ">=20",
 *                   which also has those reaching 0.90 at the last click)
 *   mIoU@k          mean IoU after k clicks, k = 1..max_clicks (the curve)
 *   s/click         mean decoder time per click (if_session_add_click only:
 *                   not the encoder, not the click simulator)
 *   PIE             seconds per click per image pixel: the mean over all clicks
 *                   of (decoder seconds of the click) / (width * height), so
 *                   that images of different sizes compare; also given per
 *                   megapixel (PIE * 1e6)
 *   encode          mean encoder seconds per image (and per megapixel)
 *
 * Layouts of DATASET_DIR, looked for in this order (the first that applies):
 *   list/val.txt          one NAME per line (official InterFormer style); the
 *                         images and masks in the first folder pair below that
 *                         exists, else in DATASET_DIR as NAME.ext + NAME#001.png
 *   data_GT/ + boundary_GT/   GrabCut (RITM's copy): NAME.{jpg,bmp,...} + NAME.bmp
 *   img/ + gt/            COCO_MVal, Berkeley, DAVIS (RITM's copies)
 *   images/ + masks/
 *   NAME.ext + NAME#001.png in DATASET_DIR itself (the official GrabCut/DAVIS
 *                         conversion; other NAME#NNN masks are not used)
 * Images and masks are files ending in .jpg, .jpeg, .png or .bmp (any case),
 * matched by file stem (a mask's "#001" suffix is dropped first); files
 * starting with '.' are not looked at; instances are taken in stem order
 * (list order for list/val.txt).
 *
 * Mask values (gray; a colour mask's largest channel): when every value is
 * 0, 1 or 255 and some are 1, a label map as the official conversion writes
 * (1 = object, 255 = ignore, 0 = background); otherwise 128 = ignore (the
 * GrabCut boundary band), > 128 = object, < 128 = background.
 *
 * Instances that cannot be evaluated -- an image without a mask, a mask
 * without an image, a listed name with neither, an unreadable file, a mask of
 * another size than its image, a mask with no object pixel -- are skipped
 * with a warning on stderr ("interformer: warning: NAME: ... (skipped)"),
 * counted in the summary and listed in the JSON ("skipped"); the exit status
 * stays 0 as long as one instance was evaluated. Encoder and decoder failures
 * stop the run (exit status 1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>

#include "common/cli.h"
#include "common/mask.h"
#include "common/outfile.h"
#include "eval.h"
#include "platform/platform.h"

/* --------------------------------------------------------------- dataset */

typedef struct {
    char *name;           /* file stem (per object: "stem#id"): the instance's name */
    char *image, *mask;   /* paths */
    int object;           /* the mask's object id, or 0: all its objects together */
    const char *encoding; /* how the mask's values were read (mask.h), static */
} ev_item;

typedef struct {
    char *name, *reason;
} ev_skip;

struct eval_dataset {
    char *dir;
    char *layout; /* e.g. "GrabCut: data_GT/ + boundary_GT/" */
    ev_item *items;
    int n_items, n_found; /* n_found: before --limit */
    ev_skip *skipped;     /* found while matching files and reading masks */
    int n_skipped, cap_skipped;
    char **files; /* every image and mask file found: no report may replace one */
    int n_files;
};

typedef struct {
    char *key;  /* stem, for a mask without its "#001" */
    char *file; /* file name in its folder */
    char *path;
} ev_file;

typedef struct {
    ev_file *v;
    int n, cap;
} ev_files;

static const char *const image_exts[] = {".jpg", ".jpeg", ".png", ".bmp"};

/* Length of `name` without an image extension, or 0 if it has none. */
static size_t image_stem_len(const char *name) {
    size_t e = cli_ext_len(name, image_exts, sizeof image_exts / sizeof *image_exts);
    return e ? strlen(name) - e : 0;
}

/* Length of a "#NNN" suffix (a '#' and one or more digits) of s[0..n), or 0. */
static size_t hash_suffix_len(const char *s, size_t n) {
    size_t i = n;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') i--;
    if (i == n || i == 0 || s[i - 1] != '#') return 0;
    return n - i + 1;
}

static int is_dir(const char *path) {
    ifp_stat_info st;
    return ifp_stat(path, &st) == 0 && st.kind == IFP_DIR;
}

static int is_file(const char *path) {
    ifp_stat_info st;
    return ifp_stat(path, &st) == 0 && st.kind == IFP_FILE;
}

static void files_free(ev_files *f) {
    for (int i = 0; i < f->n; i++) {
        free(f->v[i].key);
        free(f->v[i].file);
        free(f->v[i].path);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}

static int files_push(ev_files *f, const char *dir, const char *file, size_t key_len) {
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 64;
        ev_file *v = realloc(f->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        f->v = v;
        f->cap = cap;
    }
    ev_file *e = &f->v[f->n];
    e->key = cli_strdupf("%.*s", (int)key_len, file);
    e->file = cli_strdupf("%s", file);
    e->path = cli_join(dir, file);
    if (!e->key || !e->file || !e->path) {
        free(e->key);
        free(e->file);
        free(e->path);
        return -1;
    }
    f->n++;
    return 0;
}

static int file_cmp(const void *a, const void *b) {
    const ev_file *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->file, y->file);
}

static int key_cmp(const void *key, const void *b) {
    return strcmp((const char *)key, ((const ev_file *)b)->key);
}

/* The first file of `f` (sorted) with this key, or NULL. */
static const ev_file *files_find(const ev_files *f, const char *key) {
    const ev_file *e = f->n ? bsearch(key, f->v, (size_t)f->n, sizeof *f->v, key_cmp) : NULL;
    while (e && e > f->v && !strcmp(e[-1].key, key)) e--;
    return e;
}

/* What to collect from a folder: images, masks (keyed without "#001"), or,
 * for the single-folder layout, both (images: no "#NNN" suffix; masks:
 * "#001"). */
enum { SCAN_IMAGES = 1, SCAN_MASKS = 2 };

static int scan_dir(const char *dir, int what, ev_files *images, ev_files *masks) {
    int e;
    ifp_dir *d = ifp_opendir(dir, &e);
    if (!d) return cli_fail(dir, "cannot open: %s", strerror(e));
    const char *name;
    int rc = 0;
    errno = 0;
    while (!rc && (name = ifp_readdir(d))) {
        if (name[0] == '.') continue;
        size_t stem = image_stem_len(name);
        if (!stem) continue;
        char *path = cli_join(dir, name);
        if (!path) {
            rc = cli_fail("eval", "out of memory");
            break;
        }
        int regular = is_file(path);
        free(path);
        if (!regular) continue;
        size_t suffix = hash_suffix_len(name, stem);
        int is_001 = suffix == 4 && !strncmp(name + stem - 4, "#001", 4);
        int r = 0;
        if (what == (SCAN_IMAGES | SCAN_MASKS)) {
            if (!suffix)
                r = files_push(images, dir, name, stem);
            else if (is_001)
                r = files_push(masks, dir, name, stem - 4);
        } else if (what == SCAN_IMAGES)
            r = files_push(images, dir, name, stem);
        else
            r = files_push(masks, dir, name, is_001 ? stem - 4 : stem);
        if (r) rc = cli_fail("eval", "out of memory");
        errno = 0;
    }
    if (!rc && errno) rc = cli_fail(dir, "cannot read: %s", strerror(errno));
    ifp_closedir(d);
    if (images && images->n) qsort(images->v, (size_t)images->n, sizeof *images->v, file_cmp);
    if (masks && masks->n) qsort(masks->v, (size_t)masks->n, sizeof *masks->v, file_cmp);
    return rc;
}

static int add_skip(eval_dataset *ds, const char *name, char *reason) {
    char *n = cli_strdupf("%s", name);
    if (!n || !reason) {
        free(n);
        free(reason);
        return cli_fail("eval", "out of memory");
    }
    if (ds->n_skipped == ds->cap_skipped) {
        int cap = ds->cap_skipped ? ds->cap_skipped * 2 : 16;
        ev_skip *v = realloc(ds->skipped, (size_t)cap * sizeof *v);
        if (!v) {
            free(n);
            free(reason);
            return cli_fail("eval", "out of memory");
        }
        ds->skipped = v;
        ds->cap_skipped = cap;
    }
    ds->skipped[ds->n_skipped++] = (ev_skip){n, reason};
    return 0;
}

static int push_item(eval_dataset *ds, int *cap, const char *name, const char *image,
                     const char *mask, int object, const char *encoding) {
    if (ds->n_items == *cap) {
        int c = *cap ? *cap * 2 : 64;
        ev_item *v = realloc(ds->items, (size_t)c * sizeof *v);
        if (!v) return cli_fail("eval", "out of memory");
        ds->items = v;
        *cap = c;
    }
    ev_item *it = &ds->items[ds->n_items];
    it->name = object ? cli_strdupf("%s#%d", name, object) : cli_strdupf("%s", name);
    it->image = cli_strdupf("%s", image);
    it->mask = cli_strdupf("%s", mask);
    it->object = object;
    it->encoding = encoding;
    if (!it->name || !it->image || !it->mask) {
        free(it->name);
        free(it->image);
        free(it->mask);
        return cli_fail("eval", "out of memory");
    }
    ds->n_items++;
    return 0;
}

static int add_item(eval_dataset *ds, int *cap, const ev_file *img, const ev_file *mask) {
    return push_item(ds, cap, img->key, img->path, mask->path, 0, NULL);
}

static void free_items(ev_item *items, int from, int to) {
    for (int i = from; i < to; i++) {
        free(items[i].name);
        free(items[i].image);
        free(items[i].mask);
    }
}

/* Reads every matched mask and its image's header: a pair that cannot be
 * evaluated becomes a skip; the others become instances (one per object id
 * with per_object). Done before any encoding, so that a broken dataset
 * fails in seconds, not after hours. */
static int check_items(eval_dataset *ds, int per_object) {
    ev_item *pairs = ds->items;
    int n_pairs = ds->n_items, cap = 0, rc = 0;
    ds->items = NULL;
    ds->n_items = 0;
    for (int i = 0; i < n_pairs && !rc; i++) {
        const ev_item *p = &pairs[i];
        mask_image m;
        char err[512];
        int iw, ih, comp;
        if (mask_read(p->mask, &m, err, sizeof err)) {
            rc = add_skip(ds, p->name, cli_strdupf("the mask %s: %s", p->mask, err));
            continue;
        }
        if (!stbi_info(p->image, &iw, &ih, &comp))
            rc = add_skip(ds, p->name,
                          cli_strdupf("%s is not an image stb_image can read: %s", p->image,
                                      stbi_failure_reason()));
        else if (iw != m.w || ih != m.h)
            rc = add_skip(ds, p->name,
                          cli_strdupf("the mask %s is %dx%d but the image is %dx%d", p->mask, m.w,
                                      m.h, iw, ih));
        else if (!m.n_objects)
            rc = add_skip(
                ds, p->name,
                cli_strdupf("the mask %s has no object pixel (read as %s)", p->mask, m.encoding));
        else if (!per_object || m.n_objects == 1)
            rc = push_item(ds, &cap, p->name, p->image, p->mask, per_object ? m.ids[0] : 0,
                           m.encoding);
        else
            for (int k = 0; k < m.n_objects && !rc; k++)
                rc = push_item(ds, &cap, p->name, p->image, p->mask, m.ids[k], m.encoding);
        mask_image_free(&m);
    }
    free_items(pairs, 0, n_pairs);
    free(pairs);
    return rc;
}

/* Keeps the paths of every image and mask file found. */
static int keep_files(eval_dataset *ds, const ev_files *a, const ev_files *b) {
    ds->files = calloc((size_t)a->n + (size_t)b->n + 1, sizeof *ds->files);
    if (!ds->files) return cli_fail("eval", "out of memory");
    const ev_files *lists[2] = {a, b};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < lists[l]->n; i++)
            if (!(ds->files[ds->n_files++] = cli_strdupf("%s", lists[l]->v[i].path)))
                return cli_fail("eval", "out of memory");
    return 0;
}

void eval_dataset_free(eval_dataset *ds) {
    if (!ds) return;
    free_items(ds->items, 0, ds->n_items);
    for (int i = 0; i < ds->n_files; i++) free(ds->files[i]);
    free(ds->files);
    for (int i = 0; i < ds->n_skipped; i++) {
        free(ds->skipped[i].name);
        free(ds->skipped[i].reason);
    }
    free(ds->items);
    free(ds->skipped);
    free(ds->dir);
    free(ds->layout);
    free(ds);
}

/* Where the images and masks are: a folder pair, or the dataset folder. */
static const char *const folder_pairs[][2] = {
    {"data_GT", "boundary_GT"}, {"img", "gt"}, {"images", "masks"}};
#define N_PAIRS ((int)(sizeof folder_pairs / sizeof *folder_pairs))

/* Reads list/val.txt: names, one per line (blank lines skipped; an image
 * extension is dropped). Adds items and skips. */
static int match_list(eval_dataset *ds, const char *list_path, const ev_files *images,
                      const ev_files *masks, int *cap) {
    FILE *f = ifp_fopen(list_path, "r");
    if (!f) return cli_fail(list_path, "cannot open: %s", strerror(errno));
    char line[4096];
    int rc = 0, lineno = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = cli_fail(list_path, "line %d is longer than %d bytes", lineno,
                          (int)sizeof line - 2);
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t'))
            line[--n] = 0;
        char *name = line;
        while (*name == ' ' || *name == '\t') name++;
        if (!*name) continue;
        size_t stem = image_stem_len(name);
        if (stem) name[stem] = 0;
        const ev_file *img = files_find(images, name), *mask = files_find(masks, name);
        if (img && mask)
            rc = add_item(ds, cap, img, mask);
        else
            rc = add_skip(ds, name,
                          cli_strdupf("listed in list/val.txt, but %s",
                                      img    ? "it has no mask"
                                      : mask ? "it has no image"
                                             : "neither an image nor a mask is there"));
    }
    if (!rc && ferror(f)) rc = cli_fail(list_path, "cannot read: %s", strerror(errno));
    fclose(f);
    return rc;
}

/* Pairs images and masks by stem; duplicates and strays become skips. */
static int match_all(eval_dataset *ds, const ev_files *images, const ev_files *masks, int *cap) {
    int rc = 0;
    for (int i = 0; !rc && i < images->n; i++) {
        const ev_file *img = &images->v[i];
        if (i > 0 && !strcmp(images->v[i - 1].key, img->key)) {
            rc = add_skip(ds, img->key,
                          cli_strdupf("a second image %s (the first, %s, is used)", img->file,
                                      images->v[i - 1].file));
            continue;
        }
        const ev_file *mask = files_find(masks, img->key);
        if (mask)
            rc = add_item(ds, cap, img, mask);
        else
            rc = add_skip(ds, img->key, cli_strdupf("no mask for %s", img->path));
    }
    for (int i = 0; !rc && i < masks->n; i++) {
        const ev_file *m = &masks->v[i];
        if (i > 0 && !strcmp(masks->v[i - 1].key, m->key))
            rc = add_skip(ds, m->key,
                          cli_strdupf("a second mask %s (the first, %s, is used)", m->file,
                                      masks->v[i - 1].file));
        else if (!files_find(images, m->key))
            rc = add_skip(ds, m->key, cli_strdupf("no image for the mask %s", m->path));
    }
    return rc;
}

int eval_dataset_open(const char *dir, const eval_select *sel, eval_dataset **out) {
    *out = NULL;
    ifp_stat_info st;
    int e = ifp_stat(dir, &st);
    if (e) return cli_fail(dir, "cannot open: %s", strerror(e));
    if (st.kind != IFP_DIR)
        return cli_fail(dir, "not a directory (DATASET_DIR is a folder of images and masks)");
    eval_dataset *ds = calloc(1, sizeof *ds);
    ev_files images = {0}, masks = {0};
    char *list_path = cli_join(dir, "list/val.txt"), *pair_dirs[N_PAIRS][2] = {{0}};
    int rc = 0, pair = -1, partial = -1, cap = 0;
    if (!ds || !list_path || !(ds->dir = cli_strdupf("%s", dir))) {
        rc = cli_fail("eval", "out of memory");
        goto done;
    }
    for (int p = 0; p < N_PAIRS; p++) {
        pair_dirs[p][0] = cli_join(dir, folder_pairs[p][0]);
        pair_dirs[p][1] = cli_join(dir, folder_pairs[p][1]);
        if (!pair_dirs[p][0] || !pair_dirs[p][1]) {
            rc = cli_fail("eval", "out of memory");
            goto done;
        }
        int a = is_dir(pair_dirs[p][0]), b = is_dir(pair_dirs[p][1]);
        if (a && b && pair < 0) pair = p;
        if (a != b && partial < 0) partial = p;
    }
    int has_list = is_file(list_path);
    if (pair >= 0) {
        if ((rc = scan_dir(pair_dirs[pair][0], SCAN_IMAGES, &images, NULL)) ||
            (rc = scan_dir(pair_dirs[pair][1], SCAN_MASKS, NULL, &masks)))
            goto done;
        ds->layout =
            cli_strdupf("%s%s%s/ + %s/", has_list ? "list/val.txt + " : "",
                        pair == 0 ? "GrabCut: " : "", folder_pairs[pair][0], folder_pairs[pair][1]);
    } else {
        if ((rc = scan_dir(dir, SCAN_IMAGES | SCAN_MASKS, &images, &masks))) goto done;
        if (!has_list && !masks.n) {
            if (partial >= 0) {
                int a = is_dir(pair_dirs[partial][0]);
                rc = cli_fail(dir, "no dataset layout: %s/ is there but not %s/",
                              folder_pairs[partial][!a], folder_pairs[partial][a]);
            } else
                rc = cli_fail(
                    dir,
                    "no dataset layout found: expected data_GT/ + boundary_GT/ (GrabCut), "
                    "img/ + gt/, images/ + masks/, list/val.txt, or NAME.jpg + NAME#001.png files");
            goto done;
        }
        ds->layout = cli_strdupf("%sNAME.ext + NAME#001.png", has_list ? "list/val.txt + " : "");
    }
    if (!ds->layout) {
        rc = cli_fail("eval", "out of memory");
        goto done;
    }
    rc = has_list ? match_list(ds, list_path, &images, &masks, &cap)
                  : match_all(ds, &images, &masks, &cap);
    if (rc || (rc = keep_files(ds, &images, &masks))) goto done;
    int n_pairs = ds->n_items;
    if (!n_pairs) {
        rc = cli_fail(
            dir, "no instance to evaluate (%s): %d image%s, %d mask%s, none matching by name%s",
            ds->layout, images.n, images.n == 1 ? "" : "s", masks.n, masks.n == 1 ? "" : "s",
            has_list ? " among the names of list/val.txt" : "");
        goto done;
    }
    if ((rc = check_items(ds, sel->per_object))) goto done;
    ds->n_found = ds->n_items + ds->n_skipped;
    if (ds->n_skipped && !sel->allow_skip) {
        for (int i = 0; i < ds->n_skipped; i++)
            cli_warn(ds->skipped[i].name, "%s", ds->skipped[i].reason);
        rc = cli_fail(dir,
                      "%d of %d instance%s cannot be evaluated (listed above): fix them, or give "
                      "--allow-skip to evaluate the other %d and report a partial result",
                      ds->n_skipped, ds->n_found, ds->n_found == 1 ? "" : "s", ds->n_items);
        goto done;
    }
    if (!ds->n_items) {
        for (int i = 0; i < ds->n_skipped; i++)
            cli_warn(ds->skipped[i].name, "%s", ds->skipped[i].reason);
        rc = cli_fail(dir, "none of the %d instance%s can be evaluated (listed above)", ds->n_found,
                      ds->n_found == 1 ? "" : "s");
        goto done;
    }
    if (sel->limit > 0 && ds->n_items > sel->limit) {
        free_items(ds->items, sel->limit, ds->n_items);
        ds->n_items = sel->limit;
    }
done:
    files_free(&images);
    files_free(&masks);
    free(list_path);
    for (int p = 0; p < N_PAIRS; p++) {
        free(pair_dirs[p][0]);
        free(pair_dirs[p][1]);
    }
    if (rc)
        eval_dataset_free(ds);
    else
        *out = ds;
    return rc;
}

/* ------------------------------------------------------------ per instance */

typedef struct {
    const ev_item *item;
    int w, h;
    int noc85, noc90;
    int n_clicks; /* clicks made (fewer than max_clicks when no error was left) */
    double t_encode, t_clicks, t_sim; /* seconds: encoder, decoder (all clicks), simulator */
    double *iou;                      /* max_clicks values */
    if_click *clicks;                 /* n_clicks */
} ev_result;

/* The instance's object and ignore maps from its mask (mask.h's labels:
 * the item's object id, or every object id when it is 0). Returns 0, or -1
 * on an instance error with *why set (malloc'ed; NULL when out of memory). */
static int load_mask(const ev_item *it, int w, int h, uint8_t *gt, uint8_t *ign, char **why) {
    mask_image m;
    char err[512];
    if (mask_read(it->mask, &m, err, sizeof err)) {
        *why = cli_strdupf("the mask %s: %s", it->mask, err);
        return -1;
    }
    int rc = 0;
    size_t n = (size_t)w * h, n_obj = 0;
    if (m.w != w || m.h != h) {
        *why = cli_strdupf("the mask %s is %dx%d but the image is %dx%d", it->mask, m.w, m.h, w, h);
        rc = -1;
    } else {
        for (size_t i = 0; i < n; i++) {
            uint8_t v = m.label[i];
            ign[i] = v == MASK_IGNORE;
            gt[i] = it->object ? v == it->object : v != 0 && v != MASK_IGNORE;
            n_obj += gt[i];
        }
        if (!n_obj) {
            *why = cli_strdupf("the mask %s has no pixel of object %d", it->mask, it->object);
            rc = -1;
        }
    }
    mask_image_free(&m);
    return rc;
}

static double iou_of(const uint8_t *gt, const uint8_t *ign, const uint8_t *pred, size_t n) {
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < n; i++) {
        if (ign[i]) continue;
        int g = gt[i] != 0, p = pred[i] != 0;
        inter += g & p;
        uni += g | p;
    }
    return uni ? (double)inter / (double)uni : 1.0;
}

static int noc_of(const double *iou, int max_clicks, double thr) {
    for (int k = 0; k < max_clicks; k++)
        if (iou[k] >= thr) return k + 1;
    return max_clicks;
}

/* Evaluates one instance into *r. Returns 0, 1 (a runtime error: printed)
 * or -1 (the instance is skipped: *why says why; NULL if out of memory). */
static int eval_instance(const if_model *enc, const if_model *dec, int max_clicks, int max_side,
                         ev_result *r, char **why) {
    const ev_item *it = r->item;
    int rc = 0;
    if_features *feat = NULL;
    if_session *sess = NULL;
    uint8_t *gt = NULL;
    FILE *f = ifp_fopen(it->image, "rb");
    if (!f) {
        *why = cli_strdupf("cannot open %s: %s", it->image, strerror(errno));
        return -1;
    }
    int comp;
    unsigned char *rgb = stbi_load_from_file(f, &r->w, &r->h, &comp, 3);
    fclose(f);
    if (!rgb) {
        *why = cli_strdupf("%s is not an image stb_image can read: %s", it->image,
                           stbi_failure_reason());
        return -1;
    }
    size_t n = (size_t)r->w * r->h;
    gt = malloc(2 * n);
    if (!gt) {
        rc = cli_fail(it->name, "out of memory for a %dx%d image", r->w, r->h);
        goto done;
    }
    uint8_t *ign = gt + n;
    if (load_mask(it, r->w, r->h, gt, ign, why)) {
        rc = -1;
        goto done;
    }
    int any_ign = 0;
    for (size_t i = 0; i < n && !any_ign; i++) any_ign = ign[i];

    double t0 = cli_now_s();
    if_encode_options eo = if_default_encode_options();
    eo.max_side = max_side;
    if_status s = if_encode(enc, rgb, r->w, r->h, (size_t)r->w * 3, &eo, &feat);
    r->t_encode = cli_now_s() - t0;
    if (s != IF_OK) {
        char what[512];
        snprintf(what, sizeof what, "%s: encoding", it->name);
        rc = cli_fail_api(what, s, if_last_error());
        goto done;
    }
    if ((s = if_session_new(dec, feat, &sess)) != IF_OK) {
        char what[512];
        snprintf(what, sizeof what, "%s: creating session", it->name);
        rc = cli_fail_api(what, s, if_last_error());
        goto done;
    }
    const uint8_t *pred = if_session_mask(sess); /* all 0: no click yet */
    double last = iou_of(gt, ign, pred, n);
    for (int k = 0; k < max_clicks; k++) {
        if_click c;
        t0 = cli_now_s();
        s = if_next_click(gt, pred, any_ign ? ign : NULL, r->w, r->h, r->clicks, r->n_clicks, &c);
        r->t_sim += cli_now_s() - t0;
        if (s == IF_ERR_STATE) { /* no error left to click on: the IoU stays */
            for (int j = k; j < max_clicks; j++) r->iou[j] = last;
            break;
        }
        if (s != IF_OK) {
            char what[512];
            snprintf(what, sizeof what, "%s: next click %d", it->name, k + 1);
            rc = cli_fail_api(what, s, if_last_error());
            goto done;
        }
        t0 = cli_now_s();
        s = if_session_add_click(sess, c);
        r->t_clicks += cli_now_s() - t0;
        if (s != IF_OK) {
            char what[512];
            snprintf(what, sizeof what, "%s: click %d (%d,%d,%c)", it->name, k + 1, c.x, c.y,
                     c.positive ? '+' : '-');
            rc = cli_fail_api(what, s, if_session_error(sess));
            goto done;
        }
        r->clicks[r->n_clicks++] = c;
        pred = if_session_mask(sess);
        r->iou[k] = last = iou_of(gt, ign, pred, n);
    }
    r->noc85 = noc_of(r->iou, max_clicks, 0.85);
    r->noc90 = noc_of(r->iou, max_clicks, 0.90);
done:
    if_session_free(sess);
    if_features_free(feat);
    free(gt);
    stbi_image_free(rgb);
    return rc;
}

/* ---------------------------------------------------------------- reports */

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A CSV field, quoted when it needs to be (RFC 4180). */
static void csv_str(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void xml_str(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else if ((unsigned char)*s >= 0x20 || *s == '\t')
            fputc(*s, f);
    }
}

typedef struct {
    int n;                  /* instances evaluated */
    double noc85, noc90;    /* means */
    int fail85, fail90;     /* never reached within max_clicks */
    int at_max85, at_max90; /* NoC == max_clicks (RITM's ">= max") */
    double *miou;           /* max_clicks */
    long long clicks;       /* made */
    double t_clicks, t_encode, t_sim, pie, enc_per_px, megapixels;
    double wall;
} ev_summary;

static void write_json(FILE *f, const eval_dataset *ds, const if_model_info *mi,
                       const eval_options *o, const ev_summary *sm, const ev_result *res, int n_res,
                       const ev_skip *skipped, int n_skipped) {
    int K = o->max_clicks;
    fprintf(f, "{\n  \"tool\": \"interformer eval\",\n  \"version\": ");
    json_str(f, o->version ? o->version : "unknown");
    fprintf(f, ",\n  \"dataset\": ");
    json_str(f, ds->dir);
    fprintf(f, ",\n  \"layout\": ");
    json_str(f, ds->layout);
    fprintf(f, ",\n  \"model\": {\"name\": ");
    json_str(f, mi->name);
    fprintf(f, ", \"identity\": ");
    json_str(f, mi->identity);
    fprintf(f, ", \"encoder\": ");
    json_str(f, o->encoder_path ? o->encoder_path : "");
    fprintf(f, ", \"decoder\": ");
    json_str(f, o->decoder_path ? o->decoder_path : "");
    fprintf(f, ", \"placeholder\": %s},\n", o->placeholder ? "true" : "false");
    fprintf(f, "  \"threads\": %d,\n  \"max_clicks\": %d,\n  \"max_side\": %d,\n", o->threads, K,
            o->max_side);
    fprintf(f,
            "  \"instances_found\": %d,\n  \"instances_evaluated\": %d,\n  \"instances_skipped\": "
            "%d,\n",
            ds->n_found, sm->n, n_skipped);
    fprintf(f, "  \"complete\": %s,\n", sm->n == ds->n_found ? "true" : "false");
    fprintf(f, "  \"noc85\": %.6f,\n  \"noc90\": %.6f,\n", sm->noc85, sm->noc90);
    fprintf(f, "  \"failures\": %d,\n  \"failures85\": %d,\n", sm->fail90, sm->fail85);
    fprintf(f, "  \"noc85_at_max\": %d,\n  \"noc90_at_max\": %d,\n", sm->at_max85, sm->at_max90);
    fprintf(f, "  \"miou\": [");
    for (int k = 0; k < K; k++) fprintf(f, "%s%.6f", k ? ", " : "", sm->miou[k]);
    fprintf(f, "],\n  \"clicks\": %lld,\n", sm->clicks);
    fprintf(f, "  \"seconds_per_click\": %.6g,\n", sm->clicks ? sm->t_clicks / sm->clicks : 0.0);
    fprintf(f, "  \"pie\": %.6g,\n", sm->pie);
    fprintf(f, "  \"seconds_per_click_per_pixel\": %.6g,\n", sm->pie);
    fprintf(f, "  \"seconds_per_click_per_megapixel\": %.6g,\n", sm->pie * 1e6);
    fprintf(f, "  \"encode_seconds\": %.6g,\n", sm->n ? sm->t_encode / sm->n : 0.0);
    fprintf(f, "  \"encode_seconds_per_megapixel\": %.6g,\n", sm->enc_per_px * 1e6);
    fprintf(f, "  \"next_click_seconds\": %.6g,\n", sm->clicks ? sm->t_sim / sm->clicks : 0.0);
    fprintf(f, "  \"wall_seconds\": %.6g,\n", sm->wall);
    fprintf(f, "  \"per_instance\": [");
    for (int i = 0; i < n_res; i++) {
        const ev_result *r = &res[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        json_str(f, r->item->name);
        fprintf(f, ", \"image\": ");
        json_str(f, r->item->image);
        fprintf(f, ", \"mask\": ");
        json_str(f, r->item->mask);
        fprintf(f,
                ", \"object\": %d, \"width\": %d, \"height\": %d, \"noc85\": %d, \"noc90\": %d, "
                "\"clicks_made\": %d,",
                r->item->object, r->w, r->h, r->noc85, r->noc90, r->n_clicks);
        fprintf(f, " \"encode_seconds\": %.6g, \"seconds_per_click\": %.6g,\n     \"iou\": [",
                r->t_encode, r->n_clicks ? r->t_clicks / r->n_clicks : 0.0);
        for (int k = 0; k < K; k++) fprintf(f, "%s%.6f", k ? ", " : "", r->iou[k]);
        fprintf(f, "],\n     \"clicks\": [");
        for (int k = 0; k < r->n_clicks; k++)
            fprintf(f, "%s{\"x\": %d, \"y\": %d, \"positive\": %s}", k ? ", " : "", r->clicks[k].x,
                    r->clicks[k].y, r->clicks[k].positive ? "true" : "false");
        fprintf(f, "]}");
    }
    fprintf(f, "%s],\n  \"skipped\": [", n_res ? "\n  " : "");
    for (int i = 0; i < n_skipped; i++) {
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        json_str(f, skipped[i].name);
        fprintf(f, ", \"reason\": ");
        json_str(f, skipped[i].reason);
        fprintf(f, "}");
    }
    fprintf(f, "%s]\n}\n", n_skipped ? "\n  " : "");
}

static void write_csv(FILE *f, const ev_result *res, int n_res, int K) {
    fprintf(f, "name,width,height,noc85,noc90");
    for (int k = 1; k <= K; k++) fprintf(f, ",iou_%d", k);
    fputc('\n', f);
    for (int i = 0; i < n_res; i++) {
        const ev_result *r = &res[i];
        csv_str(f, r->item->name);
        fprintf(f, ",%d,%d,%d,%d", r->w, r->h, r->noc85, r->noc90);
        for (int k = 0; k < K; k++) fprintf(f, ",%.6f", r->iou[k]);
        fputc('\n', f);
    }
}

/* A line plot of mIoU (0..1) against the number of clicks (1..K), with
 * axes, ticks, grid, labels and the 0.85 / 0.90 levels. */
static void write_svg(FILE *f, const eval_dataset *ds, const if_model_info *mi,
                      const ev_summary *sm, int K) {
    const double W = 640, H = 420, L = 64, R = 24, T = 48, B = 56;
    const double pw = W - L - R, ph = H - T - B;
#define SX(k) (K > 1 ? L + pw * ((k)-1) / (double)(K - 1) : L + pw / 2)
#define SY(v) (T + ph * (1.0 - (v)))
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g "
            "%g\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "<rect width=\"%g\" height=\"%g\" fill=\"white\"/>\n", W, H);
    /* Title. */
    const char *base = strrchr(ds->dir, '/');
    base = base && base[1] ? base + 1 : ds->dir;
    fprintf(f, "<text x=\"%g\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">mIoU vs clicks: ",
            W / 2);
    xml_str(f, base);
    fprintf(f, " (%d instance%s, model ", sm->n, sm->n == 1 ? "" : "s");
    xml_str(f, mi->name);
    fprintf(f, ")</text>\n");
    /* Horizontal grid and y ticks: 0.0 .. 1.0 by 0.1. */
    fprintf(f, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int i = 0; i <= 10; i++)
        fprintf(f, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\"/>\n", L, SY(i / 10.0), L + pw,
                SY(i / 10.0));
    fprintf(f, "</g>\n<g text-anchor=\"end\">\n");
    for (int i = 0; i <= 10; i++)
        fprintf(f, "<text x=\"%g\" y=\"%.2f\">%.1f</text>\n", L - 8, SY(i / 10.0) + 4, i / 10.0);
    fprintf(f, "</g>\n");
    /* x ticks: 1 and multiples of a step giving at most ~10 labels. */
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    int step = 1000;
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (K / steps[i] <= 10) {
            step = steps[i];
            break;
        }
    fprintf(f, "<g stroke=\"black\" stroke-width=\"1\">\n");
    for (int k = 1; k <= K; k++)
        if (k == 1 || k % step == 0)
            fprintf(f, "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\"/>\n", SX(k), T + ph,
                    SX(k), T + ph + 5);
    for (int i = 0; i <= 10; i++)
        fprintf(f, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\"/>\n", L - 5, SY(i / 10.0), L,
                SY(i / 10.0));
    fprintf(f, "</g>\n<g text-anchor=\"middle\">\n");
    for (int k = 1; k <= K; k++)
        if (k == 1 || k % step == 0)
            fprintf(f, "<text x=\"%.2f\" y=\"%g\">%d</text>\n", SX(k), T + ph + 19, k);
    fprintf(f, "</g>\n");
    /* The 0.85 and 0.90 levels. */
    static const double levels[] = {0.85, 0.90};
    for (int i = 0; i < 2; i++) {
        fprintf(f,
                "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#999999\" "
                "stroke-dasharray=\"4 3\"/>\n",
                L, SY(levels[i]), L + pw, SY(levels[i]));
        fprintf(f,
                "<text x=\"%g\" y=\"%.2f\" text-anchor=\"end\" fill=\"#777777\" font-size=\"10\">"
                "%.2f</text>\n",
                L + pw - 2, SY(levels[i]) + (i ? -3 : 11), levels[i]);
    }
    /* Axes and their labels. */
    fprintf(f,
            "<path d=\"M %g %g V %g H %g\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n",
            L, T, T + ph, L + pw);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">number of clicks</text>\n",
            L + pw / 2, H - 14);
    fprintf(f,
            "<text x=\"16\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
            "%g)\">mIoU</text>\n",
            T + ph / 2, T + ph / 2);
    /* The curve. */
    fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
    for (int k = 1; k <= K; k++)
        fprintf(f, "%s%.2f,%.2f", k > 1 ? " " : "", SX(k), SY(sm->miou[k - 1]));
    fprintf(f, "\"/>\n<g fill=\"#1f77b4\">\n");
    for (int k = 1; k <= K; k++)
        fprintf(f,
                "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\"><title>%d click%s: mIoU "
                "%.4f</title></circle>\n",
                SX(k), SY(sm->miou[k - 1]), k, k == 1 ? "" : "s", sm->miou[k - 1]);
    fprintf(f, "</g>\n</svg>\n");
#undef SX
#undef SY
}

/* Writes one report whole or not at all (outfile.h). */
static int write_report(const char *path, int which, const eval_dataset *ds,
                        const if_model_info *mi, const eval_options *o, const ev_summary *sm,
                        const ev_result *res, int n_res, const ev_skip *skip, int n_skip) {
    out_file of;
    char err[1024];
    if (out_open(&of, path, err, sizeof err)) return cli_fail(path, "%s", err);
    if (which == 0)
        write_json(of.f, ds, mi, o, sm, res, n_res, skip, n_skip);
    else if (which == 1)
        write_csv(of.f, res, n_res, o->max_clicks);
    else
        write_svg(of.f, ds, mi, sm, o->max_clicks);
    if (out_commit(&of, err, sizeof err)) return cli_fail(path, "%s", err);
    return 0;
}

/* Which mask encodings were found, and how often: a misread encoding
 * (stb_image's colours for palette indices) shows here at a glance. */
static void print_encodings(const eval_dataset *ds) {
    const char *seen[16];
    int count[16], n = 0, other = 0;
    for (int i = 0; i < ds->n_items; i++) {
        const char *e = ds->items[i].encoding ? ds->items[i].encoding : "?";
        int k = 0;
        while (k < n && seen[k] != e) k++;
        if (k == n && n == 16) {
            other++;
            continue;
        }
        if (k == n) {
            seen[n] = e;
            count[n++] = 0;
        }
        count[k]++;
    }
    for (int k = 0; k < n; k++)
        printf("%-12s %d read as %s\n", k ? "" : "masks", count[k], seen[k]);
    if (other) printf("%-12s %d of other encodings\n", "", other);
}

int eval_run(const eval_dataset *ds, const if_model *enc, const if_model *dec,
             const eval_options *o) {
    const int K = o->max_clicks;
    int rc = 0, n_res = 0, n_skip = ds->n_skipped, cap_skip = ds->n_skipped + ds->n_items;
    const char *paths[3] = {o->json_path, o->csv_path, o->svg_path};
    ev_result *res = calloc((size_t)ds->n_items, sizeof *res);
    double *iou = calloc((size_t)ds->n_items * K + K, sizeof *iou);
    if_click *clicks = calloc((size_t)ds->n_items * K, sizeof *clicks);
    ev_skip *skip = calloc((size_t)cap_skip + 1, sizeof *skip);
    char **reasons = calloc((size_t)ds->n_items + 1, sizeof *reasons); /* ours, to free */
    if (!res || !iou || !clicks || !skip || !reasons) {
        rc = cli_fail("eval", "out of memory");
        goto done;
    }
    /* The reports' paths first: one that is a dataset or model file, or
     * cannot be written, fails before the run (they are written at the end). */
    {
        const char **ins = calloc((size_t)ds->n_files + 2, sizeof *ins);
        if (!ins) {
            rc = cli_fail("eval", "out of memory");
            goto done;
        }
        for (int i = 0; i < ds->n_files; i++) ins[i] = ds->files[i];
        ins[ds->n_files] = o->encoder_path;
        ins[ds->n_files + 1] = o->decoder_path;
        rc = cli_check_outputs("eval", paths, 3, ins, (size_t)ds->n_files + 2);
        free(ins);
        if (rc) goto done;
    }
    if_model_info mi;
    if_model_get_info(dec, &mi);
    for (int i = 0; i < ds->n_skipped; i++) {
        skip[i] = ds->skipped[i];
        cli_warn(skip[i].name, "%s (skipped)", skip[i].reason);
    }
    if (!o->quiet)
        fprintf(stderr, PROG ": eval: %s (%s): %d instance%s%s, up to %d click%s each\n", ds->dir,
                ds->layout, ds->n_items, ds->n_items == 1 ? "" : "s",
                ds->n_items + ds->n_skipped < ds->n_found ? " (--limit)" : "", K,
                K == 1 ? "" : "s");

    double t_start = cli_now_s();
    for (int i = 0; i < ds->n_items; i++) {
        ev_result *r = &res[n_res];
        memset(r, 0, sizeof *r);
        r->item = &ds->items[i];
        r->iou = iou + (size_t)n_res * K;
        r->clicks = clicks + (size_t)n_res * K;
        char *why = NULL;
        int st = eval_instance(enc, dec, K, o->max_side, r, &why);
        if (st > 0) {
            rc = st;
            goto done;
        }
        if (st < 0) {
            if (!why) {
                rc = cli_fail("eval", "out of memory");
                goto done;
            }
            if (!o->allow_skip) {
                rc = cli_fail(r->item->name,
                              "%s (give --allow-skip to evaluate the other instances)", why);
                free(why);
                goto done;
            }
            reasons[i] = why;
            skip[n_skip++] = (ev_skip){r->item->name, why};
            cli_warn(r->item->name, "%s (skipped)", why);
            continue;
        }
        n_res++;
        if (!o->quiet) {
            fprintf(stderr, "[%d/%d] %s %dx%d: IoU@1 %.3f", i + 1, ds->n_items, r->item->name, r->w,
                    r->h, r->iou[0]);
            if (K >= 5) fprintf(stderr, " @5 %.3f", r->iou[4]);
            if (K != 1 && K != 5) fprintf(stderr, " @%d %.3f", K, r->iou[K - 1]);
            fprintf(stderr, ", NoC@85 %d, NoC@90 %d, encode %.1f ms, %.2f ms/click\n", r->noc85,
                    r->noc90, r->t_encode * 1e3,
                    r->n_clicks ? r->t_clicks * 1e3 / r->n_clicks : 0.0);
        }
    }
    if (!n_res) {
        rc = cli_fail(
            ds->dir, "no instance could be evaluated (%d skipped: see the warnings above)", n_skip);
        goto done;
    }

    ev_summary sm = {0};
    sm.n = n_res;
    sm.miou = iou + (size_t)ds->n_items * K;
    sm.wall = cli_now_s() - t_start;
    for (int i = 0; i < n_res; i++) {
        const ev_result *r = &res[i];
        double px = (double)r->w * r->h;
        sm.noc85 += r->noc85;
        sm.noc90 += r->noc90;
        double best = 0;
        for (int k = 0; k < K; k++) {
            sm.miou[k] += r->iou[k];
            if (r->iou[k] > best) best = r->iou[k];
        }
        sm.fail85 += !(best >= 0.85);
        sm.fail90 += !(best >= 0.90);
        sm.at_max85 += r->noc85 == K;
        sm.at_max90 += r->noc90 == K;
        sm.clicks += r->n_clicks;
        sm.t_clicks += r->t_clicks;
        sm.t_sim += r->t_sim;
        sm.t_encode += r->t_encode;
        sm.pie += r->t_clicks / px;        /* summed over clicks: t/px per click */
        sm.enc_per_px += r->t_encode / px; /* summed over images */
        sm.megapixels += px / 1e6;
    }
    sm.noc85 /= n_res;
    sm.noc90 /= n_res;
    for (int k = 0; k < K; k++) sm.miou[k] /= n_res;
    sm.pie = sm.clicks ? sm.pie / (double)sm.clicks : 0;
    sm.enc_per_px /= n_res;

    /* The summary. */
    printf("dataset      %s (%s)\n", ds->dir, ds->layout);
    /* A part of a dataset must never pass for a result on it. */
    printf("instances    %d evaluated of %d found", n_res, ds->n_found);
    if (n_skip) printf(", %d skipped (--allow-skip; see the warnings on stderr)", n_skip);
    if (ds->n_items + ds->n_skipped < ds->n_found)
        printf(", the first %d only (--limit)", ds->n_items);
    if (n_res < ds->n_found) printf(": PARTIAL, not a result on the whole dataset");
    printf("\n");
    print_encodings(ds);
    if (o->max_side) {
        int resized = 0;
        for (int i = 0; i < n_res; i++)
            resized += (res[i].w > res[i].h ? res[i].w : res[i].h) > o->max_side;
        printf("resolution   longer side at most %d (--max-side): %d of %d images resized\n",
               o->max_side, resized, n_res);
    } else
        printf("resolution   native (the papers' protocol)\n");
    printf("model        %s%s\n", mi.name,
           o->placeholder ? " [placeholder model: random weights, the numbers are meaningless]"
                          : "");
    printf("clicks       up to %d per instance, %lld made\n", K, sm.clicks);
    printf("NoC@85       %.2f\n", sm.noc85);
    printf("NoC@90       %.2f\n", sm.noc90);
    printf("failures     %d of %d never reach IoU 0.90 within %d click%s (NoC@90 = %d: %d)\n",
           sm.fail90, n_res, K, K == 1 ? "" : "s", K, sm.at_max90);
    int shown[4] = {1, 5, 20, K};
    for (int j = 0; j < 4; j++) {
        int k = shown[j], dup = k > K;
        for (int q = 0; q < j; q++) dup |= shown[q] == k;
        if (dup) continue;
        char label[32];
        snprintf(label, sizeof label, "mIoU@%d", k);
        printf("%-12s %.4f\n", label, sm.miou[k - 1]);
    }
    printf("s/click      %.4f (decoder only; %.4f s/click/MP; PIE %.3e s/click/pixel)\n",
           sm.t_clicks / (double)sm.clicks, sm.pie * 1e6, sm.pie);
    printf("encode       %.4f s/image (%.4f s/MP)\n", sm.t_encode / n_res, sm.enc_per_px * 1e6);
    printf("wall         %.1f s (next-click simulator %.4f s/click)\n", sm.wall,
           sm.t_sim / (double)sm.clicks);

    for (int i = 0; i < 3; i++) {
        int e = paths[i] ? write_report(paths[i], i, ds, &mi, o, &sm, res, n_res, skip, n_skip) : 0;
        if (e) rc = e;
    }
done:
    if (reasons)
        for (int i = 0; i < ds->n_items; i++) free(reasons[i]);
    free(reasons);
    free(skip);
    free(clicks);
    free(iou);
    free(res);
    return rc;
}
