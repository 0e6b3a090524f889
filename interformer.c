/* interformer.c -- public API of InterFormer-C (see interformer.h): thin
 * wrappers over runtime/ that own objects and keep error details. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "interformer.h"
#include "kernels/compat.h"
#include "kernels/dispatch.h"
#include "runtime/api.h"

static IF_THREAD_LOCAL char last_error[RT_ERR_CAP];

const char *if_last_error(void) { return last_error; }

char *if__last_error_buf(size_t *cap) {
    *cap = sizeof last_error;
    return last_error;
}

if_status if__fail(if_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

const char *if_status_str(if_status s) {
    switch (s) {
    case IF_OK: return "ok";
    case IF_ERR_INVALID_ARG: return "invalid argument";
    case IF_ERR_NO_MEMORY: return "out of memory";
    case IF_ERR_IO: return "i/o error";
    case IF_ERR_TRUNCATED: return "file truncated";
    case IF_ERR_BAD_MAGIC: return "bad magic (not a file of this kind)";
    case IF_ERR_BAD_VERSION: return "unsupported format version";
    case IF_ERR_CHECKSUM: return "checksum mismatch";
    case IF_ERR_BAD_OFFSET: return "offset or size out of range";
    case IF_ERR_BAD_COUNT: return "count out of range";
    case IF_ERR_BAD_DTYPE: return "bad element type";
    case IF_ERR_BAD_SHAPE: return "bad shape";
    case IF_ERR_BAD_OP: return "bad operator";
    case IF_ERR_BAD_ATTR: return "bad attribute";
    case IF_ERR_BAD_TENSOR_ID: return "bad tensor reference";
    case IF_ERR_BAD_GRAPH: return "bad graph structure";
    case IF_ERR_BAD_META: return "bad or missing metadata";
    case IF_ERR_MISMATCH: return "inputs do not belong together";
    case IF_ERR_UNSUPPORTED: return "unsupported";
    case IF_ERR_STATE: return "invalid state for this call";
    case IF_ERR_CANCELLED: return "cancelled";
    default: return "unknown status";
    }
}

if_options if_default_options(void) {
    if_options o = IF_ZERO_INIT;
    o.n_threads = 1;
    o.max_clicks = 64;
    o.mem_limit = 0;
    return o;
}

/* ---------------------------------------------------------------- models */

static int meta_ints(const ifg_graph *g, const char *key, int *dst, int n) {
    for (int i = 0; i < n; i++) {
        int64_t v;
        if (!ifg_meta_int(g, key, (uint32_t)i, &v)) return 0;
        dst[i] = (int)v;
    }
    return 1;
}

static int meta_floats(const ifg_graph *g, const char *key, float *dst, int n) {
    for (int i = 0; i < n; i++) {
        double v;
        if (!ifg_meta_float(g, key, (uint32_t)i, &v)) return 0;
        dst[i] = (float)v;
    }
    return 1;
}

static void fill_info(if_model *m) {
    if_model_info *info = &m->info;
    const ifg_graph *g = &m->rt->g;
    memset(info, 0, sizeof *info);
    info->kind = g->kind == IFG_KIND_ENCODER ? IF_MODEL_ENCODER : IF_MODEL_DECODER;
    ifg_meta_string(g, "model.name", info->name, sizeof info->name);
    ifg_meta_string(g, "model.identity", info->identity, sizeof info->identity);
    meta_ints(g, "features.channels", info->feature_channels, 4);
    meta_ints(g, "features.strides", info->feature_strides, 4);
    info->pad_multiple = 32;
    meta_ints(g, "preprocess.pad_multiple", &info->pad_multiple, 1);
    meta_floats(g, "preprocess.mean", info->mean, 3);
    meta_floats(g, "preprocess.std", info->std, 3);
    info->click_radius = 5;
    meta_ints(g, "click.radius", &info->click_radius, 1);
    meta_ints(g, "zoom.enabled", &info->zoom_in, 1);
    meta_floats(g, "zoom.expand_ratio", &info->zoom_expand_ratio, 1);
    meta_ints(g, "zoom.min_size", &info->zoom_min_size, 1);
    meta_ints(g, "zoom.start_step", &info->zoom_start_step, 1);
    meta_ints(g, "zoom.max_stride", &info->zoom_max_stride, 1);
    for (uint32_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].storage == IFG_CONST)
            info->n_params += (int64_t)(g->tensors[i].nbytes / ifg_dtype_size(g->tensors[i].dtype));
}

if_status if_model_get_info(const if_model *m, if_model_info *info) {
    if (!m || !info) return if__fail(IF_ERR_INVALID_ARG, "if_model_get_info: NULL argument");
    *info = m->info;
    return IF_OK;
}

static if_status wrap_model(rt_model *rt, const if_options *opt, if_model **out) {
    if_model *m = (if_model *)rt_calloc(1, sizeof *m);
    if (!m) {
        rt_model_free(rt);
        return if__fail(IF_ERR_NO_MEMORY, "model");
    }
    m->rt = rt;
    m->opt = opt ? *opt : if_default_options();
    char why[RT_ERR_CAP];
    m->ops = ifk_select(m->opt.isa, why, sizeof why);
    if (!m->ops) {
        if_model_free(m);
        return if__fail(IF_ERR_UNSUPPORTED, "kernels: %s", why);
    }
    m->opt.isa = m->ops->name; /* the caller's string need not outlive the call */
    if (m->opt.n_threads < 1) m->opt.n_threads = 1;
    if (m->opt.n_threads > 256) m->opt.n_threads = 256;
    if (m->opt.max_clicks < 1) m->opt.max_clicks = 64;
    fill_info(m);
    snprintf(m->info.isa, sizeof m->info.isa, "%s", m->ops->name);
    m->info.n_threads = m->opt.n_threads;
    *out = m;
    return IF_OK;
}

if_status if_model_load(const char *path, const if_options *opt, if_model **out) {
    rt_model *rt;
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_model_load: out is NULL");
    *out = NULL;
    if_status s =
        rt_model_load_file(path, opt ? opt->mem_limit : 0, &rt, last_error, sizeof last_error);
    return s == IF_OK ? wrap_model(rt, opt, out) : s;
}

if_status if_model_load_buffer(const void *buf, size_t size, int copy, const if_options *opt,
                               if_model **out) {
    rt_model *rt;
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_model_load_buffer: out is NULL");
    *out = NULL;
    if_status s = rt_model_load_buffer(buf, size, copy, opt ? opt->mem_limit : 0, &rt, last_error,
                                       sizeof last_error);
    return s == IF_OK ? wrap_model(rt, opt, out) : s;
}

void if_model_free(if_model *m) {
    if (!m) return;
    rt_model_free(m->rt);
    rt_free(m);
}

/* ------------------------------------------------------------------ runs */

if_status if__run_new(const if_model *m, int padded_h, int padded_w, const rt_mem_part *extra,
                      int n_extra, const char *what, if_run **out) {
    *out = NULL;
    if_run *r = (if_run *)rt_calloc(1, sizeof *r);
    if (!r) return if__fail(IF_ERR_NO_MEMORY, "run");
    r->m = m;
    if_status s = rt_plan_new(m->rt, padded_h, padded_w, m->opt.n_threads, &r->plan, last_error,
                              sizeof last_error);
    if (s == IF_OK) {
        /* The plan is cheap and knows the arena; nothing big is allocated
         * until the whole call's figure has been compared with the budget. */
        rt_mem_part parts[2 + IF_RUN_EXTRA_PARTS] = {
            {"arena", r->plan->arena_bytes},
            {"prepared weights", rt_exec_prep_bytes(r->plan, m->ops)},
        };
        int n = 2;
        for (int i = 0; i < n_extra && i < IF_RUN_EXTRA_PARTS; i++) parts[n++] = extra[i];
        s = rt_mem_check(m->opt.mem_limit, 1, parts, n, last_error, sizeof last_error, "%s", what);
    }
    if (s == IF_OK && (s = rt_exec_new(r->plan, m->ops, &r->exec)) != IF_OK)
        if__fail(s, "cannot allocate the %zu-byte arena or start %d threads", r->plan->arena_bytes,
                 m->opt.n_threads);
    if (s != IF_OK) {
        if_run_free(r);
        return s;
    }
    *out = r;
    return IF_OK;
}

void if_run_free(if_run *r) {
    if (!r) return;
    rt_exec_free(r->exec);
    rt_plan_free(r->plan);
    rt_free(r);
}

if_status if_run_new(const if_model *m, int padded_h, int padded_w, if_run **out) {
    if (!m || !out) return if__fail(IF_ERR_INVALID_ARG, "if_run_new: NULL argument");
    char what[64];
    snprintf(what, sizeof what, "a %dx%d run", padded_w, padded_h);
    return if__run_new(m, padded_h, padded_w, NULL, 0, what, out);
}

size_t if_run_arena_bytes(const if_run *r) { return r ? r->plan->arena_bytes : 0; }

/* Copies the executor's detail into the run's error string. */
static if_status run_status(if_run *r, if_status s) {
    if (s != IF_OK) snprintf(r->err, sizeof r->err, "%s", r->exec->err);
    return s;
}

if_status if_run_set_input(if_run *r, const char *name, const void *data, size_t bytes) {
    if (!r) return if__fail(IF_ERR_INVALID_ARG, "if_run_set_input: run is NULL");
    return run_status(r, rt_exec_bind(r->exec, name, data, bytes));
}

if_status if_run_image(if_run *r) {
    if (!r) return if__fail(IF_ERR_INVALID_ARG, "if_run_image: run is NULL");
    return run_status(r, rt_exec_run_image(r->exec));
}

if_status if_run_click(if_run *r) {
    if (!r) return if__fail(IF_ERR_INVALID_ARG, "if_run_click: run is NULL");
    return run_status(r, rt_exec_run_click(r->exec));
}

if_status if_run_output(const if_run *r, const char *name, const float **data, int64_t dims[4],
                        int *rank) {
    if (!r || !name || !data) return if__fail(IF_ERR_INVALID_ARG, "if_run_output: NULL argument");
    rt_shape s;
    *data = rt_exec_output(r->exec, name, &s);
    if (!*data) return if__fail(IF_ERR_INVALID_ARG, "'%s' is not an output of this graph", name);
    if (rank) *rank = s.rank;
    if (dims)
        for (int i = 0; i < 4; i++) dims[i] = i < s.rank ? s.d[i] : 1;
    return IF_OK;
}

const char *if_run_error(const if_run *r) { return r ? r->err : ""; }

/* ---------------------------------------------------------------- images */

if_status if_padded_size(const if_model *m, int height, int width, int *padded_h, int *padded_w) {
    if (!m || !padded_h || !padded_w)
        return if__fail(IF_ERR_INVALID_ARG, "if_padded_size: NULL argument");
    if (height < 1 || width < 1 || height > 32768 || width > 32768)
        return if__fail(IF_ERR_INVALID_ARG, "image size %dx%d is outside 1..32768", width, height);
    int64_t pad = 32;
    if (!ifg_meta_int(&m->rt->g, "preprocess.pad_multiple", 0, &pad) || pad < 1 || pad > 4096)
        pad = 32;
    *padded_h = (int)((height + pad - 1) / pad * pad);
    *padded_w = (int)((width + pad - 1) / pad * pad);
    return IF_OK;
}

if_status if_preprocess_rgb8(const if_model *m, const uint8_t *rgb, int width, int height,
                             size_t stride, float *dst, int padded_h, int padded_w) {
    if (!m || !rgb || !dst)
        return if__fail(IF_ERR_INVALID_ARG, "if_preprocess_rgb8: NULL argument");
    if (width < 1 || height < 1 || stride < (size_t)width * 3)
        return if__fail(IF_ERR_INVALID_ARG, "image %dx%d with stride %zu", width, height, stride);
    if (padded_h < height || padded_w < width)
        return if__fail(IF_ERR_INVALID_ARG, "padded size %dx%d is smaller than the image %dx%d",
                        padded_w, padded_h, width, height);
    const if_model_info info = m->info;
    float mean[3], inv[3];
    for (int c = 0; c < 3; c++) {
        mean[c] = info.std[c] > 0 ? info.mean[c] : 0.0f;
        inv[c] = info.std[c] > 0 ? (float)(1.0 / info.std[c]) : 1.0f;
    }
    memset(dst, 0, (size_t)padded_h * padded_w * 3 * sizeof(float));
    for (int y = 0; y < height; y++) {
        const uint8_t *row = rgb + (size_t)y * stride;
        float *o = dst + (size_t)y * padded_w * 3;
        for (int x = 0; x < width * 3; x++) o[x] = ((float)row[x] - mean[x % 3]) * inv[x % 3];
    }
    return IF_OK;
}
