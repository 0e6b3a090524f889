/* single_header_suite.c -- the library's own test programs built on
 * dist/interformer.h instead of the library (`make test-single-header`):
 *
 *   cc -D_XOPEN_SOURCE=700 -I. -Iexamples -Itests \
 *      -DSUITE='"tests/test_session.c"' [-DSUITE_COMMON] \
 *      tests/single_header_suite.c -lm -lpthread
 *
 * The implementation comes first, from the single header. Each of the
 * library's headers inlined there keeps its include guard, so the test's
 * own #includes of interformer.h, runtime/..., session/... add nothing: the
 * test calls the single header's copies (internal linkage) of the functions
 * it tests, and nothing of libinterformer.a is linked. With SUITE_COMMON,
 * the examples' helpers (examples/common: the .npy reader, the CLI's
 * tables, output files) come in the same way, on the single header's
 * platform layer, for the programs that use them (test_session, if-golden;
 * stb_image is linked separately). */
#define INTERFORMER_IMPLEMENTATION
#include "dist/interformer.h"

#ifdef SUITE_COMMON
#include "examples/common/cli.c"
#include "examples/common/mask.c"
#include "examples/common/npy.c"
#include "examples/common/outfile.c"
#include "examples/common/progress.c"
#endif

#include SUITE
