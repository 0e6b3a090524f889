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

The FMA peak the "% of peak" columns use is measured at bench time
(`build/if-bench-kernels --op peak` for the ISA if-bench reports), not
assumed.

Writes bench/results.json and the table between the bench markers of
README.md. Timings on a shared 2-core machine are noisy: read the ratios.
"""

import argparse
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


def run_c(prefix, threads, clicks, runs):
    return last_json(sh([os.path.join(BUILD, "if-bench"), "--encoder", prefix + ".encoder.ifg",
                         "--decoder", prefix + ".decoder.ifg", "--size", "512", "--threads",
                         str(threads), "--clicks", str(clicks), "--encoder-runs", str(runs)]))


def run_torch(preset, threads, clicks, runs):
    env = dict(os.environ, LD_LIBRARY_PATH=OPENBLAS, OPENBLAS_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, "-m", "torchref.bench", "--preset", preset, "--size", "512",
           "--threads", str(threads), "--clicks", str(clicks), "--encoder-runs", str(runs)]
    if preset == "tiny":
        cmd.append("--zoom")
    return last_json(sh(cmd, env))


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
                  "--size", "512", "--parts", ",".join(todo), "--out", ONNX,
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
                     "map), C and PyTorch zoom in: ORT does more work per click there.")
    if ort_note:
        notes.append(f"ORT: {ort_note}.")
    if not all(r["torch"].get("blas", {}).get("openblas") for r in rows):
        notes.append("PyTorch did not load OpenBLAS (`scripts/deps.sh bench`): its BLAS is "
                     "the reference one, about 15x slower.")
    isas = sorted({f"{r['c'].get('isa', '?')} {r['fma_peak_per_core']:.0f}" for r in rows})
    notes.append("FMA peak measured at bench time, GFLOP/s per core: " + ", ".join(isas)
                 + " (times the threads in the table).")
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="light,tiny")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--encoder-runs", type=int, default=3)
    ap.add_argument("--no-ort", action="store_true", help="skip ONNX Runtime")
    ap.add_argument("--no-readme", action="store_true")
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
            c = run_c(prefix, threads, a.clicks, a.encoder_runs)
            t = run_torch(preset, threads, a.clicks, a.encoder_runs)
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
                   "dec_peak": c["decoder_click_gflops"] / peak if peak else 0.0}
            rows.append(row)
            print(f"{preset} x{threads}: encoder C {c['encoder_ms']:.0f} ms, ORT "
                  f"{_ms(o.get('encoder_ms'), '.0f')} ms, PyTorch {t['encoder_ms']:.0f} ms; "
                  f"decoder per click C {c['decoder_click_ms']:.1f} ms, ORT "
                  f"{_ms(o.get('decoder_ms'), '.1f')} ms, PyTorch {t['decoder_ms']:.1f} ms",
                  flush=True)
    with open(os.path.join(ROOT, "bench", "results.json"), "w") as f:
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
