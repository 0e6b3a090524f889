// ort_run.mjs -- times one ONNX model with ONNX Runtime (onnxruntime-node, CPU)
// and prints one JSON line; the ONNX Runtime baseline of `make bench`.
//
//   node bench/ort_run.mjs --model M.onnx --inputs DIR [--threads N] [--runs R]
//                          [--warmup W] [--dump OUTDIR] [--profile PREFIX]
//
// DIR holds one NAME.npy per model input (float32 or int64, C order; files
// named out_*.npy are PyTorch's outputs and are skipped). The session uses
// graphOptimizationLevel "all", intraOpNumThreads N, interOpNumThreads 1,
// executionMode "sequential". W untimed runs, then R timed runs of
// session.run on the same inputs: median, min and max wall ms (R >= 1).
// --dump writes each output as OUTDIR/NAME.npy (float32) for the
// correctness check in bench/export_onnx.py.
// --profile runs the session with ONNX Runtime's profiler (enableProfiling,
// profileFilePrefix PREFIX; its Chrome-trace JSON is PREFIX_<date>.json)
// and adds "profile": per node of the graph (events of cat "Node"), its op
// type (args.op_name), input shapes and mean microseconds per timed run
// (the W warm-up runs are left out: only node events inside the last R
// "model_run" events count). The profiler's own cost is in the times.
//
// onnxruntime-node is found through NODE_PATH or, by default, in
// build/bench/ort/node_modules (bench/run.py installs it there with npm).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function loadOrt() {
  const dirs = [...(process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean),
                path.join(ROOT, process.env.IF_BUILD || "build", "bench", "ort", "node_modules")];
  for (const d of dirs) {
    const p = path.join(d, "onnxruntime-node");
    if (fs.existsSync(p)) return createRequire(import.meta.url)(p);
  }
  throw new Error(`onnxruntime-node not found in ${dirs.join(", ")}`);
}

// ------------------------------------------------------------------ .npy

const DTYPES = {
  "<f4": ["float32", Float32Array],
  "<i8": ["int64", BigInt64Array],
  "<i4": ["int32", Int32Array],
  "|u1": ["uint8", Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.readUInt32BE(0) !== 0x934e554d || buf.toString("latin1", 4, 6) !== "PY")
    throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString("latin1", hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(",").map((s) => s.trim())
    .filter(Boolean).map(Number);
  if (!DTYPES[descr]) throw new Error(`${file}: dtype ${descr} not supported`);
  const [type, Arr] = DTYPES[descr];
  const off = hstart + hlen, n = shape.reduce((a, b) => a * b, 1);
  const data = new Arr(n);   // copy: the file's data offset need not be aligned
  new Uint8Array(data.buffer).set(buf.subarray(off, off + n * Arr.BYTES_PER_ELEMENT));
  return { type, shape, data };
}

function writeNpy(file, tensor) {
  if (tensor.type !== "float32") throw new Error(`${file}: only float32 outputs are dumped`);
  const dims = tensor.dims.join(", ") + (tensor.dims.length === 1 ? "," : "");
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  h += " ".repeat(63 - ((10 + h.length) % 64)) + "\n";   // header + magic: multiple of 64
  const head = Buffer.alloc(10);
  head.writeUInt32BE(0x934e554d, 0);
  head.write("PY", 4, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  const d = tensor.data;
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, "latin1"),
    Buffer.from(d.buffer, d.byteOffset, d.byteLength)]));
}

// ------------------------------------------------------------------ main

function parseArgs(argv) {
  const a = { threads: 1, runs: 10, warmup: 2 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (k === "--model") a.model = v;
    else if (k === "--inputs") a.inputs = v;
    else if (k === "--threads") a.threads = Number(v);
    else if (k === "--runs") a.runs = Number(v);
    else if (k === "--warmup") a.warmup = Number(v);
    else if (k === "--dump") a.dump = v;
    else if (k === "--profile") a.profile = v;
    else throw new Error(`usage: node ort_run.mjs --model M.onnx --inputs DIR [--threads N] ` +
                         `[--runs R] [--warmup W] [--dump OUTDIR] [--profile PREFIX] ` +
                         `(unknown ${k})`);
    i++;
  }
  if (!a.model || !a.inputs || !(a.threads >= 1) || !(a.runs >= 1) || !(a.warmup >= 0))
    throw new Error("ort_run: need --model, --inputs, threads and runs >= 1, warmup >= 0");
  return a;
}

const median = (v) => {
  const s = [...v].sort((x, y) => x - y), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
};

// The profiler's trace after the session ended profiling: the newest
// PREFIX*.json; per node, mean us per run over the last `runs` model runs.
function readProfile(prefix, runs) {
  const dir = path.dirname(path.resolve(prefix)), base = path.basename(prefix);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith(".json"))
    .map((f) => path.join(dir, f)).sort((x, y) => fs.statSync(y).mtimeMs - fs.statSync(x).mtimeMs);
  if (!files.length) throw new Error(`no profile ${prefix}*.json written`);
  const events = JSON.parse(fs.readFileSync(files[0], "utf8"));
  const runsEv = events.filter((e) => e.cat === "Session" && e.name === "model_run")
    .sort((x, y) => x.ts - y.ts).slice(-runs);
  const inRun = (e) => runsEv.some((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== "Node" || !e.args?.op_name || !inRun(e)) continue;
    const name = e.name.replace(/_kernel_time$/, "");
    const n = nodes.get(name) ?? { name, op: e.args.op_name,
      inputs: (e.args.input_type_shape ?? []).map((t) => Object.values(t)[0]), us: 0 };
    n.us += e.dur;
    nodes.set(name, n);
  }
  const list = [...nodes.values()].map((n) => ({ ...n, us: n.us / runsEv.length }));
  const runUs = runsEv.map((r) => r.dur);
  return { file: files[0], runs: runsEv.length, model_run_us: median(runUs), nodes: list };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    ...(a.profile ? { enableProfiling: true, profileFilePrefix: a.profile } : {}),
  });
  const loadMs = performance.now() - t0;
  const feeds = {};
  for (const name of session.inputNames) {
    const t = readNpy(path.join(a.inputs, name + ".npy"));
    feeds[name] = new ort.Tensor(t.type, t.data, t.shape);
  }
  let out;
  for (let i = 0; i < a.warmup; i++) out = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < a.runs; i++) {
    const s = performance.now();
    out = await session.run(feeds);
    ms.push(performance.now() - s);
  }
  if (a.dump) {
    fs.mkdirSync(a.dump, { recursive: true });
    for (const name of session.outputNames) writeNpy(path.join(a.dump, name + ".npy"), out[name]);
  }
  let profile;
  if (a.profile) {
    session.endProfiling();
    profile = readProfile(a.profile, a.runs);
  }
  const r = (x) => Math.round(x * 1000) / 1000;
  console.log(JSON.stringify({
    impl: "onnxruntime-node", ort: ort.env.versions?.node ?? null,
    model: path.basename(a.model), threads: a.threads, runs: a.runs, warmup: a.warmup,
    load_ms: r(loadMs), median_ms: r(median(ms)), min_ms: r(Math.min(...ms)),
    max_ms: r(Math.max(...ms)), runs_ms: ms.map(r), ...(profile ? { profile } : {}),
  }));
  await session.release?.();
}

main().catch((e) => {
  console.error(`ort_run: ${e.message || e}`);
  process.exit(1);
});
