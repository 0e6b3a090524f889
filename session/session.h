/* session.h -- the objects behind if_features and if_session (internal):
 * an encoded image and the interactive sessions on it. Shared by the
 * files of session/ and by tests that read a session's history.
 *
 * Layering: session/ is the click semantics (encoding an image, sessions,
 * clicks, reference labels, the distance transform, evaluation helpers)
 * over the graph engine of runtime/; the engine knows nothing of it. */
#ifndef IF_SESSION_SESSION_H
#define IF_SESSION_SESSION_H

#include "format/features.h"
#include "interformer.h"
#include "kernels/compat.h"
#include "runtime/api.h"

#define IF_LEVELS IFF_LEVELS /* feature levels: the file's */

struct if_features {
    int width, height;  /* the original image */
    int work_w, work_h; /* the image as the encoder saw it (<= width, height) */
    int padded_w, padded_h;
    int channels[IF_LEVELS], strides[IF_LEVELS], lh[IF_LEVELS], lw[IF_LEVELS];
    char identity[IFF_IDENT_BYTES];
    float *level[IF_LEVELS]; /* h x w x c each, inside block */
    float *block;
};

/* One interactive session (session/session.c). Tests read its history. */
struct if_session {
    const if_model *dec;
    const if_features *feat;
    if_run *run;
    int H, W, Hp, Wp;   /* original and padded size */
    int Hw, Ww;         /* working size (the encoder's view: <= H, W); the
                         * maps and the history live on its padded grid */
    int scaled;         /* Hw, Ww != H, W: masks are upsampled from logits */
    int32_t *tx0, *ty0; /* W, H: working taps of each original column / row */
    float *tfx, *tfy;
    float *diff;        /* Hw*Ww: foreground minus background logit of the prediction */
    uint8_t *base_mask; /* H*W: the mask set by if_session_set_mask (scaled only,
                         * made on first use); valid when base_mask_set */
    int base_mask_set;
    int cap, n;    /* history capacity, clicks made */
    int roi_input; /* the decoder has a "roi" input */
    if_click *clicks;
    uint8_t *fed;                    /* cap x Hp*Wp: label fed at each step */
    int32_t (*roi)[4];               /* cap: ROI of each step */
    uint8_t *has_roi;                /* cap */
    uint8_t *label;                  /* Hp*Wp: label the next click starts from */
    uint8_t *pred;                   /* Hp*Wp: current prediction (padded grid) */
    uint8_t *base_label, *base_pred; /* the state with no clicks */
    uint8_t *mask;                   /* H*W: current prediction, original size */
    const float *logits;             /* in the run's arena; NULL when no prediction */
    int n_redo;                      /* undone clicks after n that redo re-applies */
    uint64_t runs;                   /* decoder runs (if_session_decoder_runs) */
    uint64_t *run_seq;               /* runs of the decoder run, by whichever user */
    uint64_t own_seq;                /* run_seq of a session with its own run */
    uint64_t logits_seq;             /* *run_seq when logits were made */
    if_click *list;                  /* cap: a click list being built (remove, lists) */
    uint8_t *pv_label, *pv_pred;     /* Hp*Wp: a preview's label and prediction */
    float *pv_diff;                  /* Hw*Ww: a preview's logit difference */
    int shared_run;                  /* the run is an annotation's: not freed here */
    const uint16_t *owner;           /* an annotation's object: H*W finished owners */
    const int *exclusive;            /* ... and whether they are left out */
    uint16_t id;                     /* ... and this object's id */
    int has_base;                    /* if_session_set_mask gave the base state */
    size_t bytes;
    char err[RT_ERR_CAP];
};

/* A decoder run for features f, its inputs set and the per-image half of
 * the decoder run (once per image); `extra` as if__run_new's. */
if_status if__decoder_run_new(const if_model *dec, const if_features *f, const rt_mem_part *extra,
                              int n_extra, const char *what, if_run **out);

/* What a session on f holds beside its decoder run: the click history and
 * the maps (the parts if_session_new checks against the budget). */
void if__session_parts(const if_model *dec, const if_features *f, rt_mem_part parts[2]);

/* if_session_new on a shared run (NULL: its own), which must come from
 * if__decoder_run_new on the same features and outlive the session, its
 * runs counted in *run_seq (NULL: the session's own counter). */
if_status if__session_new(const if_model *dec, const if_features *f, if_run *shared,
                          uint64_t *run_seq, if_session **out);

/* The whole file at path, in a block from rt_malloc (*data; rt_free it),
 * refused over max_bytes or the memory budget. Details in if_last_error. */
if_status if__read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *n);
/* Puts "path: " before the thread's last-error detail. */
void if__prefix_error(const char *path);

/* Bytes of the level block of features for a padded_h x padded_w image at
 * these strides and channels (0 for a level that does not fit). */
uint64_t if__features_bytes(int padded_h, int padded_w, const int channels[IF_LEVELS],
                            const int strides[IF_LEVELS]);

/* A features object with room for the levels of a padded_h x padded_w image
 * at the given strides and channels (uninitialised values). */
if_status if__features_alloc(int height, int width, int padded_h, int padded_w,
                             const int channels[IF_LEVELS], const int strides[IF_LEVELS],
                             const char *identity, if_features **out);

#endif
