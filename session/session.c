/* session.c -- interactive sessions (interformer.h).
 *
 * A session keeps, on the padded grid: the reference label the next click
 * starts from, the current prediction, and for each click the label that was
 * fed to the decoder (and its ROI). Undo re-runs the decoder on the previous
 * step's stored input, which reproduces its prediction exactly (the runtime
 * is deterministic), instead of storing every prediction. All of it is
 * allocated in if_session_new. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"
#include "session/interact.h"
#include "session/session.h"
#include "session/workres.h"

/* Status st with a message in the object's error buffer (as rt_fail). */
#define sfail(s, st, ...) rt_fail((s)->err, sizeof(s)->err, (st), __VA_ARGS__)

/* -------------------------------------------------------------- session */

void if_session_free(if_session *s) {
    if (!s) return;
    if (!s->shared_run) if_run_free(s->run);
    rt_free(s->clicks);
    rt_free(s->fed);
    rt_free(s->roi);
    rt_free(s->has_roi);
    rt_free(s->label);
    rt_free(s->pred);
    rt_free(s->base_label);
    rt_free(s->base_pred);
    rt_free(s->mask);
    rt_free(s->tx0);
    rt_free(s->ty0);
    rt_free(s->tfx);
    rt_free(s->tfy);
    rt_free(s->diff);
    rt_free(s->base_mask);
    rt_free(s->list);
    rt_free(s->pv_label);
    rt_free(s->pv_pred);
    rt_free(s->pv_diff);
    rt_free(s);
}

/* The working-grid prediction as the original-size mask: a copy at native
 * size; else nearest working pixel (used only for the state with no
 * prediction, which has no logits to interpolate). */
static void mask_from_pred(const if_session *s, const uint8_t *pred, uint8_t *mask) {
    if (!s->scaled) {
        for (int y = 0; y < s->H; y++)
            memcpy(mask + (size_t)y * s->W, pred + (size_t)y * s->Wp, (size_t)s->W);
        return;
    }
    for (int y = 0; y < s->H; y++) {
        const uint8_t *row = pred + (size_t)rt_work_coord(y, s->H, s->Hw) * s->Wp;
        for (int x = 0; x < s->W; x++)
            mask[(size_t)y * s->W + x] = row[rt_work_coord(x, s->W, s->Ww)];
    }
}

/* An annotation's object (exclusive): the pixels of the other, finished
 * objects cleared from a mask it shows. */
static void exclude(const if_session *s, uint8_t *mask) {
    if (!s->owner || !*s->exclusive) return;
    const size_t px = (size_t)s->H * s->W;
    for (size_t i = 0; i < px; i++)
        if (s->owner[i] && s->owner[i] != s->id) mask[i] = 0;
}

static void clear_state(if_session *s) {
    size_t n = (size_t)s->Hp * s->Wp;
    memset(s->base_label, RT_REF_UNKNOWN, n);
    memset(s->base_pred, 0, n);
    memcpy(s->label, s->base_label, n);
    memcpy(s->pred, s->base_pred, n);
    memset(s->mask, 0, (size_t)s->H * s->W);
    s->base_mask_set = 0;
    s->has_base = 0;
    s->n = 0;
    s->n_redo = 0;
    s->logits = NULL;
}

if_status if__decoder_run_new(const if_model *dec, const if_features *f, const rt_mem_part *extra,
                              int n_extra, const char *what, if_run **out) {
    if_run *run;
    if_status st = if__run_new(dec, f->padded_h, f->padded_w, extra, n_extra, what, &run);
    if (st != IF_OK) return st;
    for (int i = 0; i < IF_LEVELS && st == IF_OK; i++) {
        char name[3] = {'F', (char)('1' + i), 0};
        size_t bytes = (size_t)f->lh[i] * f->lw[i] * f->channels[i] * sizeof(float);
        st = if_run_set_input(run, name, f->level[i], bytes);
    }
    if (st == IF_OK) st = if_run_image(run); /* the per-image half of the decoder */
    if (st != IF_OK) {
        if__fail(st, "decoder: %s", if_run_error(run));
        if_run_free(run);
        return st;
    }
    *out = run;
    return IF_OK;
}

void if__session_parts(const if_model *dec, const if_features *f, rt_mem_part parts[2]) {
    const uint64_t cap = (uint64_t)dec->opt.max_clicks, n = (uint64_t)f->padded_h * f->padded_w,
                   work = (uint64_t)f->work_w * f->work_h;
    const int scaled = f->work_w != f->width || f->work_h != f->height;
    /* Full-size: only the mask (and the taps); everything per click lives
     * at the working size. */
    parts[0] =
        (rt_mem_part){"click history", cap * (n + 2 * sizeof(if_click) + sizeof(int32_t[4]) + 1)};
    parts[1] =
        (rt_mem_part){"maps", 6 * n + (uint64_t)f->height * f->width + 2 * work * sizeof(float) +
                                  (scaled ? (uint64_t)(f->width + f->height) * 8 : 0)};
}

if_status if__session_new(const if_model *dec, const if_features *f, if_run *shared,
                          uint64_t *run_seq, if_session **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_session_new: out is NULL");
    *out = NULL;
    if_status st = if_features_check(dec, f);
    if (st != IF_OK) return st;
    /* The decoder's run is planned first and checked with everything else
     * the session will hold (history, maps) before any of it is allocated. */
    const int cap = dec->opt.max_clicks;
    const size_t n = (size_t)f->padded_h * f->padded_w;
    const int scaled = f->work_w != f->width || f->work_h != f->height;
    const uint64_t work = (uint64_t)f->work_w * f->work_h;
    rt_mem_part extra[2];
    if__session_parts(dec, f, extra);
    char what[64];
    snprintf(what, sizeof what, "a session on a %dx%d image", f->width, f->height);
    if_run *run = shared;
    if (shared) { /* an annotation's object: the run is there, its image half done */
        size_t cap_err;
        char *err = if__last_error_buf(&cap_err);
        st = rt_mem_check(dec->opt.mem_limit, 1, extra, 2, err, cap_err, "%s", what);
    } else {
        st = if__decoder_run_new(dec, f, extra, 2, what, &run);
    }
    if (st != IF_OK) return st;
    if_session *s = (if_session *)rt_calloc(1, sizeof *s);
    if (!s) {
        if (!shared) if_run_free(run);
        return if__fail(IF_ERR_NO_MEMORY, "session");
    }
    s->run = run;
    s->shared_run = shared != NULL;
    s->dec = dec;
    s->feat = f;
    s->H = f->height;
    s->W = f->width;
    s->Hp = f->padded_h;
    s->Wp = f->padded_w;
    s->Hw = f->work_h;
    s->Ww = f->work_w;
    s->scaled = scaled;
    s->cap = cap;
    s->clicks = (if_click *)rt_calloc((size_t)s->cap, sizeof *s->clicks);
    s->fed = (uint8_t *)rt_malloc((size_t)s->cap * n);
    s->roi = (int32_t(*)[4])rt_calloc((size_t)s->cap, sizeof *s->roi);
    s->has_roi = (uint8_t *)rt_calloc((size_t)s->cap, 1);
    s->label = (uint8_t *)rt_malloc(n);
    s->pred = (uint8_t *)rt_malloc(n);
    s->base_label = (uint8_t *)rt_malloc(n);
    s->base_pred = (uint8_t *)rt_malloc(n);
    s->mask = (uint8_t *)rt_malloc((size_t)s->H * s->W);
    s->list = (if_click *)rt_calloc((size_t)s->cap, sizeof *s->list);
    s->pv_label = (uint8_t *)rt_malloc(n);
    s->pv_pred = (uint8_t *)rt_malloc(n);
    s->diff = (float *)rt_malloc((size_t)work * sizeof *s->diff);
    s->pv_diff = (float *)rt_malloc((size_t)work * sizeof *s->pv_diff);
    if (scaled) {
        s->tx0 = (int32_t *)rt_malloc((size_t)s->W * sizeof *s->tx0);
        s->tfx = (float *)rt_malloc((size_t)s->W * sizeof *s->tfx);
        s->ty0 = (int32_t *)rt_malloc((size_t)s->H * sizeof *s->ty0);
        s->tfy = (float *)rt_malloc((size_t)s->H * sizeof *s->tfy);
        if (s->tx0 && s->tfx && s->ty0 && s->tfy) {
            rt_axis_taps(s->W, s->Ww, s->tx0, s->tfx);
            rt_axis_taps(s->H, s->Hw, s->ty0, s->tfy);
        }
    }
    if (!s->clicks || !s->fed || !s->roi || !s->has_roi || !s->label || !s->pred ||
        !s->base_label || !s->base_pred || !s->mask || !s->list || !s->pv_label || !s->pv_pred ||
        !s->diff || !s->pv_diff || (scaled && (!s->tx0 || !s->tfx || !s->ty0 || !s->tfy))) {
        if_session_free(s);
        return if__fail(IF_ERR_NO_MEMORY, "session history for %d clicks at %dx%d", cap,
                        f->padded_w, f->padded_h);
    }
    s->roi_input = ifg_find_tensor(&dec->rt->g, "roi") >= 0;
    s->run_seq = run_seq ? run_seq : &s->own_seq;
    s->bytes = sizeof *s + (size_t)s->cap * (n + 2 * sizeof *s->clicks + sizeof *s->roi + 1) +
               6 * n + (size_t)s->H * s->W + 2 * (size_t)work * sizeof(float) +
               (scaled ? (size_t)(s->W + s->H) * 8 : 0);
    if (!shared) s->bytes += if_run_arena_bytes(s->run) + s->run->exec->prep_bytes;
    clear_state(s);
    *out = s;
    return IF_OK;
}

if_status if_session_new(const if_model *dec, const if_features *f, if_session **out) {
    return if__session_new(dec, f, NULL, NULL, out);
}

/* Runs the decoder on a reference label (and ROI, NULL for none) and writes
 * its prediction: pred on the padded grid, the foreground-minus-background
 * logit on the working grid (diff), the mask at the original size. *lg:
 * the logits, in the run's arena. Nothing is written on failure. */
static if_status decode(if_session *s, const uint8_t *label, const int32_t *roi, uint8_t *pred,
                        float *diff, uint8_t *mask, const float **logits) {
    size_t n = (size_t)s->Hp * s->Wp;
    if_status st = if_run_set_input(s->run, "ref_label", label, n);
    if (st == IF_OK && s->roi_input) st = if_run_set_input(s->run, "roi", roi, sizeof(int32_t[4]));
    if (st == IF_OK) {
        st = if_run_click(s->run);
        ++*s->run_seq; /* the arena's logits are no longer any earlier run's */
        s->runs++;
    }
    const float *lg = NULL;
    int64_t d[4];
    int rank = 0;
    if (st == IF_OK) st = if_run_output(s->run, "logits", &lg, d, &rank);
    if (st != IF_OK) return sfail(s, st, "decoder: %s", if_run_error(s->run));
    /* The graph file says what 'logits' is; it is read as the padded grid
     * of two classes below. */
    if (rank != 3 || d[0] != s->Hp || d[1] != s->Wp || d[2] != 2)
        return sfail(s, IF_ERR_BAD_SHAPE,
                     "decoder output 'logits' is %lldx%lldx%lld (rank %d), not %dx%dx2",
                     (long long)d[0], (long long)d[1], (long long)d[2], rank, s->Hp, s->Wp);
    for (size_t i = 0; i < n; i++) pred[i] = lg[2 * i + 1] > lg[2 * i]; /* ties: background */
    for (int y = 0; y < s->Hw; y++)
        for (int x = 0; x < s->Ww; x++) {
            const float *l = lg + 2 * ((size_t)y * s->Wp + x);
            diff[(size_t)y * s->Ww + x] = l[1] - l[0];
        }
    if (!s->scaled)
        mask_from_pred(s, pred, mask);
    else /* the logits upsampled, then thresholded: never an upsampled binary mask */
        rt_upsample_logit(diff, (size_t)s->Ww, s->Ww, s->Hw, s->tx0, s->tfx, s->ty0, s->tfy, s->W,
                          s->H, mask, NULL);
    exclude(s, mask);
    if (logits) *logits = lg;
    return IF_OK;
}

/* Runs the decoder on step k's stored input; updates pred, mask, logits. */
static if_status predict(if_session *s, int k) {
    const float *lg = NULL;
    if_status st = decode(s, s->fed + (size_t)k * s->Hp * s->Wp, s->has_roi[k] ? s->roi[k] : NULL,
                          s->pred, s->diff, s->mask, &lg);
    if (st != IF_OK) return st;
    s->logits = lg;
    s->logits_seq = *s->run_seq;
    return IF_OK;
}

/* The label a click at c gives from `from` (stamped on the working grid),
 * into `to`; and the ROI the zoom-in would use for step k (returns 0 when
 * the step has none). */
static void stamp(const if_session *s, const uint8_t *from, uint8_t *to, if_click c) {
    memcpy(to, from, (size_t)s->Hp * s->Wp);
    /* The click lands on the working grid; the session keeps it as given. */
    int cx = s->scaled ? rt_work_coord(c.x, s->W, s->Ww) : c.x,
        cy = s->scaled ? rt_work_coord(c.y, s->H, s->Hw) : c.y;
    rt_stamp_click(to, s->Hp, s->Wp, cy, cx, c.positive != 0, s->dec->info.click_radius);
}
static int step_roi(const if_session *s, int k, const uint8_t *label, int32_t roi[4]) {
    const if_model_info *mi = &s->dec->info;
    if (!(s->roi_input && mi->zoom_in && k >= mi->zoom_start_step)) return 0;
    rt_zoom_roi(s->pred, label, s->Hp, s->Wp, mi->zoom_expand_ratio, mi->zoom_min_size,
                mi->zoom_max_stride, roi);
    return 1;
}

static if_status check_click(if_session *s, if_click c) {
    if (c.x < 0 || c.y < 0 || c.x >= s->W || c.y >= s->H)
        return sfail(s, IF_ERR_INVALID_ARG, "click (%d, %d) is outside the %dx%d image", c.x, c.y,
                     s->W, s->H);
    return IF_OK;
}

/* The state after the first k clicks of the history (k <= n): the base
 * state for k = 0, else step k-1's prediction again (one decoder run). The
 * click count is the caller's to set. */
static if_status state_at(if_session *s, int k) {
    size_t n = (size_t)s->Hp * s->Wp;
    if (k == 0) {
        memcpy(s->label, s->base_label, n);
        memcpy(s->pred, s->base_pred, n);
        if (s->base_mask_set)
            memcpy(s->mask, s->base_mask, (size_t)s->H * s->W);
        else
            mask_from_pred(s, s->base_pred, s->mask);
        exclude(s, s->mask);
        s->logits = NULL;
        return IF_OK;
    }
    if_status st = predict(s, k - 1);
    if (st != IF_OK) return st;
    memcpy(s->label, s->fed + (size_t)(k - 1) * n, n);
    rt_update_after_prediction(s->label, s->pred, n);
    return IF_OK;
}

/* After a failed run the arena no longer holds the current prediction's
 * logits: made again (the session is otherwise as it was). */
static void restore(if_session *s) {
    if (s->n > 0) predict(s, s->n - 1);
}

/* Step k = n from its stored input (add_click stores it first; redo finds
 * it stored): predict, fold into the label, count it. */
static if_status apply_step(if_session *s) {
    const int k = s->n;
    size_t n = (size_t)s->Hp * s->Wp;
    if_status st = predict(s, k);
    if (st != IF_OK) {
        restore(s);
        return st;
    }
    memcpy(s->label, s->fed + (size_t)k * n, n);
    rt_update_after_prediction(s->label, s->pred, n);
    s->n = k + 1;
    return IF_OK;
}

if_status if_session_add_click(if_session *s, if_click c) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_add_click: session is NULL");
    if_status st = check_click(s, c);
    if (st != IF_OK) return st;
    if (s->n >= s->cap)
        return sfail(s, IF_ERR_STATE,
                     "the history holds %d clicks (if_options.max_clicks): undo or reset", s->cap);
    const int k = s->n;
    uint8_t *fed = s->fed + (size_t)k * s->Hp * s->Wp;
    s->n_redo = 0; /* step k's stored input, which a redo would use, is replaced */
    stamp(s, s->label, fed, c);
    s->has_roi[k] = (uint8_t)step_roi(s, k, fed, s->roi[k]);
    if ((st = apply_step(s)) != IF_OK) return st;
    s->clicks[k] = (if_click){c.x, c.y, c.positive != 0};
    return IF_OK;
}

if_status if_session_undo(if_session *s) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_undo: session is NULL");
    if (s->n == 0) return sfail(s, IF_ERR_STATE, "no click to undo");
    if_status st = state_at(s, s->n - 1);
    if (st != IF_OK) return st;
    s->n--;
    s->n_redo++;
    return IF_OK;
}

if_status if_session_redo(if_session *s) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_redo: session is NULL");
    if (s->n_redo <= 0) return sfail(s, IF_ERR_STATE, "no undone click to redo");
    /* The step's stored label and ROI are still valid: the state before it
     * is the one they were made from. */
    if_status st = apply_step(s);
    if (st != IF_OK) return st;
    s->n_redo--;
    return IF_OK;
}

int if_session_redo_count(const if_session *s) { return s ? s->n_redo : 0; }

static int same_click(if_click a, if_click b) {
    return a.x == b.x && a.y == b.y && (a.positive != 0) == (b.positive != 0);
}

if_status if_session_set_clicks(if_session *s, const if_click *clicks, int m) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_set_clicks: session is NULL");
    if (m < 0 || (m > 0 && !clicks))
        return sfail(s, IF_ERR_INVALID_ARG, "if_session_set_clicks: %d clicks at %p", m,
                     (const void *)clicks);
    if (m > s->cap)
        return sfail(s, IF_ERR_STATE, "%d clicks: the history holds %d (if_options.max_clicks)", m,
                     s->cap);
    for (int i = 0; i < m; i++) {
        if_status st = check_click(s, clicks[i]);
        if (st != IF_OK) return st;
    }
    int keep = 0;
    while (keep < s->n && keep < m && same_click(s->clicks[keep], clicks[keep])) keep++;
    if (keep < s->n) {
        if_status st = state_at(s, keep);
        if (st != IF_OK) return st;
        s->n = keep;
    }
    s->n_redo = 0;
    for (int i = keep; i < m; i++) {
        if_status st = if_session_add_click(s, clicks[i]);
        if (st != IF_OK) return st;
    }
    return IF_OK;
}

if_status if_session_remove_click(if_session *s, int i) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_remove_click: session is NULL");
    if (i < 0 || i >= s->n)
        return sfail(s, IF_ERR_INVALID_ARG, "no click %d to remove (the session has %d)", i, s->n);
    int m = 0;
    for (int k = 0; k < s->n; k++)
        if (k != i) s->list[m++] = s->clicks[k];
    return if_session_set_clicks(s, s->list, m);
}

if_status if_session_set_click_lists(if_session *s, const if_click *pos, int n_pos,
                                     const if_click *neg, int n_neg) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_set_click_lists: session is NULL");
    if (n_pos < 0 || n_neg < 0 || (n_pos > 0 && !pos) || (n_neg > 0 && !neg))
        return sfail(s, IF_ERR_INVALID_ARG, "if_session_set_click_lists: bad list");
    if (n_pos > s->cap - n_neg)
        return sfail(s, IF_ERR_STATE, "%lld clicks: the history holds %d (if_options.max_clicks)",
                     (long long)n_pos + n_neg, s->cap);
    int m = 0;
    for (int i = 0; i < n_pos || i < n_neg; i++) {
        if (i < n_pos) s->list[m++] = (if_click){pos[i].x, pos[i].y, 1};
        if (i < n_neg) s->list[m++] = (if_click){neg[i].x, neg[i].y, 0};
    }
    return if_session_set_clicks(s, s->list, m);
}

if_status if_session_preview(if_session *s, if_click c, uint8_t *mask) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_preview: session is NULL");
    if (!mask) return sfail(s, IF_ERR_INVALID_ARG, "if_session_preview: mask is NULL");
    if_status st = check_click(s, c);
    if (st != IF_OK) return st;
    int32_t roi[4];
    stamp(s, s->label, s->pv_label, c);
    const int has_roi = step_roi(s, s->n, s->pv_label, roi);
    return decode(s, s->pv_label, has_roi ? roi : NULL, s->pv_pred, s->pv_diff, mask, NULL);
}

uint64_t if_session_decoder_runs(const if_session *s) { return s ? s->runs : 0; }

if_status if_session_reset(if_session *s) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_reset: session is NULL");
    clear_state(s);
    return IF_OK;
}

if_status if_session_set_mask(if_session *s, const uint8_t *mask, size_t stride) {
    if (!s) return if__fail(IF_ERR_INVALID_ARG, "if_session_set_mask: session is NULL");
    if (!mask || stride < (size_t)s->W)
        return sfail(s, IF_ERR_INVALID_ARG, "mask is NULL or its stride %zu < width %d", stride,
                     s->W);
    /* A resized session keeps the caller's mask to give it back exactly
     * (the working grid holds a coarser copy); made on first use. */
    if (s->scaled && !s->base_mask) {
        if (!(s->base_mask = (uint8_t *)rt_malloc((size_t)s->H * s->W)))
            return sfail(s, IF_ERR_NO_MEMORY, "a %dx%d mask", s->W, s->H);
        s->bytes += (size_t)s->H * s->W;
    }
    clear_state(s);
    s->has_base = 1;
    size_t n = (size_t)s->Hp * s->Wp;
    for (int y = 0; y < s->Hw; y++) {
        const uint8_t *row =
            mask + (size_t)(s->scaled ? rt_work_coord(y, s->Hw, s->H) : y) * stride;
        for (int x = 0; x < s->Ww; x++)
            s->base_pred[(size_t)y * s->Wp + x] =
                row[s->scaled ? rt_work_coord(x, s->Ww, s->W) : x] != 0;
    }
    /* As the official demo does with a previous mask: fold it into the
     * label as a prediction. */
    rt_update_after_prediction(s->base_label, s->base_pred, n);
    memcpy(s->label, s->base_label, n);
    memcpy(s->pred, s->base_pred, n);
    if (s->scaled) {
        for (int y = 0; y < s->H; y++)
            for (int x = 0; x < s->W; x++)
                s->base_mask[(size_t)y * s->W + x] = mask[(size_t)y * stride + x] != 0;
        memcpy(s->mask, s->base_mask, (size_t)s->H * s->W);
        s->base_mask_set = 1;
    } else
        mask_from_pred(s, s->base_pred, s->mask);
    exclude(s, s->mask); /* what is saved (base_pred, base_mask) stays as given */
    return IF_OK;
}

int if_session_click_count(const if_session *s) { return s ? s->n : 0; }

if_status if_session_get_click(const if_session *s, int i, if_click *c) {
    if (!s || !c || i < 0 || i >= s->n)
        return if__fail(IF_ERR_INVALID_ARG, "if_session_get_click: no click %d", i);
    *c = s->clicks[i];
    return IF_OK;
}

const uint8_t *if_session_mask(const if_session *s) { return s ? s->mask : NULL; }

if_status if_session_probability(const if_session *s, float *dst) {
    if (!s || !dst) return if__fail(IF_ERR_INVALID_ARG, "if_session_probability: NULL argument");
    if (!s->logits) return if__fail(IF_ERR_STATE, "no prediction yet");
    if (s->scaled) {
        rt_upsample_logit(s->diff, (size_t)s->Ww, s->Ww, s->Hw, s->tx0, s->tfx, s->ty0, s->tfy,
                          s->W, s->H, NULL, dst);
        return IF_OK;
    }
    const size_t n = (size_t)s->H * s->W; /* the working grid is the image's */
    for (size_t i = 0; i < n; i++) dst[i] = 1.0f / (1.0f + expf(-s->diff[i]));
    return IF_OK;
}

const float *if_session_logits(const if_session *s, int *padded_h, int *padded_w) {
    if (!s) return NULL;
    if (padded_h) *padded_h = s->Hp;
    if (padded_w) *padded_w = s->Wp;
    return s->logits_seq == *s->run_seq ? s->logits : NULL;
}

size_t if_session_memory_bytes(const if_session *s) { return s ? s->bytes : 0; }

const char *if_session_error(const if_session *s) { return s ? s->err : ""; }

/* ------------------------------------------------- zoom-in, by hand */

/* For callers that drive a decoder's if_run themselves: the ROI a session
 * would give the next click (session/interact.c's rule, with the model's
 * zoom-in settings). */
if_status if_zoom_roi(const if_model *decoder, const uint8_t *prev_mask, const uint8_t *ref_label,
                      int padded_h, int padded_w, int32_t roi[4]) {
    if (!decoder || !prev_mask || !ref_label || !roi || padded_h < 1 || padded_w < 1)
        return if__fail(IF_ERR_INVALID_ARG, "if_zoom_roi: NULL argument or empty grid");
    const if_model_info info = decoder->info;
    float ratio = info.zoom_expand_ratio > 0 ? info.zoom_expand_ratio : 1.4f;
    int min_size = info.zoom_min_size > 0 ? info.zoom_min_size : 32;
    int stride = info.zoom_max_stride > 0 ? info.zoom_max_stride : 32;
    rt_zoom_roi(prev_mask, ref_label, padded_h, padded_w, ratio, min_size, stride, roi);
    return IF_OK;
}

#undef sfail /* the amalgamation (dist/interformer.h) is one file: keep the name here */
