"""torchref.encode (PyTorch encoding into the C runtime's feature files) and
converter/iff.py (the NumPy .iff writer and reader), against the C CLI.

On the golden case tiny_vit: the .iff torchref.encode writes and the one
`interformer encode` writes have the same header and identity and levels
within 1e-4 relative, and `interformer segment` gives identical masks from
both; the writer's files (f32, f16, a working size below the image size) pass
the C reader and a corrupted byte is refused; sharding writes every image
once and a rerun rewrites nothing; bad arguments exit 2 with one line; the
--max-side resize follows FEATURES.md exactly, and agrees with the C
encoder's --max-side when this build's CLI has it.

$IF_BUILD names the build directory (default build/); the tests that run the
CLI are skipped when it is not built. CPU only.
"""

import os
import struct
import subprocess
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("torch")

from conftest import ROOT, golden_case, run_converter  # noqa: E402
from converter.iff import IffError, model_identity, read_iff, write_iff  # noqa: E402
from pngread import read_png  # noqa: E402
from pngwrite import rgb_png  # noqa: E402
from torchref.encode import area_resize, work_size  # noqa: E402

BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))
CLI = os.path.join(BUILD, "interformer")
REL = 1e-4                        # levels: max |a - b| <= REL * max |b|
CASE = "tiny_vit"
# Click sequences on the golden image (x, y): the first of the golden clicks, then more.
CLICK_SETS = (["68,78,+"], ["68,78,+", "34,40,-", "30,55,-"],
              ["68,78,+", "34,40,-", "30,55,-", "103,91,-", "101,48,-", "100,103,-"])


def need_cli():
    if not os.path.isfile(CLI):
        pytest.skip(f"{os.path.relpath(CLI, ROOT)} is not built: run `make "
                    f"{os.path.relpath(CLI, ROOT)}` (or set IF_BUILD)")


def cli(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "IF_MODEL"})


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def encode(*args):
    """python3 -m torchref.encode ARGS from the repo root (CompletedProcess, text)."""
    return run_converter(*args, module="torchref.encode")


@pytest.fixture(scope="module")
def golden():
    d = golden_case(CASE)
    return os.path.join(d, "model.pth"), os.path.join(d, "image.png")


@pytest.fixture(scope="module")
def prefix(converted):
    enc, _ = converted(CASE)
    return enc[: -len(".encoder.ifg")]


def compare_levels(a, b):
    for i, (x, y) in enumerate(zip(a["levels"], b["levels"])):
        assert x.shape == y.shape, i
        err, scale = float(np.abs(x - y).max()), float(np.abs(y).max())
        assert err <= REL * scale, f"F{i + 1}: max|err| {err:.3g}, max|value| {scale:.3g}"


def same_header(a, b):
    for k in ("version", "dtype", "image_size", "work_size", "padded_size", "identity",
              "channels", "strides", "file_bytes"):
        assert a[k] == b[k], (k, a[k], b[k])


def masks(features, prefix, tmp_path, tag):
    out = []
    for n, clicks in enumerate(CLICK_SETS):
        png = tmp_path / f"{tag}_{n}.png"
        ok(cli("segment", features, *[a for c in clicks for a in ("--click", c)],
               "-o", png, "--model", prefix))
        out.append(read_png(str(png)))
    return out


# ---------------------------------------------------------------------------
# (a) the golden case: torchref's features and masks = the C encoder's
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("f16", [False, True], ids=["f32", "f16"])
def test_golden_features_and_masks_match_c(golden, prefix, tmp_path, f16):
    need_cli()
    ckpt, image = golden
    r = encode(ckpt, image, "-o", tmp_path / "py", *(["--f16"] if f16 else []))
    assert r.returncode == 0, r.stderr
    assert "1 encoded, 0 skipped, 0 failed" in r.stdout
    ours = tmp_path / "py" / "image.iff"
    c_iff = tmp_path / "c.iff"
    ok(cli("encode", image, "--model", prefix, "-o", c_iff, *(["--f16"] if f16 else [])))
    a, b = read_iff(str(ours)), read_iff(str(c_iff))
    same_header(a, b)
    assert a["version"] == 2 and a["dtype"] == ("f16" if f16 else "f32")
    assert a["identity"] == model_identity(ckpt) and len(a["identity"]) == 64
    assert a["image_size"] == a["work_size"] == (150, 110)
    assert a["padded_size"] == (160, 128)
    if f16:   # two roundings to f16 of values that differ in the last f32 bits
        for x, y in zip(a["levels"], b["levels"]):
            assert float(np.abs(x - y).max()) <= 1e-3 * float(np.abs(y).max())
    else:
        compare_levels(a, b)
        mp, mc = masks(ours, prefix, tmp_path, "py"), masks(c_iff, prefix, tmp_path, "c")
        for n, (x, y) in enumerate(zip(mp, mc)):
            assert x.shape == (150, 110)
            assert np.array_equal(x, y), f"click set {n}: {int((x != y).sum())} pixels differ"
        assert mp[0].any() and not mp[0].all()


# ---------------------------------------------------------------------------
# (b) the writer through the C reader
# ---------------------------------------------------------------------------

def random_levels(padded, channels=(8, 16, 32, 64), strides=(4, 8, 16, 32), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((padded[0] // s, padded[1] // s, c)).astype(np.float32)
            for c, s in zip(channels, strides)]


@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_writer_files_pass_the_c_reader(tmp_path, dtype):
    need_cli()
    levels = random_levels((64, 96))
    # A working size below the image size: a version-2 file of a --max-side encode.
    p = str(tmp_path / "w.iff")
    n = write_iff(p, levels, (300, 411), (47, 64), (64, 96), "ab" * 32, (4, 8, 16, 32), dtype)
    assert os.path.getsize(p) == n
    info = ok(cli("info", p)).stdout
    assert "ab" * 32 in info and "411x300" in info, info
    assert ("f16" if dtype == "f16" else "f32") in info
    back = read_iff(p)
    assert back["version"] == 2 and back["image_size"] == (300, 411)
    assert back["work_size"] == (47, 64) and back["padded_size"] == (64, 96)
    for x, y in zip(levels, back["levels"]):
        want = x.astype(np.float16).astype(np.float32) if dtype == "f16" else x
        assert np.array_equal(want, y)
    # A byte of the last level flipped: the C reader and read_iff refuse it (CRC).
    data = bytearray(open(p, "rb").read())
    data[-5] ^= 0x10
    bad = tmp_path / "bad.iff"
    bad.write_bytes(bytes(data))
    r = cli("info", bad)
    assert r.returncode != 0 and "crc" in r.stderr.lower(), r.stderr
    with pytest.raises(IffError, match="crc"):
        read_iff(str(bad))


def test_writer_layout_and_f16_rounding(tmp_path):
    """Header fields at their FEATURES.md offsets, 64-aligned levels, CRC of [16, end),
    f16 round to nearest even, and the writer's refusals."""
    import zlib
    levels = random_levels((32, 32), channels=(1, 1, 1, 1))
    # Halfway cases: 1 + 2^-11 -> 1.0 (even), 1 + 3 * 2^-11 -> 1 + 2^-9 (even).
    levels[0][0, 0, 0], levels[0][0, 1, 0] = 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11
    p = str(tmp_path / "x.iff")
    write_iff(p, levels, (20, 30), (20, 30), (32, 32), "", (4, 8, 16, 32), "f16")
    b = open(p, "rb").read()
    assert b[:8] == b"IFFEAT\0\0"
    version, crc, size, dtype, nl = struct.unpack_from("<IIQII", b, 8)
    assert (version, size, dtype, nl) == (2, len(b), 1, 4)
    assert crc == zlib.crc32(b[16:])
    assert struct.unpack_from("<6I", b, 32) == (20, 30, 32, 32, 20, 30)
    assert b[56:64] == bytes(8) and b[64:136] == bytes(72)
    offs = [struct.unpack_from("<4I2Q", b, 136 + 32 * i) for i in range(4)]
    assert offs[0][4] == 320 and all(o[4] % 64 == 0 for o in offs)
    first = offs[0][4]
    assert struct.unpack_from("<2H", b, first) == (0x3C00, 0x3C02)
    with pytest.raises(IffError):
        write_iff(p, levels, (20, 30), (21, 30), (32, 32), "", (4, 8, 16, 32))  # work > image
    with pytest.raises(IffError):
        write_iff(p, levels[:3], (20, 30), (20, 30), (32, 32), "", (4, 8, 16))
    with pytest.raises(IffError):
        write_iff(p, levels, (20, 30), (20, 30), (32, 32), "x" * 72, (4, 8, 16, 32))
    assert open(p, "rb").read() == b                    # refused writes leave the file
    assert [f for f in os.listdir(tmp_path) if f != "x.iff"] == []   # and no temporary file


# ---------------------------------------------------------------------------
# (c) sharding and reruns
# ---------------------------------------------------------------------------

def test_shards_write_each_image_once_and_reruns_skip(golden, tmp_path):
    ckpt, image = golden
    base = read_png(image)
    names = []
    for k in range(5):       # five small different images
        px = np.ascontiguousarray(np.roll(base, 7 * k, axis=1)[: 40 + 8 * k, : 48])
        p = tmp_path / f"img{k}.png"
        p.write_bytes(rgb_png(px))
        names.append(str(p))
    lst = tmp_path / "list.txt"
    lst.write_text("# five images\n" + "\n".join(names) + "\n\n")
    out = tmp_path / "out"
    seen = {}
    for i in range(3):
        r = encode(ckpt, "--list", lst, "-o", out, "--shard", f"{i}/3")
        assert r.returncode == 0, r.stderr
        done = [k for k in range(5) if f"img{k}.png -> " in r.stdout]
        assert done == [k for k in range(5) if k % 3 == i], r.stdout
        for k in done:
            seen[k] = seen.get(k, 0) + 1
    assert seen == {k: 1 for k in range(5)}
    files = sorted(os.listdir(out))
    assert files == [f"img{k}.iff" for k in range(5)]
    for k in range(5):
        info = read_iff(str(out / f"img{k}.iff"), levels=False)
        assert info["image_size"] == (40 + 8 * k, 48) and info["identity"] == model_identity(ckpt)
    mtimes = {f: os.stat(out / f).st_mtime_ns for f in files}
    for i in range(3):
        r = encode(ckpt, "--list", lst, "-o", out, "--shard", f"{i}/3")
        assert r.returncode == 0, r.stderr
        assert " 0 encoded," in r.stdout and "failed" in r.stdout, r.stdout
    assert {f: os.stat(out / f).st_mtime_ns for f in files} == mtimes
    # A damaged file and one of another working size are rewritten, the others kept.
    data = bytearray((out / "img1.iff").read_bytes())
    data[-1] ^= 1
    (out / "img1.iff").write_bytes(bytes(data))
    # --max-side 48 leaves img0 (48x40) and img1 (48x48) at native size, not img2..4.
    r = encode(ckpt, *names, "-o", out, "--max-side", "48")
    assert r.returncode == 0, r.stderr
    assert "1 skipped" in r.stdout and "4 encoded" in r.stdout, r.stdout
    assert read_iff(str(out / "img1.iff"))["work_size"] == (48, 48)
    assert read_iff(str(out / "img2.iff"), levels=False)["work_size"] == (48, 41)
    assert os.stat(out / "img0.iff").st_mtime_ns == mtimes["img0.iff"]
    assert sorted(os.listdir(out)) == files                     # no temporary file left


def test_a_bad_image_fails_alone(golden, tmp_path):
    ckpt, image = golden
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    r = encode(ckpt, junk, image, "-o", tmp_path / "o")
    assert r.returncode == 1
    assert "junk.png: FAILED: " in r.stderr and len(r.stderr.splitlines()) == 1
    assert "1 encoded, 0 skipped, 1 failed" in r.stdout
    assert os.listdir(tmp_path / "o") == ["image.iff"]


# ---------------------------------------------------------------------------
# (d) bad arguments
# ---------------------------------------------------------------------------

def test_bad_arguments(golden, tmp_path):
    import torch
    ckpt, image = golden
    out = tmp_path / "out"
    same = tmp_path / "a"
    same.mkdir()
    (same / "image.png").write_bytes(open(image, "rb").read())
    cases = [
        ((ckpt, image, "-o", out, "--shard", "3/3"), "--shard"),
        ((ckpt, image, "-o", out, "--shard", "1/0"), "--shard"),
        ((ckpt, image, "-o", out, "--shard", "x"), "--shard"),
        ((ckpt, "-o", out), "no images"),
        ((ckpt, image, "--list", image, "-o", out), "not both"),
        ((ckpt, "--list", tmp_path / "missing.txt", "-o", out), "missing.txt"),
        ((ckpt, image, "-o", out, "--max-side", "-1"), "--max-side"),
        ((ckpt, image, "-o", out, "--max-side", "big"), "--max-side"),
        ((ckpt, image, "-o", out, "--device", "tpu"), "--device"),
        ((ckpt, image), "-o"),
        ((ckpt, image, "-o", out, "--bogus"), "--bogus"),
        ((tmp_path / "none.pth", image, "-o", out), "none.pth"),
        ((image, image, "-o", out), "image.png"),               # not a checkpoint
        ((ckpt, image, same / "image.png", "-o", out), "image.iff"),   # one stem twice
        ((ckpt, image, "-o", image), "not a folder"),
    ]
    if not torch.cuda.is_available():
        cases.append(((ckpt, image, "-o", out, "--device", "cuda"), "CUDA is not available"))
    for args, needle in cases:
        r = encode(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("torchref.encode: error: "), (args, r.stderr)
        assert needle in lines[0], (needle, lines[0])
        assert r.stdout == "" and not out.exists(), args


# ---------------------------------------------------------------------------
# (e) working resolution
# ---------------------------------------------------------------------------

def exact_resize(img, ww, wh):
    """FEATURES.md "Working resolution" in rational arithmetic (slow; small images)."""
    H, W = img.shape[:2]
    out = np.zeros((wh, ww, 3), np.uint8)
    cover = lambda lo, hi, i: max(Fraction(0), min(hi, i + 1) - max(lo, i))  # noqa: E731
    for y in range(wh):
        y0, y1 = Fraction(y * H, wh), Fraction((y + 1) * H, wh)
        wy = [cover(y0, y1, j) for j in range(H)]
        for x in range(ww):
            x0, x1 = Fraction(x * W, ww), Fraction((x + 1) * W, ww)
            wx = [cover(x0, x1, i) for i in range(W)]
            for c in range(3):
                s = sum(wy[j] * wx[i] * int(img[j, i, c])
                        for j in range(H) if wy[j] for i in range(W) if wx[i])
                out[y, x, c] = (s / ((x1 - x0) * (y1 - y0)) + Fraction(1, 2)).__floor__()
    return out


def test_working_size_and_area_resize_follow_the_spec():
    assert work_size(110, 150, 64) == (47, 64)
    assert work_size(150, 110, 64) == (64, 47)
    assert work_size(100, 100, 64) == (64, 64)
    assert work_size(1000, 1, 64) == (64, 1)                    # max(1, ...)
    assert work_size(300, 100, 300) == (300, 100)               # not longer: native
    assert work_size(300, 100, 0) == (300, 100)
    assert work_size(200, 3, 100) == (100, 2)                   # floor(1.5 + 0.5)
    rng = np.random.default_rng(1)
    for t in range(30):
        H, W = (int(v) for v in rng.integers(1, 12, 2))
        img = rng.integers(0, 256, (H, W, 3)).astype(np.uint8)
        if t % 3 == 0:
            img = (img >= 128).astype(np.uint8) * 255           # many exact halves
        wh, ww = int(rng.integers(1, H + 1)), int(rng.integers(1, W + 1))
        got = area_resize(img, ww, wh, chunk_bytes=int(rng.integers(1, 4000)))
        assert np.array_equal(got, exact_resize(img, ww, wh)), (H, W, wh, ww)


def c_has_max_side():
    need_cli()
    r = cli("encode", "--help")
    if "--max-side" not in r.stdout:
        pytest.skip(f"{os.path.relpath(CLI, ROOT)} encode has no --max-side yet")


# FEATURES.md rounds a working pixel's exact mean, halves up; both sides sum
# integer weights (lengths in 1/nw pixel) so that exact halves stay halves
# (on this image 76 of the values at M=100 are).
@pytest.mark.parametrize("max_side", [64, 100])
def test_max_side_matches_c(golden, prefix, tmp_path, max_side):
    """torchref.encode --max-side M and `interformer encode --max-side M` on the golden
    image (110x150): same working size, levels within 1e-4 relative, same masks."""
    c_has_max_side()
    ckpt, image = golden
    r = encode(ckpt, image, "-o", tmp_path / "py", "--max-side", max_side)
    assert r.returncode == 0, r.stderr
    ours, c_iff = tmp_path / "py" / "image.iff", tmp_path / "c.iff"
    ok(cli("encode", image, "--model", prefix, "-o", c_iff, "--max-side", max_side))
    a, b = read_iff(str(ours)), read_iff(str(c_iff))
    same_header(a, b)
    assert a["image_size"] == (150, 110)
    assert a["work_size"] == tuple(reversed(work_size(110, 150, max_side)))
    compare_levels(a, b)
    mp, mc = masks(ours, prefix, tmp_path, "py"), masks(c_iff, prefix, tmp_path, "c")
    for n, (x, y) in enumerate(zip(mp, mc)):
        assert x.shape == (150, 110)
        assert np.array_equal(x, y), f"click set {n}: {int((x != y).sum())} pixels differ"
