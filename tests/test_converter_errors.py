"""Bad input: one `converter: error:` line naming the culprit, exit 2, no output files.

Each test converts something broken into an empty directory and checks the
exit code, that stderr is exactly one line, that the line names the key or
file at fault, and that the directory is still empty (no partial or
temporary files).
"""

import os
import pickle
import zipfile

import pytest

from conftest import golden_case, run_converter

EXIT = 2


def assert_fails(tmp_path, *args, expect=()):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    r = run_converter(*args, "-o", out)
    lines = r.stderr.splitlines()
    assert r.returncode == EXIT, r.stderr
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("converter: error: "), lines[0]
    for s in expect:
        assert s in lines[0], (s, lines[0])
    assert r.stdout == ""
    assert os.listdir(out) == [], os.listdir(out)
    return lines[0]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_ckpt(torch):
    return torch.load(os.path.join(golden_case("tiny_vit"), "model.pth"), map_location="cpu")


def save_modified(torch, ckpt, path, edit):
    sd = dict(ckpt["state_dict"])
    edit(sd)
    torch.save({"meta": ckpt["meta"], "state_dict": sd}, str(path))
    return path


def test_missing_key(tmp_path, torch, tiny_ckpt):
    key = "neck.stages.0.blocks.0.attn.proj.bias"
    p = save_modified(torch, tiny_ckpt, tmp_path / "m.pth", lambda sd: sd.pop(key))
    assert_fails(tmp_path, p, expect=(str(p), f"'{key}'", "missing", "(8)"))


def test_unused_extra_key(tmp_path, torch, tiny_ckpt):
    key = "neck.stages.0.blocks.0.extra.weight"
    p = save_modified(torch, tiny_ckpt, tmp_path / "m.pth",
                      lambda sd: sd.__setitem__(key, torch.zeros(3)))
    assert_fails(tmp_path, p, expect=(str(p), f"'{key}'", "not used"))


def test_shape_mismatch(tmp_path, torch, tiny_ckpt):
    key = "decode_head.conv_seg.weight"
    p = save_modified(torch, tiny_ckpt, tmp_path / "m.pth",
                      lambda sd: sd.__setitem__(key, torch.zeros(3, 16, 1, 1)))
    assert_fails(tmp_path, p, expect=(f"'{key}'", "(3,16,1,1)", "expected (2,16,1,1)"))


def test_wrong_relative_position_index(tmp_path, torch, tiny_ckpt):
    key = "backbone.layers.1.attn.relative_position_index"

    def edit(sd):
        idx = sd[key].clone()
        idx[3, 5] += 1
        sd[key] = idx
    p = save_modified(torch, tiny_ckpt, tmp_path / "m.pth", edit)
    assert_fails(tmp_path, p, expect=(f"'{key}'", "(3, 5)"))


def test_dropped_keys_are_optional(tmp_path, torch, tiny_ckpt):
    """auxiliary_head.* and num_batches_tracked may be absent (they are ignored anyway)."""
    def edit(sd):
        for k in [k for k in sd if k.startswith("auxiliary_head.")
                  or k.endswith("num_batches_tracked")]:
            del sd[k]
    p = save_modified(torch, tiny_ckpt, tmp_path / "m.pth", edit)
    r = run_converter(p, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr


def test_nan_weight(tmp_path, torch, tiny_ckpt):
    key = "neck.norm2.weight"

    def edit(sd):
        w = sd[key].clone()
        w[0] = float("nan")
        sd[key] = w
    p = save_modified(torch, tiny_ckpt, tmp_path / "m.pth", edit)
    assert_fails(tmp_path, p, expect=(f"'{key}'", "NaN"))


def test_truncated_checkpoint(tmp_path):
    src = os.path.join(golden_case("tiny_vit"), "model.pth")
    data = open(src, "rb").read()
    p = tmp_path / "trunc.pth"
    p.write_bytes(data[: len(data) // 2])
    assert_fails(tmp_path, p, expect=(str(p), "truncated"))


def test_truncated_storage(tmp_path):
    """A zip that is intact but one of whose tensor storages is too short."""
    src = os.path.join(golden_case("tiny_vit"), "model.pth")
    p = tmp_path / "short.pth"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(p, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("/data/1"):
                data = data[:-4]
            zout.writestr(info.filename, data)
    assert_fails(tmp_path, p, expect=(str(p), "data/1", "truncated"))


@pytest.mark.parametrize("content", [os.urandom(4096), b"just some text\n" * 10, b""],
                         ids=["random", "text", "empty"])
def test_not_a_checkpoint(tmp_path, content):
    p = tmp_path / "junk.pth"
    p.write_bytes(content)
    assert_fails(tmp_path, p, expect=(str(p), "not a PyTorch checkpoint"))


def test_zip_without_data_pkl(tmp_path):
    p = tmp_path / "nopkl.pth"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data/0", b"\0" * 16)
        z.writestr("archive/version", b"3\n")
    assert_fails(tmp_path, p, expect=(str(p), "data.pkl"))


def test_unknown_pickle_global(tmp_path):
    """A pickle that would call os.system is refused by name, not executed."""
    marker = tmp_path / "pwned"
    payload = (b"\x80\x02cos\nsystem\nq\x00X" + len(f"touch {marker}").to_bytes(4, "little")
               + f"touch {marker}".encode() + b"\x85R.")
    p = tmp_path / "evil.pth"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data.pkl", payload)
    assert_fails(tmp_path, p, expect=(str(p), "os.system", "allow-list"))
    assert not marker.exists()


def test_not_a_dict(tmp_path):
    p = tmp_path / "list.pth"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps([1, 2, 3], protocol=2))
    assert_fails(tmp_path, p, expect=(str(p), "list"))


def test_missing_file(tmp_path):
    p = tmp_path / "nonexistent.pth"
    assert_fails(tmp_path, p, expect=(str(p), "cannot read"))


def test_bare_state_dict_needs_config(tmp_path, torch, tiny_ckpt):
    p = tmp_path / "bare.pth"
    torch.save(dict(tiny_ckpt["state_dict"]), str(p))
    assert_fails(tmp_path, p, expect=("--config",))


def test_bare_state_dict_with_wrong_builtin_config(tmp_path, torch, tiny_ckpt):
    """tiny_vit weights against the real Light architecture: a missing key, and whose model."""
    p = tmp_path / "bare.pth"
    torch.save(dict(tiny_ckpt["state_dict"]), str(p))
    assert_fails(tmp_path, p, "--config", "light",
                 expect=(str(p), "'backbone.layers.2.gamma_1'", "missing", "(768)",
                         "built-in 'light' config"))


def test_bad_config_value(tmp_path, torch, tiny_ckpt):
    meta = dict(tiny_ckpt["meta"])
    meta["config"] = meta["config"].replace("num_heads=(1, 2, 4, 8)", "num_heads=(1, 2, 4, 7)")
    p = tmp_path / "cfg.pth"
    torch.save({"meta": meta, "state_dict": tiny_ckpt["state_dict"]}, str(p))
    assert_fails(tmp_path, p, expect=(str(p), "model.neck.num_heads", "does not divide"))


def test_unsafe_config_value_is_not_executed(tmp_path, torch, tiny_ckpt):
    marker = tmp_path / "pwned"
    meta = dict(tiny_ckpt["meta"])
    meta["config"] = meta["config"].replace(
        "channels=16,", f"channels=__import__('os').system('touch {marker}'),", 1)
    p = tmp_path / "cfg.pth"
    torch.save({"meta": meta, "state_dict": tiny_ckpt["state_dict"]}, str(p))
    assert_fails(tmp_path, p, expect=("model.decode_head.channels", "cannot be evaluated"))
    assert not marker.exists()


def test_usage_error_is_one_line(tmp_path):
    r = run_converter("only-a-checkpoint.pth")
    assert r.returncode == EXIT
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("converter: error: ")


def test_no_partial_output_when_second_write_fails(tmp_path, monkeypatch):
    """If renaming the decoder into place fails, the encoder is removed again."""
    from converter import convert as conv
    src = os.path.join(golden_case("tiny_vit"), "model.pth")
    out = tmp_path / "out"
    real = os.replace
    calls = []

    def flaky(a, b):
        calls.append(b)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(a, b)

    monkeypatch.setattr(conv.os, "replace", flaky)
    with pytest.raises(conv.ConversionError, match="No space left"):
        conv.convert(src, str(out), name="m")
    assert os.listdir(out) == []
