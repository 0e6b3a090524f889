/* eval.h -- `interformer eval` (examples/eval.c): the standard
 * interactive-segmentation evaluation protocol over a dataset folder, on the
 * public API only. examples/interformer.c parses the command line and loads
 * the models; eval.c finds the instances, runs the protocol and writes the
 * reports. Errors are printed as the CLI prints them ("interformer: <what>:
 * <detail>"); functions return 0 or the CLI's exit status (1). */
#ifndef IF_EXAMPLES_EVAL_H
#define IF_EXAMPLES_EVAL_H

#include "interformer.h"

/* Largest --max-clicks (each session keeps this many steps of history). */
#define EVAL_MAX_CLICKS_LIMIT 1000

typedef struct eval_dataset eval_dataset;

/* Which instances to take. */
typedef struct {
    int limit;      /* the first `limit` instances (0 = all) */
    int per_object; /* one instance per object id of a multi-object mask
                     * (else one per mask: all its objects together) */
    int allow_skip; /* evaluate the rest when some instances cannot be */
} eval_select;

/* Finds the layout of DATASET_DIR and its instances (image + mask pairs,
 * matched by file stem), reads every mask (examples/common/mask.h) and its
 * image's size, and keeps the first sel->limit instances. Instances that
 * cannot be evaluated (a file without its pair, an unreadable file, sizes
 * that differ, a mask without object) are an error listing them, unless
 * sel->allow_skip. On success *out owns the list (eval_dataset_free); on
 * failure the error is printed and the exit status returned. */
int eval_dataset_open(const char *dir, const eval_select *sel, eval_dataset **out);
void eval_dataset_free(eval_dataset *ds);

typedef struct {
    int max_clicks; /* clicks per instance, 1..EVAL_MAX_CLICKS_LIMIT */
    int quiet;      /* no progress lines on stderr */
    int allow_skip; /* an instance failing to load is skipped, not fatal */
    int max_side;   /* working resolution (if_encode_options); 0 = native */
    int threads;    /* for the report: the models' n_threads */
    const char *json_path, *csv_path, *svg_path; /* NULL: not written */
    const char *encoder_path, *decoder_path;     /* for the report */
    int placeholder;                             /* the model is the random-weight placeholder */
    const char *version;                         /* the CLI's version, for the report */
} eval_options;

/* Runs the protocol on every instance with the encoder and the decoder (of
 * the same model; the decoder loaded with if_options.max_clicks >=
 * o->max_clicks), prints the summary on stdout and writes the files. The
 * report paths are checked first (outfile.h: none may be a dataset file,
 * a model file or another report; each must be writable); the reports are
 * written only at the end, each whole or not at all. */
int eval_run(const eval_dataset *ds, const if_model *enc, const if_model *dec,
             const eval_options *o);

#endif
