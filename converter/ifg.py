"""Writer of the IFG graph format (the reader is converter/inspect.py).

The byte layout is specified in format/FORMAT.md; this module is its
reference implementation on the Python side. Build a `Graph`, then call
`Graph.write(path)`: the file is written to a temporary name in the same
directory and renamed into place, so a failed conversion leaves nothing.
"""

import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from typing import Tuple

import numpy as np

MAGIC = b"IFGRAPH\0"
VERSION = 1
HEADER_BYTES = 64
ALIGN = 64

KIND_ENCODER, KIND_DECODER = 1, 2
FLAG_F16 = 1

DT_F32, DT_F16, DT_U8, DT_I32 = 0, 1, 2, 3
DTYPE_NAMES = {DT_F32: "f32", DT_F16: "f16", DT_U8: "u8", DT_I32: "i32"}
DTYPE_NP = {DT_F32: np.float32, DT_F16: np.float16, DT_U8: np.uint8, DT_I32: np.int32}
ST_CONST, ST_VALUE = 0, 1
SYM_ONE, SYM_H, SYM_W, SYM_ANY = 0, 1, 2, 3
SYM_NAMES = {SYM_ONE: "", SYM_H: "H", SYM_W: "W", SYM_ANY: "?"}

IN_PER_CLICK, IN_OPTIONAL = 1, 2
NO_TENSOR = 0xFFFFFFFF

META_INT, META_FLOAT, META_STRING = 1, 2, 3
ATTR_INT, ATTR_FLOAT = 1, 2

# -- the operators (FORMAT.md, "Operators"; format/ifg.h's IFG_OP_LIST) ------
# One row an op: its file code and what it takes. tests/test_op_tables.py
# checks this table against format/ifg.h, the reader's rules and the
# reference interpreter; docs/adding-an-operator.md is the checklist.

@dataclass(frozen=True)
class OpSig:
    n_in: Tuple[int, int]                 # min, max inputs
    optional: Tuple[int, ...] = ()        # input positions that may be absent
    const: Tuple[int, ...] = ()           # input positions that must be CONST weights
    required: Tuple[str, ...] = ()
    allowed: Tuple[str, ...] = ()         # optional attributes


OP_TABLE = {
    "CONV2D": (1, OpSig((2, 3), (2,), (1, 2), ("KERNEL", "STRIDE", "PAD", "GROUPS"), ("ACT",))),
    "CONV_TRANSPOSE2D": (2, OpSig((2, 3), (2,), (1, 2), ("KERNEL", "STRIDE"))),
    "LINEAR": (3, OpSig((2, 3), (2,), (1, 2), (), ("ACT",))),
    "LAYER_NORM": (4, OpSig((3, 3), (), (1, 2), ("EPS",))),
    "GROUP_NORM": (5, OpSig((3, 3), (), (1, 2), ("GROUPS", "EPS"), ("ACT",))),
    "ACTIVATION": (6, OpSig((1, 1), (), (), ("ACT",))),
    "ADD": (7, OpSig((2, 2))),
    "CONCAT_CHANNELS": (8, OpSig((1, 64))),
    "CONCAT_TOKENS": (9, OpSig((1, 64))),
    "RESIZE_BILINEAR": (10, OpSig((2, 2))),
    "ADAPTIVE_AVG_POOL": (11, OpSig((1, 1), (), (), ("OUT_SIZE",))),
    "ADAPTIVE_MAX_POOL": (12, OpSig((1, 1), (), (), (), ("OUT_SIZE", "POOL_LIMIT"))),
    "IM2COL": (13, OpSig((1, 1), (), (), ("KERNEL", "STRIDE", "PAD"))),
    "ATTENTION": (14, OpSig((2, 2), (), (), ("HEADS", "SCALE"))),
    "VIT_ATTENTION": (15, OpSig((3, 3), (), (1,), ("HEADS", "SCALE", "WINDOW"))),
    "TOKENS_FROM_GRID": (16, OpSig((3, 3), (), (1, 2), ("WINDOW",))),
    "TOKENS_TO_GRID": (17, OpSig((2, 2))),
    "REF_EMBED": (18, OpSig((3, 3), (), (1,))),
    "CROP": (19, OpSig((1, 2), (1,), (), ("STRIDE",))),
    "PASTE": (20, OpSig((2, 3), (2,), (), ("STRIDE",))),
}
OPS = {name: code for name, (code, _) in OP_TABLE.items()}
OP_SIGS = {name: sig for name, (_, sig) in OP_TABLE.items()}
OP_NAMES = {v: k for k, v in OPS.items()}

# -- the attributes (format/ifg.h's IFG_ATTR_LIST) ----------------------------
# name -> (key, type, count, range). STRIDE has 1 value on CROP and PASTE.
# Ranges: POSITIVE (INT >= 1, FLOAT finite and > 0), NONNEGATIVE (INT >= 0),
# FINITE (FLOAT), ACTIVATION (an ACT_* code). tests/test_op_tables.py checks
# this table against the header's.
ATTR_TABLE = {
    "KERNEL": (1, ATTR_INT, 2, "POSITIVE"),
    "STRIDE": (2, ATTR_INT, 2, "POSITIVE"),
    "PAD": (3, ATTR_INT, 4, "NONNEGATIVE"),
    "GROUPS": (4, ATTR_INT, 1, "POSITIVE"),
    "ACT": (5, ATTR_INT, 1, "ACTIVATION"),
    "EPS": (6, ATTR_FLOAT, 1, "POSITIVE"),
    "HEADS": (7, ATTR_INT, 1, "POSITIVE"),
    "SCALE": (8, ATTR_FLOAT, 1, "FINITE"),
    "OUT_SIZE": (9, ATTR_INT, 2, "POSITIVE"),
    "POOL_LIMIT": (10, ATTR_FLOAT, 2, "POSITIVE"),
    "WINDOW": (11, ATTR_INT, 2, "POSITIVE"),
}
ATTRS = {name: (key, typ) for name, (key, typ, _, _) in ATTR_TABLE.items()}
ATTR_NAMES = {v[0]: k for k, v in ATTRS.items()}

ACT_NONE, ACT_RELU, ACT_GELU, ACT_HARDSWISH = 0, 1, 2, 3


def _string(s):
    b = s.encode("utf-8")
    if len(b) > 4096:
        raise ValueError(f"string too long for IFG: {s[:40]}...")
    return struct.pack("<I", len(b)) + b + b"\0" * (-len(b) % 4)


class Dim:
    """One dimension: mul * S / div with S in {1, H, W} (or ANY)."""

    __slots__ = ("sym", "mul", "div")

    def __init__(self, sym, mul=1, div=1):
        self.sym, self.mul, self.div = sym, mul, div
        if sym == SYM_ANY:
            self.mul = self.div = 0

    def __repr__(self):
        if self.sym == SYM_ANY:
            return "?"
        if self.sym == SYM_ONE:
            return str(self.mul)
        s = SYM_NAMES[self.sym]
        if self.mul != 1:
            s = f"{self.mul}{s}"
        if self.div != 1:
            s = f"{s}/{self.div}"
        return s


def H(div=1, mul=1):
    return Dim(SYM_H, mul, div)


def W(div=1, mul=1):
    return Dim(SYM_W, mul, div)


ANY = Dim(SYM_ANY)


def C(n):
    return Dim(SYM_ONE, int(n), 1)


class Tensor:
    def __init__(self, tid, name, dtype, storage, dims, data=None):
        self.id, self.name, self.dtype, self.storage = tid, name, dtype, storage
        self.dims, self.data = dims, data
        self.offset = 0


class Graph:
    def __init__(self, kind):
        self.kind = kind
        self.meta = {}          # key -> (type, value)
        self.tensors = []
        self.names = {}
        self.nodes = []         # (name, op, ins, outs, attrs)
        self.inputs = []        # (tensor id, flags)
        self.outputs = []

    # -- metadata -------------------------------------------------------
    def meta_int(self, key, values):
        self.meta[key] = (META_INT, [int(v) for v in np.atleast_1d(values)])

    def meta_float(self, key, values):
        self.meta[key] = (META_FLOAT, [float(v) for v in np.atleast_1d(values)])

    def meta_str(self, key, value):
        self.meta[key] = (META_STRING, str(value))

    # -- tensors ----------------------------------------------------------
    def _add(self, name, dtype, storage, dims, data=None):
        if name in self.names:
            raise ValueError(f"duplicate tensor name {name}")
        t = Tensor(len(self.tensors), name, dtype, storage, dims, data)
        self.tensors.append(t)
        self.names[name] = t
        return t

    def const(self, name, array, dtype=DT_F32):
        a = np.ascontiguousarray(array, dtype=DTYPE_NP[dtype])
        if a.ndim < 1 or a.ndim > 4:
            raise ValueError(f"{name}: rank {a.ndim} not in 1..4")
        return self._add(name, dtype, ST_CONST, [C(d) for d in a.shape], a)

    def value(self, name, dims=None, dtype=DT_F32, rank=None):
        if dims is None:
            dims = [ANY] * rank
        return self._add(name, dtype, ST_VALUE, list(dims))

    def input(self, name, dims, dtype=DT_F32, flags=0):
        t = self.value(name, dims, dtype)
        self.inputs.append((t.id, flags))
        return t

    def output(self, t):
        self.outputs.append(t.id)

    # -- nodes ----------------------------------------------------------
    def node(self, name, op, ins, out_name, out_rank, attrs=None, out_dims=None,
             dtype=DT_F32):
        """Append a node with one output VALUE tensor and return it."""
        out = self.value(out_name, out_dims, dtype, rank=out_rank)
        self.nodes.append((name, OPS[op], [NO_TENSOR if t is None else t.id for t in ins],
                           [out.id], dict(attrs or {})))
        return out

    # -- serialisation ----------------------------------------------------
    def to_bytes(self):
        f16 = any(t.dtype == DT_F16 for t in self.tensors if t.storage == ST_CONST)
        body = bytearray()
        for key, (typ, val) in self.meta.items():
            body += _string(key)
            if typ == META_STRING:
                b = val.encode("utf-8")
                body += struct.pack("<II", typ, len(b)) + b + b"\0" * (-len(b) % 4)
            else:
                fmt = "q" if typ == META_INT else "d"
                body += struct.pack("<II", typ, len(val)) + struct.pack(f"<{len(val)}{fmt}", *val)
        blob_size = 0
        for t in self.tensors:
            if t.storage == ST_CONST:
                t.offset = blob_size
                blob_size += (t.data.nbytes + ALIGN - 1) // ALIGN * ALIGN
        for t in self.tensors:
            body += _string(t.name)
            body += struct.pack("<III", t.dtype, t.storage, len(t.dims))
            for d in t.dims:
                body += struct.pack("<Iii", d.sym, d.mul, d.div)
            if t.storage == ST_CONST:
                body += struct.pack("<QQ", t.offset, t.data.nbytes)
            else:
                body += struct.pack("<QQ", 0, 0)
        for name, op, ins, outs, attrs in self.nodes:
            body += _string(name)
            body += struct.pack("<IIII", op, len(ins), len(outs), len(attrs))
            body += struct.pack(f"<{len(ins)}I", *ins) + struct.pack(f"<{len(outs)}I", *outs)
            for aname, val in attrs.items():
                key, typ = ATTRS[aname]
                vals = list(np.atleast_1d(val))
                fmt = "q" if typ == ATTR_INT else "d"
                conv = int if typ == ATTR_INT else float
                body += struct.pack("<III", key, typ, len(vals))
                body += struct.pack(f"<{len(vals)}{fmt}", *[conv(v) for v in vals])
        for tid, flags in self.inputs:
            body += struct.pack("<II", tid, flags)
        for tid in self.outputs:
            body += struct.pack("<I", tid)
        data_offset = HEADER_BYTES + len(body)
        data_offset = (data_offset + ALIGN - 1) // ALIGN * ALIGN
        body += b"\0" * (data_offset - HEADER_BYTES - len(body))
        blob = bytearray(blob_size)
        for t in self.tensors:
            if t.storage == ST_CONST:
                raw = t.data.tobytes()
                blob[t.offset:t.offset + len(raw)] = raw
        file_bytes = data_offset + blob_size
        tail = struct.pack("<QIIIIIIIIQ", file_bytes, self.kind, FLAG_F16 if f16 else 0,
                           len(self.meta), len(self.tensors), len(self.nodes),
                           len(self.inputs), len(self.outputs), 0, data_offset)
        crc = zlib.crc32(tail)
        crc = zlib.crc32(body, crc)
        crc = zlib.crc32(blob, crc)
        header = MAGIC + struct.pack("<II", VERSION, crc & 0xFFFFFFFF) + tail
        assert len(header) == HEADER_BYTES
        return b"".join((header, body, blob))   # one copy of the (possibly large) blob

    def write(self, path):
        write_atomic(path, self.to_bytes())


def write_atomic(path, data):
    """Write bytes to `path` via a temporary file in the same directory."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def fix_crc(buf):
    """Recompute the CRC field of an IFG image in place (for tests that edit files)."""
    buf[12:16] = struct.pack("<I", zlib.crc32(bytes(buf[16:])) & 0xFFFFFFFF)
    return buf
