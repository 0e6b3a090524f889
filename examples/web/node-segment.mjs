#!/usr/bin/env node
// node-segment.mjs -- `interformer segment FEATURES` on the WebAssembly
// module, from Node (tests and scripts; README "In the browser"):
//
//   node examples/web/node-segment.mjs MODEL_PREFIX FEATURES.iff \
//        --click X,Y,+ [--click X,Y,- ...] -o MASK.pgm [--scalar] [--isa NAME]
//
// MODEL_PREFIX.decoder.ifg is the decoder (models/demo for the bundled
// model); FEATURES.iff comes from `interformer encode` (or the page's
// export). Clicks are pixels of the original image (column, row), + for
// the object, - for not, in order, as the CLI takes them; the mask is
// written at the image's size as a binary PGM, 0 or 255 per pixel (the
// CLI's mask values), or as a gray PNG when the name ends in .png (as the
// CLI writes it: the same pixels, not the same bytes). --scalar runs the module built without SIMD128;
// --isa forces a kernel table of the module ("wasm", "generic", "scalar").
// Per-click times go to stderr. Exit status: 0 done, 1 runtime or input
// error, 2 usage error (as the CLI's).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  process.stderr.write(
    `node-segment: ${msg}\nusage: node-segment.mjs MODEL_PREFIX FEATURES.iff --click X,Y,+|- ... -o MASK.pgm [--scalar] [--isa NAME]\n`,
  );
  process.exit(2);
}

// The wrapper beside this file (build-wasm/web/, where `make wasm` copies
// it), else the build's when run from the source tree; $IF_WASM_DIR first.
function wasmDir() {
  const dirs = [process.env.IF_WASM_DIR, here, path.join(here, '..', '..', 'build-wasm', 'web')];
  for (const d of dirs)
    if (d && fs.existsSync(path.join(d, 'interformer.mjs')) && fs.existsSync(path.join(d, 'interformer-simd.wasm')))
      return d;
  process.stderr.write('node-segment: the WebAssembly module is not built: run make wasm (or set IF_WASM_DIR)\n');
  process.exit(1);
}

const args = process.argv.slice(2);
const pos = [];
const clicks = [];
let out = null,
  simd,
  isa;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--click' || a === '-c') {
    const v = args[++i];
    const m = v && /^\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*([+-])\s*$/.exec(v);
    if (!m) usage(`bad click '${v}': expected X,Y,+ or X,Y,- (column, row, sign)`);
    clicks.push({ x: +m[1], y: +m[2], positive: m[3] === '+', text: v });
  } else if (a.startsWith('--click=')) {
    args.splice(i + 1, 0, a.slice(8));
    args[i] = '--click';
    i--;
  } else if (a === '-o' || a === '--output') {
    out = args[++i];
  } else if (a === '--scalar') {
    simd = false;
  } else if (a === '--isa') {
    isa = args[++i];
  } else if (a === '-h' || a === '--help') {
    usage('help');
  } else if (a.startsWith('-') && a !== '-') {
    usage(`unknown option '${a}'`);
  } else pos.push(a);
}
if (pos.length !== 2) usage('expected MODEL_PREFIX and FEATURES.iff');
if (!out) usage('no output file given (-o MASK.pgm)');
if (!clicks.length) usage('no clicks given (--click X,Y,+)');

const dir = wasmDir();
const { loadInterFormer } = await import(pathToFileURL(path.join(dir, 'interformer.mjs')).href);
let [prefix, iffPath] = pos;
const decPath = prefix.endsWith('.ifg') ? prefix : `${prefix}.decoder.ifg`;

// A binary PGM (P5) of 8-bit gray pixels.
function grayPgm(w, h, px) {
  return Buffer.concat([Buffer.from(`P5\n${w} ${h}\n255\n`, 'ascii'), px]);
}

// An 8-bit gray PNG (filter 0 on every row, zlib from Node).
function grayPng(w, h, px) {
  const crcTable = new Int32Array(256).map((_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  });
  const crc = (buf) => {
    let c = -1;
    for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8);
    return (c ^ -1) >>> 0;
  };
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (gray), no interlace
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) px.copy(raw, y * (w + 1) + 1, y * w, (y + 1) * w);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function readOrDie(p) {
  try {
    return fs.readFileSync(p);
  } catch (e) {
    process.stderr.write(`node-segment: ${p}: ${e.message}\n`);
    process.exit(1);
  }
}

try {
  const IF = await loadInterFormer({ simd, baseUrl: pathToFileURL(dir + path.sep).href });
  // As the CLI: a history long enough for every click.
  const dec = IF.loadModel(readOrDie(decPath), { isa, maxClicks: Math.max(64, clicks.length) });
  const feat = IF.loadFeatures(readOrDie(iffPath));
  const { width: W, height: H } = feat.info;
  for (const c of clicks)
    if (c.x < 0 || c.y < 0 || c.x >= W || c.y >= H) {
      process.stderr.write(
        `node-segment: click: ${c.text} is outside the ${W}x${H} image (x 0..${W - 1}, y 0..${H - 1})\n`,
      );
      process.exit(1);
    }
  const s = IF.newSession(dec, feat);
  const times = clicks.map((c) => s.click(c.x, c.y, c.positive));
  const mask = s.mask();
  const body = Buffer.alloc(W * H);
  let fg = 0;
  for (let i = 0; i < W * H; i++) {
    body[i] = mask[i] ? 255 : 0;
    fg += mask[i] ? 1 : 0;
  }
  fs.writeFileSync(out, /\.png$/i.test(out) ? grayPng(W, H, body) : grayPgm(W, H, body));
  const ms = times.map((t) => t.toFixed(1)).join(' ');
  process.stderr.write(
    `node-segment: ${W}x${H}, ${clicks.length} clicks (${IF.simd ? 'SIMD128' : 'scalar'} module): ${fg} object pixels; ms per click: ${ms}\n`,
  );
  s.free();
  feat.free();
  dec.free();
} catch (e) {
  process.stderr.write(`node-segment: ${e.message}\n`);
  process.exit(1);
}
