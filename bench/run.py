"""`make bench`: InterFormer-C against PyTorch and ONNX Runtime, side by side.

For InterFormer-Light and -Tiny shapes at 512x512 (random weights: speed
does not depend on them) and 1 and 2 threads, runs our `build/if-bench` and
`python3 -m torchref.bench` on the same input size, click count and thread
count, one after the other in this one process, and reports the ratios.
PyTorch runs on OpenBLAS (Debian's libopenblas0-pthread) — its best here:
the reference BLAS is about 15x slower.

ONNX Runtime (onnxruntime-node from npm, CPU provider, installed once into
build/bench/ort with `npm install --ignore-scripts`) runs the models
bench/export_onnx.py exports from torchref (once, checked against PyTorch):
the Light encoder, and the Light and Tiny decoders' per-click part with the
per-image keys/values as inputs (Tiny without zoom-in: ORT then does more
work per click than C and PyTorch, which zoom in). bench/ort_run.mjs times
them: graph optimisation "all", N intra-op threads, sequential. Without
node/npm (or with --no-ort) the ORT columns say so and the rest still runs.

Tiny's zoom-in: with random weights the predicted mask is arbitrary, so
the zoom-in ROI of the default clicks (the expanded box of the previous
prediction and the clicks) is about the whole image and the zoom-in never
pays. So Tiny is also measured on a small object (`--object` of if-bench
and torchref.bench, OBJECT below): the same clicks in C and PyTorch on and
around a disk of radius S/16 at the image centre, with the previous
prediction the zoom-in rule sees set to that disk (as if the model had
segmented it; the ROI is then the same in both, checked), and again without
a ROI; the decoder's work is then that of a real small-object session.
ONNX Runtime's decoder has no ROI input: its one Tiny number is without
zoom-in.

The FMA peak the "% of peak" columns use is measured at bench time
(`build/if-bench-kernels --op peak` for the ISA if-bench reports), not
assumed.

Writes bench/results.json and the table between the bench markers of
README.md; with --update, the rows measured now replace those of the same
preset and thread count in bench/results.json and the others are kept (the
table then says which rows were measured when). Timings on a shared 2-core
machine are noisy: read the ratios.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))
OUT = os.path.join(BUILD, "bench")
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
ORT_DIR = os.path.join(OUT, "ort")              # npm prefix: ORT_DIR/node_modules/onnxruntime-node
ORT_VERSION = os.environ.get("IF_ORT_VERSION", "onnxruntime-node")   # npm spec, e.g. @1.20.1
ONNX = os.path.join(OUT, "onnx")


def sh(cmd, env=None, check=True):
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode and check:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stderr}")
    return r.stdout if check else r


def models(preset):
    """Random-weight checkpoint of the preset, converted once (cached)."""
    prefix = os.path.join(OUT, preset)
    if not os.path.exists(prefix + ".decoder.ifg"):
        ckpt = prefix + ".pth"
        sh([sys.executable, "-c",
            "import sys; sys.path.insert(0, '.');"
            "from torchref.model import InterFormer as M;"
            f"m = M.{preset}(); m.randomize_(0); m.save_checkpoint('{ckpt}')"])
        sh([sys.executable, "-m", "converter", ckpt, "-o", OUT, "--name", preset])
        os.unlink(ckpt)
    return prefix


def last_json(text):
    return json.loads([ln for ln in text.splitlines() if ln.startswith("{")][-1])


SIZE = 512
# Tiny's small object (x, y, radius): a disk of 1/16 of the side at the centre.
OBJECT = f"{SIZE // 2},{SIZE // 2},{SIZE // 16}"


def run_c(prefix, threads, clicks, runs, zoom):
    cmd = [os.path.join(BUILD, "if-bench"), "--encoder", prefix + ".encoder.ifg",
           "--decoder", prefix + ".decoder.ifg", "--size", str(SIZE), "--threads",
           str(threads), "--clicks", str(clicks), "--encoder-runs", str(runs)]
    if zoom:
        cmd += ["--object", OBJECT]
    return last_json(sh(cmd))


def torch_env(threads):
    return dict(os.environ, LD_LIBRARY_PATH=OPENBLAS, OPENBLAS_NUM_THREADS=str(threads),
                OMP_NUM_THREADS=str(threads))


def run_torch(preset, threads, clicks, runs, zoom):
    cmd = [sys.executable, "-m", "torchref.bench", "--preset", preset, "--size", str(SIZE),
           "--threads", str(threads), "--clicks", str(clicks), "--encoder-runs", str(runs)]
    if zoom:
        cmd += ["--zoom", "--object", OBJECT]
    return last_json(sh(cmd, torch_env(threads)))


def fma_peak(isa, cache={}):
    """One core's FMA peak (GFLOP/s) for `isa`, measured now by if-bench-kernels; 0 if unknown."""
    if isa not in cache:
        out = sh([os.path.join(BUILD, "if-bench-kernels"), "--isa", isa, "--op", "peak"])
        m = re.search(r"measured FMA peak ([0-9.]+) GFLOP/s", out)
        cache[isa] = float(m.group(1)) if m else 0.0
    return cache[isa]


# ------------------------------------------------------------ ONNX Runtime

def ort_setup():
    """None when onnxruntime-node loads (installing it with npm first if needed), else why not."""
    module = os.path.join(ORT_DIR, "node_modules", "onnxruntime-node")
    if not shutil.which("node"):
        return "node not found"
    if not os.path.isdir(module):
        if not shutil.which("npm"):
            return "npm not found"
        os.makedirs(ORT_DIR, exist_ok=True)
        r = sh(["npm", "install", "--prefix", ORT_DIR, "--ignore-scripts", "--no-audit",
                "--no-fund", ORT_VERSION], check=False)
        if r.returncode:
            return "npm install onnxruntime-node failed: " + (r.stderr.strip().splitlines()
                                                               or ["?"])[-1]
    r = sh(["node", "-e", f"const o = require({json.dumps(module)});"
            "if (!o.listSupportedBackends().some(b => b.name === 'cpu')) process.exit(3);"
            "console.log(o.env.versions.node)"], check=False)
    if r.returncode:
        return "onnxruntime-node does not load: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return None


def ort_models(preset, parts):
    """Exported ONNX models of the preset (once; checked against PyTorch) and the
    exporter's report (max abs diffs)."""
    todo = [p for p in parts if not os.path.exists(os.path.join(ONNX, f"{preset}.{p}.onnx"))]
    report = os.path.join(ONNX, f"{preset}.export.json")
    if todo:
        out = sh([sys.executable, os.path.join("bench", "export_onnx.py"), "--preset", preset,
                  "--size", str(SIZE), "--parts", ",".join(todo), "--out", ONNX,
                  "--check", os.path.join("bench", "ort_run.mjs")])
        print(out.rstrip(), flush=True)
    return json.load(open(report)) if os.path.exists(report) else {}


def run_ort(preset, part, threads, runs, warmup):
    return last_json(sh(["node", os.path.join("bench", "ort_run.mjs"), "--model",
                         os.path.join(ONNX, f"{preset}.{part}.onnx"), "--inputs",
                         os.path.join(ONNX, f"{preset}.{part}"), "--threads", str(threads),
                         "--runs", str(runs), "--warmup", str(warmup)]))


def ratio(num, den):
    return num / den if num and den else None


def _ms(v, fmt):
    return format(v, fmt) if v else "n/a"


def _x(v):
    return f"**{v:.2f}x**" if v else "n/a"


def small_object(c, t, o):
    """The row's small-object figures (zoom-in decoders), or None."""
    if "decoder_click_ms_zoom" not in c or "decoder_ms_zoom" not in t:
        return None
    return {"object": c["object"], "roi_c": c["zoom_roi"], "roi_torch": t["zoom_roi"],
            "roi_match": c["zoom_roi"] == t["zoom_roi"],
            "c_zoom_ms": c["decoder_click_ms_zoom"], "c_nozoom_ms": c["decoder_click_ms_nozoom"],
            "torch_zoom_ms": t["decoder_ms_zoom"], "torch_nozoom_ms": t["decoder_ms_nozoom"],
            "ort_nozoom_ms": o.get("decoder_ms"),
            "c_zoom_gflop": c["decoder_click_gflop_zoom"],
            "c_nozoom_gflop": c["decoder_click_gflop_nozoom"],
            "speedup_zoom": ratio(t["decoder_ms_zoom"], c["decoder_click_ms_zoom"]),
            "speedup_nozoom": ratio(t["decoder_ms_nozoom"], c["decoder_click_ms_nozoom"]),
            "speedup_nozoom_ort": ratio(o.get("decoder_ms"), c["decoder_click_ms_nozoom"]),
            "speedup_zoom_vs_ort_nozoom": ratio(o.get("decoder_ms"), c["decoder_click_ms_zoom"]),
            "zoom_gain_c": ratio(c["decoder_click_ms_nozoom"], c["decoder_click_ms_zoom"]),
            "zoom_gain_torch": ratio(t["decoder_ms_nozoom"], t["decoder_ms_zoom"])}


def object_table(rows):
    """The small-object table (Tiny, zoom-in and not), or ""."""
    rows = [r for r in rows if r.get("small_object")]
    if not rows:
        return ""
    lines = ["| model, small object | threads | decoder ms per click with zoom-in: C / PyTorch "
             "(C's speed-up) | without zoom-in: C / ORT / PyTorch (C's speed-up vs ORT, vs "
             "PyTorch) | zoom-in speed-up C / PyTorch | C GFLOP per click zoom / no zoom | ROI |",
             "|" + "---|" * 7]
    for r in rows:
        z = r["small_object"]
        roi = z["roi_c"]
        lines.append(
            f"| {r['preset']} | {r['threads']} | {z['c_zoom_ms']:.1f} / {z['torch_zoom_ms']:.1f} "
            f"({_x(z['speedup_zoom'])}) | {z['c_nozoom_ms']:.1f} / "
            f"{_ms(z['ort_nozoom_ms'], '.1f')} / {z['torch_nozoom_ms']:.1f} "
            f"({_x(z['speedup_nozoom_ort'])}, {_x(z['speedup_nozoom'])}) | "
            f"{z['zoom_gain_c']:.2f}x / {z['zoom_gain_torch']:.2f}x | "
            f"{z['c_zoom_gflop']:.1f} / {z['c_nozoom_gflop']:.1f} | "
            f"{roi[2] - roi[0]}x{roi[3] - roi[1]} at ({roi[0]}, {roi[1]})"
            f"{'' if z['roi_match'] else ' (PyTorch: ' + str(z['roi_torch']) + ')'} |")
    x, y, rad = rows[0]["small_object"]["object"]
    note = (f"Small object: the same "
            f"{rows[0]['torch']['clicks']} clicks in C and PyTorch on and around a disk of "
            f"radius {rad} at ({x}, {y}) in the {SIZE}x{SIZE} image (positive inside, negative "
            "just outside), on the features of the table above. With zoom-in, the previous "
            "prediction the zoom-in rule sees is set to that disk before each click (random "
            "weights predict an arbitrary mask), so from the second click on the decoder "
            "refines the ROI shown (the expanded box of the disk and the clicks) as in a "
            "real session on such an object; without zoom-in it gets no ROI. C times "
            "if_session_add_click, PyTorch model.decode. ORT has no zoom-in: its number is "
            "the Tiny decoder without ROI (as in the table above).")
    return "\n".join(lines) + "\n\n" + note


def table(rows, ort_note):
    head = ("| model | threads | encoder ms C / ORT / PyTorch (C's speed-up vs ORT, vs PyTorch) "
            "| decoder ms per click C / ORT / PyTorch (C's speed-up vs ORT, vs PyTorch) "
            "| C GFLOP/s enc / dec (% of measured FMA peak) | decoder arena MB | peak RSS MB |")
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        c, t, o = r["c"], r["torch"], r["ort"]
        star = "†" if o.get("decoder_no_zoom") else ""
        lines.append(
            f"| {r['preset']} | {r['threads']} | {c['encoder_ms']:.0f} / "
            f"{_ms(o.get('encoder_ms'), '.0f')} / {t['encoder_ms']:.0f} "
            f"({_x(r['encoder_speedup_ort'])}, {_x(r['encoder_speedup'])}) | "
            f"{c['decoder_click_ms']:.1f} / {_ms(o.get('decoder_ms'), '.1f')}{star} / "
            f"{t['decoder_ms']:.1f} ({_x(r['decoder_speedup_ort'])}{star}, "
            f"{_x(r['decoder_speedup'])}) | "
            f"{c['encoder_gflops']:.0f} / {c['decoder_click_gflops']:.0f} "
            f"({r['enc_peak']:.0%} / {r['dec_peak']:.0%} of {r['fma_peak_gflops']:.0f}) | "
            f"{c['decoder_arena_mb']:.1f} | {c['peak_rss_mb']:.0f} |")
    notes = []
    if any(r["ort"].get("decoder_ms") and not r["ort"].get("encoder_ms") for r in rows):
        notes.append("ORT times the Light encoder only (n/a: not exported).")
    if any(r["ort"].get("decoder_no_zoom") for r in rows):
        notes.append("† ORT's Tiny decoder runs without zoom-in (refine blocks on the whole "
                     "map), C and PyTorch zoom in; with random weights their ROI of these "
                     "clicks is about the whole image, so the work is about the same. The "
                     "small-object table below is where the zoom-in engages.")
    if ort_note:
        notes.append(f"ORT: {ort_note}.")
    when = {}
    for r in rows:
        when.setdefault(r.get("measured") or "an earlier `make bench`", []).append(
            f"{r['preset']} x{r['threads']}")
    if len(when) > 1:
        notes.append("Rows measured at different times (`bench/run.py --update`), under "
                     "different machine load: " + "; ".join(
                         f"{', '.join(v)}: {k}" for k, v in when.items()) + ".")
    if not all(r["torch"].get("blas", {}).get("openblas") for r in rows):
        notes.append("PyTorch did not load OpenBLAS (`scripts/deps.sh bench`): its BLAS is "
                     "the reference one, about 15x slower.")
    isas = sorted({f"{r['c'].get('isa', '?')} {r['fma_peak_per_core']:.0f}" for r in rows})
    notes.append("FMA peak measured at bench time, GFLOP/s per core: " + ", ".join(isas)
                 + " (times the threads in the table).")
    obj = object_table(rows)
    return ("\n".join(lines) + "\n\n" + "\n\n".join(notes) + ("\n\n" + obj if obj else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="light,tiny")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--encoder-runs", type=int, default=3)
    ap.add_argument("--no-ort", action="store_true", help="skip ONNX Runtime")
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--update", action="store_true",
                    help="keep bench/results.json's rows of other presets / thread counts")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    ort_note = "skipped (--no-ort)" if a.no_ort else ort_setup()
    if ort_note:
        print(f"bench: ONNX Runtime not measured: {ort_note}", flush=True)
    rows = []
    for preset in a.presets.split(","):
        prefix = models(preset)
        # ORT: the Light encoder and every preset's per-click decoder (ort_note: why not).
        ort_parts = ["encoder", "click"] if preset == "light" else ["click"]
        export = {} if ort_note else ort_models(preset, ort_parts)
        for threads in map(int, a.threads.split(",")):
            zoom = preset == "tiny"
            c = run_c(prefix, threads, a.clicks, a.encoder_runs, zoom)
            t = run_torch(preset, threads, a.clicks, a.encoder_runs, zoom)
            o = {"available": not ort_note}
            if not ort_note:
                o["max_abs_diff_vs_torch"] = export.get("max_abs_diff", {})
                if "encoder" in ort_parts:
                    e = run_ort(preset, "encoder", threads, a.encoder_runs, 1)
                    o.update(encoder_ms=e["median_ms"], encoder_runs_ms=e["runs_ms"])
                d = run_ort(preset, "click", threads, a.clicks, 2)
                o.update(decoder_ms=d["median_ms"], decoder_runs_ms=d["runs_ms"],
                         decoder_no_zoom=bool(c.get("zoom_in")), version=d["ort"])
            else:
                o["why_not"] = ort_note
            per_core = fma_peak(c.get("isa", ""))
            peak = per_core * threads
            row = {"preset": preset, "threads": threads, "c": c, "torch": t, "ort": o,
                   "encoder_speedup": t["encoder_ms"] / c["encoder_ms"],
                   "decoder_speedup": t["decoder_ms"] / c["decoder_click_ms"],
                   "encoder_speedup_ort": ratio(o.get("encoder_ms"), c["encoder_ms"]),
                   "decoder_speedup_ort": ratio(o.get("decoder_ms"), c["decoder_click_ms"]),
                   "fma_peak_per_core": per_core, "fma_peak_gflops": peak,
                   "enc_peak": c["encoder_gflops"] / peak if peak else 0.0,
                   "dec_peak": c["decoder_click_gflops"] / peak if peak else 0.0,
                   "small_object": small_object(c, t, o),
                   "measured": datetime.datetime.now(datetime.timezone.utc).strftime(
                       "%Y-%m-%d %H:%M UTC")}
            rows.append(row)
            print(f"{preset} x{threads}: encoder C {c['encoder_ms']:.0f} ms, ORT "
                  f"{_ms(o.get('encoder_ms'), '.0f')} ms, PyTorch {t['encoder_ms']:.0f} ms; "
                  f"decoder per click C {c['decoder_click_ms']:.1f} ms, ORT "
                  f"{_ms(o.get('decoder_ms'), '.1f')} ms, PyTorch {t['decoder_ms']:.1f} ms",
                  flush=True)
            z = row["small_object"]
            if z:
                print(f"{preset} x{threads} small object: decoder per click with zoom-in C "
                      f"{z['c_zoom_ms']:.1f} ms, PyTorch {z['torch_zoom_ms']:.1f} ms; without "
                      f"C {z['c_nozoom_ms']:.1f} ms, PyTorch {z['torch_nozoom_ms']:.1f} ms; ROI "
                      f"{z['roi_c']}"
                      + ("" if z["roi_match"] else f" (PyTorch {z['roi_torch']})"), flush=True)
    results = os.path.join(ROOT, "bench", "results.json")
    if a.update and os.path.exists(results):
        new = {(r["preset"], r["threads"]) for r in rows}
        old = [r for r in json.load(open(results)) if (r["preset"], r["threads"]) not in new]
        order = {"light": 0, "tiny": 1}
        rows = sorted(old + rows, key=lambda r: (order.get(r["preset"], 2), r["preset"],
                                                 r["threads"]))
    with open(results, "w") as f:
        json.dump(rows, f, indent=1)
    md = table(rows, ort_note)
    print(md)
    if not a.no_readme:
        path = os.path.join(ROOT, "README.md")
        text = open(path).read()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        if start in text and end in text:
            text = text[:text.index(start) + len(start)] + "\n" + md + "\n" + text[text.index(end):]
            open(path, "w").write(text)


if __name__ == "__main__":
    main()
