/* ifg_reader.c -- the validating reader of IFG graph files (format/FORMAT.md).
 *
 * ifg_parse() checks a whole file image before anything in it is used, in
 * this order:
 *   1. header: magic, version, file_bytes against the buffer size, CRC, then
 *      kind, flags, reserved, the counts and data_offset;
 *   2. the counts against the size of the record section: every count times
 *      the smallest possible record of its kind must fit in [64, data_offset)
 *      before any table is allocated;
 *   3. metadata, tensor and node records, each field checked as it is read
 *      (so the first bad field is the one reported), with unique metadata
 *      keys and tensor names and per-node operand and attribute rules;
 *   4. the input and output lists, the zero padding up to data_offset, then
 *      the data blob: constant ranges that do not overlap, zeros between;
 *   5. the graph: inputs, definition before use in node order, one producer
 *      per VALUE, outputs.
 *
 * Choices this reader makes where FORMAT.md leaves them open (each is a
 * status a test asserts, so keep them stable):
 *   - A buffer shorter than the header or than file_bytes is TRUNCATED; a
 *     buffer longer than file_bytes is BAD_OFFSET (file_bytes does not
 *     describe the buffer; trailing bytes are not ignored). A flipped byte in
 *     the file_bytes field is therefore reported by one of these two, not as
 *     a checksum failure, because file_bytes is checked before the CRC.
 *   - Records are read from [64, data_offset) only. A record that would run
 *     past data_offset is TRUNCATED (the record section is shorter than its
 *     records); a count that cannot fit even with minimal records is
 *     BAD_COUNT. Bytes between the last record and data_offset must be
 *     zero (BAD_OFFSET), as must the blob bytes outside constant ranges.
 *   - Any string longer than 4096 bytes (names, keys, STRING values) is
 *     BAD_COUNT. A string with non-zero padding, a NUL byte or invalid
 *     UTF-8 gets the status of its section: BAD_META for metadata, BAD_GRAPH
 *     for tensor and node names. Tensor names and metadata keys must not be
 *     empty; node names may be.
 *   - kind, flags, reserved, tensor storage: BAD_GRAPH.
 *   - n_in > 64, n_out > 8, n_attr > 16: BAD_COUNT; an operand count the op
 *     does not take (every op has exactly one output): BAD_OP; an attribute
 *     count outside 1..8: BAD_ATTR.
 *   - CONST tensors are weights: F32, or F16 when rank >= 2 and header flag
 *     bit 0 is set; any other CONST dtype is BAD_DTYPE.
 *   - Integer attributes are size-like and limited to IFG_ATTR_INT_LIMIT
 *     (1 << 20) so that later int64 size arithmetic cannot overflow;
 *     FLOAT attributes must be finite (EPS and POOL_LIMIT also > 0).
 *   - Operand checks per op (table `op_rules`): operand rank against the
 *     op table (BAD_SHAPE), CONST-ness of w and b and element types (F32
 *     data, U8 labels, I32 roi, any type for operands only used for their
 *     shape: BAD_GRAPH), weight dims against KERNEL / GROUPS / HEADS /
 *     WINDOW (BAD_SHAPE). Node outputs are F32 VALUE tensors.
 *   - Tensor id misuse (out of range, absent in a required slot, CONST as a
 *     node output, VALUE read before it is produced, produced twice):
 *     BAD_TENSOR_ID. I/O list problems (input not a VALUE, ANY dims, flags,
 *     duplicates, produced by a node; output not produced by a node), VALUEs
 *     that nothing produces and duplicate tensor names: BAD_GRAPH.
 *
 * Loads are byte-wise little-endian, every length is compared with the
 * bytes left before it is used, and size arithmetic is 64-bit with explicit
 * overflow checks.
 *
 * Memory. Every table is allocated once, and sized so that the total stays
 * a small constant factor of the record section R = [64, data_offset):
 *   - after step 2, the metadata, tensor and node tables and the scratch
 *     tables, from the header counts, which step 2 bounds by R: per
 *     smallest record, a metadata entry costs sizeof(ifg_meta) + a key_ref
 *     = 32 + 32 bytes for 12 (5.3x), a tensor sizeof(ifg_tensor) + a
 *     key_ref + a producer slot = 88 + 32 + 4 for 44 (2.8x), a node
 *     sizeof(ifg_node) = 56 for 20 (2.8x) (LP64 sizes);
 *   - after the tensor records, the operand-id and attribute pools that the
 *     nodes point into, sized by count_node_slots(), a first pass over the
 *     node records. Each node it counts except the last is backed by its
 *     record (4 bytes per id, at least 20 per attribute), so the pools take
 *     at most 4 bytes per 4 record bytes (1x) and sizeof(ifg_attr) = 80 per
 *     20 (4x), plus at most (64 + 8) ids and 16 attributes (1568 bytes) for
 *     the last node, whose record may be cut short.
 * So ifg_parse allocates at most about 5.3 * R + 1.6 KiB (plus the fixed
 * ifg_graph), whether or not the file turns out valid. A node costs at most
 * 4x its record: 56 + 4 * ids + 80 * attrs for 20 + 4 * ids + 20 * attrs
 * bytes or more. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/ifg.h"
#include "format/le.h"
#include "platform/platform.h"

#define IFG_ATTR_INT_LIMIT (1 << 20)

/* Smallest possible record of each kind, for the pre-allocation bound. */
#define MIN_META_BYTES   12u /* key length, type, count */
#define MIN_TENSOR_BYTES 44u /* name length, dtype, storage, rank, one dim, offset, nbytes */
#define MIN_NODE_BYTES   20u /* name length, op, n_in, n_out, n_attr */
#define MIN_INPUT_BYTES  8u
#define MIN_OUTPUT_BYTES 4u

#define IFG_PRINTF(a, b) IFP_PRINTF(a, b)

/* ------------------------------------------------------------------------
 * Names and sizes */

if_status ifg_fail(char *msg, size_t cap, if_status s, const char *fmt, ...) {
    if (msg && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return s;
}

const char *ifg_op_name(uint32_t op) {
    /* by code: the list is in code order from 1 (ifg.h checks it) */
    static const char *const names[] = {
#define IFG_OP_NAME_(NAME, CODE, name) #NAME,
        NULL, /* IFG_OP_NONE_ */
        IFG_OP_LIST(IFG_OP_NAME_)
#undef IFG_OP_NAME_
    };
    IF_STATIC_ASSERT(sizeof names / sizeof names[0] == IFG_OP_COUNT_, "one name per op code");
    if (op >= IFG_OP_COUNT_ || !names[op]) return "UNKNOWN_OP";
    return names[op];
}

const char *ifg_attr_name(uint32_t key) {
    /* by key: the list is in key order from 1 (ifg.h checks it) */
    static const char *const names[] = {
#define IFG_ATTR_NAME_(NAME, KEY, TYPE, COUNT, RANGE) #NAME,
        NULL, /* IFG_ATTR_NONE_ */
        IFG_ATTR_LIST(IFG_ATTR_NAME_)
#undef IFG_ATTR_NAME_
    };
    IF_STATIC_ASSERT(sizeof names / sizeof names[0] == IFG_ATTR_COUNT_, "one name per key");
    if (key >= IFG_ATTR_COUNT_ || !names[key]) return "UNKNOWN_ATTR";
    return names[key];
}

const char *ifg_dtype_name(uint32_t dtype) {
    switch (dtype) {
    case IFG_F32: return "f32";
    case IFG_F16: return "f16";
    case IFG_U8: return "u8";
    case IFG_I32: return "i32";
    default: return "unknown";
    }
}

size_t ifg_dtype_size(uint32_t dtype) {
    switch (dtype) {
    case IFG_F32: return 4;
    case IFG_F16: return 2;
    case IFG_U8: return 1;
    case IFG_I32: return 4;
    default: return 0;
    }
}

/* ------------------------------------------------------------------------
 * Reader state, failure reporting, bounded loads */

typedef struct {
    const uint8_t *p;  /* the file image */
    uint64_t pos, end; /* cursor; end of the record section (data_offset) */
    uint32_t flags;    /* header flags */
    uint64_t blob;     /* data_offset */
    uint64_t file_bytes;
    char *msg;
    size_t cap;
    char rec[128]; /* the record being read, for messages: "tensor 3 'conv.w'" */
} rd;

static if_status IFG_PRINTF(3, 4) fail(rd *r, if_status s, const char *fmt, ...) {
    if (r->msg && r->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->msg, r->cap, fmt, ap);
        va_end(ap);
    }
    return s;
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if_status try_s_ = (expr);                                                                 \
        if (try_s_ != IF_OK) return try_s_;                                                        \
    } while (0)

static double f64_of(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Copies a (possibly hostile) name into dst for a message: at most 48 bytes,
 * cut at a UTF-8 character boundary, control bytes shown as '?'. */
static void show_name(char *dst, size_t cap, const char *s, uint32_t len) {
    size_t n = len < 48 ? len : 48;
    if (n >= cap) n = cap - 1;
    if (n < len)
        while (n > 0 && ((unsigned char)s[n] & 0xC0u) == 0x80u) n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    dst[n] = '\0';
}

/* Reserves n bytes of the record section for the field `what` of r->rec. */
static if_status take(rd *r, uint64_t n, const char *what, const uint8_t **at) {
    if (n > r->end - r->pos)
        return fail(r, IF_ERR_TRUNCATED,
                    "%s: %s (%llu bytes at byte %llu) runs past the record section, which ends at "
                    "data_offset %llu",
                    r->rec, what, (unsigned long long)n, (unsigned long long)r->pos,
                    (unsigned long long)r->end);
    *at = r->p + r->pos;
    r->pos += n;
    return IF_OK;
}

static if_status rd_u32(rd *r, const char *what, uint32_t *v) {
    const uint8_t *q = NULL;
    TRY(take(r, 4, what, &q));
    *v = fmt_rd32(q);
    return IF_OK;
}

static if_status rd_u64(rd *r, const char *what, uint64_t *v) {
    const uint8_t *q = NULL;
    TRY(take(r, 8, what, &q));
    *v = fmt_rd64(q);
    return IF_OK;
}

/* Well-formed UTF-8 without NUL: returns the offset of the first bad byte,
 * or len when all is well. */
static uint32_t utf8_bad(const uint8_t *s, uint32_t len) {
    uint32_t i = 0;
    while (i < len) {
        uint32_t c = s[i], need, min;
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, min = 0x80, c &= 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, min = 0x800, c &= 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, min = 0x10000, c &= 0x07;
        else
            return i;
        if (need > len - i - 1) return i;
        for (uint32_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u) return i;
            c = c << 6 | (s[i + k] & 0x3Fu);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return i;
        i += need + 1;
    }
    return len;
}

/* Reads `len` bytes of string payload plus its zero padding to a multiple
 * of 4 (the u32 length before it keeps the alignment relative to the
 * string's start). */
static if_status rd_bytes_padded(rd *r, const char *what, uint32_t len, if_status bad,
                                 const uint8_t **s) {
    const uint8_t *q = NULL;
    uint32_t pad = (4u - (len & 3u)) & 3u;
    TRY(take(r, (uint64_t)len + pad, what, &q));
    for (uint32_t i = 0; i < pad; i++)
        if (q[len + i] != 0)
            return fail(r, bad, "%s: %s: padding byte %u after %u bytes is 0x%02x, not 0", r->rec,
                        what, i, len, q[len + i]);
    uint32_t b = utf8_bad(q, len);
    if (b != len)
        return fail(r, bad, "%s: %s: byte %u of %u (0x%02x) is NUL or not valid UTF-8", r->rec,
                    what, b, len, q[b]);
    *s = q;
    return IF_OK;
}

static if_status rd_string(rd *r, const char *what, if_status bad, const char **s, uint32_t *len) {
    const uint8_t *q = NULL;
    TRY(rd_u32(r, what, len));
    if (*len > IFG_MAX_STRING)
        return fail(r, IF_ERR_BAD_COUNT, "%s: %s: length %u is over the limit %u", r->rec, what,
                    *len, (unsigned)IFG_MAX_STRING);
    TRY(rd_bytes_padded(r, what, *len, bad, &q));
    *s = (const char *)q;
    return IF_OK;
}

/* ------------------------------------------------------------------------
 * Sorting names and ranges (duplicate and overlap checks in O(n log n)) */

typedef struct {
    const char *s;
    uint64_t a, b; /* names: a = length; ranges: [a, a+b) */
    uint32_t idx;
} key_ref;

static int cmp_name(const void *x, const void *y) {
    const key_ref *p = (const key_ref *)x, *q = (const key_ref *)y;
    size_t n = (size_t)(p->a < q->a ? p->a : q->a);
    int c = n ? memcmp(p->s, q->s, n) : 0;
    if (c) return c;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->idx < q->idx ? -1 : p->idx > q->idx;
}

static int cmp_range(const void *x, const void *y) {
    const key_ref *p = (const key_ref *)x, *q = (const key_ref *)y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->idx < q->idx ? -1 : p->idx > q->idx;
}

/* ------------------------------------------------------------------------
 * Metadata */

static if_status parse_meta(rd *r, ifg_graph *g, key_ref *scratch) {
    for (uint32_t i = 0; i < g->n_meta; i++) {
        ifg_meta *m = &g->meta[i];
        char nm[64];
        snprintf(r->rec, sizeof r->rec, "meta %u", i);
        TRY(rd_string(r, "key", IF_ERR_BAD_META, &m->key, &m->key_len));
        if (m->key_len == 0) return fail(r, IF_ERR_BAD_META, "%s: key is empty", r->rec);
        show_name(nm, sizeof nm, m->key, m->key_len);
        snprintf(r->rec, sizeof r->rec, "meta %u '%s'", i, nm);
        TRY(rd_u32(r, "type", &m->type));
        TRY(rd_u32(r, "count", &m->count));
        if (m->type == IFG_META_STRING) {
            if (m->count > IFG_MAX_STRING)
                return fail(r, IF_ERR_BAD_COUNT, "%s: STRING length %u is over the limit %u",
                            r->rec, m->count, (unsigned)IFG_MAX_STRING);
            TRY(rd_bytes_padded(r, "STRING value", m->count, IF_ERR_BAD_META, &m->payload));
        } else if (m->type == IFG_META_INT || m->type == IFG_META_FLOAT) {
            TRY(take(r, (uint64_t)m->count * 8u,
                     m->type == IFG_META_INT ? "INT values" : "FLOAT values", &m->payload));
        } else {
            return fail(r, IF_ERR_BAD_META, "%s: type %u is not 1 (INT), 2 (FLOAT) or 3 (STRING)",
                        r->rec, m->type);
        }
        const key_ref k = {m->key, m->key_len, 0, i};
        scratch[i] = k;
    }
    if (g->n_meta > 1) {
        qsort(scratch, g->n_meta, sizeof *scratch, cmp_name);
        for (uint32_t i = 1; i < g->n_meta; i++)
            if (scratch[i - 1].a == scratch[i].a &&
                memcmp(scratch[i - 1].s, scratch[i].s, scratch[i].a) == 0) {
                char nm[64];
                show_name(nm, sizeof nm, scratch[i].s, (uint32_t)scratch[i].a);
                return fail(r, IF_ERR_BAD_META, "meta %u and meta %u: duplicate key '%s'",
                            scratch[i - 1].idx, scratch[i].idx, nm);
            }
    }
    return IF_OK;
}

/* ------------------------------------------------------------------------
 * Tensors */

static if_status parse_dims(rd *r, ifg_tensor *t) {
    static const char *const field[IFG_MAX_RANK] = {"dims[0]", "dims[1]", "dims[2]", "dims[3]"};
    for (uint32_t k = 0; k < t->rank; k++) {
        ifg_dim *d = &t->dims[k];
        const uint8_t *q = NULL;
        TRY(take(r, 12, field[k], &q));
        d->sym = fmt_rd32(q);
        d->mul = (int32_t)fmt_rd32(q + 4);
        d->div = (int32_t)fmt_rd32(q + 8);
        if (d->sym > IFG_SYM_ANY)
            return fail(r, IF_ERR_BAD_SHAPE,
                        "%s: dims[%u].sym = %u is not 0 (ONE), 1 (H), 2 (W) or 3 (ANY)", r->rec, k,
                        d->sym);
        if (d->sym == IFG_SYM_ANY) {
            if (d->mul != 0 || d->div != 0)
                return fail(r, IF_ERR_BAD_SHAPE,
                            "%s: dims[%u] is ANY with mul %d, div %d (must be 0, 0)", r->rec, k,
                            d->mul, d->div);
            if (t->storage == IFG_CONST)
                return fail(r, IF_ERR_BAD_SHAPE, "%s: dims[%u] is ANY in a CONST tensor", r->rec,
                            k);
            continue;
        }
        if (d->mul < 1)
            return fail(r, IF_ERR_BAD_SHAPE, "%s: dims[%u].mul = %d (must be >= 1)", r->rec, k,
                        d->mul);
        if (d->div < 1)
            return fail(r, IF_ERR_BAD_SHAPE, "%s: dims[%u].div = %d (must be >= 1)", r->rec, k,
                        d->div);
        if (t->storage == IFG_CONST && (d->sym != IFG_SYM_ONE || d->div != 1))
            return fail(r, IF_ERR_BAD_SHAPE,
                        "%s: dims[%u] has sym %u, div %d; a CONST dim must be sym 0, div 1", r->rec,
                        k, d->sym, d->div);
        if (d->sym == IFG_SYM_ONE && d->mul % d->div != 0)
            return fail(r, IF_ERR_BAD_SHAPE, "%s: dims[%u] = %d / %d is not an integer", r->rec, k,
                        d->mul, d->div);
    }
    return IF_OK;
}

static if_status parse_tensor(rd *r, const ifg_graph *g, uint32_t i, ifg_tensor *t) {
    uint64_t offset, nbytes;
    char nm[64];
    snprintf(r->rec, sizeof r->rec, "tensor %u", i);
    TRY(rd_string(r, "name", IF_ERR_BAD_GRAPH, &t->name, &t->name_len));
    if (t->name_len == 0) return fail(r, IF_ERR_BAD_GRAPH, "%s: name is empty", r->rec);
    show_name(nm, sizeof nm, t->name, t->name_len);
    snprintf(r->rec, sizeof r->rec, "tensor %u '%s'", i, nm);
    TRY(rd_u32(r, "dtype", &t->dtype));
    if (t->dtype > IFG_I32)
        return fail(r, IF_ERR_BAD_DTYPE, "%s: dtype %u is not 0 (f32), 1 (f16), 2 (u8) or 3 (i32)",
                    r->rec, t->dtype);
    TRY(rd_u32(r, "storage", &t->storage));
    if (t->storage > IFG_VALUE)
        return fail(r, IF_ERR_BAD_GRAPH, "%s: storage %u is not 0 (CONST) or 1 (VALUE)", r->rec,
                    t->storage);
    TRY(rd_u32(r, "rank", &t->rank));
    if (t->rank < 1 || t->rank > IFG_MAX_RANK)
        return fail(r, IF_ERR_BAD_SHAPE, "%s: rank %u is not in 1..%d", r->rec, t->rank,
                    IFG_MAX_RANK);
    TRY(parse_dims(r, t));
    TRY(rd_u64(r, "offset", &offset));
    TRY(rd_u64(r, "nbytes", &nbytes));
    if (t->storage == IFG_VALUE) {
        if (offset != 0)
            return fail(r, IF_ERR_BAD_OFFSET, "%s: VALUE tensor has offset %llu (must be 0)",
                        r->rec, (unsigned long long)offset);
        if (nbytes != 0)
            return fail(r, IF_ERR_BAD_SHAPE, "%s: VALUE tensor has nbytes %llu (must be 0)", r->rec,
                        (unsigned long long)nbytes);
        return IF_OK;
    }
    /* CONST: a weight. */
    if (t->dtype == IFG_U8 || t->dtype == IFG_I32)
        return fail(r, IF_ERR_BAD_DTYPE, "%s: CONST tensor of dtype %s (weights are f32 or f16)",
                    r->rec, ifg_dtype_name(t->dtype));
    if (t->dtype == IFG_F16 && !(g->flags & 1u))
        return fail(r, IF_ERR_BAD_DTYPE,
                    "%s: f16 CONST tensor but header flag bit 0 (f16) is clear", r->rec);
    if (t->dtype == IFG_F16 && t->rank < 2)
        return fail(r, IF_ERR_BAD_DTYPE,
                    "%s: f16 CONST tensor of rank %u (rank-1 weights stay f32)", r->rec, t->rank);
    uint64_t elems = 1;
    for (uint32_t k = 0; k < t->rank; k++) {
        uint64_t m = (uint64_t)t->dims[k].mul; /* >= 1, checked */
        if (elems > UINT64_MAX / m)
            return fail(r, IF_ERR_BAD_SHAPE, "%s: element count overflows at dims[%u] = %d", r->rec,
                        k, t->dims[k].mul);
        elems *= m;
    }
    uint64_t size = ifg_dtype_size(t->dtype);
    if (elems > UINT64_MAX / size)
        return fail(r, IF_ERR_BAD_SHAPE, "%s: byte size of %llu elements overflows", r->rec,
                    (unsigned long long)elems);
    if (nbytes != elems * size)
        return fail(r, IF_ERR_BAD_SHAPE, "%s: nbytes %llu != %llu elements * %llu bytes", r->rec,
                    (unsigned long long)nbytes, (unsigned long long)elems,
                    (unsigned long long)size);
    if (offset % IFG_ALIGN)
        return fail(r, IF_ERR_BAD_OFFSET, "%s: offset %llu is not a multiple of %u", r->rec,
                    (unsigned long long)offset, (unsigned)IFG_ALIGN);
    uint64_t blob = r->file_bytes - r->blob;
    if (offset > blob || nbytes > blob - offset)
        return fail(r, IF_ERR_BAD_OFFSET,
                    "%s: range [%llu, %llu) is outside the %llu-byte data blob", r->rec,
                    (unsigned long long)offset, (unsigned long long)offset + nbytes,
                    (unsigned long long)blob);
    t->nbytes = nbytes;
    t->data = r->p + r->blob + offset;
    return IF_OK;
}

static if_status parse_tensors(rd *r, ifg_graph *g, key_ref *scratch) {
    for (uint32_t i = 0; i < g->n_tensors; i++) TRY(parse_tensor(r, g, i, &g->tensors[i]));
    if (g->n_tensors > 1) {
        for (uint32_t i = 0; i < g->n_tensors; i++) {
            const key_ref k = {g->tensors[i].name, g->tensors[i].name_len, 0, i};
            scratch[i] = k;
        }
        qsort(scratch, g->n_tensors, sizeof *scratch, cmp_name);
        for (uint32_t i = 1; i < g->n_tensors; i++)
            if (scratch[i - 1].a == scratch[i].a &&
                memcmp(scratch[i - 1].s, scratch[i].s, scratch[i].a) == 0) {
                char nm[64];
                show_name(nm, sizeof nm, scratch[i].s, (uint32_t)scratch[i].a);
                return fail(r, IF_ERR_BAD_GRAPH, "tensor %u and tensor %u: duplicate name '%s'",
                            scratch[i - 1].idx, scratch[i].idx, nm);
            }
    }
    return IF_OK;
}

/* CONST ranges: sorted by offset, no overlap, zero bytes in between. Run
 * after all records are read (a record running past data_offset is reported
 * as that, not as a blob problem). */
static if_status check_blob(rd *r, const ifg_graph *g, key_ref *scratch) {
    uint32_t nc = 0;
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const ifg_tensor *t = &g->tensors[i];
        if (t->storage == IFG_CONST) {
            const key_ref k = {t->name, (uint64_t)((const uint8_t *)t->data - r->p) - r->blob,
                               t->nbytes, i};
            scratch[nc++] = k;
        }
    }
    if (nc > 1) qsort(scratch, nc, sizeof *scratch, cmp_range);
    uint64_t at = 0, blob = r->file_bytes - r->blob;
    const uint8_t *b = r->p + r->blob;
    for (uint32_t k = 0; k <= nc; k++) {
        uint64_t next = k < nc ? scratch[k].a : blob;
        if (next < at && k > 0 && k < nc) {
            char n1[64], n2[64];
            const ifg_tensor *t1 = &g->tensors[scratch[k - 1].idx],
                             *t2 = &g->tensors[scratch[k].idx];
            show_name(n1, sizeof n1, t1->name, t1->name_len);
            show_name(n2, sizeof n2, t2->name, t2->name_len);
            return fail(r, IF_ERR_BAD_OFFSET,
                        "tensor %u '%s' [%llu, %llu) overlaps tensor %u '%s' at %llu",
                        scratch[k].idx, n2, (unsigned long long)scratch[k].a,
                        (unsigned long long)(scratch[k].a + scratch[k].b), scratch[k - 1].idx, n1,
                        (unsigned long long)scratch[k - 1].a);
        }
        for (uint64_t x = at; x < next; x++)
            if (b[x])
                return fail(r, IF_ERR_BAD_OFFSET,
                            "data blob: byte %llu (file offset %llu) outside every CONST range is "
                            "0x%02x, not 0",
                            (unsigned long long)x, (unsigned long long)(r->blob + x), b[x]);
        if (k < nc) at = scratch[k].a + scratch[k].b;
    }
    return IF_OK;
}

/* ------------------------------------------------------------------------
 * Operators: operand slots, attributes, static weight checks */

/* Operand kinds. */
enum {
    SLOT_X = 1, /* data: a VALUE of f32, or any CONST (f32, or f16 by the CONST rule) */
    SLOT_W,     /* weight: a CONST */
    SLOT_LABEL, /* u8 labels */
    SLOT_ROI,   /* i32 (4) */
    SLOT_SHAPE, /* read only for its shape: any dtype */
};

typedef struct {
    uint8_t kind, rmin, rmax;
} slot_rule;

#define A(k) (1u << IFG_ATTR_##k)

typedef struct {
    uint8_t min_in, max_in; /* max_in counts optional trailing inputs */
    uint8_t out_rank;       /* 0: same as input 0 */
    uint8_t variadic;       /* every input follows slot 0 */
    uint32_t req, opt;      /* attribute key masks */
    slot_rule s[3];
} op_rule;

/* The operator table of FORMAT.md, one row per op in code order (row i is
 * op code i; IFG_OP_LIST's order, the static assert below counts them):
 *   {min_in, max_in, out_rank, variadic, required attrs, optional attrs,
 *    {slot kind, min rank, max rank} per input}
 * Inputs past min_in are the optional ones in brackets (bias, roi); an
 * optional input may also be present as 0xFFFFFFFF. */
/* clang-format off */
static const op_rule op_rules[] = {
    /* NONE_ */ {0, 0, 0, 0, 0, 0, {{0, 0, 0}}},
    /* CONV2D */ {2, 3, 3, 0, A(KERNEL) | A(STRIDE) | A(PAD) | A(GROUPS), A(ACT),
                   {{SLOT_X, 3, 3}, {SLOT_W, 4, 4}, {SLOT_W, 1, 1}}},
    /* CONV_TRANSPOSE2D */ {2, 3, 3, 0, A(KERNEL) | A(STRIDE), 0,
                             {{SLOT_X, 3, 3}, {SLOT_W, 4, 4}, {SLOT_W, 1, 1}}},
    /* LINEAR */ {2, 3, 0, 0, 0, A(ACT), {{SLOT_X, 1, 4}, {SLOT_W, 2, 2}, {SLOT_W, 1, 1}}},
    /* LAYER_NORM */ {3, 3, 0, 0, A(EPS), 0, {{SLOT_X, 1, 4}, {SLOT_W, 1, 1}, {SLOT_W, 1, 1}}},
    /* GROUP_NORM */ {3, 3, 3, 0, A(GROUPS) | A(EPS), A(ACT),
                       {{SLOT_X, 3, 3}, {SLOT_W, 1, 1}, {SLOT_W, 1, 1}}},
    /* ACTIVATION */ {1, 1, 0, 0, A(ACT), 0, {{SLOT_X, 1, 4}}},
    /* ADD */ {2, 2, 0, 0, 0, 0, {{SLOT_X, 1, 4}, {SLOT_X, 1, 4}}},
    /* CONCAT_CHANNELS */ {1, IFG_MAX_NODE_IN, 3, 1, 0, 0, {{SLOT_X, 3, 3}}},
    /* CONCAT_TOKENS */ {1, IFG_MAX_NODE_IN, 2, 1, 0, 0, {{SLOT_X, 2, 3}}},
    /* RESIZE_BILINEAR */ {2, 2, 3, 0, 0, 0, {{SLOT_X, 3, 3}, {SLOT_SHAPE, 2, 4}}},
    /* ADAPTIVE_AVG_POOL */ {1, 1, 3, 0, A(OUT_SIZE), 0, {{SLOT_X, 3, 3}}},
    /* exactly one of OUT_SIZE and POOL_LIMIT: checked in parse_node */
    /* ADAPTIVE_MAX_POOL */ {1, 1, 3, 0, 0, A(OUT_SIZE) | A(POOL_LIMIT), {{SLOT_X, 3, 3}}},
    /* IM2COL */ {1, 1, 3, 0, A(KERNEL) | A(STRIDE) | A(PAD), 0, {{SLOT_X, 3, 3}}},
    /* ATTENTION */ {2, 2, 0, 0, A(HEADS) | A(SCALE), 0, {{SLOT_X, 2, 3}, {SLOT_X, 2, 2}}},
    /* VIT_ATTENTION */ {3, 3, 2, 0, A(HEADS) | A(SCALE) | A(WINDOW), 0,
                          {{SLOT_X, 2, 2}, {SLOT_X, 2, 2}, {SLOT_SHAPE, 2, 4}}},
    /* TOKENS_FROM_GRID */ {3, 3, 2, 0, A(WINDOW), 0, {{SLOT_X, 3, 3}, {SLOT_X, 2, 2}, {SLOT_X, 2, 2}}},
    /* TOKENS_TO_GRID */ {2, 2, 3, 0, 0, 0, {{SLOT_X, 2, 2}, {SLOT_SHAPE, 2, 4}}},
    /* REF_EMBED */ {3, 3, 3, 0, 0, 0, {{SLOT_LABEL, 2, 2}, {SLOT_X, 2, 2}, {SLOT_SHAPE, 2, 4}}},
    /* CROP */ {1, 2, 3, 0, A(STRIDE), 0, {{SLOT_X, 3, 3}, {SLOT_ROI, 1, 1}}},
    /* PASTE */ {2, 3, 3, 0, A(STRIDE), 0, {{SLOT_X, 3, 3}, {SLOT_X, 3, 3}, {SLOT_ROI, 1, 1}}},
};

/* clang-format on */
#undef A
IF_STATIC_ASSERT(sizeof op_rules / sizeof op_rules[0] == IFG_OP_COUNT_, "one rule per op code");

int ifg_op_signature_of(uint32_t op, ifg_op_signature *sig) {
    if (op < 1 || op >= IFG_OP_COUNT_ || !op_rules[op].max_in || !sig) return 0;
    const op_rule *ru = &op_rules[op];
    sig->min_in = ru->min_in;
    sig->max_in = ru->max_in;
    sig->const_inputs = 0;
    for (uint32_t i = 0; i < 3 && i < ru->max_in; i++)
        if (ru->s[i].kind == SLOT_W) sig->const_inputs |= 1u << i;
    sig->required_attrs = ru->req;
    sig->optional_attrs = ru->opt;
    return 1;
}

/* Reads one attribute and checks its key, type, count and values. */
static if_status parse_attr(rd *r, uint32_t op, uint32_t j, ifg_attr *a) {
    const uint8_t *q = NULL;
    TRY(rd_u32(r, "attr key", &a->key));
    TRY(rd_u32(r, "attr type", &a->type));
    TRY(rd_u32(r, "attr count", &a->count));
    if (a->key < 1 || a->key >= IFG_ATTR_COUNT_)
        return fail(r, IF_ERR_BAD_ATTR, "%s: attrs[%u]: unknown key %u", r->rec, j, a->key);
    const char *an = ifg_attr_name(a->key);
    if (a->type != IFG_ATTR_INT && a->type != IFG_ATTR_FLOAT)
        return fail(r, IF_ERR_BAD_ATTR, "%s: attrs[%u] %s: unknown type %u", r->rec, j, an,
                    a->type);
    if (a->count < 1 || a->count > IFG_MAX_ATTR_COUNT)
        return fail(r, IF_ERR_BAD_ATTR, "%s: attrs[%u] %s: count %u is not in 1..%d", r->rec, j, an,
                    a->count, IFG_MAX_ATTR_COUNT);
    TRY(take(r, (uint64_t)a->count * 8u, "attr values", &q));
    for (uint32_t k = 0; k < a->count; k++) {
        if (a->type == IFG_ATTR_INT)
            a->v.i[k] = (int64_t)fmt_rd64(q + 8 * k);
        else
            a->v.f[k] = f64_of(fmt_rd64(q + 8 * k));
    }
    /* Type, count and range per key: format/ifg.h's IFG_ATTR_LIST. */
    static const struct {
        uint8_t type, count, range;
    } rule[] = {
#define IFG_ATTR_RULE_(NAME, KEY, TYPE, COUNT, RANGE) {IFG_ATTR_##TYPE, COUNT, IFG_RANGE_##RANGE},
        {0, 0, 0}, /* IFG_ATTR_NONE_ */
        IFG_ATTR_LIST(IFG_ATTR_RULE_)
#undef IFG_ATTR_RULE_
    };
    IF_STATIC_ASSERT(sizeof rule / sizeof rule[0] == IFG_ATTR_COUNT_, "one rule per key");
    const uint32_t want_type = rule[a->key].type, range = rule[a->key].range;
    const uint32_t want_count =
        a->key == IFG_ATTR_STRIDE && (op == IFG_OP_CROP || op == IFG_OP_PASTE) ? 1
                                                                               : rule[a->key].count;
    if (a->type != want_type)
        return fail(r, IF_ERR_BAD_ATTR, "%s: attr %s has type %s (must be %s)", r->rec, an,
                    a->type == IFG_ATTR_INT ? "INT" : "FLOAT",
                    want_type == IFG_ATTR_INT ? "INT" : "FLOAT");
    if (a->count != want_count)
        return fail(r, IF_ERR_BAD_ATTR, "%s: attr %s has %u values (must be %u)", r->rec, an,
                    a->count, want_count);
    for (uint32_t k = 0; k < a->count; k++) {
        if (a->type == IFG_ATTR_FLOAT) {
            const double f = a->v.f[k];
            const int pos = range == IFG_RANGE_POSITIVE;
            if (!isfinite(f) || (pos && !(f > 0)))
                return fail(r, IF_ERR_BAD_ATTR, "%s: attr %s[%u] = %g (must be finite%s)", r->rec,
                            an, k, f, pos ? " and > 0" : "");
            continue;
        }
        int64_t v = a->v.i[k], lo = range == IFG_RANGE_NONNEGATIVE ? 0 : 1, hi = IFG_ATTR_INT_LIMIT;
        if (range == IFG_RANGE_ACTIVATION) lo = IFG_ACT_NONE, hi = IFG_ACT_HARDSWISH;
        if (v < lo || v > hi)
            return fail(r, IF_ERR_BAD_ATTR, "%s: attr %s[%u] = %lld (must be in %lld..%lld)",
                        r->rec, an, k, (long long)v, (long long)lo, (long long)hi);
    }
    return IF_OK;
}

static const ifg_tensor *slot_tensor(const ifg_graph *g, const ifg_node *n, uint32_t k) {
    if (k >= n->n_in || n->in[k] == IFG_NO_TENSOR) return NULL;
    return &g->tensors[n->in[k]];
}

/* Static operand checks of one node (ids are already in range). */
static if_status check_operands(rd *r, const ifg_graph *g, const ifg_node *n) {
    const op_rule *ru = &op_rules[n->op];
    for (uint32_t k = 0; k < n->n_in; k++) {
        const slot_rule *s = &ru->s[ru->variadic ? 0 : k];
        uint32_t id = n->in[k];
        if (id == IFG_NO_TENSOR) {
            if (k < ru->min_in)
                return fail(r, IF_ERR_BAD_TENSOR_ID, "%s: required input %u is absent (0xFFFFFFFF)",
                            r->rec, k);
            continue;
        }
        const ifg_tensor *t = &g->tensors[id];
        char nm[64];
        show_name(nm, sizeof nm, t->name, t->name_len);
        if (t->rank < s->rmin || t->rank > s->rmax)
            return fail(r, IF_ERR_BAD_SHAPE, "%s: input %u '%s' has rank %u (%s takes rank %u..%u)",
                        r->rec, k, nm, t->rank, ifg_op_name(n->op), s->rmin, s->rmax);
        switch (s->kind) {
        case SLOT_X:
            if (t->storage == IFG_VALUE && t->dtype != IFG_F32)
                return fail(r, IF_ERR_BAD_GRAPH, "%s: input %u '%s' is %s (must be f32)", r->rec, k,
                            nm, ifg_dtype_name(t->dtype));
            break;
        case SLOT_W:
            if (t->storage != IFG_CONST)
                return fail(r, IF_ERR_BAD_GRAPH, "%s: input %u '%s' is a weight and must be CONST",
                            r->rec, k, nm);
            break;
        case SLOT_LABEL:
            if (t->dtype != IFG_U8)
                return fail(r, IF_ERR_BAD_GRAPH, "%s: input %u '%s' (labels) is %s (must be u8)",
                            r->rec, k, nm, ifg_dtype_name(t->dtype));
            break;
        case SLOT_ROI:
            if (t->dtype != IFG_I32)
                return fail(r, IF_ERR_BAD_GRAPH, "%s: input %u '%s' (roi) is %s (must be i32)",
                            r->rec, k, nm, ifg_dtype_name(t->dtype));
            if (t->dims[0].sym != IFG_SYM_ANY &&
                (t->dims[0].sym != IFG_SYM_ONE || t->dims[0].mul != 4 * (int64_t)t->dims[0].div))
                return fail(r, IF_ERR_BAD_SHAPE, "%s: input %u '%s' (roi) is not declared (4)",
                            r->rec, k, nm);
            break;
        default: break; /* SLOT_SHAPE: any dtype */
        }
    }
    /* Output. */
    const ifg_tensor *o = &g->tensors[n->out[0]];
    char on[64];
    show_name(on, sizeof on, o->name, o->name_len);
    if (o->storage != IFG_VALUE)
        return fail(r, IF_ERR_BAD_TENSOR_ID, "%s: output '%s' is a CONST tensor", r->rec, on);
    if (o->dtype != IFG_F32)
        return fail(r, IF_ERR_BAD_GRAPH, "%s: output '%s' is %s (must be f32)", r->rec, on,
                    ifg_dtype_name(o->dtype));
    uint32_t want = ru->out_rank ? ru->out_rank : g->tensors[n->in[0]].rank;
    if (o->rank != want)
        return fail(r, IF_ERR_BAD_SHAPE, "%s: output '%s' has rank %u (%s gives rank %u)", r->rec,
                    on, o->rank, ifg_op_name(n->op), want);
    if (n->op == IFG_OP_ADD && g->tensors[n->in[0]].rank != g->tensors[n->in[1]].rank)
        return fail(r, IF_ERR_BAD_SHAPE, "%s: operands have ranks %u and %u", r->rec,
                    g->tensors[n->in[0]].rank, g->tensors[n->in[1]].rank);
    return IF_OK;
}

/* Weight dimensions against the attributes (only CONST dims are static). */
static if_status check_weights(rd *r, const ifg_graph *g, const ifg_node *n) {
    const ifg_tensor *w = slot_tensor(g, n, 1), *b = slot_tensor(g, n, 2);
    const ifg_attr *k = ifg_node_attr(n, IFG_ATTR_KERNEL), *gr = ifg_node_attr(n, IFG_ATTR_GROUPS);
    const ifg_attr *win = ifg_node_attr(n, IFG_ATTR_WINDOW), *hd = ifg_node_attr(n, IFG_ATTR_HEADS);
#define D(t, i) ((int64_t)(t)->dims[i].mul)
    switch (n->op) {
    case IFG_OP_CONV2D:
        if (D(w, 1) != k->v.i[0] || D(w, 2) != k->v.i[1])
            return fail(r, IF_ERR_BAD_SHAPE,
                        "%s: weight is (%lld,%lld,%lld,%lld), KERNEL is %lldx%lld", r->rec,
                        (long long)D(w, 0), (long long)D(w, 1), (long long)D(w, 2),
                        (long long)D(w, 3), (long long)k->v.i[0], (long long)k->v.i[1]);
        if (D(w, 0) % gr->v.i[0])
            return fail(r, IF_ERR_BAD_SHAPE,
                        "%s: %lld output channels not divisible by GROUPS %lld", r->rec,
                        (long long)D(w, 0), (long long)gr->v.i[0]);
        if (b && D(b, 0) != D(w, 0))
            return fail(r, IF_ERR_BAD_SHAPE, "%s: bias has %lld entries for %lld output channels",
                        r->rec, (long long)D(b, 0), (long long)D(w, 0));
        break;
    case IFG_OP_CONV_TRANSPOSE2D: {
        const ifg_attr *s = ifg_node_attr(n, IFG_ATTR_STRIDE);
        if (s->v.i[0] != k->v.i[0] || s->v.i[1] != k->v.i[1])
            return fail(r, IF_ERR_BAD_ATTR, "%s: STRIDE %lldx%lld must equal KERNEL %lldx%lld",
                        r->rec, (long long)s->v.i[0], (long long)s->v.i[1], (long long)k->v.i[0],
                        (long long)k->v.i[1]);
        if (D(w, 0) != k->v.i[0] || D(w, 1) != k->v.i[1])
            return fail(r, IF_ERR_BAD_SHAPE, "%s: weight is (%lld,%lld,...), KERNEL is %lldx%lld",
                        r->rec, (long long)D(w, 0), (long long)D(w, 1), (long long)k->v.i[0],
                        (long long)k->v.i[1]);
        if (b && D(b, 0) != D(w, 2))
            return fail(r, IF_ERR_BAD_SHAPE, "%s: bias has %lld entries for %lld output channels",
                        r->rec, (long long)D(b, 0), (long long)D(w, 2));
        break;
    }
    case IFG_OP_LINEAR:
        if (b && D(b, 0) != D(w, 0))
            return fail(r, IF_ERR_BAD_SHAPE, "%s: bias has %lld entries for %lld outputs", r->rec,
                        (long long)D(b, 0), (long long)D(w, 0));
        break;
    case IFG_OP_LAYER_NORM:
    case IFG_OP_GROUP_NORM:
        if (D(b, 0) != D(w, 0))
            return fail(r, IF_ERR_BAD_SHAPE, "%s: weight has %lld entries, bias %lld", r->rec,
                        (long long)D(w, 0), (long long)D(b, 0));
        if (gr && D(w, 0) % gr->v.i[0])
            return fail(r, IF_ERR_BAD_SHAPE, "%s: %lld channels not divisible by GROUPS %lld",
                        r->rec, (long long)D(w, 0), (long long)gr->v.i[0]);
        break;
    case IFG_OP_VIT_ATTENTION:
        if (w->storage == IFG_CONST) {
            int64_t rr = (2 * win->v.i[0] - 1) * (2 * win->v.i[1] - 1) + 3;
            if (D(w, 0) != rr || D(w, 1) != hd->v.i[0])
                return fail(r, IF_ERR_BAD_SHAPE,
                            "%s: position table is (%lld,%lld), WINDOW and HEADS need (%lld,%lld)",
                            r->rec, (long long)D(w, 0), (long long)D(w, 1), (long long)rr,
                            (long long)hd->v.i[0]);
        }
        break;
    case IFG_OP_TOKENS_FROM_GRID:
        if (w->storage == IFG_CONST && D(w, 0) != 1)
            return fail(r, IF_ERR_BAD_SHAPE, "%s: class token has %lld rows (must be 1)", r->rec,
                        (long long)D(w, 0));
        if (b->storage == IFG_CONST && D(b, 0) != 1 + win->v.i[0] * win->v.i[1])
            return fail(r, IF_ERR_BAD_SHAPE, "%s: position table has %lld rows, WINDOW needs %lld",
                        r->rec, (long long)D(b, 0), (long long)(1 + win->v.i[0] * win->v.i[1]));
        break;
    default: break;
    }
#undef D
    return IF_OK;
}

/* Next free entries of the pools while the node records are read. */
typedef struct {
    uint32_t ids, attrs;
} pool_use;

/* The first pass over the node records, from r->pos: counts the operand ids
 * (n_in + n_out) and attributes (n_attr) of the nodes so that each pool is
 * allocated once. It steps over the same fields as parse_node() with the
 * same lengths and limits but checks nothing else, and stops (silently,
 * keeping its counts) where the records cannot be walked: parse_node() then
 * fails at that node or earlier. A node is counted once its counts are read
 * and within limits, which is when parse_node() takes its pool entries, so
 * the pools never run out; only that last node may lack the bytes for what
 * it declares. */
static void count_node_slots(const rd *r, uint32_t n_nodes, uint64_t *n_ids, uint64_t *n_attrs) {
    uint64_t pos = r->pos, end = r->end;
    *n_ids = *n_attrs = 0;
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if ((uint64_t)(n) > end - pos) return;                                                     \
    } while (0)
    for (uint32_t i = 0; i < n_nodes; i++) {
        NEED(4);
        uint32_t len = fmt_rd32(r->p + pos);
        pos += 4;
        if (len > IFG_MAX_STRING) return;
        NEED(len + ((4u - (len & 3u)) & 3u));
        pos += len + ((4u - (len & 3u)) & 3u);
        NEED(16); /* op, n_in, n_out, n_attr */
        uint32_t n_in = fmt_rd32(r->p + pos + 4), n_out = fmt_rd32(r->p + pos + 8),
                 n_attr = fmt_rd32(r->p + pos + 12);
        pos += 16;
        if (n_in > IFG_MAX_NODE_IN || n_out > IFG_MAX_NODE_OUT || n_attr > IFG_MAX_NODE_ATTR)
            return;
        *n_ids += n_in + n_out;
        *n_attrs += n_attr;
        NEED(4u * (n_in + n_out));
        pos += 4u * (n_in + n_out);
        for (uint32_t j = 0; j < n_attr; j++) {
            NEED(12); /* key, type, count */
            uint32_t count = fmt_rd32(r->p + pos + 8);
            pos += 12;
            if (count < 1 || count > IFG_MAX_ATTR_COUNT) return;
            NEED(8u * count);
            pos += 8u * count;
        }
    }
#undef NEED
}

static if_status parse_node(rd *r, const ifg_graph *g, uint32_t i, ifg_node *n, pool_use *use) {
    char nm[64];
    snprintf(r->rec, sizeof r->rec, "node %u", i);
    TRY(rd_string(r, "name", IF_ERR_BAD_GRAPH, &n->name, &n->name_len));
    show_name(nm, sizeof nm, n->name, n->name_len);
    snprintf(r->rec, sizeof r->rec, "node %u '%s'", i, nm);
    TRY(rd_u32(r, "op", &n->op));
    /* An op without its operand rule (max_in 0) is one that was added to
     * IFG_OP_LIST and not here: refused as unknown rather than read with
     * no rules (tests/test_ops.py parses every op). */
    if (n->op < 1 || n->op >= IFG_OP_COUNT_)
        return fail(r, IF_ERR_BAD_OP, "%s: unknown op code %u", r->rec, n->op);
    if (op_rules[n->op].max_in == 0)
        return fail(r, IF_ERR_BAD_OP, "%s: op %s has no operand rule in this reader (op_rules)",
                    r->rec, ifg_op_name(n->op));
    snprintf(r->rec, sizeof r->rec, "node %u '%s' (%s)", i, nm, ifg_op_name(n->op));
    TRY(rd_u32(r, "n_in", &n->n_in));
    TRY(rd_u32(r, "n_out", &n->n_out));
    TRY(rd_u32(r, "n_attr", &n->n_attr));
    if (n->n_in > IFG_MAX_NODE_IN)
        return fail(r, IF_ERR_BAD_COUNT, "%s: n_in %u is over the limit %d", r->rec, n->n_in,
                    IFG_MAX_NODE_IN);
    if (n->n_out > IFG_MAX_NODE_OUT)
        return fail(r, IF_ERR_BAD_COUNT, "%s: n_out %u is over the limit %d", r->rec, n->n_out,
                    IFG_MAX_NODE_OUT);
    if (n->n_attr > IFG_MAX_NODE_ATTR)
        return fail(r, IF_ERR_BAD_COUNT, "%s: n_attr %u is over the limit %d", r->rec, n->n_attr,
                    IFG_MAX_NODE_ATTR);
    /* Take this node's pool entries (count_node_slots counted them). */
    uint32_t n_ids = n->n_in + n->n_out;
    if (n_ids > g->n_ids - use->ids || n->n_attr > g->n_attrs - use->attrs)
        return fail(r, IF_ERR_BAD_COUNT,
                    "%s: %u ids, %u attrs overrun the pools (%u of %u, %u of %u used)", r->rec,
                    n_ids, n->n_attr, use->ids, g->n_ids, use->attrs, g->n_attrs);
    uint32_t *ids = n_ids ? g->ids + use->ids : NULL;
    ifg_attr *attrs = n->n_attr ? g->attr_pool + use->attrs : NULL;
    use->ids += n_ids;
    use->attrs += n->n_attr;
    n->in = n->n_in ? ids : NULL;
    n->out = n->n_out ? ids + n->n_in : NULL;
    n->attrs = attrs;
    const uint8_t *q = NULL;
    TRY(take(r, 4u * (uint64_t)n_ids, "tensor ids", &q));
    for (uint32_t k = 0; k < n_ids; k++) {
        uint32_t id = fmt_rd32(q + 4 * k);
        int is_in = k < n->n_in;
        ids[k] = id;
        if (id < g->n_tensors || (is_in && id == IFG_NO_TENSOR)) continue;
        return fail(r, IF_ERR_BAD_TENSOR_ID, "%s: %s[%u] = %u is not a tensor id (n_tensors %u)",
                    r->rec, is_in ? "in" : "out", is_in ? k : k - n->n_in, id, g->n_tensors);
    }
    uint32_t seen = 0;
    const op_rule *ru = &op_rules[n->op];
    for (uint32_t j = 0; j < n->n_attr; j++) {
        ifg_attr *a = &attrs[j];
        TRY(parse_attr(r, n->op, j, a));
        uint32_t bit = 1u << a->key;
        if (seen & bit)
            return fail(r, IF_ERR_BAD_ATTR, "%s: attr %s appears twice", r->rec,
                        ifg_attr_name(a->key));
        if (!((ru->req | ru->opt) & bit))
            return fail(r, IF_ERR_BAD_ATTR, "%s: %s does not take attr %s", r->rec,
                        ifg_op_name(n->op), ifg_attr_name(a->key));
        seen |= bit;
    }
    /* Operand counts, then required attributes. */
    if (n->n_in < ru->min_in || n->n_in > ru->max_in)
        return fail(r, IF_ERR_BAD_OP, "%s: %u inputs (%s takes %u..%u)", r->rec, n->n_in,
                    ifg_op_name(n->op), ru->min_in, ru->max_in);
    if (n->n_out != 1)
        return fail(r, IF_ERR_BAD_OP, "%s: %u outputs (every op has 1)", r->rec, n->n_out);
    if ((seen & ru->req) != ru->req) {
        uint32_t miss = ru->req & ~seen, key = 0;
        while (!(miss & (1u << key))) key++;
        return fail(r, IF_ERR_BAD_ATTR, "%s: required attr %s is missing", r->rec,
                    ifg_attr_name(key));
    }
    if (n->op == IFG_OP_ADAPTIVE_MAX_POOL) {
        int has_o = !!(seen & (1u << IFG_ATTR_OUT_SIZE)),
            has_l = !!(seen & (1u << IFG_ATTR_POOL_LIMIT));
        if (has_o == has_l)
            return fail(r, IF_ERR_BAD_ATTR,
                        "%s: needs exactly one of OUT_SIZE and POOL_LIMIT (has %s)", r->rec,
                        has_o ? "both" : "neither");
    }
    TRY(check_operands(r, g, n));
    return check_weights(r, g, n);
}

/* ------------------------------------------------------------------------
 * Inputs, outputs and the graph */

#define PROD_NONE  0u
#define PROD_INPUT 0xFFFFFFFFu /* otherwise: producing node index + 1 */

/* Whether tensor id is a graph input flagged OPTIONAL. */
static int optional_input(const ifg_graph *g, uint32_t id) {
    for (uint32_t k = 0; k < g->n_inputs; k++)
        if (g->inputs[k].tensor == id) return (g->inputs[k].flags & IFG_IN_OPTIONAL) != 0;
    return 0;
}

static if_status check_graph(rd *r, const ifg_graph *g, uint32_t *prod) {
    char nm[64];
    for (uint32_t k = 0; k < g->n_inputs; k++) {
        uint32_t id = g->inputs[k].tensor;
        if (id >= g->n_tensors)
            return fail(r, IF_ERR_BAD_TENSOR_ID,
                        "input %u: tensor id %u is out of range (n_tensors %u)", k, id,
                        g->n_tensors);
        const ifg_tensor *t = &g->tensors[id];
        show_name(nm, sizeof nm, t->name, t->name_len);
        if (t->storage != IFG_VALUE)
            return fail(r, IF_ERR_BAD_GRAPH, "input %u '%s': is a CONST tensor (inputs are VALUEs)",
                        k, nm);
        for (uint32_t d = 0; d < t->rank; d++)
            if (t->dims[d].sym == IFG_SYM_ANY)
                return fail(r, IF_ERR_BAD_GRAPH, "input %u '%s': dims[%u] is ANY", k, nm, d);
        if (g->inputs[k].flags & ~(uint32_t)(IFG_IN_PER_CLICK | IFG_IN_OPTIONAL))
            return fail(r, IF_ERR_BAD_GRAPH, "input %u '%s': unknown flags 0x%x", k, nm,
                        g->inputs[k].flags);
        if (prod[id] == PROD_INPUT)
            return fail(r, IF_ERR_BAD_GRAPH, "input %u '%s': listed twice", k, nm);
        prod[id] = PROD_INPUT;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        char nn[64];
        show_name(nn, sizeof nn, n->name, n->name_len);
        for (uint32_t k = 0; k < n->n_in; k++) {
            uint32_t id = n->in[k];
            const op_rule *ru = &op_rules[n->op];
            /* An optional input may be absent at run time: only operands
             * that may be absent too (CROP's and PASTE's roi) can take it. */
            if (id != IFG_NO_TENSOR && prod[id] == PROD_INPUT && (ru->variadic || k < ru->min_in) &&
                optional_input(g, id)) {
                show_name(nm, sizeof nm, g->tensors[id].name, g->tensors[id].name_len);
                return fail(r, IF_ERR_BAD_GRAPH,
                            "node %u '%s': in[%u] '%s' is an optional graph input, but %s requires "
                            "the operand",
                            i, nn, k, nm, ifg_op_name(n->op));
            }
            if (id == IFG_NO_TENSOR || g->tensors[id].storage == IFG_CONST || prod[id] != PROD_NONE)
                continue;
            show_name(nm, sizeof nm, g->tensors[id].name, g->tensors[id].name_len);
            return fail(r, IF_ERR_BAD_TENSOR_ID,
                        "node %u '%s': in[%u] '%s' is used before it is produced (not an input, no "
                        "earlier node)",
                        i, nn, k, nm);
        }
        uint32_t id = n->out[0];
        show_name(nm, sizeof nm, g->tensors[id].name, g->tensors[id].name_len);
        if (prod[id] == PROD_INPUT)
            return fail(r, IF_ERR_BAD_GRAPH, "node %u '%s': output '%s' is a graph input", i, nn,
                        nm);
        if (prod[id] != PROD_NONE)
            return fail(r, IF_ERR_BAD_TENSOR_ID,
                        "node %u '%s': output '%s' is already produced by node %u", i, nn, nm,
                        prod[id] - 1);
        prod[id] = i + 1;
    }
    for (uint32_t t = 0; t < g->n_tensors; t++) {
        if (g->tensors[t].storage != IFG_VALUE || prod[t] != PROD_NONE) continue;
        show_name(nm, sizeof nm, g->tensors[t].name, g->tensors[t].name_len);
        return fail(r, IF_ERR_BAD_GRAPH,
                    "tensor %u '%s': VALUE that is neither a graph input nor a node output", t, nm);
    }
    for (uint32_t k = 0; k < g->n_outputs; k++) {
        uint32_t id = g->outputs[k];
        if (id >= g->n_tensors)
            return fail(r, IF_ERR_BAD_TENSOR_ID,
                        "output %u: tensor id %u is out of range (n_tensors %u)", k, id,
                        g->n_tensors);
        show_name(nm, sizeof nm, g->tensors[id].name, g->tensors[id].name_len);
        if (g->tensors[id].storage != IFG_VALUE || prod[id] == PROD_INPUT)
            return fail(r, IF_ERR_BAD_GRAPH, "output %u '%s': is a %s, not produced by a node", k,
                        nm, g->tensors[id].storage != IFG_VALUE ? "CONST tensor" : "graph input");
        for (uint32_t j = 0; j < k; j++)
            if (g->outputs[j] == id)
                return fail(r, IF_ERR_BAD_GRAPH, "output %u '%s': listed twice", k, nm);
    }
    return IF_OK;
}

/* ------------------------------------------------------------------------
 * ifg_parse */

static if_status parse_header(rd *r, size_t size, ifg_graph *g) {
    const uint8_t *p = r->p;
    snprintf(r->rec, sizeof r->rec, "header");
    if (size == 0) return fail(r, IF_ERR_TRUNCATED, "empty buffer (0 bytes)");
    if (memcmp(p, IFG_MAGIC, size < 8 ? size : 8) != 0)
        return fail(r, IF_ERR_BAD_MAGIC, "header: magic is not \"IFGRAPH\\0\" (first byte 0x%02x)",
                    p[0]);
    if (size < 12)
        return fail(r, IF_ERR_TRUNCATED, "buffer of %zu bytes is shorter than the %u-byte header",
                    size, (unsigned)IFG_HEADER_BYTES);
    g->version = fmt_rd32(p + 8);
    if (g->version != IFG_VERSION)
        return fail(r, IF_ERR_BAD_VERSION, "header: version %u (this reader reads %u)", g->version,
                    (unsigned)IFG_VERSION);
    if (size < IFG_HEADER_BYTES)
        return fail(r, IF_ERR_TRUNCATED, "buffer of %zu bytes is shorter than the %u-byte header",
                    size, (unsigned)IFG_HEADER_BYTES);
    g->file_bytes = fmt_rd64(p + 16);
    if (g->file_bytes > size)
        return fail(r, IF_ERR_TRUNCATED, "header: file_bytes %llu but the buffer has %zu bytes",
                    (unsigned long long)g->file_bytes, size);
    if (g->file_bytes < size)
        return fail(r, IF_ERR_BAD_OFFSET,
                    "header: file_bytes %llu but the buffer has %zu bytes (trailing data)",
                    (unsigned long long)g->file_bytes, size);
    uint32_t stored = fmt_rd32(p + 12), crc = ifg_crc32(0, p + 16, size - 16);
    if (stored != crc)
        return fail(r, IF_ERR_CHECKSUM, "header: crc32 0x%08x, contents give 0x%08x", stored, crc);
    g->kind = fmt_rd32(p + 24);
    g->flags = fmt_rd32(p + 28);
    g->n_meta = fmt_rd32(p + 32);
    g->n_tensors = fmt_rd32(p + 36);
    g->n_nodes = fmt_rd32(p + 40);
    g->n_inputs = fmt_rd32(p + 44);
    g->n_outputs = fmt_rd32(p + 48);
    uint32_t reserved = fmt_rd32(p + 52);
    uint64_t data_offset = fmt_rd64(p + 56);
    if (g->kind != IFG_KIND_ENCODER && g->kind != IFG_KIND_DECODER)
        return fail(r, IF_ERR_BAD_GRAPH, "header: kind %u is not 1 (encoder) or 2 (decoder)",
                    g->kind);
    if (g->flags & ~1u) return fail(r, IF_ERR_BAD_GRAPH, "header: unknown flags 0x%x", g->flags);
    if (reserved)
        return fail(r, IF_ERR_BAD_GRAPH, "header: reserved field is %u (must be 0)", reserved);
    if (g->n_meta > IFG_MAX_META)
        return fail(r, IF_ERR_BAD_COUNT, "header: n_meta %u is over the limit %u", g->n_meta,
                    (unsigned)IFG_MAX_META);
    if (g->n_tensors > IFG_MAX_TENSORS)
        return fail(r, IF_ERR_BAD_COUNT, "header: n_tensors %u is over the limit %u", g->n_tensors,
                    (unsigned)IFG_MAX_TENSORS);
    if (g->n_nodes > IFG_MAX_NODES)
        return fail(r, IF_ERR_BAD_COUNT, "header: n_nodes %u is over the limit %u", g->n_nodes,
                    (unsigned)IFG_MAX_NODES);
    if (g->n_inputs < 1 || g->n_inputs > IFG_MAX_IO)
        return fail(r, IF_ERR_BAD_COUNT, "header: n_inputs %u is not in 1..%d", g->n_inputs,
                    IFG_MAX_IO);
    if (g->n_outputs < 1 || g->n_outputs > IFG_MAX_IO)
        return fail(r, IF_ERR_BAD_COUNT, "header: n_outputs %u is not in 1..%d", g->n_outputs,
                    IFG_MAX_IO);
    if (data_offset % IFG_ALIGN || data_offset < IFG_HEADER_BYTES || data_offset > g->file_bytes)
        return fail(r, IF_ERR_BAD_OFFSET,
                    "header: data_offset %llu (must be a multiple of %u in [%u, file_bytes %llu])",
                    (unsigned long long)data_offset, (unsigned)IFG_ALIGN,
                    (unsigned)IFG_HEADER_BYTES, (unsigned long long)g->file_bytes);
    /* Every record has a minimum size: refuse counts the record section
     * cannot hold before allocating a table for them. */
    uint64_t least =
        (uint64_t)g->n_meta * MIN_META_BYTES + (uint64_t)g->n_tensors * MIN_TENSOR_BYTES +
        (uint64_t)g->n_nodes * MIN_NODE_BYTES + (uint64_t)g->n_inputs * MIN_INPUT_BYTES +
        (uint64_t)g->n_outputs * MIN_OUTPUT_BYTES;
    if (least > data_offset - IFG_HEADER_BYTES)
        return fail(r, IF_ERR_BAD_COUNT,
                    "header: %u meta, %u tensors, %u nodes, %u inputs, %u outputs need at least "
                    "%llu bytes; "
                    "the record section [64, data_offset) has %llu",
                    g->n_meta, g->n_tensors, g->n_nodes, g->n_inputs, g->n_outputs,
                    (unsigned long long)least,
                    (unsigned long long)(data_offset - IFG_HEADER_BYTES));
    r->pos = IFG_HEADER_BYTES;
    r->end = data_offset;
    r->blob = data_offset;
    r->file_bytes = g->file_bytes;
    r->flags = g->flags;
    return IF_OK;
}

static if_status parse_all(rd *r, size_t size, ifg_graph *g, key_ref **scratch, uint32_t **prod) {
    TRY(parse_header(r, size, g));
    uint32_t most = g->n_meta > g->n_tensors ? g->n_meta : g->n_tensors;
    /* Counts are bounded by the record section now; calloc checks n*size. */
    if (most && !(*scratch = (key_ref *)ifp_calloc(most, sizeof **scratch)))
        return fail(r, IF_ERR_NO_MEMORY, "cannot allocate a %u-entry scratch table", most);
    if (g->n_tensors && !(*prod = (uint32_t *)ifp_calloc(g->n_tensors, sizeof **prod)))
        return fail(r, IF_ERR_NO_MEMORY, "cannot allocate a %u-entry producer table", g->n_tensors);
    if (g->n_meta && !(g->meta = (ifg_meta *)ifp_calloc(g->n_meta, sizeof *g->meta)))
        return fail(r, IF_ERR_NO_MEMORY, "cannot allocate %u metadata entries", g->n_meta);
    if (g->n_tensors && !(g->tensors = (ifg_tensor *)ifp_calloc(g->n_tensors, sizeof *g->tensors)))
        return fail(r, IF_ERR_NO_MEMORY, "cannot allocate %u tensor records", g->n_tensors);
    if (g->n_nodes && !(g->nodes = (ifg_node *)ifp_calloc(g->n_nodes, sizeof *g->nodes)))
        return fail(r, IF_ERR_NO_MEMORY, "cannot allocate %u node records", g->n_nodes);

    TRY(parse_meta(r, g, *scratch));
    TRY(parse_tensors(r, g, *scratch));
    /* The pools, sized by the node records (bounded by them, see the top). */
    uint64_t n_ids = 0, n_attrs = 0;
    count_node_slots(r, g->n_nodes, &n_ids, &n_attrs);
    g->n_ids = (uint32_t)n_ids; /* <= 72 * IFG_MAX_NODES */
    g->n_attrs = (uint32_t)n_attrs;
    if (n_ids && !(g->ids = (uint32_t *)ifp_calloc((size_t)n_ids, sizeof *g->ids)))
        return fail(r, IF_ERR_NO_MEMORY, "cannot allocate %llu operand ids",
                    (unsigned long long)n_ids);
    if (n_attrs && !(g->attr_pool = (ifg_attr *)ifp_calloc((size_t)n_attrs, sizeof *g->attr_pool)))
        return fail(r, IF_ERR_NO_MEMORY, "cannot allocate %llu node attributes",
                    (unsigned long long)n_attrs);
    pool_use use = {0, 0};
    for (uint32_t i = 0; i < g->n_nodes; i++) TRY(parse_node(r, g, i, &g->nodes[i], &use));
    for (uint32_t k = 0; k < g->n_inputs; k++) {
        snprintf(r->rec, sizeof r->rec, "input %u", k);
        TRY(rd_u32(r, "tensor", &g->inputs[k].tensor));
        TRY(rd_u32(r, "flags", &g->inputs[k].flags));
    }
    for (uint32_t k = 0; k < g->n_outputs; k++) {
        snprintf(r->rec, sizeof r->rec, "output %u", k);
        TRY(rd_u32(r, "tensor", &g->outputs[k]));
    }
    for (uint64_t x = r->pos; x < r->end; x++)
        if (r->p[x])
            return fail(
                r, IF_ERR_BAD_OFFSET,
                "records end at byte %llu but byte %llu before data_offset %llu is 0x%02x, not 0",
                (unsigned long long)r->pos, (unsigned long long)x, (unsigned long long)r->end,
                r->p[x]);
    TRY(check_blob(r, g, *scratch));
    return check_graph(r, g, *prod);
}

if_status ifg_parse(const void *buf, size_t size, ifg_graph *out, char *msg, size_t msg_cap) {
    rd r;
    memset(&r, 0, sizeof r);
    r.msg = msg;
    r.cap = msg_cap;
    if (msg && msg_cap) msg[0] = '\0';
    if (!out) return fail(&r, IF_ERR_INVALID_ARG, "ifg_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!buf) return fail(&r, IF_ERR_INVALID_ARG, "ifg_parse: buffer is NULL");
    r.p = (const uint8_t *)buf;
    key_ref *scratch = NULL;
    uint32_t *prod = NULL;
    if_status s = parse_all(&r, size, out, &scratch, &prod);
    ifp_free(scratch);
    ifp_free(prod);
    if (s != IF_OK) ifg_free(out);
    return s;
}

void ifg_free(ifg_graph *g) {
    if (!g) return;
    ifp_free(g->meta);
    ifp_free(g->tensors);
    ifp_free(g->nodes);
    ifp_free(g->ids);
    ifp_free(g->attr_pool);
    memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------------------
 * Lookups and metadata accessors */

static int same(const char *s, uint32_t len, const char *z) {
    size_t n = strlen(z);
    return n == len && (n == 0 || memcmp(s, z, n) == 0);
}

const ifg_meta *ifg_find_meta(const ifg_graph *g, const char *key) {
    if (!g || !key) return NULL;
    for (uint32_t i = 0; i < g->n_meta; i++)
        if (same(g->meta[i].key, g->meta[i].key_len, key)) return &g->meta[i];
    return NULL;
}

int64_t ifg_find_tensor(const ifg_graph *g, const char *name) {
    if (!g || !name) return -1;
    for (uint32_t i = 0; i < g->n_tensors; i++)
        if (same(g->tensors[i].name, g->tensors[i].name_len, name)) return (int64_t)i;
    return -1;
}

const ifg_attr *ifg_node_attr(const ifg_node *n, ifg_attr_key key) {
    if (!n) return NULL;
    for (uint32_t j = 0; j < n->n_attr && j < IFG_MAX_NODE_ATTR; j++)
        if (n->attrs[j].key == (uint32_t)key) return &n->attrs[j];
    return NULL;
}

int ifg_meta_int(const ifg_graph *g, const char *key, uint32_t idx, int64_t *v) {
    const ifg_meta *m = ifg_find_meta(g, key);
    if (!m || m->type != IFG_META_INT || idx >= m->count) return 0;
    if (v) *v = (int64_t)fmt_rd64(m->payload + 8 * (size_t)idx);
    return 1;
}

int ifg_meta_float(const ifg_graph *g, const char *key, uint32_t idx, double *v) {
    const ifg_meta *m = ifg_find_meta(g, key);
    if (!m || m->type != IFG_META_FLOAT || idx >= m->count) return 0;
    if (v) *v = f64_of(fmt_rd64(m->payload + 8 * (size_t)idx));
    return 1;
}

int ifg_meta_string(const ifg_graph *g, const char *key, char *dst, size_t cap) {
    const ifg_meta *m = ifg_find_meta(g, key);
    if (!m || m->type != IFG_META_STRING) return 0;
    if (dst && cap) {
        size_t n = m->count < cap - 1 ? m->count : cap - 1;
        if (n) memcpy(dst, m->payload, n);
        dst[n] = '\0';
    }
    return 1;
}
