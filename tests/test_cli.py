"""The command-line tool, build/interformer (examples/interformer.c), run as
a user would: `make test-py` builds it and the models it uses first.

Models: build/models/tiny_vit.* and build/models/default.* (both converted
from tests/data/golden/tiny_vit/model.pth, random weights: the masks mean
nothing, only their shape, determinism and the files' validity are checked);
a model of another checkpoint (tiny_vit_exact) is converted here for the
mismatch cases. Images: the golden case's image.png, and the bundled example
examples/data/shapes.png (with the README's quick-start command, run as
written there). $IF_BUILD names the build directory (default build/); the
tests are skipped when the CLI or the models are not built.
"""

import os
import shlex
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from cli_util import CLI, DEFAULT, TINY, cli_env, error, ok, require_built, run_cli
from conftest import ROOT, TESTS, run_converter
from pngread import read_png
from pngwrite import rgb_png

IMAGE = os.path.join(TESTS, "data", "golden", "tiny_vit", "image.png")
W, H = 110, 150            # the image: width, height
PH, PW = 160, 128          # its padded size for a pad multiple of 32
CLICKS = ["68,78,+", "34,40,-", "30,55,-"]


EXAMPLE = os.path.join(ROOT, "examples", "data", "shapes.png")
EW, EH = 320, 240          # the example image
# Clicks on the example: in the orange disk, then on the blue square.
EXAMPLE_CLICKS = ["100,120,+", "235,79,-"]


@pytest.fixture(scope="module", autouse=True)
def built():
    require_built(CLI, TINY + ".encoder.ifg", TINY + ".decoder.ifg",
                  DEFAULT + ".encoder.ifg", DEFAULT + ".decoder.ifg")


def run(*args, env=None, cwd=None):
    """Runs the CLI without $IF_MODEL unless env sets it; CompletedProcess (text)."""
    return run_cli(args, cli_env(**(env or {})), cwd, timeout=300)


def clicks_args(clicks):
    return [a for c in clicks for a in ("--click", c)]


def summary_pixels(stdout):
    """The mask pixel count of segment's summary line."""
    line = stdout.strip()
    assert "\n" not in line, stdout
    return int(line.split("mask ")[1].split(" px")[0])


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    """A model of another checkpoint (tiny_vit_exact): same architecture, other identity."""
    d = tmp_path_factory.mktemp("other")
    ckpt = os.path.join(TESTS, "data", "golden", "tiny_vit_exact", "model.pth")
    r = run_converter(ckpt, "-o", d, "--name", "other")
    assert r.returncode == 0, r.stderr
    return str(d / "other")


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """IMAGE encoded with the tiny_vit model, f32."""
    p = tmp_path_factory.mktemp("feat") / "image.iff"
    ok(run("encode", IMAGE, "--model", TINY, "-o", p))
    return str(p)


# ------------------------------------------------------------------ help

@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"], ["help", "segment"],
                                  ["encode", "--help"], ["segment", "--help"], ["info", "--help"],
                                  ["segment", "x.png", "--click", "1,2,+", "--help"]])
def test_help_exits_0(args):
    r = ok(run(*args))
    assert r.stdout.startswith("usage: interformer") and r.stderr == ""


def test_help_names_default_model_and_what_it_is():
    out = ok(run("--help")).stdout
    assert DEFAULT in out and "IF_MODEL" in out
    assert "demo" in out and "models/README.md" in out


def test_version():
    assert ok(run("--version")).stdout.startswith("interformer ")


# --------------------------------------------------------------- segment

def test_segment_image(tmp_path):
    mask = tmp_path / "mask.png"
    r = ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", mask))
    m = read_png(mask)
    assert m.shape == (H, W)
    assert set(np.unique(m)) <= {0, 255}
    out = r.stdout
    assert f"{W}x{H}" in out and "3 clicks" in out and "ms/click" in out
    assert summary_pixels(out) == int((m == 255).sum())


def test_segment_outputs(tmp_path):
    p = {k: tmp_path / f"{k}.{ext}" for k, ext in
         (("mask", "png"), ("overlay", "png"), ("prob", "png"), ("logits", "npy"))}
    ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", p["mask"],
           "--overlay", p["overlay"], "--prob", p["prob"], "--logits", p["logits"]))
    m = read_png(p["mask"]) == 255
    ov = read_png(p["overlay"])
    assert ov.shape == (H, W, 3)
    img = read_png(IMAGE).astype(np.int32)
    # Away from the mask's boundary and the clicks: background pixels are the
    # image's, object pixels are tinted 50% red.
    inner = np.zeros((H, W), bool)
    inner[1:-1, 1:-1] = True
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        inner &= np.roll(m, (dy, dx), (0, 1)) == m
    yy, xx = np.mgrid[:H, :W]
    for c in CLICKS:
        x, y = map(int, c.split(",")[:2])
        inner &= (yy - y) ** 2 + (xx - x) ** 2 > 12 ** 2
    assert (ov[inner & ~m] == img[inner & ~m]).all()
    tinted = img[inner & m]
    assert (ov[inner & m][:, 0] == (tinted[:, 0] + 256) // 2).all()
    assert (ov[inner & m][:, 1:] == tinted[:, 1:] // 2).all()
    pr = read_png(p["prob"])
    assert pr.shape == (H, W)
    lg = np.load(p["logits"])
    assert lg.dtype == np.float32 and lg.shape == (PH, PW, 2)
    fg = lg[:H, :W, 1] > lg[:H, :W, 0]
    assert (fg == m).all()
    # The probability image is the softmax of the logits, quantised.
    soft = 1 / (1 + np.exp(lg[:H, :W, 0].astype(np.float64) - lg[:H, :W, 1]))
    assert np.abs(pr / 255.0 - soft).max() <= 1 / 255 + 1e-6


def test_segment_mask_as_pgm(tmp_path):
    # -o NAME.pgm writes a binary PGM (P5) with the PNG's pixels.
    png, pgm = tmp_path / "m.png", tmp_path / "m.pgm"
    ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", png))
    ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", pgm))
    data = pgm.read_bytes()
    head = f"P5\n{W} {H}\n255\n".encode()
    assert data.startswith(head) and len(data) == len(head) + W * H
    m = np.frombuffer(data[len(head):], np.uint8).reshape(H, W)
    assert (m == read_png(png)).all()


def test_segment_deterministic_and_threads(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", a))
    ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", b, "--threads", "2"))
    assert read_png(a).shape == read_png(b).shape == (H, W)


def test_segment_from_features_gives_the_same_mask(tmp_path, features):
    a, b = tmp_path / "from_image.png", tmp_path / "from_features.png"
    ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", a))
    # The kind is told by the contents: give the feature file a misleading name.
    disguised = tmp_path / "features.png"
    disguised.write_bytes(open(features, "rb").read())
    r = ok(run("segment", disguised, "--model", TINY, *clicks_args(CLICKS), "-o", b))
    assert "encode" not in r.stdout
    assert (read_png(a) == read_png(b)).all()


def test_segment_from_features_needs_only_the_decoder(tmp_path, features):
    ok(run("segment", features, "--decoder", TINY + ".decoder.ifg", "--click", "5,5,+",
           "-o", tmp_path / "m.png"))


def test_segment_features_overlay_needs_image(tmp_path, features):
    error(run("segment", features, "--model", TINY, "--click", "5,5,+", "-o", tmp_path / "m.png",
              "--overlay", tmp_path / "o.png"), 2, "--image")
    ok(run("segment", features, "--model", TINY, "--click", "5,5,+", "-o", tmp_path / "m.png",
           "--overlay", tmp_path / "o.png", "--image", IMAGE))
    assert read_png(tmp_path / "o.png").shape == (H, W, 3)


def test_encode_f16(tmp_path, features):
    p = tmp_path / "half.iff"
    r = ok(run("encode", IMAGE, "--model", TINY, "-o", p, "--f16"))
    assert "f16" in r.stdout
    data = p.read_bytes()
    assert data[:8] == b"IFFEAT\0\0"
    assert len(data) < os.path.getsize(features)
    assert "stored as f16" in ok(run("info", p)).stdout
    m = tmp_path / "m.png"
    ok(run("segment", p, "--model", TINY, "--click", "68,78,+", "-o", m))
    assert read_png(m).shape == (H, W)


def test_default_model_compiled_in_and_from_env(tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    r = ok(run("segment", IMAGE, "--click", "68,78,+", "-o", a))
    assert "placeholder model" not in r.stdout           # the bundled demo model
    r = ok(run("segment", IMAGE, "--click", "68,78,+", "-o", b, env={"IF_MODEL": TINY}))
    assert "placeholder model" in r.stdout               # $IF_MODEL wins
    ok(run("segment", IMAGE, "--click", "68,78,+", "-o", c, "--model", TINY))
    assert (read_png(b) == read_png(c)).all()
    ok(run("encode", IMAGE, "-o", tmp_path / "f.iff"))


# -------------------------------------------------------- example image

def png_header(path):
    """(width, height, bit depth, colour type) from a PNG's IHDR."""
    data = open(path, "rb").read(33)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path}: not a PNG"
    w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
    return w, h, depth, ctype


def test_example_image_is_what_its_script_makes(tmp_path):
    """examples/data/shapes.png is reproducible from examples/data/make_shapes.py."""
    assert png_header(EXAMPLE) == (EW, EH, 8, 2)
    out = tmp_path / "shapes.png"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "data", "make_shapes.py"),
                        str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (read_png(out) == read_png(EXAMPLE)).all()


def readme_command():
    """The quick start's `./build/interformer segment examples/data/...` command, as argv."""
    readme = os.path.join(ROOT, "README.md")
    if not os.path.isfile(readme):
        pytest.skip("no README.md")
    for line in open(readme):
        if "./build/interformer segment examples/data/" in line:
            cmd = line[line.index("./build/interformer"):].strip()
            return shlex.split(cmd)
    pytest.fail("README.md has no `./build/interformer segment examples/data/...` command")


def test_readme_command(tmp_path):
    """The README's quick start, run from another directory, on the default model."""
    argv = readme_command()
    assert argv[1] == "segment" and "-o" in argv and "--overlay" in argv, argv
    image = os.path.join(ROOT, argv[2])
    args = [image] + argv[3:]
    clicks = [argv[i + 1] for i, a in enumerate(argv) if a == "--click"]
    r = ok(run("segment", *args, cwd=tmp_path))
    mask, overlay = argv[argv.index("-o") + 1], argv[argv.index("--overlay") + 1]
    assert sorted(os.listdir(tmp_path)) == sorted([mask, overlay])
    w, h, _, _ = png_header(image)
    assert png_header(tmp_path / mask) == (w, h, 8, 0)
    assert png_header(tmp_path / overlay) == (w, h, 8, 2)
    assert f"{w}x{h}, {len(clicks)} clicks" in r.stdout and "placeholder model" not in r.stdout
    m = read_png(tmp_path / mask)
    assert set(np.unique(m)) <= {0, 255}
    # The bundled demo model follows the clicked object: the README's clicks
    # are on the orange disk (examples/data/make_shapes.py: centre (100, 120),
    # radius 62; the negative click is on the blue square).
    yy, xx = np.mgrid[:h, :w]
    disk = (xx - 100) ** 2 + (yy - 120) ** 2 <= 62 ** 2
    pred = m == 255
    assert (pred & disk).sum() / (pred | disk).sum() > 0.9
    assert summary_pixels(r.stdout) == int((m == 255).sum())
    ov = read_png(tmp_path / overlay)
    # The clicks are dots: green for +, red for -.
    for c in clicks:
        x, y, sign = c.split(",")
        assert tuple(ov[int(y), int(x)]) == ((0, 220, 0) if sign == "+" else (255, 0, 0)), c


def test_example_encode_then_segment(tmp_path):
    """encode + segment FEATURES (+ --image for the overlay) = segment IMAGE, file for file."""
    a = {k: tmp_path / f"a_{k}.png" for k in ("mask", "overlay", "prob")}
    b = {k: tmp_path / f"b_{k}.png" for k in ("mask", "overlay", "prob")}
    feat = tmp_path / "shapes.iff"
    ok(run("segment", EXAMPLE, *clicks_args(EXAMPLE_CLICKS), "-o", a["mask"],
           "--overlay", a["overlay"], "--prob", a["prob"], "--logits", tmp_path / "a.npy"))
    ok(run("encode", EXAMPLE, "-o", feat))
    ok(run("segment", feat, *clicks_args(EXAMPLE_CLICKS), "-o", b["mask"], "--image", EXAMPLE,
           "--overlay", b["overlay"], "--prob", b["prob"], "--logits", tmp_path / "b.npy"))
    for k in a:
        assert a[k].read_bytes() == b[k].read_bytes(), k
    la, lb = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert la.dtype == np.float32 and la.shape == (256, 320, 2)   # 240 padded to 256
    assert (la == lb).all()


# ------------------------------------------------------------------ info

def test_info_graph_files():
    for kind in ("encoder", "decoder"):
        out = ok(run("info", f"{TINY}.{kind}.ifg")).stdout
        assert f"kind         {kind}" in out
        assert "name         tiny_vit" in out
        assert "identity     b0a74940" in out
        assert "params" in out and "inputs" in out and "outputs" in out
        assert ("\n  image " in out) == (kind == "encoder")
        assert ("\n  logits " in out) == (kind == "decoder")
        assert "meaningless" in out


def test_info_features(features):
    out = ok(run("info", features)).stdout
    assert "kind         features" in out and "stored as f32" in out
    assert f"image        {W}x{H}" in out and f"padded       {PW}x{PH}" in out
    assert "F4" in out and "identity     b0a74940" in out


def test_info_errors(tmp_path):
    error(run("info", tmp_path / "none.ifg"), 1, "none.ifg", "cannot open")
    error(run("info", IMAGE), 1, "image.png", "neither a graph file")
    t = tmp_path / "trunc.ifg"
    t.write_bytes(open(TINY + ".decoder.ifg", "rb").read()[:5000])
    error(run("info", t), 1, "trunc.ifg")
    error(run("info"), 2)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("click", ["3,4", "a,b,+", "1,2,*", "1,2,+x", "1,,+", "1, 2,+", "",
                                   "1,2,+,3", "0x10,2,+"])
def test_bad_click_syntax(tmp_path, click):
    error(run("segment", IMAGE, "--click", click, "-o", tmp_path / "m.png"), 2, "bad click")


@pytest.mark.parametrize("click", [f"{W},0,+", f"0,{H},-", "-1,5,+", "5,-1,-",
                                   "99999999999,1,+"])
def test_click_outside_image(tmp_path, click):
    r = run("segment", IMAGE, "--click", "5,5,+", "--click", click, "-o", tmp_path / "m.png")
    if click.startswith("99999999999"):
        error(r, 2, "bad click")   # not a representable coordinate
    else:
        error(r, 1, "outside", f"{W}x{H}")
    assert not (tmp_path / "m.png").exists()


def test_missing_and_unreadable_image(tmp_path):
    error(run("segment", tmp_path / "nope.png", "--click", "1,1,+", "-o", tmp_path / "m.png"),
          1, "nope.png", "cannot open")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image at all")
    error(run("segment", junk, "--click", "1,1,+", "-o", tmp_path / "m.png"), 1, "junk.png")
    error(run("encode", junk, "-o", tmp_path / "f.iff"), 1, "junk.png")


def test_features_of_another_model(tmp_path, features, other_model):
    # A feature file of model A given to model B.
    line = error(run("segment", features, "--model", other_model, "--click", "1,1,+",
                     "-o", tmp_path / "m.png"), 1, "do not belong together")
    assert "image.iff" in line
    # An encoder of one model with the decoder of another.
    error(run("segment", IMAGE, "--encoder", TINY + ".encoder.ifg",
              "--decoder", other_model + ".decoder.ifg", "--click", "1,1,+",
              "-o", tmp_path / "m.png"), 1, "do not belong together")


def test_features_with_a_foreign_identity(tmp_path, features):
    """A valid feature file (CRC recomputed) whose identity names another model."""
    data = bytearray(open(features, "rb").read())
    data[64:64 + 72] = b"f" * 64 + b"\0" * 8
    data[12:16] = struct.pack("<I", zlib.crc32(bytes(data[16:])))
    p = tmp_path / "foreign.iff"
    p.write_bytes(bytes(data))
    error(run("segment", p, "--model", TINY, "--click", "1,1,+", "-o", tmp_path / "m.png"),
          1, "do not belong together")


def test_corrupt_features(tmp_path, features):
    data = bytearray(open(features, "rb").read())
    data[-1] ^= 0xFF
    p = tmp_path / "corrupt.iff"
    p.write_bytes(bytes(data))
    error(run("segment", p, "--model", TINY, "--click", "1,1,+", "-o", tmp_path / "m.png"),
          1, "checksum")


def test_missing_model(tmp_path):
    error(run("segment", IMAGE, "--model", tmp_path / "none", "--click", "1,1,+",
              "-o", tmp_path / "m.png"), 1, "none.decoder.ifg")
    error(run("encode", IMAGE, "--encoder", tmp_path / "e.ifg", "-o", tmp_path / "f.iff"),
          1, "e.ifg")
    line = error(run("segment", IMAGE, "--click", "1,1,+", "-o", tmp_path / "m.png",
                     env={"IF_MODEL": str(tmp_path / "gone")}), 1, "gone.decoder.ifg")
    assert "IF_MODEL" in line


def test_wrong_kind_of_graph(tmp_path):
    error(run("encode", IMAGE, "--encoder", TINY + ".decoder.ifg", "-o", tmp_path / "f.iff"),
          1, "decoder")


def test_unwritable_output(tmp_path):
    error(run("segment", IMAGE, "--model", TINY, "--click", "1,1,+",
              "-o", tmp_path / "no" / "dir" / "m.png"), 1, "m.png")
    error(run("encode", IMAGE, "--model", TINY, "-o", tmp_path / "no" / "f.iff"), 1, "f.iff")


# ------------------------------------------------- working resolution

def test_max_side_segment_image_equals_features(tmp_path):
    """The model sees the image at 47x64; clicks and the mask stay at 110x150,
    and segmenting the saved features reproduces segmenting the image."""
    a, b, f = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "f.iff"
    r = ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", a, "--max-side", 64, "-v"))
    assert f"{W}x{H} (model at 47x64), 3 clicks" in r.stdout and "session " in r.stdout
    ok(run("encode", IMAGE, "--model", TINY, "-o", f, "--max-side", 64))
    info = ok(run("info", f)).stdout
    assert f"image        {W}x{H}" in info and "working      47x64" in info and "padded       64x64" in info
    ok(run("segment", f, "--model", TINY, *clicks_args(CLICKS), "-o", b))
    ma, mb = read_png(str(a)), read_png(str(b))
    assert ma.shape == (H, W) and np.array_equal(ma, mb)
    error(run("segment", f, "--model", TINY, "--click", CLICKS[0], "-o", b, "--max-side", 32), 2, "--max-side")


def test_max_side_default_keeps_small_images_native(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    r = ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", a))
    assert "model at" not in r.stdout
    ok(run("segment", IMAGE, "--model", TINY, *clicks_args(CLICKS), "-o", b, "--max-side", 0))
    assert np.array_equal(read_png(str(a)), read_png(str(b)))


def test_progress_bar_only_on_a_terminal(tmp_path):
    """An encode of over a second draws a bar on a terminal's stderr, erased at
    the end; the same run with stderr a pipe prints nothing there."""
    import pty
    import select
    big = tmp_path / "big.png"
    y, x = np.mgrid[:800, :1100]
    rgb = np.stack([x % 256, y % 256, (x + y) % 256], axis=2).astype(np.uint8)
    big.write_bytes(rgb_png(rgb))
    args = [CLI, "encode", big, "--model", DEFAULT, "--max-side", 0, "-o", tmp_path / "f.iff"]
    e = {k: v for k, v in os.environ.items() if k != "IF_MODEL"}
    try:
        master, slave = pty.openpty()
    except OSError as e:  # e.g. a chroot without /dev/pts
        pytest.skip(f"no pseudo-terminal to draw the bar on: {e}")
    p = subprocess.Popen(list(map(str, args)), env=e, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        r, _, _ = select.select([master], [], [], 120)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    p.wait(timeout=300)
    os.close(master)
    assert p.returncode == 0
    if b"encoded in" in p.stdout.read() and b"%" not in seen:
        pytest.skip("the encode took under a second here: no bar is due")
    assert b"encoding [" in seen and b"%" in seen and seen.endswith(b"\r\x1b[K"), seen[-200:]
    r = ok(run(*args[1:]))
    assert r.stderr == ""


@pytest.mark.parametrize("v", ["-1", "x", "40000", "1.5"])
def test_bad_max_side(tmp_path, v):
    error(run("segment", IMAGE, "--model", TINY, "--click", CLICKS[0], "-o", tmp_path / "m.png",
              "--max-side", v), 2, "--max-side")


# -------------------------------------------------------- memory, sizes

def test_mem_limit_refuses_with_the_figures(tmp_path):
    line = error(run("segment", IMAGE, "--model", TINY, "--click", CLICKS[0], "-o", tmp_path / "m.png",
                     "--mem-limit", "200K"), 1, "out of memory", "budget", "if_options.mem_limit")
    assert "the budget is 200.0 kB" in line
    assert os.listdir(tmp_path) == []
    ok(run("segment", IMAGE, "--model", TINY, "--click", CLICKS[0], "-o", tmp_path / "m.png",
           "--mem-limit", "1.5G"))


@pytest.mark.parametrize("size", ["0", "-1", "2x", "G", "1e30"])
def test_bad_mem_limit(tmp_path, size):
    error(run("encode", IMAGE, "--model", TINY, "-o", tmp_path / "f.iff", "--mem-limit", size), 2,
          "--mem-limit")


def test_image_too_large_to_decode_says_so_at_once(tmp_path):
    """A 30000x30000 PNG (only its header: the reader refuses it there)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    for args in (["encode", big, "-o", tmp_path / "f.iff"], ["segment", big, "--click", "1,1,+", "-o",
                                                               tmp_path / "m.png"]):
        error(run(*args, "--model", TINY), 1, "30000x30000", "scale the image down")


# ------------------------------------------------------- output safety

@pytest.mark.parametrize("opt", ["-o", "--overlay", "--prob", "--logits"])
def test_full_disk_is_an_error(tmp_path, opt):
    """Every output's writes and close are checked: /dev/full fails loudly."""
    args = ["segment", IMAGE, "--model", TINY, "--click", CLICKS[0]]
    if opt != "-o":
        args += ["-o", tmp_path / "m.png"]
    error(run(*args, opt, "/dev/full"), 1, "/dev/full", "No space left on device")


def test_encode_to_a_full_disk_is_an_error():
    error(run("encode", IMAGE, "--model", TINY, "-o", "/dev/full"), 1, "/dev/full",
          "No space left on device")
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")  # still the device


def test_file_size_limit_is_an_error_and_keeps_the_old_file(tmp_path):
    import resource
    out = tmp_path / "m.png"
    out.write_bytes(b"old")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))  # the mask fits, not the rest
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # as a shell leaves it: the CLI must cope

    e = {k: v for k, v in os.environ.items() if k != "IF_MODEL"}
    for opt, dst in (("--overlay", tmp_path / "o.png"), ("--logits", tmp_path / "l.npy")):
        r = subprocess.run([CLI, "segment", IMAGE, "--model", TINY, "--click", CLICKS[0], "-o", out,
                            opt, dst], env=e, capture_output=True, text=True, preexec_fn=limit,
                           timeout=300)
        error(r, 1, str(dst), "File too large")
        assert out.read_bytes() != b"old" and not dst.exists()  # -o fitted, then the big one failed
        assert sorted(os.listdir(tmp_path)) == ["m.png"]  # no temporary file left
        out.write_bytes(b"old")


def test_output_naming_an_input_is_refused(tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(open(IMAGE, "rb").read())
    before = img.read_bytes()
    (tmp_path / "link.png").symlink_to(img)
    os.link(img, tmp_path / "hard.png")
    cases = [["segment", img, "--click", CLICKS[0], "-o", img],
             ["segment", img, "--click", CLICKS[0], "-o", tmp_path / "m.png", "--overlay", tmp_path / "link.png"],
             ["segment", img, "--click", CLICKS[0], "-o", tmp_path / "m.png", "--prob", tmp_path / "hard.png"],
             ["segment", img, "--click", CLICKS[0], "-o", tmp_path / "m.png", "--logits", TINY + ".decoder.ifg"],
             ["encode", img, "-o", img],
             ["encode", img, "-o", TINY + ".encoder.ifg"]]
    for args in cases:
        error(run(*args, "--model", TINY), 2, "refusing to overwrite an input")
    assert img.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.png", "hard.png", "link.png"]
    error(run("segment", img, "--model", TINY, "--click", CLICKS[0], "-o", tmp_path / "m.png",
              "--prob", tmp_path / "m.png"), 2, "two outputs")


def test_outputs_replace_files_whole_and_follow_links(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    os.chmod(real, 0o600)
    link = tmp_path / "mask.png"
    link.symlink_to(real)
    ok(run("segment", IMAGE, "--model", TINY, "--click", CLICKS[0], "-o", link))
    assert link.is_symlink() and read_png(str(real)).shape == (H, W)
    assert os.stat(real).st_mode & 0o777 == 0o600
    feat = tmp_path / "f.iff"
    flink = tmp_path / "flink.iff"
    feat.write_bytes(b"old")
    flink.symlink_to(feat)
    ok(run("encode", IMAGE, "--model", TINY, "-o", flink))
    assert flink.is_symlink() and feat.read_bytes()[:6] == b"IFFEAT"
    assert sorted(os.listdir(tmp_path)) == ["f.iff", "flink.iff", "mask.png", "real.png"]


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["--frobnicate"],
    ["segment", IMAGE, "--click", "1,1,+", "-o", "m.png", "--frobnicate"],
    ["segment", IMAGE, "--click", "1,1,+"],                      # no -o
    ["segment", IMAGE, "-o", "m.png"],                           # no click
    ["segment", "--click", "1,1,+", "-o", "m.png"],              # no input
    ["segment", IMAGE, "-o", "m.png", "--click"],                # value missing
    ["segment", IMAGE, IMAGE, "--click", "1,1,+", "-o", "m.png"],
    ["segment", IMAGE, "--click", "1,1,+", "-o", "m.png", "--threads", "0"],
    ["segment", IMAGE, "--click", "1,1,+", "-o", "m.png", "--threads", "two"],
    ["segment", IMAGE, "--click", "1,1,+", "-o", "m.png", "--image", IMAGE],
    ["segment", IMAGE, "--click", "1,1,+", "-o", "m.png", "--encoder", TINY + ".encoder.ifg"],
    ["encode", IMAGE],                                           # no -o
    ["encode", "-o", "f.iff"],
    ["encode", IMAGE, "-o", "f.iff", "--decoder", TINY + ".decoder.ifg"],
    ["info", "a", "b"],
    ["help", "frobnicate"],
])
def test_usage_errors(tmp_path, args):
    error(run(*args, cwd=tmp_path), 2, "--help")
    assert os.listdir(tmp_path) == []
