/* test_threadpool.c -- every task runs exactly once per loop, on a valid
 * thread slot, over many loops and pool sizes (also run under TSan). */
#include <stdio.h>
#include <string.h>

#include "check.h"
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
    for (int threads = 1; threads <= 4; threads++) {
        rt_pool *p = rt_pool_new(threads);
        CHECK(p && rt_pool_threads(p) == threads, "pool of %d", threads);
        if (!p || rt_pool_threads(p) != threads) continue;
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
        CHECK(ok, "%d threads: a task ran twice, never, or on a bad slot", threads);
        rt_pool_free(p);
    }
    return CHECK_SUMMARY();
}
