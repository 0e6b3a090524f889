/* progress.h -- the CLI's progress bar on stderr: drawn only when stderr
 * is a terminal and the work has run for about a second (short encodes and
 * scripts see nothing), erased when done. */
#ifndef IF_EXAMPLES_PROGRESS_H
#define IF_EXAMPLES_PROGRESS_H

typedef struct {
    const char *label; /* shown before the bar */
    double t0;         /* seconds, monotonic */
    int tty, shown;
} progress_bar;

void progress_start(progress_bar *p, const char *label);

/* if_encode_options.progress: user = the progress_bar. Never cancels. */
int progress_update(void *user, double fraction);

/* Erases the bar if it was drawn. */
void progress_end(progress_bar *p);

#endif
