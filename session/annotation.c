/* annotation.c -- several objects on one image (interformer.h): one decoder
 * run for the image, and a session per object on it.
 *
 * The run's arena is shared: an object's click overwrites what the previous
 * decoder run left there. Nothing an object keeps points into it but its
 * logits, which session.c already treats as gone once the shared run
 * counter has moved on (run_seq). The owner map holds the finished objects'
 * pixels; each object's session reads it to leave them out of its
 * predictions. */
#include <stdio.h>
#include <string.h>

#include "format/annotation.h"
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

/* Status st with a message in the object's error buffer (as rt_fail). */
#define afail(a, st, ...) rt_fail((a)->err, sizeof(a)->err, (st), __VA_ARGS__)

/* A new annotation, its budget check covering `objects` objects' sessions
 * too (a file's, before they are made) and `more` bytes (the replay's). */
static if_status create(const if_model *dec, const if_features *f, int objects, uint64_t more,
                        if_annotation **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_new: out is NULL");
    *out = NULL;
    if_status st = if_features_check(dec, f);
    if (st != IF_OK) return st;
    rt_mem_part extra[4] = {{"owner map", (uint64_t)f->width * f->height * sizeof(uint16_t)}};
    if__session_parts(dec, f, extra + 1); /* objects' click histories and maps */
    extra[1].bytes *= (uint64_t)objects;
    extra[2].bytes *= (uint64_t)objects;
    extra[3] = (rt_mem_part){"loading", more};
    char what[64];
    snprintf(what, sizeof what, "an annotation of a %dx%d image", f->width, f->height);
    if_run *run;
    if ((st = if__decoder_run_new(dec, f, extra, 4, what, &run)) != IF_OK) return st;
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

if_status if_annotation_new(const if_model *dec, const if_features *f, if_annotation **out) {
    return create(dec, f, 0, 0, out);
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

int if_annotation_is_exclusive(const if_annotation *a) { return a ? a->exclusive : 0; }

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

/* ---------------------------------------------------------- save, load */

/* The mask an object's session started from (if_session_set_mask), at the
 * original size, as row-major runs from background: their count, and the
 * runs when runs is not NULL. */
static uint32_t base_runs(const if_session *s, uint32_t *runs) {
    uint32_t n = 0, len = 0;
    uint8_t cur = 0;
    for (int y = 0; y < s->H; y++)
        for (int x = 0; x < s->W; x++) {
            const uint8_t v = s->base_mask_set ? s->base_mask[(size_t)y * s->W + x]
                                               : s->base_pred[(size_t)y * s->Wp + x];
            if ((v != 0) != cur) {
                if (runs) runs[n] = len;
                n++;
                len = 0;
                cur = v != 0;
            }
            len++;
        }
    if (runs) runs[n] = len;
    return n + 1;
}

if_status if_annotation_save(if_annotation *a, const char *path) {
    if (!a || !path) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_save: NULL argument");
    if ((uint64_t)a->W * a->H > UINT32_MAX) /* the file's runs are u32 */
        return afail(a, IF_ERR_UNSUPPORTED,
                     "a %dx%d image: the annotation file holds at most "
                     "2^32 - 1 pixels",
                     a->W, a->H);
    uint64_t total = 0;
    for (int i = 0; i < a->n; i++)
        if (a->obj[i].s->has_base) total += base_runs(a->obj[i].s, NULL);
    ifa_object *obj = (ifa_object *)rt_calloc((size_t)a->n, sizeof *obj);
    uint32_t *runs = (uint32_t *)rt_malloc((size_t)total * sizeof *runs);
    if (!obj || !runs) {
        rt_free(obj);
        rt_free(runs);
        return afail(a, IF_ERR_NO_MEMORY, "saving %d objects", a->n);
    }
    ifa_file f;
    memset(&f, 0, sizeof f);
    f.width = a->W;
    f.height = a->H;
    snprintf(f.identity, sizeof f.identity, "%s", a->feat->identity);
    f.exclusive = a->exclusive;
    f.last_id = a->last_id;
    f.n_objects = a->n;
    f.objects = obj;
    uint32_t *r = runs;
    for (int i = 0; i < a->n; i++) {
        const if_session *s = a->obj[i].s;
        obj[i] = (ifa_object){a->obj[i].id, a->obj[i].finished, s->n, s->clicks, 0, r};
        if (s->has_base) r += obj[i].n_runs = base_runs(s, r);
    }
    const uint64_t bytes = ifa_file_bytes(&f);
    uint8_t *buf = bytes && bytes <= SIZE_MAX ? (uint8_t *)rt_malloc((size_t)bytes) : NULL;
    if_status st = IF_OK;
    if (!buf)
        st = afail(a, IF_ERR_NO_MEMORY, "%llu bytes for the file", (unsigned long long)bytes);
    else {
        ifa_encode(&f, buf);
        st = iff_write_file(path, buf, (size_t)bytes, a->err, sizeof a->err);
    }
    rt_free(buf);
    rt_free(runs);
    rt_free(obj);
    return st;
}

/* Replays the objects of file f on a new annotation (format/ANNOTATION.md). */
static if_status replay(if_annotation *a, const ifa_file *f) {
    uint8_t *mask = NULL;
    if_status st = IF_OK;
    a->exclusive = f->exclusive;
    for (int i = 0; i < f->n_objects && st == IF_OK; i++) {
        const ifa_object *o = &f->objects[i];
        int id;
        a->last_id = o->id - 1;
        if ((st = if_annotation_add_object(a, &id)) != IF_OK) break;
        if_session *s = if_annotation_object(a, id);
        if (o->n_runs) {
            if (!mask && !(mask = (uint8_t *)rt_malloc((size_t)a->W * a->H))) {
                st = afail(a, IF_ERR_NO_MEMORY, "a %dx%d mask", a->W, a->H);
                break;
            }
            size_t at = 0; /* the runs add up to W*H (ifa_parse) */
            for (uint32_t k = 0; k < o->n_runs; at += o->runs[k], k++)
                memset(mask + at, (int)(k & 1u), o->runs[k]);
            st = if_session_set_mask(s, mask, (size_t)a->W);
        }
        if (st == IF_OK) st = if_session_set_clicks(s, o->clicks, o->n_clicks);
        if (st != IF_OK) {
            afail(a, st, "object %d: %s", o->id, if_session_error(s));
            break;
        }
        if (o->finished) st = if_annotation_finish(a, id);
    }
    a->last_id = f->last_id;
    rt_free(mask);
    return st;
}

if_status if_annotation_load_buffer(const if_model *dec, const if_features *feat, const void *data,
                                    size_t size, if_annotation **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_load_buffer: out is NULL");
    *out = NULL;
    if (!data || !dec || !feat)
        return if__fail(IF_ERR_INVALID_ARG, "if_annotation_load_buffer: NULL argument");
    size_t cap;
    char *err = if__last_error_buf(&cap);
    ifa_file f;
    if_status st = ifa_parse(data, size, &f, err, cap);
    if (st != IF_OK) return st;
    if (feat &&
        (f.width != feat->width || f.height != feat->height || strcmp(f.identity, feat->identity)))
        st = if__fail(IF_ERR_MISMATCH,
                      "the annotation is of a %dx%d image from model %.16s..., the features of a "
                      "%dx%d image from model %.16s...",
                      f.width, f.height, f.identity, feat->width, feat->height, feat->identity);
    /* One check for all of it before anything is made: the decoder's run,
     * every object's session, the replay's mask. */
    if_annotation *a = NULL;
    if (st == IF_OK) st = create(dec, feat, f.n_objects, (uint64_t)f.width * f.height, &a);
    if (st == IF_OK && (st = replay(a, &f)) != IF_OK) {
        if__fail(st, "%s", a->err);
        if_annotation_free(a);
        a = NULL;
    }
    ifa_release(&f);
    *out = a;
    return st;
}

if_status if_annotation_load(const if_model *dec, const if_features *feat, const char *path,
                             if_annotation **out) {
    if (!path || !out) return if__fail(IF_ERR_INVALID_ARG, "if_annotation_load: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t size;
    if_status st = if__read_file(path, IFA_MAX_FILE, &buf, &size);
    if (st != IF_OK) return st;
    st = if_annotation_load_buffer(dec, feat, buf, size, out);
    if (st != IF_OK) if__prefix_error(path);
    rt_free(buf);
    return st;
}

#undef afail /* the amalgamation (dist/interformer.h) is one file: keep the name here */
