"""The torch-free checkpoint reader (converter/checkpoint.py)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, golden_case, run_converter
from converter.checkpoint import load_checkpoint
from converter.errors import ConversionError


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_matches_torch_load(torch):
    path = os.path.join(golden_case("tiny_vit"), "model.pth")
    ck = load_checkpoint(path)
    ref = torch.load(path, map_location="cpu")
    assert ck.meta["config"] == ref["meta"]["config"]
    assert ck.meta["CLASSES"] == ("Background", "Foreground")
    assert list(ck.state_dict) == list(ref["state_dict"])
    for k, v in ref["state_dict"].items():
        a = ck.state_dict[k]
        assert a.dtype == v.numpy().dtype and a.shape == tuple(v.shape), k
        np.testing.assert_array_equal(a, v.numpy(), err_msg=k)


def test_views_strides_offsets_and_dtypes(tmp_path, torch):
    """Tensors sharing a storage, with offsets and non-contiguous strides; several dtypes."""
    base = torch.arange(60, dtype=torch.float32).reshape(6, 10)
    sd = {
        "t": base.t(),                                  # stride (1, 10)
        "slice": base[2:5, 3:9],                        # offset 23, stride (10, 1)
        "step": base[::2, ::3],                         # stride (20, 3)
        "scalar": torch.tensor(7, dtype=torch.int64),
        "half": torch.linspace(-2, 2, 9, dtype=torch.float16).reshape(3, 3),
        "double": torch.ones(2, 2, dtype=torch.float64) / 3,
        "bf16": torch.tensor([1.5, -2.25, 3e38], dtype=torch.bfloat16),
        "int8": torch.tensor([-1, 2], dtype=torch.int8),
        "bool": torch.tensor([True, False]),
        "empty": torch.zeros(0, 3),
        "param": torch.nn.Parameter(torch.ones(2)),
    }
    p = tmp_path / "views.pth"
    torch.save(sd, str(p))
    ck = load_checkpoint(str(p))
    assert ck.meta == {}
    for k, v in sd.items():
        want = v.detach().float().numpy() if k == "bf16" else v.detach().numpy()
        np.testing.assert_array_equal(ck.state_dict[k], want, err_msg=k)
        assert ck.state_dict[k].shape == want.shape, k
        if k != "bf16":
            assert ck.state_dict[k].dtype == want.dtype, k
    assert ck.state_dict["t"].flags["C_CONTIGUOUS"]


def test_meta_and_state_dict_layout(tmp_path, torch):
    from collections import OrderedDict
    sd = OrderedDict(a=torch.ones(2), b=torch.zeros(1))
    p = tmp_path / "full.pth"
    torch.save({"meta": {"config": "x = 1", "epoch": 3}, "state_dict": sd,
                "optimizer": {"state": {}}}, str(p))
    ck = load_checkpoint(str(p))
    assert list(ck.state_dict) == ["a", "b"] and ck.meta["epoch"] == 3


def test_identity_is_order_independent_and_value_sensitive(tmp_path, torch):
    a, b = torch.ones(3), torch.arange(4.0)
    torch.save({"x": a, "y": b}, str(tmp_path / "1.pth"))
    torch.save({"y": b, "x": a}, str(tmp_path / "2.pth"))
    torch.save({"x": a, "y": b + 1}, str(tmp_path / "3.pth"))
    torch.save({"x": a.double(), "y": b}, str(tmp_path / "4.pth"))
    ids = [load_checkpoint(str(tmp_path / f"{i}.pth")).identity() for i in range(1, 5)]
    assert ids[0] == ids[1]
    assert len(set(ids[1:])) == 3


def test_non_tensor_entry(tmp_path, torch):
    p = tmp_path / "bad.pth"
    torch.save({"state_dict": {"w": torch.ones(1), "lr": 0.1}}, str(p))
    with pytest.raises(ConversionError, match="'lr' is a float, not a tensor"):
        load_checkpoint(str(p))


def test_legacy_format(tmp_path, torch):
    p = tmp_path / "legacy.pth"
    torch.save({"w": torch.ones(1)}, str(p), _use_new_zipfile_serialization=False)
    with pytest.raises(ConversionError, match="legacy"):
        load_checkpoint(str(p))


def test_conversion_without_torch(tmp_path):
    """With a `torch` module that cannot be imported, conversion still works, byte-identically."""
    src = os.path.join(golden_case("tiny_vit"), "model.pth")
    block = tmp_path / "block"
    block.mkdir()
    (block / "torch.py").write_text("raise ImportError('torch is blocked for this test')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(block), ROOT])}
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True)
    assert probe.returncode != 0 and b"blocked" in probe.stderr

    r = run_converter(src, "-o", tmp_path / "no_torch", "--name", "m", env=env)
    assert r.returncode == 0, r.stderr
    r = run_converter(src, "-o", tmp_path / "normal", "--name", "m")
    assert r.returncode == 0, r.stderr
    for part in ("encoder", "decoder"):
        a = (tmp_path / "no_torch" / f"m.{part}.ifg").read_bytes()
        b = (tmp_path / "normal" / f"m.{part}.ifg").read_bytes()
        assert a == b, part


def test_converter_never_imports_torch():
    code = ("import sys, converter.convert, converter.inspect, converter.__main__; "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_training_meta_with_numpy_and_sets(tmp_path, torch):
    """mmcv training meta may hold NumPy scalars/arrays and sets: read, but inert."""
    p = tmp_path / "train.pth"
    meta = {"seed": np.int64(3), "arr": np.arange(3), "tags": {1, 2}, "ft": frozenset([1]),
            "blob": b"\x00\xffbytes", "epoch": 12}
    torch.save({"meta": meta, "state_dict": {"w": torch.ones(2)}}, str(p))
    ck = load_checkpoint(str(p))
    assert ck.meta["tags"] == {1, 2} and ck.meta["ft"] == frozenset([1])
    assert ck.meta["blob"] == b"\x00\xffbytes" and ck.meta["epoch"] == 12
    assert "numpy" in repr(ck.meta["seed"]) and "numpy" in repr(ck.meta["arr"])


def test_numpy_array_in_state_dict_is_rejected(tmp_path, torch):
    p = tmp_path / "np.pth"
    torch.save({"state_dict": {"w": torch.ones(2), "v": np.ones(2)}}, str(p))
    with pytest.raises(ConversionError, match="'v' is a numpy.*, not a tensor"):
        load_checkpoint(str(p))
