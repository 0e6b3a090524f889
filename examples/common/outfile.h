/* outfile.h -- how the CLI writes files: never half a file, never over an
 * input, never silently.
 *
 * A regular file (or a new one) is written to a temporary file in the same
 * folder, every write and the close are checked, the data is flushed to
 * disk, and only then is it renamed over the target: a reader sees the old
 * file or the whole new one, and a failure (full disk, size limit, killed
 * process) leaves the target as it was. A target that is not a regular
 * file (/dev/stdout, /dev/full, a FIFO) is written in place, since renaming
 * over it would replace the device node; its errors are reported all the
 * same. A symbolic link is followed: the file it names is replaced, the
 * link stays. */
#ifndef IF_EXAMPLES_OUTFILE_H
#define IF_EXAMPLES_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char *target; /* the file written (a link's target resolved) */
    char *tmp;    /* the temporary file, or NULL when writing target in place */
    FILE *f;      /* open for writing */
    int failed;   /* a write through out_write failed */
    int err;      /* its errno */
} out_file;

/* Whether path can be an output, checked before any work: not a folder,
 * its folder exists and is writable. Returns 0, or -1 with the reason. */
int out_check(const char *path, char *err, size_t cap);

/* 1 when a and b name the same file (the same device and inode when both
 * exist, so also through links; else the same canonical path), 0 if not. */
int out_same_file(const char *a, const char *b);

/* The checks a command makes on its outputs before any work: none of
 * outs[0..n_outs) (NULL entries skipped) is one of ins[0..n_ins) (NULL
 * entries skipped) or another output, and each can be written. Returns 0;
 * 1 when an output is an input or named twice (a mistake on the command
 * line); 2 when one cannot be written. err then starts with the output's
 * path. */
int out_check_outputs(const char *const *outs, int n_outs, const char *const *ins, size_t n_ins,
                      char *err, size_t cap);

/* Opens o for writing path (see above). Returns 0, or -1 with the reason
 * (nothing is left behind). */
int out_open(out_file *o, const char *path, char *err, size_t cap);

/* fwrite into o, remembering the first failure for out_commit. */
void out_write(out_file *o, const void *data, size_t n);

/* Finishes o: checks every write, flushes, syncs, closes and renames the
 * temporary file into place. Returns 0, or -1 with the reason; on failure
 * the temporary file is removed and the target left as it was. o is closed
 * either way. */
int out_commit(out_file *o, char *err, size_t cap);

/* For a program's main: a file-size limit (ulimit -f) makes a write fail
 * with EFBIG, which out_commit reports, instead of killing the process
 * (SIGXFSZ); and SIGINT, SIGTERM and SIGHUP remove the temporary file being
 * written before the process ends as the signal says. */
void out_install_signal_handlers(void);

/* Closes o and removes its temporary file, leaving the target as it was.
 * Safe on a zeroed or already finished out_file. */
void out_discard(out_file *o);

#endif
