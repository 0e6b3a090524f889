"""`make bench`: InterFormer-C against the PyTorch model, side by side.

For InterFormer-Light and -Tiny shapes at 512x512 (random weights: speed
does not depend on them) and 1 and 2 threads, runs our `build/if-bench` and
`python3 -m torchref.bench` on the same input size, click count and thread
count, one after the other in this one process, and reports the ratios.
PyTorch runs on OpenBLAS (Debian's libopenblas0-pthread) — its best here:
the reference BLAS is about 15x slower.

Writes bench/results.json and the table between the bench markers of
README.md. Timings on a shared 2-core machine are noisy: read the ratios.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))
OUT = os.path.join(BUILD, "bench")
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
# Measured FMA peak of one core of this machine (GFLOP/s), per ISA.
PEAK_PER_CORE = {"avx512": 284.0, "avx2": 133.0}


def sh(cmd, env=None):
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stderr}")
    return r.stdout


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


def table(rows):
    head = ("| model | threads | encoder ms (C / PyTorch, speed-up) | decoder ms per click "
            "(C / PyTorch, speed-up) | C GFLOP/s enc / dec (% of FMA peak) | decoder arena MB | peak RSS MB |")
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        c, t = r["c"], r["torch"]
        lines.append(
            f"| {r['preset']} | {r['threads']} | {c['encoder_ms']:.0f} / {t['encoder_ms']:.0f}, "
            f"**{t['encoder_ms'] / c['encoder_ms']:.2f}x** | {c['decoder_click_ms']:.1f} / "
            f"{t['decoder_ms']:.1f}, **{t['decoder_ms'] / c['decoder_click_ms']:.2f}x** | "
            f"{c['encoder_gflops']:.0f} / {c['decoder_click_gflops']:.0f} "
            f"({r['enc_peak']:.0%} / {r['dec_peak']:.0%}) | {c['decoder_arena_mb']:.1f} | "
            f"{c['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="light,tiny")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--encoder-runs", type=int, default=3)
    ap.add_argument("--no-readme", action="store_true")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for preset in a.presets.split(","):
        prefix = models(preset)
        for threads in map(int, a.threads.split(",")):
            c = run_c(prefix, threads, a.clicks, a.encoder_runs)
            t = run_torch(preset, threads, a.clicks, a.encoder_runs)
            peak = PEAK_PER_CORE.get(c.get("isa", ""), 0) * threads
            row = {"preset": preset, "threads": threads, "c": c, "torch": t,
                   "encoder_speedup": t["encoder_ms"] / c["encoder_ms"],
                   "decoder_speedup": t["decoder_ms"] / c["decoder_click_ms"],
                   "enc_peak": c["encoder_gflops"] / peak if peak else 0.0,
                   "dec_peak": c["decoder_click_gflops"] / peak if peak else 0.0}
            rows.append(row)
            print(f"{preset} x{threads}: encoder {c['encoder_ms']:.0f} ms vs {t['encoder_ms']:.0f} ms "
                  f"({row['encoder_speedup']:.2f}x), decoder {c['decoder_click_ms']:.1f} ms vs "
                  f"{t['decoder_ms']:.1f} ms ({row['decoder_speedup']:.2f}x)", flush=True)
    with open(os.path.join(ROOT, "bench", "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    md = table(rows)
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
