/* check.h -- the assertion macro of the C tests: counts, prints the failing
 * line and a printf-style reason, never stops. A test ends with
 * CHECK_SUMMARY(), which prints the `N passed, M failed` line. */
#ifndef IF_TESTS_CHECK_H
#define IF_TESTS_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

#define CHECK_SUMMARY() (printf("%d passed, %d failed\n", passed, failed), failed != 0)

#endif
