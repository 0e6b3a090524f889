/* interformer.c -- public API of InterFormer-C (see interformer.h). */
#include "interformer.h"

const char *if_status_str(if_status s) {
    static const char *const names[IF_STATUS_COUNT_] = {
        [IF_OK] = "ok",
        [IF_ERR_INVALID_ARG] = "invalid argument",
        [IF_ERR_NO_MEMORY] = "out of memory",
        [IF_ERR_IO] = "i/o error",
        [IF_ERR_TRUNCATED] = "file truncated",
        [IF_ERR_BAD_MAGIC] = "bad magic (not a file of this kind)",
        [IF_ERR_BAD_VERSION] = "unsupported format version",
        [IF_ERR_CHECKSUM] = "checksum mismatch",
        [IF_ERR_BAD_OFFSET] = "offset or size out of range",
        [IF_ERR_BAD_COUNT] = "count out of range",
        [IF_ERR_BAD_DTYPE] = "bad element type",
        [IF_ERR_BAD_SHAPE] = "bad shape",
        [IF_ERR_BAD_OP] = "bad operator",
        [IF_ERR_BAD_ATTR] = "bad attribute",
        [IF_ERR_BAD_TENSOR_ID] = "bad tensor reference",
        [IF_ERR_BAD_GRAPH] = "bad graph structure",
        [IF_ERR_BAD_META] = "bad or missing metadata",
        [IF_ERR_MISMATCH] = "inputs do not belong together",
        [IF_ERR_UNSUPPORTED] = "unsupported",
        [IF_ERR_STATE] = "invalid state for this call",
    };
    if ((unsigned)s >= IF_STATUS_COUNT_ || !names[s]) return "unknown status";
    return names[s];
}
