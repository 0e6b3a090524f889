"""The examples' mask reader (examples/common/mask.c, through build/mask_dump):
every encoding datasets ship masks in is read as the label map mask.h
defines (0 background, 255 ignore, 1..254 objects), and broken files are
one-line errors, never a crash.

The palette PNGs are written by an encoder of our own (tests/pngwrite.py:
every bit depth, every row filter, Adam7 interlacing), so the reader is checked against the
PNG specification rather than against another decoder; PIL (python3-pil)
writes the 16-bit and JPEG cases.
$IF_BUILD names the build directory (default build/).
"""

import io
import os
import struct
import subprocess
import zlib

import numpy as np
import pytest

from conftest import ROOT
from pngwrite import chunk, gray_png, palette_png, rgb_png

BUILD = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"))
DUMP = os.path.join(BUILD, "mask_dump")


@pytest.fixture(scope="module", autouse=True)
def built():
    if not os.path.isfile(DUMP):
        pytest.skip(f"{os.path.relpath(DUMP, ROOT)} is not built: run `make "
                    f"{os.path.relpath(DUMP, ROOT)}` (or `make test-py`) first")


VOC_COLOURS = [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)] + [(i, i, 255 - i) for i in range(4, 255)]
VOC_COLOURS.append((224, 224, 192))  # index 255: void


def dump(tmp_path, data, name="m.png"):
    p = tmp_path / name
    p.write_bytes(data)
    r = subprocess.run([DUMP, str(p)], capture_output=True, timeout=60)
    return r


def decoded(tmp_path, data, name="m.png"):
    r = dump(tmp_path, data, name)
    assert r.returncode == 0, r.stderr.decode()
    line, _, body = r.stdout.partition(b"\n")
    w, h, n_obj, n_ign, enc = line.decode().split(" ", 4)
    lab = np.frombuffer(body, np.uint8)
    assert lab.size == int(w) * int(h)
    return lab.reshape(int(h), int(w)), int(n_obj), int(n_ign), enc


def objects(h, w, ids, seed=0):
    """An index map with rectangles of each id in ids and a void border around each."""
    rng = np.random.default_rng(seed)
    idx = np.zeros((h, w), np.uint8)
    for k in ids:
        y0, x0 = rng.integers(0, h - 4), rng.integers(0, w - 4)
        y1, x1 = y0 + rng.integers(2, 5), x0 + rng.integers(2, 5)
        idx[max(y0 - 1, 0):y1 + 1, max(x0 - 1, 0):x1 + 1] = 255
        idx[y0:y1, x0:x1] = k
    return idx


# ------------------------------------------------------------------ cases

@pytest.mark.parametrize("depth", [1, 2, 4, 8])
@pytest.mark.parametrize("interlace", [False, True])
def test_palette_indices_every_depth_filter_and_interlace(tmp_path, depth, interlace):
    h, w = 13, 29  # odd sizes: partial bytes, empty Adam7 passes on small images
    top = (1 << depth) - 1
    rng = np.random.default_rng(depth)
    idx = rng.integers(0, top + 1, size=(h, w)).astype(np.uint8)
    pal = VOC_COLOURS[:top + 1]
    for filters in [(0,), (1,), (2,), (3,), (4,), (0, 1, 2, 3, 4)]:
        lab, n_obj, n_ign, enc = decoded(tmp_path, palette_png(idx, pal, depth, interlace, filters))
        assert enc.startswith("palette indices"), enc
        np.testing.assert_array_equal(lab, idx)
        present = set(np.unique(idx)) - {0, 255}
        assert n_obj == len(present)
        assert n_ign == int((idx == 255).sum())


def test_davis_style_palette_mask_is_read_by_index_not_colour(tmp_path):
    """Index 1 = object drawn (128, 0, 0), 255 = void: stb_image's colours would read 'ignore'."""
    idx = objects(40, 60, [1], seed=3)
    lab, n_obj, n_ign, enc = decoded(tmp_path, palette_png(idx, VOC_COLOURS))
    np.testing.assert_array_equal(lab, idx)
    assert (n_obj, n_ign) == (1, int((idx == 255).sum()))


def test_multi_object_palette_mask_keeps_each_id(tmp_path):
    idx = objects(50, 50, [1, 2, 7, 200], seed=5)
    lab, n_obj, _, _ = decoded(tmp_path, palette_png(idx, VOC_COLOURS, interlace=True))
    np.testing.assert_array_equal(lab, idx)
    assert n_obj == len(set(np.unique(idx)) - {0, 255})


def test_gray_identity_palette_is_read_as_gray_values(tmp_path):
    """A 0/255 mask saved in 'P' mode with a gray palette: 255 is the object, not void."""
    v = np.zeros((20, 30), np.uint8)
    v[5:15, 10:20] = 255
    pal = [(i, i, i) for i in range(256)]
    lab, n_obj, n_ign, enc = decoded(tmp_path, palette_png(v, pal))
    assert enc.startswith("binary"), enc
    np.testing.assert_array_equal(lab, (v == 255).astype(np.uint8))
    assert (n_obj, n_ign) == (1, 0)


@pytest.mark.parametrize("values,expect,kind", [
    ({0: 0, 255: 1}, None, "binary"),                 # plain 0/255
    ({0: 0, 128: 255, 255: 1}, None, "binary"),       # GrabCut's band
    ({0: 0, 1: 1}, None, "label map"),                # 0/1
    ({0: 0, 1: 1, 255: 255}, None, "label map"),      # official conversion, VOC
    ({0: 0, 1: 1, 2: 2, 3: 3, 255: 255}, None, "label map"),  # several ids in gray
    ({0: 0, 100: 0, 129: 1, 200: 1}, None, "binary"),  # anti-aliased: threshold
])
def test_gray_encodings(tmp_path, values, expect, kind):
    keys = list(values)
    rng = np.random.default_rng(len(keys))
    v = np.array(keys, np.uint8)[rng.integers(0, len(keys), size=(17, 23))]
    want = np.vectorize(values.get)(v).astype(np.uint8)
    lab, _, _, enc = decoded(tmp_path, gray_png(v))
    assert enc.startswith(kind), enc
    np.testing.assert_array_equal(lab, want)
    # The same values in a BMP (GrabCut's boundary_GT) and as equal RGB channels.
    lab2, _, _, _ = decoded(tmp_path, rgb_png(np.repeat(v[:, :, None], 3, axis=2)))
    np.testing.assert_array_equal(lab2, want)


def test_binary_mask_with_stray_small_values_stays_binary(tmp_path):
    """A 0/255 mask with a few pixels of 1 (a tool's noise) is not a label map
    whose object is those pixels and whose real object is 'void'."""
    v = np.zeros((40, 40), np.uint8)
    v[5:35, 5:35] = 255
    v[0, :3] = 1
    lab, n_obj, n_ign, enc = decoded(tmp_path, gray_png(v))
    assert enc.startswith("binary") and n_obj == 1 and n_ign == 0
    np.testing.assert_array_equal(lab, (v == 255).astype(np.uint8))


def test_colour_masks_one_object_per_colour_and_voc_void(tmp_path):
    px = np.zeros((12, 16, 3), np.uint8)
    px[1:4, 1:4] = (128, 0, 0)
    px[5:9, 6:12] = (0, 128, 0)
    px[10:, :] = (224, 224, 192)
    lab, n_obj, n_ign, enc = decoded(tmp_path, rgb_png(px))
    assert enc.startswith("colours"), enc
    assert n_obj == 2 and n_ign == 32
    assert set(np.unique(lab[1:4, 1:4])) == {1} and set(np.unique(lab[5:9, 6:12])) == {2}
    assert (lab[10:] == 255).all() and lab[0, 0] == 0


def test_sixteen_bit_gray(tmp_path):
    PIL = pytest.importorskip("PIL.Image", reason="python3-pil writes the 16-bit PNGs")
    v = np.zeros((10, 12), np.uint16)
    v[2:5, 2:5] = 1
    v[6:8, 6:9] = 2
    buf = io.BytesIO()
    PIL.fromarray(v, mode="I;16").save(buf, "PNG")
    lab, n_obj, _, enc = decoded(tmp_path, buf.getvalue())
    assert enc.startswith("label map") and n_obj == 2
    np.testing.assert_array_equal(lab, v.astype(np.uint8))
    big = v * 1000
    buf = io.BytesIO()
    PIL.fromarray(big, mode="I;16").save(buf, "PNG")
    r = dump(tmp_path, buf.getvalue())
    assert r.returncode == 1 and b"16-bit values above 255" in r.stderr


def test_jpeg_mask_by_threshold(tmp_path):
    PIL = pytest.importorskip("PIL.Image", reason="python3-pil writes the JPEG")
    v = np.zeros((32, 32), np.uint8)
    v[8:24, 8:24] = 255
    buf = io.BytesIO()
    PIL.fromarray(v).save(buf, "JPEG", quality=80)
    lab, n_obj, _, enc = decoded(tmp_path, buf.getvalue(), "m.jpg")
    assert n_obj == 1
    assert (lab[10:22, 10:22] == 1).all() and (lab[:6] == 0).all()


def broken_cases():
    good = palette_png(objects(20, 20, [1], 1), VOC_COLOURS)
    ihdr_end = 8 + 25
    cases = {
        "empty": b"",
        "truncated": good[:-20],
        "no IEND": good[:-12],
        "bad CRC": good[:40] + bytes([good[40] ^ 1]) + good[41:],
        "huge size": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0x7FFFFFFF, 0x7FFFFFFF, 8, 3, 0, 0, 0))
        + good[ihdr_end:],
        "zero size": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 5, 8, 3, 0, 0, 0)) + good[ihdr_end:],
        "depth 16": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20, 20, 16, 3, 0, 0, 0)) + good[ihdr_end:],
        "no palette": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 20)) + chunk(b"IEND", b""),
        "short data": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", b"\0\0\0") + chunk(b"IDAT", zlib.compress(b"\0" * 19)) + chunk(b"IEND", b""),
        "long data": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", b"\0\0\0") + chunk(b"IDAT", zlib.compress(b"\0" * 21)) + chunk(b"IEND", b""),
        "bad filter": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", b"\0\0\0") + chunk(b"IDAT", zlib.compress(b"\x07" * 20)) + chunk(b"IEND", b""),
        "unknown critical chunk": good[:ihdr_end] + chunk(b"ABCD", b"x") + good[ihdr_end:],
        "not an image": b"hello, this is not a mask\n",
    }
    return cases


@pytest.mark.parametrize("name", list(broken_cases()))
def test_broken_files_are_errors(tmp_path, name):
    r = dump(tmp_path, broken_cases()[name])
    assert r.returncode == 1, (name, r.returncode, r.stderr)
    msg = r.stderr.decode()
    assert msg.count("\n") == 1 and msg.startswith("mask_dump: "), msg


def test_every_truncation_of_a_palette_png_is_an_error_or_exact(tmp_path):
    idx = objects(9, 11, [1, 2], 2)
    good = palette_png(idx, VOC_COLOURS, interlace=True)
    for cut in range(0, len(good)):
        r = dump(tmp_path, good[:cut])
        assert r.returncode == 1, cut
