"""Replay an `interformer eval` report in PyTorch: does the C runtime agree?

    /usr/bin/python3 -m torchref.replay REPORT.json CHECKPOINT.pth [--limit N]

For each instance of the report (written by `interformer eval -o`), the same
clicks are fed to the PyTorch model built from the checkpoint the graphs
were converted from, and the IoU after every click is compared with the
one the C runtime recorded. Prints the largest IoU difference and the
number of (instance, click) pairs that differ by more than --tol; exit 1
when any does. With f16 graphs expect small differences at a few pixels.
"""

import argparse
import json
import sys

import numpy as np
import torch
from PIL import Image

from . import clicks as C
from .model import InterFormer


def load_mask(path):
    """(object bool, ignore bool) with the eval tool's rules (0/255 + 128 band, or 0/1/255)."""
    m = np.asarray(Image.open(path).convert("L"))
    values = set(np.unique(m).tolist())
    if values <= {0, 1, 255} and 1 in values:
        return m == 1, m == 255
    return m > 128, m == 128


def masked_iou(pred, obj, ignore):
    keep = ~ignore
    p, g = pred & keep, obj & keep
    union = np.count_nonzero(p | g)
    return np.count_nonzero(p & g) / union if union else 1.0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m torchref.replay",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("report")
    ap.add_argument("checkpoint")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-3)
    args = ap.parse_args(argv)
    report = json.load(open(args.report))
    model = InterFormer.from_checkpoint(args.checkpoint).eval()
    rows = report["per_instance"][:args.limit or None]
    worst, bad, n = 0.0, 0, 0
    for row in rows:
        rgb = np.asarray(Image.open(row["image"]).convert("RGB"))
        obj, ignore = load_mask(row["mask"])
        h, w = obj.shape
        img = model.preprocess(rgb)
        clicks = [(c["y"], c["x"], c["positive"]) for c in row["clicks"]]
        gt = np.zeros(img.shape[-2:], np.uint8)
        gt[:h, :w] = obj
        with torch.no_grad():
            steps = C.interact(model, img, gt, num_clicks=len(clicks), clicks=clicks)
        ious = [masked_iou(s["pred"][:h, :w] == 1, obj, ignore) for s in steps]
        diff = np.abs(np.array(ious) - np.array(row["iou"][:len(ious)]))
        worst = max(worst, float(diff.max(initial=0)))
        bad += int((diff > args.tol).sum())
        n += len(diff)
        print(f"{row['name']}: {len(clicks)} clicks, max |IoU diff| {diff.max(initial=0):.2e}")
    print(f"{len(rows)} instances, {n} clicks: max |IoU diff| {worst:.2e}, "
          f"{bad} above {args.tol}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
