/* batch.h -- dataset-scale encoding (examples/batch.c):
 *
 *   interformer encode --list FILE -o OUTDIR [--shard I/N] [--threads T]
 *   interformer encode FOLDER      -o OUTDIR [--shard I/N] [--threads T]
 *
 * writes OUTDIR/<image stem>.iff for this run's share of the images (image
 * k of the list, 0-based, belongs to shard k mod N), skipping those whose
 * feature file is already up to date, so that N runs on N machines (GNU
 * parallel, a Slurm job array, a Kubernetes Indexed Job; docs/batch-
 * encoding.md) encode a dataset once between them, and a killed run,
 * rerun, finishes the rest. examples/interformer.c parses the command line
 * and loads the encoder; this file does the rest, on the public API only.
 * Errors are printed as the CLI prints them ("interformer: <what>:
 * <detail>"); functions return 0 or the CLI's exit status. */
#ifndef IF_EXAMPLES_BATCH_H
#define IF_EXAMPLES_BATCH_H

#include <stddef.h>

#include "interformer.h"

typedef struct {
    const char *list;    /* the list file: one image path a line; or NULL */
    const char *folder;  /* or the images of this folder (the other NULL) */
    const char *out_dir; /* made (with its parents) when missing */
    int shard, n_shards; /* this run's share: 0 <= shard < n_shards */
    int f16;             /* store features as f16 */
    int max_side;        /* working resolution (if_encode_options.max_side);
                          * 0 = native */
} batch_options;

/* "I/N" (0 <= I < N <= 1000000) or "slurm": the index and count of a Slurm
 * job array from its environment (SLURM_ARRAY_TASK_ID, _MIN, _STEP and
 * _COUNT), so that --array=1-16 or 0-30:2 work as well as 0-15. Returns 0,
 * or -1 with the reason in err (a usage error). */
int batch_parse_shard(const char *s, int *shard, int *n_shards, char *err, size_t cap);

typedef struct batch batch;

/* Reads the list (or the folder), checks that no two images share a stem
 * (they would write the same feature file) and makes OUTDIR, all before
 * any model is loaded. On success *out owns the batch (batch_free). */
int batch_open(const batch_options *o, batch **out);
void batch_free(batch *b);

/* Encodes this run's share with `enc` and prints one line per image and a
 * summary on stdout. Returns 0 when every image of the share has an up to
 * date feature file, 1 when some failed (the others are done all the
 * same). SIGINT, SIGTERM and SIGHUP stop it after the image being saved
 * (or cancel an encode in progress): the summary is printed and the process
 * ends by the signal. */
int batch_run(batch *b, const if_model *enc);

#endif
