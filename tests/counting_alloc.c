/* counting_alloc.c -- the allocator single_header_app -DAPP_ALLOCATOR hands
 * to INTERFORMER_MALLOC / INTERFORMER_FREE: malloc with a header that
 * remembers the size and a tag, so that a block this allocator did not
 * make (say, one from libc's realpath handed back to it) or one freed twice
 * fails loudly, and so that the bytes still allocated at the end are known. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *app_malloc(size_t size);
void app_free(void *ptr);
void app_alloc_report(void);

enum { HEADER = 64 }; /* keeps the block's own alignment (malloc's) */
static const uint64_t TAG = 0x1f0a11c8c0ffee01u;
static size_t blocks, live, peak;

void *app_malloc(size_t size) {
    if (size > SIZE_MAX - HEADER) return NULL;
    unsigned char *p = (unsigned char *)malloc(HEADER + size);
    if (!p) return NULL;
    ((uint64_t *)p)[0] = TAG;
    ((uint64_t *)p)[1] = size;
    blocks++;
    live += size;
    if (live > peak) peak = live;
    return p + HEADER;
}

void app_free(void *ptr) {
    if (!ptr) return;
    unsigned char *p = (unsigned char *)ptr - HEADER;
    if (((uint64_t *)p)[0] != TAG) {
        fprintf(stderr, "counting_alloc: freeing a block it did not allocate (or twice)\n");
        abort();
    }
    ((uint64_t *)p)[0] = 0;
    live -= (size_t)((uint64_t *)p)[1];
    free(p);
}

void app_alloc_report(void) {
    printf("allocator blocks %zu live %zu peak %zu\n", blocks, live, peak);
}
