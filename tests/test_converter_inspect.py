"""converter.inspect: the IFG parser's checks and the printed listing."""

import re
import struct
from collections import Counter

import numpy as np
import pytest

from conftest import run_converter
from converter import ifg
from converter import inspect as ifg_inspect
from converter.inspect import IfgError


def small_graph():
    """A little decoder-like graph with a known node name to find in the bytes."""
    g = ifg.Graph(ifg.KIND_DECODER)
    g.meta_str("model.family", "interformer")
    g.meta_int("features.strides", [4, 8, 16, 32])
    x = g.input("feat", [ifg.H(4), ifg.W(4), ifg.C(4)])
    roi = g.input("roi", [ifg.C(4)], ifg.DT_I32, ifg.IN_PER_CLICK | ifg.IN_OPTIONAL)
    w = g.const("w", np.arange(16, dtype=np.float32).reshape(4, 1, 1, 4))
    h16 = g.const("m", np.ones((3, 4), np.float16), ifg.DT_F16)
    y = g.node("the_node", "CONV2D", [x, w, None], "y", 3,
               {"KERNEL": (1, 1), "STRIDE": (1, 1), "PAD": (0, 0, 0, 0), "GROUPS": 1, "ACT": 1},
               out_dims=[ifg.H(4), ifg.W(4), ifg.C(4)])
    c = g.node("crop", "CROP", [y, roi], "c", 3, {"STRIDE": 4})
    z = g.node("lin", "LINEAR", [c, h16], "z", 3)
    g.output(z)
    return g


def test_round_trip():
    g = small_graph()
    f = ifg_inspect.parse(g.to_bytes())
    assert f.kind == ifg.KIND_DECODER and f.flags == ifg.FLAG_F16
    assert f.meta["model.family"] == (ifg.META_STRING, "interformer")
    assert f.meta_value("features.strides") == (4, 8, 16, 32)
    assert [t.name for t in f.tensors] == [t.name for t in g.tensors]
    assert [f.tensors[t].name for t, _ in f.inputs] == ["feat", "roi"]
    assert f.inputs[1][1] == ifg.IN_PER_CLICK | ifg.IN_OPTIONAL
    n = f.nodes[0]
    assert (n.name, n.op, n.ins[2]) == ("the_node", "CONV2D", None)
    assert n.attrs == {"KERNEL": (1, 1), "STRIDE": (1, 1), "PAD": (0, 0, 0, 0), "GROUPS": (1,),
                       "ACT": (1,)}
    np.testing.assert_array_equal(f.tensor("w").data, np.arange(16).reshape(4, 1, 1, 4))
    assert f.tensor("m").data.dtype == np.float16
    assert repr(f.tensor("y").dims[0]) == "H/4"
    assert f.parameter_count() == 28 and f.const_bytes() == 64 + 24


def _node_field(buf, name, index):
    """Byte offset of u32 field `index` (0 = op) after a node name string."""
    raw = name.encode()
    pos = bytes(buf).index(struct.pack("<I", len(raw)) + raw)
    return pos + 4 + len(raw) + (-len(raw) % 4) + 4 * index


def corrupt(edit, fix=True):
    buf = bytearray(small_graph().to_bytes())
    edit(buf)
    if fix:
        ifg.fix_crc(buf)
    return bytes(buf)


@pytest.mark.parametrize("edit, fix, msg", [
    (lambda b: b.__setitem__(slice(0, 1), b"X"), False, "bad magic"),
    (lambda b: b.__setitem__(slice(8, 12), struct.pack("<I", 2)), False, "unsupported version 2"),
    (lambda b: b.__setitem__(-1, 7), False, "checksum mismatch"),
    (lambda b: b.__setitem__(40, b[40] + 1), True, "n_nodes|runs past|node"),
    (lambda b: b.__setitem__(slice(56, 64), struct.pack("<Q", 100)), True, "data_offset"),
    (lambda b: b.__setitem__(slice(28, 32), struct.pack("<I", 4)), True, "unknown flag bits"),
    (lambda b: b.__setitem__(slice(_node_field(b, "the_node", 0), _node_field(b, "the_node", 1)),
                             struct.pack("<I", 99)), True, "unknown op code 99"),
    (lambda b: b.__setitem__(slice(_node_field(b, "crop", 0), _node_field(b, "crop", 1)),
                             struct.pack("<I", ifg.OPS["IM2COL"])), True,
     "2 inputs, the op takes 1..1"),
])
def test_rejects(edit, fix, msg):
    with pytest.raises(IfgError, match=msg):
        ifg_inspect.parse(corrupt(edit, fix))


def test_rejects_truncation_and_trailing_bytes():
    data = small_graph().to_bytes()
    with pytest.raises(IfgError, match="truncated"):
        ifg_inspect.parse(data[:-64])
    with pytest.raises(IfgError, match="truncated"):
        ifg_inspect.parse(data[:40])
    with pytest.raises(IfgError, match="after the"):
        ifg_inspect.parse(data + b"\0")


def test_rejects_attribute_the_op_does_not_take():
    g = small_graph()
    g.nodes[1][4]["EPS"] = 1e-5      # CROP does not take EPS
    with pytest.raises(IfgError, match="does not take attribute EPS"):
        ifg_inspect.parse(g.to_bytes())


def test_rejects_use_before_definition():
    g = small_graph()
    g.nodes.insert(0, g.nodes.pop(1))   # CROP before the CONV2D that makes its input
    with pytest.raises(IfgError, match="neither a constant, a graph input nor the output"):
        ifg_inspect.parse(g.to_bytes())


def test_cli_listing(converted):
    enc_path, dec_path = converted("tiny_vit")
    for path in (enc_path, dec_path):
        f = ifg_inspect.read(path)
        r = run_converter(path, module="converter.inspect")
        assert r.returncode == 0 and r.stderr == "", r.stderr
        out = r.stdout
        assert out.startswith(f"file {path}: {f.file_bytes} bytes\n")
        assert "header: version 1, kind " in out
        assert f"  model.identity = '{f.meta_value('model.identity')}'" in out
        for t, _ in f.inputs:
            assert f"  {f.tensors[t].name} {f.tensors[t].dims_str()}" in out
        # every node and every tensor is listed
        assert len(re.findall(r"^ +\d+ [A-Z_0-9]+ +\S+$", out, re.M)) == len(f.nodes)
        assert len(re.findall(r"^ +\d+ (const|value) ", out, re.M)) == len(f.tensors)
        counts = dict(re.findall(r"^  ([A-Z_0-9]+) +(\d+)$", out, re.M))
        assert {k: int(v) for k, v in counts.items()} == Counter(n.op for n in f.nodes)
        m = re.search(r"^parameters: (\d+) in (\d+) constant tensors, (\d+) bytes$", out, re.M)
        assert m and int(m.group(1)) == f.parameter_count() == sum(
            t.data.size for t in f.tensors if t.is_const)
        assert int(m.group(3)) == f.const_bytes()
        assert f"total bytes: {f.file_bytes}" in out
    enc = ifg_inspect.read(enc_path)
    ops = Counter(n.op for n in enc.nodes)
    assert ops["VIT_ATTENTION"] == 2 and ops["TOKENS_FROM_GRID"] == 1

    r = run_converter(dec_path, "--summary", module="converter.inspect")
    assert r.returncode == 0 and "op counts" in r.stdout and " const " not in r.stdout


def test_cli_errors(tmp_path):
    bad = tmp_path / "bad.ifg"
    bad.write_bytes(corrupt(lambda b: b.__setitem__(-1, 1), fix=False))
    r = run_converter(bad, module="converter.inspect")
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and r.stdout == "" and len(lines) == 1
    assert lines[0].startswith(f"converter.inspect: error: {bad}: checksum mismatch")
    r = run_converter(tmp_path / "missing.ifg", module="converter.inspect")
    assert r.returncode == 2 and "missing.ifg" in r.stderr and len(r.stderr.splitlines()) == 1
