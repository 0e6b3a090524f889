/* ifg.h -- reader of IFG graph files (format/FORMAT.md). Internal to the
 * library: the public API is interformer.h.
 *
 * ifg_parse() validates a whole file image before returning anything: every
 * count, offset, size, dtype, rank, op code, attribute and tensor id is
 * checked against the spec and the buffer size, so code that walks an
 * ifg_graph afterwards may trust it (but must still check op-specific shape
 * rules at plan time, which depend on the image size).
 *
 * Ownership: the ifg_graph owns its tables (one allocation each, freed by
 * ifg_free), including the two pools the nodes' in/out/attrs point into;
 * CONST tensor data points INTO the caller's buffer, which must outlive the
 * graph. Strings point into the buffer too (not NUL-terminated: use
 * name_len).
 *
 * Memory: every table is sized by what the record section [64, data_offset)
 * can hold, so a hostile file cannot make ifg_parse allocate much more than
 * its own size. Per smallest record (ifg_reader.c has the derivation): a
 * node table entry is sizeof(ifg_node) (56 on LP64) per 20-byte node record,
 * an operand id 4 bytes per 4-byte id, an attribute sizeof(ifg_attr) (80)
 * per 20-byte attribute record, a tensor sizeof(ifg_tensor) (88) per
 * 44-byte tensor record, a metadata entry sizeof(ifg_meta) (32) per
 * 12-byte metadata record; with the parse-time scratch tables, at most
 * about 5.3x the record section plus 1.6 KiB. */
#ifndef IF_FORMAT_IFG_H
#define IF_FORMAT_IFG_H

#include <stddef.h>
#include <stdint.h>

#include "interformer.h" /* if_status */
#include "kernels/compat.h"
#include "platform/platform.h" /* IFP_PRINTF */

#define IFG_MAGIC          "IFGRAPH\0"
#define IFG_VERSION        1u
#define IFG_HEADER_BYTES   64u
#define IFG_ALIGN          64u
#define IFG_MAX_RANK       4
#define IFG_MAX_NODE_IN    64
#define IFG_MAX_NODE_OUT   8
#define IFG_MAX_NODE_ATTR  16
#define IFG_MAX_ATTR_COUNT 8
#define IFG_MAX_STRING     4096
#define IFG_MAX_META       4096
#define IFG_MAX_TENSORS    (1u << 20)
#define IFG_MAX_NODES      (1u << 20)
#define IFG_MAX_IO         64
#define IFG_NO_TENSOR      0xFFFFFFFFu

typedef enum { IFG_KIND_ENCODER = 1, IFG_KIND_DECODER = 2 } ifg_kind;
typedef enum { IFG_F32 = 0, IFG_F16 = 1, IFG_U8 = 2, IFG_I32 = 3 } ifg_dtype;
typedef enum { IFG_CONST = 0, IFG_VALUE = 1 } ifg_storage;
typedef enum { IFG_SYM_ONE = 0, IFG_SYM_H = 1, IFG_SYM_W = 2, IFG_SYM_ANY = 3 } ifg_sym;
typedef enum { IFG_META_INT = 1, IFG_META_FLOAT = 2, IFG_META_STRING = 3 } ifg_meta_type;
typedef enum { IFG_ATTR_INT = 1, IFG_ATTR_FLOAT = 2 } ifg_attr_type;
enum { IFG_IN_PER_CLICK = 1, IFG_IN_OPTIONAL = 2 };

/* The operators, in file-code order: X(NAME, CODE, name) for each. The
 * list makes the ifg_op codes, ifg_op_name's names and the runtime's op
 * table (runtime/ops/table.c: an op listed here without its rt_op_<name>
 * does not link); codes are the file's and never change (the static
 * asserts below keep them consecutive from 1). docs/adding-an-operator.md
 * lists every place a new operator touches. */
#define IFG_OP_LIST(X)                                                                             \
    X(CONV2D, 1, conv2d)                                                                           \
    X(CONV_TRANSPOSE2D, 2, conv_transpose2d)                                                       \
    X(LINEAR, 3, linear)                                                                           \
    X(LAYER_NORM, 4, layer_norm)                                                                   \
    X(GROUP_NORM, 5, group_norm)                                                                   \
    X(ACTIVATION, 6, activation)                                                                   \
    X(ADD, 7, add)                                                                                 \
    X(CONCAT_CHANNELS, 8, concat_channels)                                                         \
    X(CONCAT_TOKENS, 9, concat_tokens)                                                             \
    X(RESIZE_BILINEAR, 10, resize_bilinear)                                                        \
    X(ADAPTIVE_AVG_POOL, 11, adaptive_avg_pool)                                                    \
    X(ADAPTIVE_MAX_POOL, 12, adaptive_max_pool)                                                    \
    X(IM2COL, 13, im2col)                                                                          \
    X(ATTENTION, 14, attention)                                                                    \
    X(VIT_ATTENTION, 15, vit_attention)                                                            \
    X(TOKENS_FROM_GRID, 16, tokens_from_grid)                                                      \
    X(TOKENS_TO_GRID, 17, tokens_to_grid)                                                          \
    X(REF_EMBED, 18, ref_embed)                                                                    \
    X(CROP, 19, crop)                                                                              \
    X(PASTE, 20, paste)

typedef enum {
    IFG_OP_NONE_ = 0, /* not an op: codes start at 1 */
#define IFG_OP_ENUM_(NAME, CODE, name) IFG_OP_##NAME,
    IFG_OP_LIST(IFG_OP_ENUM_)
#undef IFG_OP_ENUM_
        IFG_OP_COUNT_ /* one past the last code */
} ifg_op;

#define IFG_OP_CODE_CHECK_(NAME, CODE, name)                                                       \
    IF_STATIC_ASSERT(IFG_OP_##NAME == (CODE), "IFG_OP_LIST: " #NAME " must have code " #CODE);
IFG_OP_LIST(IFG_OP_CODE_CHECK_)
#undef IFG_OP_CODE_CHECK_

/* The node attributes, in key order: X(NAME, KEY, TYPE, COUNT, RANGE) for
 * each. TYPE is INT or FLOAT (ifg_attr_type); COUNT the number of values
 * (STRIDE has 1 on CROP and PASTE, 2 elsewhere); RANGE what every value must
 * be (ifg_attr_range). The list makes the ifg_attr_key codes,
 * ifg_attr_name's names and the reader's type, count and range checks;
 * keys are the file's and never change (static asserts below).
 * docs/adding-an-operator.md, "Adding an attribute", lists the rest. */
#define IFG_ATTR_LIST(X)                                                                           \
    X(KERNEL, 1, INT, 2, POSITIVE)                                                                 \
    X(STRIDE, 2, INT, 2, POSITIVE)                                                                 \
    X(PAD, 3, INT, 4, NONNEGATIVE)                                                                 \
    X(GROUPS, 4, INT, 1, POSITIVE)                                                                 \
    X(ACT, 5, INT, 1, ACTIVATION)                                                                  \
    X(EPS, 6, FLOAT, 1, POSITIVE)                                                                  \
    X(HEADS, 7, INT, 1, POSITIVE)                                                                  \
    X(SCALE, 8, FLOAT, 1, FINITE)                                                                  \
    X(OUT_SIZE, 9, INT, 2, POSITIVE)                                                               \
    X(POOL_LIMIT, 10, FLOAT, 2, POSITIVE)                                                          \
    X(WINDOW, 11, INT, 2, POSITIVE)

/* What an attribute's values must be: POSITIVE (INT >= 1, FLOAT finite and
 * > 0), NONNEGATIVE (INT >= 0), FINITE (FLOAT: any finite value),
 * ACTIVATION (an ifg_act code). INT values are also at most
 * IFG_ATTR_INT_LIMIT. */
typedef enum {
    IFG_RANGE_POSITIVE = 1,
    IFG_RANGE_NONNEGATIVE = 2,
    IFG_RANGE_FINITE = 3,
    IFG_RANGE_ACTIVATION = 4
} ifg_attr_range;

typedef enum {
    IFG_ATTR_NONE_ = 0, /* not a key: keys start at 1 */
#define IFG_ATTR_ENUM_(NAME, KEY, TYPE, COUNT, RANGE) IFG_ATTR_##NAME,
    IFG_ATTR_LIST(IFG_ATTR_ENUM_)
#undef IFG_ATTR_ENUM_
        IFG_ATTR_COUNT_ /* one past the last key */
} ifg_attr_key;

#define IFG_ATTR_KEY_CHECK_(NAME, KEY, TYPE, COUNT, RANGE)                                         \
    IF_STATIC_ASSERT(IFG_ATTR_##NAME == (KEY), "IFG_ATTR_LIST: " #NAME " must have file "          \
                                               "key " #KEY);
IFG_ATTR_LIST(IFG_ATTR_KEY_CHECK_)
#undef IFG_ATTR_KEY_CHECK_

typedef enum {
    IFG_ACT_NONE = 0,
    IFG_ACT_RELU = 1,
    IFG_ACT_GELU = 2,
    IFG_ACT_HARDSWISH = 3
} ifg_act;

typedef struct {
    uint32_t sym; /* ifg_sym */
    int32_t mul, div;
} ifg_dim;

typedef struct {
    const char *name;
    uint32_t name_len;
    uint32_t dtype;   /* ifg_dtype */
    uint32_t storage; /* ifg_storage */
    uint32_t rank;
    ifg_dim dims[IFG_MAX_RANK];
    const void *data; /* CONST: points into the file image; VALUE: NULL */
    uint64_t nbytes;  /* CONST only */
} ifg_tensor;

typedef struct {
    uint32_t key;  /* ifg_attr_key */
    uint32_t type; /* ifg_attr_type */
    uint32_t count;
    union {
        int64_t i[IFG_MAX_ATTR_COUNT];
        double f[IFG_MAX_ATTR_COUNT];
    } v;
} ifg_attr;

typedef struct {
    const char *name;
    uint32_t name_len;
    uint32_t op;                  /* ifg_op */
    uint32_t n_in, n_out, n_attr; /* <= IFG_MAX_NODE_IN, _OUT, _ATTR */
    /* n_in, n_out and n_attr entries in the graph's pools (NULL when the
     * count is 0). Do not copy a node out of its graph expecting these to
     * stay valid after ifg_free. */
    const uint32_t *in; /* IFG_NO_TENSOR for an absent optional input */
    const uint32_t *out;
    const ifg_attr *attrs;
} ifg_node;

typedef struct {
    const char *key;
    uint32_t key_len;
    uint32_t type; /* ifg_meta_type */
    uint32_t count;
    const uint8_t *payload; /* count*8 bytes (INT/FLOAT, little-endian, unaligned) or count chars */
} ifg_meta;

typedef struct {
    uint32_t tensor;
    uint32_t flags; /* IFG_IN_* */
} ifg_io;

typedef struct {
    uint32_t version, kind, flags;
    uint64_t file_bytes;
    uint32_t n_meta, n_tensors, n_nodes, n_inputs, n_outputs;
    ifg_meta *meta;
    ifg_tensor *tensors;
    ifg_node *nodes;
    /* The pools the nodes point into, in node order: each node's in[] then
     * out[] in ids, its attrs[] in attr_pool. n_ids = sum of n_in + n_out,
     * n_attrs = sum of n_attr over the nodes. */
    uint32_t n_ids, n_attrs;
    uint32_t *ids;
    ifg_attr *attr_pool;
    ifg_io inputs[IFG_MAX_IO];
    uint32_t outputs[IFG_MAX_IO];
} ifg_graph;

/* Validate and index the file image buf[0..size). On success *out is a
 * complete graph (free it with ifg_free) and IF_OK is returned. On failure
 * *out is zeroed, a specific status is returned and, if msg is not NULL, a
 * one-line reason (naming the record, field and value) is written to
 * msg[0..msg_cap). Never reads outside buf, never allocates more than a
 * bound derived from size. */
if_status ifg_parse(const void *buf, size_t size, ifg_graph *out, char *msg, size_t msg_cap);

void ifg_free(ifg_graph *g);

/* Lookups; NULL / -1 when absent. Names are compared as byte strings. */
const ifg_meta *ifg_find_meta(const ifg_graph *g, const char *key);
int64_t ifg_find_tensor(const ifg_graph *g, const char *name);
const ifg_attr *ifg_node_attr(const ifg_node *n, ifg_attr_key key);

/* Metadata value accessors (little-endian decoding); return 0 when the entry
 * is missing, has the wrong type, or idx is out of range. */
int ifg_meta_int(const ifg_graph *g, const char *key, uint32_t idx, int64_t *v);
int ifg_meta_float(const ifg_graph *g, const char *key, uint32_t idx, double *v);
/* Copies a STRING entry into dst (NUL-terminated, truncated to cap-1). */
int ifg_meta_string(const ifg_graph *g, const char *key, char *dst, size_t cap);

const char *ifg_op_name(uint32_t op);

/* What op `op` takes, as the reader checks it (its operand rule): inputs
 * min_in..max_in (those past min_in optional, up to IFG_MAX_NODE_IN for
 * the concatenations), const_inputs bit i set when input i must be a CONST
 * weight, and the required and optional attributes (bit k for key k).
 * Returns 0 for a code the reader does not know. For tools and the test
 * that compares the Python reader's table with this one. */
typedef struct {
    uint32_t min_in, max_in, const_inputs, required_attrs, optional_attrs;
} ifg_op_signature;
int ifg_op_signature_of(uint32_t op, ifg_op_signature *sig);
const char *ifg_attr_name(uint32_t key); /* "KERNEL", ...; never NULL */
const char *ifg_dtype_name(uint32_t dtype);
size_t ifg_dtype_size(uint32_t dtype);

/* Formats a one-line reason into msg[0..cap) (nothing when msg is NULL or
 * cap is 0) and returns s: how every reader (and the runtime, as rt_fail)
 * reports a failure. */
if_status ifg_fail(char *msg, size_t cap, if_status s, const char *fmt, ...) IFP_PRINTF(4, 5);

/* CRC-32 (IEEE, zlib-compatible); crc starts at 0. */
uint32_t ifg_crc32(uint32_t crc, const void *data, size_t n);

#endif
