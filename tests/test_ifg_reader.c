/* test_ifg_reader.c -- tests of format/ifg_reader.c against FORMAT.md.
 *
 * Fixtures: tests/ifg_fixtures/{small,all_ops}.ifg, written by
 * tests/make_ifg_fixtures.py with the reference Python writer (committed, so
 * this test needs no Python). The directory can be overridden with the
 * IFG_FIXTURES environment variable.
 *
 * Structural edits locate fields with walk(), a small independent walker
 * over a valid file, edit in place (field sizes never change), recompute
 * the CRC and assert the SPECIFIC status the reader must return. Every
 * parse is of an exact-size heap copy, so AddressSanitizer (make test-san)
 * sees any read past the buffer.
 *
 * Last line of output: "N passed, M failed"; exit status 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "format/ifg.h"

/* ------------------------------------------------------------------------
 * Harness */

typedef struct {
    uint8_t *p;
    size_t n;
} buf_t;

static buf_t buf_copy(const uint8_t *p, size_t n) {
    buf_t b = {malloc(n ? n : 1), n};
    if (!b.p) {
        printf("out of memory\n");
        exit(2);
    }
    if (n) memcpy(b.p, p, n);
    return b;
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}
static void put32(buf_t *b, size_t off, uint32_t v) {
    if (off + 4 > b->n) {
        printf("test bug: put32 at %zu of %zu\n", off, b->n);
        exit(2);
    }
    for (int i = 0; i < 4; i++) b->p[off + i] = (uint8_t)(v >> (8 * i));
}
static void put64(buf_t *b, size_t off, uint64_t v) {
    put32(b, off, (uint32_t)v);
    put32(b, off + 4, (uint32_t)(v >> 32));
}
static void putf64(buf_t *b, size_t off, double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    put64(b, off, u);
}
static void fix_crc(buf_t *b) { put32(b, 12, ifg_crc32(0, b->p + 16, b->n - 16)); }

/* Parses an exact-size copy; returns the status, graph freed. */
static if_status status_of(const uint8_t *p, size_t n, char *msg, size_t cap) {
    buf_t c = buf_copy(p, n);
    ifg_graph g;
    if_status s = ifg_parse(c.p, c.n, &g, msg, cap);
    ifg_free(&g);
    free(c.p);
    return s;
}

static void expect_at(int line, const char *what, const buf_t *b, if_status want) {
    char msg[512];
    memset(msg, 'x', sizeof msg);
    if_status s = status_of(b->p, b->n, msg, sizeof msg);
    CHECK(s == want, "(line %d) %s: got %s, want %s (%s)", line, what, if_status_str(s),
          if_status_str(want), s == IF_OK ? "" : msg);
    if (s != want) return;
    if (s != IF_OK) {
        size_t len = strnlen(msg, sizeof msg);
        if (len == 0 || len == sizeof msg || strchr(msg, '\n'))
            CHECK(0, "%s: failure message is empty, unterminated or not one line", what);
    }
}
#define EXPECT(what, b, want) expect_at(__LINE__, what, b, want)

/* ------------------------------------------------------------------------
 * Fixtures and their field offsets */

#define MAXR 64

typedef struct {
    size_t meta_key[MAXR], meta_type[MAXR], meta_count[MAXR], meta_payload[MAXR];
    size_t t_name[MAXR], t_dtype[MAXR], t_storage[MAXR], t_rank[MAXR], t_dims[MAXR], t_offset[MAXR],
        t_nbytes[MAXR];
    size_t n_name[MAXR], n_op[MAXR], n_nin[MAXR], n_nout[MAXR], n_nattr[MAXR], n_ids[MAXR];
    size_t n_attr[MAXR][IFG_MAX_NODE_ATTR]; /* start of each attribute record */
    size_t inputs, outputs, end, data_offset;
    size_t fields[4096]; /* every field offset, for the fuzzer */
    size_t n_fields;
} layout;

typedef struct {
    const char *name;
    buf_t b;
    ifg_graph g; /* parsed from b (which it points into) */
    layout L;
} fixture;

static fixture SMALL = {.name = "small.ifg"}, ALL = {.name = "all_ops.ifg"};

static size_t str_bytes(const uint8_t *p, size_t at) {
    return 4 + ((get32(p + at) + 3u) & ~(size_t)3);
}

static void field(layout *L, size_t off) {
    if (L->n_fields < sizeof L->fields / sizeof L->fields[0]) L->fields[L->n_fields++] = off;
}

/* The offset of the record's name string at *at, which moves past it. */
static size_t name_at(const uint8_t *p, size_t *at) {
    const size_t start = *at;
    *at += str_bytes(p, start);
    return start;
}

/* Walks a VALID file (only used on the fixtures) and records field offsets. */
static int walk(const buf_t *b, layout *L) {
    const uint8_t *p = b->p;
    memset(L, 0, sizeof *L);
    uint32_t n_meta = get32(p + 32), n_t = get32(p + 36), n_n = get32(p + 40), n_i = get32(p + 44);
    if (n_meta > MAXR || n_t > MAXR || n_n > MAXR) return 0;
    for (size_t off = 16; off < 64; off += 4) field(L, off);
    L->data_offset = (size_t)get64(p + 56);
    size_t at = 64;
    for (uint32_t i = 0; i < n_meta; i++) {
        L->meta_key[i] = name_at(p, &at);
        L->meta_type[i] = at;
        L->meta_count[i] = at + 4;
        L->meta_payload[i] = at + 8;
        uint32_t type = get32(p + at), count = get32(p + at + 4);
        field(L, L->meta_key[i]), field(L, at), field(L, at + 4);
        at += 8 + (type == IFG_META_STRING ? ((count + 3u) & ~3u) : (size_t)count * 8);
    }
    for (uint32_t i = 0; i < n_t; i++) {
        L->t_name[i] = name_at(p, &at);
        L->t_dtype[i] = at;
        L->t_storage[i] = at + 4;
        L->t_rank[i] = at + 8;
        L->t_dims[i] = at + 12;
        uint32_t rank = get32(p + at + 8);
        for (size_t f = L->t_name[i]; f < at + 12 + 12 * (size_t)rank; f += 4) field(L, f);
        at += 12 + 12 * (size_t)rank;
        L->t_offset[i] = at;
        L->t_nbytes[i] = at + 8;
        field(L, at), field(L, at + 8);
        at += 16;
    }
    for (uint32_t i = 0; i < n_n; i++) {
        L->n_name[i] = name_at(p, &at);
        field(L, L->n_name[i]);
        L->n_op[i] = at;
        L->n_nin[i] = at + 4;
        L->n_nout[i] = at + 8;
        L->n_nattr[i] = at + 12;
        uint32_t nin = get32(p + at + 4), nout = get32(p + at + 8), na = get32(p + at + 12);
        L->n_ids[i] = at + 16;
        for (size_t f = at; f < at + 16 + 4 * (size_t)(nin + nout); f += 4) field(L, f);
        at += 16 + 4 * (size_t)(nin + nout);
        for (uint32_t j = 0; j < na && j < IFG_MAX_NODE_ATTR; j++) {
            L->n_attr[i][j] = at;
            uint32_t cnt = get32(p + at + 8);
            for (size_t f = at; f < at + 12 + 8 * (size_t)cnt; f += 4) field(L, f);
            at += 12 + 8 * (size_t)cnt;
        }
    }
    L->inputs = at;
    at += 8 * (size_t)n_i;
    L->outputs = at;
    for (size_t f = L->inputs; f < at + 4 * (size_t)get32(p + 48); f += 4) field(L, f);
    at += 4 * (size_t)get32(p + 48);
    L->end = at;
    return at <= L->data_offset && L->data_offset <= b->n;
}

static int load_fixture(fixture *f) {
    char path[1024];
    const char *dir = getenv("IFG_FIXTURES");
    if (dir) {
        snprintf(path, sizeof path, "%s/%s", dir, f->name);
    } else {
        /* Next to this source file: tests/ifg_fixtures/. */
        const char *src = __FILE__, *slash = strrchr(src, '/');
        int len = slash ? (int)(slash - src + 1) : 0;
        snprintf(path, sizeof path, "%.*sifg_fixtures/%s", len, src, f->name);
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        printf("cannot open fixture %s (set IFG_FIXTURES to its directory)\n", path);
        return 0;
    }
    uint8_t tmp[1 << 16];
    size_t n = fread(tmp, 1, sizeof tmp, fp);
    fclose(fp);
    f->b = buf_copy(tmp, n);
    char msg[256];
    if_status s = ifg_parse(f->b.p, f->b.n, &f->g, msg, sizeof msg);
    if (s != IF_OK) {
        printf("fixture %s does not parse: %s: %s\n", path, if_status_str(s), msg);
        return 0;
    }
    if (!walk(&f->b, &f->L)) {
        printf("fixture %s: walk failed\n", path);
        return 0;
    }
    return 1;
}

static uint32_t T(const fixture *f, const char *name) {
    int64_t t = ifg_find_tensor(&f->g, name);
    if (t < 0) {
        printf("test bug: no tensor %s in %s\n", name, f->name);
        exit(2);
    }
    return (uint32_t)t;
}

static uint32_t N(const fixture *f, const char *name) {
    for (uint32_t i = 0; i < f->g.n_nodes; i++)
        if (f->g.nodes[i].name_len == strlen(name) &&
            !memcmp(f->g.nodes[i].name, name, strlen(name)))
            return i;
    printf("test bug: no node %s in %s\n", name, f->name);
    exit(2);
}

/* Offset of the attribute record with `key` in node i. */
static size_t AT(const fixture *f, uint32_t i, uint32_t key) {
    for (uint32_t j = 0; j < f->g.nodes[i].n_attr; j++)
        if (f->g.nodes[i].attrs[j].key == key) return f->L.n_attr[i][j];
    printf("test bug: node %u has no attr %u\n", i, key);
    exit(2);
}

static uint32_t M(const fixture *f, const char *key) {
    for (uint32_t i = 0; i < f->g.n_meta; i++)
        if (f->g.meta[i].key_len == strlen(key) && !memcmp(f->g.meta[i].key, key, strlen(key)))
            return i;
    printf("test bug: no meta %s\n", key);
    exit(2);
}

/* One-field edits: a `width`-byte little-endian value at off, the CRC fixed
 * afterwards. */
static void edit_at(int line, const fixture *f, size_t off, int width, uint64_t v, if_status want,
                    const char *what) {
    buf_t m = buf_copy(f->b.p, f->b.n);
    if (width == 8)
        put64(&m, off, v);
    else if (width == 4)
        put32(&m, off, (uint32_t)v);
    else
        m.p[off] = (uint8_t)v;
    fix_crc(&m);
    expect_at(line, what, &m, want);
    free(m.p);
}
/* A node's n_in and n_out set together. */
static void edit_io_at(int line, const fixture *f, uint32_t node, uint32_t n_in, uint32_t n_out,
                       if_status want, const char *what) {
    buf_t m = buf_copy(f->b.p, f->b.n);
    put32(&m, f->L.n_nin[node], n_in);
    put32(&m, f->L.n_nout[node], n_out);
    fix_crc(&m);
    expect_at(line, what, &m, want);
    free(m.p);
}
#define EDIT_IO(f, node, n_in, n_out, want, what)                                                  \
    edit_io_at(__LINE__, f, node, n_in, n_out, want, what)
#define EDIT32(f, off, v, want) edit_at(__LINE__, f, off, 4, (uint32_t)(v), want, #off " = " #v)
#define EDIT64(f, off, v, want) edit_at(__LINE__, f, off, 8, (uint64_t)(v), want, #off " = " #v)
#define EDIT8(f, off, v, want)  edit_at(__LINE__, f, off, 1, (uint8_t)(v), want, #off " = " #v)

/* ------------------------------------------------------------------------
 * Small numeric helpers */

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) & 1u, e = (uint32_t)(h >> 10) & 31u, m = h & 1023u;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 1024u), (int)e - 25);
    return sign ? -v : v;
}

static float f32_at(const void *data, size_t i) {
    float v;
    memcpy(&v, (const uint8_t *)data + 4 * i, 4);
    return v;
}

static float f16_at(const void *data, size_t i) {
    const uint8_t *p = (const uint8_t *)data + 2 * i;
    return f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

static uint64_t rng_state;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* ------------------------------------------------------------------------
 * CRC */

static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void test_crc(void) {
    CHECK(ifg_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32(\"123456789\") = 0x%08x",
          ifg_crc32(0, "123456789", 9));
    CHECK(ifg_crc32(0, "", 0) == 0 && ifg_crc32(0, NULL, 0) == 0, "crc32 of nothing");
    uint8_t data[4096];
    rng_state = 0x1234567;
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)rnd();
    int bad = 0;
    for (int it = 0; it < 300; it++) {
        size_t off = rnd() % 64, n = rnd() % (sizeof data - 64), cut = n ? rnd() % n : 0;
        uint32_t want = crc_bitwise(0, data + off, n);
        uint32_t got = ifg_crc32(ifg_crc32(0, data + off, cut), data + off + cut, n - cut);
        if (got != want) bad++;
    }
    CHECK(bad == 0, "crc32 differs from the bitwise reference in %d of 300 cases", bad);
    for (int k = 0; k < 2; k++) {
        const buf_t *b = k ? &ALL.b : &SMALL.b;
        CHECK(ifg_crc32(0, b->p + 16, b->n - 16) == get32(b->p + 12),
              "fixture %d crc matches zlib's", k);
    }
}

/* ------------------------------------------------------------------------
 * Valid files: everything reads back as written */

static int name_is(const char *s, uint32_t len, const char *z) {
    return len == strlen(z) && !memcmp(s, z, len);
}

static int dim_is(const ifg_dim *d, uint32_t sym, int32_t mul, int32_t div) {
    return d->sym == sym && d->mul == mul && d->div == div;
}

static void test_valid_small(void) {
    const fixture *f = &SMALL;
    const ifg_graph *g = &f->g;
    CHECK(g->version == 1 && g->kind == IFG_KIND_DECODER && g->flags == 1,
          "header v%u kind %u flags %u", g->version, g->kind, g->flags);
    CHECK(g->file_bytes == f->b.n, "file_bytes");
    CHECK(g->n_meta == 6 && g->n_tensors == 21 && g->n_nodes == 9 && g->n_inputs == 3 &&
              g->n_outputs == 1,
          "counts %u %u %u %u %u", g->n_meta, g->n_tensors, g->n_nodes, g->n_inputs, g->n_outputs);

    /* Metadata. */
    char s[64];
    int64_t iv;
    double dv;
    CHECK(ifg_meta_string(g, "model.family", s, sizeof s) && !strcmp(s, "interformer"),
          "model.family");
    CHECK(ifg_meta_string(g, "model.name", s, sizeof s) && !strcmp(s, "tiny_fixture"),
          "model.name");
    CHECK(ifg_meta_string(g, "test.b", s, sizeof s) && !strcmp(s, "h\xc3\xa9llo \xe2\x9c\x93"),
          "utf-8 string");
    CHECK(ifg_meta_string(g, "model.family", s, 6) && !strcmp(s, "inter"),
          "string truncated to cap-1");
    CHECK(ifg_meta_string(g, "model.family", NULL, 0) == 1, "string presence only");
    CHECK(ifg_meta_float(g, "preprocess.mean", 0, &dv) && dv == 123.675, "mean[0]");
    CHECK(ifg_meta_float(g, "preprocess.mean", 2, &dv) && dv == 103.53, "mean[2]");
    CHECK(!ifg_meta_float(g, "preprocess.mean", 3, &dv), "mean[3] is out of range");
    CHECK(ifg_meta_int(g, "features.strides", 3, &iv) && iv == 32, "strides[3]");
    CHECK(ifg_meta_int(g, "test.a", 0, &iv) && iv == -7, "negative INT");
    CHECK(ifg_meta_int(g, "test.a", 1, &iv) && iv == (int64_t)1 << 40, "large INT");
    CHECK(!ifg_meta_int(g, "preprocess.mean", 0, &iv), "INT accessor on a FLOAT entry");
    CHECK(!ifg_meta_float(g, "features.strides", 0, &dv), "FLOAT accessor on an INT entry");
    CHECK(!ifg_meta_string(g, "test.a", s, sizeof s), "STRING accessor on an INT entry");
    CHECK(!ifg_meta_int(g, "missing", 0, &iv) && !ifg_find_meta(g, "model") &&
              !ifg_find_meta(g, ""),
          "missing keys, prefixes");
    const ifg_meta *m = ifg_find_meta(g, "features.strides");
    CHECK(m && m->type == IFG_META_INT && m->count == 4 && get64(m->payload + 8) == 8,
          "raw meta payload");

    /* Tensors. */
    const ifg_tensor *t = &g->tensors[T(f, "feat")];
    CHECK(t->storage == IFG_VALUE && t->dtype == IFG_F32 && t->rank == 3 &&
              dim_is(&t->dims[0], IFG_SYM_H, 1, 4) && dim_is(&t->dims[1], IFG_SYM_W, 1, 4) &&
              dim_is(&t->dims[2], IFG_SYM_ONE, 4, 1) && !t->data,
          "feat (H/4, W/4, 4) f32 VALUE");
    t = &g->tensors[T(f, "labels")];
    CHECK(t->dtype == IFG_U8 && t->rank == 2 && dim_is(&t->dims[0], IFG_SYM_H, 1, 1),
          "labels (H, W) u8");
    t = &g->tensors[T(f, "roi")];
    CHECK(t->dtype == IFG_I32 && t->rank == 1 && dim_is(&t->dims[0], IFG_SYM_ONE, 4, 1),
          "roi (4) i32");
    t = &g->tensors[T(f, "c1")];
    CHECK(t->rank == 3 && dim_is(&t->dims[0], IFG_SYM_ANY, 0, 0), "c1 dims ANY");
    t = &g->tensors[T(f, "kv")];
    CHECK(t->rank == 2 && dim_is(&t->dims[0], IFG_SYM_ANY, 0, 0) &&
              dim_is(&t->dims[1], IFG_SYM_ONE, 8, 1),
          "kv (?, 8)");
    CHECK(ifg_find_tensor(g, "conv") == -1 && ifg_find_tensor(g, "conv.w.") == -1 &&
              ifg_find_tensor(g, "") == -1,
          "missing tensor names");

    /* CONST data: the formulas of make_ifg_fixtures.py. */
    const uint8_t *blob = f->b.p + get64(f->b.p + 56);
    int bad = 0;
    t = &g->tensors[T(f, "conv.w")];
    CHECK(t->storage == IFG_CONST && t->dtype == IFG_F16 && t->rank == 4 && t->nbytes == 288 &&
              dim_is(&t->dims[0], IFG_SYM_ONE, 4, 1) && dim_is(&t->dims[1], IFG_SYM_ONE, 3, 1),
          "conv.w (4,3,3,4) f16 CONST");
    for (size_t i = 0; i < 144; i++)
        bad += f16_at(t->data, i) != (float)((int)(i % 11) - 5) * 0.25f;
    t = &g->tensors[T(f, "emb")];
    for (size_t i = 0; i < 20; i++) bad += f16_at(t->data, i) != (float)i * 0.0625f - 0.5f;
    t = &g->tensors[T(f, "lin.w")];
    for (size_t i = 0; i < 16; i++)
        bad += f16_at(t->data, i) != (float)((int)((i * 3) % 5) - 2) * 0.5f;
    t = &g->tensors[T(f, "kv.w")];
    CHECK(t->dtype == IFG_F32 && t->nbytes == 128, "kv.w (8,4) f32");
    for (size_t i = 0; i < 32; i++) bad += f32_at(t->data, i) != (float)((int)(i % 7) - 3) * 0.125f;
    static const float cb[4] = {0.5f, -0.5f, 1.0f, -1.0f}, lw[4] = {1, 2, 3, 4},
                       lb[4] = {-0.25f, 0, 0.25f, 0.5f}, hb[4] = {0.25f, 0.5f, 0.75f, 1.0f};
    for (size_t i = 0; i < 4; i++) {
        bad += f32_at(g->tensors[T(f, "conv.b")].data, i) != cb[i];
        bad += f32_at(g->tensors[T(f, "ln.w")].data, i) != lw[i];
        bad += f32_at(g->tensors[T(f, "ln.b")].data, i) != lb[i];
        bad += f32_at(g->tensors[T(f, "lin.b")].data, i) != hb[i];
        bad += f32_at(g->tensors[T(f, "spare")].data, i) != 0.0f;
    }
    CHECK(bad == 0, "%d CONST values differ from the generator's formulas", bad);
    int misaligned = 0;
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const ifg_tensor *c = &g->tensors[i];
        if (c->storage != IFG_CONST) continue;
        const uint8_t *d = (const uint8_t *)c->data;
        if (d < blob || d + c->nbytes > f->b.p + f->b.n || (size_t)(d - blob) % 64) misaligned++;
    }
    CHECK(misaligned == 0, "CONST data pointers inside the blob at 64-aligned offsets");

    /* Nodes. */
    static const char *const names[9] = {"dec.conv", "dec.crop", "dec.pool", "dec.tok", "dec.kv",
                                         "dec.ref",  "dec.attn", "dec.ln",   "dec.head"};
    static const uint32_t ops[9] = {
        IFG_OP_CONV2D,        IFG_OP_CROP,       IFG_OP_ADAPTIVE_MAX_POOL,
        IFG_OP_CONCAT_TOKENS, IFG_OP_LINEAR,     IFG_OP_REF_EMBED,
        IFG_OP_ATTENTION,     IFG_OP_LAYER_NORM, IFG_OP_LINEAR};
    for (uint32_t i = 0; i < 9; i++)
        CHECK(name_is(g->nodes[i].name, g->nodes[i].name_len, names[i]) &&
                  g->nodes[i].op == ops[i] && g->nodes[i].n_out == 1,
              "node %u is %s %s", i, names[i], ifg_op_name(ops[i]));
    const ifg_node *n = &g->nodes[0];
    CHECK(n->n_in == 3 && n->in[0] == T(f, "feat") && n->in[1] == T(f, "conv.w") &&
              n->in[2] == T(f, "conv.b") && n->out[0] == T(f, "c0") && n->n_attr == 5,
          "dec.conv operands");
    const ifg_attr *a = ifg_node_attr(n, IFG_ATTR_KERNEL);
    CHECK(a && a->type == IFG_ATTR_INT && a->count == 2 && a->v.i[0] == 3 && a->v.i[1] == 3,
          "KERNEL 3x3");
    a = ifg_node_attr(n, IFG_ATTR_PAD);
    CHECK(a && a->count == 4 && a->v.i[0] == 1 && a->v.i[3] == 1, "PAD");
    a = ifg_node_attr(n, IFG_ATTR_ACT);
    CHECK(a && a->count == 1 && a->v.i[0] == IFG_ACT_RELU, "ACT relu");
    CHECK(ifg_node_attr(n, IFG_ATTR_EPS) == NULL && ifg_node_attr(NULL, IFG_ATTR_EPS) == NULL,
          "absent attr");
    a = ifg_node_attr(&g->nodes[1], IFG_ATTR_STRIDE);
    CHECK(a && a->count == 1 && a->v.i[0] == 4 && g->nodes[1].in[1] == T(f, "roi"),
          "CROP STRIDE 4 with roi");
    a = ifg_node_attr(&g->nodes[2], IFG_ATTR_POOL_LIMIT);
    CHECK(a && a->type == IFG_ATTR_FLOAT && a->count == 2 && a->v.f[0] == 7.0 && a->v.f[1] == 7.0,
          "POOL_LIMIT");
    CHECK(g->nodes[3].n_in == 2 && g->nodes[3].in[1] == T(f, "c1"), "CONCAT_TOKENS inputs");
    CHECK(g->nodes[4].n_in == 3 && g->nodes[4].in[2] == IFG_NO_TENSOR,
          "LINEAR with an absent bias");
    a = ifg_node_attr(&g->nodes[6], IFG_ATTR_SCALE);
    CHECK(a && a->v.f[0] == 0.5 && ifg_node_attr(&g->nodes[6], IFG_ATTR_HEADS)->v.i[0] == 2,
          "ATTENTION attrs");
    a = ifg_node_attr(&g->nodes[7], IFG_ATTR_EPS);
    CHECK(a && a->v.f[0] == 1e-6, "EPS 1e-6");
    CHECK(g->nodes[8].out[0] == T(f, "logits") &&
              ifg_node_attr(&g->nodes[8], IFG_ATTR_ACT)->v.i[0] == IFG_ACT_GELU,
          "head output, GELU");

    /* I/O. */
    CHECK(g->inputs[0].tensor == T(f, "feat") && g->inputs[0].flags == 0 &&
              g->inputs[1].tensor == T(f, "labels") && g->inputs[1].flags == IFG_IN_PER_CLICK &&
              g->inputs[2].tensor == T(f, "roi") &&
              g->inputs[2].flags == (IFG_IN_PER_CLICK | IFG_IN_OPTIONAL),
          "inputs and flags");
    CHECK(g->outputs[0] == T(f, "logits"), "output");
}

static void test_valid_all_ops(void) {
    const ifg_graph *g = &ALL.g;
    CHECK(g->kind == IFG_KIND_ENCODER && g->flags == 0 && g->n_outputs == 2 &&
              g->outputs[1] == T(&ALL, "ap"),
          "all_ops header and outputs");
    /* Every operator of the format is read (and run) in its own one-node
     * graph by the op-level tier, tests/test_ops.py; these fixtures are for
     * the reader's record-level checks and need not grow with the op list. */
    const ifg_tensor *u = &g->tensors[T(&ALL, "u")];
    CHECK(dim_is(&u->dims[0], IFG_SYM_H, 2, 1) && dim_is(&u->dims[1], IFG_SYM_W, 2, 1),
          "u (2H, 2W, 4)");
    const ifg_tensor *pw = &g->tensors[T(&ALL, "proj.w")];
    int bad = 0;
    for (size_t i = 0; i < 6 * 32; i++)
        bad += f32_at(pw->data, i) != (float)((int)(i % 9) - 4) * 0.125f;
    CHECK(bad == 0, "proj.w values");
    const ifg_node *pj = &g->nodes[N(&ALL, "enc.proj")];
    CHECK(pj->n_in == 2 && pj->n_attr == 0, "LINEAR without a bias slot");
    const ifg_node *cr = &g->nodes[N(&ALL, "enc.crop")];
    CHECK(cr->n_in == 1, "CROP without roi");
}

static void test_names(void) {
    CHECK(!strcmp(ifg_op_name(IFG_OP_CONV2D), "CONV2D") &&
              !strcmp(ifg_op_name(IFG_OP_PASTE), "PASTE"),
          "op names");
    CHECK(ifg_op_name(0) && ifg_op_name(21) && ifg_op_name(0xFFFFFFFFu),
          "unknown op names are not NULL");
    CHECK(!strcmp(ifg_attr_name(IFG_ATTR_POOL_LIMIT), "POOL_LIMIT") && ifg_attr_name(0) &&
              ifg_attr_name(12),
          "attr names");
    CHECK(!strcmp(ifg_dtype_name(IFG_F16), "f16") && ifg_dtype_name(9) != NULL, "dtype names");
    CHECK(ifg_dtype_size(IFG_F32) == 4 && ifg_dtype_size(IFG_F16) == 2 &&
              ifg_dtype_size(IFG_U8) == 1 && ifg_dtype_size(IFG_I32) == 4 && ifg_dtype_size(4) == 0,
          "dtype sizes");
}

/* ------------------------------------------------------------------------
 * Arguments */

static void test_args(void) {
    ifg_graph g;
    char msg[128];
    const buf_t *b = &SMALL.b;
    memset(&g, 0x5A, sizeof g);
    CHECK(ifg_parse(NULL, 0, &g, msg, sizeof msg) == IF_ERR_INVALID_ARG && msg[0], "NULL buffer");
    CHECK(g.tensors == NULL && g.n_tensors == 0, "out zeroed on failure");
    CHECK(ifg_parse(NULL, 100, &g, NULL, 0) == IF_ERR_INVALID_ARG, "NULL buffer, size 100, no msg");
    CHECK(ifg_parse(b->p, b->n, NULL, msg, sizeof msg) == IF_ERR_INVALID_ARG, "NULL out");
    CHECK(ifg_parse(b->p, 0, &g, msg, sizeof msg) == IF_ERR_TRUNCATED, "empty buffer");
    CHECK(status_of(b->p, b->n, NULL, 0) == IF_OK, "NULL msg on success");
    CHECK(status_of(b->p, b->n - 1, NULL, 100) == IF_ERR_TRUNCATED,
          "NULL msg with a cap on failure");
    msg[0] = 'q';
    CHECK(status_of(b->p, b->n - 1, msg, 0) == IF_ERR_TRUNCATED && msg[0] == 'q',
          "msg_cap 0 leaves msg alone");
    char small[8];
    memset(small, 'x', sizeof small);
    CHECK(status_of(b->p, b->n - 1, small, sizeof small) == IF_ERR_TRUNCATED && small[7] == '\0',
          "message truncated and terminated");
    CHECK(status_of(b->p, b->n, msg, sizeof msg) == IF_OK && msg[0] == '\0',
          "msg empty on success");
    ifg_free(NULL);
    ifg_graph g2;
    buf_t c = buf_copy(b->p, b->n);
    CHECK(ifg_parse(c.p, c.n, &g2, NULL, 0) == IF_OK, "parse");
    ifg_free(&g2);
    ifg_free(&g2); /* zeroed by the first call: a second is harmless */
    free(c.p);
    CHECK(ifg_find_tensor(NULL, "x") == -1 && ifg_find_meta(NULL, "x") == NULL,
          "lookups on NULL graph");
}

/* ------------------------------------------------------------------------
 * Header, truncation, checksum */

static void test_truncation(const fixture *f) {
    int bad = 0;
    for (size_t k = 0; k < f->b.n; k++) {
        char msg[256];
        if_status s = status_of(f->b.p, k, msg, sizeof msg);
        if (s != IF_ERR_TRUNCATED && bad++ < 5)
            printf("FAIL %s truncated to %zu bytes: %s (%s)\n", f->name, k, if_status_str(s), msg);
    }
    CHECK(bad == 0, "%s: %d of %zu truncations not reported as TRUNCATED", f->name, bad, f->b.n);
    /* Short garbage is not a graph file. */
    CHECK(status_of((const uint8_t *)"XYZ", 3, NULL, 0) == IF_ERR_BAD_MAGIC, "3 bytes of garbage");
    CHECK(status_of((const uint8_t *)"IFG", 3, NULL, 0) == IF_ERR_TRUNCATED, "3 bytes of magic");
    uint8_t hdr12[12];
    memcpy(hdr12, f->b.p, 8);
    memcpy(hdr12 + 8, "\x02\0\0\0", 4);
    CHECK(status_of(hdr12, 12, NULL, 0) == IF_ERR_BAD_VERSION, "12 bytes, version 2");
}

static void test_flips(const fixture *f) {
    int bad = 0, n = 0;
    rng_state = 0xF11F5EEDull;
    for (size_t pos = 0; pos < f->b.n; pos++) {
        for (int seed = 0; seed < 4; seed++) {
            buf_t m = buf_copy(f->b.p, f->b.n);
            m.p[pos] ^= (uint8_t)(1 + rnd() % 255);
            if_status want = IF_ERR_CHECKSUM;
            if (pos < 8)
                want = IF_ERR_BAD_MAGIC;
            else if (pos < 12)
                want = IF_ERR_BAD_VERSION;
            else if (pos >= 16 && pos < 24) /* file_bytes is checked before the CRC */
                want = get64(m.p + 16) > m.n ? IF_ERR_TRUNCATED : IF_ERR_BAD_OFFSET;
            char msg[256];
            if_status s = status_of(m.p, m.n, msg, sizeof msg);
            n++;
            if (s != want && bad++ < 5)
                printf("FAIL %s: flip at %zu: %s, want %s (%s)\n", f->name, pos, if_status_str(s),
                       if_status_str(want), msg);
            free(m.p);
        }
    }
    /* Several random bytes at once, anywhere after the CRC-covered header fields. */
    for (int it = 0; it < 2000; it++) {
        buf_t m = buf_copy(f->b.p, f->b.n);
        int k = 2 + (int)(rnd() % 6);
        for (int j = 0; j < k; j++) m.p[24 + rnd() % (m.n - 24)] ^= (uint8_t)(1 + rnd() % 255);
        if_status s = status_of(m.p, m.n, NULL, 0);
        n++;
        if (s != IF_ERR_CHECKSUM && bad++ < 5)
            printf("FAIL %s: multi-byte flip %d: %s\n", f->name, it, if_status_str(s));
        free(m.p);
    }
    CHECK(bad == 0, "%s: %d of %d byte flips not reported as expected", f->name, bad, n);
}

static void test_header(const fixture *f) {
    const size_t n = f->b.n;
    buf_t m = buf_copy(f->b.p, n);
    m.p[0] = 'X';
    EXPECT("magic byte 0", &m, IF_ERR_BAD_MAGIC);
    fix_crc(&m);
    EXPECT("magic byte 0, crc fixed", &m, IF_ERR_BAD_MAGIC);
    memcpy(m.p, f->b.p, 8);
    m.p[7] = 1;
    EXPECT("magic NUL byte", &m, IF_ERR_BAD_MAGIC);
    free(m.p);

    EDIT32(f, 8, 0, IF_ERR_BAD_VERSION);
    EDIT32(f, 8, 2, IF_ERR_BAD_VERSION);
    EDIT32(f, 8, 0xFFFFFFFFu, IF_ERR_BAD_VERSION);
    m = buf_copy(f->b.p, n);
    put32(&m, 12, get32(m.p + 12) ^ 1u);
    EXPECT("crc field", &m, IF_ERR_CHECKSUM);
    free(m.p);

    /* file_bytes against the buffer (the CRC is irrelevant: checked later). */
    EDIT64(f, 16, (uint64_t)n + 1, IF_ERR_TRUNCATED);
    EDIT64(f, 16, (uint64_t)n + 64, IF_ERR_TRUNCATED);
    EDIT64(f, 16, UINT64_MAX, IF_ERR_TRUNCATED);
    EDIT64(f, 16, (uint64_t)n - 1, IF_ERR_BAD_OFFSET);
    EDIT64(f, 16, 64, IF_ERR_BAD_OFFSET);
    EDIT64(f, 16, 0, IF_ERR_BAD_OFFSET);

    /* A longer buffer: trailing bytes. With file_bytes updated, zero bytes
     * after the last constant are blob padding; non-zero ones are not. */
    m = buf_copy(f->b.p, n);
    m.p = realloc(m.p, n + 64);
    memset(m.p + n, 0, 64);
    m.n = n + 64;
    EXPECT("64 trailing zero bytes, file_bytes unchanged", &m, IF_ERR_BAD_OFFSET);
    put64(&m, 16, n + 64);
    fix_crc(&m);
    EXPECT("64 more zero bytes of blob", &m, IF_OK);
    m.p[n + 10] = 1;
    fix_crc(&m);
    EXPECT("64 more blob bytes, one non-zero", &m, IF_ERR_BAD_OFFSET);
    free(m.p);
}

static void test_header_fields(const fixture *f) {
    uint64_t fb = f->b.n, dof = f->L.data_offset;
    EDIT32(f, 24, 0, IF_ERR_BAD_GRAPH); /* kind */
    EDIT32(f, 24, 3, IF_ERR_BAD_GRAPH);
    EDIT32(f, 28, 2, IF_ERR_BAD_GRAPH); /* flags: unknown bit */
    EDIT32(f, 28, 0x80000001u, IF_ERR_BAD_GRAPH);
    EDIT32(f, 52, 1, IF_ERR_BAD_GRAPH);    /* reserved */
    EDIT32(f, 32, 4097, IF_ERR_BAD_COUNT); /* n_meta over the limit */
    EDIT32(f, 32, 0xFFFFFFFFu, IF_ERR_BAD_COUNT);
    EDIT32(f, 32, 4096, IF_ERR_BAD_COUNT);        /* at the limit, does not fit */
    EDIT32(f, 36, 0xFFFFFFFFu, IF_ERR_BAD_COUNT); /* n_tensors */
    EDIT32(f, 36, (1u << 20) + 1, IF_ERR_BAD_COUNT);
    EDIT32(f, 36, 1u << 20, IF_ERR_BAD_COUNT);
    EDIT32(f, 40, 0xFFFFFFFFu, IF_ERR_BAD_COUNT); /* n_nodes */
    EDIT32(f, 40, 1u << 20, IF_ERR_BAD_COUNT);
    EDIT32(f, 40, 100000, IF_ERR_BAD_COUNT);
    EDIT32(f, 44, 0, IF_ERR_BAD_COUNT); /* n_inputs */
    EDIT32(f, 44, 65, IF_ERR_BAD_COUNT);
    EDIT32(f, 44, 0xFFFFFFFFu, IF_ERR_BAD_COUNT);
    EDIT32(f, 48, 0, IF_ERR_BAD_COUNT); /* n_outputs */
    EDIT32(f, 48, 65, IF_ERR_BAD_COUNT);
    EDIT64(f, 56, fb + 64, IF_ERR_BAD_OFFSET); /* data_offset past the end */
    EDIT64(f, 56, UINT64_MAX - 63, IF_ERR_BAD_OFFSET);
    EDIT64(f, 56, dof + 8, IF_ERR_BAD_OFFSET); /* misaligned */
    EDIT64(f, 56, dof - 1, IF_ERR_BAD_OFFSET);
    EDIT64(f, 56, 0, IF_ERR_BAD_OFFSET);
    EDIT64(f, 56, 32, IF_ERR_BAD_OFFSET);
    EDIT64(f, 56, 64, IF_ERR_BAD_COUNT);       /* no room for any record */
    EDIT64(f, 56, dof - 64, IF_ERR_TRUNCATED); /* records run past data_offset */
    EDIT64(f, 56, fb, IF_ERR_BAD_OFFSET);      /* empty blob: constants outside it */
}

/* ------------------------------------------------------------------------
 * Records */

static void test_meta(const fixture *f) {
    const layout *L = &f->L;
    uint32_t fam = M(f, "model.family"), nm = M(f, "model.name"), st = M(f, "features.strides"),
             tb = M(f, "test.b");
    EDIT32(f, L->meta_key[fam], 0xFFFFFFFFu, IF_ERR_BAD_COUNT); /* key length */
    EDIT32(f, L->meta_key[fam], 4097, IF_ERR_BAD_COUNT);
    EDIT32(f, L->meta_key[fam], 4096, IF_ERR_TRUNCATED);
    EDIT32(f, L->meta_type[fam], 0, IF_ERR_BAD_META);
    EDIT32(f, L->meta_type[fam], 4, IF_ERR_BAD_META);
    EDIT32(f, L->meta_type[fam], 0xFFFFFFFFu, IF_ERR_BAD_META);
    EDIT32(f, L->meta_count[fam], 4097, IF_ERR_BAD_COUNT); /* STRING length */
    EDIT32(f, L->meta_count[fam], 0xFFFFFFFFu, IF_ERR_BAD_COUNT);
    EDIT32(f, L->meta_count[st], 0x7FFFFFFFu, IF_ERR_TRUNCATED); /* INT count */
    EDIT32(f, L->meta_count[st], 0xFFFFFFFFu, IF_ERR_TRUNCATED);
    EDIT8(f, L->meta_key[tb] + 4 + 5, 'a', IF_ERR_BAD_META);   /* "test.b" -> "test.a": duplicate */
    EDIT8(f, L->meta_key[nm] + 4 + 10, 'z', IF_ERR_BAD_META);  /* key padding */
    EDIT8(f, L->meta_key[fam] + 4, 0, IF_ERR_BAD_META);        /* NUL in key */
    EDIT8(f, L->meta_key[fam] + 4 + 3, 0xFF, IF_ERR_BAD_META); /* not UTF-8 */
    EDIT8(f, L->meta_key[fam] + 4 + 3, 0xC0, IF_ERR_BAD_META); /* overlong start */
    EDIT8(f, L->meta_payload[fam] + 11, 1,
          IF_ERR_BAD_META); /* value padding ("interformer" = 11) */
    EDIT8(f, L->meta_payload[tb] + 1, 0x80, IF_ERR_BAD_META); /* broken UTF-8 in the value */
    EDIT8(f, L->meta_payload[tb] + 2, 0x41, IF_ERR_BAD_META); /* lone continuation byte */
    EDIT8(f, L->meta_payload[tb] + 1, 'e',
          IF_ERR_BAD_META);                        /* lead byte 0xC3 replaced: orphan 0xA9 */
    EDIT8(f, L->meta_payload[tb] + 0, 'H', IF_OK); /* harmless edit: still valid */
}

static void test_tensors(const fixture *f) {
    const layout *L = &f->L;
    uint32_t feat = T(f, "feat"), labels = T(f, "labels"), cw = T(f, "conv.w"), cb = T(f, "conv.b");
    uint32_t kvw = T(f, "kv.w"), linb = T(f, "lin.b"), c1 = T(f, "c1"), spare = T(f, "spare"),
             roi = T(f, "roi");
    uint64_t blob = f->b.n - f->L.data_offset;
    /* names */
    EDIT32(f, L->t_name[feat], 0xFFFFFFFFu, IF_ERR_BAD_COUNT);
    EDIT32(f, L->t_name[feat], 4097, IF_ERR_BAD_COUNT);
    EDIT8(f, L->t_name[labels] + 4 + 6, 1, IF_ERR_BAD_GRAPH);  /* padding */
    EDIT8(f, L->t_name[feat] + 4 + 1, 0, IF_ERR_BAD_GRAPH);    /* NUL */
    EDIT8(f, L->t_name[feat] + 4 + 1, 0xFE, IF_ERR_BAD_GRAPH); /* not UTF-8 */
    EDIT8(f, L->t_name[c1] + 4 + 1, '0', IF_ERR_BAD_GRAPH);    /* "c1" -> "c0": duplicate */
    /* dtype, storage, rank */
    EDIT32(f, L->t_dtype[feat], 4, IF_ERR_BAD_DTYPE);
    EDIT32(f, L->t_dtype[feat], 0xFFFFFFFFu, IF_ERR_BAD_DTYPE);
    EDIT32(f, L->t_dtype[cw], 7, IF_ERR_BAD_DTYPE);
    EDIT32(f, L->t_storage[feat], 2, IF_ERR_BAD_GRAPH);
    EDIT32(f, L->t_rank[feat], 0, IF_ERR_BAD_SHAPE);
    EDIT32(f, L->t_rank[feat], 5, IF_ERR_BAD_SHAPE);
    EDIT32(f, L->t_rank[cw], 0xFFFFFFFFu, IF_ERR_BAD_SHAPE);
    /* dims of a VALUE: sym, mul, div */
    size_t d0 = L->t_dims[feat], d2 = L->t_dims[feat] + 24;
    EDIT32(f, d0, 4, IF_ERR_BAD_SHAPE);
    EDIT32(f, d0, 0xFFFFFFFFu, IF_ERR_BAD_SHAPE);
    EDIT32(f, d0 + 4, (uint32_t)-1, IF_ERR_BAD_SHAPE); /* negative mul */
    EDIT32(f, d0 + 4, 0x80000000u, IF_ERR_BAD_SHAPE);  /* INT32_MIN */
    EDIT32(f, d0 + 4, 0, IF_ERR_BAD_SHAPE);
    EDIT32(f, d0 + 8, 0, IF_ERR_BAD_SHAPE); /* div 0 */
    EDIT32(f, d0 + 8, (uint32_t)-3, IF_ERR_BAD_SHAPE);
    EDIT32(f, d2 + 8, 3, IF_ERR_BAD_SHAPE);                         /* ONE: 4 / 3 */
    EDIT32(f, d2 + 8, 2, IF_OK);                                    /* ONE: 4 / 2 = 2 is allowed */
    EDIT32(f, L->t_dims[c1] + 4, 1, IF_ERR_BAD_SHAPE);              /* ANY with mul 1 */
    EDIT32(f, L->t_dims[c1] + 8, 1, IF_ERR_BAD_SHAPE);              /* ANY with div 1 */
    EDIT32(f, L->t_dims[feat] + 12, IFG_SYM_ANY, IF_ERR_BAD_SHAPE); /* ANY needs mul = div = 0 */
    /* dims of a CONST */
    size_t w0 = L->t_dims[cw];
    EDIT32(f, w0, IFG_SYM_H, IF_ERR_BAD_SHAPE);
    EDIT32(f, w0 + 8, 2, IF_ERR_BAD_SHAPE); /* div 2 */
    EDIT32(f, w0 + 4, 0, IF_ERR_BAD_SHAPE);
    EDIT32(f, w0 + 4, (uint32_t)-4, IF_ERR_BAD_SHAPE);
    {
        buf_t m = buf_copy(f->b.p, f->b.n);
        put32(&m, w0, IFG_SYM_ANY), put32(&m, w0 + 4, 0), put32(&m, w0 + 8, 0);
        fix_crc(&m);
        EXPECT("CONST dim ANY", &m, IF_ERR_BAD_SHAPE);
        free(m.p);
        m = buf_copy(f->b.p, f->b.n);
        for (int k = 0; k < 4; k++) put32(&m, w0 + 12 * (size_t)k + 4, 0x7FFFFFFFu);
        fix_crc(&m);
        EXPECT("CONST element count overflows", &m, IF_ERR_BAD_SHAPE);
        free(m.p);
        m = buf_copy(f->b.p, f->b.n);
        put32(&m, w0 + 4, 0x7FFFFFFFu);
        put64(&m, L->t_nbytes[cw], (uint64_t)0x7FFFFFFF * 3 * 3 * 4 * 2);
        fix_crc(&m);
        EXPECT("huge CONST, nbytes consistent", &m, IF_ERR_BAD_OFFSET);
        free(m.p);
    }
    EDIT64(f, L->t_nbytes[cw], 289, IF_ERR_BAD_SHAPE);
    EDIT64(f, L->t_nbytes[cw], 287, IF_ERR_BAD_SHAPE);
    EDIT64(f, L->t_nbytes[cw], 0, IF_ERR_BAD_SHAPE);
    EDIT64(f, L->t_nbytes[cw], UINT64_MAX, IF_ERR_BAD_SHAPE);
    /* CONST dtype rules */
    EDIT32(f, L->t_dtype[cb], IFG_F16, IF_ERR_BAD_DTYPE); /* rank-1 f16 */
    EDIT32(f, L->t_dtype[cb], IFG_U8, IF_ERR_BAD_DTYPE);
    EDIT32(f, L->t_dtype[cb], IFG_I32, IF_ERR_BAD_DTYPE);
    EDIT32(f, L->t_dtype[kvw], IFG_F16, IF_ERR_BAD_SHAPE); /* allowed type, nbytes now wrong */
    EDIT32(f, 28, 0, IF_ERR_BAD_DTYPE);                    /* f16 constants without the f16 flag */
    /* CONST offsets */
    uint64_t o_linb = get64(f->b.p + L->t_offset[linb]);
    EDIT64(f, L->t_offset[linb], o_linb + 4, IF_ERR_BAD_OFFSET); /* misaligned */
    EDIT64(f, L->t_offset[linb], o_linb + 32, IF_ERR_BAD_OFFSET);
    EDIT64(f, L->t_offset[linb], blob, IF_ERR_BAD_OFFSET); /* past the blob */
    EDIT64(f, L->t_offset[spare], blob, IF_ERR_BAD_OFFSET);
    EDIT64(f, L->t_offset[linb], (uint64_t)1 << 63, IF_ERR_BAD_OFFSET);
    EDIT64(f, L->t_offset[linb], UINT64_MAX - 63, IF_ERR_BAD_OFFSET); /* offset + nbytes wraps */
    EDIT64(f, L->t_offset[kvw], 0, IF_ERR_BAD_OFFSET);                /* same start as conv.w */
    EDIT64(f, L->t_offset[linb], 64, IF_ERR_BAD_OFFSET); /* inside conv.w's 288 bytes */
    EDIT64(f, L->t_offset[feat], 64, IF_ERR_BAD_OFFSET); /* VALUE with an offset */
    EDIT64(f, L->t_nbytes[feat], 4, IF_ERR_BAD_SHAPE);   /* VALUE with a size */
    /* roi must be declared (4) if declared at all */
    EDIT32(f, L->t_dims[roi] + 4, 5, IF_ERR_BAD_SHAPE);
    /* blob bytes outside every constant must be zero */
    size_t cb_end = f->L.data_offset + (size_t)get64(f->b.p + L->t_offset[cb]) + 16;
    EDIT8(f, cb_end, 1, IF_ERR_BAD_OFFSET);
    EDIT8(f, f->b.n - 1, 0x80, IF_ERR_BAD_OFFSET);
    EDIT8(f, cb_end - 1, 0x12, IF_OK); /* inside conv.b: just data */
    /* bytes between the records and data_offset must be zero */
    if (L->end < L->data_offset)
        EDIT8(f, L->end, 1, IF_ERR_BAD_OFFSET);
    else
        CHECK(0, "fixture has no padding before data_offset");
}

static void test_nodes(const fixture *f) {
    const layout *L = &f->L;
    uint32_t conv = N(f, "dec.conv"), crop = N(f, "dec.crop"), pool = N(f, "dec.pool"),
             attn = N(f, "dec.attn");
    uint32_t ln = N(f, "dec.ln"), head = N(f, "dec.head"), ref = N(f, "dec.ref");
    uint32_t nt = f->g.n_tensors;
    /* record fields */
    EDIT32(f, L->n_name[conv], 0xFFFFFFFFu, IF_ERR_BAD_COUNT);
    EDIT32(f, L->n_name[conv], 5000, IF_ERR_BAD_COUNT);
    EDIT8(f, L->n_name[conv] + 4 + 3, 0, IF_ERR_BAD_GRAPH);
    EDIT32(f, L->n_op[conv], 0, IF_ERR_BAD_OP);
    EDIT32(f, L->n_op[conv], IFG_OP_COUNT_, IF_ERR_BAD_OP); /* the first unknown code */
    EDIT32(f, L->n_op[conv], 0xFFFFFFFFu, IF_ERR_BAD_OP);
    EDIT32(f, L->n_op[attn], IFG_OP_VIT_ATTENTION, IF_ERR_BAD_OP); /* 2 inputs, VIT takes 3 */
    EDIT32(f, L->n_op[ln], IFG_OP_GROUP_NORM, IF_ERR_BAD_ATTR);    /* lacks GROUPS */
    EDIT32(f, L->n_op[ln], IFG_OP_CONV2D, IF_ERR_BAD_ATTR);        /* does not take EPS */
    EDIT32(f, L->n_nin[conv], 65, IF_ERR_BAD_COUNT);
    EDIT32(f, L->n_nin[conv], 0xFFFFFFFFu, IF_ERR_BAD_COUNT);
    EDIT32(f, L->n_nout[conv], 9, IF_ERR_BAD_COUNT);
    EDIT32(f, L->n_nattr[conv], 17, IF_ERR_BAD_COUNT);
    EDIT32(f, L->n_nattr[conv], 0xFFFFFFFFu, IF_ERR_BAD_COUNT);
    /* operand counts per op (n_in + n_out unchanged, so the layout holds) */
    EDIT_IO(f, attn, 1, 2, IF_ERR_BAD_OP, "ATTENTION with 1 input, 2 outputs");
    EDIT_IO(f, attn, 3, 0, IF_ERR_BAD_OP, "ATTENTION with 3 inputs");
    EDIT_IO(f, crop, 1, 2, IF_ERR_BAD_OP, "CROP with 2 outputs");
    EDIT_IO(f, conv, 1, 3, IF_ERR_BAD_OP, "CONV2D with 1 input");
    /* attributes: key, type, count, values */
    size_t k = AT(f, conv, IFG_ATTR_KERNEL), p = AT(f, conv, IFG_ATTR_PAD),
           gr = AT(f, conv, IFG_ATTR_GROUPS);
    size_t act = AT(f, conv, IFG_ATTR_ACT), s = AT(f, conv, IFG_ATTR_STRIDE);
    EDIT32(f, k, IFG_ATTR_COUNT_, IF_ERR_BAD_ATTR); /* the first unknown key */
    EDIT32(f, k, 0, IF_ERR_BAD_ATTR);
    EDIT32(f, k, 0xFFFFFFFFu, IF_ERR_BAD_ATTR);
    EDIT32(f, k + 4, 3, IF_ERR_BAD_ATTR); /* unknown type */
    EDIT32(f, k + 4, 0, IF_ERR_BAD_ATTR);
    EDIT32(f, k + 4, IFG_ATTR_FLOAT, IF_ERR_BAD_ATTR); /* wrong type for KERNEL */
    EDIT32(f, k + 8, 0, IF_ERR_BAD_ATTR);              /* count */
    EDIT32(f, k + 8, 9, IF_ERR_BAD_ATTR);
    EDIT32(f, k + 8, 0xFFFFFFFFu, IF_ERR_BAD_ATTR);
    EDIT32(f, p + 8, 2, IF_ERR_BAD_ATTR);  /* PAD needs 4 */
    EDIT32(f, k + 8, 1, IF_ERR_BAD_ATTR);  /* KERNEL needs 2 */
    EDIT64(f, k + 12, 0, IF_ERR_BAD_ATTR); /* kernel 0 */
    EDIT64(f, k + 12, (uint64_t)-1, IF_ERR_BAD_ATTR);
    EDIT64(f, k + 20, (uint64_t)1 << 40, IF_ERR_BAD_ATTR);
    EDIT64(f, s + 12, 0, IF_ERR_BAD_ATTR);                /* stride 0 */
    EDIT64(f, p + 12 + 8, (uint64_t)-1, IF_ERR_BAD_ATTR); /* pad -1 */
    EDIT64(f, p + 12 + 8, 0, IF_OK);                      /* pad 0 is fine */
    EDIT64(f, gr + 12, 0, IF_ERR_BAD_ATTR);               /* groups 0 */
    EDIT64(f, act + 12, 4, IF_ERR_BAD_ATTR);              /* act 4 */
    EDIT64(f, act + 12, (uint64_t)-1, IF_ERR_BAD_ATTR);
    EDIT64(f, act + 12, IFG_ACT_HARDSWISH, IF_OK);
    EDIT32(f, gr, IFG_ATTR_ACT, IF_ERR_BAD_ATTR);    /* GROUPS -> ACT: ACT twice */
    EDIT32(f, act, IFG_ATTR_HEADS, IF_ERR_BAD_ATTR); /* CONV2D does not take HEADS */
    EDIT64(f, k + 12, 5, IF_ERR_BAD_SHAPE);          /* KERNEL 5x3 vs a 3x3 weight */
    EDIT64(f, gr + 12, 3, IF_ERR_BAD_SHAPE);         /* 4 output channels, GROUPS 3 */
    EDIT64(f, gr + 12, 2, IF_OK);
    size_t h = AT(f, attn, IFG_ATTR_HEADS), sc = AT(f, attn, IFG_ATTR_SCALE);
    EDIT64(f, h + 12, 0, IF_ERR_BAD_ATTR);
    buf_t m = buf_copy(f->b.p, f->b.n);
    putf64(&m, sc + 12, NAN), fix_crc(&m);
    EXPECT("SCALE NaN", &m, IF_ERR_BAD_ATTR);
    putf64(&m, sc + 12, INFINITY), fix_crc(&m);
    EXPECT("SCALE inf", &m, IF_ERR_BAD_ATTR);
    putf64(&m, sc + 12, -0.125), fix_crc(&m);
    EXPECT("SCALE negative is allowed", &m, IF_OK);
    free(m.p);
    EDIT32(f, sc, IFG_ATTR_EPS, IF_ERR_BAD_ATTR); /* ATTENTION does not take EPS */
    size_t e = AT(f, ln, IFG_ATTR_EPS);
    m = buf_copy(f->b.p, f->b.n);
    putf64(&m, e + 12, 0.0), fix_crc(&m);
    EXPECT("EPS 0", &m, IF_ERR_BAD_ATTR);
    putf64(&m, e + 12, -1e-6), fix_crc(&m);
    EXPECT("EPS < 0", &m, IF_ERR_BAD_ATTR);
    putf64(&m, e + 12, NAN), fix_crc(&m);
    EXPECT("EPS NaN", &m, IF_ERR_BAD_ATTR);
    putf64(&m, e + 12, INFINITY), fix_crc(&m);
    EXPECT("EPS inf", &m, IF_ERR_BAD_ATTR);
    free(m.p);
    size_t pl = AT(f, pool, IFG_ATTR_POOL_LIMIT);
    m = buf_copy(f->b.p, f->b.n);
    putf64(&m, pl + 12 + 8, 0.0), fix_crc(&m);
    EXPECT("POOL_LIMIT 0", &m, IF_ERR_BAD_ATTR);
    free(m.p);
    EDIT32(f, pl, IFG_ATTR_OUT_SIZE, IF_ERR_BAD_ATTR); /* OUT_SIZE is INT */
    EDIT32(f, L->n_nattr[pool], 0, IF_ERR_BAD_ATTR);   /* neither OUT_SIZE nor POOL_LIMIT */
    EDIT32(f, L->n_nattr[crop], 0, IF_ERR_BAD_ATTR);   /* required STRIDE missing */
    EDIT32(f, AT(f, crop, IFG_ATTR_STRIDE) + 8, 2, IF_ERR_BAD_ATTR); /* CROP STRIDE has 1 value */
    EDIT64(f, AT(f, crop, IFG_ATTR_STRIDE) + 12, 0, IF_ERR_BAD_ATTR);

    /* tensor ids */
    size_t ci = L->n_ids[conv], co = ci + 12; /* in[0..2], out[0] */
    EDIT32(f, ci, nt, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, ci, 0xFFFFFFFEu, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, ci, IFG_NO_TENSOR, IF_ERR_BAD_TENSOR_ID); /* required input absent */
    EDIT32(f, ci + 4, IFG_NO_TENSOR, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, ci + 8, IFG_NO_TENSOR, IF_OK);             /* optional bias absent */
    EDIT32(f, L->n_ids[crop] + 4, IFG_NO_TENSOR, IF_OK); /* optional roi absent */
    EDIT32(f, co, IFG_NO_TENSOR, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, co, nt, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, co, T(f, "conv.b"), IF_ERR_BAD_TENSOR_ID);        /* CONST as an output */
    EDIT32(f, L->n_ids[crop], T(f, "a"), IF_ERR_BAD_TENSOR_ID); /* used before node 6 produces it */
    EDIT32(f, L->n_ids[ln], T(f, "n"), IF_ERR_BAD_TENSOR_ID);   /* its own output */
    EDIT32(f, L->n_ids[ln] + 12, T(f, "a"), IF_ERR_BAD_TENSOR_ID); /* "a" produced twice */
    EDIT32(f, co, T(f, "feat"), IF_ERR_BAD_GRAPH);                 /* produces a graph input */
    /* operand kinds, element types, ranks */
    EDIT32(f, L->n_ids[head] + 4, T(f, "kv"), IF_ERR_BAD_GRAPH);     /* weight is a VALUE */
    EDIT32(f, L->n_ids[ref], T(f, "ptok"), IF_ERR_BAD_GRAPH);        /* labels not u8 */
    EDIT32(f, L->n_ids[crop] + 4, T(f, "conv.b"), IF_ERR_BAD_GRAPH); /* roi not i32 */
    EDIT32(f, L->n_ids[attn] + 4, T(f, "labels"), IF_ERR_BAD_GRAPH); /* u8 data */
    EDIT32(f, L->t_dtype[T(f, "logits")], IFG_U8, IF_ERR_BAD_GRAPH); /* output not f32 */
    EDIT32(f, ci, T(f, "kv"), IF_ERR_BAD_SHAPE);                     /* rank-2 map into CONV2D */
    EDIT32(f, ci + 4, T(f, "kv.w"), IF_ERR_BAD_SHAPE);               /* rank-2 CONV2D weight */
    EDIT32(f, L->n_ids[head], T(f, "ptok"), IF_ERR_BAD_SHAPE);   /* output rank 3 != input rank 2 */
    EDIT32(f, L->n_ids[ref] + 8, T(f, "roi"), IF_ERR_BAD_SHAPE); /* like of rank 1 */
    EDIT32(f, L->n_ids[head] + 8, T(f, "kv.w"), IF_ERR_BAD_SHAPE); /* bias of rank 2 */
    EDIT32(f, L->n_ids[head] + 8, T(f, "spare"), IF_OK);           /* any (4) f32 CONST is a bias */
    EDIT32(f, L->n_ids[ln] + 8, T(f, "conv.b"), IF_OK);
}

static void test_all_ops_edits(const fixture *f) {
    const layout *L = &f->L;
    uint32_t up = N(f, "enc.up"), add = N(f, "enc.add"), vit = N(f, "enc.vit"),
             tfg = N(f, "enc.tokens");
    uint32_t gn = N(f, "enc.gn"), amp = N(f, "enc.amp"), paste = N(f, "enc.paste");
    EDIT64(f, AT(f, up, IFG_ATTR_STRIDE) + 12, 1,
           IF_ERR_BAD_ATTR); /* CONV_TRANSPOSE2D stride != kernel */
    EDIT32(f, L->n_ids[add] + 4, T(f, "tk"), IF_ERR_BAD_SHAPE);       /* ADD of rank 3 and rank 2 */
    EDIT64(f, AT(f, vit, IFG_ATTR_HEADS) + 12, 3, IF_ERR_BAD_SHAPE);  /* table has 2 head columns */
    EDIT64(f, AT(f, vit, IFG_ATTR_WINDOW) + 12, 3, IF_ERR_BAD_SHAPE); /* table rows (2*3-1)(3)+3 */
    EDIT64(f, AT(f, tfg, IFG_ATTR_WINDOW) + 20, 3, IF_ERR_BAD_SHAPE); /* pos rows 1+2*3 */
    EDIT64(f, AT(f, gn, IFG_ATTR_GROUPS) + 12, 3, IF_ERR_BAD_SHAPE);  /* 4 channels */
    EDIT32(f, L->n_ids[gn] + 8, T(f, "ct.w"), IF_ERR_BAD_SHAPE);      /* rank-4 bias */
    EDIT32(f, AT(f, amp, IFG_ATTR_OUT_SIZE), IFG_ATTR_POOL_LIMIT, IF_ERR_BAD_ATTR); /* INT values */
    EDIT32(f, AT(f, paste, IFG_ATTR_STRIDE) + 4, IFG_ATTR_FLOAT, IF_ERR_BAD_ATTR);
    EDIT32(f, L->n_ids[N(f, "enc.grid")] + 4, T(f, "image"), IF_OK); /* grid: any map */
    EDIT32(f, L->n_ids[N(f, "enc.cat")] + 4, T(f, "image"), IF_OK);  /* concat of a graph input */
    /* outputs */
    EDIT32(f, L->outputs + 4, T(f, "out"), IF_ERR_BAD_GRAPH); /* listed twice */
}

static void test_io(const fixture *f) {
    const layout *L = &f->L;
    uint32_t nt = f->g.n_tensors, spare = T(f, "spare");
    EDIT32(f, L->inputs, nt, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, L->inputs, 0xFFFFFFFFu, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, L->inputs + 16, T(f, "conv.w"), IF_ERR_BAD_GRAPH); /* CONST input */
    EDIT32(f, L->inputs + 16, T(f, "c1"), IF_ERR_BAD_GRAPH);     /* ANY dims */
    EDIT32(f, L->inputs + 16, T(f, "c0"), IF_ERR_BAD_GRAPH);     /* produced by a node */
    EDIT32(f, L->inputs + 4, 4, IF_ERR_BAD_GRAPH);               /* unknown flag */
    EDIT32(f, L->inputs + 4, 0, IF_OK);
    /* An optional input may be absent at run time: only optional operands
     * (CROP's and PASTE's roi) can take it. */
    EDIT32(f, L->inputs + 4, IFG_IN_OPTIONAL, IF_ERR_BAD_GRAPH); /* feat: CONV2D's x */
    EDIT32(f, L->inputs + 12, IFG_IN_PER_CLICK | IFG_IN_OPTIONAL,
           IF_ERR_BAD_GRAPH);                                    /* labels: REF_EMBED */
    EDIT32(f, L->inputs + 20, IFG_IN_PER_CLICK, IF_OK);          /* roi, required */
    EDIT32(f, L->inputs + 16, T(f, "labels"), IF_ERR_BAD_GRAPH); /* listed twice */
    EDIT32(f, L->outputs, nt, IF_ERR_BAD_TENSOR_ID);
    EDIT32(f, L->outputs, T(f, "feat"), IF_ERR_BAD_GRAPH);   /* a graph input */
    EDIT32(f, L->outputs, T(f, "conv.w"), IF_ERR_BAD_GRAPH); /* a CONST */
    EDIT32(f, L->outputs, T(f, "n"), IF_OK);                 /* any produced VALUE */
    /* A VALUE nothing produces: turn the unused all-zero CONST into a VALUE. */
    buf_t m = buf_copy(f->b.p, f->b.n);
    put32(&m, L->t_storage[spare], IFG_VALUE);
    put64(&m, L->t_offset[spare], 0);
    put64(&m, L->t_nbytes[spare], 0);
    fix_crc(&m);
    EXPECT("VALUE that nothing produces", &m, IF_ERR_BAD_GRAPH);
    put32(&m, L->inputs + 16, spare); /* ... unless it is a graph input (roi then dangles) */
    fix_crc(&m);
    EXPECT("roi no longer an input", &m, IF_ERR_BAD_TENSOR_ID);
    free(m.p);
}

/* ------------------------------------------------------------------------
 * Memory: ifg_parse allocates a small constant factor of the record section
 *
 * Nodes point into two pools (ids, attr_pool) sized by the node records,
 * instead of embedding IFG_MAX_NODE_IN + _OUT ids and IFG_MAX_NODE_ATTR
 * attributes each (1600 bytes per node on LP64, 80x a 20-byte record). The
 * bound, per smallest record (format/ifg_reader.c derives it): node 56 / 20,
 * id 4 / 4, attribute 80 / 20, tensor (88 + 36 scratch) / 44, meta (32 + 32
 * scratch) / 12, i.e. at most 5.3x the record section + 1568 bytes for a
 * last node cut short. The test checks the struct sizes that bound rests on,
 * and measures a valid file of many small nodes: 2.7x overall, 3x for the
 * node records (the old layout took 17x and 33x). */

/* The pools hold exactly the nodes' operands and attributes, in node order. */
static int pools_ok(const ifg_graph *g) {
    uint32_t ids = 0, attrs = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        if (n->n_in ? n->in != g->ids + ids : n->in != NULL) return 0;
        ids += n->n_in;
        if (n->n_out ? n->out != g->ids + ids : n->out != NULL) return 0;
        ids += n->n_out;
        if (n->n_attr ? n->attrs != g->attr_pool + attrs : n->attrs != NULL) return 0;
        attrs += n->n_attr;
    }
    return ids == g->n_ids && attrs == g->n_attrs && (ids == 0) == (g->ids == NULL) &&
           (attrs == 0) == (g->attr_pool == NULL);
}

/* Bytes the graph's tables take, plus the parse-time scratch (a 32-byte
 * key_ref per meta or tensor, whichever are more, a u32 per tensor). */
static size_t graph_bytes(const ifg_graph *g) {
    size_t most = g->n_meta > g->n_tensors ? g->n_meta : g->n_tensors;
    return g->n_meta * sizeof(ifg_meta) + g->n_tensors * sizeof(ifg_tensor) +
           g->n_nodes * sizeof(ifg_node) + g->n_ids * sizeof(uint32_t) +
           g->n_attrs * sizeof(ifg_attr) + most * 32 + g->n_tensors * 4;
}

/* A valid encoder: tensor t0 (4) f32 input, then n ACTIVATION nodes
 * t[i] -> t[i+1] with one attribute (ACT NONE) and empty names, output t[n].
 * A 48-byte node record, a 52..56-byte tensor record. *nodes_at and
 * *node_bytes get the offset and size of the node records. */
static buf_t chain_file(uint32_t n, size_t *nodes_at, size_t *node_bytes) {
    size_t cap = 64 + (size_t)(n + 1) * 56 + (size_t)n * 48 + 12 + 64, at = 64;
    buf_t b = {calloc(cap, 1), cap};
    if (!b.p) {
        printf("out of memory\n");
        exit(2);
    }
    for (uint32_t i = 0; i <= n; i++) {
        char nm[16];
        uint32_t len = (uint32_t)snprintf(nm, sizeof nm, "t%u", i);
        put32(&b, at, len);
        memcpy(b.p + at + 4, nm, len);
        at += 4 + ((len + 3u) & ~3u);
        put32(&b, at, IFG_F32), put32(&b, at + 4, IFG_VALUE), put32(&b, at + 8, 1);
        put32(&b, at + 12, IFG_SYM_ONE), put32(&b, at + 16, 4), put32(&b, at + 20, 1);
        at += 24 + 16; /* offset, nbytes: 0 */
    }
    *nodes_at = at;
    for (uint32_t i = 0; i < n; i++) {
        put32(&b, at + 4, IFG_OP_ACTIVATION), put32(&b, at + 8, 1), put32(&b, at + 12, 1);
        put32(&b, at + 16, 1), put32(&b, at + 20, i), put32(&b, at + 24, i + 1);
        put32(&b, at + 28, IFG_ATTR_ACT), put32(&b, at + 32, IFG_ATTR_INT), put32(&b, at + 36, 1);
        at += 48; /* name length 0; the value IFG_ACT_NONE is 0 */
    }
    *node_bytes = at - *nodes_at;
    put32(&b, at + 8, n); /* input t0 (flags 0), output t[n] */
    at += 12;
    size_t data_offset = (at + 63) & ~(size_t)63;
    b.n = data_offset; /* an empty data blob */
    memcpy(b.p, IFG_MAGIC, 8);
    put32(&b, 8, IFG_VERSION), put64(&b, 16, data_offset), put32(&b, 24, IFG_KIND_ENCODER);
    put32(&b, 36, n + 1), put32(&b, 40, n), put32(&b, 44, 1), put32(&b, 48, 1),
        put64(&b, 56, data_offset);
    fix_crc(&b);
    return b;
}

static void test_memory(void) {
    CHECK(sizeof(ifg_node) <= 64, "sizeof(ifg_node) = %zu (> 64: nodes embed arrays again?)",
          sizeof(ifg_node));
    CHECK(
        sizeof(ifg_attr) <= 4 * 20 && sizeof(ifg_tensor) <= 2 * 44 && sizeof(ifg_meta) <= 3 * 12,
        "ifg_attr %zu, ifg_tensor %zu, ifg_meta %zu bytes: over 4x, 2x, 3x their smallest records",
        sizeof(ifg_attr), sizeof(ifg_tensor), sizeof(ifg_meta));
    for (int k = 0; k < 2; k++) {
        const fixture *f = k ? &ALL : &SMALL;
        size_t rec = f->L.data_offset - 64, used = graph_bytes(&f->g);
        CHECK(pools_ok(&f->g), "%s: node pools", f->name);
        CHECK(used <= 8 * rec, "%s: %zu bytes for a %zu-byte record section", f->name, used, rec);
        printf("memory %s: %zu bytes of tables for %zu record bytes (%.2fx)\n", f->name, used, rec,
               (double)used / (double)rec);
    }
    const uint32_t n = 4000;
    size_t nodes_at = 0, node_bytes = 0;
    buf_t b = chain_file(n, &nodes_at, &node_bytes);
    ifg_graph g;
    char msg[256] = "";
    if_status s = ifg_parse(b.p, b.n, &g, msg, sizeof msg);
    CHECK(s == IF_OK, "chain of %u nodes: %s: %s", n, if_status_str(s), msg);
    if (s == IF_OK) {
        size_t rec = (size_t)g.file_bytes - 64, used = graph_bytes(&g);
        size_t node_used =
            g.n_nodes * sizeof(ifg_node) + g.n_ids * 4 + g.n_attrs * sizeof(ifg_attr);
        CHECK(g.n_nodes == n && g.n_ids == 2 * n && g.n_attrs == n && pools_ok(&g), "chain pools");
        CHECK(g.nodes[n - 1].in[0] == n - 1 && g.nodes[n - 1].out[0] == n &&
                  ifg_node_attr(&g.nodes[n - 1], IFG_ATTR_ACT) == &g.attr_pool[n - 1],
              "chain: last node's operands and attribute");
        CHECK(node_used <= 4 * node_bytes, "chain: %zu bytes for %zu bytes of node records (> 4x)",
              node_used, node_bytes);
        CHECK(used <= 8 * rec, "chain: %zu bytes for a %zu-byte record section (> 8x)", used, rec);
        printf("memory chain of %u nodes: %zu bytes of tables for %zu record bytes (%.2fx); nodes "
               "%zu for "
               "%zu (%.2fx; %.2fx with %d-byte nodes embedding their arrays)\n",
               n, used, rec, (double)used / (double)rec, node_used, node_bytes,
               (double)node_used / (double)node_bytes, (double)n * 1600 / (double)node_bytes, 1600);
        ifg_free(&g);
    }
    /* Node 0 declares 16 attributes but has 1: the first pass walks node
     * 1's record as attributes and counts something else; the reader must
     * still stop at node 0 without overrunning the pools (ASan checks). */
    size_t first = nodes_at + 16, last = nodes_at + (size_t)(n - 1) * 48 + 16; /* n_attr fields */
    buf_t m = buf_copy(b.p, b.n);
    put32(&m, first, IFG_MAX_NODE_ATTR), fix_crc(&m);
    EXPECT("node 0 with n_attr 16 and 1 attribute", &m, IF_ERR_BAD_ATTR);
    put32(&m, first, 1), put32(&m, last, IFG_MAX_NODE_ATTR), fix_crc(&m);
    EXPECT("last node with n_attr 16 and 1 attribute", &m, IF_ERR_BAD_ATTR);
    free(m.p);
    free(b.p);
}

/* ------------------------------------------------------------------------
 * Fuzzing: random structural mutations with the CRC fixed */

/* clang-format off */
static const uint32_t interesting[] = {
    0, 1, 2, 3, 4, 5, 7, 8, 16, 63, 64, 255, 256, 4095, 4096, 4097, 65535, 65536, 1u << 20,
    0x7FFFFFFFu, 0x80000000u, 0xFFFFFFF0u, 0xFFFFFFFEu, 0xFFFFFFFFu,
};
/* clang-format on */

static int check_graph_sane(const ifg_graph *g, const uint8_t *p, size_t n) {
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const ifg_tensor *t = &g->tensors[i];
        if ((const uint8_t *)t->name < p || (const uint8_t *)t->name + t->name_len > p + n)
            return 0;
        if (t->rank < 1 || t->rank > 4) return 0;
        if (t->storage == IFG_CONST && ((const uint8_t *)t->data < p ||
                                        t->nbytes > (size_t)(p + n - (const uint8_t *)t->data)))
            return 0;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *nd = &g->nodes[i];
        if (nd->n_in > IFG_MAX_NODE_IN || nd->n_out != 1 || nd->n_attr > IFG_MAX_NODE_ATTR)
            return 0;
        for (uint32_t k = 0; k < nd->n_in; k++)
            if (nd->in[k] >= g->n_tensors && nd->in[k] != IFG_NO_TENSOR) return 0;
        if (nd->out[0] >= g->n_tensors) return 0;
        for (uint32_t j = 0; j < nd->n_attr; j++)
            if (nd->attrs[j].count < 1 || nd->attrs[j].count > IFG_MAX_ATTR_COUNT) return 0;
    }
    for (uint32_t k = 0; k < g->n_inputs; k++)
        if (g->inputs[k].tensor >= g->n_tensors) return 0;
    for (uint32_t k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] >= g->n_tensors) return 0;
    return 1;
}

static void fuzz(const fixture *f, uint64_t seed, int iters) {
    int hist[IF_STATUS_COUNT_] = {0}, insane = 0, badmsg = 0;
    rng_state = seed;
    for (int it = 0; it < iters; it++) {
        buf_t m = buf_copy(f->b.p, f->b.n);
        int muts = 1 + (int)(rnd() % 3);
        for (int j = 0; j < muts; j++) {
            uint64_t r = rnd();
            size_t fld = f->L.fields[rnd() % f->L.n_fields];
            if (fld + 8 > m.n) fld = 16; /* after a truncation */
            size_t any = 16 + (size_t)(rnd() % (m.n - 16));
            switch (r % 8) {
            case 0: m.p[any] = (uint8_t)rnd(); break;
            case 1: m.p[any] ^= (uint8_t)(1u << (rnd() % 8)); break;
            case 2:
            case 3:
                put32(&m, fld, interesting[rnd() % (sizeof interesting / sizeof interesting[0])]);
                break;
            case 4: put32(&m, fld, get32(m.p + fld) + (uint32_t)(rnd() % 5) - 2u); break;
            case 5: put32(&m, fld, (uint32_t)(rnd() % (f->g.n_tensors + 2))); break;
            case 6: /* truncate, keeping the header consistent */
                m.n = 64 + (size_t)(rnd() % (m.n - 64));
                put64(&m, 16, m.n);
                break;
            default: /* a u64 field: data_offset or a tensor offset/nbytes */
                if (fld + 8 <= m.n) put64(&m, fld, (rnd() & 1) ? rnd() % (m.n + 128) : rnd());
                break;
            }
        }
        fix_crc(&m);
        buf_t c = buf_copy(m.p, m.n); /* exact size */
        ifg_graph g;
        char msg[256];
        char *mp = (it & 7) ? msg : NULL;
        if (mp) msg[0] = '\0';
        if_status s = ifg_parse(c.p, c.n, &g, mp, sizeof msg);
        if ((unsigned)s < IF_STATUS_COUNT_) hist[s]++;
        if (s == IF_OK && (!check_graph_sane(&g, c.p, c.n) || !pools_ok(&g))) insane++;
        if (s != IF_OK && mp && (!msg[0] || strchr(msg, '\n'))) badmsg++;
        if (s != IF_OK && (g.tensors || g.nodes || g.meta || g.ids || g.attr_pool || g.n_tensors))
            insane++;
        ifg_free(&g);
        free(c.p);
        free(m.p);
    }
    CHECK(insane == 0, "%s: %d fuzzed parses gave an inconsistent graph", f->name, insane);
    CHECK(badmsg == 0, "%s: %d fuzzed failures without a one-line message", f->name, badmsg);
    printf("fuzz %s: %d mutations:", f->name, iters);
    for (int s = 0; s < IF_STATUS_COUNT_; s++)
        if (hist[s]) printf(" %s=%d", if_status_str((if_status)s), hist[s]);
    printf("\n");
    /* The structural checks were reached, not just the header ones. */
    CHECK(hist[IF_ERR_BAD_SHAPE] && hist[IF_ERR_BAD_ATTR] && hist[IF_ERR_BAD_TENSOR_ID] &&
              hist[IF_ERR_BAD_GRAPH],
          "%s: fuzzing did not reach the structural checks", f->name);
}

int main(void) {
    if (!load_fixture(&SMALL) || !load_fixture(&ALL)) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_crc();
    test_names();
    test_valid_small();
    test_valid_all_ops();
    test_args();
    for (int k = 0; k < 2; k++) {
        const fixture *f = k ? &ALL : &SMALL;
        test_truncation(f);
        test_flips(f);
        test_header(f);
        test_header_fields(f);
    }
    test_meta(&SMALL);
    test_tensors(&SMALL);
    test_nodes(&SMALL);
    test_io(&SMALL);
    test_all_ops_edits(&ALL);
    test_memory();
    fuzz(&SMALL, 0x5EED0001ull, 20000);
    fuzz(&ALL, 0x5EED0002ull, 20000);
    ifg_free(&SMALL.g);
    ifg_free(&ALL.g);
    free(SMALL.b.p);
    free(ALL.b.p);
    return CHECK_SUMMARY();
}
