/* cli.h -- what the CLI's commands (examples/interformer.c, eval.c,
 * batch.c) share: the error line, a formatted string, the clock. */
#ifndef IF_EXAMPLES_CLI_H
#define IF_EXAMPLES_CLI_H

#include "interformer.h"

#define PROG "interformer"
enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Prints "interformer: <what>: <detail>" on stderr; returns EXIT_RUNTIME. */
int cli_fail(const char *what, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A failed library call: "<what>: <status>[: <detail>]"; EXIT_RUNTIME. */
int cli_fail_api(const char *what, if_status s, const char *detail);

/* A malloc'd printf; NULL when out of memory. */
char *cli_strdupf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The whole string s as a decimal integer in [lo, hi] (lo >= 0); -1 when
 * it is not one. */
long cli_parse_long(const char *s, long lo, long hi);

/* Seconds on a monotonic clock. */
double cli_now_s(void);

#endif
