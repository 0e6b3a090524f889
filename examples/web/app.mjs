// app.mjs -- the annotation page (index.html): open an image (with the
// .iff that `interformer encode` made for it, or encode it here with the
// bundled demo model), left click = object, right click = not the object,
// undo/redo, next object, the masks over the image, PNG and COCO JSON out.
// All of the model runs in this tab, on the WebAssembly module
// (interformer.mjs); ?scalar=1 forces the module without SIMD128.
import { loadInterFormer, rgbaToRgb } from './interformer.mjs';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const MAX_SIDE = 1024; // the CLI's working resolution (interformer encode)
const COLOURS = [
  [0, 200, 255],
  [255, 99, 71],
  [50, 205, 50],
  [255, 215, 0],
  [186, 85, 211],
  [0, 206, 209],
];

const app = {
  IF: null,
  dec: null,
  feat: null,
  iff: null, // the feature file's bytes (loaded or made here)
  ann: null,
  id: 0, // the object being clicked
  name: 'image',
  rgba: null, // the image's pixels (ImageData)
  lastClickMs: 0,
  clickTimes: [],
  busy: false,
};
window.ifApp = app;

function message(text) {
  $('message').textContent = text;
}

function setBusy(b) {
  app.busy = b;
  updateButtons();
}

function updateButtons() {
  const s = app.ann && app.id ? app.ann.object(app.id) : null;
  $('undo').disabled = app.busy || !s || s.clickCount === 0;
  $('redo').disabled = app.busy || !s || s.redoCount === 0;
  $('next').disabled = app.busy || !s || s.clickCount === 0;
  const any = !!app.ann && app.ann.ids().some((id) => app.ann.object(id).clickCount > 0);
  $('png').disabled = $('coco').disabled = app.busy || !any;
  $('iff').disabled = app.busy || !app.iff;
}

// The objects' masks and their clicks over the image.
function redraw() {
  const cv = $('canvas'),
    g = cv.getContext('2d');
  if (!app.rgba) return;
  const { width: W, height: H } = app.rgba;
  const img = new ImageData(new Uint8ClampedArray(app.rgba.data), W, H);
  if (app.ann) {
    const ids = app.ann.ids();
    const map = app.ann.instanceMap();
    const d = img.data;
    for (let p = 0; p < W * H; p++) {
      const id = map[p];
      if (!id) continue;
      const c = COLOURS[(ids.indexOf(id) >= 0 ? ids.indexOf(id) : id) % COLOURS.length];
      const a = id === app.id ? 0.55 : 0.4;
      d[4 * p] = d[4 * p] * (1 - a) + c[0] * a;
      d[4 * p + 1] = d[4 * p + 1] * (1 - a) + c[1] * a;
      d[4 * p + 2] = d[4 * p + 2] * (1 - a) + c[2] * a;
    }
  }
  g.putImageData(img, 0, 0);
  if (!app.ann) return;
  const r = Math.max(3, Math.round(Math.max(W, H) / 160));
  for (const id of app.ann.ids())
    for (const c of app.ann.object(id).clicks()) {
      g.beginPath();
      g.arc(c.x + 0.5, c.y + 0.5, r, 0, 2 * Math.PI);
      g.fillStyle = c.positive ? '#00c853' : '#d50000';
      g.fill();
      g.lineWidth = 1.5;
      g.strokeStyle = id === app.id ? '#fff' : '#000';
      g.stroke();
    }
}

function freeImage() {
  if (app.ann) app.ann.free();
  if (app.feat) app.feat.free();
  app.ann = app.feat = app.iff = null;
  app.id = 0;
  app.clickTimes = [];
}

// Encodes app.rgba in the worker (encode-worker.mjs) with a progress bar;
// resolves with the feature file's bytes.
function encodeHere() {
  const { width: W, height: H } = app.rgba;
  const bar = $('progress');
  bar.hidden = false;
  bar.value = 0;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('encode-worker.mjs', import.meta.url), { type: 'module' });
    w.onmessage = (e) => {
      if (e.data.progress !== undefined) {
        bar.value = e.data.progress;
        message(`Encoding ${W}x${H} with the demo model: ${Math.round(100 * e.data.progress)}%`);
      } else {
        w.terminate();
        bar.hidden = true;
        if (e.data.error) reject(new Error(e.data.error));
        else {
          $('timing').textContent = `encoded in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
          resolve(e.data.iff);
        }
      }
    };
    w.onerror = (e) => {
      w.terminate();
      bar.hidden = true;
      reject(new Error(e.message || 'the encoder worker failed'));
    };
    w.postMessage({
      encoderUrl: new URL('models/demo.encoder.ifg', location.href).href,
      rgb: rgbaToRgb(app.rgba.data, W, H),
      width: W,
      height: H,
      maxSide: MAX_SIDE,
      simd: app.IF.simd,
    });
  });
}

// Opens an image (a File or Blob) and, when given, its feature file.
async function openImage(imageBlob, name, iffBlob) {
  setBusy(true);
  try {
    freeImage();
    app.name = name;
    const bmp = await createImageBitmap(imageBlob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const cv = $('canvas');
    cv.width = bmp.width;
    cv.height = bmp.height;
    const g = cv.getContext('2d');
    g.drawImage(bmp, 0, 0);
    app.rgba = g.getImageData(0, 0, bmp.width, bmp.height);
    let iff;
    if (iffBlob) {
      iff = new Uint8Array(await iffBlob.arrayBuffer());
      message(`${name}: features from ${iffBlob.name || 'the .iff'}`);
    } else {
      iff = await encodeHere();
    }
    const feat = app.IF.loadFeatures(iff);
    if (feat.width !== bmp.width || feat.height !== bmp.height) {
      feat.free();
      throw new Error(`the .iff is of a ${feat.width}x${feat.height} image, not ${bmp.width}x${bmp.height}`);
    }
    app.feat = feat;
    app.iff = iff;
    app.ann = app.IF.newAnnotation(app.dec, feat);
    app.id = app.ann.addObject();
    message(`${name} (${bmp.width}x${bmp.height}): left click = object, right click = not the object.`);
  } catch (e) {
    message(`Error: ${e.message}`);
    throw e;
  } finally {
    setBusy(false);
    redraw();
  }
}

async function onClick(e, positive) {
  e.preventDefault();
  if (!app.ann || app.busy) return;
  const cv = $('canvas'),
    r = cv.getBoundingClientRect();
  const x = Math.floor(((e.clientX - r.left) * cv.width) / r.width);
  const y = Math.floor(((e.clientY - r.top) * cv.height) / r.height);
  if (x < 0 || y < 0 || x >= cv.width || y >= cv.height) return;
  try {
    const s = app.ann.object(app.id);
    const ms = s.click(x, y, positive);
    app.lastClickMs = ms;
    app.clickTimes.push(ms);
    $('timing').textContent =
      `object ${app.id}, click ${s.clickCount}: ${ms.toFixed(1)} ms (${app.IF.simd ? 'WASM SIMD128' : 'WASM scalar'})`;
  } catch (err) {
    message(`Error: ${err.message}`);
  }
  redraw();
  updateButtons();
}

function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// The mask of every object with clicks: 0/1 bytes (what the CLI's mask is
// for one object, as 0/255).
app.unionMask = function () {
  const { width: W, height: H } = app.feat.info;
  const out = new Uint8Array(W * H);
  for (const id of app.ann.ids()) {
    const m = app.ann.object(id).mask();
    for (let p = 0; p < W * H; p++) out[p] |= m[p];
  }
  return out;
};

// The objects that have clicks, oldest first.
function objects() {
  return app.ann.ids().filter((id) => app.ann.object(id).clickCount > 0);
}

const stem = () => app.name.replace(/\.[^.]*$/, '');

$('undo').onclick = () => {
  app.ann.object(app.id).undo();
  redraw();
  updateButtons();
};
$('redo').onclick = () => {
  app.ann.object(app.id).redo();
  redraw();
  updateButtons();
};
$('next').onclick = () => {
  app.ann.finish(app.id);
  app.id = app.ann.addObject();
  message(`Object ${app.id}: the finished objects keep their pixels.`);
  redraw();
  updateButtons();
};
// One object: its mask, 0/255; several: the instance map (object k's
// pixels are k), as `interformer segment` writes them.
$('png').onclick = () => {
  const { width: W, height: H } = app.feat.info;
  const ids = objects();
  const img = new ImageData(W, H);
  const map = ids.length > 1 ? app.ann.instanceMap() : null;
  const m = map ? null : app.unionMask();
  for (let p = 0; p < W * H; p++) {
    const v = map ? map[p] : m[p] ? 255 : 0;
    img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = v;
    img.data[4 * p + 3] = 255;
  }
  const cv = document.createElement('canvas');
  cv.width = W;
  cv.height = H;
  cv.getContext('2d').putImageData(img, 0, 0);
  cv.toBlob((b) => download(b, `${stem()}.mask.png`), 'image/png');
};
$('coco').onclick = () => {
  const { width: W, height: H } = app.feat.info;
  const doc = app.IF.cocoJson(
    app.name,
    W,
    H,
    objects().map((id) => ({ id, mask: app.ann.object(id).mask() })),
  );
  download(new Blob([JSON.stringify(doc, null, 1)], { type: 'application/json' }), `${stem()}.json`);
};
$('iff').onclick = () => download(new Blob([app.iff]), `${stem()}.iff`);

$('canvas').addEventListener('click', (e) => onClick(e, true));
$('canvas').addEventListener('contextmenu', (e) => onClick(e, false));
$('file').onchange = async (e) => {
  const files = [...e.target.files];
  const img = files.find((f) => !/\.iff$/i.test(f.name));
  const iff = files.find((f) => /\.iff$/i.test(f.name));
  if (!img) return message('Open an image (PNG, JPEG), with its .iff or without.');
  await openImage(img, img.name, iff).catch(() => {});
};
$('example').onclick = async () => {
  const blob = await (await fetch('shapes.png')).blob();
  await openImage(blob, 'shapes.png', null).catch(() => {});
};

app.ready = (async () => {
  try {
    app.IF = await loadInterFormer({ simd: params.get('scalar') ? false : undefined });
    app.dec = app.IF.loadModel(await (await fetch('models/demo.decoder.ifg')).arrayBuffer());
    $('module').textContent = app.IF.simd ? 'WASM SIMD128 kernels' : 'WASM scalar kernels';
  } catch (e) {
    $('module').textContent = `the module failed to load: ${e.message}`;
    throw e;
  }
})();
app.openImage = openImage;
