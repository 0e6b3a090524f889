"""`interformer eval` (examples/eval.c): the click-simulation benchmark, run
as a user would on small synthetic datasets written here in each layout.

The synthetic runs use the tests' tiny random-weight model (build/models/
tiny_vit), so their numbers mean nothing: they check the protocol's mechanics -- the clicks are the ones
if_next_click places on the masks the model really predicted (replayed with
`interformer segment`), the IoU leaves out the ignore band, NoC / failures /
mIoU follow from the per-click IoU, the three reports agree -- and the error
cases. On the real GrabCut set (when ../shared/data/GrabCut is there) the
bundled demo model must do what models/README.md says it does.
$IF_BUILD names the build directory (default build/).
"""

import csv
import ctypes
import json
import os
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

from cli_util import CLI, DEFAULT, TINY, cli_env, error, ok, require_built, run_cli
from conftest import ROOT
from pngread import read_png
from pngwrite import palette_png

LIB = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"), "libinterformer.so")
GRABCUT = os.path.join(os.path.dirname(ROOT), "shared", "data", "GrabCut")
K = 6  # --max-clicks of the synthetic runs


@pytest.fixture(scope="module", autouse=True)
def built():
    require_built(CLI, DEFAULT + ".encoder.ifg", DEFAULT + ".decoder.ifg", TINY + ".decoder.ifg")


def run(*args, cwd=None, model=TINY):
    """The CLI with IF_MODEL = model (the tiny test model unless said)."""
    return run_cli(args, cli_env(drop=(), IF_MODEL=model), cwd)


# ------------------------------------------------------- writing images

def write_png(path, a):
    """An 8-bit gray (h, w) or RGB (h, w, 3) array as a PNG (filter 0)."""
    a = np.ascontiguousarray(a, np.uint8)
    h, w = a.shape[:2]
    ctype = 0 if a.ndim == 2 else 2
    raw = b"".join(b"\0" + a[y].tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write_bmp(path, a):
    """A gray (h, w) array as a 24-bit BMP, as GrabCut's boundary_GT masks are."""
    a = np.ascontiguousarray(a, np.uint8)
    h, w = a.shape
    row = (w * 3 + 3) & ~3
    px = b"".join(np.repeat(a[y], 3).tobytes().ljust(row, b"\0") for y in range(h - 1, -1, -1))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", 54 + len(px), 0, 0, 54)
                + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(px), 2835, 2835, 0, 0) + px)


# ---------------------------------------------------- synthetic datasets

SIZES = {"apple": (64, 48), "boat": (72, 56), "cat": (48, 64)}  # name: (width, height)


def instance(name, band):
    """(rgb, mask) of one instance: an ellipse on noise; mask 0 / 255, with a
    128 band along the object's boundary when `band`."""
    w, h = SIZES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    y, x = np.mgrid[:h, :w]
    cx, cy, rx, ry = w * 0.45, h * 0.55, w * 0.28, h * 0.3
    d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
    obj = d <= 1
    rgb = rng.integers(0, 90, (h, w, 3), dtype=np.uint8)
    rgb[obj] = (200, 120, 40) + rng.integers(0, 40, (int(obj.sum()), 3))
    mask = np.where(obj, 255, 0).astype(np.uint8)
    if band:
        mask[np.abs(np.sqrt(d) - 1) < 0.12] = 128
    return rgb, mask


LAYOUTS = ["grabcut", "img_gt", "images_masks", "list", "official"]


def write_dataset(root, layout, names=tuple(SIZES), band=None):
    """Writes the instances in `layout`; returns {name: (image path, mask)}."""
    band = layout in ("grabcut", "official") if band is None else band
    out = {}
    for n in names:
        rgb, mask = instance(n, band)
        if layout == "grabcut":
            img = os.path.join(root, "data_GT", n + ".png")
            write_bmp(os.path.join(root, "boundary_GT", n + ".bmp"), mask)
        elif layout in ("img_gt", "list"):
            img = os.path.join(root, "img", n + ".png")
            write_png(os.path.join(root, "gt", n + ".png"), mask)
        elif layout == "images_masks":
            img = os.path.join(root, "images", n + ".png")
            write_png(os.path.join(root, "masks", n + ".png"), mask)
        else:  # official: a label map, 1 = object, 255 = ignore
            img = os.path.join(root, n + ".png")
            write_png(os.path.join(root, n + "#001.png"),
                      np.select([mask == 255, mask == 128], [1, 255], 0).astype(np.uint8))
        write_png(img, rgb)
        out[n] = (img, mask)
    if layout in ("list", "official"):
        os.makedirs(os.path.join(root, "list"), exist_ok=True)
        with open(os.path.join(root, "list", "val.txt"), "w") as f:
            f.write("".join(n + "\n" for n in names))
    return out


def evaluate(ds, tmp_path, *extra, k=K):
    """Runs eval with all three reports; (CompletedProcess, json, csv rows, svg root)."""
    j, c, s = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "r.svg"
    r = ok(run("eval", ds, "--max-clicks", k, "--out", j, "--csv", c, "--svg", s, *extra))
    with open(c, newline="") as f:
        rows = list(csv.reader(f))
    return r, json.load(open(j)), rows, ET.parse(s).getroot()


def noc(ious, thr, k):
    return next((i + 1 for i, v in enumerate(ious) if v >= thr), k)


def iou(gt, ign, pred):
    keep = ~ign
    return ((gt & pred & keep).sum()) / ((gt | pred) & keep).sum()


# --------------------------------------------------------------- layouts

@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_and_reports(tmp_path, layout):
    ds = tmp_path / "ds"
    truth = write_dataset(str(ds), layout)
    r, js, rows, svg = evaluate(ds, tmp_path)

    # stdout: the summary.
    for key in ("NoC@85", "NoC@90", "failures", "mIoU@1", "mIoU@5", "mIoU@6", "s/click", "PIE",
                "encode", "placeholder"):
        assert key in r.stdout, key
    # stderr: progress, one line per instance and a header.
    for i, n in enumerate(sorted(SIZES)):
        assert f"[{i + 1}/3] {n} " in r.stderr
    assert "warning" not in r.stderr

    # JSON: fields present and consistent.
    for key in ("dataset", "layout", "model", "max_clicks", "instances_evaluated", "noc85", "noc90",
                "failures", "noc90_at_max", "miou", "seconds_per_click", "pie",
                "seconds_per_click_per_megapixel", "encode_seconds", "per_instance", "skipped"):
        assert key in js, key
    assert js["max_clicks"] == K and js["instances_evaluated"] == js["instances_found"] == 3
    assert js["skipped"] == [] and js["model"]["placeholder"] is True and js["complete"] is True
    assert "3 evaluated of 3 found\n" in r.stdout and "PARTIAL" not in r.stdout
    layout_words = {"grabcut": "data_GT/ + boundary_GT/", "img_gt": "img/ + gt/",
                    "images_masks": "images/ + masks/", "list": "list/val.txt + img/ + gt/",
                    "official": "list/val.txt + NAME.ext + NAME#001.png"}
    assert layout_words[layout] in js["layout"]
    rowsj = js["per_instance"]
    assert [p["name"] for p in rowsj] == sorted(SIZES)
    for p in rowsj:
        w, h = SIZES[p["name"]]
        assert (p["width"], p["height"]) == (w, h)
        assert len(p["iou"]) == K and all(0 <= v <= 1 for v in p["iou"])
        assert 1 <= p["noc85"] <= p["noc90"] <= K
        assert p["noc85"] == noc(p["iou"], 0.85, K) and p["noc90"] == noc(p["iou"], 0.90, K)
        assert 1 <= p["clicks_made"] <= K and len(p["clicks"]) == p["clicks_made"]
        # After the last click made (no error left), the IoU stays.
        assert all(v == p["iou"][p["clicks_made"] - 1] for v in p["iou"][p["clicks_made"]:])
        # Each click is inside the image, positive on the object, negative
        # off it, never on the ignore band, never twice on one pixel.
        mask = truth[p["name"]][1]
        for c in p["clicks"]:
            assert 0 <= c["x"] < w and 0 <= c["y"] < h
            assert mask[c["y"], c["x"]] == (255 if c["positive"] else 0)
        assert len({(c["x"], c["y"]) for c in p["clicks"]}) == len(p["clicks"])
    assert len(js["miou"]) == K
    for k in range(K):
        assert js["miou"][k] == pytest.approx(np.mean([p["iou"][k] for p in rowsj]), abs=2e-6)
    assert js["noc85"] == pytest.approx(np.mean([p["noc85"] for p in rowsj]), abs=1e-6)
    assert js["noc90"] == pytest.approx(np.mean([p["noc90"] for p in rowsj]), abs=1e-6)
    assert js["failures"] == sum(max(p["iou"]) < 0.90 for p in rowsj)
    assert js["noc90_at_max"] == sum(p["noc90"] == K for p in rowsj)
    assert js["clicks"] == sum(p["clicks_made"] for p in rowsj)
    assert js["seconds_per_click"] > 0 and js["encode_seconds"] > 0
    assert js["seconds_per_click_per_megapixel"] == pytest.approx(js["pie"] * 1e6, rel=1e-4)
    per_px = sum(p["seconds_per_click"] * p["clicks_made"] / (p["width"] * p["height"])
                 for p in rowsj) / js["clicks"]
    assert js["pie"] == pytest.approx(per_px, rel=1e-3)

    # CSV: a header and one row per instance, the JSON's numbers.
    assert rows[0] == ["name", "width", "height", "noc85", "noc90"] + [f"iou_{k}" for k in range(1, K + 1)]
    assert len(rows) == 1 + 3
    for row, p in zip(rows[1:], rowsj):
        assert row[0] == p["name"]
        assert list(map(int, row[1:5])) == [p["width"], p["height"], p["noc85"], p["noc90"]]
        assert [float(v) for v in row[5:]] == pytest.approx(p["iou"], abs=1e-6)

    # SVG: a plot with axes, ticks, labels and the curve (K points).
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.tag == ns + "svg"
    texts = [t.text for t in svg.iter(ns + "text")]
    assert "mIoU" in texts and "number of clicks" in texts and "0.5" in texts and str(K) in texts
    pts = svg.find(f".//{ns}polyline").get("points").split()
    assert len(pts) == K
    ys = [float(p.split(",")[1]) for p in pts]
    assert all(48 - 1e-6 <= y <= 420 - 56 + 1e-6 for y in ys)  # inside the plot area


class Click(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("positive", ctypes.c_int)]


def test_clicks_are_if_next_click_on_the_predicted_masks(tmp_path):
    """Each click is what if_next_click says on the mask the model predicted
    after the clicks before it (replayed with `segment`), and each IoU is the
    segment mask's IoU leaving out the 128 band."""
    if not os.path.exists(LIB):
        pytest.skip("build/libinterformer.so not built (run make)")
    lib = ctypes.CDLL(LIB)
    ds = tmp_path / "ds"
    truth = write_dataset(str(ds), "grabcut")
    _, js, _, _ = evaluate(ds, tmp_path)
    n_checked = 0
    for p in js["per_instance"]:
        img, mask = truth[p["name"]]
        h, w = mask.shape
        gt, ign = mask > 128, mask == 128
        assert ign.any()
        pred = np.zeros((h, w), bool)
        for k, c in enumerate(p["clicks"]):
            prev = p["clicks"][:k]
            arr = (Click * max(1, k))(*[Click(q["x"], q["y"], int(q["positive"])) for q in prev])
            out = Click()
            g = np.ascontiguousarray(gt, np.uint8)
            pr = np.ascontiguousarray(pred, np.uint8)
            ig = np.ascontiguousarray(ign, np.uint8)
            st = lib.if_next_click(g.ctypes.data, pr.ctypes.data, ig.ctypes.data, w, h, arr, k,
                                   ctypes.byref(out))
            assert st == 0
            assert (out.x, out.y, bool(out.positive)) == (c["x"], c["y"], c["positive"]), \
                f"{p['name']} click {k + 1}"
            m = tmp_path / f"{p['name']}_{k}.png"
            args = [a for q in p["clicks"][:k + 1]
                    for a in ("--click", f"{q['x']},{q['y']},{'+' if q['positive'] else '-'}")]
            ok(run("segment", img, *args, "-o", m))
            pred = read_png(m) == 255
            assert iou(gt, ign, pred) == pytest.approx(p["iou"][k], abs=2e-6), f"{p['name']} IoU {k + 1}"
            n_checked += 1
    assert n_checked >= 3


def test_max_side_runs_the_same_sessions_as_segment(tmp_path):
    """eval --max-side 32: every image is encoded at 32 px on its longer side
    (the summary and JSON say so); the IoU after each click is that of the
    mask `segment --max-side 32` gives for the same clicks, at the image's
    own size."""
    ds = tmp_path / "ds"
    truth = write_dataset(str(ds), "grabcut")
    r, js, _, _ = evaluate(ds, tmp_path, "--max-side", 32, k=3)
    assert js["max_side"] == 32 and "3 of 3 images resized" in r.stdout
    for p in js["per_instance"]:
        img, mask = truth[p["name"]]
        assert (p["width"], p["height"]) == SIZES[p["name"]]
        gt, ign = mask > 128, mask == 128
        for k in range(len(p["clicks"])):
            args = [a for q in p["clicks"][:k + 1]
                    for a in ("--click", f"{q['x']},{q['y']},{'+' if q['positive'] else '-'}")]
            m = tmp_path / f"{p['name']}_{k}.png"
            out = ok(run("segment", img, *args, "-o", m, "--max-side", 32)).stdout
            assert "(model at " in out
            pred = read_png(m) == 255
            assert pred.shape == mask.shape
            assert iou(gt, ign, pred) == pytest.approx(p["iou"][k], abs=2e-6), f"{p['name']} IoU {k + 1}"


def dilate(m, r):
    h, w = m.shape
    p = np.pad(m, r)
    out = np.zeros_like(m)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= p[r + dy:r + dy + h, r + dx:r + dx + w]
    return out


def next_click(lib, gt, pred, ignore=None):
    h, w = gt.shape
    g = np.ascontiguousarray(gt, np.uint8)
    p = np.ascontiguousarray(pred, np.uint8)
    ig = None if ignore is None else np.ascontiguousarray(ignore, np.uint8)
    out = Click()
    st = lib.if_next_click(g.ctypes.data, p.ctypes.data, None if ig is None else ig.ctypes.data,
                           w, h, (Click * 1)(), 0, ctypes.byref(out))
    return st, (out.x, out.y, bool(out.positive))


def test_perfect_after_one_click_and_the_band(tmp_path):
    """An instance the model gets exactly right with the protocol's first
    click: IoU 1 at click 1, NoC 1, then no error left, so no more clicks and
    the IoU stays 1. Found by search: a click c whose prediction P has c as
    its own next click (a fixed point). The object is the pixel c alone and
    the rest of P (and a ring around it) is the 128 band: the IoU is 1 only
    if the band is left out of the IoU, and no second click is made only if
    if_next_click is given the band as `ignore`."""
    if not os.path.exists(LIB):
        pytest.skip("build/libinterformer.so not built (run make)")
    lib = ctypes.CDLL(LIB)
    found = None
    for name, (w, h) in SIZES.items():
        img = tmp_path / f"{name}.png"
        write_png(str(img), instance(name, False)[0])
        for c in ((w // 2, h // 2, True), (0, 0, True), (w - 1, h - 1, True)):
            for _ in range(4):
                m = tmp_path / "m.png"
                ok(run("segment", img, "--click", f"{c[0]},{c[1]},+", "-o", m))
                P = read_png(m) == 255
                if not P.any():
                    break
                st, c2 = next_click(lib, P, np.zeros_like(P))
                assert st == 0
                if c2 == c:
                    found = (name, P, c)
                    break
                c = c2
            if found:
                break
        if found:
            break
    if not found:
        pytest.skip("the placeholder model has no click whose prediction is a fixed point here")
    name, P, c = found
    assert P[c[1], c[0]] and P.sum() > 1
    mask = np.where(dilate(P, 2), 128, 0).astype(np.uint8)
    mask[c[1], c[0]] = 255
    ds = tmp_path / "ds"
    write_png(str(ds / "data_GT" / f"{name}.png"), instance(name, False)[0])
    write_bmp(str(ds / "boundary_GT" / f"{name}.bmp"), mask)
    _, js, rows, _ = evaluate(ds, tmp_path)
    p, = js["per_instance"]
    assert p["clicks"] == [{"x": c[0], "y": c[1], "positive": True}]
    assert p["clicks_made"] == 1 and p["iou"] == [1.0] * K
    assert p["noc85"] == p["noc90"] == 1 and js["noc90"] == 1 and js["failures"] == 0
    assert js["miou"] == [1.0] * K and rows[1][3:5] == ["1", "1"]


def test_limit_quiet_threads(tmp_path):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "img_gt")
    r, js, rows, _ = evaluate(ds, tmp_path, "--limit", "2", "-q", "--threads", "2", k=3)
    assert r.stderr == ""
    assert js["instances_found"] == 3 and js["instances_evaluated"] == 2 and js["threads"] == 2
    assert [p["name"] for p in js["per_instance"]] == ["apple", "boat"] and len(rows) == 3
    assert "2 evaluated of 3 found, the first 2 only (--limit): PARTIAL" in r.stdout
    assert js["complete"] is False
    assert "mIoU@1" in r.stdout and "mIoU@3" in r.stdout and "mIoU@5" not in r.stdout


def broken_dataset(ds):
    """Three good instances and four that cannot be evaluated."""
    write_dataset(str(ds), "img_gt")
    write_png(str(ds / "img" / "lonely.png"), np.zeros((20, 30, 3), np.uint8))
    write_png(str(ds / "gt" / "ghost.png"), np.zeros((20, 30), np.uint8))
    write_png(str(ds / "img" / "small.png"), np.zeros((20, 30, 3), np.uint8))
    write_png(str(ds / "gt" / "small.png"), np.full((21, 30), 255, np.uint8))
    write_png(str(ds / "img" / "void.png"), np.zeros((20, 30, 3), np.uint8))
    write_png(str(ds / "gt" / "void.png"), np.zeros((20, 30), np.uint8))


def test_unevaluable_instances_fail_the_run_before_any_encoding(tmp_path):
    ds = tmp_path / "ds"
    broken_dataset(ds)
    old = tmp_path / "r.json"
    old.write_text("an earlier report\n")
    r = run("eval", ds, "--out", old, "--max-clicks", 2)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[-1].startswith("interformer: ") and "4 of 7 instances cannot be evaluated" in lines[-1]
    assert "--allow-skip" in lines[-1]
    for n in ("lonely", "ghost", "small", "void"):
        assert any(line.startswith(f"interformer: warning: {n}: ") for line in lines[:-1]), n
    assert not any(line.startswith("[") for line in lines)  # nothing was encoded
    assert old.read_text() == "an earlier report\n"  # a failed run keeps an earlier report


def test_skipped_instances(tmp_path):
    """With --allow-skip: an image without a mask, a mask without an image, a
    mask of another size, an empty mask: warnings, listed in the JSON, the
    rest evaluated, the result marked partial."""
    ds = tmp_path / "ds"
    broken_dataset(ds)
    r, js, rows, _ = evaluate(ds, tmp_path, "--allow-skip", k=2)
    assert js["instances_evaluated"] == 3 and len(rows) == 4
    reasons = {s["name"]: s["reason"] for s in js["skipped"]}
    assert set(reasons) == {"lonely", "ghost", "small", "void"}
    assert "no mask" in reasons["lonely"] and "no image" in reasons["ghost"]
    assert "30x21" in reasons["small"] and "30x20" in reasons["small"]
    assert "no object pixel" in reasons["void"]
    for n in reasons:
        assert f"interformer: warning: {n}: " in r.stderr
    assert "3 evaluated of 7 found, 4 skipped (--allow-skip" in r.stdout and "PARTIAL" in r.stdout
    assert js["instances_found"] == 7 and js["complete"] is False


def test_list_selects_and_orders(tmp_path):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "list")
    (ds / "list" / "val.txt").write_text("cat.png\n\nboat\r\nmissing\n")
    _, js, _, _ = evaluate(ds, tmp_path, "--allow-skip", k=2)
    assert [p["name"] for p in js["per_instance"]] == ["cat", "boat"]
    assert [s["name"] for s in js["skipped"]] == ["missing"]


# ------------------------------------------------- masks as datasets ship them

VOC = [(0, 0, 0), (128, 0, 0), (0, 128, 0)] + [(i, 255 - i, i) for i in range(3, 255)] + [(224, 224, 192)]


def test_palette_masks_are_evaluated_by_index(tmp_path):
    """DAVIS / VOC style: index 1 = object drawn (128, 0, 0), 255 = void band.
    Every instance is evaluated, exactly as the same labels in the official
    gray label-map form are."""
    pal, gray = tmp_path / "pal", tmp_path / "gray"
    for root in (pal, gray):
        write_dataset(str(root), "img_gt", band=True)
    for n in SIZES:
        mask = read_png(str(gray / "gt" / f"{n}.png"))
        labels = np.select([mask == 255, mask == 128], [1, 255], 0).astype(np.uint8)
        (pal / "gt" / f"{n}.png").write_bytes(palette_png(labels, VOC))
        write_png(str(gray / "gt" / f"{n}.png"), labels)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rp, jp, _, _ = evaluate(pal, tmp_path / "a")
    rg, jg, _, _ = evaluate(gray, tmp_path / "b")
    assert jp["instances_evaluated"] == jp["instances_found"] == 3 and jp["complete"] is True
    assert "3 read as palette indices" in rp.stdout and "3 read as label map" in rg.stdout
    for a, b in zip(jp["per_instance"], jg["per_instance"]):
        assert a["iou"] == b["iou"] and a["clicks"] == b["clicks"]


def test_per_object_instances_of_a_multi_object_mask(tmp_path):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "img_gt", names=("apple",))
    w, h = SIZES["apple"]
    labels = np.zeros((h, w), np.uint8)
    labels[5:20, 5:25] = 1
    labels[25:40, 30:60] = 7
    labels[24, :] = 255
    (ds / "gt" / "apple.png").write_bytes(palette_png(labels, VOC))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, one, _, _ = evaluate(ds, tmp_path / "a")
    _, per, _, _ = evaluate(ds, tmp_path / "b", "--per-object")
    assert [p["name"] for p in one["per_instance"]] == ["apple"] and one["per_instance"][0]["object"] == 0
    assert [(p["name"], p["object"]) for p in per["per_instance"]] == [("apple#1", 1), ("apple#7", 7)]
    assert per["instances_found"] == per["instances_evaluated"] == 2


# ----------------------------------------------------------- the reports

def test_report_naming_a_dataset_file_is_refused(tmp_path):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "img_gt")
    img = ds / "img" / "apple.png"
    before = img.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(img)
    for args in (["--csv", img], ["--out", ds / "gt" / "boat.png"], ["--svg", link]):
        r = run("eval", ds, *args)
        error(r, 2, "refusing to overwrite an input")
    assert img.read_bytes() == before and (ds / "gt" / "boat.png").exists()
    error(run("eval", ds, "--out", tmp_path / "x.json", "--csv", tmp_path / "x.json"), 2, "two outputs")


def test_reports_are_written_whole_or_not_at_all(tmp_path):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "img_gt", names=("apple",))
    out = tmp_path / "out"
    out.mkdir()
    old = out / "r.json"
    old.write_text("old\n")
    r = run("eval", ds, "--max-clicks", 2, "--out", old, "--csv", "/dev/full")
    assert r.returncode == 1 and "No space left on device" in r.stderr.splitlines()[-1]
    # The JSON is complete and new; no temporary file is left behind.
    assert json.loads(old.read_text())["instances_evaluated"] == 1
    assert sorted(os.listdir(out)) == ["r.json"]
    os.chmod(old, 0o640)
    ok(run("eval", ds, "--max-clicks", 2, "--out", old))
    assert os.stat(old).st_mode & 0o777 == 0o640  # a replaced report keeps its mode


# ---------------------------------------------------------------- errors

def test_help():
    for args in (["eval", "--help"], ["help", "eval"]):
        r = ok(run(*args))
        assert r.stdout.startswith("usage: interformer eval") and "NoC@85" in r.stdout
    assert "eval" in ok(run("--help")).stdout


def test_missing_and_not_a_directory(tmp_path):
    error(run("eval", tmp_path / "nowhere"), 1, "nowhere", "cannot open")
    f = tmp_path / "file.png"
    f.write_bytes(b"x")
    error(run("eval", f), 1, "not a directory")


def test_empty_and_unknown_layouts(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    error(run("eval", empty), 1, "no dataset layout found", "boundary_GT", "#001")
    odd = tmp_path / "odd"
    odd.mkdir()
    write_png(str(odd / "a.png"), np.zeros((4, 4), np.uint8))
    (odd / "notes.txt").write_text("hi")
    error(run("eval", odd), 1, "no dataset layout found")
    half = tmp_path / "half"
    write_png(str(half / "data_GT" / "a.png"), np.zeros((4, 4), np.uint8))
    error(run("eval", half), 1, "data_GT/ is there but not boundary_GT/")
    pair = tmp_path / "pair"
    (pair / "img").mkdir(parents=True)
    (pair / "gt").mkdir()
    error(run("eval", pair), 1, "no instance", "img/ + gt/")
    unmatched = tmp_path / "unmatched"
    write_png(str(unmatched / "images" / "a.png"), np.zeros((4, 4, 3), np.uint8))
    write_png(str(unmatched / "masks" / "b.png"), np.zeros((4, 4), np.uint8))
    error(run("eval", unmatched), 1, "no instance", "1 image, 1 mask")


@pytest.mark.parametrize("args", [
    [],                                                  # no DATASET_DIR
    ["DIR", "--max-clicks", "0"], ["DIR", "--max-clicks", "-3"], ["DIR", "--max-clicks", "abc"],
    ["DIR", "--max-clicks", "1001"], ["DIR", "--max-clicks", "5x"], ["DIR", "--max-clicks"],
    ["DIR", "--limit", "0"], ["DIR", "--limit", "two"], ["DIR", "--threads", "0"],
    ["DIR", "--frobnicate"], ["DIR", "OTHER"], ["DIR", "--encoder", "e.ifg"],
])
def test_usage_errors(tmp_path, args):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "img_gt", names=("apple",))
    args = [str(ds) if a == "DIR" else a for a in args]
    error(run("eval", *args, cwd=tmp_path), 2, "eval", "--help")
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_unwritable_report_fails_before_the_run(tmp_path):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "img_gt", names=("apple",))
    csv_path = tmp_path / "r.csv"
    error(run("eval", ds, "--csv", csv_path, "--out", tmp_path / "no" / "r.json"), 1, "r.json",
          "cannot write")
    assert not csv_path.exists()


def test_missing_model(tmp_path):
    ds = tmp_path / "ds"
    write_dataset(str(ds), "img_gt", names=("apple",))
    error(run("eval", ds, "--model", tmp_path / "gone"), 1, "gone.decoder.ifg")


# ------------------------------------------------------ the real GrabCut

def test_demo_model_on_grabcut(tmp_path):
    """The bundled demo model on all of GrabCut, the papers' protocol: the figures
    models/README.md reports (NoC@90 17.12, mIoU@20 0.836), with a little slack for
    another instruction set's rounding. (The project's bar for a demo model is
    NoC@90 below 10; this one does not reach it, and the README says so.)"""
    if not os.path.isdir(os.path.join(GRABCUT, "data_GT")):
        pytest.skip(f"{GRABCUT} not found (the shared datasets are not in the project)")
    j = tmp_path / "g.json"
    r = ok(run("eval", GRABCUT, "--out", j, "--threads", "2", "-q", model=DEFAULT))
    js = json.load(open(j))
    assert js["instances_found"] == js["instances_evaluated"] == 50
    assert js["max_clicks"] == 20 and len(js["miou"]) == 20
    assert "GrabCut" in js["layout"] and "NoC@90" in r.stdout
    assert not js["model"]["placeholder"]
    for p in js["per_instance"]:
        assert 1 <= p["noc90"] <= 20 and len(p["iou"]) == 20
        assert p["width"] > 0 and p["height"] > 0 and p["mask"].endswith(".bmp")
    assert js["noc85"] <= js["noc90"] <= 17.5, (js["noc85"], js["noc90"])
    assert js["miou"][-1] > js["miou"][0] and js["miou"][-1] >= 0.82, js["miou"]


def test_grabcut_smoke(tmp_path):
    """Two real GrabCut instances (JPEG images, BMP masks with the ignore band) on the
    tiny test model: the reading and reporting path on real files."""
    if not os.path.isdir(os.path.join(GRABCUT, "data_GT")):
        pytest.skip(f"{GRABCUT} not found (the shared datasets are not in the project)")
    j = tmp_path / "g.json"
    r = ok(run("eval", GRABCUT, "--limit", "2", "--out", j))
    js = json.load(open(j))
    assert js["instances_found"] == 50 and js["instances_evaluated"] == 2
    assert js["max_clicks"] == 20 and len(js["miou"]) == 20
    assert "GrabCut" in js["layout"] and "NoC@90" in r.stdout
    for p in js["per_instance"]:
        assert 1 <= p["noc90"] <= 20 and len(p["iou"]) == 20
        assert p["width"] > 0 and p["height"] > 0 and p["mask"].endswith(".bmp")
