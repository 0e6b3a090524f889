"""Read, validate and print IFG files: `python3 -m converter.inspect FILE`.

`parse()` is the Python twin of format/ifg_reader.c: it checks a file image
in the order FORMAT.md prescribes (magic, version, size, CRC, then every
record, every id and every attribute) and returns an `IfgFile` whose CONST
tensors are NumPy views of the file. Tests use it to execute graphs
(tests/ifg_reference.py); the command line prints a file for humans.
"""

import argparse
import struct
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import ifg


class IfgError(Exception):
    """The file is not a valid IFG file; str(e) says which field is wrong."""


# What each operator takes: the op table of converter/ifg.py (OP_SIGS).
OpSig = ifg.OpSig
OP_SIGS = ifg.OP_SIGS

# attribute -> (count, validity check on the values), from ifg.ATTR_TABLE
_RANGE_OK = {
    "POSITIVE": lambda v: all(np.isfinite(x) and x > 0 for x in v),
    "NONNEGATIVE": lambda v: all(x >= 0 for x in v),
    "FINITE": lambda v: all(np.isfinite(x) for x in v),
    "ACTIVATION": lambda v: all(ifg.ACT_NONE <= x <= ifg.ACT_HARDSWISH for x in v),
}
_ATTR_RULES = {name: (count, _RANGE_OK[rng]) for name, (_, _, count, rng) in ifg.ATTR_TABLE.items()}

DTYPE_SIZE = {ifg.DT_F32: 4, ifg.DT_F16: 2, ifg.DT_U8: 1, ifg.DT_I32: 4}
KIND_NAMES = {ifg.KIND_ENCODER: "encoder", ifg.KIND_DECODER: "decoder"}


@dataclass
class TensorRec:
    id: int
    name: str
    dtype: int
    storage: int
    dims: List[ifg.Dim]
    offset: int = 0
    nbytes: int = 0
    data: Optional[np.ndarray] = None   # CONST: array view of the file

    @property
    def is_const(self):
        return self.storage == ifg.ST_CONST

    @property
    def shape(self):
        """Concrete shape of a CONST (all dims are constants)."""
        return tuple(d.mul for d in self.dims)

    def dims_str(self):
        return "(" + ", ".join(repr(d) for d in self.dims) + ")"


@dataclass
class NodeRec:
    index: int
    name: str
    op: str
    ins: List[Optional[int]]            # None = absent optional input
    outs: List[int]
    attrs: Dict[str, tuple]


@dataclass
class IfgFile:
    version: int
    crc: int
    file_bytes: int
    kind: int
    flags: int
    data_offset: int
    meta: Dict[str, tuple] = field(default_factory=dict)   # key -> (type, value)
    tensors: List[TensorRec] = field(default_factory=list)
    nodes: List[NodeRec] = field(default_factory=list)
    inputs: List[Tuple[int, int]] = field(default_factory=list)
    outputs: List[int] = field(default_factory=list)

    def tensor(self, name):
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def meta_value(self, key):
        return self.meta[key][1]

    def parameter_count(self):
        return sum(int(np.prod(t.shape)) for t in self.tensors if t.is_const)

    def const_bytes(self):
        return sum(t.nbytes for t in self.tensors if t.is_const)


class _Cursor:
    def __init__(self, buf, pos, end):
        self.buf, self.pos, self.end = buf, pos, end

    def take(self, n, what):
        if n < 0 or self.pos + n > self.end:
            raise IfgError(f"{what} at offset {self.pos} runs past the end of the records "
                           f"(data_offset {self.end})")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self, what):
        return struct.unpack("<I", self.take(4, what))[0]

    def i32(self, what):
        return struct.unpack("<i", self.take(4, what))[0]

    def u64(self, what):
        return struct.unpack("<Q", self.take(8, what))[0]

    def values(self, typ, count, what):
        fmt = "q" if typ in (ifg.META_INT, ifg.ATTR_INT) else "d"
        return struct.unpack(f"<{count}{fmt}", self.take(8 * count, what))

    def string(self, what):
        n = self.u32(f"{what} length")
        if n > 4096:
            raise IfgError(f"{what}: string length {n} exceeds 4096")
        raw = self.take(n, what)
        pad = self.take(-n % 4, f"{what} padding")
        if any(pad):
            raise IfgError(f"{what}: non-zero string padding")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise IfgError(f"{what}: not valid UTF-8")


def _check_header(buf):
    if len(buf) < ifg.HEADER_BYTES:
        if not buf.startswith(ifg.MAGIC[:len(buf)]) or not buf:
            raise IfgError("bad magic: not an IFG file")
        raise IfgError(f"truncated: {len(buf)} bytes, the header alone needs {ifg.HEADER_BYTES}")
    if buf[:8] != ifg.MAGIC:
        raise IfgError("bad magic: not an IFG file")
    version, crc, file_bytes = struct.unpack_from("<IIQ", buf, 8)
    if version != ifg.VERSION:
        raise IfgError(f"unsupported version {version} (this reader reads {ifg.VERSION})")
    if file_bytes > len(buf):
        raise IfgError(f"truncated: header says {file_bytes} bytes, file has {len(buf)}")
    if file_bytes < len(buf):
        raise IfgError(f"file has {len(buf) - file_bytes} bytes after the {file_bytes} its "
                       "header declares")
    actual = zlib.crc32(buf[16:]) & 0xFFFFFFFF
    if actual != crc:
        raise IfgError(f"checksum mismatch: header crc32 0x{crc:08x}, contents 0x{actual:08x}")
    (kind, flags, n_meta, n_tensors, n_nodes, n_in, n_out, reserved,
     data_offset) = struct.unpack_from("<IIIIIIIIQ", buf, 24)
    if kind not in KIND_NAMES:
        raise IfgError(f"header: unknown kind {kind}")
    if flags & ~ifg.FLAG_F16:
        raise IfgError(f"header: unknown flag bits 0x{flags:x}")
    for what, n, hi, lo in (("n_meta", n_meta, 4096, 0), ("n_tensors", n_tensors, 1 << 20, 0),
                            ("n_nodes", n_nodes, 1 << 20, 0), ("n_inputs", n_in, 64, 1),
                            ("n_outputs", n_out, 64, 1)):
        if not lo <= n <= hi:
            raise IfgError(f"header: {what} = {n} outside {lo}..{hi}")
    if reserved:
        raise IfgError("header: reserved field is not zero")
    if data_offset % ifg.ALIGN or not ifg.HEADER_BYTES <= data_offset <= file_bytes:
        raise IfgError(f"header: data_offset {data_offset} is not a multiple of 64 in "
                       f"[64, {file_bytes}]")
    f = IfgFile(version, crc, file_bytes, kind, flags, data_offset)
    return f, (n_meta, n_tensors, n_nodes, n_in, n_out)


def _parse_tensor(cur, f, buf, tid, names):
    what = f"tensor {tid}"
    name = cur.string(f"{what} name")
    what = f"tensor {tid} '{name}'"
    if name in names:
        raise IfgError(f"{what}: duplicate tensor name")
    names[name] = tid
    dtype, storage, rank = (cur.u32(f"{what} dtype"), cur.u32(f"{what} storage"),
                            cur.u32(f"{what} rank"))
    if dtype not in DTYPE_SIZE:
        raise IfgError(f"{what}: unknown dtype {dtype}")
    if storage not in (ifg.ST_CONST, ifg.ST_VALUE):
        raise IfgError(f"{what}: unknown storage {storage}")
    if not 1 <= rank <= 4:
        raise IfgError(f"{what}: rank {rank} not in 1..4")
    dims = []
    for k in range(rank):
        sym, mul, div = cur.u32(f"{what} dim"), cur.i32(f"{what} dim"), cur.i32(f"{what} dim")
        if sym == ifg.SYM_ANY:
            if mul or div:
                raise IfgError(f"{what}: dim {k} is ANY but mul/div are not 0")
        elif sym in (ifg.SYM_ONE, ifg.SYM_H, ifg.SYM_W):
            if mul < 1 or div < 1:
                raise IfgError(f"{what}: dim {k} has mul {mul}, div {div} (both must be >= 1)")
        else:
            raise IfgError(f"{what}: dim {k} has unknown symbol {sym}")
        d = ifg.Dim(sym, mul, div)
        dims.append(d)
    offset, nbytes = cur.u64(f"{what} offset"), cur.u64(f"{what} nbytes")
    t = TensorRec(tid, name, dtype, storage, dims, offset, nbytes)
    if storage == ifg.ST_VALUE:
        if offset or nbytes:
            raise IfgError(f"{what}: VALUE tensor with offset/nbytes")
        return t
    if any(d.sym != ifg.SYM_ONE or d.div != 1 for d in dims):
        raise IfgError(f"{what}: CONST tensor with a symbolic dimension")
    if dtype not in (ifg.DT_F32, ifg.DT_F16):
        raise IfgError(f"{what}: CONST tensor of dtype {ifg.DTYPE_NAMES[dtype]} (weights are "
                       "f32 or f16)")
    if dtype == ifg.DT_F16 and not f.flags & ifg.FLAG_F16:
        raise IfgError(f"{what}: f16 weights but header flag bit 0 is clear")
    want = int(np.prod([d.mul for d in dims])) * DTYPE_SIZE[dtype]
    if nbytes != want:
        raise IfgError(f"{what}: nbytes {nbytes}, shape and dtype need {want}")
    if offset % ifg.ALIGN:
        raise IfgError(f"{what}: offset {offset} is not a multiple of 64")
    if f.data_offset + offset + nbytes > f.file_bytes:
        raise IfgError(f"{what}: data [{offset}, {offset + nbytes}) lies outside the blob of "
                       f"{f.file_bytes - f.data_offset} bytes")
    np_dtype = np.dtype(ifg.DTYPE_NP[dtype]).newbyteorder("<")
    t.data = np.frombuffer(buf, dtype=np_dtype, count=want // DTYPE_SIZE[dtype],
                           offset=f.data_offset + offset).reshape(t.shape)
    return t


def _parse_node(cur, f, index):
    """One node record: structure, ids in range, attributes (graph order is checked later)."""
    what = f"node {index}"
    name = cur.string(f"{what} name")
    what = f"node {index} '{name}'"
    op, n_in, n_out, n_attr = (cur.u32(f"{what} op"), cur.u32(f"{what} n_in"),
                               cur.u32(f"{what} n_out"), cur.u32(f"{what} n_attr"))
    if op not in ifg.OP_NAMES:
        raise IfgError(f"{what}: unknown op code {op}")
    opname = ifg.OP_NAMES[op]
    sig = OP_SIGS[opname]
    what = f"node {index} '{name}' ({opname})"
    if n_in > 64 or n_out > 8 or n_attr > 16:
        raise IfgError(f"{what}: counts n_in {n_in}, n_out {n_out}, n_attr {n_attr} over limits")
    if not sig.n_in[0] <= n_in <= sig.n_in[1]:
        raise IfgError(f"{what}: {n_in} inputs, the op takes {sig.n_in[0]}..{sig.n_in[1]}")
    if n_out != 1:
        raise IfgError(f"{what}: {n_out} outputs, the op has 1")
    ins = []
    for k in range(n_in):
        tid = cur.u32(f"{what} input")
        if tid == ifg.NO_TENSOR:
            if k not in sig.optional:
                raise IfgError(f"{what}: input {k} is absent but not optional")
            ins.append(None)
            continue
        if tid >= len(f.tensors):
            raise IfgError(f"{what}: input {k} names tensor {tid}, there are {len(f.tensors)}")
        if k in sig.const and not f.tensors[tid].is_const:
            raise IfgError(f"{what}: input {k} ('{f.tensors[tid].name}') must be a CONST weight")
        ins.append(tid)
    outs = []
    for k in range(n_out):
        tid = cur.u32(f"{what} output")
        if tid >= len(f.tensors):
            raise IfgError(f"{what}: output names tensor {tid}, there are {len(f.tensors)}")
        outs.append(tid)
    attrs = {}
    for _ in range(n_attr):
        key, typ, count = cur.u32(f"{what} attr"), cur.u32(f"{what} attr"), cur.u32(f"{what} attr")
        aname = ifg.ATTR_NAMES.get(key)
        if aname is None:
            raise IfgError(f"{what}: unknown attribute key {key}")
        if typ != ifg.ATTRS[aname][1]:
            raise IfgError(f"{what}: attribute {aname} has type {typ}")
        if not 1 <= count <= 8:
            raise IfgError(f"{what}: attribute {aname} count {count} not in 1..8")
        vals = cur.values(typ, count, f"{what} attribute {aname}")
        if aname in attrs:
            raise IfgError(f"{what}: attribute {aname} appears twice")
        if aname not in sig.required and aname not in sig.allowed:
            raise IfgError(f"{what}: the op does not take attribute {aname}")
        want, ok = _ATTR_RULES[aname]
        if aname == "STRIDE" and opname in ("CROP", "PASTE"):
            want = 1
        if count != want or not ok(vals):
            raise IfgError(f"{what}: bad attribute {aname} = {list(vals)}")
        attrs[aname] = tuple(vals)
    for aname in sig.required:
        if aname not in attrs:
            raise IfgError(f"{what}: missing attribute {aname}")
    if opname == "ADAPTIVE_MAX_POOL" and len(attrs) != 1:
        raise IfgError(f"{what}: needs exactly one of OUT_SIZE, POOL_LIMIT")
    if opname == "CONV_TRANSPOSE2D" and attrs["KERNEL"] != attrs["STRIDE"]:
        raise IfgError(f"{what}: STRIDE {attrs['STRIDE']} differs from KERNEL {attrs['KERNEL']}")
    return NodeRec(index, name, opname, ins, outs, attrs)


def parse(buf):
    """Validate an IFG file image (bytes) and return an IfgFile; IfgError if invalid."""
    buf = bytes(buf)
    f, (n_meta, n_tensors, n_nodes, n_in, n_out) = _check_header(buf)
    cur = _Cursor(buf, ifg.HEADER_BYTES, f.data_offset)
    for i in range(n_meta):
        key = cur.string(f"metadata entry {i} key")
        typ, count = cur.u32(f"metadata '{key}' type"), cur.u32(f"metadata '{key}' count")
        if key in f.meta:
            raise IfgError(f"metadata '{key}' appears twice")
        if typ == ifg.META_STRING:
            if count > 4096:
                raise IfgError(f"metadata '{key}': string length {count} exceeds 4096")
            raw = cur.take(count, f"metadata '{key}'")
            if any(cur.take(-count % 4, f"metadata '{key}' padding")):
                raise IfgError(f"metadata '{key}': non-zero padding")
            try:
                f.meta[key] = (typ, raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise IfgError(f"metadata '{key}': not valid UTF-8")
        elif typ in (ifg.META_INT, ifg.META_FLOAT):
            f.meta[key] = (typ, cur.values(typ, count, f"metadata '{key}'"))
        else:
            raise IfgError(f"metadata '{key}': unknown type {typ}")
    names = {}
    for tid in range(n_tensors):
        f.tensors.append(_parse_tensor(cur, f, buf, tid, names))
    consts = sorted((t.offset, t.offset + t.nbytes, t.name) for t in f.tensors if t.is_const)
    for (a0, a1, an), (b0, b1, bn) in zip(consts, consts[1:]):
        if b0 < a1:
            raise IfgError(f"tensors '{an}' and '{bn}' overlap in the blob")
    if f.flags & ifg.FLAG_F16 and not any(t.dtype == ifg.DT_F16 for t in f.tensors if t.is_const):
        raise IfgError("header flag bit 0 (f16 weights) is set but no weight is f16")

    for index in range(n_nodes):
        f.nodes.append(_parse_node(cur, f, index))
    inputs_set = {}
    for k in range(n_in):
        tid, flags = cur.u32("input entry"), cur.u32("input entry")
        if tid >= len(f.tensors):
            raise IfgError(f"input {k} names tensor {tid}, there are {len(f.tensors)}")
        t = f.tensors[tid]
        if t.is_const:
            raise IfgError(f"input '{t.name}' is a CONST tensor")
        if flags & ~(ifg.IN_PER_CLICK | ifg.IN_OPTIONAL):
            raise IfgError(f"input '{t.name}': unknown flags 0x{flags:x}")
        if any(d.sym == ifg.SYM_ANY for d in t.dims):
            raise IfgError(f"input '{t.name}' has an ANY dimension")
        if tid in inputs_set:
            raise IfgError(f"input '{t.name}' is listed twice")
        inputs_set[tid] = flags
        f.inputs.append((tid, flags))
    for k in range(n_out):
        tid = cur.u32("output entry")
        if tid >= len(f.tensors) or f.tensors[tid].is_const:
            raise IfgError(f"output {k} names tensor {tid}, which is not a VALUE tensor")
        f.outputs.append(tid)
    if any(buf[cur.pos:f.data_offset]):
        raise IfgError(f"non-zero bytes between the records' end ({cur.pos}) and data_offset")
    _check_graph(f, inputs_set)

    # Gaps in the blob must be zero (FORMAT.md, "Data blob").
    pos = f.data_offset
    for a0, a1, _ in consts:
        if any(buf[pos:f.data_offset + a0]):
            raise IfgError(f"non-zero bytes in the blob at offset {pos - f.data_offset}")
        pos = max(pos, f.data_offset + a1)
    if any(buf[pos:]):
        raise IfgError(f"non-zero bytes in the blob at offset {pos - f.data_offset}")
    return f


def _check_graph(f, inputs_set):
    """Execution order and single producers (FORMAT.md, "Node record")."""
    produced = {}
    for n in f.nodes:
        what = f"node {n.index} '{n.name}' ({n.op})"
        for k, tid in enumerate(n.ins):
            if tid is None:
                continue
            t = f.tensors[tid]
            if not t.is_const and tid not in produced and tid not in inputs_set:
                raise IfgError(f"{what}: input {k} ('{t.name}') is neither a constant, a graph "
                               "input nor the output of an earlier node")
        for tid in n.outs:
            t = f.tensors[tid]
            if t.is_const or tid in inputs_set:
                raise IfgError(f"{what}: output '{t.name}' is a constant or a graph input")
            if tid in produced:
                raise IfgError(f"{what}: output '{t.name}' is already produced by node "
                               f"{produced[tid]}")
            produced[tid] = n.index
    for t in f.tensors:
        if not t.is_const and t.id not in produced and t.id not in inputs_set:
            raise IfgError(f"VALUE tensor '{t.name}' is neither a graph input nor produced by "
                           "a node")
    for tid in f.outputs:
        if tid not in produced:
            raise IfgError(f"output '{f.tensors[tid].name}' is not produced by any node")


def read(path):
    with open(path, "rb") as fh:
        return parse(fh.read())


# -- printing ---------------------------------------------------------------

def _fmt_meta(typ, val):
    if typ == ifg.META_STRING:
        return repr(val)
    if typ == ifg.META_FLOAT:
        return ", ".join(f"{v:g}" for v in val)
    return ", ".join(str(v) for v in val)


def _fmt_attr(name, vals):
    if name == "ACT":
        return f"ACT={['none', 'relu', 'gelu', 'hardswish'][vals[0]]}"
    s = ",".join(f"{v:.9g}" if isinstance(v, float) else str(v) for v in vals)
    return f"{name}={s if len(vals) == 1 else '(' + s + ')'}"


def _flags(flags):
    names = [n for bit, n in ((ifg.IN_PER_CLICK, "per_click"), (ifg.IN_OPTIONAL, "optional"))
             if flags & bit]
    return f" [{', '.join(names)}]" if names else ""


def format_file(f, path, summary=False):
    """The human-readable listing as a list of lines."""
    T = f.tensors
    out = [f"file {path}: {f.file_bytes} bytes",
           f"header: version {f.version}, kind {KIND_NAMES[f.kind]}, flags 0x{f.flags:x}"
           f"{' (f16 weights)' if f.flags & ifg.FLAG_F16 else ''}, crc32 0x{f.crc:08x}, "
           f"data_offset {f.data_offset}",
           f"metadata ({len(f.meta)}):"]
    out += [f"  {k} = {_fmt_meta(*v)}" for k, v in f.meta.items()]
    out.append(f"inputs ({len(f.inputs)}):")
    out += [f"  {T[t].name} {T[t].dims_str()} {ifg.DTYPE_NAMES[T[t].dtype]}{_flags(fl)}"
            for t, fl in f.inputs]
    out.append(f"outputs ({len(f.outputs)}):")
    out += [f"  {T[t].name} {T[t].dims_str()} {ifg.DTYPE_NAMES[T[t].dtype]}" for t in f.outputs]
    if not summary:
        out.append(f"nodes ({len(f.nodes)}):")
        for n in f.nodes:
            ins = ", ".join("-" if t is None else T[t].name for t in n.ins)
            attrs = " ".join(_fmt_attr(k, v) for k, v in n.attrs.items())
            out.append(f"  {n.index:4d} {n.op:<17} {n.name}")
            out.append(f"       in: {ins}")
            out.append(f"       out: {', '.join(T[t].name + ' ' + T[t].dims_str() for t in n.outs)}"
                       + (f"  {attrs}" if attrs else ""))
        out.append(f"tensors ({len(T)}):")
        for t in T:
            kind = "const" if t.is_const else "value"
            size = f" {t.nbytes} bytes @{t.offset}" if t.is_const else ""
            out.append(f"  {t.id:5d} {kind} {ifg.DTYPE_NAMES[t.dtype]:<3} {t.dims_str()} "
                       f"{t.name}{size}")
    counts = Counter(n.op for n in f.nodes)
    out.append(f"op counts ({len(f.nodes)} nodes):")
    out += [f"  {op:<17} {c}" for op, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    n_const = sum(1 for t in T if t.is_const)
    out.append(f"parameters: {f.parameter_count()} in {n_const} constant tensors, "
               f"{f.const_bytes()} bytes")
    out.append(f"total bytes: {f.file_bytes}")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m converter.inspect",
                                description="Validate an IFG graph file and print its contents.")
    p.add_argument("file")
    p.add_argument("--summary", action="store_true",
                   help="header, metadata, I/O, op counts and totals only")
    args = p.parse_args(argv)
    try:
        f = read(args.file)
    except OSError as e:
        sys.stderr.write(f"converter.inspect: error: {args.file}: {e.strerror or e}\n")
        return 2
    except IfgError as e:
        sys.stderr.write(f"converter.inspect: error: {args.file}: {e}\n")
        return 2
    try:
        sys.stdout.write("\n".join(format_file(f, args.file, args.summary)) + "\n")
    except BrokenPipeError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
