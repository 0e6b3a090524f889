"""A naive NumPy interpreter of IFG graphs, for testing the converter.

It executes every operator as format/FORMAT.md defines it, straight from a
file parsed by converter.inspect: element-wise math and normalisations in
float64, matrix products in float32 (fast without an optimised BLAS, and
~1e-6 relative, far inside the test tolerances), and the index arithmetic
the spec pins to float32 (bilinear and nearest source indices) in float32.
It is deliberately independent of the converter's graph builders: a graph
that reproduces the official model's outputs through this interpreter is a
correct graph *under the spec*, which is what the C runtime implements.

It also checks every declared (non-ANY) output dimension against the
computed shape, like the runtime does, so wrong declarations fail here first.

Usage:
    f = converter.inspect.read(path)
    outs = run(f, {"image": hwc_float32})           # {output name: array}
    outs, values = run(f, inputs, keep=True)         # + every intermediate
"""

import math

import numpy as np

from converter import ifg

_erf = np.vectorize(math.erf, otypes=[np.float64])


class ReferenceError(Exception):
    pass


def act(x, code):
    if code == ifg.ACT_NONE:
        return x
    if code == ifg.ACT_RELU:
        return np.maximum(x, 0)
    if code == ifg.ACT_GELU:
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    if code == ifg.ACT_HARDSWISH:
        return x * np.clip(x + 3, 0, 6) / 6
    raise ReferenceError(f"unknown activation {code}")


# -- index rules pinned to float32 by the spec --------------------------------

def bilinear_taps(n_in, n_out):
    """(i0, i1, l0, l1) per output index: PyTorch align_corners=False, f32 math."""
    scale = np.float32(n_in) / np.float32(n_out)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.maximum(scale * (dst + np.float32(0.5)) - np.float32(0.5), np.float32(0))
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < n_in - 1)
    l1 = (src - i0.astype(np.float32)).astype(np.float64)
    return i0, i1, 1.0 - l1, l1


def resize_bilinear(x, oh, ow):
    h, w = x.shape[:2]
    i0, i1, l0, l1 = bilinear_taps(h, oh)
    x = l0[:, None, None] * x[i0] + l1[:, None, None] * x[i1]
    j0, j1, m0, m1 = bilinear_taps(w, ow)
    return m0[None, :, None] * x[:, j0] + m1[None, :, None] * x[:, j1]


def nearest_index(i, n, g):
    """Native cell of runtime index i (of n) for a native axis of g (PyTorch 'nearest')."""
    if n == g:
        return i
    if n == 2 * g:
        return i >> 1
    scale = np.float32(g) / np.float32(n)
    return min(int(math.floor(np.float32(i) * scale)), g - 1)


def native_cells(h, w, gh, gw):
    """(P, Q) arrays of native rows/cols per runtime cell, flattened row-major (h*w)."""
    if h * w == gh * gw:
        f = np.arange(h * w)
        return f // gw, f % gw
    p = np.array([nearest_index(i, h, gh) for i in range(h)])
    q = np.array([nearest_index(j, w, gw) for j in range(w)])
    return np.repeat(p, w), np.tile(q, h)


def pool_bins(n_in, n_out):
    return [(i * n_in // n_out, -(-(i + 1) * n_in // n_out)) for i in range(n_out)]


def adaptive_pool(x, oh, ow, reduce):
    rows = np.stack([reduce(x[a:b], axis=0) for a, b in pool_bins(x.shape[0], oh)])
    return np.stack([reduce(rows[:, a:b], axis=1) for a, b in pool_bins(x.shape[1], ow)], axis=1)


def pool_limit_size(n, limit):
    """FORMAT.md POOL_LIMIT: out = round(n / round(n / min(l, n))), half-to-even, f64."""
    p = min(float(limit), float(n))
    return int(round(n / round(n / p)))


def pad_map(x, pad):
    t, l, b, r = pad
    return np.pad(x, ((t, b), (l, r), (0, 0)))


# -- operators ---------------------------------------------------------------

def op_conv2d(x, w, b, a):
    (kh, kw), (sh, sw), pad, g = a["KERNEL"], a["STRIDE"], a["PAD"], a["GROUPS"][0]
    xp = pad_map(x, pad)
    H, W, ci = xp.shape
    co = w.shape[0]
    if w.shape[1:] != (kh, kw, ci // g) or ci % g or co % g:
        raise ReferenceError(f"CONV2D weight {w.shape} does not fit input channels {ci}, "
                             f"groups {g}, kernel {(kh, kw)}")
    ho, wo = (H - kh) // sh + 1, (W - kw) // sw + 1
    y = np.zeros((ho, wo, g, co // g))
    wg = w.reshape(g, co // g, kh, kw, ci // g)
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[ky:ky + sh * (ho - 1) + 1:sh, kx:kx + sw * (wo - 1) + 1:sw]
            patch = patch.reshape(ho, wo, g, ci // g)
            if g == 1:   # one 2-D GEMM in float32: fast, and far inside the test tolerances
                cols = np.ascontiguousarray(patch, dtype=np.float32).reshape(ho * wo, ci)
                y[:, :, 0] += (cols @ _f32(wg[0, :, ky, kx, :].T)).reshape(ho, wo, co)
            elif ci // g == 1 and co // g == 1:
                y[:, :, :, 0] += patch[:, :, :, 0] * wg[:, 0, ky, kx, 0]
            else:
                y += np.einsum("hwgi,goi->hwgo", patch, wg[:, :, ky, kx, :])
    y = y.reshape(ho, wo, co)
    if b is not None:
        y = y + b
    return act(y, a.get("ACT", (0,))[0])


def op_conv_transpose2d(x, w, b, a):
    kh, kw = a["KERNEL"]
    h, wd, ci = x.shape
    _, _, co, ci2 = w.shape
    if ci2 != ci:
        raise ReferenceError(f"CONV_TRANSPOSE2D weight {w.shape} vs input channels {ci}")
    y = np.einsum("yxi,aboi->yaxbo", x, w).reshape(h * kh, wd * kw, co)
    return y if b is None else y + b


def _f32(a):
    return np.asarray(a, dtype=np.float32)


def op_linear(x, w, b, a):
    k = x.shape[-1]
    y = (_f32(x).reshape(-1, k) @ _f32(w.T)).astype(np.float64).reshape(x.shape[:-1] + (-1,))
    if b is not None:
        y = y + b
    return act(y, a.get("ACT", (0,))[0])


def op_layer_norm(x, w, b, a):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + a["EPS"][0]) * w + b


def op_group_norm(x, w, b, a):
    g = a["GROUPS"][0]
    h, wd, c = x.shape
    xg = x.reshape(h * wd, g, c // g)
    m = xg.mean(axis=(0, 2), keepdims=True)
    v = ((xg - m) ** 2).mean(axis=(0, 2), keepdims=True)
    y = ((xg - m) / np.sqrt(v + a["EPS"][0])).reshape(h, wd, c) * w + b
    return act(y, a.get("ACT", (0,))[0])


def op_attention(q, kv, a):
    heads, scale = a["HEADS"][0], a["SCALE"][0]
    c = q.shape[-1]
    if kv.shape[-1] != 2 * c:
        raise ReferenceError(f"ATTENTION kv {kv.shape} for q channels {c}")
    qt = q.reshape(-1, heads, c // heads)
    k = kv[:, :c].reshape(-1, heads, c // heads)
    v = kv[:, c:].reshape(-1, heads, c // heads)
    s = scale * np.matmul(_f32(qt).transpose(1, 0, 2), _f32(k).transpose(1, 2, 0))
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    return np.matmul(s, _f32(v).transpose(1, 0, 2)).transpose(1, 0, 2).astype(np.float64) \
        .reshape(q.shape)


def op_vit_attention(qkv, table, grid, a):
    heads, scale, (gh, gw) = a["HEADS"][0], a["SCALE"][0], a["WINDOW"]
    h, w = grid.shape[:2]
    n, c3 = qkv.shape
    c = c3 // 3
    R = (2 * gh - 1) * (2 * gw - 1) + 3
    if n != 1 + h * w or table.shape != (R, heads):
        raise ReferenceError(f"VIT_ATTENTION qkv {qkv.shape}, table {table.shape}, grid {h}x{w}")
    P, Q = native_cells(h, w, gh, gw)
    idx = np.empty((n, n), dtype=np.int64)
    idx[1:, 1:] = ((P[:, None] - P[None, :] + gh - 1) * (2 * gw - 1)
                   + (Q[:, None] - Q[None, :] + gw - 1))
    idx[0, 1:] = R - 3
    idx[1:, 0] = R - 2
    idx[0, 0] = R - 1
    bias = table[idx]                                        # (n, n, heads)
    q, k, v = (qkv[:, i * c:(i + 1) * c].reshape(n, heads, c // heads) for i in range(3))
    s = scale * np.einsum("nhd,mhd->hnm", q, k) + bias.transpose(2, 0, 1)
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    return np.einsum("hnm,mhd->nhd", s, v).reshape(n, c)


def op_tokens_from_grid(x, cls, pos, a):
    gh, gw = a["WINDOW"]
    h, w, c = x.shape
    if pos.shape != (1 + gh * gw, c) or cls.shape != (1, c):
        raise ReferenceError(f"TOKENS_FROM_GRID cls {cls.shape} pos {pos.shape} for C {c}")
    P, Q = native_cells(h, w, gh, gw)
    y = np.empty((1 + h * w, c))
    y[0] = cls[0] + pos[0]
    y[1:] = x.reshape(h * w, c) + pos[1 + P * gw + Q]
    return y


def _roi_window(roi, s, h, w):
    left, up, right, bottom = (int(v) for v in roi)
    if any(v % s for v in (left, up, right, bottom)) or not (
            0 <= left < right <= w * s and 0 <= up < bottom <= h * s):
        raise ReferenceError(f"bad roi {roi.tolist()} for stride {s} and map {h}x{w}")
    return up // s, bottom // s, left // s, right // s


def op_crop(x, roi, a):
    if roi is None:
        return x.copy()
    y0, y1, x0, x1 = _roi_window(roi, a["STRIDE"][0], *x.shape[:2])
    return x[y0:y1, x0:x1].copy()


def op_paste(base, patch, roi, a):
    if roi is None:
        if patch.shape != base.shape:
            raise ReferenceError("PASTE without roi: patch and base shapes differ")
        return patch.copy()
    y0, y1, x0, x1 = _roi_window(roi, a["STRIDE"][0], *base.shape[:2])
    if patch.shape != (y1 - y0, x1 - x0, base.shape[2]):
        raise ReferenceError(f"PASTE patch {patch.shape} vs window {(y1 - y0, x1 - x0)}")
    y = base.copy()
    y[y0:y1, x0:x1] = patch
    return y


def execute(op, ins, a):
    x = ins[0]
    if op == "CONV2D":
        return op_conv2d(x, ins[1], ins[2] if len(ins) > 2 else None, a)
    if op == "CONV_TRANSPOSE2D":
        return op_conv_transpose2d(x, ins[1], ins[2] if len(ins) > 2 else None, a)
    if op == "LINEAR":
        return op_linear(x, ins[1], ins[2] if len(ins) > 2 else None, a)
    if op == "LAYER_NORM":
        return op_layer_norm(x, ins[1], ins[2], a)
    if op == "GROUP_NORM":
        return op_group_norm(x, ins[1], ins[2], a)
    if op == "ACTIVATION":
        return act(x, a["ACT"][0])
    if op == "ADD":
        if x.shape != ins[1].shape:
            raise ReferenceError(f"ADD of {x.shape} and {ins[1].shape}")
        return x + ins[1]
    if op == "CONCAT_CHANNELS":
        if len({t.shape[:2] for t in ins}) != 1:
            raise ReferenceError(f"CONCAT_CHANNELS of {[t.shape for t in ins]}")
        return np.concatenate(ins, axis=-1)
    if op == "CONCAT_TOKENS":
        return np.concatenate([t.reshape(-1, t.shape[-1]) for t in ins], axis=0)
    if op == "RESIZE_BILINEAR":
        oh, ow = ins[1].shape[:2]
        return x if x.shape[:2] == (oh, ow) else resize_bilinear(x, oh, ow)
    if op == "ADAPTIVE_AVG_POOL":
        return adaptive_pool(x, *a["OUT_SIZE"], np.mean)
    if op == "ADAPTIVE_MAX_POOL":
        if "OUT_SIZE" in a:
            oh, ow = a["OUT_SIZE"]
        else:
            oh, ow = (pool_limit_size(n, lim) for n, lim in zip(x.shape[:2], a["POOL_LIMIT"]))
        return adaptive_pool(x, oh, ow, np.max)
    if op == "IM2COL":
        (kh, kw), (sh, sw) = a["KERNEL"], a["STRIDE"]
        xp = pad_map(x, a["PAD"])
        ho, wo = (xp.shape[0] - kh) // sh + 1, (xp.shape[1] - kw) // sw + 1
        cols = [xp[ky:ky + sh * (ho - 1) + 1:sh, kx:kx + sw * (wo - 1) + 1:sw]
                for ky in range(kh) for kx in range(kw)]
        return np.stack(cols, axis=-1).reshape(ho, wo, -1)   # channel c*kh*kw + ky*kw + kx
    if op == "ATTENTION":
        return op_attention(x, ins[1], a)
    if op == "VIT_ATTENTION":
        return op_vit_attention(x, ins[1], ins[2], a)
    if op == "TOKENS_FROM_GRID":
        return op_tokens_from_grid(x, ins[1], ins[2], a)
    if op == "TOKENS_TO_GRID":
        h, w = ins[1].shape[:2]
        if x.shape[0] != 1 + h * w:
            raise ReferenceError(f"TOKENS_TO_GRID of {x.shape[0]} tokens onto {h}x{w}")
        return x[1:].reshape(h, w, x.shape[1])
    if op == "REF_EMBED":
        labels, table, like = ins
        if labels.max(initial=0) >= table.shape[0]:
            raise ReferenceError(f"REF_EMBED label {labels.max()} >= {table.shape[0]}")
        e = table[labels.astype(np.int64)]
        h, w = like.shape[:2]
        return e if e.shape[:2] == (h, w) else resize_bilinear(e, h, w)
    if op == "CROP":
        return op_crop(x, ins[1] if len(ins) > 1 else None, a)
    if op == "PASTE":
        return op_paste(x, ins[1], ins[2] if len(ins) > 2 else None, a)
    raise ReferenceError(f"unknown op {op}")


# -- the graph ----------------------------------------------------------------

def _declared(d, H, W):
    if d.sym == ifg.SYM_ANY:
        return None
    s = {ifg.SYM_ONE: 1, ifg.SYM_H: H, ifg.SYM_W: W}[d.sym]
    if (d.mul * s) % d.div:
        raise ReferenceError(f"dimension {d} is fractional for H={H}, W={W}")
    return d.mul * s // d.div


def _image_size(f, inputs):
    H = W = None
    for tid, _ in f.inputs:
        t = f.tensors[tid]
        if t.name not in inputs:
            continue
        for d, n in zip(t.dims, inputs[t.name].shape):
            if d.sym == ifg.SYM_H and H is None:
                H = n * d.div // d.mul
            if d.sym == ifg.SYM_W and W is None:
                W = n * d.div // d.mul
    return H, W


def run(f, inputs, keep=False):
    """Run graph `f` (converter.inspect.IfgFile) on {input name: array}."""
    H, W = _image_size(f, inputs)
    vals = {}
    for t in f.tensors:
        if t.is_const:
            vals[t.id] = t.data.astype(np.float64)
    for tid, flags in f.inputs:
        t = f.tensors[tid]
        if t.name not in inputs:
            if flags & ifg.IN_OPTIONAL:
                vals[tid] = None
                continue
            raise ReferenceError(f"input '{t.name}' not given")
        x = np.asarray(inputs[t.name])
        want = tuple(_declared(d, H, W) for d in t.dims)
        if x.shape != want:
            raise ReferenceError(f"input '{t.name}' has shape {x.shape}, declared {want}")
        vals[tid] = x.astype(np.float64) if t.dtype in (ifg.DT_F32, ifg.DT_F16) else x
    for n in f.nodes:
        ins = [None if i is None else vals[i] for i in n.ins]
        try:
            y = execute(n.op, ins, n.attrs)
        except ReferenceError as e:
            raise ReferenceError(f"node {n.index} '{n.name}' ({n.op}): {e}") from None
        t = f.tensors[n.outs[0]]
        if y.ndim != len(t.dims):
            raise ReferenceError(f"node '{n.name}': rank {y.ndim}, declared {t.dims_str()}")
        for k, (d, got) in enumerate(zip(t.dims, y.shape)):
            want = _declared(d, H, W)
            if want is not None and want != got:
                raise ReferenceError(f"node '{n.name}': dim {k} is {got}, declared {d} = {want} "
                                     f"(H={H}, W={W})")
        vals[t.id] = y
    outs = {f.tensors[t].name: vals[t].astype(np.float32) for t in f.outputs}
    if keep:
        return outs, {t.name: vals[t.id] for t in f.tensors if not t.is_const and t.id in vals}
    return outs
