/* alloc.c -- the runtime's allocations, counted, over platform/'s
 * allocator (which INTERFORMER_MALLOC / INTERFORMER_FREE override). */
#include <stdio.h>

#include "kernels/compat.h"
#include "platform/platform.h"
#include "runtime/runtime.h"

/* Counted so that tests can assert that a run allocates nothing. */
static IF_ATOMIC(uint_fast64_t) alloc_count;

void *rt_malloc(size_t n) {
    if_atomic_fetch_add(&alloc_count, 1);
    return ifp_malloc(n);
}

void *rt_calloc(size_t n, size_t size) {
    if_atomic_fetch_add(&alloc_count, 1);
    return ifp_calloc(n, size);
}

void rt_free(void *p) { ifp_free(p); }

void *rt_aligned_alloc(size_t align, size_t n) {
    if_atomic_fetch_add(&alloc_count, 1);
    return ifp_aligned_alloc(align, n);
}

void rt_aligned_free(void *p) { ifp_aligned_free(p); }

uint64_t rt_alloc_count(void) { return (uint64_t)if_atomic_load(&alloc_count); }
