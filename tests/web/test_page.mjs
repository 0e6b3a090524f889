// test_page.mjs -- the annotation page (examples/web/) in headless Chromium
// (make test-web): Playwright's playwright-core drives Debian's chromium
// (no browser download). It serves WEB_DIR itself on a free port, then:
//   1. opens IMAGE with its FEATURES (.iff) through the page's file input,
//      clicks the canvas (left = +, right = -), writes the page's mask as
//      OUT/page-iff.pgm (compared with the native CLI's by the Makefile),
//      checks undo and redo (the mask after redo is the mask before undo),
//      takes the screenshot OUT/web-page.png;
//   2. "Next object", one more click, "Export COCO JSON": two annotations
//      with RLE counts over the image's pixels; "Export PNG": an image of
//      the image's size (OUT/page-export.png);
//   3. the example image with no .iff: encoded in the tab (the progress
//      bar's messages seen), the same clicks, OUT/page-encoded.pgm;
//   4. the scalar module (?scalar=1) on the .iff: OUT/page-scalar.pgm.
// Every wait has a deadline; the server and browser are closed on any exit.
//
//   node tests/web/test_page.mjs WEB_DIR IMAGE FEATURES OUT X,Y,+ [X,Y,- ...]
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';

const [webDir, imagePath, iffPath, outDir, ...clickArgs] = process.argv.slice(2);
if (!clickArgs.length) {
  console.error('usage: test_page.mjs WEB_DIR IMAGE FEATURES OUT X,Y,+ ...');
  process.exit(2);
}
const clicks = clickArgs.map((s) => {
  const m = /^(\d+),(\d+),([+-])$/.exec(s);
  if (!m) throw new Error(`bad click ${s}`);
  return { x: +m[1], y: +m[2], positive: m[3] === '+' };
});
const require = createRequire(path.resolve(process.env.PLAYWRIGHT_DIR || 'build-wasm/node', 'x.js'));
const { chromium } = require('playwright-core');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
fs.mkdirSync(outDir, { recursive: true });

let failures = 0,
  passes = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
  if (ok) passes++;
  else failures++;
}

// A static file server on a free port.
const TYPES = {
  '.html': 'text/html',
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.ifg': 'application/octet-stream',
  '.iff': 'application/octet-stream',
};
const root = path.resolve(webDir);
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const file = path.join(root, decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname));
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404);
    res.end('not found');
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

// The whole test has a deadline: a hang is a failure, not a stuck build.
const deadline = setTimeout(() => {
  console.error('test_page: over the time limit');
  process.exit(1);
}, Number(process.env.TEST_PAGE_TIMEOUT_MS || 600000));

function writePgm(file, w, h, mask01) {
  const body = Buffer.alloc(w * h);
  for (let i = 0; i < w * h; i++) body[i] = mask01[i] ? 255 : 0;
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`P5\n${w} ${h}\n255\n`), body]));
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
try {
  const context = await browser.newContext({ viewport: { width: 860, height: 400 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(120000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.log(`page console: ${m.text()}`));

  // Clicks the canvas at image pixel (x, y) and waits for the prediction.
  async function clickAt(c) {
    const box = await page.locator('#canvas').boundingBox();
    const cw = await page.evaluate(() => document.getElementById('canvas').width);
    const s = box.width / cw;
    const before = await page.evaluate(() => window.ifApp.clickTimes.length);
    await page.mouse.click(box.x + (c.x + 0.5) * s, box.y + (c.y + 0.5) * s, {
      button: c.positive ? 'left' : 'right',
    });
    await page.waitForFunction((n) => window.ifApp.clickTimes.length > n, before);
  }
  async function pageMask() {
    return page.evaluate(() => {
      const m = window.ifApp.unionMask();
      return { w: window.ifApp.feat.width, h: window.ifApp.feat.height, m: Array.from(m) };
    });
  }
  async function openWithIff(url) {
    await page.goto(url);
    await page.evaluate(() => window.ifApp.ready);
    await page.setInputFiles('#file', [imagePath, iffPath]);
    await page.waitForFunction(
      () => (window.ifApp.ann || /^Error/.test(document.getElementById('message').textContent)) && !window.ifApp.busy,
    );
    const msg = await page.textContent('#message');
    if (/^Error/.test(msg)) throw new Error(`opening the image: ${msg}`);
  }

  // 1. image + .iff, clicks, undo/redo, screenshot
  await openWithIff(base);
  const moduleText = await page.textContent('#module');
  check(/SIMD128/.test(moduleText), `the page runs the SIMD128 module (${moduleText})`);
  for (const c of clicks) await clickAt(c);
  const times = await page.evaluate(() => window.ifApp.clickTimes);
  check(times.length === clicks.length, `${clicks.length} clicks predicted (ms: ${times.map((t) => t.toFixed(1)).join(' ')})`);
  const a = await pageMask();
  writePgm(path.join(outDir, 'page-iff.pgm'), a.w, a.h, a.m);
  const fg = a.m.reduce((s, v) => s + v, 0);
  check(fg > 0 && fg < a.w * a.h, `the page's mask has ${fg} of ${a.w * a.h} pixels`);
  const timing = await page.textContent('#timing');
  check(/ms/.test(timing), `the page shows the click time: "${timing}"`);
  await page.click('#undo');
  const afterUndo = await pageMask();
  const nUndo = await page.evaluate(() => window.ifApp.ann.object(window.ifApp.id).clickCount);
  check(nUndo === clicks.length - 1, `undo: ${nUndo} clicks left`);
  await page.click('#redo');
  const afterRedo = await pageMask();
  check(
    afterRedo.m.every((v, i) => v === a.m[i]) && (clicks.length < 2 || afterUndo.m.some((v, i) => v !== a.m[i])),
    'redo gives back the mask undo took away',
  );
  await page.screenshot({ path: path.join(outDir, 'web-page.png') });
  check(fs.statSync(path.join(outDir, 'web-page.png')).size > 1000, 'screenshot written');

  // 2. a second object and the COCO export
  await page.click('#next');
  const c2 = clicks.find((c) => !c.positive) || { x: 1, y: 1 };
  await clickAt({ x: c2.x, y: c2.y, positive: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#coco')]);
  const coco = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  fs.writeFileSync(path.join(outDir, 'page.json'), JSON.stringify(coco));
  const anns = coco.annotations || [];
  check(
    anns.length === 2 &&
      anns.every((x) => x.segmentation && x.segmentation.size[0] === a.h && x.segmentation.size[1] === a.w && x.segmentation.counts.length > 0) &&
      anns[0].area === fg,
    `COCO JSON: ${anns.length} annotations, the first of area ${anns[0] && anns[0].area} (mask ${fg})`,
  );

  // The PNG export of two objects: the instance map at the image's size.
  const [pngDl] = await Promise.all([page.waitForEvent('download'), page.click('#png')]);
  const png = fs.readFileSync(await pngDl.path());
  fs.writeFileSync(path.join(outDir, 'page-export.png'), png);
  const isPng = png.length > 24 && png.toString('latin1', 1, 4) === 'PNG';
  check(
    isPng && png.readUInt32BE(16) === a.w && png.readUInt32BE(20) === a.h,
    `PNG export: ${isPng ? `${png.readUInt32BE(16)}x${png.readUInt32BE(20)}` : 'not a PNG'}`,
  );

  // 3. no .iff: the example image encoded in the tab
  await page.goto(base);
  await page.evaluate(() => window.ifApp.ready);
  const progress = [];
  page.on('console', () => {});
  await page.exposeFunction('noteProgress', (t) => progress.push(t));
  await page.evaluate(() => {
    new MutationObserver(() => window.noteProgress(document.getElementById('message').textContent)).observe(
      document.getElementById('message'),
      { childList: true, characterData: true, subtree: true },
    );
  });
  await page.click('#example');
  await page.waitForFunction(
    () => (window.ifApp.ann || /^Error/.test(document.getElementById('message').textContent)) && !window.ifApp.busy,
    null,
    { timeout: 180000 },
  );
  const encodeMessage = await page.textContent('#message');
  check(!/^Error/.test(encodeMessage), `encoded in the tab: "${encodeMessage}" (${await page.textContent('#timing')})`);
  check(progress.some((t) => /Encoding .*%/.test(t)), `encoding progress shown (${progress.length} updates)`);
  for (const c of clicks) await clickAt(c);
  const e = await pageMask();
  writePgm(path.join(outDir, 'page-encoded.pgm'), e.w, e.h, e.m);

  // 4. the scalar module
  await openWithIff(base + '?scalar=1');
  const scalarText = await page.textContent('#module');
  check(/scalar/.test(scalarText), `?scalar=1 runs the scalar module (${scalarText})`);
  for (const c of clicks) await clickAt(c);
  const sc = await pageMask();
  writePgm(path.join(outDir, 'page-scalar.pgm'), sc.w, sc.h, sc.m);
  const st = await page.evaluate(() => window.ifApp.clickTimes);
  console.log(`scalar module, ms per click: ${st.map((t) => t.toFixed(1)).join(' ')}`);
} catch (err) {
  console.error(`test_page: ${err.stack || err}`);
  failures++;
} finally {
  await browser.close().catch(() => {});
  server.close();
  clearTimeout(deadline);
}
console.log(`test_page: ${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
