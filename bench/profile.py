"""`make bench-profile`: where the Light decoder's per-click time goes, C next to ONNX Runtime.

    /usr/bin/python3 bench/profile.py [--preset light] [--threads 1] [--clicks 20]
                                      [--out docs/profile-vs-ort.md]

C: `IF_PROFILE=1 build/if-bench` (random-weight model of bench/run.py, 512x512,
one encoder run, --clicks clicks); its per-click breakdown by operator (ms
per click over all clicks) from stderr. ONNX Runtime: bench/ort_run.mjs
--profile on the exported per-click model (bench/export_onnx.py: the same
work as if_session_add_click, from the reference-label embedding to the
full-resolution logits), same threads, 2 warm-up runs then --clicks timed
runs with ORT's profiler on; per node, the mean of its "Node" events
(args.op_name, dur in us) over the timed runs. Both are then summed into
the groups of GROUPS: ORT's node types map to our operators only loosely
(GROUP_NOTES says how), and ORT's graph optimiser fuses and reorders, so
compare groups, not nodes.

Writes the markdown to --out (and prints it). On a shared machine the
timings are noisy: the document says the load average around the runs.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: models, ORT setup and export)

GROUPS = ["conv 1x1 + depthwise 3x3", "conv 3x3 dense", "attention (QK^T, softmax, xV)",
          "linear / gemm", "norms", "resize", "elementwise", "im2col / unfold",
          "adaptive pooling", "layout / copies", "other"]

GROUP_NOTES = """\
How the groups are made (C: the rows of IF_PROFILE=1; ORT: per node, from
its op type, its input shapes and its name in the exported graph):

- conv 1x1 + depthwise 3x3, conv 3x3 dense: C's CONV2D rows (by kernel and
  whether depthwise; activations are fused into them). C runs the decoder
  MLPs' 1x1 -> depthwise 3x3 -> 1x1 (+ residual add) as one fused kernel
  (runtime/fuse.c), so its 1x1 and depthwise convolutions are one group
  here; and UPerNet's concat, with the resizes that upsample its parts, as
  part of the 3x3 convolution that reads it (the upsampled parts convolved
  at their own resolution; ORT's Resize nodes of those parts are in
  "resize").
  ORT: Conv / FusedConv nodes by their weight shape (O, I/groups, kh, kw):
  depthwise when I/groups is 1 and the input has more than one channel; ORT
  fuses the ReLUs too.
- attention: C's ATTENTION (one fused node: QK^T, softmax, xV). ORT: Softmax
  and the MatMul / FusedMatMul nodes whose two inputs are both 4-D
  activations (QK^T with the scale fused, xV). The query/key/value and
  output projections are linear layers in both.
- linear / gemm: C's LINEAR. ORT: Gemm, and MatMul / FusedMatMul with a
  2-D weight (including the patch-merging reductions after the unfold).
- norms: C's GROUP_NORM, LAYER_NORM. ORT: LayerNormalization,
  InstanceNormalization, GroupNormalization (the GroupNorm export's reshape
  and affine Mul/Add land in layout / elementwise).
- resize: C's RESIZE_BILINEAR. ORT: Resize, Upsample.
- elementwise: C's ADD (and any other elementwise op). ORT: Add, Mul, Div,
  Sub, activations that were not fused, Cast, Where, Sqrt, Pow, Erf.
- im2col / unfold: C's IM2COL (patch merging's nn.Unfold). ORT: the Gather
  nodes the export makes of nn.Unfold (names with /sampler/).
- adaptive pooling: C's ADAPTIVE_MAX_POOL, ADAPTIVE_AVG_POOL. ORT: the
  export's Gather + ReduceMax / ReduceSum pools (bench/export_onnx.py), other
  Reduce* nodes.
- layout / copies: C's CONCAT_*, TOKENS_*, CROP, PASTE. ORT: Transpose,
  Reshape, Concat, Split, Slice, Pad, (Un)Squeeze, Expand, and the NCHWc
  layout's ReorderInput / ReorderOutput.
- other: C's REF_EMBED (the reference-label embedding; ORT: the Gather of
  the label into the embedding table) and anything not above.
"""

ELEMENTWISE = {"Add", "Mul", "Div", "Sub", "Relu", "Gelu", "FastGelu", "BiasGelu", "Erf",
               "Sigmoid", "Tanh", "Sqrt", "Pow", "Where", "Cast", "Clip", "Neg", "Exp",
               "QuickGelu", "Sum", "Max", "Min", "LeakyRelu", "HardSigmoid"}
LAYOUT = {"Transpose", "Reshape", "Concat", "Split", "Slice", "Pad", "Squeeze", "Unsqueeze",
          "Expand", "Identity", "ReorderInput", "ReorderOutput", "Flatten", "Tile", "Shape",
          "MemcpyFromHost", "MemcpyToHost"}


def c_group(name):
    """Group of one row of if-bench's IF_PROFILE=1 table."""
    if name.startswith("CONV2D"):
        if "depthwise" in name:
            return "conv 1x1 + depthwise 3x3" if "3x3" in name else "other"
        return {"1x1": "conv 1x1 + depthwise 3x3", "1x1+dw3x3+1x1": "conv 1x1 + depthwise 3x3",
                "3x3": "conv 3x3 dense"}.get(name.split()[1], "other")
    if name == "ATTENTION" or name == "VIT_ATTENTION":
        return "attention (QK^T, softmax, xV)"
    if name == "LINEAR":
        return "linear / gemm"
    if name.endswith("_NORM"):
        return "norms"
    if name.startswith("RESIZE"):
        return "resize"
    if name in ("ADD", "ACTIVATION", "MUL"):
        return "elementwise"
    if name == "IM2COL":
        return "im2col / unfold"
    if name.startswith("ADAPTIVE_"):
        return "adaptive pooling"
    if name.startswith("CONCAT") or name.startswith("TOKENS") or name in ("CROP", "PASTE"):
        return "layout / copies"
    return "other"


def ort_group(node):
    """Group of one ORT node (op type, input shapes, name)."""
    op, ins, name = node["op"], node["inputs"], node["name"]
    if op in ("Conv", "FusedConv", "NchwcConv") and len(ins) >= 2 and len(ins[1]) == 4:
        w, x = ins[1], ins[0]
        if w[1] == 1 and len(x) == 4 and x[1] > 1:
            return "conv 1x1 + depthwise 3x3" if w[2:] == [3, 3] else "other"
        return {(1, 1): "conv 1x1 + depthwise 3x3", (3, 3): "conv 3x3 dense"}.get(tuple(w[2:]),
                                                                                "other")
    if op == "Softmax":
        return "attention (QK^T, softmax, xV)"
    if op in ("MatMul", "FusedMatMul"):
        if len(ins) >= 2 and len(ins[0]) == 4 and len(ins[1]) == 4:
            return "attention (QK^T, softmax, xV)"
        return "linear / gemm"
    if op in ("Gemm", "FusedGemm", "MatMulNBits"):
        return "linear / gemm"
    if op in ("LayerNormalization", "InstanceNormalization", "GroupNormalization",
              "SimplifiedLayerNormalization", "SkipLayerNormalization"):
        return "norms"
    if op in ("Resize", "Upsample"):
        return "resize"
    if op in ELEMENTWISE:
        return "elementwise"
    if op == "Gather":
        if "/sampler" in name:
            return "im2col / unfold"
        if len(ins) >= 1 and len(ins[0]) == 2:        # the label's embedding table
            return "other"
        return "adaptive pooling"
    if op.startswith("Reduce"):
        return "adaptive pooling"
    if op in LAYOUT:
        return "layout / copies"
    return "other"


ROW = re.compile(r"^(\S.*?)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)%\s+([0-9.]+)$")


def run_c(prefix, threads, clicks):
    env = dict(os.environ, IF_PROFILE="1")
    r = subprocess.run([os.path.join(bench.BUILD, "if-bench"), "--encoder",
                        prefix + ".encoder.ifg", "--decoder", prefix + ".decoder.ifg", "--size",
                        str(bench.SIZE), "--threads", str(threads), "--clicks", str(clicks),
                        "--encoder-runs", "1"], cwd=bench.ROOT, env=env, capture_output=True,
                       text=True)
    if r.returncode:
        sys.exit(f"profile: if-bench failed:\n{r.stderr}")
    rows, table = [], False
    for ln in r.stderr.splitlines():  # the per-click table only (the encoder's comes first)
        if ln.split()[:2] in (["per-click", "op"], ["encoder", "op"]):
            table = ln.startswith("per-click op")
            continue
        m = ROW.match(ln.strip())
        if m and table:
            rows.append({"op": m.group(1).strip(), "nodes": int(m.group(2)),
                         "ms": float(m.group(3))})
    return bench.last_json(r.stdout), rows


def run_ort(preset, threads, runs):
    prof = os.path.join(bench.OUT, "profile")
    os.makedirs(prof, exist_ok=True)
    prefix = os.path.join(prof, f"ort-{preset}-click-x{threads}")
    for f in os.listdir(prof):     # old traces of this prefix
        if f.startswith(os.path.basename(prefix)) and f.endswith(".json"):
            os.unlink(os.path.join(prof, f))
    return bench.last_json(bench.sh(["node", os.path.join("bench", "ort_run.mjs"), "--model",
                                     os.path.join(bench.ONNX, f"{preset}.click.onnx"),
                                     "--inputs", os.path.join(bench.ONNX, f"{preset}.click"),
                                     "--threads", str(threads), "--runs", str(runs),
                                     "--warmup", "2", "--profile", prefix]))


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


def cpu_name():
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def document(a, c, c_rows, o, load0, load1):
    cg = {g: [0.0, 0, set()] for g in GROUPS}
    for r in c_rows:
        g = cg[c_group(r["op"])]
        g[0] += r["ms"]
        g[1] += r["nodes"]
        g[2].add(r["op"])
    og = {g: [0.0, 0, set()] for g in GROUPS}
    by_op = {}
    for n in o["profile"]["nodes"]:
        g = og[ort_group(n)]
        g[0] += n["us"] / 1e3
        g[1] += 1
        g[2].add(n["op"])
        t = by_op.setdefault(n["op"], [0.0, 0])
        t[0] += n["us"] / 1e3
        t[1] += 1
    c_total = sum(v[0] for v in cg.values())
    o_total = sum(v[0] for v in og.values())
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# Per-operator profile: InterFormer-C next to ONNX Runtime ({a.preset} decoder, "
           "per click)", "",
           "Generated by `make bench-profile` (`bench/profile.py`); do not edit by hand.", "",
           f"{a.preset.capitalize()} decoder's per-click part, {bench.SIZE}x{bench.SIZE}, random "
           f"weights, {a.threads} thread(s), {a.clicks} clicks / timed runs; measured {when} on "
           f"{cpu_name()} (C kernels: {c.get('isa', '?')}), ONNX Runtime "
           f"{o.get('ort', '?')} (onnxruntime-node, CPU provider, graph optimisation \"all\").",
           "",
           f"**Noisy:** a shared 2-core machine, other jobs running (load average "
           f"{' '.join(load0)} before, {' '.join(load1)} after). The two profiles are not "
           "taken at the same moment; read the shares and the large ratios, not the last "
           "digit.", "",
           f"Wall time per click in these profiled runs: C {c['decoder_click_ms']:.1f} ms "
           f"(median of if_session_add_click), ORT {o['median_ms']:.1f} ms (median of "
           f"session.run with the profiler on). Sum of the profiled operators: C "
           f"{c_total:.1f} ms, ORT {o_total:.1f} ms.", "",
           "| group | C ms / click | C nodes | ORT ms / run | ORT nodes | ORT / C | "
           "C ops | ORT ops |", "|---|---:|---:|---:|---:|---:|---|---|"]
    for g in GROUPS:
        cm, cn, cops = cg[g]
        om, on, oops = og[g]
        if not cn and not on:
            continue
        rat = f"{om / cm:.2f}x" if cm > 0.005 and om > 0.005 else "-"
        out.append(f"| {g} | {cm:.2f} | {cn} | {om:.2f} | {on} | {rat} | "
                   f"{', '.join(sorted(cops)) or '-'} | {', '.join(sorted(oops)) or '-'} |")
    out.append(f"| **total** | **{c_total:.2f}** | {sum(v[1] for v in cg.values())} | "
               f"**{o_total:.2f}** | {sum(v[1] for v in og.values())} | "
               f"{o_total / c_total:.2f}x | | |")
    slower = [f"{g} ({og[g][0] / cg[g][0]:.2f}x)" for g in GROUPS
              if cg[g][0] > 0.005 and og[g][0] > 0.005 and og[g][0] < cg[g][0]]
    out += ["", "ORT / C above 1: C is faster on that group. "
            + ("C is slower than ORT on: " + ", ".join(slower) + "." if slower
               else "C is not slower than ORT on any group."), "", GROUP_NOTES,
            "## C (IF_PROFILE=1), ms per click", "", "| op | nodes | ms / click |",
            "|---|---:|---:|"]
    out += [f"| {r['op']} | {r['nodes']} | {r['ms']:.3f} |" for r in c_rows]
    out += ["", "## ONNX Runtime (profiler, op_name), ms per run", "",
            "| op | nodes | ms / run |", "|---|---:|---:|"]
    out += [f"| {k} | {v[1]} | {v[0]:.3f} |"
            for k, v in sorted(by_op.items(), key=lambda kv: -kv[1][0])]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="light")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--out", default=os.path.join("docs", "profile-vs-ort.md"))
    a = ap.parse_args()
    os.makedirs(bench.OUT, exist_ok=True)
    why = bench.ort_setup()
    if why:
        sys.exit(f"profile: ONNX Runtime is needed: {why}")
    prefix = bench.models(a.preset)
    bench.ort_models(a.preset, ["click"])
    load0 = loadavg()
    c, c_rows = run_c(prefix, a.threads, a.clicks)
    o = run_ort(a.preset, a.threads, a.clicks)
    load1 = loadavg()
    md = document(a, c, c_rows, o, load0, load1)
    with open(os.path.join(bench.ROOT, a.out), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
