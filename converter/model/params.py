"""Checkpoint tensors as the graph builders need them.

`Params` holds the state_dict after `validate()` checked it against the
expected key/shape list (model/spec.py). Builders read tensors through it,
which (a) refuses keys outside the spec, so builder and spec cannot drift
apart, and (b) records what was read, so `assert_all_used()` proves every
expected tensor made it into a graph.

The weight transforms of FORMAT.md ("Transforms applied by the converter")
live here too, each a small function, computed in float64 and rounded to
float32 once.
"""

import numpy as np

from ..errors import ConversionError
from .spec import is_dropped


def _shape(s):
    return "(" + ",".join(str(d) for d in s) + ")"


class Params:
    def __init__(self, state_dict, expected, path, source="the config"):
        self.sd, self.expected, self.path = state_dict, expected, path
        self.source = source   # where the model description came from, for messages
        self.used = set()

    def validate(self):
        """Missing keys, then shape mismatches, then unused keys: first one is an error."""
        model = f"model from {self.source}"
        missing = [k for k in self.expected if k not in self.sd]
        if missing:
            more = f"and {len(missing) - 1} more; " if len(missing) > 1 else ""
            raise ConversionError(
                f"{self.path}: state_dict key '{missing[0]}' is missing (expected shape "
                f"{_shape(self.expected[missing[0]])}; {more}{model})")
        for k, shape in self.expected.items():
            if tuple(self.sd[k].shape) != tuple(shape):
                raise ConversionError(
                    f"{self.path}: state_dict key '{k}' has shape {_shape(self.sd[k].shape)}, "
                    f"expected {_shape(shape)} ({model})")
        unused = [k for k in self.sd if k not in self.expected and not is_dropped(k)]
        if unused:
            more = f"and {len(unused) - 1} more; " if len(unused) > 1 else ""
            raise ConversionError(
                f"{self.path}: state_dict key '{unused[0]}' is not used by the model ({more}"
                f"{model})")
        for k in self.expected:
            a = self.sd[k]
            if k.endswith("relative_position_index"):
                if a.dtype.kind not in "iu":
                    raise ConversionError(f"{self.path}: state_dict key '{k}' has dtype "
                                          f"{a.dtype.name}, expected an integer index table")
            elif a.dtype.kind != "f":
                raise ConversionError(f"{self.path}: state_dict key '{k}' has dtype "
                                      f"{a.dtype.name}, expected floating point")
            elif not np.all(np.isfinite(a)):
                raise ConversionError(f"{self.path}: state_dict key '{k}' contains NaN or "
                                      "infinite values")

    def raw(self, key):
        if key not in self.expected:
            raise KeyError(f"converter bug: {key} is not in the expected state_dict")
        self.used.add(key)
        return self.sd[key]

    def f64(self, key):
        return np.asarray(self.raw(key), dtype=np.float64)

    def __getitem__(self, key):
        """The tensor as float32 (checkpoints may hold f16/f64)."""
        return np.asarray(self.raw(key), dtype=np.float32)

    def get(self, key):
        """The tensor, or None when the config's model has no such key (optional biases)."""
        return self[key] if key in self.expected else None

    def fail(self, key, message):
        raise ConversionError(f"{self.path}: state_dict key '{key}' {message}")

    def assert_all_used(self):
        left = [k for k in self.expected if k not in self.used]
        assert not left, f"converter bug: expected tensors never read: {left[:5]}"


# -- transforms -------------------------------------------------------------

def conv_ohwi(w):
    """nn.Conv2d weight (O, I, kh, kw) -> IFG CONV2D layout (O, kh, kw, I)."""
    return np.ascontiguousarray(np.transpose(w, (0, 2, 3, 1)), dtype=np.float32)


def conv_transpose_layout(w):
    """nn.ConvTranspose2d weight (Ci, Co, kh, kw) -> IFG layout (kh, kw, Co, Ci)."""
    return np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)), dtype=np.float32)


def fold_batchnorm(w, b, gamma, beta, mean, var, eps):
    """Conv followed by eval-mode BatchNorm -> one conv (FORMAT.md formula).

    w is (O, ...), b is None or (O,). Returns float32 (w', b').
    """
    s = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
    w2 = np.asarray(w, np.float64) * s.reshape((-1,) + (1,) * (w.ndim - 1))
    b2 = np.asarray(beta, np.float64) - np.asarray(mean, np.float64) * s
    if b is not None:
        b2 = b2 + np.asarray(b, np.float64) * s
    return w2.astype(np.float32), b2.astype(np.float32)


def fold_layer_scale(w, b, gamma):
    """Linear (w (N,K), b (N,)) followed by `gamma * y` -> one linear."""
    g = np.asarray(gamma, np.float64)
    w2 = np.asarray(w, np.float64) * g[:, None]
    b2 = np.asarray(b, np.float64) * g
    return w2.astype(np.float32), b2.astype(np.float32)


def relative_position_index(gh, gw):
    """BEiT's relative position index table for a gh x gw window (FORMAT.md idx)."""
    r = (2 * gh - 1) * (2 * gw - 1) + 3
    ii, jj = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
    ii, jj = ii.reshape(-1), jj.reshape(-1)
    cells = ((ii[:, None] - ii[None, :] + gh - 1) * (2 * gw - 1)
             + (jj[:, None] - jj[None, :] + gw - 1))
    n = gh * gw + 1
    idx = np.empty((n, n), dtype=np.int64)
    idx[1:, 1:] = cells
    idx[0, :] = r - 3
    idx[:, 0] = r - 2
    idx[0, 0] = r - 1
    return idx
