// interformer.mjs -- InterFormer-C in JavaScript: a thin ES module over the
// library compiled to WebAssembly by `make wasm` (README "In the browser").
// Works in browsers and in Node (18+). It sits beside the two builds of the
// module, interformer-simd.mjs/.wasm (SIMD128 kernels) and
// interformer-scalar.mjs/.wasm (the scalar kernels, for engines without
// SIMD128), and loads the one the engine can run.
//
//   import { loadInterFormer } from './interformer.mjs';
//   const IF = await loadInterFormer();                 // { simd: false } forces scalar
//   const dec = IF.loadModel(await (await fetch('models/demo.decoder.ifg')).arrayBuffer());
//   const feat = IF.loadFeatures(iffArrayBuffer);        // or IF.encode(enc, rgb, w, h)
//   const s = IF.newSession(dec, feat);
//   s.click(120, 80, true);                              // positive; false: negative
//   const mask = s.mask();                               // Uint8Array w*h, 1 = object
//   s.undo(); s.redo();
//   s.free(); feat.free(); dec.free();
//
// Every object the wrapper returns owns C memory: free() it (models last).
// Failures throw an InterFormerError carrying the status name
// (if_status_str) and the library's detail (if_last_error or the object's).
// Everything runs on the calling thread: one click is a few tens of ms, an
// encode seconds (run it in a worker to keep a page responsive).

// The smallest module using a SIMD128 instruction (v128.const, i8x16.popcnt
// style feature test of wasm-feature-detect): valid only where SIMD128 is.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

export function hasSimd() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

export class InterFormerError extends Error {
  constructor(what, status, statusName, detail) {
    super(`${what}: ${statusName}${detail ? ': ' + detail : ''}`);
    this.name = 'InterFormerError';
    this.status = status;
    this.statusName = statusName;
    this.detail = detail;
  }
}

const isNode = typeof process === 'object' && !!process.versions && !!process.versions.node;

// Loads the module. options.simd: true, false or undefined (= what the
// engine has); options.baseUrl: where the module files are (default: beside
// this file).
export async function loadInterFormer(options = {}) {
  const simd = options.simd === undefined ? hasSimd() : !!options.simd;
  const base = options.baseUrl ? new URL(options.baseUrl, import.meta.url) : new URL('./', import.meta.url);
  const name = simd ? 'interformer-simd' : 'interformer-scalar';
  const { default: create } = await import(new URL(`${name}.mjs`, base).href);
  const init = {};
  if (isNode) {
    // Emscripten 3.1.6 fetches the .wasm with fetch() whenever it exists,
    // which Node's does not do for file paths: hand it the bytes instead.
    const fs = await import('node:fs');
    init.wasmBinary = fs.readFileSync(new URL(`${name}.wasm`, base));
    // Its Node branch also uses CommonJS's require and __dirname, which an
    // ES module does not have: give them as globals when they are missing.
    const { createRequire } = await import('node:module');
    const { fileURLToPath } = await import('node:url');
    if (typeof globalThis.require !== 'function') globalThis.require = createRequire(import.meta.url);
    if (typeof globalThis.__dirname !== 'string') globalThis.__dirname = fileURLToPath(base);
  } else {
    init.locateFile = (path) => new URL(path, base).href;
  }
  const M = await create(init);
  return new InterFormer(M, simd);
}

// Copies bytes (ArrayBuffer or a typed array) into C memory; free() it.
function copyIn(M, data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const p = M._malloc(bytes.length || 1);
  if (!p) throw new InterFormerError('copying input', 2, 'IF_ERR_NO_MEMORY', `${bytes.length} bytes`);
  M.HEAPU8.set(bytes, p);
  return p;
}

class InterFormer {
  constructor(M, simd) {
    this.M = M;
    this.simd = simd;
  }

  // Throws when st is not IF_OK (0); detail: the object's error text, else
  // if_last_error().
  check(st, what, detail) {
    if (st === 0) return;
    const M = this.M;
    const d = detail || M.UTF8ToString(M._if_last_error());
    throw new InterFormerError(what, st, M.UTF8ToString(M._if_status_str(st)), d);
  }

  // Runs fn(ptr) with `bytes` bytes of scratch C memory, then frees it.
  withScratch(bytes, fn) {
    const p = this.M._malloc(bytes);
    try {
      return fn(p);
    } finally {
      this.M._free(p);
    }
  }

  withString(s, fn) {
    const M = this.M;
    if (s == null) return fn(0);
    const n = M.lengthBytesUTF8(s) + 1;
    return this.withScratch(n, (p) => {
      M.stringToUTF8(s, p, n);
      return fn(p);
    });
  }

  // A graph file (.ifg) from its bytes. options.isa: "wasm", "generic" or
  // "scalar" (default: the best this module has); options.maxClicks: undo
  // history of its sessions (default 64).
  loadModel(data, options = {}) {
    const M = this.M;
    const buf = copyIn(M, data);
    try {
      return this.withString(options.isa, (isa) =>
        this.withScratch(4, (out) => {
          this.check(M._ifw_model_load(buf, data.byteLength, isa, options.maxClicks | 0, out), 'loading model');
          return new Model(this, M.HEAPU32[out >> 2]);
        }),
      );
    } finally {
      M._free(buf);
    }
  }

  // A feature file (.iff, `interformer encode`) from its bytes.
  loadFeatures(data) {
    const M = this.M;
    const buf = copyIn(M, data);
    try {
      return this.withScratch(4, (out) => {
        this.check(M._if_features_load_buffer(buf, data.byteLength, out), 'loading features');
        return new Features(this, M.HEAPU32[out >> 2]);
      });
    } finally {
      M._free(buf);
    }
  }

  // Runs the encoder on RGB8 pixels (width*height*3 bytes; for RGBA, e.g.
  // ImageData.data, see rgbaToRgb). options.maxSide: working resolution (0 =
  // native; `interformer encode` uses 1024); options.onProgress(fraction):
  // called as it goes (return true to cancel).
  encode(encoder, rgb, width, height, options = {}) {
    const M = this.M;
    const buf = copyIn(M, rgb);
    M.onEncodeProgress = options.onProgress || null;
    try {
      return this.withScratch(4, (out) => {
        this.check(M._ifw_encode(encoder.ptr, buf, width, height, options.maxSide | 0, out), 'encoding');
        return new Features(this, M.HEAPU32[out >> 2]);
      });
    } finally {
      M.onEncodeProgress = null;
      M._free(buf);
    }
  }

  // A session: one object's clicks on one image (decoder and features must
  // outlive it).
  newSession(decoder, features) {
    const M = this.M;
    this.check(M._if_features_check(decoder.ptr, features.ptr), 'features and decoder');
    return this.withScratch(4, (out) => {
      this.check(M._if_session_new(decoder.ptr, features.ptr, out), 'creating session');
      return new Session(this, M.HEAPU32[out >> 2], features.info, true);
    });
  }

  // An annotation: several objects on one image, one decoder run.
  newAnnotation(decoder, features) {
    const M = this.M;
    this.check(M._if_features_check(decoder.ptr, features.ptr), 'features and decoder');
    return this.withScratch(4, (out) => {
      this.check(M._if_annotation_new(decoder.ptr, features.ptr, out), 'creating annotation');
      return new Annotation(this, M.HEAPU32[out >> 2], features.info);
    });
  }

  // COCO RLE of a mask (width*height bytes, nonzero = object): {size:
  // [height, width], counts: the compressed string}.
  cocoRle(mask, width, height) {
    const M = this.M;
    const mp = copyIn(M, mask);
    try {
      return this.withScratch(8, (np) => {
        this.check(M._if_mask_rle(mp, width, height, width, 0, 0, np), 'RLE size');
        const n = M.HEAPU32[np >> 2];
        return this.withScratch(4 * n + 4, (counts) => {
          this.check(M._if_mask_rle(mp, width, height, width, counts, n, np), 'RLE');
          this.check(M._if_rle_encode_string(counts, n, 0, 0, np), 'RLE string size');
          const len = M.HEAPU32[np >> 2];
          return this.withScratch(len + 1, (s) => {
            this.check(M._if_rle_encode_string(counts, n, s, len + 1, np), 'RLE string');
            return { size: [height, width], counts: M.UTF8ToString(s, len) };
          });
        });
      });
    } finally {
      M._free(mp);
    }
  }

  // COCO's bbox [x, y, w, h] and area of a mask.
  maskBox(mask, width, height) {
    const M = this.M;
    const mp = copyIn(M, mask);
    try {
      return this.withScratch(24, (p) => {
        this.check(M._if_mask_bbox(mp, width, height, width, p, p + 16), 'bbox');
        const box = Array.from(M.HEAP32.subarray(p >> 2, (p >> 2) + 4));
        const area = M.HEAPU32[(p + 16) >> 2] + M.HEAPU32[(p + 20) >> 2] * 4294967296;
        return { bbox: box, area };
      });
    } finally {
      M._free(mp);
    }
  }

  // A COCO JSON document (one image, category 1 "object") for masks:
  // [{mask, id?}], as `interformer segment ... -o OUT.json` writes one.
  cocoJson(fileName, width, height, masks) {
    const annotations = masks.map((m, i) => {
      const { bbox, area } = this.maskBox(m.mask, width, height);
      return {
        id: m.id || i + 1,
        image_id: 1,
        category_id: 1,
        segmentation: this.cocoRle(m.mask, width, height),
        area,
        bbox,
        iscrowd: 0,
      };
    });
    return {
      images: [{ id: 1, file_name: fileName, width, height }],
      categories: [{ id: 1, name: 'object' }],
      annotations,
    };
  }
}

// RGBA (canvas ImageData) to RGB8.
export function rgbaToRgb(rgba, width, height) {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    rgb[3 * i] = rgba[j];
    rgb[3 * i + 1] = rgba[j + 1];
    rgb[3 * i + 2] = rgba[j + 2];
  }
  return rgb;
}

class Model {
  constructor(IF, ptr) {
    this.IF = IF;
    this.ptr = ptr;
  }
  free() {
    if (this.ptr) this.IF.M._if_model_free(this.ptr);
    this.ptr = 0;
  }
}

class Features {
  constructor(IF, ptr) {
    this.IF = IF;
    this.ptr = ptr;
    const M = IF.M;
    // if_features_info: 7 ints, channels[4], strides[4], identity[72].
    this.info = IF.withScratch(4 * 15 + 72, (p) => {
      IF.check(M._if_features_get_info(ptr, p), 'features info');
      const i = M.HEAP32.subarray(p >> 2, (p >> 2) + 15);
      return {
        width: i[0],
        height: i[1],
        workWidth: i[2],
        workHeight: i[3],
        paddedWidth: i[4],
        paddedHeight: i[5],
        identity: M.UTF8ToString(p + 60, 72),
      };
    });
  }
  get width() {
    return this.info.width;
  }
  get height() {
    return this.info.height;
  }
  // The feature file's bytes (f16: half the size, rounded).
  save(options = {}) {
    const IF = this.IF,
      M = IF.M;
    return IF.withScratch(8, (p) => {
      IF.check(M._ifw_features_save(this.ptr, options.f16 ? 1 : 0, p, p + 4), 'saving features');
      const data = M.HEAPU32[p >> 2],
        size = M.HEAPU32[(p + 4) >> 2];
      const out = M.HEAPU8.slice(data, data + size);
      M._free(data);
      return out;
    });
  }
  free() {
    if (this.ptr) this.IF.M._if_features_free(this.ptr);
    this.ptr = 0;
  }
}

class Session {
  constructor(IF, ptr, info, owned) {
    this.IF = IF;
    this.ptr = ptr;
    this.width = info.width;
    this.height = info.height;
    this.owned = owned;
    this.lastClickMs = 0;
  }
  check(st, what) {
    const M = this.IF.M;
    if (st !== 0) this.IF.check(st, what, M.UTF8ToString(M._if_session_error(this.ptr)));
  }
  // Adds a click (pixel of the original image) and predicts; returns the
  // milliseconds it took.
  click(x, y, positive) {
    const t0 = performance.now();
    this.check(this.IF.M._ifw_session_add_click(this.ptr, x | 0, y | 0, positive ? 1 : 0), `click ${x},${y}`);
    this.lastClickMs = performance.now() - t0;
    return this.lastClickMs;
  }
  undo() {
    this.check(this.IF.M._if_session_undo(this.ptr), 'undo');
  }
  redo() {
    this.check(this.IF.M._if_session_redo(this.ptr), 'redo');
  }
  reset() {
    this.check(this.IF.M._if_session_reset(this.ptr), 'reset');
  }
  get clickCount() {
    return this.IF.M._if_session_click_count(this.ptr);
  }
  get redoCount() {
    return this.IF.M._if_session_redo_count(this.ptr);
  }
  // The clicks as [{x, y, positive}].
  clicks() {
    const IF = this.IF,
      M = IF.M;
    return IF.withScratch(12, (p) => {
      const out = [];
      for (let i = 0; i < this.clickCount; i++) {
        this.check(M._ifw_session_get_click(this.ptr, i, p), 'get click');
        const c = M.HEAP32.subarray(p >> 2, (p >> 2) + 3);
        out.push({ x: c[0], y: c[1], positive: !!c[2] });
      }
      return out;
    });
  }
  // A copy of the mask: width*height bytes, 1 = object.
  mask() {
    const M = this.IF.M;
    const p = M._if_session_mask(this.ptr);
    return M.HEAPU8.slice(p, p + this.width * this.height);
  }
  free() {
    if (this.ptr && this.owned) this.IF.M._if_session_free(this.ptr);
    this.ptr = 0;
  }
}

class Annotation {
  constructor(IF, ptr, info) {
    this.IF = IF;
    this.ptr = ptr;
    this.info = info;
    this.sessions = new Map();
  }
  check(st, what) {
    const M = this.IF.M;
    if (st !== 0) this.IF.check(st, what, M.UTF8ToString(M._if_annotation_error(this.ptr)));
  }
  // A new open object: its id.
  addObject() {
    const IF = this.IF;
    return IF.withScratch(4, (p) => {
      this.check(IF.M._if_annotation_add_object(this.ptr, p), 'new object');
      return IF.M.HEAP32[p >> 2];
    });
  }
  // The object's session (owned by the annotation: no free()).
  object(id) {
    if (!this.sessions.has(id)) {
      const p = this.IF.M._if_annotation_object(this.ptr, id);
      if (!p) throw new InterFormerError('object', 1, 'IF_ERR_INVALID_ARG', `no object ${id}`);
      this.sessions.set(id, new Session(this.IF, p, this.info, false));
    }
    return this.sessions.get(id);
  }
  finish(id) {
    this.check(this.IF.M._if_annotation_finish(this.ptr, id), 'finish object');
  }
  reopen(id) {
    this.check(this.IF.M._if_annotation_reopen(this.ptr, id), 'reopen object');
  }
  delete(id) {
    this.check(this.IF.M._if_annotation_delete(this.ptr, id), 'delete object');
    this.sessions.delete(id);
  }
  // The ids of the objects, oldest first.
  ids() {
    const M = this.IF.M;
    const n = M._if_annotation_count(this.ptr);
    const out = [];
    for (let i = 0; i < n; i++) out.push(M._if_annotation_id(this.ptr, i));
    return out;
  }
  isFinished(id) {
    return !!this.IF.M._if_annotation_is_finished(this.ptr, id);
  }
  // width*height object ids (0 = background).
  instanceMap() {
    const IF = this.IF,
      M = IF.M;
    const n = this.info.width * this.info.height;
    return IF.withScratch(2 * n, (p) => {
      this.check(M._if_annotation_instance_map(this.ptr, p, this.info.width), 'instance map');
      return M.HEAPU16.slice(p >> 1, (p >> 1) + n);
    });
  }
  free() {
    if (this.ptr) this.IF.M._if_annotation_free(this.ptr);
    this.ptr = 0;
    this.sessions.clear();
  }
}
