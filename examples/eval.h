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

/* Finds the layout of DATASET_DIR and its instances (image + mask pairs,
 * matched by file stem), keeping the first `limit` (0 = all). On success
 * *out owns the list (eval_dataset_free); on failure the error is printed
 * and the exit status returned (no layout, no instance, cannot read). */
int eval_dataset_open(const char *dir, int limit, eval_dataset **out);
void eval_dataset_free(eval_dataset *ds);

typedef struct {
    int max_clicks;                  /* clicks per instance, 1..EVAL_MAX_CLICKS_LIMIT */
    int quiet;                       /* no progress lines on stderr */
    int threads;                     /* for the report: the models' n_threads */
    const char *json_path, *csv_path, *svg_path; /* NULL: not written */
    const char *encoder_path, *decoder_path;     /* for the report */
    int placeholder;                 /* the model is the random-weight placeholder */
    const char *version;             /* the CLI's version, for the report */
} eval_options;

/* Runs the protocol on every instance with the encoder and the decoder (of
 * the same model; the decoder loaded with if_options.max_clicks >=
 * o->max_clicks), prints the summary on stdout and writes the files. */
int eval_run(const eval_dataset *ds, const if_model *enc, const if_model *dec, const eval_options *o);

#endif
