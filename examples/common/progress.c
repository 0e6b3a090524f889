/* progress.c -- see progress.h. */
#include "common/progress.h"

#include "common/cli.h"

#include <stdio.h>

#include "platform/platform.h"

void progress_start(progress_bar *p, const char *label) {
    p->label = label;
    p->t0 = cli_now_s();
    p->tty = ifp_isatty(stderr);
    p->shown = 0;
}

int progress_update(void *user, double fraction) {
    progress_bar *p = user;
    if (!p->tty) return 0;
    double t = cli_now_s() - p->t0;
    if (t < 1.0 && !p->shown) return 0;
    enum { WIDTH = 30 };
    int fill = (int)(fraction * WIDTH + 0.5);
    if (fill > WIDTH) fill = WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    /* The time left, once there is enough done to estimate it. */
    if (fraction > 0.05 && fraction < 1)
        fprintf(stderr, "\r%s [%s] %3.0f%%  %.0f s left ", p->label, bar, fraction * 100,
                t / fraction - t);
    else
        fprintf(stderr, "\r%s [%s] %3.0f%%           ", p->label, bar, fraction * 100);
    fflush(stderr);
    p->shown = 1;
    return 0;
}

void progress_end(progress_bar *p) {
    if (p->shown) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->shown = 0;
}
