"""A thin, shape-aware layer over ifg.Graph for writing model graphs.

Each helper appends one IFG node (format/FORMAT.md, "Operators") and returns
its output tensor with the output dimensions declared as precisely as the
format allows: `H/4`-style symbolic sizes where the size follows from the
image size, ANY where it depends on run-time data (token counts, pooled
sizes, ROI crops). Declared sizes are checks for the runtime, so a wrong
declaration here fails loudly at load/plan time instead of computing garbage.

Naming: a node is named after the PyTorch module it comes from
("neck.stages.0.blocks.0.attn.query_proj"); its output tensor gets the same
name unless that is taken, then a numbered suffix. Weights keep their
state_dict names.
"""

from math import gcd

import numpy as np

from .. import ifg
from ..errors import ConversionError
from ..ifg import ACT_NONE

ANY = ifg.ANY


def scale_dim(d, num, den=1):
    """d * num / den as an IFG Dim (ANY stays ANY)."""
    if d.sym == ifg.SYM_ANY:
        return ANY
    mul, div = d.mul * num, d.div * den
    g = gcd(mul, div)
    mul, div = mul // g, div // g
    if d.sym == ifg.SYM_ONE:
        if div != 1:
            raise ValueError(f"converter bug: constant dimension {d} * {num}/{den} is fractional")
        return ifg.C(mul)
    return ifg.Dim(d.sym, mul, div)


def same_dim(a, b):
    return a.sym == b.sym and (a.sym == ifg.SYM_ANY or (a.mul, a.div) == (b.mul, b.div))


def conv_out_dim(d, k, s, p0, p1):
    """Output size of a convolution axis, when it is exact in terms of H/W."""
    if d.sym == ifg.SYM_ANY:
        return ANY
    if d.sym == ifg.SYM_ONE:
        return ifg.C((d.mul + p0 + p1 - k) // s + 1)
    # floor((n + p - k) / s) + 1 == n / s whenever s divides n and 0 <= p - k + s < s
    # (k == s without padding; "same" padding at stride 1; 3x3/pad 1 at stride 2).
    if 0 <= p0 + p1 - k + s < s:
        return scale_dim(d, 1, s)
    return ANY


class GraphBuilder:
    def __init__(self, kind, f16=False):
        self.g = ifg.Graph(kind)
        self.f16 = f16

    # -- tensors ------------------------------------------------------------
    def const(self, name, array):
        """A weight; rank >= 2 weights become F16 in f16 mode (FORMAT.md)."""
        a = np.asarray(array, dtype=np.float32)
        if self.f16 and a.ndim >= 2:
            with np.errstate(over="ignore"):
                h = a.astype(np.float16)
            if not np.all(np.isfinite(h)):
                raise ConversionError(
                    f"weight '{name}' has values beyond the f16 range (max |x| = "
                    f"{float(np.max(np.abs(a))):.6g}); convert with --weights f32")
            return self.g.const(name, h, ifg.DT_F16)
        return self.g.const(name, a)

    def input(self, name, dims, dtype=ifg.DT_F32, flags=0):
        return self.g.input(name, dims, dtype, flags)

    def output(self, t):
        self.g.output(t)

    def _fresh(self, name):
        if name not in self.g.names:
            return name
        i = 2
        while f"{name}#{i}" in self.g.names:
            i += 1
        return f"{name}#{i}"

    def op(self, name, op, ins, dims, attrs=None, out=None):
        return self.g.node(name, op, ins, out or self._fresh(name), len(dims), attrs,
                           out_dims=list(dims))

    # -- operators ------------------------------------------------------------
    def conv2d(self, name, x, w, b, kernel, stride=(1, 1), pad=(0, 0, 0, 0), groups=1,
               act=ACT_NONE, out=None, wname=None):
        """w in OHWI layout (already transformed)."""
        wname = wname or name
        kh, kw = kernel
        ins = [x, self.const(f"{wname}.weight", w),
               None if b is None else self.const(f"{wname}.bias", b)]
        attrs = {"KERNEL": kernel, "STRIDE": stride, "PAD": pad, "GROUPS": groups}
        if act != ACT_NONE:
            attrs["ACT"] = act
        h, wd, _ = x.dims
        dims = [conv_out_dim(h, kh, stride[0], pad[0], pad[2]),
                conv_out_dim(wd, kw, stride[1], pad[1], pad[3]), ifg.C(w.shape[0])]
        return self.op(name, "CONV2D", ins, dims, attrs, out)

    def conv_transpose2d(self, name, x, w, b, k, out=None):
        """w in (kh, kw, Co, Ci) layout; kernel == stride == k."""
        ins = [x, self.const(f"{name}.weight", w), self.const(f"{name}.bias", b)]
        h, wd, _ = x.dims
        return self.op(name, "CONV_TRANSPOSE2D", ins,
                       [scale_dim(h, k), scale_dim(wd, k), ifg.C(w.shape[2])],
                       {"KERNEL": (k, k), "STRIDE": (k, k)}, out)

    def linear(self, name, x, w, b, act=ACT_NONE, out=None):
        ins = [x, self.const(f"{name}.weight", w),
               None if b is None else self.const(f"{name}.bias", b)]
        attrs = {"ACT": act} if act != ACT_NONE else {}
        return self.op(name, "LINEAR", ins, list(x.dims[:-1]) + [ifg.C(w.shape[0])], attrs, out)

    def layer_norm(self, name, x, w, b, eps, out=None):
        ins = [x, self.const(f"{name}.weight", w), self.const(f"{name}.bias", b)]
        return self.op(name, "LAYER_NORM", ins, x.dims, {"EPS": eps}, out)

    def group_norm(self, name, x, w, b, groups=1, eps=1e-5, act=ACT_NONE, out=None):
        ins = [x, self.const(f"{name}.weight", w), self.const(f"{name}.bias", b)]
        attrs = {"GROUPS": groups, "EPS": eps}
        if act != ACT_NONE:
            attrs["ACT"] = act
        return self.op(name, "GROUP_NORM", ins, x.dims, attrs, out)

    def add(self, name, x, y, out=None):
        dims = [a if a.sym != ifg.SYM_ANY else b for a, b in zip(x.dims, y.dims)]
        return self.op(name, "ADD", [x, y], dims, None, out)

    def concat_channels(self, name, xs, out=None):
        c = sum(x.dims[2].mul for x in xs)
        return self.op(name, "CONCAT_CHANNELS", xs, [xs[0].dims[0], xs[0].dims[1], ifg.C(c)],
                       None, out)

    def concat_tokens(self, name, xs, out=None):
        return self.op(name, "CONCAT_TOKENS", xs, [ANY, xs[0].dims[-1]], None, out)

    def resize_bilinear(self, name, x, like, out=None):
        return self.op(name, "RESIZE_BILINEAR", [x, like],
                       [like.dims[0], like.dims[1], x.dims[2]], None, out)

    def adaptive_avg_pool(self, name, x, size, out=None):
        return self.op(name, "ADAPTIVE_AVG_POOL", [x],
                       [ifg.C(size[0]), ifg.C(size[1]), x.dims[2]], {"OUT_SIZE": size}, out)

    def adaptive_max_pool_limit(self, name, x, limit, out=None):
        return self.op(name, "ADAPTIVE_MAX_POOL", [x], [ANY, ANY, x.dims[2]],
                       {"POOL_LIMIT": limit}, out)

    def im2col(self, name, x, kernel, stride, pad, out=None):
        h, w, c = x.dims
        dims = [conv_out_dim(h, kernel[0], stride[0], pad[0], pad[2]),
                conv_out_dim(w, kernel[1], stride[1], pad[1], pad[3]),
                ifg.C(c.mul * kernel[0] * kernel[1])]
        return self.op(name, "IM2COL", [x], dims,
                       {"KERNEL": kernel, "STRIDE": stride, "PAD": pad}, out)

    def attention(self, name, q, kv, heads, scale, out=None):
        return self.op(name, "ATTENTION", [q, kv], q.dims, {"HEADS": heads, "SCALE": scale}, out)

    def vit_attention(self, name, qkv, table, grid, heads, scale, window, out=None):
        c = qkv.dims[-1].mul // 3
        return self.op(name, "VIT_ATTENTION", [qkv, table, grid], [ANY, ifg.C(c)],
                       {"HEADS": heads, "SCALE": scale, "WINDOW": window}, out)

    def tokens_from_grid(self, name, x, cls, pos, window, out=None):
        return self.op(name, "TOKENS_FROM_GRID", [x, cls, pos], [ANY, x.dims[2]],
                       {"WINDOW": window}, out)

    def tokens_to_grid(self, name, t, grid, out=None):
        return self.op(name, "TOKENS_TO_GRID", [t, grid], [grid.dims[0], grid.dims[1], t.dims[1]],
                       None, out)

    def ref_embed(self, name, labels, table, like, out=None):
        return self.op(name, "REF_EMBED", [labels, table, like],
                       [like.dims[0], like.dims[1], table.dims[1]], None, out)

    def crop(self, name, x, roi, stride, out=None):
        return self.op(name, "CROP", [x, roi], [ANY, ANY, x.dims[2]], {"STRIDE": stride}, out)

    def paste(self, name, base, patch, roi, stride, out=None):
        return self.op(name, "PASTE", [base, patch, roi], base.dims, {"STRIDE": stride}, out)
