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
        print("ok", s.mask.shape)
    """)
    r = subprocess.run([sys.executable, "-c", code], env=python_env(INTERFORMER_LIBRARY=LIB),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok (40, 50)" and r.stderr == ""


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
