/* if-inspect -- print the contents of an IFG graph file (format/FORMAT.md).
 *
 *   if-inspect FILE                          header, metadata, inputs, outputs,
 *                                            nodes, tensors, parameter totals
 *   if-inspect FILE --tensor NAME            one tensor record
 *   if-inspect FILE --tensor NAME --raw OUT  write a CONST tensor's bytes, as
 *                                            stored (little-endian f32/f16), to OUT
 *   if-inspect --ops                         the operators this build reads: code,
 *                                            name, inputs, CONST inputs, attributes
 *
 * The file is validated by ifg_parse() before anything is printed. On any
 * error a single line goes to stderr,
 *   if-inspect: FILE: <status>: <detail>
 * and the exit status is 1 (2 for a usage error). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "format/ifg.h"

static const char *prog = "if-inspect";

static int fail(const char *path, if_status s, const char *detail) {
    fprintf(stderr, "%s: %s: %s: %s\n", prog, path, if_status_str(s), detail);
    return 1;
}

/* Reads a whole file, bounded by its actual size. */
static if_status read_file(const char *path, uint8_t **out, size_t *size, char *err, size_t cap) {
    *out = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open: %s", strerror(errno));
        return IF_ERR_IO;
    }
    off_t end = -1;
    if (fseeko(f, 0, SEEK_END) == 0) end = ftello(f);
    if (end < 0 || fseeko(f, 0, SEEK_SET) != 0) {
        snprintf(err, cap, "cannot determine the size: %s", strerror(errno));
        fclose(f);
        return IF_ERR_IO;
    }
    if ((unsigned long long)end > (unsigned long long)SIZE_MAX - 1) {
        snprintf(err, cap, "file of %lld bytes is too large for this machine", (long long)end);
        fclose(f);
        return IF_ERR_NO_MEMORY;
    }
    size_t n = (size_t)end;
    uint8_t *p = malloc(n ? n : 1);
    if (!p) {
        snprintf(err, cap, "cannot allocate %zu bytes", n);
        fclose(f);
        return IF_ERR_NO_MEMORY;
    }
    size_t got = fread(p, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (got != n || rerr) {
        snprintf(err, cap, "read %zu of %zu bytes", got, n);
        free(p);
        return IF_ERR_IO;
    }
    *out = p;
    *size = n;
    return IF_OK;
}

/* ------------------------------------------------------------------------
 * Formatting */

/* A name or string, printable: control bytes and quotes escaped. */
static void put_str(FILE *o, const char *s, uint32_t len) {
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            fprintf(o, "\\x%02x", c);
        else
            fputc(c, o);
    }
}

static void put_name(FILE *o, const ifg_graph *g, uint32_t id) {
    if (id == IFG_NO_TENSOR)
        fputc('-', o);
    else
        put_str(o, g->tensors[id].name, g->tensors[id].name_len);
}

static void put_dim(FILE *o, const ifg_dim *d) {
    if (d->sym == IFG_SYM_ANY) {
        fputc('?', o);
        return;
    }
    if (d->sym == IFG_SYM_ONE) {
        fprintf(o, "%d", d->mul / d->div);
        return;
    }
    if (d->mul != 1) fprintf(o, "%d", d->mul);
    fputc(d->sym == IFG_SYM_H ? 'H' : 'W', o);
    if (d->div != 1) fprintf(o, "/%d", d->div);
}

static void put_shape(FILE *o, const ifg_tensor *t) {
    fputc('(', o);
    for (uint32_t k = 0; k < t->rank; k++) {
        if (k) fputs(", ", o);
        put_dim(o, &t->dims[k]);
    }
    fputc(')', o);
}

static void put_attr(FILE *o, const ifg_attr *a) {
    static const char *const acts[] = {"none", "relu", "gelu", "hardswish"};
    fprintf(o, "%s=", ifg_attr_name(a->key));
    if (a->key == IFG_ATTR_ACT && a->v.i[0] >= 0 && a->v.i[0] <= 3) {
        fputs(acts[a->v.i[0]], o);
        return;
    }
    for (uint32_t k = 0; k < a->count; k++) {
        if (k) fputc(',', o);
        if (a->type == IFG_ATTR_INT)
            fprintf(o, "%lld", (long long)a->v.i[k]);
        else
            fprintf(o, "%.9g", a->v.f[k]);
    }
}

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | p[k];
    return v;
}

static void put_meta(FILE *o, const ifg_meta *m) {
    if (m->type == IFG_META_STRING) {
        fputs("STRING \"", o);
        put_str(o, (const char *)m->payload, m->count);
        fputc('"', o);
        return;
    }
    fputs(m->type == IFG_META_INT ? "INT    [" : "FLOAT  [", o);
    for (uint32_t k = 0; k < m->count; k++) {
        if (k) fputs(", ", o);
        if (k == 16 && m->count > 17) {
            fprintf(o, "... (%u values)", m->count);
            break;
        }
        uint64_t u = le64(m->payload + 8 * (size_t)k);
        if (m->type == IFG_META_INT) {
            fprintf(o, "%lld", (long long)(int64_t)u);
        } else {
            double d;
            memcpy(&d, &u, sizeof d);
            fprintf(o, "%.9g", d);
        }
    }
    fputc(']', o);
}

static int name_width(const ifg_graph *g) {
    uint32_t w = 4;
    for (uint32_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].name_len > w) w = g->tensors[i].name_len;
    return w > 32 ? 32 : (int)w;
}

static void put_tensor(FILE *o, const ifg_graph *g, uint32_t i, int w, const uint8_t *image) {
    const ifg_tensor *t = &g->tensors[i];
    fprintf(o, "  #%-4u ", i);
    put_str(o, t->name, t->name_len);
    for (int pad = w - (int)t->name_len; pad > 0; pad--) fputc(' ', o);
    fprintf(o, "  %-3s %-5s ", ifg_dtype_name(t->dtype),
            t->storage == IFG_CONST ? "const" : "value");
    put_shape(o, t);
    if (t->storage == IFG_CONST)
        fprintf(o, "  offset %llu nbytes %llu",
                (unsigned long long)((const uint8_t *)t->data - image - le64(image + 56)),
                (unsigned long long)t->nbytes);
    fputc('\n', o);
}

/* ------------------------------------------------------------------------
 * Whole-file listing */

static void print_graph(FILE *o, const char *path, const ifg_graph *g, const uint8_t *image) {
    uint64_t data_offset = le64(image + 56);
    uint32_t crc = (uint32_t)(le64(image + 8) >> 32); /* bytes 12..15 */
    fprintf(o, "file         %s\n", path);
    fprintf(o, "version      %u\n", g->version);
    fprintf(o, "kind         %u (%s)\n", g->kind,
            g->kind == IFG_KIND_ENCODER ? "encoder" : "decoder");
    fprintf(o, "flags        0x%x%s\n", g->flags, (g->flags & 1u) ? " (f16 weights)" : "");
    fprintf(o, "file_bytes   %llu\n", (unsigned long long)g->file_bytes);
    fprintf(o, "data_offset  %llu\n", (unsigned long long)data_offset);
    fprintf(o, "crc32        0x%08x\n", crc);
    fprintf(o, "counts       %u meta, %u tensors, %u nodes, %u inputs, %u outputs\n", g->n_meta,
            g->n_tensors, g->n_nodes, g->n_inputs, g->n_outputs);

    fprintf(o, "\nmetadata (%u):\n", g->n_meta);
    uint32_t kw = 8;
    for (uint32_t i = 0; i < g->n_meta; i++)
        if (g->meta[i].key_len > kw) kw = g->meta[i].key_len;
    if (kw > 32) kw = 32;
    for (uint32_t i = 0; i < g->n_meta; i++) {
        const ifg_meta *m = &g->meta[i];
        fputs("  ", o);
        put_str(o, m->key, m->key_len);
        for (int pad = (int)kw - (int)m->key_len; pad > 0; pad--) fputc(' ', o);
        fputs("  ", o);
        put_meta(o, m);
        fputc('\n', o);
    }

    int w = name_width(g);
    fprintf(o, "\ninputs (%u):\n", g->n_inputs);
    for (uint32_t k = 0; k < g->n_inputs; k++) {
        const ifg_tensor *t = &g->tensors[g->inputs[k].tensor];
        fputs("  ", o);
        put_str(o, t->name, t->name_len);
        for (int pad = w - (int)t->name_len; pad > 0; pad--) fputc(' ', o);
        fprintf(o, "  %-3s ", ifg_dtype_name(t->dtype));
        put_shape(o, t);
        if (g->inputs[k].flags & IFG_IN_PER_CLICK) fputs("  per-click", o);
        if (g->inputs[k].flags & IFG_IN_OPTIONAL) fputs("  optional", o);
        fputc('\n', o);
    }
    fprintf(o, "\noutputs (%u):\n", g->n_outputs);
    for (uint32_t k = 0; k < g->n_outputs; k++) {
        const ifg_tensor *t = &g->tensors[g->outputs[k]];
        fputs("  ", o);
        put_str(o, t->name, t->name_len);
        for (int pad = w - (int)t->name_len; pad > 0; pad--) fputc(' ', o);
        fprintf(o, "  %-3s ", ifg_dtype_name(t->dtype));
        put_shape(o, t);
        fputc('\n', o);
    }

    fprintf(o, "\nnodes (%u):\n", g->n_nodes);
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        fprintf(o, "  #%-4u %-17s ", i, ifg_op_name(n->op));
        put_str(o, n->name, n->name_len);
        fputs(": ", o);
        for (uint32_t k = 0; k < n->n_in; k++) {
            if (k) fputs(", ", o);
            put_name(o, g, n->in[k]);
        }
        fputs(" -> ", o);
        for (uint32_t k = 0; k < n->n_out; k++) {
            if (k) fputs(", ", o);
            put_name(o, g, n->out[k]);
        }
        for (uint32_t j = 0; j < n->n_attr; j++) {
            fputs(j ? " " : "  ", o);
            put_attr(o, &n->attrs[j]);
        }
        fputc('\n', o);
    }

    fprintf(o, "\ntensors (%u):\n", g->n_tensors);
    uint64_t params = 0, bytes = 0, by_dtype[4] = {0}, n_const = 0;
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const ifg_tensor *t = &g->tensors[i];
        put_tensor(o, g, i, w, image);
        if (t->storage != IFG_CONST) continue;
        n_const++;
        params += t->nbytes / ifg_dtype_size(t->dtype);
        bytes += t->nbytes;
        by_dtype[t->dtype & 3u] += t->nbytes;
    }
    fprintf(o, "\nparameters   %llu in %llu CONST tensors, %llu bytes (f32 %llu, f16 %llu)\n",
            (unsigned long long)params, (unsigned long long)n_const, (unsigned long long)bytes,
            (unsigned long long)by_dtype[IFG_F32], (unsigned long long)by_dtype[IFG_F16]);
    fprintf(o, "total bytes  %llu (header 64, records %llu, data blob %llu)\n",
            (unsigned long long)g->file_bytes, (unsigned long long)(data_offset - IFG_HEADER_BYTES),
            (unsigned long long)(g->file_bytes - data_offset));
}

static void print_tensor(FILE *o, const ifg_graph *g, uint32_t id, const uint8_t *image) {
    const ifg_tensor *t = &g->tensors[id];
    fprintf(o, "tensor   #%u ", id);
    put_str(o, t->name, t->name_len);
    fprintf(o, "\ndtype    %s\nstorage  %s\nshape    ", ifg_dtype_name(t->dtype),
            t->storage == IFG_CONST ? "const" : "value");
    put_shape(o, t);
    fputc('\n', o);
    if (t->storage == IFG_CONST) {
        uint64_t data_offset = le64(image + 56);
        fprintf(o, "offset   %llu (file offset %llu)\nnbytes   %llu\n",
                (unsigned long long)((const uint8_t *)t->data - image - data_offset),
                (unsigned long long)((const uint8_t *)t->data - image),
                (unsigned long long)t->nbytes);
    }
    for (uint32_t k = 0; k < g->n_inputs; k++)
        if (g->inputs[k].tensor == id) fprintf(o, "role     graph input %u\n", k);
    for (uint32_t k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == id) fprintf(o, "role     graph output %u\n", k);
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ifg_node *n = &g->nodes[i];
        for (uint32_t k = 0; k < n->n_out; k++)
            if (n->out[k] == id) {
                fprintf(o, "producer #%u %s ", i, ifg_op_name(n->op));
                put_str(o, n->name, n->name_len);
                fputc('\n', o);
            }
        for (uint32_t k = 0; k < n->n_in; k++)
            if (n->in[k] == id) {
                fprintf(o, "consumer #%u %s ", i, ifg_op_name(n->op));
                put_str(o, n->name, n->name_len);
                fprintf(o, " (input %u)\n", k);
            }
    }
}

/* One line an op: "CODE NAME in=MIN..MAX const=I,J required=A,B optional=C". */
static int print_ops(void) {
    for (uint32_t op = 1; op < IFG_OP_COUNT_; op++) {
        ifg_op_signature sig;
        if (!ifg_op_signature_of(op, &sig)) {
            printf("%u %s unread\n", op, ifg_op_name(op));
            continue;
        }
        printf("%u %s in=%u..%u const=", op, ifg_op_name(op), sig.min_in, sig.max_in);
        const char *sep = "";
        for (uint32_t i = 0; i < 32; i++)
            if (sig.const_inputs >> i & 1) printf("%s%u", sep, i), sep = ",";
        const uint32_t masks[2] = {sig.required_attrs, sig.optional_attrs};
        for (int m = 0; m < 2; m++) {
            printf(m ? " optional=" : " required=");
            sep = "";
            for (uint32_t k = 1; k < IFG_ATTR_COUNT_; k++)
                if (masks[m] >> k & 1) printf("%s%s", sep, ifg_attr_name(k)), sep = ",";
        }
        printf("\n");
    }
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: %s FILE [--tensor NAME [--raw OUT]] | %s --ops\n", prog, prog);
    return 2;
}

int main(int argc, char **argv) {
    const char *path = NULL, *tensor = NULL, *raw = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tensor") && i + 1 < argc)
            tensor = argv[++i];
        else if (!strcmp(argv[i], "--raw") && i + 1 < argc)
            raw = argv[++i];
        else if (!strcmp(argv[i], "--ops") && argc == 2)
            return print_ops();
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(), 0;
        else if (argv[i][0] == '-' && argv[i][1])
            return usage();
        else if (!path)
            path = argv[i];
        else
            return usage();
    }
    if (!path || (raw && !tensor)) return usage();

    char err[512];
    uint8_t *image = NULL;
    size_t size = 0;
    if_status s = read_file(path, &image, &size, err, sizeof err);
    if (s != IF_OK) return fail(path, s, err);
    ifg_graph g;
    s = ifg_parse(image, size, &g, err, sizeof err);
    if (s != IF_OK) {
        free(image);
        return fail(path, s, err);
    }

    int rc = 0;
    if (!tensor) {
        print_graph(stdout, path, &g, image);
    } else {
        int64_t id = ifg_find_tensor(&g, tensor);
        if (id < 0) {
            snprintf(err, sizeof err, "no tensor named '%s'", tensor);
            rc = fail(path, IF_ERR_INVALID_ARG, err);
        } else if (!raw) {
            print_tensor(stdout, &g, (uint32_t)id, image);
        } else if (g.tensors[id].storage != IFG_CONST) {
            snprintf(err, sizeof err, "tensor '%s' is a VALUE: it has no stored data", tensor);
            rc = fail(path, IF_ERR_INVALID_ARG, err);
        } else {
            const ifg_tensor *t = &g.tensors[id];
            FILE *f = fopen(raw, "wb");
            int ok = f && fwrite(t->data, 1, (size_t)t->nbytes, f) == (size_t)t->nbytes;
            if (f && fclose(f) != 0) ok = 0;
            if (!ok) {
                snprintf(err, sizeof err, "cannot write %s: %s", raw, strerror(errno));
                rc = fail(path, IF_ERR_IO, err);
            }
        }
    }
    if (!rc && (fflush(stdout) != 0 || ferror(stdout)))
        rc = fail(path, IF_ERR_IO, "cannot write to stdout");
    ifg_free(&g);
    free(image);
    return rc;
}
