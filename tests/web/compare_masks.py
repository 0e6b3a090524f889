"""compare_masks.py A B [--max-frac F] -- the fraction of pixels where two
masks differ (object = nonzero), failing (status 1) above F (default 0.001,
0.1%). Each mask is a PNG (tests/pngread.py: the CLI's) or a binary PGM (P5,
8-bit: node-segment's, the page's export); they must have the same size.
Prints the counts, so that a test log shows how close they were."""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from pngread import read_png  # noqa: E402  (tests/ on the path first)


def read_pgm(path):
    """(width, height, bytes) of a binary 8-bit PGM."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 2
    if data[:2] != b"P5":
        raise ValueError(f"{path}: not a binary PGM (P5)")
    while len(fields) < 3:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(int(data[start:pos]))
    w, h, maxval = fields
    if maxval > 255:
        raise ValueError(f"{path}: 16-bit PGM")
    body = data[pos + 1:pos + 1 + w * h]
    if len(body) != w * h:
        raise ValueError(f"{path}: truncated ({len(body)} of {w * h} pixels)")
    return w, h, body


def read_mask(path):
    """(width, height, list of 0/1) of a PNG or PGM mask."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"P5":
        w, h, body = read_pgm(path)
        return w, h, [1 if v else 0 for v in body]
    a = read_png(path)
    if a.ndim != 2:
        a = a[..., 0]
    h, w = a.shape
    return w, h, [1 if v else 0 for v in a.reshape(-1).tolist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--max-frac", type=float, default=0.001)
    args = ap.parse_args()
    wa, ha, ma = read_mask(args.a)
    wb, hb, mb = read_mask(args.b)
    if (wa, ha) != (wb, hb):
        print(f"compare_masks: {args.a} is {wa}x{ha}, {args.b} is {wb}x{hb}")
        return 1
    diff = sum(x != y for x, y in zip(ma, mb))
    n = wa * ha
    fa, fb = sum(ma), sum(mb)
    ok = diff <= args.max_frac * n and fa > 0
    print(f"compare_masks: {os.path.basename(args.a)} vs {os.path.basename(args.b)}: {wa}x{ha}, "
          f"object {fa} / {fb} px, {diff} differ ({100.0 * diff / n:.4f}%, limit "
          f"{100.0 * args.max_frac:.2f}%){'' if fa else ': the first mask is empty'}"
          f" -> {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
