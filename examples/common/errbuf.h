/* errbuf.h -- the examples' readers and writers report a failure as a
 * one-line reason in a caller's buffer (err, cap) and return -1. */
#ifndef IF_EXAMPLES_ERRBUF_H
#define IF_EXAMPLES_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "platform/platform.h" /* IFP_PRINTF */

IFP_PRINTF(3, 4)
static inline int errbuf_fail(char *err, size_t cap, const char *fmt, ...) {
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#endif
