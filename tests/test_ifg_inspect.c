/* test_ifg_inspect.c -- runs tools/if-inspect (built next to this test:
 * $(BUILD)/if-inspect) on the IFG fixtures: the listing, --tensor, the
 * --raw round trip of every CONST tensor, and the one-line error format.
 *
 * Last line of output: "N passed, M failed"; exit status 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "format/ifg.h"

static char tool[1024], fixtures[512], tmpdir[256];

/* Runs `tool ARGS 2>&1`; returns the exit status, output in out. */
static int run(const char *args, char *out, size_t cap) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", tool, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int read_all(const char *path, uint8_t **p, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    static uint8_t tmp[1 << 16];
    *n = fread(tmp, 1, sizeof tmp, f);
    fclose(f);
    *p = malloc(*n ? *n : 1);
    if (!*p) return 0;
    memcpy(*p, tmp, *n);
    return 1;
}

static int write_all(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static int one_line(const char *s) {
    const char *nl = strchr(s, '\n');
    return nl && nl[1] == '\0';
}

static void test_listing(void) {
    static char out[1 << 16];
    char args[2048];
    snprintf(args, sizeof args, "'%s/small.ifg'", fixtures);
    CHECK(run(args, out, sizeof out) == 0, "listing small.ifg exits 0: %s", out);
    static const char *const want[] = {
        "version      1\n",
        "kind         2 (decoder)\n",
        "flags        0x1 (f16 weights)\n",
        "file_bytes   3264\n",
        "counts       6 meta, 21 tensors, 9 nodes, 3 inputs, 1 outputs\n",
        "STRING \"interformer\"",
        "FLOAT  [123.675, 116.28, 103.53]",
        "INT    [-7, 1099511627776]",
        "STRING \"h\xc3\xa9llo \xe2\x9c\x93\"",
        "(H/4, W/4, 4)",
        "per-click  optional",
        "CONV2D            dec.conv: feat, conv.w, conv.b -> c0  KERNEL=3,3 STRIDE=1,1 PAD=1,1,1,1",
        " GROUPS=1 ACT=relu\n",
        "dec.kv: ptok, kv.w, - -> kv\n",
        "POOL_LIMIT=7,7",
        "EPS=1e-06",
        "conv.w  f16 const (4, 3, 3, 4)  offset 0 nbytes 288\n",
        "c1      f32 value (?, ?, ?)\n",
        "parameters   232 in 9 CONST tensors, 568 bytes (f32 208, f16 360)\n",
        "total bytes  3264",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(strstr(out, want[i]) != NULL, "listing lacks \"%s\"", want[i]);
    snprintf(args, sizeof args, "'%s/all_ops.ifg'", fixtures);
    CHECK(run(args, out, sizeof out) == 0, "listing all_ops.ifg exits 0");
    CHECK(strstr(out, "(2H, 2W, 4)") && strstr(out, "(H/2, W/2, 32)") &&
              strstr(out, "ACT=hardswish") && strstr(out, "VIT_ATTENTION"),
          "all_ops listing");
    snprintf(args, sizeof args, "'%s/small.ifg' --tensor conv.w", fixtures);
    CHECK(run(args, out, sizeof out) == 0 && strstr(out, "nbytes   288\n") &&
              strstr(out, "offset   0 (file offset 2368)\n") &&
              strstr(out, "consumer #0 CONV2D dec.conv (input 1)\n"),
          "--tensor conv.w: %s", out);
    snprintf(args, sizeof args, "'%s/small.ifg' --tensor logits", fixtures);
    CHECK(run(args, out, sizeof out) == 0 && strstr(out, "role     graph output 0\n") &&
              strstr(out, "producer #8 LINEAR dec.head\n"),
          "--tensor logits: %s", out);
}

static void test_raw(const char *name) {
    char path[1200], args[4096], rawp[512];
    static char out[4096];
    uint8_t *img = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    if (!read_all(path, &img, &n)) {
        CHECK(0, "cannot read %s", path);
        return;
    }
    ifg_graph g;
    if (ifg_parse(img, n, &g, NULL, 0) != IF_OK) {
        CHECK(0, "%s does not parse", path);
        free(img);
        return;
    }
    snprintf(rawp, sizeof rawp, "%s/raw.bin", tmpdir);
    int bad = 0, count = 0;
    for (uint32_t i = 0; i < g.n_tensors; i++) {
        const ifg_tensor *t = &g.tensors[i];
        if (t->storage != IFG_CONST) continue;
        count++;
        snprintf(args, sizeof args, "'%s' --tensor '%.*s' --raw '%s'", path, (int)t->name_len,
                 t->name, rawp);
        uint8_t *got = NULL;
        size_t gn = 0;
        remove(rawp);
        if (run(args, out, sizeof out) != 0 || out[0] || !read_all(rawp, &got, &gn) ||
            gn != t->nbytes || memcmp(got, t->data, gn) != 0) {
            if (bad++ < 3) printf("FAIL --raw %s %.*s: %s\n", name, (int)t->name_len, t->name, out);
        }
        free(got);
    }
    CHECK(bad == 0 && count > 0, "%s: %d of %d --raw round trips differ", name, bad, count);
    remove(rawp);
    ifg_free(&g);
    free(img);
}

static void test_errors(void) {
    static char out[4096];
    char args[4096], path[1024], want[2048];
    uint8_t *img = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/small.ifg", fixtures);
    if (!read_all(path, &img, &n)) {
        CHECK(0, "cannot read %s", path);
        return;
    }
    /* corrupted: one flipped byte */
    snprintf(path, sizeof path, "%s/bad.ifg", tmpdir);
    img[100] ^= 0x40;
    write_all(path, img, n);
    snprintf(args, sizeof args, "'%s'", path);
    snprintf(want, sizeof want, "if-inspect: %s: checksum mismatch: ", path);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "corrupt file: %s", out);
    img[100] ^= 0x40;
    /* truncated */
    write_all(path, img, n - 10);
    snprintf(want, sizeof want, "if-inspect: %s: file truncated: ", path);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "truncated file: %s", out);
    /* empty */
    write_all(path, img, 0);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "empty file: %s", out);
    /* not an IFG file */
    write_all(path, (const uint8_t *)"hello world, this is not a graph\n", 33);
    snprintf(want, sizeof want, "if-inspect: %s: bad magic", path);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "text file: %s", out);
    /* missing */
    snprintf(path, sizeof path, "%s/missing.ifg", tmpdir);
    snprintf(args, sizeof args, "'%s'", path);
    snprintf(want, sizeof want, "if-inspect: %s: i/o error: ", path);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "missing: %s", out);
    /* bad --tensor uses */
    snprintf(path, sizeof path, "%s/small.ifg", fixtures);
    snprintf(args, sizeof args, "'%s' --tensor nosuch", path);
    snprintf(want, sizeof want, "if-inspect: %s: invalid argument: ", path);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "nosuch: %s", out);
    snprintf(args, sizeof args, "'%s' --tensor c1 --raw '%s/x.bin'", path, tmpdir);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "--raw VALUE: %s", out);
    snprintf(args, sizeof args, "'%s' --tensor conv.w --raw '%s/no/such/dir/x.bin'", path, tmpdir);
    snprintf(want, sizeof want, "if-inspect: %s: i/o error: ", path);
    CHECK(run(args, out, sizeof out) == 1 && !strncmp(out, want, strlen(want)) && one_line(out),
          "--raw unwritable: %s", out);
    CHECK(run("", out, sizeof out) == 2 && strstr(out, "usage"), "no arguments: usage, exit 2");
    snprintf(args, sizeof args, "'%s' --raw x", path);
    CHECK(run(args, out, sizeof out) == 2, "--raw without --tensor: usage");
    snprintf(path, sizeof path, "%s/bad.ifg", tmpdir);
    remove(path);
    free(img);
}

int main(int argc, char **argv) {
    (void)argc;
    const char *slash = strrchr(argv[0], '/');
    snprintf(tool, sizeof tool, "%.*sif-inspect", slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    const char *dir = getenv("IFG_FIXTURES");
    if (dir) {
        snprintf(fixtures, sizeof fixtures, "%s", dir);
    } else {
        const char *src = __FILE__, *s = strrchr(src, '/');
        snprintf(fixtures, sizeof fixtures, "%.*sifg_fixtures", s ? (int)(s - src + 1) : 0, src);
    }
    if (access(tool, X_OK) != 0) {
        printf("FAIL: %s is not built (make tools)\n0 passed, 1 failed\n", tool);
        return 1;
    }
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ifg_inspect_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL: cannot create a temporary directory\n0 passed, 1 failed\n");
        return 1;
    }
    test_listing();
    test_raw("small.ifg");
    test_raw("all_ops.ifg");
    test_errors();
    rmdir(tmpdir);
    return CHECK_SUMMARY();
}
