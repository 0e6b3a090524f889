"""if_next_click (the evaluation protocol's click, in C) against the official
simulator's recorded clicks on the golden cases: same sign, and the recorded
pixel is among the farthest points of the same error region (the official
simulator picks randomly among them; we pick the first)."""

import ctypes
import json
import os

import numpy as np
import pytest

from conftest import GOLDEN_CASES, golden_case
from pngread import read_png

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, os.environ.get("IF_BUILD", "build"), "libinterformer.so")


class Click(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("positive", ctypes.c_int)]


@pytest.fixture(scope="module")
def lib():
    if not os.path.exists(LIB):
        pytest.skip("build/libinterformer.so not built (run make)")
    return ctypes.CDLL(LIB)


def border_dist2(mask, y, x):
    """Squared distance from (y, x) to the nearest non-mask pixel or the
    outside of the (one-pixel padded) map: brute force for one point."""
    if not mask[y, x]:
        return 0
    H, W = mask.shape
    best = min(y + 1, x + 1, H - y, W - x) ** 2
    ys, xs = np.nonzero(~mask)
    if len(ys):
        best = min(best, int(((ys - y) ** 2 + (xs - x) ** 2).min()))
    return best


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_clicks_match_official_simulator(lib, name):
    case = golden_case(name)
    clicks = json.load(open(os.path.join(case, "clicks.json")))
    gt = read_png(os.path.join(case, "gt.png")) > 0
    l0 = np.load(os.path.join(case, "logits_0.npy"))
    Hp, Wp = l0.shape[2:]
    gt_p = np.zeros((Hp, Wp), bool)
    gt_p[:gt.shape[0], :gt.shape[1]] = gt
    pred = np.zeros((Hp, Wp), bool)
    prev = []
    for k, rec in enumerate(clicks):
        arr = (Click * max(1, len(prev)))(*[Click(p["x"], p["y"], int(p["positive"])) for p in prev])
        out = Click()
        g = np.ascontiguousarray(gt_p, np.uint8)
        p = np.ascontiguousarray(pred, np.uint8)
        st = lib.if_next_click(g.ctypes.data, p.ctypes.data, None, Wp, Hp, arr, len(prev), ctypes.byref(out))
        assert st == 0, f"step {k}: status {st}"
        assert bool(out.positive) == rec["positive"], f"step {k}: sign"
        region = (gt_p & ~pred) if rec["positive"] else (pred & ~gt_p)
        for q in prev:
            region[q["y"], q["x"]] = False
        ours = border_dist2(region, out.y, out.x)
        theirs = border_dist2(region, rec["y"], rec["x"])
        assert ours == theirs and ours > 0, f"step {k}: ours ({out.x},{out.y}) d2={ours}, official d2={theirs}"
        prev.append(rec)
        logits = np.load(os.path.join(case, f"logits_{k}.npy"))
        pred = logits[0, 1] > logits[0, 0]
