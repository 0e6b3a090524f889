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

/* The model arguments of the tests that run the tiny test model (`make
 * models`): ENCODER.ifg DECODER.ifg, or none for build/models/tiny_vit.*.
 * 0 when they are usable; -1 after a usage line on stderr. */
static inline int check_model_args(int argc, char **argv, const char **enc, const char **dec) {
    *enc = "build/models/tiny_vit.encoder.ifg";
    *dec = "build/models/tiny_vit.decoder.ifg";
    if (argc == 3) {
        *enc = argv[1];
        *dec = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [ENCODER.ifg DECODER.ifg]\n", argv[0]);
        return -1;
    }
    return 0;
}

#endif
