"""torchref.train and torchref.data: the demo model's training script.

The loss against a per-pixel formula, the schedules, the augmentation's
object sizes, the click simulator's choices, and a tiny end-to-end run on
synthetic images (train, stop, resume, export, convert) that checks the
files a run leaves and that resuming continues where it stopped.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

from conftest import ROOT  # noqa: E402
from torchref import train as T  # noqa: E402
from torchref.data import Augmenter, _bbox, load_pairs, split_pairs  # noqa: E402


def synthetic_dataset(root, n=6, size=(96, 80), seed=0):
    """ROOT/img/*.png + ROOT/gt/*.png: an ellipse of one colour on noise."""
    rng = np.random.default_rng(seed)
    os.makedirs(root / "img")
    os.makedirs(root / "gt")
    W, H = size
    yy, xx = np.mgrid[:H, :W]
    for i in range(n):
        img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        cy, cx = rng.integers(H // 4, 3 * H // 4), rng.integers(W // 4, 3 * W // 4)
        ry, rx = rng.integers(8, H // 3), rng.integers(8, W // 3)
        mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        img[mask] = rng.integers(0, 256, 3, dtype=np.uint8)
        Image.fromarray(img).save(root / "img" / f"s{i}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / "gt" / f"s{i}.png")
    return root


def test_normalized_focal_loss_matches_formula():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 2, 5, 7, generator=g)
    target = (torch.rand(2, 5, 7, generator=g) > 0.5).to(torch.uint8)
    got = T.normalized_focal_loss(logits, target).item()
    want = 0.0
    for b in range(2):
        x = (logits[b, 1] - logits[b, 0]).double().numpy()
        t = target[b].double().numpy()
        p = 1 / (1 + np.exp(-x))
        pt = 1 - np.abs(p - t)
        beta = (1 - pt) ** 2
        scale = x.size / (beta.sum() + 1.1920929e-07)
        want += (-0.5 * scale * beta * np.log(pt + 1.1920929e-07)).mean() / 2
    assert abs(got - want) < 1e-5 * max(1.0, abs(want))


def test_lr_schedule_by_steps_and_by_time():
    assert T.lr_at(0, 100, 1.0, 10) == pytest.approx(1e-3)
    assert T.lr_at(10, 100, 1.0, 10) == pytest.approx(1.0)
    assert T.lr_at(55, 100, 1.0, 10) == pytest.approx(0.5)
    assert T.lr_at(100, 100, 1.0, 10) == 0.0
    # a time budget: the decay follows the share of it spent, whatever the step
    assert T.lr_at(50, 100, 1.0, 10, progress=0.25) == pytest.approx(0.75)
    assert T.lr_at(5, 100, 1.0, 10, progress=0.9) == pytest.approx(0.5 + 0.5e-3, rel=1e-2)
    assert T.lr_at(500, 100, 1.0, 10, progress=1.5) == 0.0


def test_augmenter_object_scale(tmp_path):
    pairs = load_pairs(str(synthetic_dataset(tmp_path / "d", n=8)))
    assert len(pairs) == 8
    train, val = split_pairs(pairs, 2)
    assert len(train) == 6 and len(val) == 2
    assert not {p[0] for p in train} & {p[0] for p in val}
    rng = np.random.default_rng(0)
    aug = Augmenter(train, paste_prob=0.0, object_scale=(0.6, 0.9), min_area=0.0)
    for _ in range(20):
        img, mask = aug.sample(64, rng)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert mask.shape == (64, 64) and mask.dtype == bool
        if mask.any():
            y0, y1, x0, x1 = _bbox(mask)
            assert max(y1 - y0, x1 - x0) <= round(0.9 * 64) + 2        # never larger than asked
    pasted = Augmenter(train, paste_prob=1.0, object_scale=(0.5, 0.5), min_area=0.0)
    sides = []
    for _ in range(20):
        _, mask = pasted.sample(64, rng)
        if mask.any():
            y0, y1, x0, x1 = _bbox(mask)
            sides.append(max(y1 - y0, x1 - x0))
    assert sides and max(sides) <= 33                                # 0.5 x 64, resampled


def test_train_click_picks_inside_the_larger_error():
    gt = np.zeros((40, 40), bool)
    gt[5:35, 5:35] = True
    pred = np.zeros_like(gt)
    pred[5:35, 5:20] = True                     # misses the right half: a false negative
    rng = np.random.default_rng(0)
    for k in (1.0, 1.7):
        y, x, positive = T.train_click(pred, gt, [], k, rng, stride=1)
        assert positive and gt[y, x] and not pred[y, x]
    y, x, positive = T.train_click(pred, gt, [], 1.0, rng, stride=1)
    assert 25 <= x <= 29 and 17 <= y <= 22       # the innermost points of the missed block
    assert T.train_click(gt, gt, [], 1.7, rng) is None


def run_train(args, cwd):
    return subprocess.run([sys.executable, "-m", "torchref.train", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1"))


TINY = ["--embed-dims", "32", "--layers", "1", "--heads", "2", "--native", "128",
        "--fpn-dims", "8,8,8,8", "--channels", "8", "--batch", "2", "--crops", "128",
        "--threads", "1", "--val", "2", "--log-every", "1", "--ckpt-every", "2",
        "--warmup", "1", "--gamma", "0.9", "--max-clicks", "2"]


def test_train_stop_resume_export_convert(tmp_path):
    data = synthetic_dataset(tmp_path / "data")
    out = tmp_path / "run"
    r = run_train(["--data", str(data), "--out", str(out), "--steps", "6", "--stop-at", "3",
                   "--val-every", "3", "--object-scale", "0.5,1.0", *TINY], ROOT)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in open(out / "log.jsonl")]
    steps = [x["step"] for x in recs if "loss" in x]
    assert steps == [1, 2, 3]
    assert all(math.isfinite(x["loss"]) and x["loss"] > 0 for x in recs if "loss" in x)
    val = [x for x in recs if x.get("event") == "val"]
    assert len(val) == 1 and 0.0 <= val[0]["miou@1"] <= 1.0
    assert recs[-1]["event"] == "stop" and recs[-1]["step"] == 3
    state = torch.load(out / "state.pt")
    assert state["step"] == 3 and state["minutes"] > 0
    assert (out / "model.pth").exists()

    # resume with another click radius: continues at step 4, runs to --steps
    r = run_train(["--data", str(data), "--out", str(out), "--resume", "--click-radius", "3",
                   "--steps", "6", "--val-every", "100", *TINY], ROOT)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in open(out / "log.jsonl")]
    starts = [x for x in recs if x.get("event") == "start"]
    assert len(starts) == 2 and starts[1]["step"] == 3 and starts[1]["click_radius"] == 3
    assert [x["step"] for x in recs if "loss" in x] == [1, 2, 3, 4, 5, 6]
    assert recs[-1] == {"event": "done", "step": 6}
    assert torch.load(out / "state.pt")["step"] == 6

    r = run_train(["--out", str(out), "--export"], ROOT)
    assert r.returncode == 0 and "step 6" in r.stdout, r.stderr
    ckpt = torch.load(out / "model.pth")
    assert ckpt["meta"]["train_steps"] == 6
    r = subprocess.run([sys.executable, "-m", "converter", str(out / "model.pth"), "-o",
                        str(tmp_path / "m"), "--name", "t"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m" / "t.encoder.ifg").exists() and (tmp_path / "m" / "t.decoder.ifg").exists()


def test_train_time_budget_stops_and_decays(tmp_path):
    data = synthetic_dataset(tmp_path / "data")
    out = tmp_path / "run"
    # a budget of a few seconds: the run ends by itself long before --steps
    r = run_train(["--data", str(data), "--out", str(out), "--steps", "100000",
                   "--time-budget", "0.02", "--val-every", "100000", *TINY], ROOT)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in open(out / "log.jsonl")]
    assert recs[-1]["event"] == "done" and recs[-1]["step"] < 100000
    logged = [x for x in recs if "lr" in x]
    assert logged
    for prev, cur in zip(logged, logged[1:]):     # lr is set before a step, minutes after
        assert 0.0 <= cur["lr"] <= 4e-4 * max(0.0, 1 - prev["minutes"] / 0.02) + 1e-12


def test_train_rejects_a_missing_state(tmp_path):
    r = run_train(["--out", str(tmp_path / "none"), "--resume"], ROOT)
    assert r.returncode == 2 and "no " in r.stderr
