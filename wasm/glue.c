/* glue.c -- what the WebAssembly module adds to the library for its
 * JavaScript wrapper (wasm/interformer.mjs): the calls whose C signature
 * JavaScript cannot make directly (a struct passed by value, a callback)
 * and a feature file written to memory. Everything else the wrapper calls
 * is the public API itself (interformer.h). Not part of libinterformer:
 * compiled only into the module by `make wasm`. */
#include <emscripten.h>
#include <stdio.h>
#include <stdlib.h>

#include "interformer.h"

/* if_session_add_click and if_session_preview take an if_click by value. */
EMSCRIPTEN_KEEPALIVE if_status ifw_session_add_click(if_session *s, int x, int y, int positive) {
    const if_click c = {x, y, positive};
    return if_session_add_click(s, c);
}

/* The i-th click as x, y, positive into out[3]. */
EMSCRIPTEN_KEEPALIVE if_status ifw_session_get_click(const if_session *s, int i, int *out) {
    if_click c;
    const if_status st = if_session_get_click(s, i, &c);
    if (st == IF_OK) {
        out[0] = c.x;
        out[1] = c.y;
        out[2] = c.positive;
    }
    return st;
}

/* The model options as arguments: isa may be NULL (the best), max_clicks
 * 0 (the default). One thread: the module is built without pthreads. */
EMSCRIPTEN_KEEPALIVE if_status ifw_model_load(const void *buf, size_t size, const char *isa,
                                              int max_clicks, if_model **out) {
    if_options o = if_default_options();
    o.isa = isa;
    if (max_clicks > 0) o.max_clicks = max_clicks;
    return if_model_load_buffer(buf, size, 1, &o, out);
}

/* The encoder's progress goes to Module.onEncodeProgress(fraction) when the
 * wrapper has set it; a true return cancels. */
EM_JS(int, ifw_js_progress, (double fraction),
      { return Module["onEncodeProgress"] ? (Module["onEncodeProgress"](fraction) ? 1 : 0) : 0; });
static int progress(void *user, double fraction) {
    (void)user;
    return ifw_js_progress(fraction);
}

/* if_encode with max_side and the progress callback above. */
EMSCRIPTEN_KEEPALIVE if_status ifw_encode(const if_model *enc, const uint8_t *rgb, int width,
                                          int height, int max_side, if_features **out) {
    if_encode_options eo = if_default_encode_options();
    eo.max_side = max_side;
    eo.progress = progress;
    return if_encode(enc, rgb, width, height, (size_t)width * 3, &eo, out);
}

/* A feature file in memory: if_features_save to the module's in-memory
 * file system, read back into a malloc'ed block (*data, *size; the caller
 * frees it with free). */
EMSCRIPTEN_KEEPALIVE if_status ifw_features_save(const if_features *f, int f16, uint8_t **data,
                                                 size_t *size) {
    static const char path[] = "/tmp/ifw-features.iff";
    *data = NULL;
    *size = 0;
    if_status st = if_features_save(f, path, f16 ? IF_DTYPE_F16 : IF_DTYPE_F32);
    if (st != IF_OK) return st;
    FILE *fp = fopen(path, "rb");
    if (!fp) return IF_ERR_IO;
    st = IF_ERR_IO;
    if (fseek(fp, 0, SEEK_END) == 0) {
        const long n = ftell(fp);
        if (n > 0 && fseek(fp, 0, SEEK_SET) == 0) {
            uint8_t *p = malloc((size_t)n);
            if (!p)
                st = IF_ERR_NO_MEMORY;
            else if (fread(p, 1, (size_t)n, fp) == (size_t)n) {
                *data = p;
                *size = (size_t)n;
                st = IF_OK;
            } else
                free(p);
        }
    }
    fclose(fp);
    remove(path);
    return st;
}
