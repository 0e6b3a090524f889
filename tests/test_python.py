"""The Python binding (python/interformer: ctypes over libinterformer.so).

The library is $IF_BUILD/libinterformer.so (default build/; `make shared`),
the model the bundled demo (models/demo.*.ifg), the image
examples/data/shapes.png. Masks are checked against the CLI's
($IF_BUILD/interformer segment) for the same clicks: another program over
the same library, reading the image with its own reader.
"""

import ctypes
import gc
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cli_util import BUILD, CLI, MODELS, cli_env, ok, require_built, run_cli
from conftest import ROOT
from pngread import read_png

PYDIR = os.path.join(ROOT, "python")
if PYDIR not in sys.path:
    sys.path.insert(0, PYDIR)
import interformer  # noqa: E402
from interformer import _capi  # noqa: E402

LIB = os.path.join(BUILD, "libinterformer.so")
DEMO = os.path.join(ROOT, "models", "demo")
SHAPES = os.path.join(ROOT, "examples", "data", "shapes.png")
# The README's quick start: five clicks on the orange disk, one on the blue square.
CLICKS = [(100, 120, True), (100, 70, True), (100, 170, True), (55, 120, True), (145, 120, True),
          (235, 79, False)]


@pytest.fixture(scope="module")
def itf():
    require_built(LIB, target="shared")
    interformer.use_library(LIB)
    return interformer


@pytest.fixture(scope="module")
def model(itf):
    with itf.load(DEMO) as m:
        yield m


@pytest.fixture(scope="module")
def image():
    return read_png(SHAPES)


@pytest.fixture(scope="module")
def features(model, image):
    with model.encode(image) as f:
        yield f


def python_env(**set_):
    """A child's environment without the variables that choose a library or
    modules, plus `set_`."""
    return cli_env(drop=("INTERFORMER_LIBRARY", "PYTHONPATH", "PYTHONHOME"), **set_)


# ------------------------------------------------------------------ layout

def test_structs_match_the_header(tmp_path):
    """Every ctypes structure has the header's size and field offsets."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to read interformer.h's layout with")
    structs = {"if_options": _capi.Options, "if_model_info": _capi.ModelInfo,
               "if_features_info": _capi.FeaturesInfo, "if_encode_options": _capi.EncodeOptions,
               "if_click": _capi.Click}
    lines, want = [], []
    for cname, S in structs.items():
        lines.append(f'printf("%zu\\n", sizeof({cname}));')
        want.append(ctypes.sizeof(S))
        for f in S._fields_:
            lines.append(f'printf("%zu\\n", offsetof({cname}, {f[0]}));')
            want.append(getattr(S, f[0]).offset)
    src = tmp_path / "layout.c"
    src.write_text("#include <stddef.h>\n#include <stdio.h>\n#include \"interformer.h\"\n"
                   "int main(void) {\n" + "\n".join(lines) + "\nreturn 0;\n}\n")
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-I", ROOT, str(src), "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True,
                                          text=True).stdout.split()]
    assert got == want


def test_status_names_match_the_library(itf):
    lib = _capi.load_library()
    assert len(_capi.STATUS_NAMES) == 21
    assert lib.if_status_str(3) == interformer.Error(3).message.encode()
    for code in range(len(_capi.STATUS_NAMES)):
        assert interformer.Error(code).status == _capi.STATUS_NAMES[code]
    # The enum's last entry and its name agree (a shifted enum would not).
    assert b"cancel" in lib.if_status_str(20).lower()


# ------------------------------------------------------------ using it

def test_model_and_features_info(model, features, image):
    assert model.has_encoder and model.has_decoder
    assert model.encoder_info.kind == "encoder" and model.decoder_info.kind == "decoder"
    assert model.identity == model.decoder_info.identity == features.identity
    assert len(model.identity) > 8
    assert features.shape == image.shape[:2] == (240, 320)
    assert (features.width, features.height) == (320, 240)
    assert features.work_size == (320, 240)  # native: max_side 0
    assert features.padded_width % model.encoder_info.pad_multiple == 0
    assert [lv[3] for lv in features.levels] == [4, 8, 16, 32]
    f1 = features.level(0)
    assert f1.dtype == np.float32 and f1.shape == features.levels[0][:3]
    assert np.isfinite(f1).all() and f1.std() > 0


def test_max_side_changes_the_working_size(model, image):
    with model.encode(image, max_side=160) as f:
        assert f.shape == (240, 320) and f.work_size == (160, 120)
        with f.session() as s:
            s.add_click(100, 120)
            assert s.mask.shape == (240, 320)


def cli_mask(tmp_path, clicks, name="cli.png"):
    require_built(CLI)
    out = tmp_path / name
    args = ["segment", SHAPES, "--model", DEMO, "-o", out]
    for x, y, p in clicks:
        args += ["--click", f"{x},{y},{'+' if p else '-'}"]
    ok(run_cli(args, cli_env()))
    m = read_png(str(out))
    assert set(np.unique(m)) <= {0, 255}
    return (m > 0).astype(np.uint8)


def test_one_click_and_the_cli(features, tmp_path):
    with features.session() as s:
        assert s.clicks == [] and s.mask.sum() == 0
        s.add_click(100, 120)
        m = s.mask
        assert m.shape == (240, 320) and m.dtype == np.uint8
        assert m[120, 100] == 1 and set(np.unique(m)) == {0, 1}
        assert 1000 < m.sum() < 0.5 * m.size
        assert s.clicks == [interformer.Click(100, 120, True)]
        np.testing.assert_array_equal(m, cli_mask(tmp_path, CLICKS[:1]))


def test_six_clicks_match_the_cli(features, tmp_path):
    with features.session() as s:
        for x, y, p in CLICKS:
            s.add_click(x, y, positive=p)
        assert [tuple(c) for c in s.clicks] == CLICKS
        m = s.mask
        np.testing.assert_array_equal(m, cli_mask(tmp_path, CLICKS))
        assert m[120, 100] == 1 and m[79, 235] == 0


def test_probability_and_logits(features):
    with features.session() as s:
        assert s.logits is None
        s.add_click(100, 120)
        p, m = s.probability, s.mask
        assert p.shape == (240, 320) and p.dtype == np.float32
        assert ((p >= 0) & (p <= 1)).all()
        sure = np.abs(p - 0.5) > 1e-6  # the mask is each pixel's side of 0.5
        np.testing.assert_array_equal(m[sure], (p[sure] > 0.5).astype(np.uint8))
        lg = s.logits
        assert lg.shape == (features.padded_height, features.padded_width, 2)
        assert s.memory_bytes > 0


def test_undo_and_reset(features):
    with features.session() as s:
        s.add_click(100, 120)
        one = s.mask
        s.add_click(235, 79, positive=False)
        s.add_click(100, 170)
        s.undo()
        s.undo()
        assert s.clicks == [(100, 120, True)]
        np.testing.assert_array_equal(s.mask, one)  # exactly the previous prediction
        s.undo()
        assert s.clicks == [] and s.mask.sum() == 0
        with pytest.raises(interformer.Error) as e:
            s.undo()
        assert e.value.status == "IF_ERR_STATE" and "no click" in e.value.detail
        s.add_click(100, 120)
        np.testing.assert_array_equal(s.mask, one)  # deterministic
        s.reset()
        assert s.clicks == [] and s.mask.sum() == 0


def test_editing_calls(features):
    # Each edit against its definition: a fresh session given the resulting
    # clicks one by one; and against its cost (decoder_runs).
    def fresh(clicks):
        with features.session() as r:
            for x, y, p in clicks:
                r.add_click(x, y, p)
            return r.mask

    with features.session() as s:
        s.set_clicks(CLICKS[:4])
        assert s.decoder_runs == 4 and np.array_equal(s.mask, fresh(CLICKS[:4]))
        s.set_clicks(CLICKS[:5])
        assert s.decoder_runs == 5, "appending one click to the list is one run"
        s.remove_click(1)
        rest = CLICKS[:1] + CLICKS[2:5]
        assert [tuple(c) for c in s.clicks] == rest and np.array_equal(s.mask, fresh(rest))
        assert s.decoder_runs == 5 + 1 + 3
        s.undo()
        assert s.redo_count == 1
        s.redo()
        assert np.array_equal(s.mask, fresh(rest)) and s.redo_count == 0
        with pytest.raises(interformer.Error) as e:
            s.redo()
        assert e.value.status == "IF_ERR_STATE"
        before, n = s.mask, len(s.clicks)
        pv = s.preview(*CLICKS[5][:2], positive=False)
        assert np.array_equal(s.mask, before) and len(s.clicks) == n and s.logits is None
        s.add_click(*CLICKS[5])
        assert np.array_equal(pv, s.mask)
        s.set_click_lists([c[:2] for c in CLICKS[:2]], [CLICKS[5][:2]])
        order = [CLICKS[0], CLICKS[5], CLICKS[1]]
        assert [tuple(c) for c in s.clicks] == order and np.array_equal(s.mask, fresh(order))
        with pytest.raises(interformer.Error) as e:
            s.remove_click(7)
        assert e.value.status == "IF_ERR_INVALID_ARG"
        with pytest.raises(ValueError):
            s.set_clicks([(1, 2, True, 4)])


def test_coco_outputs(itf):
    rng = np.random.default_rng(7)
    masks = [np.zeros((1, 1), np.uint8), np.ones((3, 5), np.uint8),
             (rng.random((37, 23)) < 0.3).astype(np.uint8), rng.random((8, 64)) < 0.7]
    for m in masks:
        m8 = np.asarray(m, np.uint8)
        rle = itf.mask_to_rle(m)
        assert rle["size"] == list(m8.shape) and isinstance(rle["counts"], str)
        np.testing.assert_array_equal(itf.rle_to_mask(rle), m8)
        # the counts as COCO defines them: column-major runs from background
        flat = m8.T.ravel()
        edges = np.flatnonzero(np.diff(flat)) + 1
        counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
        if flat[0]:
            counts = [0] + counts
        np.testing.assert_array_equal(itf.rle_to_mask({"size": rle["size"], "counts": counts}), m8)
        ys, xs = np.nonzero(m8)
        box = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
               int(ys.max() - ys.min() + 1)] if len(xs) else [0, 0, 0, 0]
        assert itf.mask_bbox(m) == (box, int(m8.sum()))
    ring = np.zeros((10, 12), np.uint8)
    ring[2:8, 3:9] = 1
    ring[4:6, 5:7] = 0
    polys = itf.mask_polygons(ring, tolerance=0)
    assert [p for _, p in polys] == [-1, 0]                     # an outline and its hole
    assert {tuple(v) for v in polys[0][0]} == {(3, 2), (9, 2), (9, 8), (3, 8)}
    assert {tuple(v) for v in polys[1][0]} == {(5, 4), (7, 4), (7, 6), (5, 6)}
    with pytest.raises(interformer.Error) as e:
        itf.rle_to_mask({"size": [2, 2], "counts": "0~"})
    assert e.value.status == "IF_ERR_BAD_COUNT"
    with pytest.raises(interformer.Error) as e:
        itf.rle_to_mask({"size": [2, 2], "counts": [1, 2]})
    assert e.value.status == "IF_ERR_BAD_COUNT"
    with pytest.raises(ValueError):
        itf.rle_to_mask({"size": [3, 5], "counts": "0\u00e9"})  # not ASCII: not '?' either
    with pytest.raises(ValueError):
        itf.rle_to_mask({"size": [2, 2], "counts": [1.5, 2.5]})
    with pytest.raises(TypeError):
        itf.mask_to_rle(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError):
        itf.mask_polygons(ring, tolerance=-1)


def test_set_mask(features):
    rect = np.zeros((240, 320), bool)
    rect[100:140, 80:120] = True
    with features.session() as s:
        s.add_click(100, 120)
        s.set_mask(rect)
        assert s.clicks == []  # cleared
        np.testing.assert_array_equal(s.mask, rect.astype(np.uint8))
        s.add_click(100, 120)
        after = s.mask
        # The same mask as uint8 with strided rows (a view into a wider array)
        wide = np.zeros((240, 400), np.uint8)
        wide[:, :320] = rect * 7  # nonzero = object
        view = wide[:, :320]
        assert not view.flags.c_contiguous
        s.set_mask(view)
        s.add_click(100, 120)
        np.testing.assert_array_equal(s.mask, after)
        # and a non-unit column step (copied)
        s.set_mask(np.repeat(rect, 2, axis=1)[:, ::2])
        s.add_click(100, 120)
        np.testing.assert_array_equal(s.mask, after)
        with pytest.raises(ValueError, match=r"\(240, 320\)"):
            s.set_mask(rect[:-1])
        with pytest.raises(TypeError, match="float"):
            s.set_mask(rect.astype(np.float32))
        np.testing.assert_array_equal(s.mask, after)  # refused calls changed nothing


# ------------------------------------------------------------- annotations

# Clicks on the blue square (and one saying the disk is not it).
SQUARE = [(235, 79, True), (100, 120, False), (205, 50, True)]


def replay(features, clicks):
    """A fresh session given `clicks` one by one: (mask, probability)."""
    with features.session() as r:
        for x, y, p in clicks:
            r.add_click(x, y, p)
        return r.mask, r.probability


def test_annotation_objects_are_sessions(features):
    with features.annotation() as a:
        assert a.objects == [] and a.exclusive and a.shape == (240, 320)
        disk, square = a.add_object(), a.add_object()
        assert isinstance(disk, interformer.Session)
        assert (disk.id, square.id) == (1, 2) and a.objects == [disk, square]
        assert a.object(2) is square and not disk.finished
        for k in range(3):  # interleaved: each click runs the shared decoder for its object
            disk.add_click(*CLICKS[k])
            square.add_click(*SQUARE[k])
            if k == 1:
                square_two = square.mask
        assert disk.logits is None  # the square's run replaced them
        for o, clicks in ((disk, CLICKS[:3]), (square, SQUARE)):
            assert [tuple(c) for c in o.clicks] == clicks and o.decoder_runs == 3
            m, p = replay(features, clicks)
            np.testing.assert_array_equal(o.mask, m)
            np.testing.assert_array_equal(o.probability, p)
        square_three = square.mask
        # Editing calls work on an object, with the same results.
        disk.set_clicks(CLICKS[:5])
        square.undo()
        np.testing.assert_array_equal(square.mask, square_two)
        disk.remove_click(1)
        rest = CLICKS[:1] + CLICKS[2:5]
        assert [tuple(c) for c in disk.clicks] == rest
        np.testing.assert_array_equal(disk.mask, replay(features, rest)[0])
        square.redo()
        np.testing.assert_array_equal(square.mask, square_three)
        pv = disk.preview(*CLICKS[5])
        disk.add_click(*CLICKS[5])
        np.testing.assert_array_equal(pv, disk.mask)
        with pytest.raises(interformer.Error) as e:  # the object's session's detail
            disk.add_click(320, 10)
        assert e.value.status == "IF_ERR_INVALID_ARG" and "outside" in e.value.detail
        assert len(disk.clicks) == 5
        assert "2 objects" in repr(a) and "3 clicks" in repr(square)


def test_annotation_exclusive(features):
    disk_mask = replay(features, CLICKS[:1])[0]
    assert disk_mask.sum() > 1000
    with features.annotation() as a:
        first, second = a.add_object(), a.add_object()
        first.add_click(*CLICKS[0])
        first.finish()
        assert first.finished and a.exclusive
        second.add_click(*CLICKS[0])  # the same disk: its pixels are taken
        assert not (second.mask & first.mask).any()
        # Not exclusive: predictions from now on keep them.
        a.exclusive = False
        assert a.exclusive is False
        second.undo()
        second.add_click(*CLICKS[0])
        assert (second.mask & first.mask).sum() > 1000
        np.testing.assert_array_equal(second.mask, disk_mask)
        # Exclusive again, but the first object reopened: nothing to leave out.
        a.exclusive = True
        first.reopen()
        assert not first.finished
        second.undo()
        second.add_click(*CLICKS[0])
        np.testing.assert_array_equal(second.mask, disk_mask)


def test_annotation_instance_map(features):
    with features.annotation() as a:
        disk, square = a.add_object(), a.add_object()
        disk.add_click(*CLICKS[0])
        square.add_click(*SQUARE[0])
        ids = a.instance_map
        assert ids.shape == (240, 320) and ids.dtype == np.uint16
        assert set(np.unique(ids)) == {0, 1, 2}
        for o in (disk, square):  # apart: each id's pixels are its mask
            assert (ids == o.id).sum() == o.mask.sum() > 1000
            np.testing.assert_array_equal(ids == o.id, o.mask == 1)
        # Overlapping (not exclusive): a pixel goes to the oldest object.
        a.exclusive = False
        square.add_click(*CLICKS[0])
        assert (disk.mask & square.mask).any()
        ids = a.instance_map
        np.testing.assert_array_equal(ids == 1, disk.mask == 1)
        np.testing.assert_array_equal(ids == 2, (square.mask == 1) & (disk.mask == 0))


def test_annotation_delete(features):
    with features.annotation() as a:
        o1, o2 = a.add_object(), a.add_object()
        o1.add_click(*CLICKS[0])
        o1.finish()
        o2.add_click(*CLICKS[0])
        assert not o2.mask.any()  # left out: o1 holds the disk
        o1.delete()
        assert a.objects == [o2] and o1.closed and not o2.closed
        for use in (lambda: o1.mask, lambda: o1.add_click(10, 10), lambda: o1.clicks,
                    lambda: o1.finished, o1.finish, o1.reopen, o1.delete, o1.undo,
                    lambda: o1.memory_bytes, lambda: o1.probability):
            with pytest.raises(ValueError, match="object 1 was deleted"):
                use()
        assert "deleted" in repr(o1)
        with pytest.raises(KeyError, match="no object 1"):
            a.object(1)
        with pytest.raises(TypeError, match="integer"):
            a.object("1")
        # Its pixels went with it.
        o2.undo()
        o2.add_click(*CLICKS[0])
        np.testing.assert_array_equal(o2.mask, replay(features, CLICKS[:1])[0])
        assert a.add_object().id == 3  # ids are not reused
        assert [o.id for o in a.objects] == [2, 3]
        assert set(np.unique(a.instance_map)) == {0, 2}
        # The library's own detail (if_annotation_error) on a failing call.
        with pytest.raises(interformer.Error) as e:
            a._call("if_annotation_finish", 1)
        assert e.value.status == "IF_ERR_INVALID_ARG" and "no object 1" in e.value.detail


def test_annotation_memory(features):
    with features.session() as s:
        session = s.memory_bytes
    with features.annotation() as a:
        base = a.memory_bytes
        a.add_object()
        first = a.memory_bytes
        one = a.add_object()
        added = a.memory_bytes - first
        assert added == one.memory_bytes > 0  # an object adds its session's bytes
        # ... which are a session's without the decoder's run (arena,
        # prepared weights): the annotation holds that once.
        assert added < 0.5 * session
        owner_map = 240 * 320 * 2
        assert abs(session - added - (base - owner_map)) < 64 * 1024
        for _ in range(8):
            a.add_object()
        assert a.memory_bytes < 5 * session  # ten objects: less than half of ten sessions


def test_annotation_save_and_load(features, tmp_path):
    path = tmp_path / "shapes.ifa"
    with features.annotation() as a:
        a.exclusive = False
        disk = a.add_object()
        disk.set_clicks(CLICKS[:3])
        disk.finish()
        square = a.add_object()
        square.set_mask(np.pad(np.ones((40, 40), np.uint8), ((60, features.height - 100),
                                                            (215, features.width - 255))))
        square.add_click(*CLICKS[5][:2], positive=True)
        a.save(path)
        want = {o.id: (o.clicks, o.mask, o.finished) for o in a.objects}
        want_map = a.instance_map
    assert 0 < path.stat().st_size < 1024  # clicks and run lengths, no pixels
    with features.annotation(path=path) as b:
        assert not b.exclusive
        assert {o.id: (o.clicks, o.mask.tobytes(), o.finished) for o in b.objects} == \
            {k: (c, m.tobytes(), f) for k, (c, m, f) in want.items()}
        np.testing.assert_array_equal(b.instance_map, want_map)
    data = path.read_bytes()
    (tmp_path / "cut.ifa").write_bytes(data[:-3])
    with pytest.raises(interformer.Error) as e:
        features.annotation(path=tmp_path / "cut.ifa")
    assert e.value.status == "IF_ERR_TRUNCATED" and "cut.ifa" in e.value.detail
    with pytest.raises(interformer.Error) as e:
        features.annotation(path=tmp_path / "missing.ifa")
    assert e.value.status == "IF_ERR_IO"


def test_annotation_threads(features):
    import threading
    want = {1: replay(features, CLICKS[:3])[0], 2: replay(features, SQUARE)[0]}
    with features.annotation() as a:
        objs = [a.add_object(), a.add_object()]
        errors = []

        def work(o, clicks):
            try:
                for c in clicks:
                    o.add_click(*c)
            except BaseException as e:  # noqa: B902 -- reported below
                errors.append(e)
        ts = [threading.Thread(target=work, args=(objs[0], CLICKS[:3])),
              threading.Thread(target=work, args=(objs[1], SQUARE))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors
        for o in objs:  # the calls were serialised on the shared decoder run
            np.testing.assert_array_equal(o.mask, want[o.id])


def test_features_save_and_load(model, features, tmp_path):
    p32, p16 = tmp_path / "a.iff", tmp_path / "a16.iff"
    features.save(p32)
    features.save(str(p16), dtype="f16")
    assert 0.4 < p16.stat().st_size / p32.stat().st_size < 0.6
    with features.session() as s:
        for x, y, pos in CLICKS[:3]:
            s.add_click(x, y, pos)
        want = s.mask
    with interformer.load_features(p32) as g:
        assert g.model is None
        assert (g.shape, g.work_size, g.identity) == (features.shape, features.work_size,
                                                      features.identity)
        for k in range(4):
            np.testing.assert_array_equal(g.level(k), features.level(k))
        with pytest.raises(ValueError, match="model"):
            g.session()
        with model.session(g) as s:
            for x, y, pos in CLICKS[:3]:
                s.add_click(x, y, pos)
            np.testing.assert_array_equal(s.mask, want)
    with interformer.load_features(p16.read_bytes()) as h:  # from bytes, f16 values
        np.testing.assert_allclose(h.level(0), features.level(0), rtol=1e-3, atol=1e-3)
        with h.session(model) as s:
            s.add_click(100, 120)
            assert s.mask[120, 100] == 1
    with pytest.raises(ValueError, match="f32"):
        features.save(tmp_path / "x.iff", dtype="f64")


def test_noncontiguous_images(model, image):
    with model.encode(image) as f:
        want = [f.level(k) for k in range(4)]
    wide = np.zeros((240, 333, 3), np.uint8)
    wide[:, 5:325] = image
    views = {
        "strided rows (passed as is)": wide[:, 5:325],
        "rgba[..., :3] (copied)": np.dstack([image, np.full((240, 320), 9, np.uint8)])[..., :3],
        "fortran order (copied)": np.asfortranarray(image),
    }
    assert views["strided rows (passed as is)"].strides == (333 * 3, 3, 1)
    for what, img in views.items():
        with model.encode(img) as f:
            for k in range(4):
                np.testing.assert_array_equal(f.level(k), want[k], err_msg=what)
    with pytest.raises(TypeError, match="int64"):  # a list of lists: int64, not uint8
        model.encode(image.tolist())
    flipped = image[:, ::-1]
    with model.encode(flipped) as f, model.encode(np.ascontiguousarray(flipped)) as g:
        np.testing.assert_array_equal(f.level(3), g.level(3))


def test_progress_and_cancel(model, image):
    seen = []
    with model.encode(image, progress=lambda x: seen.append(x)) as f:
        assert f.width == 320
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(interformer.Error) as e:
        model.encode(image, progress=lambda x: x > 0.3)
    assert e.value.status == "IF_ERR_CANCELLED"

    def boom(x):
        raise ZeroDivisionError("from the callback")
    with pytest.raises(ZeroDivisionError, match="from the callback"):
        model.encode(image, progress=boom)
    with model.encode(image[:64, :64]) as f:  # the model is still usable
        assert f.shape == (64, 64)


# ------------------------------------------------------------------ errors

def test_load_errors(itf, tmp_path):
    with pytest.raises(interformer.Error) as e:
        itf.load(tmp_path / "nothing")
    assert isinstance(e.value, RuntimeError)
    assert e.value.status == "IF_ERR_IO" and e.value.code == 3
    assert "nothing.encoder.ifg" in e.value.detail and e.value.detail in str(e.value)
    junk = tmp_path / "junk.decoder.ifg"
    junk.write_bytes(b"not a graph file" * 16)
    with pytest.raises(interformer.Error) as e:
        itf.load(decoder=junk)
    assert e.value.status in ("IF_ERR_BAD_MAGIC", "IF_ERR_TRUNCATED")
    assert str(junk) in e.value.detail
    with pytest.raises(interformer.Error) as e:
        itf.load_features(DEMO + ".decoder.ifg")
    assert e.value.status == "IF_ERR_BAD_MAGIC"
    with pytest.raises(interformer.Error) as e:
        itf.load_features(tmp_path / "missing.iff")
    assert e.value.status == "IF_ERR_IO" and "missing.iff" in e.value.detail
    with pytest.raises(ValueError, match="decoder graph, not an encoder"):
        itf.load(encoder=DEMO + ".decoder.ifg")
    with pytest.raises(interformer.Error) as e:
        itf.load(DEMO, mem_limit=1000)
    assert e.value.status == "IF_ERR_NO_MEMORY"
    with pytest.raises(interformer.Error) as e:
        itf.load(DEMO, isa="no-such-isa")
    assert e.value.code != 0 and "no-such-isa" in str(e.value)
    with pytest.raises(TypeError):
        itf.load()
    with pytest.raises(ValueError):
        itf.load(DEMO, threads=0)


def test_options(itf):
    with itf.load(DEMO, threads=2, isa="scalar", max_clicks=2) as m:
        assert m.decoder_info.n_threads == 2 and m.decoder_info.isa == "scalar"
        img = np.zeros((32, 32, 3), np.uint8)
        img[8:24, 8:24] = 200
        with m.encode(img) as f, f.session() as s:
            s.add_click(16, 16)
            s.add_click(2, 2, positive=False)
            with pytest.raises(interformer.Error) as e:  # max_clicks = 2
                s.add_click(20, 20)
            assert e.value.status == "IF_ERR_STATE"
            assert len(s.clicks) == 2


def test_halves(itf, image):
    with itf.load(encoder=DEMO + ".encoder.ifg") as enc, \
            itf.load(decoder=DEMO + ".decoder.ifg") as dec:
        assert enc.has_encoder and not enc.has_decoder and dec.has_decoder
        with enc.encode(image) as f, pytest.raises(ValueError, match="no decoder"):
            f.session()
        with pytest.raises(ValueError, match="no encoder"):
            dec.encode(image)
        with enc.encode(image) as f, dec.session(f) as s:
            s.add_click(100, 120)
            assert s.mask[120, 100] == 1


def test_argument_errors(model, features, image):
    with pytest.raises(TypeError, match="uint8"):
        model.encode(image.astype(np.float32))
    with pytest.raises(ValueError, match="height, width, 3"):
        model.encode(image[..., 0])
    with pytest.raises(ValueError, match="height, width, 3"):
        model.encode(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        model.encode(np.zeros((0, 8, 3), np.uint8))
    with pytest.raises(TypeError, match="callable"):
        model.encode(image, progress=3)
    with features.session() as s:
        s.add_click(100, 120)
        before = s.mask
        for x, y in ((320, 10), (-1, 10), (10, 240)):
            with pytest.raises(interformer.Error) as e:
                s.add_click(x, y)
            assert e.value.status == "IF_ERR_INVALID_ARG" and "outside" in e.value.detail
        with pytest.raises(TypeError, match="integer"):
            s.add_click(10.5, 3)
        with pytest.raises(ValueError, match="range"):
            s.add_click(2**40, 3)
        s.add_click(np.int64(100), np.int32(70))  # NumPy integers are fine
        s.undo()
        np.testing.assert_array_equal(s.mask, before)
        assert len(s.clicks) == 1
    with features.session() as s, pytest.raises(interformer.Error) as e:
        s.probability
    assert e.value.status == "IF_ERR_STATE" and "no prediction" in e.value.detail
    with pytest.raises(TypeError):
        interformer.Session(features, model)


def test_mismatched_features(itf, features):
    tiny = os.path.join(MODELS, "tiny_vit.decoder.ifg")
    require_built(tiny, target="models")
    with itf.load(decoder=tiny) as other:
        with pytest.raises(interformer.Error) as e:
            other.session(features)
        assert e.value.status == "IF_ERR_MISMATCH" and e.value.detail
        with pytest.raises(interformer.Error) as e:  # if_last_error's detail
            other.annotation(features)
        assert e.value.status == "IF_ERR_MISMATCH" and e.value.detail
        assert e.value.call == "if_annotation_new"


# ----------------------------------------------------------------- lifetime

def test_session_keeps_what_it_needs(itf, image):
    def make():
        m = itf.load(DEMO)
        return m.encode(image).session()  # model and features: only the session holds them
    s = make()
    gc.collect()
    s.add_click(100, 120)
    assert s.mask[120, 100] == 1
    m, f = s.model, s.features
    m.close()
    f.close()  # deferred: the open session still uses both
    assert m.closed and f.closed
    s.add_click(100, 70)
    assert len(s.clicks) == 2
    with pytest.raises(ValueError, match="closed"):
        m.encode(image)
    with pytest.raises(ValueError, match="closed"):
        f.session()
    assert m._dec._ptr is not None and f._h._ptr is not None
    s.close()
    assert m._dec._ptr is None and f._h._ptr is None  # freed with their last user
    with pytest.raises(ValueError, match="closed"):
        s.mask
    s.close()  # twice is fine
    m.close()


def test_annotation_lifetime(itf, image):
    def make():  # model, features, annotation: only the object holds them
        return itf.load(DEMO).encode(image).annotation().add_object()
    o = make()
    gc.collect()
    o.add_click(100, 120)
    assert o.mask[120, 100] == 1
    a = o.annotation
    m, f = a.model, a.features
    m.close()
    f.close()  # deferred: the annotation still uses both
    with pytest.raises(ValueError, match="closed"):
        f.annotation()
    o.add_click(100, 70)
    # close() or `with` on an object only lets go of that Python object.
    with a.add_object() as o2:
        o2.add_click(235, 79)
    assert o2.closed
    with pytest.raises(ValueError, match="object 2 is closed"):
        o2.mask
    again = a.object(2)
    assert again is not o2 and again.clicks == [(235, 79, True)] and not again.closed
    assert a.objects == [o, again]
    # Closing the annotation while its objects are referenced.
    assert m._dec._ptr is not None and f._h._ptr is not None
    a.close()
    assert a.closed and o.closed and again.closed
    assert m._dec._ptr is None and f._h._ptr is None  # freed with their last user
    for use in (lambda: o.mask, lambda: o.add_click(100, 120), o.finish, o.delete,
                lambda: o.finished, lambda: o.clicks):
        with pytest.raises(ValueError, match="annotation is closed"):
            use()
    with pytest.raises(ValueError, match="closed"):
        a.add_object()
    with pytest.raises(ValueError, match="closed"):
        a.instance_map
    assert "closed" in repr(a) and "closed" in repr(o)
    a.close()  # twice is fine
    o.close()
    with pytest.raises(TypeError):
        interformer.Annotation(f, m)


def test_del_at_interpreter_exit(tmp_path):
    """Objects still alive at exit (in globals, in a cycle) are freed without
    an error."""
    require_built(LIB, target="shared")
    code = textwrap.dedent(f"""
        import sys, numpy as np
        sys.path.insert(0, {PYDIR!r})
        import interformer
        m = interformer.load({DEMO!r})
        f = m.encode(np.full((40, 50, 3), 100, np.uint8))
        s = f.session()
        s.add_click(10, 10)
        s.cycle = s
        a = f.annotation()
        o1, o2, o3 = a.add_object(), a.add_object(), a.add_object()
        o1.add_click(10, 10)
        o1.finish()
        o2.add_click(10, 10)
        o3.delete()
        o2.cycle, a.cycle = (o1, o2, o3), a
        lone = m.annotation(f).add_object()  # only the object holds its annotation
        lone.add_click(20, 20)
        print("ok", s.mask.shape, int(a.instance_map.max()))
    """)
    r = subprocess.run([sys.executable, "-c", code], env=python_env(INTERFORMER_LIBRARY=LIB),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok (40, 50) 1" and r.stderr == ""


# ----------------------------------------------------------- finding the library

def run_python(code, env, cwd=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_library_from_the_environment(tmp_path):
    require_built(LIB, target="shared")
    code = f"""
        import sys; sys.path.insert(0, {PYDIR!r})
        import interformer
        print(interformer.library_path())
    """
    r = run_python(code, python_env(INTERFORMER_LIBRARY=LIB))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == LIB
    r = run_python(code, python_env(INTERFORMER_LIBRARY=BUILD))  # a directory
    assert r.stdout.strip() == os.path.join(BUILD, "libinterformer.so"), r.stderr
    r = run_python(code, python_env(INTERFORMER_LIBRARY=str(tmp_path / "none.so")))
    assert r.returncode != 0
    assert "LibraryNotFoundError" in r.stderr and "none.so" in r.stderr


def test_library_not_found_lists_the_places(tmp_path):
    pkg = tmp_path / "interformer"
    shutil.copytree(os.path.join(PYDIR, "interformer"), pkg,
                    ignore=shutil.ignore_patterns("*.so*", "__pycache__"))
    code = f"""
        import sys; sys.path.insert(0, {str(tmp_path)!r})
        import interformer
        try:
            print("found", interformer.library_path())
        except interformer.LibraryNotFoundError as e:
            print("error", e)
    """
    r = run_python(code, python_env(LD_LIBRARY_PATH=""), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    if r.stdout.startswith("found"):
        pytest.skip(f"a libinterformer is installed for the loader here: {r.stdout.strip()}")
    msg = r.stdout
    assert str(pkg / "libinterformer.so") in msg and "INTERFORMER_LIBRARY" in msg
    assert "libinterformer.so.0" in msg and "make shared" in msg


def test_library_of_the_source_tree(tmp_path):
    """Run from a source tree (a directory with interformer.h above
    python/), with nothing set, the package uses that tree's
    build/libinterformer.so. (A copy of the tree's layout: the real build/
    may be mid-rebuild by another make.)"""
    require_built(LIB, target="shared")
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(PYDIR, "interformer"), repo / "python" / "interformer",
                    ignore=shutil.ignore_patterns("*.so*", "__pycache__"))
    shutil.copyfile(os.path.join(ROOT, "interformer.h"), repo / "interformer.h")
    (repo / "build").mkdir()
    shutil.copyfile(os.path.realpath(LIB), repo / "build" / "libinterformer.so")
    code = f"""
        import sys; sys.path.insert(0, {str(repo / "python")!r})
        import interformer
        print(interformer.library_path())
    """
    r = run_python(code, python_env(), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(repo / "build" / "libinterformer.so")
    # A library next to the package comes first.
    shutil.copyfile(os.path.realpath(LIB), repo / "python" / "interformer" / "libinterformer.so")
    r = run_python(code, python_env(), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(repo / "python" / "interformer" / "libinterformer.so")


# ------------------------------------------------------------------ pip

def test_pip_install_into_a_venv(tmp_path, image):
    """`pip install --no-build-isolation --no-index` of a copy of python/
    with the library in it (what `make python-package` does), into a venv
    that sees the system's NumPy; the installed package runs from elsewhere
    with nothing set and uses its own library."""
    require_built(LIB, target="shared")
    try:
        import ensurepip  # noqa: F401
        import setuptools  # noqa: F401
        import venv  # noqa: F401
        import wheel  # noqa: F401
    except ImportError as e:
        pytest.skip(f"cannot make a venv or a wheel offline here: {e} (Debian: python3-venv, "
                    "python3-setuptools, python3-wheel; `scripts/deps.sh test`)")
    src = tmp_path / "src"
    shutil.copytree(PYDIR, src, ignore=shutil.ignore_patterns(
        "*.so*", "__pycache__", "build", "*.egg-info", "examples"))
    shutil.copyfile(os.path.realpath(LIB), src / "interformer" / "libinterformer.so")
    v = tmp_path / "venv"
    env = python_env()
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(v)], env=env,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"python3 -m venv failed here: {r.stderr.strip()[-300:]}")
    py = str(v / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        str(src)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Successfully installed interformer" in r.stdout
    np.save(tmp_path / "img.npy", image)
    r = subprocess.run([py, "-c", textwrap.dedent(f"""
        import numpy as np, interformer
        print(interformer.__file__)
        print(interformer.library_path())
        m = interformer.load({DEMO!r})
        with m.encode(np.load("img.npy")) as f, f.session() as s:
            s.add_click(100, 120)
            print(s.mask.shape, s.mask[120, 100], int(s.mask.sum()))
    """)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    pkg_file, lib_path, result = r.stdout.strip().splitlines()
    site = str(v / "lib")
    assert pkg_file.startswith(site) and lib_path.startswith(site)
    assert lib_path.endswith("interformer/libinterformer.so")
    assert result.startswith("(240, 320) 1 ")
