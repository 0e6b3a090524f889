"""Checkpoint -> converter -> IFG file -> C reader: every stored weight is what
the checkpoint says, after the transforms of format/FORMAT.md ("Transforms
applied by the converter").

For each golden case (tests/conftest.py finds them; skipped when absent) the
model is converted with --weights f32 and f16 (conftest's `converted`
fixture). The list of tensors comes from the C reader (`build/if-inspect
FILE`), and every CONST tensor's bytes are dumped by the C reader
(`if-inspect FILE --tensor NAME --raw OUT`) and compared with a value this
file computes on its own from the state_dict (torch.load when torch is
importable, else converter.checkpoint, which is only a zip/pickle reader):

* copies and pure layout changes (conv OIHW -> OHWI, conv-transpose
  (Ci, Co, kh, kw) -> (kh, kw, Co, Ci), cls_token / pos_embed reshaped to
  rank 2): bit-identical; in f16 files rank >= 2 tensors must be exactly
  np.float16 of the f32 value and rank-1 tensors stay f32, bit-identical;
* folded tensors (eval BatchNorm into the ConvModule's conv, ViT LayerScale
  gamma_1 / gamma_2 into attn.proj / ffn.layers.1): computed here in float64
  and compared with rtol 1e-6, atol 1e-7 (f32) or half an f16 ulp (f16).

Which transform a tensor gets is decided here from the tensor's name and the
official architecture (SimpleFPN rescales from the checkpoint's config), not
from the converter; the consumer op in the C listing must agree with it
(CONV2D vs CONV_TRANSPOSE2D). Every checkpoint key is accounted for by some
CONST except the ones FORMAT.md drops (auxiliary_head.*, num_batches_tracked,
relative_position_index) and the BN statistics / LayerScale gammas, which must
have been consumed by a fold. No CONST tensor goes unchecked, and the Python
parser (converter.inspect) must see the same records and bytes.

All CONST tensors of all cases are checked (no sampling): about 2,400
if-inspect runs, spread over a thread pool (each run re-reads and re-CRCs the
whole file, ~20 ms for the 20 MB tiny_decoder_zoom decoder).
"""

import concurrent.futures
import functools
import os
import re
import subprocess

import numpy as np
import pytest

from conftest import GOLDEN_CASES, ROOT, golden_case

BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))
INSPECT = os.path.join(BUILD, "if-inspect")
BN_EPS = 1e-5                      # FORMAT.md: eval BatchNorm eps of the model
F32_TOL = dict(rtol=1e-6, atol=1e-7)
# Half an f16 ulp (normal / subnormal), plus slack for the f64 -> f32 -> f16 double rounding.
F16_TOL = dict(rtol=2.0 ** -11 * (1 + 2.0 ** -10), atol=2.0 ** -25 * (1 + 2.0 ** -10))
DTYPES = {"f32": np.dtype("<f4"), "f16": np.dtype("<f2")}
DROPPED = re.compile(r"^auxiliary_head\.|\.num_batches_tracked$|\.relative_position_index$")
FOLDED_AWAY = re.compile(r"\.bn\.(weight|bias|running_mean|running_var)$|\.gamma_[12]$")


# -- the checkpoint, read independently of the converter's transforms --------

@functools.lru_cache(maxsize=None)
def load_checkpoint(case):
    """(state_dict name -> ndarray, config text or '') of a golden case."""
    path = os.path.join(golden_case(case), "model.pth")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:          # torch < 1.13: no weights_only
            ck = torch.load(path, map_location="cpu")
        meta = (ck.get("meta") or {}) if "state_dict" in ck else {}
        sd = ck["state_dict"] if "state_dict" in ck else ck
        sd = {k: v.detach().cpu().numpy() for k, v in sd.items()}
    else:
        from converter.checkpoint import load_checkpoint as read
        c = read(path)
        sd, meta = dict(c.state_dict), c.meta
    config = meta.get("config") if isinstance(meta, dict) else None
    return sd, config if isinstance(config, str) else ""


def fpn_rescales(config):
    m = re.search(r"rescales\s*=\s*[\(\[]([^\)\]]*)[\)\]]", config)
    if not m:
        return (4, 2, 1, 0.5)      # official SimpleFPN
    return tuple(float(x) for x in m.group(1).split(",") if x.strip())


def conv_transpose_weights(config):
    """SimpleFPN modules that are nn.ConvTranspose2d: x4 -> Sequential 0 and 3, x2 -> 0."""
    names = set()
    for j, r in enumerate(fpn_rescales(config)):
        mods = {4: (0, 3), 2: (0,)}.get(r, ())
        names |= {f"backbone.fpn.rescale_ops.{j}.{m}.weight" for m in mods}
    return names


def f64(a):
    return np.asarray(a, dtype=np.float64)


def expected_tensor(name, sd, convT):
    """(expected float array, 'exact' | 'folded', checkpoint keys used, op of a 4-d weight).

    Exact values are float32 (bit comparison), folded ones float64.
    """
    base, _, leaf = name.rpartition(".")
    # ViT LayerScale: y = gamma * (x W^T + b)  ->  rows of W and b scaled by gamma.
    m = re.fullmatch(r"(backbone\.layers\.\d+)\.(attn\.proj|ffn\.layers\.1)\.(weight|bias)", name)
    if m:
        gkey = f"{m.group(1)}.gamma_{1 if m.group(2) == 'attn.proj' else 2}"
        assert gkey in sd, f"{name}: checkpoint has no {gkey} to fold"
        g = f64(sd[gkey])
        v = f64(sd[name])
        v = v * g[:, None] if v.ndim == 2 else v * g
        return v, "folded", {name, gkey}, None
    # mmcv ConvModule: conv (no bias) + eval BatchNorm, stored under the module's name.
    if leaf in ("weight", "bias") and f"{base}.conv.weight" in sd and f"{base}.bn.weight" in sd:
        keys = {f"{base}.conv.weight", f"{base}.bn.weight", f"{base}.bn.bias",
                f"{base}.bn.running_mean", f"{base}.bn.running_var"}
        s = f64(sd[f"{base}.bn.weight"]) / np.sqrt(f64(sd[f"{base}.bn.running_var"]) + BN_EPS)
        if leaf == "weight":
            w = f64(sd[f"{base}.conv.weight"]) * s[:, None, None, None]
            return np.transpose(w, (0, 2, 3, 1)), "folded", keys, "CONV2D"
        b = f64(sd[f"{base}.bn.bias"]) - f64(sd[f"{base}.bn.running_mean"]) * s
        if f"{base}.conv.bias" in sd:
            keys.add(f"{base}.conv.bias")
            b = b + f64(sd[f"{base}.conv.bias"]) * s
        return b, "folded", keys, None
    assert name in sd, f"CONST {name} matches no checkpoint key"
    v = np.asarray(sd[name], dtype=np.float32)
    if name in ("backbone.cls_token", "backbone.pos_embed"):      # (1, N, E) -> (N, E)
        return v.reshape(-1, v.shape[-1]), "exact", {name}, None
    if v.ndim == 4:
        if name in convT:                                        # (Ci, Co, kh, kw) -> (kh, kw, Co, Ci)
            return np.transpose(v, (2, 3, 1, 0)), "exact", {name}, "CONV_TRANSPOSE2D"
        return np.transpose(v, (0, 2, 3, 1)), "exact", {name}, "CONV2D"   # OIHW -> OHWI
    return v, "exact", {name}, None


# -- the C reader's view ------------------------------------------------------

TENSOR_LINE = re.compile(r"^  #(\d+) +(\S+) +(f32|f16|u8|i32) +(const|value) +\(([^)]*)\)"
                         r"(?:  offset (\d+) nbytes (\d+))?$")
NODE_LINE = re.compile(r"^  #(\d+) +([A-Z0-9_]+) +(\S+): (.*) -> (\S+)(?:  .*)?$")
SUMMARY = re.compile(r"^parameters +(\d+) in (\d+) CONST tensors")


def c_listing(path):
    """(CONST name -> (dtype, shape, nbytes), tensor name -> [consumer ops], n_const)."""
    r = subprocess.run([INSPECT, path], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    consts, consumers, section, n_const = {}, {}, None, None
    for line in r.stdout.splitlines():
        if re.match(r"^(tensors|nodes) \(\d+\):$", line):
            section = line.split()[0]
            continue
        if not line.startswith("  "):
            section = None if line.strip() else section
            m = SUMMARY.match(line)
            if m:
                n_const = int(m.group(2))
            continue
        if section == "tensors":
            m = TENSOR_LINE.match(line)
            assert m, f"unparsed tensor line: {line!r}"
            if m.group(4) == "const":
                shape = tuple(int(d) for d in m.group(5).split(", "))
                assert m.group(2) not in consts, m.group(2)
                consts[m.group(2)] = (m.group(3), shape, int(m.group(7)))
        elif section == "nodes":
            m = NODE_LINE.match(line)
            assert m, f"unparsed node line: {line!r}"
            for k, t in enumerate(m.group(4).split(", ")):
                consumers.setdefault(t, []).append((m.group(2), k))
    assert n_const == len(consts), (n_const, len(consts))
    return consts, consumers


def c_raw(args):
    path, name, out = args
    r = subprocess.run([INSPECT, path, "--tensor", name, "--raw", out], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", (name, r.stderr)
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    return name, data


# -- the test -----------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def built():
    if not os.access(INSPECT, os.X_OK):
        pytest.fail(f"{INSPECT} is missing: run `make {os.path.relpath(INSPECT, ROOT)}` first")


def check_file(path, weights, sd, convT, tmp_path):
    """Checks every CONST of one file; returns (checkpoint keys used, counts)."""
    from converter.inspect import parse

    consts, consumers = c_listing(path)
    assert consts, f"{path}: no CONST tensors"
    with open(path, "rb") as f:
        py = {t.name: t for t in parse(f.read()).tensors if t.is_const}
    assert sorted(py) == sorted(consts), "C and Python readers list different CONSTs"

    jobs = [(path, n, str(tmp_path / f"{os.path.basename(path)}.{i}.bin"))
            for i, n in enumerate(consts)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
        raw = dict(ex.map(c_raw, jobs))

    used, counts = set(), {"exact": 0, "folded": 0, "f16": 0, "bytes": 0,
                           "max_abs": 0.0, "max_rel": 0.0, "max_tol": 0.0}
    for name, (dtype, shape, nbytes) in consts.items():
        want, how, keys, op = expected_tensor(name, sd, convT)
        where = f"{os.path.basename(path)}: {name}"
        assert shape == want.shape, f"{where}: stored shape {shape}, expected {want.shape}"
        ops = consumers.get(name, [])
        assert ops, f"{where}: CONST not used by any node"
        if op is not None:
            assert all(o == (op, 1) for o in ops), f"{where}: consumed by {ops}, expected {op}"
        # FORMAT.md: with --weights f16, rank >= 2 CONSTs are F16, rank 1 stays F32.
        want_dtype = "f16" if weights == "f16" and len(shape) >= 2 else "f32"
        assert dtype == want_dtype, f"{where}: stored as {dtype}, expected {want_dtype}"
        dt = DTYPES[dtype]
        data = raw[name]
        assert len(data) == nbytes == want.size * dt.itemsize, f"{where}: {len(data)} bytes"
        assert data == py[name].data.tobytes(), f"{where}: C and Python readers differ"
        got = np.frombuffer(data, dtype=dt).reshape(shape)
        if how == "exact":
            ref = np.asarray(want, dtype=np.float32).astype(dt)   # f16: round to nearest even
            if got.tobytes() != ref.tobytes():
                bad = np.argwhere(got.view(f"u{dt.itemsize}") != ref.view(f"u{dt.itemsize}"))
                i = tuple(bad[0])
                pytest.fail(f"{where}: {len(bad)} values differ (bitwise), first at {i}: "
                            f"{got[i]!r} instead of {ref[i]!r}")
        else:
            tol = F16_TOL if dtype == "f16" else F32_TOL
            err = np.abs(got.astype(np.float64) - want)
            lim = tol["atol"] + tol["rtol"] * np.abs(want)
            if not np.all(err <= lim):
                i = tuple(np.argwhere(err > lim)[0])
                pytest.fail(f"{where}: folded value {float(got[i])!r} at {i}, expected "
                            f"{float(want[i])!r} (|err| {float(err[i]):.3g} > {float(lim[i]):.3g})")
            # Reported, not asserted: relative error over the stored dtype's normal range
            # (f16 subnormals and underflow to 0 are covered by atol), and the worst
            # error as a fraction of its tolerance.
            nz = np.abs(want) >= np.finfo(dt).tiny
            counts["max_abs"] = max(counts["max_abs"], float(err.max(initial=0.0)))
            counts["max_rel"] = max(counts["max_rel"],
                                    float((err[nz] / np.abs(want[nz])).max(initial=0.0)))
            counts["max_tol"] = max(counts["max_tol"], float((err / lim).max(initial=0.0)))
        used |= keys
        counts[how] += 1
        counts["f16"] += dtype == "f16"
        counts["bytes"] += nbytes
    return used, counts


@pytest.mark.parametrize("weights", ["f32", "f16"])
@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_roundtrip(case, weights, converted, tmp_path):
    sd, config = load_checkpoint(case)
    convT = conv_transpose_weights(config)
    enc, dec = converted(case, weights)
    used, total = set(), {}
    for path in (enc, dec):
        u, counts = check_file(path, weights, sd, convT, tmp_path)
        assert not (u & used), f"checkpoint keys stored in both files: {sorted(u & used)[:5]}"
        used |= u
        for k, v in counts.items():
            total[k] = max(total.get(k, 0), v) if k.startswith("max_") else total.get(k, 0) + v

    # Every checkpoint key is in some CONST, except what FORMAT.md drops; the BN
    # statistics/affine and LayerScale gammas are not stored but must have been folded.
    missing = sorted(k for k in sd if k not in used and not DROPPED.search(k))
    assert not missing, f"{len(missing)} checkpoint keys in no CONST tensor: {missing[:8]}"
    assert not used - set(sd)
    assert any(FOLDED_AWAY.search(k) for k in used), "no folded BN / LayerScale tensor seen"
    assert total["folded"] > 0 and total["exact"] > 0
    if weights == "f16":
        assert total["f16"] > 0
    print(f"{case} {weights}: {total['exact']} exact + {total['folded']} folded CONSTs "
          f"({total['f16']} f16, {total['bytes']} bytes) cover {len(used)} of {len(sd)} "
          f"checkpoint keys; folded max |err| {total['max_abs']:.3g}, "
          f"max rel err {total['max_rel']:.3g} (normal range), max err/tolerance "
          f"{total['max_tol']:.3g}")
