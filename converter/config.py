"""Model hyper-parameters: mmseg config files, parsed safely, and built-ins.

InterFormer checkpoints carry their training config as Python text
(`meta['config']`); the official repository ships configs as Python files
with `_base_` inheritance. mmcv executes those files. We must not: a config
is input, so it is parsed with `ast` and only a data subset is evaluated:

  * statements: assignments to names (`a = ...`, `a = b = ...`); imports and
    bare expressions (docstrings) are ignored; anything else is an error;
  * expressions: literals, `dict(...)` / `{...}`, lists, tuples, `list(x)` /
    `tuple(x)`, names of variables assigned earlier in the same file, unary
    +/-/not, arithmetic on numbers, `+` on sequences and subscripts.

A value we cannot evaluate (say a call to an unknown function) does not fail
the parse: it becomes an `Unevaluable` placeholder, and only fails the
conversion if the model description actually reads it.

`_base_` files are resolved relative to the including file and merged the
way mmcv does: base files into one dict (duplicate keys among bases are an
error), then the child on top, dicts merged recursively, a child dict with
`_delete_=True` replacing the base value outright. mmcv's `{{_base_.a.b}}`
references read the merged base files.

`model_config()` then turns the merged dict into the typed `ModelConfig` the
graph builders use, checking every value the converter depends on.
"""

import ast
import copy
import math
import os
from dataclasses import dataclass
from typing import Optional, Tuple

from .errors import ConversionError

MAX_SEQUENCE = 1 << 20  # cap on sequences built by `*` / `+`, against memory bombs


class Unevaluable:
    """Placeholder for a config value the safe evaluator does not handle."""

    def __init__(self, where, what):
        self.where, self.what = where, what

    def __repr__(self):
        return f"<unevaluable {self.what} at {self.where}>"

    def __deepcopy__(self, memo):
        return self


class ConfigError(ConversionError):
    pass


# ---------------------------------------------------------------------------
# Safe evaluation of one file
# ---------------------------------------------------------------------------

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b,
}


class _Evaluator:
    def __init__(self, filename, base=None):
        self.filename = filename
        self.base = base or {}   # merged _base_ files, for {{_base_.x}} references
        self.names = {}

    def where(self, node):
        return f"{self.filename}:{getattr(node, 'lineno', '?')}"

    def unevaluable(self, node, what):
        return Unevaluable(self.where(node), what)

    def run(self, tree):
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                value = self.eval(stmt.value)
                for target in stmt.targets:
                    self.assign(target, value)
            elif isinstance(stmt, ast.AnnAssign):
                if stmt.value is not None:
                    self.assign(stmt.target, self.eval(stmt.value))
            elif isinstance(stmt, (ast.Expr, ast.Import, ast.ImportFrom, ast.Pass)):
                continue  # docstrings, custom_imports-style imports: no data
            else:
                raise ConfigError(
                    f"{self.where(stmt)}: unsupported statement '{type(stmt).__name__}' "
                    "(configs are parsed as data, not executed)")
        return self.names

    def assign(self, target, value):
        if isinstance(target, ast.Name):
            self.names[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (tuple, list)) \
                and len(target.elts) == len(value):
            for t, v in zip(target.elts, value):
                self.assign(t, v)
        else:
            raise ConfigError(f"{self.where(target)}: unsupported assignment target "
                              f"'{type(target).__name__}'")

    def eval(self, node):
        m = getattr(self, "_eval_" + type(node).__name__, None)
        if m is None:
            return self.unevaluable(node, f"'{type(node).__name__}' expression")
        return m(node)

    def _eval_Constant(self, node):
        if isinstance(node.value, (str, int, float, bool, type(None))):
            return node.value
        return self.unevaluable(node, f"{type(node.value).__name__} constant")

    def _eval_Name(self, node):
        if node.id in self.names:
            return copy.deepcopy(self.names[node.id])
        if node.id in ("True", "False", "None"):  # pragma: no cover (old Pythons)
            return {"True": True, "False": False, "None": None}[node.id]
        return self.unevaluable(node, f"undefined name '{node.id}'")

    def _eval_List(self, node):
        return [self.eval(e) for e in node.elts]

    def _eval_Tuple(self, node):
        return tuple(self.eval(e) for e in node.elts)

    def _eval_Dict(self, node):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:  # {**other}
                other = self.eval(v)
                if not isinstance(other, dict):
                    return self.unevaluable(node, "'**' of a non-dict")
                out.update(other)
                continue
            key = self.eval(k)
            if isinstance(key, Unevaluable) or not isinstance(key, (str, int, float, bool, tuple)):
                return self.unevaluable(node, "dict key")
            out[key] = self.eval(v)
        return out

    def _eval_Set(self, node):
        """mmcv's `{{_base_.a.b}}`: a value of the merged base files."""
        inner = node.elts[0] if len(node.elts) == 1 else None
        ref = inner.elts[0] if isinstance(inner, ast.Set) and len(inner.elts) == 1 else None
        path = []
        while isinstance(ref, ast.Attribute):
            path.insert(0, ref.attr)
            ref = ref.value
        if not (isinstance(ref, ast.Name) and ref.id == "_base_" and path):
            return self.unevaluable(node, "set expression")
        value = self.base
        for p in path:
            if not isinstance(value, dict) or p not in value:
                raise ConfigError(f"{self.where(node)}: {{{{_base_.{'.'.join(path)}}}}} is not "
                                  "defined by the _base_ files")
            value = value[p]
        return copy.deepcopy(value)

    def _eval_UnaryOp(self, node):
        v = self.eval(node.operand)
        if isinstance(node.op, ast.Not) and not isinstance(v, Unevaluable):
            return not v
        if isinstance(v, (int, float)) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -v if isinstance(node.op, ast.USub) else +v
        return self.unevaluable(node, "unary operation")

    def _eval_BinOp(self, node):
        a, b = self.eval(node.left), self.eval(node.right)
        op = _BINOPS.get(type(node.op))
        if op is None or isinstance(a, Unevaluable) or isinstance(b, Unevaluable):
            return self.unevaluable(node, "binary operation")
        nums = all(isinstance(v, (int, float)) for v in (a, b))
        seqs = isinstance(a, (list, tuple, str)) and type(a) is type(b) and \
            isinstance(node.op, ast.Add)
        rep = isinstance(node.op, ast.Mult) and (
            isinstance(a, (list, tuple, str)) and isinstance(b, int)
            or isinstance(b, (list, tuple, str)) and isinstance(a, int))
        if isinstance(node.op, ast.Pow) and nums and (abs(b) > 64 or abs(a) > 1 << 32):
            return self.unevaluable(node, "large power")
        if rep:
            seq, n = (a, b) if isinstance(b, int) else (b, a)
            if len(seq) * max(n, 0) > MAX_SEQUENCE:
                return self.unevaluable(node, "large repetition")
        if not (nums or seqs or rep):
            return self.unevaluable(node, "binary operation on these types")
        try:
            return op(a, b)
        except (ArithmeticError, ValueError, TypeError):
            return self.unevaluable(node, "failing arithmetic")

    def _eval_Subscript(self, node):
        base = self.eval(node.value)
        index = node.slice
        if isinstance(index, ast.Index):  # pragma: no cover (Python < 3.9)
            index = index.value
        key = self.eval(index)
        try:
            if isinstance(base, (list, tuple)) and isinstance(key, int) or \
                    isinstance(base, dict) and not isinstance(key, Unevaluable):
                return copy.deepcopy(base[key])
        except (IndexError, KeyError):
            pass
        return self.unevaluable(node, "subscript")

    def _eval_Call(self, node):
        fn = node.func.id if isinstance(node.func, ast.Name) else None
        if fn == "dict" and not node.args or fn == "dict" and len(node.args) == 1:
            out = {}
            if node.args:
                first = self.eval(node.args[0])
                if not isinstance(first, dict):
                    return self.unevaluable(node, "dict() of a non-dict")
                out.update(first)
            for kw in node.keywords:
                if kw.arg is None:
                    other = self.eval(kw.value)
                    if not isinstance(other, dict):
                        return self.unevaluable(node, "'**' of a non-dict")
                    out.update(other)
                else:
                    out[kw.arg] = self.eval(kw.value)
            return out
        if fn in ("list", "tuple") and len(node.args) <= 1 and not node.keywords:
            arg = self.eval(node.args[0]) if node.args else []
            if isinstance(arg, (list, tuple)):
                return list(arg) if fn == "list" else tuple(arg)
        callee = fn or ast.unparse(node.func)[:60]
        return self.unevaluable(node, f"call of {callee}()")


def _parse(text, filename):
    try:
        return ast.parse(text, filename=filename)
    except SyntaxError as e:
        raise ConfigError(f"{filename}:{e.lineno}: not valid Python ({e.msg})")
    except ValueError as e:  # e.g. NUL bytes
        raise ConfigError(f"{filename}: not valid Python ({e})")


def parse_config_text(text, filename="<config>", base=None):
    """Evaluate one config file's text into a dict of its variables.

    `_base_` is not resolved here; `base` (the merged base files) only serves
    `{{_base_.x}}` references.
    """
    return _Evaluator(filename, base).run(_parse(text, filename))


def _declared_bases(tree, filename):
    """The value of `_base_ = ...` (evaluated alone: it must not depend on the bases)."""
    ev = _Evaluator(filename)
    bases = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_base_" for t in stmt.targets):
            bases = ev.eval(stmt.value)
    if bases is None:
        return []
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, (list, tuple)) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{filename}: _base_ must be a file name or a list of file names")
    return list(bases)


# ---------------------------------------------------------------------------
# _base_ inheritance
# ---------------------------------------------------------------------------

def _strip_delete(v):
    if isinstance(v, dict):
        return {k: _strip_delete(x) for k, x in v.items() if k != "_delete_"}
    if isinstance(v, list):
        return [_strip_delete(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_strip_delete(x) for x in v)
    return v


def merge_into(child, base):
    """mmcv's merge: child keys override base keys, dicts recursively, `_delete_` replaces."""
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and not v.get("_delete_", False):
            out[k] = merge_into(v, out[k])
        else:
            out[k] = v
    return out


def load_config_file(path, _stack=()):
    """Read a config file and everything it inherits, merged into one dict."""
    path = os.path.abspath(path)
    if path in _stack:
        raise ConfigError(f"{path}: circular _base_ inheritance")
    if not path.endswith(".py"):
        raise ConfigError(f"{path}: only Python (.py) config files are supported")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config: {getattr(e, 'strerror', None) or e}")
    tree = _parse(text, path)
    merged = {}
    for b in _declared_bases(tree, path):
        base = load_config_file(os.path.join(os.path.dirname(path), b), _stack + (path,))
        dup = sorted(set(base) & set(merged))
        if dup:
            raise ConfigError(f"{path}: key '{dup[0]}' is defined by more than one _base_ file")
        merged.update(base)
    names = _Evaluator(path, merged).run(tree)
    names.pop("_base_", None)
    return _strip_delete(merge_into(names, merged))


def parse_embedded_config(text, source):
    """The flattened config text stored in a checkpoint's meta['config']."""
    names = parse_config_text(text, source)
    if "_base_" in names:
        raise ConfigError(f"{source}: embedded config has _base_ references; pass the config "
                          "file with --config instead")
    return _strip_delete(names)


# ---------------------------------------------------------------------------
# Built-in configurations (official interformer_{light,tiny} models)
# ---------------------------------------------------------------------------

def _official_tiny():
    """configs/_base_/interformer_tiny.py, run for inference with zoom-in.

    The official file trains a ClickSegmentor; the built-in describes the
    InterFormer-Tiny inference setup, ClickSegmentorZoomIn with the zoom-in
    parameters of its evaluation (expand_ratio 1.4, min_size 32, from step 1).
    """
    return dict(
        model=dict(
            type="ClickSegmentorZoomIn",
            backbone=dict(
                type="MAEWithSimpleFPN", img_size=(512, 512), patch_size=16, in_channels=3,
                embed_dims=1024, num_layers=24, num_heads=16, mlp_ratio=4, out_indices=-1,
                norm_cfg=dict(type="LN", eps=1e-6), act_cfg=dict(type="GELU"), init_values=1.0,
                fpn_cfg=dict(type="SimpleFPN", rescales=(4, 2, 1, 0.5),
                             out_dims=(32, 64, 128, 256))),
            neck=dict(
                type="IMSA", target_size=(512, 512), in_channels=[32, 64, 128, 256],
                num_heads=(1, 2, 4, 8), depths=(2, 2, 6, 3), refine_start=(1, 1, 2, 1),
                mlp_ratio=(8, 8, 4, 4)),
            decode_head=dict(
                type="UPerHead", in_channels=[32, 64, 128, 256], in_index=[0, 1, 2, 3],
                pool_scales=(1, 2, 3, 6), channels=64, num_classes=2,
                norm_cfg=dict(type="SyncBN", requires_grad=True), align_corners=False),
            auxiliary_head=dict(type="FCNHead", in_channels=128, in_index=2, channels=64,
                                num_convs=1, concat_input=False, num_classes=2,
                                norm_cfg=dict(type="SyncBN", requires_grad=True)),
            test_cfg=dict(num_clicks=20, inner_radius=5, outer_radius=0, expand_ratio=1.4,
                          min_size=32, zoom_in_start_step=1)),
        img_norm_cfg=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                          to_rgb=True),
    )


def _official_light():
    """configs/_base_/interformer_light.py: ViT-B, shallower neck, no zoom-in."""
    cfg = _official_tiny()
    return merge_into(dict(model=dict(
        type="ClickSegmentor",
        backbone=dict(embed_dims=768, num_layers=12, num_heads=12),
        neck=dict(depths=(1, 1, 2, 1)),
        test_cfg=dict(_delete_=True, num_clicks=20, inner_radius=5, outer_radius=0))), cfg)


BUILTIN = {"light": _official_light, "tiny": _official_tiny}


def builtin_config(name):
    return _strip_delete(BUILTIN[name]())


# ---------------------------------------------------------------------------
# The typed model description
# ---------------------------------------------------------------------------

DEFAULT_MEAN = (123.675, 116.28, 103.53)
DEFAULT_STD = (58.395, 57.12, 57.375)
DEFAULT_POOL_RATIOS = ((12, 16, 20, 24), (6, 8, 10, 12), (3, 4, 5, 6), (1, 2, 3, 4))
SEGMENTORS = ("ClickSegmentor", "ClickSegmentorZoomIn")


@dataclass(frozen=True)
class BackboneConfig:
    """MAEWithSimpleFPN: a ViT with relative position bias, then SimpleFPN."""
    img_size: Tuple[int, int]
    patch_size: int
    in_channels: int
    embed_dims: int
    num_layers: int
    num_heads: int
    mlp_ratio: int
    ln_eps: float
    out_indices: Tuple[int, ...]   # layer indices feeding the FPN (1 or 4 of them)
    final_norm: bool
    patch_norm: bool
    fpn_rescales: Tuple[float, ...]
    fpn_out_dims: Tuple[int, ...]

    @property
    def window(self):
        return (self.img_size[0] // self.patch_size, self.img_size[1] // self.patch_size)


@dataclass(frozen=True)
class NeckConfig:
    """IMSA: per-level pooling-attention blocks (coarse + ROI refine)."""
    target_size: Tuple[int, int]
    in_channels: Tuple[int, ...]
    num_heads: Tuple[int, ...]
    depths: Tuple[int, ...]
    refine_start: Tuple[int, ...]
    mlp_ratios: Tuple[float, ...]
    strides: Tuple[int, ...]
    pool_ratios: Tuple[Tuple[int, ...], ...]
    qkv_bias: bool
    qk_scale: Optional[float]
    patch_norm: bool
    patch_kernel_size: int
    ln_eps: float
    num_ref_modes: int

    def stage_target(self, i):
        """(h, w) of IMSA's target_size at level i (down_size of the official code)."""
        th, tw = self.target_size
        th, tw = th // self.strides[0], tw // self.strides[0]
        for s in self.strides[1:i + 1]:
            th, tw = th // s, tw // s
        return th, tw

    def stage_stride(self, i):
        """Cumulative stride of level i relative to the image (4, 8, 16, 32)."""
        return math.prod(self.strides[:i + 1])


@dataclass(frozen=True)
class HeadConfig:
    """UPerHead with ConvModule = conv (no bias) + BatchNorm + ReLU."""
    in_channels: Tuple[int, ...]
    channels: int
    pool_scales: Tuple[int, ...]
    num_classes: int
    bn_eps: float


@dataclass(frozen=True)
class ModelConfig:
    source: str          # where the hyper-parameters came from (for messages)
    segmentor: str
    backbone: BackboneConfig
    neck: NeckConfig
    head: HeadConfig
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    rgb: bool
    click_radius: int
    zoom_expand_ratio: float
    zoom_min_size: int
    zoom_start_step: int


class _Reader:
    """Typed access to a nested config dict with messages naming the key."""

    def __init__(self, source, d, path):
        self.source, self.d, self.path = source, d, path

    def fail(self, key, msg):
        raise ConfigError(f"{self.source}: {self.path}.{key}: {msg}")

    def raw(self, key, default=None, required=False, deep=True):
        """The value at key; Unevaluable anywhere inside it is an error (dicts: with deep)."""
        if key not in self.d:
            if required:
                self.fail(key, "missing")
            return default
        v = self.d[key]
        if deep or not isinstance(v, dict):
            _check_evaluable(v, lambda what: self.fail(key, f"cannot be evaluated safely "
                                                            f"({what})"))
        return v

    def sub(self, key, required=True):
        """A nested dict; its own keys are checked when they are read."""
        v = self.raw(key, {} if not required else None, required, deep=False)
        if not isinstance(v, dict):
            self.fail(key, f"expected a dict, got {type(v).__name__}")
        return _Reader(self.source, v, f"{self.path}.{key}")

    def int(self, key, default=None, required=False, minimum=1):
        v = self.raw(key, default, required or default is None)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            self.fail(key, f"expected an integer >= {minimum}, got {v!r}")
        return v

    def num(self, key, default=None, positive=True):
        v = self.raw(key, default, default is None)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or positive and not v > 0:
            self.fail(key, f"expected a {'positive ' if positive else ''}number, got {v!r}")
        return float(v)

    def bool(self, key, default):
        v = self.raw(key, default)
        if not isinstance(v, bool):
            self.fail(key, f"expected True or False, got {v!r}")
        return v

    def ints(self, key, default=None, n=None, minimum=1):
        v = self.raw(key, default, default is None)
        if not isinstance(v, (list, tuple)) or not all(
                isinstance(x, int) and not isinstance(x, bool) and x >= minimum for x in v) \
                or n is not None and len(v) != n:
            want = f"{n} " if n is not None else ""
            self.fail(key, f"expected a list of {want}integers >= {minimum}, got {v!r}")
        return tuple(v)

    def pair(self, key, default=None):
        v = self.raw(key, default, default is None)
        if isinstance(v, int) and not isinstance(v, bool):
            v = (v, v)
        if isinstance(v, (list, tuple)) and len(v) == 1:
            v = (v[0], v[0])
        if not isinstance(v, (list, tuple)) or len(v) != 2 or not all(
                isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
            self.fail(key, f"expected an integer or a (height, width) pair, got {v!r}")
        return tuple(v)

    def equal(self, key, default, allowed):
        v = self.raw(key, default)
        if v not in allowed:
            self.fail(key, f"{v!r} is not supported (supported: "
                           f"{', '.join(repr(a) for a in allowed)})")
        return v

    def norm_eps(self, key, types, default_eps):
        n = self.sub(key, required=False)
        if not n.d:
            return default_eps
        n.equal("type", None, types)
        return n.num("eps", default_eps)


def _check_evaluable(v, fail):
    if isinstance(v, Unevaluable):
        fail(f"{v.what} at {v.where}")
    elif isinstance(v, dict):
        for x in v.values():
            _check_evaluable(x, fail)
    elif isinstance(v, (list, tuple)):
        for x in v:
            _check_evaluable(x, fail)


def _backbone(r):
    r.equal("type", None, ("MAEWithSimpleFPN",))
    img_size = r.pair("img_size", 224)
    patch = r.int("patch_size", 16)
    if patch != 16:
        r.fail("patch_size", f"{patch} is not supported (the graphs assume 16)")
    embed = r.int("embed_dims", 768)
    heads = r.int("num_heads", 12)
    if embed % heads:
        r.fail("num_heads", f"{heads} does not divide embed_dims {embed}")
    layers = r.int("num_layers", 12)
    mlp = r.raw("mlp_ratio", 4)
    if isinstance(mlp, bool) or not isinstance(mlp, int) or mlp < 1:
        # FFN width is mlp_ratio * embed_dims, an nn.Linear size: must be an integer.
        r.fail("mlp_ratio", f"expected a positive integer, got {mlp!r}")
    out = r.raw("out_indices", -1)
    out = (out,) if isinstance(out, int) and not isinstance(out, bool) else out
    if not isinstance(out, (list, tuple)) or not out or not all(
            isinstance(i, int) and not isinstance(i, bool) and -layers <= i < layers for i in out):
        r.fail("out_indices", f"expected layer indices in [-{layers}, {layers}), got {out!r}")
    out = tuple(i % layers for i in out)
    fpn = r.sub("fpn_cfg", required=False)
    fpn.equal("type", "SimpleFPN", ("SimpleFPN",))
    rescales = fpn.raw("rescales", (4, 2, 1, 0.5))
    if tuple(rescales) != (4, 2, 1, 0.5):
        fpn.fail("rescales", f"{rescales!r} is not supported (F1..F4 need (4, 2, 1, 0.5))")
    out_dims = fpn.ints("out_dims", (64, 128, 256, 512), n=4)
    if len(out) not in (1, 4):
        r.fail("out_indices", f"SimpleFPN takes 1 or 4 inputs, got {len(out)} indices")
    r.equal("in_channels", 3, (3,))
    r.equal("act_cfg", dict(type="GELU"), (dict(type="GELU"),))
    r.equal("num_fcs", 2, (2,))
    r.equal("pos_embed_resize_mode", "nearest", ("nearest",))
    r.equal("rel_pos_embed_resize_mode", "nearest", ("nearest",))
    r.equal("use_rel_pos_embed", True, (True,))
    return BackboneConfig(
        img_size=img_size, patch_size=patch, in_channels=3, embed_dims=embed, num_layers=layers,
        num_heads=heads, mlp_ratio=mlp, ln_eps=r.norm_eps("norm_cfg", ("LN",), 1e-5),
        out_indices=out, final_norm=r.bool("final_norm", False),
        patch_norm=r.bool("patch_norm", False), fpn_rescales=(4, 2, 1, 0.5),
        fpn_out_dims=out_dims)


def _neck(r):
    r.equal("type", None, ("IMSA",))
    channels = r.ints("in_channels", n=4)
    heads = r.ints("num_heads", n=4)
    depths = r.ints("depths", n=4)
    refine = r.ints("refine_start", n=4)
    for i in range(4):
        if channels[i] % heads[i]:
            r.fail("num_heads", f"{heads[i]} does not divide in_channels[{i}] = {channels[i]}")
        if refine[i] > depths[i]:
            r.fail("refine_start", f"refine_start[{i}] = {refine[i]} > depths[{i}] = {depths[i]}")
    mlp = r.raw("mlp_ratio", 4.0)
    mlp = tuple(mlp) if isinstance(mlp, (list, tuple)) else (mlp,) * 4
    if len(mlp) != 4 or not all(isinstance(m, (int, float)) and not isinstance(m, bool)
                                and m > 0 for m in mlp):
        r.fail("mlp_ratio", f"expected a positive number or 4 of them, got {mlp!r}")
    strides = r.ints("strides", (4, 2, 2, 2), n=4)
    if strides != (4, 2, 2, 2):
        r.fail("strides", f"{strides!r} is not supported (F1..F4 have strides 4, 8, 16, 32)")
    pools = r.raw("pool_ratios", None)
    if pools is None:
        pools = DEFAULT_POOL_RATIOS
    if not isinstance(pools, (list, tuple)) or len(pools) != 4 or not all(
            isinstance(p, (list, tuple)) and p and all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in p)
            for p in pools):
        r.fail("pool_ratios", f"expected 4 lists of positive integers, got {pools!r}")
    qk_scale = r.raw("qk_scale", None)
    if qk_scale is not None:
        qk_scale = r.num("qk_scale")
    kernel = r.int("patch_kernel_size", 3)
    if kernel % 2 == 0:
        r.fail("patch_kernel_size", f"{kernel} is not supported (odd sizes keep the "
                                    "stride-2 output at exactly half size)")
    r.equal("coarse_cfg", dict(type="PoolingBlockSequence"), (dict(type="PoolingBlockSequence"),))
    r.equal("refine_cfg", dict(type="RefineBlockSequence"), (dict(type="RefineBlockSequence"),))
    return NeckConfig(
        target_size=r.pair("target_size"), in_channels=channels, num_heads=heads, depths=depths,
        refine_start=refine, mlp_ratios=tuple(float(m) for m in mlp), strides=strides,
        pool_ratios=tuple(tuple(p) for p in pools), qkv_bias=r.bool("qkv_bias", True),
        qk_scale=qk_scale, patch_norm=r.bool("patch_norm", True), patch_kernel_size=kernel,
        ln_eps=r.norm_eps("norm_cfg", ("LN",), 1e-5), num_ref_modes=r.int("num_ref_modes", 5))


def _head(r):
    r.equal("type", None, ("UPerHead",))
    channels = r.ints("in_channels", n=4)
    idx = r.raw("in_index", [0, 1, 2, 3])
    if list(idx) != [0, 1, 2, 3]:
        r.fail("in_index", f"{idx!r} is not supported (expected [0, 1, 2, 3])")
    num_classes = r.int("num_classes", None)
    if num_classes != 2:
        r.fail("num_classes", f"{num_classes} is not supported (logits are background/foreground)")
    r.equal("align_corners", False, (False,))
    r.equal("act_cfg", dict(type="ReLU"), (dict(type="ReLU"),))
    r.equal("conv_cfg", None, (None,))
    norm = r.sub("norm_cfg", required=False)
    if not norm.d:
        r.fail("norm_cfg", "UPerHead without BatchNorm is not supported")
    norm.equal("type", None, ("BN", "SyncBN", "BN2d"))
    return HeadConfig(in_channels=channels, channels=r.int("channels"),
                      pool_scales=r.ints("pool_scales", (1, 2, 3, 6)),
                      num_classes=2, bn_eps=norm.num("eps", 1e-5))


def _find_normalize(cfg):
    """mean/std/to_rgb of the Normalize step, preferring test-time pipelines."""
    if isinstance(cfg.get("img_norm_cfg"), dict):
        return cfg["img_norm_cfg"], "img_norm_cfg"
    roots = []
    data = cfg.get("data")
    if isinstance(data, dict):
        roots += [("data.test", data.get("test")), ("data.val", data.get("val"))]
    roots += [(k, cfg.get(k)) for k in ("test_pipeline", "val_pipeline")]
    roots += [(k, v) for k, v in cfg.items()]

    def walk(v, path):
        if isinstance(v, dict):
            if v.get("type") == "Normalize":
                return v, path
            items = v.items()
        elif isinstance(v, (list, tuple)):
            items = enumerate(v)
        else:
            return None
        for k, x in items:
            found = walk(x, f"{path}.{k}" if isinstance(k, str) else f"{path}[{k}]")
            if found:
                return found
        return None

    for path, v in roots:
        found = walk(v, path)
        if found:
            return found
    return None


def model_config(cfg, source):
    """Validate the merged config dict and return the ModelConfig."""
    if not isinstance(cfg.get("model"), dict):
        raise ConfigError(f"{source}: no 'model = dict(...)' in the config")
    m = _Reader(source, cfg["model"], "model")
    segmentor = m.equal("type", None, SEGMENTORS)
    backbone = _backbone(m.sub("backbone"))
    neck = _neck(m.sub("neck"))
    head = _head(m.sub("decode_head"))
    if neck.in_channels != backbone.fpn_out_dims:
        m.fail("neck.in_channels", f"{list(neck.in_channels)} differ from the backbone's "
                                   f"fpn_cfg.out_dims {list(backbone.fpn_out_dims)}")
    if head.in_channels != neck.in_channels:
        m.fail("decode_head.in_channels", f"{list(head.in_channels)} differ from the neck's "
                                          f"in_channels {list(neck.in_channels)}")
    test = m.sub("test_cfg", required=False)
    radius = test.int("inner_radius", 5)

    norm = _find_normalize(cfg)
    if norm is None:
        mean, std, rgb = DEFAULT_MEAN, DEFAULT_STD, True
    else:
        n = _Reader(source, norm[0], norm[1])
        mean, std = n.raw("mean", DEFAULT_MEAN), n.raw("std", DEFAULT_STD)
        for key, v in (("mean", mean), ("std", std)):
            if not isinstance(v, (list, tuple)) or len(v) != 3 or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in v) \
                    or key == "std" and not all(x > 0 for x in v):
                n.fail(key, f"expected 3 numbers{' > 0' if key == 'std' else ''}, got {v!r}")
        mean, std = tuple(float(x) for x in mean), tuple(float(x) for x in std)
        rgb = n.bool("to_rgb", True)
    return ModelConfig(
        source=source, segmentor=segmentor, backbone=backbone, neck=neck, head=head,
        mean=mean, std=std, rgb=rgb, click_radius=radius,
        zoom_expand_ratio=test.num("expand_ratio", 1.4),
        zoom_min_size=test.int("min_size", 32),
        zoom_start_step=test.int("zoom_in_start_step", 1, minimum=0))


def resolve_config(meta, option):
    """Hyper-parameters of a checkpoint: meta['config'] when present, else --config.

    `option` is 'light', 'tiny' or the path of a config file (or None).
    """
    text = meta.get("config") if isinstance(meta, dict) else None
    if isinstance(text, str) and text.strip():
        return model_config(parse_embedded_config(text, "meta['config']"), "meta['config']")
    if option is None:
        raise ConfigError("checkpoint has no meta['config']; pass --config light|tiny|PATH")
    if option in BUILTIN:
        return model_config(builtin_config(option), f"built-in '{option}' config")
    return model_config(load_config_file(option), option)
