"""The op-level tier (like ggml's test-backend-ops): every operator of the
format, as a one-node graph written with the converter's graph writer
(converter/ifg.py), run by the real executor (tests/op_run.c: if_model_load,
if_run_new's plan and arena, the thread pool, the image and click phases)
with every instruction set the machine has, at 1 and 2 threads, compared
with tests/ifg_reference.py, the NumPy interpreter of format/FORMAT.md.

The op list comes from converter.ifg.OPS: an operator without a case here
fails test_every_op_has_a_case. Sizes are odd on purpose (7x13 maps, 5 or 19
channels, 37 or 91 rows: no multiple of any register block or SIMD width)
and the cases reach every kernel path the runtime picks (CONV2D: pointwise
GEMM, implicit GEMM with and without the padded ring, Winograd, grouped,
depthwise, strided; LINEAR past the 256-wide k block; GROUP_NORM over more
than one 1024-pixel chunk; element-wise ops over more than one 4096-float
chunk, so that 2 threads split them).

Error measure: max |C - reference| / max |reference| (relative to the
output's magnitude), with a tolerance per case (Case.tol, the reasons in
TOL below). Outputs of pure data movement must be bit-exact.

Runner: $IF_OP_RUNNER (a command, e.g. "qemu-aarch64 build-arm/op_run"),
else $IF_BUILD/op_run (default build/op_run; `make test-py` builds it).
ISAs: $IF_OP_ISAS (space-separated; each listed one must be available:
`make test-arm` lists "scalar generic neon"), else all of scalar, generic,
avx2, avx512, neon, each skipped, with the runner's reason, where the
CPU or build does not have it.
"""

import math
import os
import shlex
import subprocess
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import ifg_reference
from converter import ifg, inspect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))
ALL_ISAS = ("scalar", "generic", "avx2", "avx512", "neon")
THREADS = (1, 2)
EPS32 = float(np.finfo(np.float32).eps)   # 1.19e-7

# Tolerances, relative to the output's largest magnitude. The reference
# computes in float64 (matrix products in float32), the runtime in float32.
TOL = {
    # copies, gathers, max: the same floats, bit for bit
    "exact": 0.0,
    # one f32 rounding per element (add, hardswish, bilinear's 2x2 weighted
    # sum: a handful of roundings of terms no larger than the output)
    "elementwise": 8 * EPS32,
    # GELU's erf: the SIMD kernels use a polynomial erf good to a few ulp
    # (measured: under 1 ulp of the output's magnitude on every ISA)
    "gelu": 16 * EPS32,
}


def dot_tol(k, extra=1.0):
    """A float32 sum of k products: the worst case grows like k * eps times
    the sum of |terms|, which for random data is ~sqrt(k) times the output;
    4 * sqrt(k) * eps relative to the largest output, times `extra` for
    transforms (Winograd's) that add their own roundings, has margin over
    what every ISA gives and is still ~100x below a wrong tap or channel."""
    return 4 * math.sqrt(k) * EPS32 * extra + 8 * EPS32


# Normalisations: mean and variance in float32 (or f64 sums) over up to a
# few thousand values, then a product: ~1e-6 relative.
NORM_TOL = 32 * EPS32
# Attention: dot products of head_dim terms, exp (SIMD polynomials, a few
# ulp), a sum of m exps and a weighted sum of m values (measured: ~3 ulp).
ATTN_TOL = 32 * EPS32


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


@dataclass
class Case:
    name: str
    op: str
    H: int
    W: int
    build: Callable   # (graph, rng) -> {input name: array}; the graph's output is "y"
    tol: float
    # Bit-identical results at 1 and 2 threads (row splits change who
    # computes a row, not how; CONV2D splits in blocks of 4 rows so that
    # Winograd's 4x4 tiles are those of one thread). Every case has it; the
    # field is there for an op that cannot promise it, with its reason.
    thread_exact: bool = True


CASES = []


def case(name, op, tol, H=7, W=13, thread_exact=True):
    def reg(fn):
        CASES.append(Case(name, op, H, W, fn, tol, thread_exact))
        return fn
    return reg


def new_graph():
    g = ifg.Graph(ifg.KIND_DECODER)
    g.meta_int("preprocess.pad_multiple", 1)   # lets the plan take 7x13
    return g


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def map_input(g, rng, name, c, H, W):
    """An (H, W, c) image-size map input on the graph's H and W symbols."""
    g.input(name, [ifg.H(), ifg.W(), ifg.C(c)])
    return randn(rng, H, W, c)


def fixed_input(g, rng, name, shape, scale=1.0):
    g.input(name, [ifg.C(d) for d in shape])
    return randn(rng, *shape, scale=scale)


def out(g, op, ins, rank, attrs=None):
    y = g.node(op.lower(), op, ins, "y", rank, attrs)
    g.output(y)
    return y


# -- CONV2D -----------------------------------------------------------------

def conv_case(name, H=7, W=13, ci=5, co=19, k=(3, 3), s=(1, 1), pad=(1, 1, 1, 1), groups=1,
              bias=True, act=ifg.ACT_NONE):
    wino = name.endswith("winograd")
    @case(name, "CONV2D", dot_tol(k[0] * k[1] * ci // groups, 3 if wino else 1), H, W)
    def build(g, rng):
        x = map_input(g, rng, "x", ci, H, W)
        wt = g.const("w", randn(rng, co, k[0], k[1], ci // groups))
        b = g.const("b", randn(rng, co)) if bias else None
        attrs = {"KERNEL": k, "STRIDE": s, "PAD": pad, "GROUPS": groups}
        if act != ifg.ACT_NONE:
            attrs["ACT"] = act
        out(g, "CONV2D", [g.names["x"], wt] + ([b] if bias else []), 3, attrs)
        return {"x": x}


conv_case("conv3x3_pad_relu", act=ifg.ACT_RELU)                     # implicit GEMM, padded ring
conv_case("conv3x3_nopad", pad=(0, 0, 0, 0), bias=False)           # implicit GEMM, rows in place
conv_case("conv3x3_winograd", H=45, W=47, ci=17, co=19)            # >= 2048 px, >= 16 channels
conv_case("conv1x1_gelu", ci=19, co=5, k=(1, 1), pad=(0, 0, 0, 0), bias=False,
          act=ifg.ACT_GELU)                                        # pointwise: one GEMM
conv_case("conv3x3_stride2_asym_hswish", co=7, s=(2, 2), pad=(1, 0, 2, 1),
          act=ifg.ACT_HARDSWISH)
conv_case("conv2x3_stride2x3", k=(2, 3), s=(2, 3), pad=(0, 0, 0, 0))   # patch-embedding shape
conv_case("conv3x3_grouped", ci=6, co=9, groups=3)
conv_case("conv3x3_depthwise_relu", ci=19, co=19, groups=19, act=ifg.ACT_RELU)
conv_case("conv5x5_depthwise_stride2", ci=5, co=5, groups=5, k=(5, 5), s=(2, 2),
          pad=(2, 2, 2, 2), bias=False)
conv_case("conv1x1_stride2_pad", ci=5, co=19, k=(1, 1), s=(2, 2), pad=(1, 1, 0, 0))


# -- CONV_TRANSPOSE2D -------------------------------------------------------

def convt_case(name, k, ci, co, bias):
    @case(name, "CONV_TRANSPOSE2D", dot_tol(ci))
    def build(g, rng):
        x = map_input(g, rng, "x", ci, 7, 13)
        ins = [g.names["x"], g.const("w", randn(rng, k[0], k[1], co, ci))]
        if bias:
            ins.append(g.const("b", randn(rng, co)))
        out(g, "CONV_TRANSPOSE2D", ins, 3, {"KERNEL": k, "STRIDE": k})
        return {"x": x}


convt_case("convt2x2_bias", (2, 2), 19, 5, True)
convt_case("convt2x3", (2, 3), 5, 19, False)


# -- LINEAR -----------------------------------------------------------------

def linear_case(name, xshape, n, bias, act=ifg.ACT_NONE, on_map=False):
    k = xshape[-1]
    tol = TOL["gelu"] + dot_tol(k) if act == ifg.ACT_GELU else dot_tol(k)

    @case(name, "LINEAR", tol)
    def build(g, rng):
        if on_map:
            x = map_input(g, rng, "x", k, 7, 13)
        else:
            x = fixed_input(g, rng, "x", xshape)
        ins = [g.names["x"], g.const("w", randn(rng, n, k, scale=k ** -0.5))]
        if bias:
            ins.append(g.const("b", randn(rng, n)))
        out(g, "LINEAR", ins, len(xshape), {"ACT": act} if act else None)
        return {"x": x}


linear_case("linear_bias", (37, 19), 23, True)
linear_case("linear_gelu_nobias", (37, 19), 23, False, ifg.ACT_GELU)
linear_case("linear_map_relu", (7, 13, 5), 19, True, ifg.ACT_RELU, on_map=True)   # m = 91
linear_case("linear_k300", (37, 300), 33, True, ifg.ACT_HARDSWISH)   # k over one 256 block


# -- normalisations ---------------------------------------------------------

@case("layer_norm_tokens", "LAYER_NORM", NORM_TOL)
def _(g, rng):
    x = fixed_input(g, rng, "x", (37, 19))
    x += 5   # an offset: mean and variance must not cancel badly
    out(g, "LAYER_NORM", [g.names["x"], g.const("w", randn(rng, 19)),
                          g.const("b", randn(rng, 19))], 2, {"EPS": 1e-6})
    return {"x": x}


@case("layer_norm_map", "LAYER_NORM", NORM_TOL)
def _(g, rng):
    x = map_input(g, rng, "x", 5, 7, 13)
    out(g, "LAYER_NORM", [g.names["x"], g.const("w", randn(rng, 5)),
                          g.const("b", randn(rng, 5))], 3, {"EPS": 1e-5})
    return {"x": x}


def gn_case(name, H, W, c, groups, act):
    @case(name, "GROUP_NORM", NORM_TOL + (TOL["gelu"] if act == ifg.ACT_GELU else 0), H, W)
    def build(g, rng):
        x = map_input(g, rng, "x", c, H, W) * 3 + 1
        attrs = {"GROUPS": groups, "EPS": 1e-5}
        if act:
            attrs["ACT"] = act
        out(g, "GROUP_NORM", [g.names["x"], g.const("w", randn(rng, c)),
                              g.const("b", randn(rng, c))], 3, attrs)
        return {"x": x.astype(np.float32)}


gn_case("group_norm_g4_gelu", 7, 13, 20, 4, ifg.ACT_GELU)
gn_case("group_norm_g1", 7, 13, 5, 1, ifg.ACT_NONE)
gn_case("group_norm_chunks_relu", 45, 47, 19, 19, ifg.ACT_RELU)   # 3 chunks of 1024 pixels


# -- element-wise -----------------------------------------------------------

ACT_NAMES = {ifg.ACT_NONE: "none", ifg.ACT_RELU: "relu", ifg.ACT_GELU: "gelu",
             ifg.ACT_HARDSWISH: "hardswish"}


def act_case(code, H, W):
    tol = TOL["gelu"] if code == ifg.ACT_GELU else \
        TOL["exact"] if code in (ifg.ACT_NONE, ifg.ACT_RELU) else TOL["elementwise"]

    @case(f"activation_{ACT_NAMES[code]}_{H}x{W}", "ACTIVATION", tol, H, W)
    def build(g, rng):
        x = map_input(g, rng, "x", 5, H, W) * 3
        x.flat[:9] = [-3, 3, 0, -0.0, -6, 6, 1e-30, -1e-30, 20]   # the kinks and tails
        out(g, "ACTIVATION", [g.names["x"]], 3, {"ACT": code})
        return {"x": x.astype(np.float32)}


for _code in ACT_NAMES:
    act_case(_code, 7, 13)
    act_case(_code, 45, 47)   # 10575 floats: three 4096-float chunks


def add_case(H, W):
    @case(f"add_{H}x{W}", "ADD", TOL["elementwise"], H, W)
    def build(g, rng):
        x, y = map_input(g, rng, "x", 5, H, W), map_input(g, rng, "x2", 5, H, W)
        out(g, "ADD", [g.names["x"], g.names["x2"]], 3)
        return {"x": x, "x2": y}


add_case(7, 13)
add_case(45, 47)


# -- concatenation, layout ------------------------------------------------

@case("concat_channels", "CONCAT_CHANNELS", TOL["exact"])
def _(g, rng):
    ins = {f"x{i}": map_input(g, rng, f"x{i}", c, 7, 13) for i, c in enumerate((5, 1, 19))}
    out(g, "CONCAT_CHANNELS", [g.names[k] for k in ins], 3)
    return ins


@case("concat_channels_one", "CONCAT_CHANNELS", TOL["exact"])
def _(g, rng):
    x = map_input(g, rng, "x", 5, 7, 13)
    out(g, "CONCAT_CHANNELS", [g.names["x"]], 3)
    return {"x": x}


@case("concat_tokens", "CONCAT_TOKENS", TOL["exact"])
def _(g, rng):
    ins = {"cls": fixed_input(g, rng, "cls", (1, 19)),
           "grid": map_input(g, rng, "grid", 19, 7, 13),
           "tok": fixed_input(g, rng, "tok", (5, 19))}
    out(g, "CONCAT_TOKENS", [g.names[k] for k in ins], 2)
    return ins


@case("tokens_to_grid", "TOKENS_TO_GRID", TOL["exact"])
def _(g, rng):
    ins = {"t": fixed_input(g, rng, "t", (1 + 7 * 13, 5)),
           "grid": map_input(g, rng, "grid", 1, 7, 13)}
    out(g, "TOKENS_TO_GRID", [g.names["t"], g.names["grid"]], 3)
    return ins


def im2col_case(name, k, s, pad):
    @case(name, "IM2COL", TOL["exact"])
    def build(g, rng):
        x = map_input(g, rng, "x", 5, 7, 13)
        out(g, "IM2COL", [g.names["x"]], 3, {"KERNEL": k, "STRIDE": s, "PAD": pad})
        return {"x": x}


im2col_case("im2col_3x3_stride2_pad", (3, 3), (2, 2), (1, 0, 1, 2))
im2col_case("im2col_2x3", (2, 3), (1, 1), (0, 0, 0, 0))


# -- resizing and pooling -------------------------------------------------

def resize_case(name, H, W, oh, ow):
    @case(name, "RESIZE_BILINEAR", TOL["elementwise"], H, W)
    def build(g, rng):
        x = map_input(g, rng, "x", 5, H, W)
        like = fixed_input(g, rng, "like", (oh, ow, 1))
        out(g, "RESIZE_BILINEAR", [g.names["x"], g.names["like"]], 3)
        return {"x": x, "like": like}


resize_case("resize_up", 7, 13, 19, 23)
resize_case("resize_down", 45, 47, 7, 13)
resize_case("resize_x4", 7, 13, 28, 52)
resize_case("resize_same", 7, 13, 7, 13)


def pool_case(name, op, attrs, tol):
    @case(name, op, tol)
    def build(g, rng):
        x = map_input(g, rng, "x", 19, 7, 13)
        out(g, op, [g.names["x"]], 3, attrs)
        return {"x": x}


# AVG: a float32 sum of up to a whole row or map, then a division.
pool_case("avg_pool_3x5", "ADAPTIVE_AVG_POOL", {"OUT_SIZE": (3, 5)}, dot_tol(7 * 13))
pool_case("avg_pool_global", "ADAPTIVE_AVG_POOL", {"OUT_SIZE": (1, 1)}, dot_tol(7 * 13))
pool_case("avg_pool_9x2_overlap", "ADAPTIVE_AVG_POOL", {"OUT_SIZE": (9, 2)}, dot_tol(7 * 13))
pool_case("max_pool_3x5", "ADAPTIVE_MAX_POOL", {"OUT_SIZE": (3, 5)}, TOL["exact"])
pool_case("max_pool_limit", "ADAPTIVE_MAX_POOL", {"POOL_LIMIT": (3.0, 5.5)}, TOL["exact"])
pool_case("max_pool_limit_over", "ADAPTIVE_MAX_POOL", {"POOL_LIMIT": (20.0, 2.5)}, TOL["exact"])


# -- attention --------------------------------------------------------------

def attn_case(name, qshape, m, heads, on_map=False):
    c = qshape[-1]

    @case(name, "ATTENTION", ATTN_TOL)
    def build(g, rng):
        q = map_input(g, rng, "q", c, 7, 13) if on_map else fixed_input(g, rng, "q", qshape)
        kv = fixed_input(g, rng, "kv", (m, 2 * c))
        out(g, "ATTENTION", [g.names["q"], g.names["kv"]], len(qshape),
            {"HEADS": heads, "SCALE": (c // heads) ** -0.5})
        return {"q": q, "kv": kv}


attn_case("attention_tokens_4heads", (37, 20), 23, 4)
attn_case("attention_map_1head", (7, 13, 19), 5, 1, on_map=True)
attn_case("attention_m1", (37, 15), 1, 3)


def vit_case(name, h, w, gh, gw, heads=3, c=15, on_map=False):
    @case(name, "VIT_ATTENTION", ATTN_TOL, h if on_map else 7, w if on_map else 13)
    def build(g, rng):
        n = 1 + h * w
        r = (2 * gh - 1) * (2 * gw - 1) + 3
        ins = {"qkv": fixed_input(g, rng, "qkv", (n, 3 * c))}
        if on_map:
            ins["grid"] = map_input(g, rng, "grid", 1, h, w)
        else:
            ins["grid"] = fixed_input(g, rng, "grid", (h, w, 1))
        table = g.const("table", randn(rng, r, heads))
        out(g, "VIT_ATTENTION", [g.names["qkv"], table, g.names["grid"]], 2,
            {"HEADS": heads, "SCALE": (c // heads) ** -0.5, "WINDOW": (gh, gw)})
        return ins


vit_case("vit_attention_native", 3, 4, 3, 4)
vit_case("vit_attention_flat", 3, 4, 2, 6)        # h*w == Gh*Gw: flat index
vit_case("vit_attention_double", 6, 8, 3, 4)      # n == 2G: i >> 1
vit_case("vit_attention_nearest", 7, 13, 4, 6, heads=5, c=25, on_map=True)


def tfg_case(name, H, W, gh, gw):
    @case(name, "TOKENS_FROM_GRID", TOL["elementwise"], H, W)
    def build(g, rng):
        x = map_input(g, rng, "x", 5, H, W)
        cls = g.const("cls", randn(rng, 1, 5))
        pos = g.const("pos", randn(rng, 1 + gh * gw, 5))
        out(g, "TOKENS_FROM_GRID", [g.names["x"], cls, pos], 2, {"WINDOW": (gh, gw)})
        return {"x": x}


tfg_case("tokens_from_grid_native", 7, 13, 7, 13)
tfg_case("tokens_from_grid_flat", 7, 13, 13, 7)
tfg_case("tokens_from_grid_double", 8, 12, 4, 6)
tfg_case("tokens_from_grid_nearest", 7, 13, 4, 6)


# -- decoder ops --------------------------------------------------------------

def ref_embed_case(name, H, W, h, w):
    @case(name, "REF_EMBED", TOL["elementwise"], H, W)
    def build(g, rng):
        g.input("labels", [ifg.H(), ifg.W()], ifg.DT_U8, ifg.IN_PER_CLICK)
        labels = rng.integers(0, 5, size=(H, W), dtype=np.uint8)
        like = fixed_input(g, rng, "like", (h, w, 1))
        table = g.const("table", randn(rng, 5, 19))
        out(g, "REF_EMBED", [g.names["labels"], table, g.names["like"]], 3)
        return {"labels": labels, "like": like}


ref_embed_case("ref_embed_same", 7, 13, 7, 13)
ref_embed_case("ref_embed_down", 45, 47, 11, 12)


def roi_input(g):
    g.input("roi", [ifg.C(4)], ifg.DT_I32, ifg.IN_PER_CLICK | ifg.IN_OPTIONAL)
    return g.names["roi"]


def crop_case(name, stride, roi):
    @case(name, "CROP", TOL["exact"])
    def build(g, rng):
        x = map_input(g, rng, "x", 5, 7, 13)
        out(g, "CROP", [g.names["x"], roi_input(g)], 3, {"STRIDE": stride})
        ins = {"x": x}
        if roi is not None:
            ins["roi"] = np.array(roi, dtype=np.int32)
        return ins


crop_case("crop_roi_stride2", 2, [4, 2, 18, 12])
crop_case("crop_roi_stride1", 1, [0, 6, 13, 7])
crop_case("crop_no_roi", 4, None)


def paste_case(name, stride, roi):
    # With a ROI the patch must have the window's shape, which only the ROI
    # gives at run time: the patch is a CROP of a second map (two nodes).
    @case(name, "PASTE", TOL["exact"])
    def build(g, rng):
        base = map_input(g, rng, "base", 5, 7, 13)
        src = map_input(g, rng, "src", 5, 7, 13)
        r = roi_input(g)
        patch = g.node("crop", "CROP", [g.names["src"], r], "patch", 3, {"STRIDE": stride})
        out(g, "PASTE", [g.names["base"], patch, r], 3, {"STRIDE": stride})
        ins = {"base": base, "src": src}
        if roi is not None:
            ins["roi"] = np.array(roi, dtype=np.int32)
        return ins


paste_case("paste_roi_stride2", 2, [4, 2, 18, 12])
paste_case("paste_no_roi", 2, None)


@case("paste_no_roi_input", "PASTE", TOL["exact"])
def _(g, rng):
    ins = {"base": map_input(g, rng, "base", 5, 7, 13),
           "patch": map_input(g, rng, "patch", 5, 7, 13)}
    out(g, "PASTE", [g.names["base"], g.names["patch"], None], 3, {"STRIDE": 1})
    return ins


# ---------------------------------------------------------------------------

CASE_BY_NAME = {c.name: c for c in CASES}


def test_every_op_has_a_case():
    covered = {c.op for c in CASES}
    missing = [op for op in ifg.OPS if op not in covered]
    assert not missing, "".join(f"op {op} has no op-level case in tests/test_ops.py\n"
                                for op in missing)
    unknown = covered - set(ifg.OPS)
    assert not unknown, f"cases of ops that converter/ifg.py OPS does not have: {unknown}"
    assert len(CASE_BY_NAME) == len(CASES), "two cases share a name"


def runner_cmd():
    cmd = os.environ.get("IF_OP_RUNNER")
    if cmd:
        return shlex.split(cmd)
    path = os.path.join(BUILD, "op_run")
    if not os.path.exists(path):
        pytest.skip(f"{path} is not built (make BUILD={os.path.relpath(BUILD, ROOT)} "
                    f"{os.path.relpath(path, ROOT)}, or make test-py)")
    return [path]


def requested_isas():
    env = os.environ.get("IF_OP_ISAS")
    return tuple(env.split()) if env else ALL_ISAS


_prepared = {}


def prepare(c, root):
    """Writes the case's graph and inputs under root once; returns
    (graph path, {input: npy path}, {output: reference array})."""
    if c.name in _prepared:
        return _prepared[c.name]
    d = root / c.name
    d.mkdir()
    g = new_graph()
    inputs = c.build(g, _rng(c.name))
    path = str(d / "graph.ifg")
    g.write(path)
    f = inspect.read(path)   # the file as the format's reader sees it
    assert c.op in {n.op for n in f.nodes}, f"case {c.name} has no {c.op} node"
    files = {}
    for k, v in inputs.items():
        files[k] = str(d / f"{k}.npy")
        np.save(files[k], v)
    ref = ifg_reference.run(f, inputs)
    _prepared[c.name] = (path, files, ref)
    return _prepared[c.name]


@pytest.fixture(scope="module")
def case_root(tmp_path_factory):
    return tmp_path_factory.mktemp("ops")


def rel_error(got, want):
    mag = float(np.max(np.abs(want))) if want.size else 0.0
    err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    return err / mag if mag > 0 else err


@pytest.mark.parametrize("isa", requested_isas())
@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_op(name, isa, case_root, tmp_path):
    c = CASE_BY_NAME[name]
    cmd = runner_cmd()
    graph, files, ref = prepare(c, case_root)
    args = [graph, str(c.H), str(c.W), isa, ",".join(map(str, THREADS)), str(tmp_path)]
    args += [f"{k}={v}" for k, v in files.items()] + list(ref)
    r = subprocess.run(cmd + args, capture_output=True, text=True, timeout=300)
    if r.returncode == 77:
        if "IF_OP_ISAS" in os.environ:
            pytest.fail(f"{isa} was asked for ($IF_OP_ISAS) but {r.stdout.strip()}")
        pytest.skip(f"{isa} not on this machine: {r.stdout.strip()}"
                    + (" (make test-arm runs it under qemu)" if isa == "neon" else ""))
    assert r.returncode == 0, f"op_run failed ({r.returncode}): {r.stderr}{r.stdout}"
    used = [line.split()[1] for line in r.stdout.splitlines() if line.startswith("isa ")]
    assert used == [isa] * len(THREADS), f"asked for {isa}, the runner used {used}"
    outs = {}
    for t in THREADS:
        for k, want in ref.items():
            got = np.load(tmp_path / f"{k}.t{t}.npy")
            what = f"{c.name} ({c.op}) {k}, {isa}, {t} thread(s)"
            assert got.shape == want.shape, f"{what}: shape {got.shape}, reference {want.shape}"
            assert np.all(np.isfinite(got)), f"{what}: non-finite values"
            e = rel_error(got, want)
            assert e <= c.tol, f"{what}: max error {e:.3g} of the output's magnitude > {c.tol:.3g}"
            outs[(k, t)] = got
    for k in ref if c.thread_exact else ():
        a, b = outs[(k, THREADS[0])], outs[(k, THREADS[-1])]
        assert np.array_equal(a, b), (f"{c.name} {k}, {isa}: {THREADS[0]} and {THREADS[-1]} "
                                      f"threads differ by up to {np.max(np.abs(a - b)):.3g}")
