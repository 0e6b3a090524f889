/* test_threadpool.c -- every task runs exactly once per loop, on a valid
 * thread slot, over many loops and pool sizes (also run under TSan). */
#include <stdio.h>
#include <string.h>

#include "runtime/threadpool.h"

#define MAX_TASKS 97

typedef struct {
    int hits[MAX_TASKS];
    int bad_slot;
    int threads;
} loop;

static void task(void *ctx, int t, int slot) {
    loop *l = ctx;
    l->hits[t]++; /* each task index is claimed by one thread only */
    if (slot < 0 || slot >= l->threads) l->bad_slot = 1;
}

int main(void) {
    int passed = 0, failed = 0;
    for (int threads = 1; threads <= 4; threads++) {
        rt_pool *p = rt_pool_new(threads);
        if (!p || rt_pool_threads(p) != threads) {
            printf("FAIL: pool of %d\n", threads);
            failed++;
            continue;
        }
        int ok = 1;
        for (int iter = 0; iter < 500 && ok; iter++) {
            loop l;
            memset(&l, 0, sizeof l);
            l.threads = threads;
            int n = 1 + iter % MAX_TASKS;
            rt_pool_run(p, n, task, &l);
            for (int t = 0; t < MAX_TASKS; t++) ok &= l.hits[t] == (t < n);
            ok &= !l.bad_slot;
        }
        if (ok)
            passed++;
        else {
            failed++;
            printf("FAIL: %d threads: a task ran twice, never, or on a bad slot\n", threads);
        }
        rt_pool_free(p);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
