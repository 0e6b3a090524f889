/* annotation.c -- several objects on one image (interformer.h): one decoder
 * run for the image, and a session per object on it.
 *
 * The run's arena is shared: an object's click overwrites what the previous
 * decoder run left there. Nothing an object keeps points into it but its
 * logits, which session.c already treats as gone once the shared run
 * counter has moved on (run_seq). The owner map holds the finished objects'
 * pixels; each object's session reads it to leave them out of its
 * predictions. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"
#include "session/session.h"

enum { MAX_ID = 65535 }; /* ids are the instance map's 16-bit values */

typedef struct {
    int id;
    int finished;
    if_session *s;
} ann_object;

struct if_annotation {
    const if_model *dec;
    const if_features *feat;
    if_run *run;
    uint64_t run_seq; /* shared by the objects' sessions */
    int W, H;
    int exclusive;
    uint16_t *owner; /* H*W: the finished object owning each pixel, 0: none */
    ann_object *obj; /* n of cap, oldest first */
    int n, cap;
    int last_id;
    size_t base_bytes;
    char err[RT_ERR_CAP];
};

static if_status afail(if_annotation *a, if_status st, const char *fmt, ...) IFP_PRINTF(3, 4);
static if_status afail(if_annotation *a, if_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    return st;
}

if_status if_annotation_new(const if_model *dec, const if_features *f, if_annotation **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_new: out is NULL");
    *out = NULL;
    if_status st = if_features_check(dec, f);
    if (st != IF_OK) return st;
    const rt_mem_part extra[] = {{"owner map", (uint64_t)f->width * f->height * sizeof(uint16_t)}};
    char what[64];
    snprintf(what, sizeof what, "an annotation of a %dx%d image", f->width, f->height);
    if_run *run;
    if ((st = if__decoder_run_new(dec, f, extra, 1, what, &run)) != IF_OK) return st;
    if_annotation *a = (if_annotation *)rt_calloc(1, sizeof *a);
    uint16_t *owner = (uint16_t *)rt_calloc((size_t)f->width * f->height, sizeof *owner);
    if (!a || !owner) {
        rt_free(a);
        rt_free(owner);
        if_run_free(run);
        return if__fail(IF_ERR_NO_MEMORY, "%s", what);
    }
    a->dec = dec;
    a->feat = f;
    a->run = run;
    a->W = f->width;
    a->H = f->height;
    a->exclusive = 1;
    a->owner = owner;
    a->base_bytes = sizeof *a + if_run_arena_bytes(run) + run->exec->prep_bytes +
                    (size_t)a->W * a->H * sizeof *owner;
    *out = a;
    return IF_OK;
}

void if_annotation_free(if_annotation *a) {
    if (!a) return;
    for (int i = 0; i < a->n; i++) if_session_free(a->obj[i].s);
    rt_free(a->obj);
    rt_free(a->owner);
    if_run_free(a->run);
    rt_free(a);
}

/* The object with this id, or NULL. */
static ann_object *find(const if_annotation *a, int id) {
    for (int i = 0; a && i < a->n; i++)
        if (a->obj[i].id == id) return &a->obj[i];
    return NULL;
}

if_status if_annotation_add_object(if_annotation *a, int *id) {
    if (!a || !id) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_add_object: NULL argument");
    *id = 0;
    if (a->last_id >= MAX_ID)
        return afail(a, IF_ERR_STATE, "%d objects made: ids are 16-bit", a->last_id);
    if (a->n == a->cap) {
        const int cap = a->cap ? 2 * a->cap : 8;
        ann_object *obj = (ann_object *)rt_calloc((size_t)cap, sizeof *obj);
        if (!obj) return afail(a, IF_ERR_NO_MEMORY, "room for %d objects", cap);
        if (a->n) memcpy(obj, a->obj, (size_t)a->n * sizeof *obj);
        rt_free(a->obj);
        a->obj = obj;
        a->cap = cap;
    }
    if_session *s;
    if_status st = if__session_new(a->dec, a->feat, a->run, &a->run_seq, &s);
    if (st != IF_OK) return afail(a, st, "object %d: %s", a->last_id + 1, if_last_error());
    s->owner = a->owner;
    s->exclusive = &a->exclusive;
    s->id = (uint16_t)++a->last_id;
    a->obj[a->n++] = (ann_object){a->last_id, 0, s};
    *id = a->last_id;
    return IF_OK;
}

if_session *if_annotation_object(if_annotation *a, int id) {
    ann_object *o = find(a, id);
    return o ? o->s : NULL;
}

/* Gives back the pixels a finished object holds in the owner map. */
static void release(if_annotation *a, int id) {
    const size_t px = (size_t)a->W * a->H;
    for (size_t i = 0; i < px; i++)
        if (a->owner[i] == id) a->owner[i] = 0;
}

if_status if_annotation_finish(if_annotation *a, int id) {
    if (!a) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_finish: annotation is NULL");
    ann_object *o = find(a, id);
    if (!o) return afail(a, IF_ERR_INVALID_ARG, "no object %d", id);
    if (o->finished) return IF_OK;
    /* A pixel another finished object holds stays that object's: masks
     * made while not exclusive may overlap. */
    const uint8_t *m = if_session_mask(o->s);
    const size_t px = (size_t)a->W * a->H;
    for (size_t i = 0; i < px; i++)
        if (m[i] && !a->owner[i]) a->owner[i] = (uint16_t)id;
    o->finished = 1;
    return IF_OK;
}

if_status if_annotation_reopen(if_annotation *a, int id) {
    if (!a) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_reopen: annotation is NULL");
    ann_object *o = find(a, id);
    if (!o) return afail(a, IF_ERR_INVALID_ARG, "no object %d", id);
    if (o->finished) release(a, id);
    o->finished = 0;
    return IF_OK;
}

if_status if_annotation_delete(if_annotation *a, int id) {
    if (!a) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_delete: annotation is NULL");
    ann_object *o = find(a, id);
    if (!o) return afail(a, IF_ERR_INVALID_ARG, "no object %d", id);
    if (o->finished) release(a, id);
    if_session_free(o->s);
    const int i = (int)(o - a->obj);
    memmove(a->obj + i, a->obj + i + 1, (size_t)(a->n - i - 1) * sizeof *a->obj);
    a->n--;
    return IF_OK;
}

int if_annotation_count(const if_annotation *a) { return a ? a->n : 0; }

int if_annotation_id(const if_annotation *a, int index) {
    return a && index >= 0 && index < a->n ? a->obj[index].id : 0;
}

int if_annotation_is_finished(const if_annotation *a, int id) {
    const ann_object *o = find(a, id);
    return o ? o->finished : 0;
}

if_status if_annotation_set_exclusive(if_annotation *a, int exclusive) {
    if (!a) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_set_exclusive: annotation is NULL");
    a->exclusive = exclusive != 0;
    return IF_OK;
}

if_status if_annotation_instance_map(const if_annotation *a, uint16_t *dst, size_t stride) {
    if (!a || !dst || stride < (size_t)(a ? a->W : 0))
        return if__fail(IF_ERR_INVALID_ARG, "if_annotation_instance_map: NULL argument or stride "
                                            "below the width");
    for (int y = 0; y < a->H; y++) memset(dst + (size_t)y * stride, 0, (size_t)a->W * sizeof *dst);
    for (int k = 0; k < a->n; k++) {
        const uint8_t *m = if_session_mask(a->obj[k].s);
        const uint16_t id = (uint16_t)a->obj[k].id;
        for (int y = 0; y < a->H; y++) {
            uint16_t *row = dst + (size_t)y * stride;
            const uint8_t *mr = m + (size_t)y * a->W;
            for (int x = 0; x < a->W; x++)
                if (mr[x] && !row[x]) row[x] = id;
        }
    }
    return IF_OK;
}

size_t if_annotation_memory_bytes(const if_annotation *a) {
    if (!a) return 0;
    size_t b = a->base_bytes + (size_t)a->cap * sizeof *a->obj;
    for (int i = 0; i < a->n; i++) b += if_session_memory_bytes(a->obj[i].s);
    return b;
}

const char *if_annotation_error(const if_annotation *a) { return a ? a->err : ""; }
