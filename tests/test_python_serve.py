"""python/examples/serve.py, the Label Studio ML backend example: started on
a free port, asked for /health, /setup and a /predict with clicks in the
protocol's shape; the brush RLE it answers is decoded here (with the
decoder of Label Studio's editor, rle-pack, written out below) and compared
with the binding's mask for the same clicks."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from cli_util import require_built
from conftest import ROOT
from test_python import DEMO, LIB, PYDIR, SHAPES, python_env

SERVE = os.path.join(PYDIR, "examples", "serve.py")


def decode_brush_rle(rle):
    """rle-pack's decode (the format of Label Studio's brush masks): header
    count (32 bits), word size - 1 (5), four run-field sizes - 1 (4 each);
    then per run a flag bit (1 = one value repeated, 0 = literal values), a
    2-bit index of the field size, length - 1 in that many bits, then the
    value(s)."""
    bits = "".join(f"{b:08b}" for b in rle)
    pos = 0

    def read(n):
        nonlocal pos
        v = int(bits[pos:pos + n], 2) if n else 0
        pos += n
        return v
    num, word = read(32), read(5) + 1
    sizes = [read(4) + 1 for _ in range(4)]
    out = np.zeros(num, np.int64)
    i = 0
    while i < num:
        rep = read(1)
        j = i + 1 + read(sizes[read(2)])
        if rep:
            out[i:j] = read(word)
        else:
            out[i:j] = [read(word) for _ in range(j - i)]
        i = j
    return out


def test_brush_rle_round_trip():
    sys.path.insert(0, os.path.join(PYDIR, "examples"))
    try:
        from serve import brush_rle
    finally:
        sys.path.remove(os.path.join(PYDIR, "examples"))
    rng = np.random.default_rng(1)
    masks = [np.zeros((3, 5), np.uint8), np.ones((7, 1), np.uint8),
             (rng.random((40, 60)) > 0.5).astype(np.uint8),  # short runs
             np.pad(np.ones((200, 400), np.uint8), ((30, 70), (0, 0)))]  # runs over 2^16
    masks[-1][150, 7] = 0
    for m in masks:
        flat = decode_brush_rle(brush_rle(m))
        assert flat.size == m.size * 4
        np.testing.assert_array_equal(flat.reshape(m.shape + (4,)),
                                      np.repeat((m > 0)[..., None] * 255, 4, axis=2))


@pytest.fixture(scope="module")
def server():
    require_built(LIB, target="shared")
    p = subprocess.Popen([sys.executable, SERVE, "--model", DEMO, "--port", "0", "--quiet",
                          "--data-root", os.path.join(ROOT, "examples")],
                         env=python_env(INTERFORMER_LIBRARY=LIB), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("serving "), line + p.stderr.read()
        yield line.split()[-1]  # http://127.0.0.1:PORT
    finally:
        p.terminate()
        p.wait(timeout=30)


def call(url, body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def click(x, y, positive=True, label="Disk"):
    return {"type": "keypointlabels", "from_name": "kp", "to_name": "image",
            "original_width": 320, "original_height": 240, "is_positive": positive,
            "value": {"x": (x + 0.5) / 320 * 100, "y": (y + 0.5) / 240 * 100,
                      "width": 0.5, "keypointlabels": [label]}}


CONFIG = """<View><Image name="image" value="$image"/>
<BrushLabels name="brush" toName="image"><Label value="Disk"/></BrushLabels>
<KeyPointLabels name="kp" toName="image" smart="true"><Label value="Disk"/></KeyPointLabels></View>"""


def test_health_and_setup(server):
    st, r = call(server + "/health")
    assert st == 200 and r["status"] == "UP" and r["model_version"].startswith("interformer-c/")
    st, s = call(server + "/setup", {"project": "1", "schema": CONFIG})
    assert st == 200 and s["model_version"] == r["model_version"]


def test_predict_gives_the_bindings_mask(server, tmp_path):
    import interformer
    interformer.use_library(LIB)
    clicks = [(100, 120, True), (235, 79, False)]
    body = {"tasks": [{"id": 1, "data": {"image": "data/shapes.png"}}], "label_config": CONFIG,
            "params": {"context": {"result": [click(x, y, p) for x, y, p in clicks]}}}
    st, r = call(server + "/predict", body)
    assert st == 200, r
    (pred,) = r["results"]
    (region,) = pred["result"]
    assert (region["from_name"], region["to_name"], region["type"]) == ("brush", "image",
                                                                         "brushlabels")
    assert (region["original_width"], region["original_height"]) == (320, 240)
    assert region["value"]["brushlabels"] == ["Disk"] and 0.5 < pred["score"] <= 1
    got = decode_brush_rle(region["value"]["rle"]).reshape(240, 320, 4)
    assert (got == got[..., :1]).all()
    from pngread import read_png
    with interformer.load(DEMO) as m, m.encode(read_png(SHAPES), max_side=1024) as f, \
            f.session() as s:
        for x, y, p in clicks:
            s.add_click(x, y, p)
        np.testing.assert_array_equal(got[..., 0] > 0, s.mask > 0)
        f.save(tmp_path / "shapes.iff")
    assert got[120, 100, 0] == 255
    # The same image again (its features cached), the Label Studio URL form.
    body["tasks"][0]["data"]["image"] = "/data/local-files/?d=data/shapes.png"
    st, r2 = call(server + "/predict", body)
    assert st == 200 and r2["results"][0]["result"][0]["value"]["rle"] == region["value"]["rle"]
    # A feature file as the image (an absolute path).
    body["tasks"][0]["data"]["image"] = str(tmp_path / "shapes.iff")
    st, r3 = call(server + "/predict", body)
    assert st == 200 and r3["results"][0]["result"][0]["value"]["rle"] == region["value"]["rle"]


def test_predict_without_clicks_and_errors(server):
    task = {"id": 1, "data": {"image": "data/shapes.png"}}
    st, r = call(server + "/predict", {"tasks": [task], "params": {"context": {"result": []}}})
    assert st == 200 and r["results"] == [{"result": [], "model_version": r["results"][0]
                                           ["model_version"]}]
    st, r = call(server + "/predict", {"tasks": [{"data": {"image": "data/none.png"}}],
                                       "params": {"context": {"result": [click(1, 1)]}}})
    assert st == 400 and "none.png" in r["error"]
    st, r = call(server + "/nothing", {})
    assert st == 404
