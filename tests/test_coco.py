"""COCO JSON from the CLI (`interformer segment ... -o X.json`, README "COCO
output"), checked by a reader written here from the format's description,
independent of the C code: the compressed RLE string decoded (5-bit groups
+ 48, continuation bit 0x20, the last group's bit 0x10 the sign, the 4th and
later counts stored as differences with the count two before), the counts
painted column by column (COCO's Fortran order, runs from a run of 0s), and
polygons rasterised by an even-odd scanline at pixel centres. The mask must
equal the PNG the same clicks give, exactly, with COCO's area and bbox; the
polygons must cover it (IoU >= 0.98; exactly, holes filled, at tolerance
0). On the bundled example image, and on real GrabCut photos when
../shared/data/GrabCut is there (clicked at the object's deepest point).
"""

import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

from cli_util import CLI, DEFAULT, cli_env, error, ok, require_built, run_cli
from conftest import ROOT
from pngread import read_png

EXAMPLE = os.path.join(ROOT, "examples", "data", "shapes.png")
# The README's quick-start clicks: five on the orange disk, one on the blue square.
EXAMPLE_CLICKS = ["100,120,+", "100,70,+", "100,170,+", "55,120,+", "145,120,+", "235,79,-"]
GRABCUT = os.path.join(os.path.dirname(ROOT), "shared", "data", "GrabCut")


@pytest.fixture(scope="module", autouse=True)
def built():
    require_built(CLI, DEFAULT + ".encoder.ifg", DEFAULT + ".decoder.ifg")


def run(*args):
    return run_cli(args, cli_env(), timeout=300)


def clicks_args(clicks):
    return [a for c in clicks for a in ("--click", c)]


# ------------------------------------------------- the independent reader

def decode_counts(s):
    """COCO's compressed counts string -> the list of counts."""
    counts, i = [], 0
    while i < len(s):
        x = k = 0
        while True:
            c = ord(s[i]) - 48
            assert 0 <= c < 64, f"character {s[i]!r} at {i}"
            x |= (c & 0x1F) << (5 * k)
            i += 1
            k += 1
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << (5 * k)        # sign-extend from the last group
                break
            assert i < len(s), "string ends inside a count"
        if len(counts) > 2:
            x += counts[-2]
        assert x >= 0
        counts.append(x)
    return counts


def encode_counts(counts):
    """The counts -> COCO's compressed string (the same description, the other way)."""
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            g = x & 0x1F
            x >>= 5                          # Python's >> keeps the sign
            more = x != -1 if g & 0x10 else x != 0
            out.append(chr(48 + (g | 0x20 if more else g)))
            if not more:
                break
    return "".join(out)


def counts_of(mask):
    """COCO RLE counts of a mask: column by column, from a run of 0s."""
    flat = (mask.T.reshape(-1) != 0).astype(np.int8)
    edges = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], edges, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def paint(counts, h, w):
    flat = np.zeros(h * w, np.uint8)
    pos = 0
    for i, c in enumerate(counts):
        flat[pos:pos + c] = i & 1
        pos += c
    assert pos == h * w, f"counts sum to {pos}, not {h}x{w}"
    return flat.reshape(w, h).T              # column-major: Fortran order


def rasterise(polygons, h, w):
    """Even-odd fill of flat [x1, y1, x2, y2, ...] rings (vertices on pixel
    corners): a pixel is in when its centre is inside an odd number of them."""
    out = np.zeros((h, w), bool)
    cx = np.arange(w) + 0.5
    for poly in polygons:
        p = np.asarray(poly, float).reshape(-1, 2)
        x1, y1 = p[:, 0], p[:, 1]
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        for y in range(h):
            cy = y + 0.5
            cross = (y1 > cy) != (y2 > cy)
            if not cross.any():
                continue
            xi = x1[cross] + (cy - y1[cross]) * (x2[cross] - x1[cross]) / (y2[cross] - y1[cross])
            out[y] ^= ((cx[None, :] < xi[:, None]).sum(0) & 1).astype(bool)
    return out


def fill_holes(mask):
    """The mask with every background region that does not reach the border
    (4-connected) filled: what outer rings alone describe."""
    outside = np.zeros(mask.shape, bool)
    bg = ~mask
    outside[0, :], outside[-1, :], outside[:, 0], outside[:, -1] = bg[0], bg[-1], bg[:, 0], bg[:, -1]
    while True:
        grown = outside.copy()
        grown[1:] |= outside[:-1]
        grown[:-1] |= outside[1:]
        grown[:, 1:] |= outside[:, :-1]
        grown[:, :-1] |= outside[:, 1:]
        grown &= bg
        if (grown == outside).all():
            return ~outside
        outside = grown


def bbox_of(mask):
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return [0, 0, 0, 0]
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_reader_on_hand_made_strings():
    """The reader itself, on strings worked out by hand from the description."""
    assert decode_counts("04") == [0, 4]                 # a full 2x2 mask
    assert decode_counts("`0") == [16]                   # 16: bit 4 set, so a second group
    assert decode_counts("529O") == [5, 2, 9, 1]         # 'O' = -1: 1 = 2 + (-1)
    assert decode_counts("0oooooo3") == [0, 2**32 - 1]
    for c in ([3], [0, 4], [5, 2, 9, 1, 9], [0, 2**32 - 1, 7, 1, 2**32 - 1], [1, 1000, 3, 17, 80000]):
        assert decode_counts(encode_counts(c)) == c
    m = np.array([[0, 1, 1], [1, 0, 1]], np.uint8)       # 2 rows, 3 columns
    assert counts_of(m) == [1, 2, 1, 2] and np.array_equal(paint(counts_of(m), 2, 3), m)
    assert counts_of(np.ones((2, 2), np.uint8)) == [0, 4]
    sq = [[1, 1, 3, 1, 3, 2, 1, 2]]                      # pixels (1,1) and (2,1)
    want = np.zeros((3, 4), bool)
    want[1, 1:3] = True
    assert np.array_equal(rasterise(sq, 3, 4), want)


# ------------------------------------------------- the CLI's files

def segment(image, clicks, out, *extra):
    return ok(run("segment", image, *clicks_args(clicks), "-o", out, "--model", DEFAULT, *extra))


def check_coco(png, js, file_name):
    """The JSON's structure, and its RLE equal to the PNG's mask."""
    mask = read_png(str(png)) != 0
    h, w = mask.shape
    d = json.load(open(js, encoding="utf-8"))
    assert set(d) == {"images", "annotations", "categories"}
    assert d["images"] == [{"id": 1, "file_name": file_name, "width": w, "height": h}]
    assert d["categories"] == [{"id": 1, "name": "object"}]
    if not mask.any():
        assert d["annotations"] == []
        return mask, None
    (a,) = d["annotations"]
    assert {k: a[k] for k in ("id", "image_id", "category_id", "iscrowd")} == \
        {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0}
    assert a["area"] == int(mask.sum()) and a["bbox"] == bbox_of(mask)
    seg = a["segmentation"]
    if isinstance(seg, dict):
        assert seg["size"] == [h, w]
        counts = decode_counts(seg["counts"])
        assert np.array_equal(paint(counts, h, w), mask.astype(np.uint8))
        # The string is the one the description gives for the PNG's own runs.
        assert counts == counts_of(mask) and seg["counts"] == encode_counts(counts)
    return mask, a


def check_polygons(mask, a, tolerance):
    polys = a["segmentation"]
    assert isinstance(polys, list) and polys
    for p in polys:
        assert len(p) >= 6 and len(p) % 2 == 0
        assert all(float(v).is_integer() for v in p)     # pixel corners
    r = rasterise(polys, *mask.shape)
    filled = fill_holes(mask)
    if tolerance == 0:
        assert np.array_equal(r, filled)
    assert iou(r, mask) >= 0.98, (tolerance, iou(r, mask))
    return sum(len(p) for p in polys) // 2


def test_rle_equals_png(tmp_path):
    png, js = tmp_path / "m.png", tmp_path / "m.json"
    segment(EXAMPLE, EXAMPLE_CLICKS, png)
    segment(EXAMPLE, EXAMPLE_CLICKS, js)
    mask, a = check_coco(png, js, "shapes.png")
    assert a is not None and 10000 < a["area"] < 20000   # the disk


def test_polygons(tmp_path):
    png = tmp_path / "m.png"
    segment(EXAMPLE, EXAMPLE_CLICKS, png)
    points = {}
    for tol in (None, "0", "0.5", "3"):
        js = tmp_path / f"p{tol}.json"
        segment(EXAMPLE, EXAMPLE_CLICKS, js, "--polygons", *(["--tolerance", tol] if tol else []))
        mask, a = check_coco(png, js, "shapes.png")
        points[tol] = check_polygons(mask, a, float(tol or 1))
    # The default is 1 px; more tolerance, fewer points.
    assert points["0"] > points["0.5"] > points[None] > points["3"]


def test_next_object(tmp_path):
    # Two objects in one command: the disk (five clicks), then the square.
    disk, square = EXAMPLE_CLICKS[:5], ["235,79,+", "250,70,+"]
    args = clicks_args(disk) + ["--next-object"] + clicks_args(square)
    png, js, alone = tmp_path / "ids.png", tmp_path / "ids.json", tmp_path / "disk.png"
    for out in (png, js):
        r = ok(run("segment", EXAMPLE, *args, "-o", out, "--model", DEFAULT))
        assert "7 clicks on 2 objects" in r.stdout
    ids = read_png(str(png))
    assert set(np.unique(ids)) == {0, 1, 2}, np.unique(ids)
    # Object 1 is what the disk's clicks give alone: nothing was finished
    # before it. Object 2 leaves it alone (an instance map cannot overlap,
    # so compare with the square segmented alone: it is inside that).
    segment(EXAMPLE, disk, alone)
    assert np.array_equal(ids == 1, read_png(str(alone)) != 0)
    square_alone = tmp_path / "square.png"
    segment(EXAMPLE, square, square_alone)
    sq = read_png(str(square_alone)) != 0
    assert (ids == 2).sum() > 1000 and not ((ids == 2) & ~sq).any()
    d = json.load(open(js, encoding="utf-8"))
    anns = d["annotations"]
    assert [a["id"] for a in anns] == [1, 2]
    h, w = ids.shape
    for a in anns:
        k = a["id"]
        got = paint(decode_counts(a["segmentation"]["counts"]), h, w)
        assert np.array_equal(got, (ids == k).astype(np.uint8)), k
        assert a["area"] == int((ids == k).sum()) and a["bbox"] == bbox_of(ids == k)
    # --polygons: one polygon list per object
    pj = tmp_path / "ids_poly.json"
    ok(run("segment", EXAMPLE, *args, "-o", pj, "--polygons", "--model", DEFAULT))
    for a in json.load(open(pj, encoding="utf-8"))["annotations"]:
        check_polygons(ids == a["id"], a, 1.0)


def test_next_object_usage(tmp_path):
    out = str(tmp_path / "x.png")
    for args, says in ((["--next-object", "--click", "5,5,+"], "no click"),
                       (["--click", "5,5,+", "--next-object"], "no click after it"),
                       (["--click", "5,5,+", "--next-object", "--next-object", "--click", "6,6,+"],
                        "no click"),
                       (["--click", "5,5,+", "--next-object", "--click", "6,6,+", "--prob", out + ".p.png"],
                        "--prob is for one object"),
                       (["--click", "--next-object"], "bad click '--next-object'")):
        error(run("segment", EXAMPLE, *args, "-o", out, "--model", DEFAULT), 2, says)
    assert not os.path.exists(out)


def test_file_names_are_escaped(tmp_path):
    """file_name is the image's base name, escaped as JSON needs; bytes that are
    not UTF-8 become U+FFFD."""
    for name in ('a "quoted" \\ name\t\u00e9\u5f62.png', b"caf\xe9.png"):
        path = os.path.join(os.fsencode(tmp_path), os.fsencode(name) if isinstance(name, str) else name)
        shutil.copy(EXAMPLE, path)
        js = tmp_path / "n.json"
        r = subprocess.run([CLI, "segment", path, *clicks_args(EXAMPLE_CLICKS[:1]), "-o", js,
                            "--model", DEFAULT], env=cli_env(), capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr
        got = json.load(open(js, encoding="utf-8"))["images"][0]["file_name"]
        assert got == (name if isinstance(name, str) else "caf\ufffd.png")


def test_features_input_names_the_image(tmp_path):
    f, js = tmp_path / "f.iff", tmp_path / "m.json"
    ok(run("encode", EXAMPLE, "-o", f, "--model", DEFAULT))
    ok(run("segment", f, *clicks_args(EXAMPLE_CLICKS), "-o", js, "--model", DEFAULT))
    assert json.load(open(js))["images"][0]["file_name"] == "f.iff"
    ok(run("segment", f, *clicks_args(EXAMPLE_CLICKS), "-o", js, "--model", DEFAULT, "--image", EXAMPLE))
    assert json.load(open(js))["images"][0]["file_name"] == "shapes.png"


def test_usage_errors(tmp_path):
    c = clicks_args(EXAMPLE_CLICKS[:1])
    error(run("segment", EXAMPLE, *c, "-o", tmp_path / "m.png", "--polygons"), 2, "--polygons", "json")
    error(run("segment", EXAMPLE, *c, "-o", tmp_path / "m.json", "--tolerance", "2"), 2, "--tolerance")
    for bad in ("x", "-1", "nan", "1e9", ""):
        error(run("segment", EXAMPLE, *c, "-o", tmp_path / "m.json", "--polygons", "--tolerance", bad),
              2, "--tolerance")
    error(run("segment", EXAMPLE, *c, "-o", tmp_path / "no" / "dir" / "m.json"), 1, "m.json")
    assert not os.listdir(tmp_path)


# ------------------------------------------------- real photos

def read_bmp8(path):
    """An uncompressed 8-bit palette BMP (GrabCut's masks) as gray values."""
    b = open(path, "rb").read()
    off, = struct.unpack_from("<I", b, 10)
    hs, w, h, _, bpp, comp = struct.unpack_from("<IiiHHI", b, 14)
    assert bpp == 8 and comp == 0, path
    pal = np.frombuffer(b, np.uint8, 4 * 256, 14 + hs).reshape(256, 4)[:, 0]
    row = (w + 3) // 4 * 4
    px = np.frombuffer(b, np.uint8, row * abs(h), off).reshape(abs(h), row)[:, :w]
    return pal[px[::-1] if h > 0 else px]


def deepest(obj):
    """(x, y, depth): a pixel of obj farthest from its border by repeated
    4-neighbour erosion (the image border counting as border); depth 0 for
    an empty obj."""
    depth = 0
    while obj.any():
        e = obj.copy()
        e[1:] &= obj[:-1]
        e[:-1] &= obj[1:]
        e[:, 1:] &= obj[:, :-1]
        e[:, :-1] &= obj[:, 1:]
        e[[0, -1]] = False
        e[:, [0, -1]] = False
        depth += 1
        if not e.any():
            ys, xs = np.nonzero(obj)
            return int(xs[len(xs) // 2]), int(ys[len(ys) // 2]), depth
        obj = e
    return 0, 0, 0


@pytest.mark.parametrize("name", ["106024", "153077", "189080"])
def test_grabcut(tmp_path, name):
    """A real photo, five clicks placed as the evaluation protocol does
    (each at the deepest point of the larger error, from the masks the CLI
    wrote), then the mask as PNG, COCO RLE and COCO polygons."""
    gt_path = os.path.join(GRABCUT, "boundary_GT", name + ".bmp")
    if not os.path.isfile(gt_path):
        pytest.skip(f"{gt_path} not found (the shared datasets are not in the project)")
    image = next(os.path.join(GRABCUT, "data_GT", name + e) for e in (".jpg", ".JPG", ".bmp")
                 if os.path.isfile(os.path.join(GRABCUT, "data_GT", name + e)))
    gt = read_bmp8(gt_path)
    png, js, pj = tmp_path / "m.png", tmp_path / "m.json", tmp_path / "p.json"
    pred = np.zeros(gt.shape, bool)
    clicks = []
    for _ in range(5):
        fx, fy, fd = deepest((gt == 255) & ~pred)
        bx, by, bd = deepest((gt == 0) & pred)
        if not fd and not bd:
            break
        clicks.append(f"{fx},{fy},+" if fd >= bd else f"{bx},{by},-")
        segment(image, clicks, png)
        pred = read_png(str(png)) != 0
    segment(image, clicks, js)
    segment(image, clicks, pj, "--polygons")
    mask, a = check_coco(png, js, os.path.basename(image))
    assert mask.shape == gt.shape and a is not None
    mask, a = check_coco(png, pj, os.path.basename(image))
    check_polygons(mask, a, 1.0)
