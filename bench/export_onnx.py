"""Export InterFormer (torchref) to ONNX for the ONNX Runtime baseline of `make bench`.

    /usr/bin/python3 bench/export_onnx.py --preset light|tiny [--size 512] \\
        [--parts encoder,click] [--out build/bench/onnx] [--check NODE_RUNNER]

Writes, for random weights (`randomize_(0)`, as bench/run.py converts for
the C runtime) and a fixed S x S input:

  <preset>.encoder.onnx   img (1, 3, S, S) -> F1..F4                (per image)
  <preset>.click.onnx     ref_label (1, S, S) int64, F1, kv0..kv3
                          -> logits (1, 2, S, S)                      (per click)
  <preset>.encoder/*.npy, <preset>.click/*.npy   the inputs of each model and
                          PyTorch's outputs for them (out_*.npy)

The decoder is split like the C runtime's plan (runtime/plan.c: a node is
per-click when it depends on the click input): the only decoder work that
depends on the image alone is, in each IMSA level, the keys/values of the
first PoolingBlock (kv_in is the raw backbone feature F_i: GroupNorm,
adaptive max pools + depthwise convs, LayerNorm, key/value projection). The
per-click model takes those projected keys/values (kv_i, (1, M_i, 2 C_i))
as inputs, computed here once in PyTorch, so ONNX Runtime's per-click time
covers the same work as `if_session_add_click`: everything from the
reference-label embedding to the full-resolution logits. No zoom-in ROI.

torch.onnx.export (opset 17) refuses adaptive pooling whose bins are not a
plain MaxPool/AveragePool; this export-only wrapper computes them exactly
as PyTorch bins them (start = floor(i*n/s), end = ceil((i+1)*n/s)): per
axis, one Gather of the bins' indices padded to the longest bin, then a
ReduceMax (max pools: a repeated index does not change a max) or a masked
ReduceSum divided by the bin length (average pools). Max pooling is then
bit-exact; average pooling differs from PyTorch's by rounding only.

With --check, runs each exported model on its inputs with ONNX Runtime
(bench/ort_run.mjs via node; the path of the runner is the argument),
prints the max abs difference from PyTorch and fails above --tol (5e-5)
times max(1, the output's max |x|). The `onnx` Python package is not
needed. Constant folding stores the encoder's relative position bias
gathered per layer ((heads, 1+N, 1+N)), so its file is larger than the
weights.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from torchref.layers import map_to_tokens, resize  # noqa: E402
from torchref.model import InterFormer  # noqa: E402

PRESETS = {"light": InterFormer.light, "tiny": InterFormer.tiny, "small": InterFormer.small}
OPSET = 17


# ------------------------------------------------------------ adaptive pooling

def _bins(n, s):
    """Gather indices (s * L,), 0/1 mask (s, L) and lengths (s,) of PyTorch's adaptive
    bins of n cells into s: bin i = [floor(i*n/s), ceil((i+1)*n/s)), padded to the
    longest bin L by repeating its last index."""
    starts = [(i * n) // s for i in range(s)]
    ends = [-((-(i + 1) * n) // s) for i in range(s)]
    L = max(e - b for b, e in zip(starts, ends))
    idx = [[min(b + j, e - 1) for j in range(L)] for b, e in zip(starts, ends)]
    mask = [[1.0 if b + j < e else 0.0 for j in range(L)] for b, e in zip(starts, ends)]
    return (torch.tensor(idx, dtype=torch.int64).reshape(-1), torch.tensor(mask),
            torch.tensor([float(e - b) for b, e in zip(starts, ends)]), L)


def adaptive_pool2d(x, size, mode):
    """F.adaptive_{max,avg}_pool2d(x, size) as Gather + ReduceMax/ReduceSum, axis by axis."""
    for axis, s in ((2, size[0]), (3, size[1])):
        n = int(x.shape[axis])
        if n == s:
            continue
        idx, mask, length, L = _bins(n, s)
        shape = [int(d) for d in x.shape]
        g = x.index_select(axis, idx)                             # (.., s*L, ..)
        g = g.reshape(shape[:axis] + [s, L] + shape[axis + 1:])    # (.., s, L, ..)
        if mode == "max":
            x = g.amax(dim=axis + 1)
        else:
            view = [s, L] + [1] * (len(shape) - axis - 1)
            x = (g * mask.reshape(view)).sum(dim=axis + 1) / length.reshape(view[:1] + view[2:])
    return x


class GatherAvgPool2d(nn.Module):
    """nn.AdaptiveAvgPool2d(s) for export (PPM)."""

    def __init__(self, size):
        super().__init__()
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def forward(self, x):
        return adaptive_pool2d(x, self.size, "avg")


# ------------------------------------------------------------ decoder split

def kv_project(attn, kv_in):
    """PoolingAttention's key/value path: (1, C, h, w) normalised kv map -> (1, M, 2C)."""
    kvs = []
    h, w = (int(n) for n in kv_in.shape[-2:])            # ints while tracing, too
    for size, dconv in zip(attn.pooled_sizes(h, w), attn.dconvs):
        kv = kv_in if size is None else adaptive_pool2d(kv_in, size, "max")
        kvs.append(map_to_tokens(kv + dconv(kv)))
    return attn.key_value_proj(attn.norm(torch.cat(kvs, dim=1)))


def attend(attn, x, kv):
    """PoolingAttention.forward with the projected keys/values given."""
    B, C, hd, wd = x.shape
    q = attn.query_proj(map_to_tokens(x))
    k, v = kv.chunk(2, dim=-1)

    def heads(t):
        return t.reshape(B, t.shape[1], attn.num_heads, -1).transpose(1, 2)

    a = ((heads(q) @ heads(k).transpose(-2, -1)) * attn.scale).softmax(dim=-1)
    out = (a @ heads(v)).transpose(1, 2).reshape(B, hd * wd, C)
    return attn.proj(out).transpose(1, 2).reshape(B, C, hd, wd)


def block_forward(block, x, kv=None):
    """PoolingBlock.forward (eval); kv: the cached keys/values, else from x itself."""
    if kv is None:
        kv = kv_project(block.attn, block.norm_kv(x))
    x = x + attend(block.attn, block.norm1(x), kv)
    return x + block.mlp(block.norm2(x))


@torch.no_grad()
def image_part(model, feats):
    """The decoder's per-image tensors: kv_i of each level's first block (from F_i)."""
    out = []
    for i, stage in enumerate(model.neck.stages):
        b = stage.blocks[0]
        out.append(kv_project(b.attn, b.norm_kv(feats[i])))
    return out


class PerClick(nn.Module):
    """(ref_label, F1, kv0..kv3) -> logits (1, 2, S, S); no zoom-in ROI."""

    def __init__(self, model):
        super().__init__()
        self.neck, self.head = model.neck, model.decode_head
        for seq in self.head.psp_modules:
            if isinstance(seq[0], nn.AdaptiveAvgPool2d):
                seq[0] = GatherAvgPool2d(seq[0].output_size)

    def forward(self, ref_label, f1, kv0, kv1, kv2, kv3):
        neck, kvs = self.neck, (kv0, kv1, kv2, kv3)
        x = neck.ref_embed(f1, ref_label)
        outs = []
        for i, stage in enumerate(neck.stages):
            for j, block in enumerate(stage.blocks):
                x = block_forward(block, x, kvs[i] if j == 0 else None)
            out = x
            if stage.downsample is not None:
                x = stage.downsample(x)
            refine = neck.refine_stages[i]
            for block in getattr(refine, "blocks", ()):
                out = block_forward(block, out)
            outs.append(getattr(neck, f"norm{i}")(out))
        size = (int(f1.shape[2]) * 4, int(f1.shape[3]) * 4)
        return resize(self.head(outs), size)


class Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.backbone = model.backbone

    def forward(self, img):
        return self.backbone(img)


# ------------------------------------------------------------ export, check

def save_npys(folder, named):
    os.makedirs(folder, exist_ok=True)
    for name, t in named.items():
        np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(t.numpy()))


def pool_check(seed=0):
    """Max abs diff of adaptive_pool2d from PyTorch's adaptive pools on a random map."""
    x = torch.randn(2, 5, 17, 13, generator=torch.Generator().manual_seed(seed))
    worst = {"max": 0.0, "avg": 0.0}
    for size in ((1, 1), (2, 2), (3, 3), (6, 6), (5, 7), (11, 4), (17, 13)):
        worst["max"] = max(worst["max"], float(
            (adaptive_pool2d(x, size, "max") - F.adaptive_max_pool2d(x, size)).abs().max()))
        worst["avg"] = max(worst["avg"], float(
            (adaptive_pool2d(x, size, "avg") - F.adaptive_avg_pool2d(x, size)).abs().max()))
    return worst


def export(module, args, in_names, out_names, path):
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    torch.onnx.export(module, args, path, opset_version=OPSET, input_names=in_names,
                      output_names=out_names, do_constant_folding=True)


def check(runner, model_path, folder, out_names):
    """Run the ONNX model on its saved inputs with ONNX Runtime; max abs diff per output."""
    dump = folder + ".ort"
    cmd = ["node", runner, "--model", model_path, "--inputs", folder, "--runs", "1",
           "--warmup", "0", "--dump", dump]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"export_onnx: {' '.join(cmd)} failed:\n{r.stderr}")
    diffs, scale = {}, {}
    for name in out_names:
        ref = np.load(os.path.join(folder, "out_" + name + ".npy"))
        got = np.load(os.path.join(dump, name + ".npy"))
        if got.shape != ref.shape:
            raise SystemExit(f"export_onnx: {name}: ORT shape {got.shape}, PyTorch {ref.shape}")
        diffs[name] = float(np.abs(got.astype(np.float64) - ref).max())
        scale[name] = float(np.abs(ref).max())
    return diffs, scale


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="light")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--parts", default="encoder,click")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "onnx"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", metavar="ORT_RUN_MJS",
                    help="compare ONNX Runtime's outputs with PyTorch's (bench/ort_run.mjs)")
    ap.add_argument("--tol", type=float, default=5e-5,
                    help="--check fails above tol x max(1, max |output|) (float32 rounding)")
    a = ap.parse_args(argv)
    parts = a.parts.split(",")
    S = a.size
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(a.seed)
    model = PRESETS[a.preset]().randomize_(a.seed).eval()
    g = torch.Generator().manual_seed(a.seed + 1)
    img = torch.randn(1, 3, S, S, generator=g)
    report = {"preset": a.preset, "size": S, "opset": OPSET, "max_abs_diff": {},
              "gather_pool_vs_torch": pool_check(a.seed)}
    print(f"gather pools vs F.adaptive_*_pool2d max abs diff: max "
          f"{report['gather_pool_vs_torch']['max']:.3g}, avg "
          f"{report['gather_pool_vs_torch']['avg']:.3g}", flush=True)
    with torch.no_grad():
        feats = model.encode(img)
        fnames = [f"F{i + 1}" for i in range(len(feats))]
        models = []
        if "encoder" in parts:
            path = os.path.join(a.out, f"{a.preset}.encoder.onnx")
            export(Encoder(model), (img,), ["img"], fnames, path)
            folder = os.path.join(a.out, f"{a.preset}.encoder")
            save_npys(folder, {"img": img})
            save_npys(folder, {"out_" + n: f for n, f in zip(fnames, feats)})
            models.append(("encoder", path, folder, fnames))
        if "click" in parts:
            kvs = image_part(model, feats)
            ref = torch.randint(0, model.neck.num_ref_modes, (1, S, S), generator=g)
            pc = PerClick(model).eval()
            want = model.decode(feats, ref)                  # the unsplit PyTorch decoder
            got = pc(ref, feats[0], *kvs)
            split_diff = float((got - want).abs().max())
            print(f"{a.preset} click: PyTorch split+gather-pool vs model.decode max abs diff "
                  f"{split_diff:.3g}", flush=True)
            report["split_vs_torch"] = split_diff
            in_names = ["ref_label", "F1", "kv0", "kv1", "kv2", "kv3"]
            path = os.path.join(a.out, f"{a.preset}.click.onnx")
            export(pc, (ref, feats[0], *kvs), in_names, ["logits"], path)
            folder = os.path.join(a.out, f"{a.preset}.click")
            save_npys(folder, dict(zip(in_names, (ref, feats[0], *kvs))))
            save_npys(folder, {"out_logits": want})
            models.append(("click", path, folder, ["logits"]))
    for part, path, folder, outs in models:
        print(f"{a.preset} {part}: {path} ({os.path.getsize(path) / 1e6:.0f} MB)", flush=True)
        if a.check:
            d, scale = check(a.check, path, folder, outs)
            report["max_abs_diff"][part] = d
            print(f"{a.preset} {part}: ONNX Runtime vs PyTorch max abs diff "
                  + ", ".join(f"{k} {v:.3g} (max |x| {scale[k]:.3g})" for k, v in d.items()),
                  flush=True)
            for k, v in d.items():
                if not math.isfinite(v) or v > a.tol * max(1.0, scale[k]):
                    raise SystemExit(f"export_onnx: {a.preset} {part} {k}: diff {v:.3g} > "
                                     f"{a.tol} x max(1, max |x| = {scale[k]:.3g})")
    path = os.path.join(a.out, f"{a.preset}.export.json")   # merged with earlier parts' diffs
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        if old.get("size") == S:
            report["max_abs_diff"] = {**old.get("max_abs_diff", {}), **report["max_abs_diff"]}
            report.setdefault("split_vs_torch", old.get("split_vs_torch"))
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
