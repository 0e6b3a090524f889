/* output.h -- what the files of output/ share (internal): the check of a
 * mask's arguments and the library's last-error mechanism.
 *
 * output/ turns masks into what annotation tools read (COCO RLE, boxes,
 * polygons: interformer.h, "Outputs"). It stands on platform/ and
 * interformer.h only; nothing in the library depends on it. */
#ifndef IF_OUTPUT_H
#define IF_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "interformer.h"
#include "platform/platform.h" /* IFP_PRINTF */

/* Records a failure in the thread's if_last_error() and returns s: the
 * library's one last-error buffer, defined in interformer.c (also declared
 * in runtime/api.h, which output/ does not include). */
if_status if__fail(if_status s, const char *fmt, ...) IFP_PRINTF(2, 3);

/* The checks every output call makes on a mask's arguments (fn names the
 * call in the detail): mask not NULL, 1 <= width, height <= max_side,
 * stride >= width, and (when fit32) width * height <= UINT32_MAX. IF_OK or
 * IF_ERR_INVALID_ARG with the detail set. */
if_status ifo_check_mask(const char *fn, const void *mask, int width, int height, size_t stride,
                         int64_t max_side, int fit32);

#endif
