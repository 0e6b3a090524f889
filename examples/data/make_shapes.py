#!/usr/bin/env python3
"""Writes examples/data/shapes.png: the CLI's bundled example image.

A synthetic 320 x 240 RGB picture (no dataset image, no third-party code):
three flat-coloured objects with anti-aliased edges and soft shadows on a
woven, textured background.

    object      colour      where (pixels: x = column, y = row)
    disk        orange      centre (100, 120), radius 62
    square      blue        x 190..280, y 34..124, rounded corners
    triangle    green       corners (196, 214), (300, 214), (248, 142)

Good clicks: --click 100,120,+ (in the disk) --click 235,79,- (the square).

Standard library only (zlib, struct), deterministic: the same pixels on
every run.

    /usr/bin/python3 examples/data/make_shapes.py [OUT.png]
"""

import math
import os
import struct
import sys
import zlib

W, H = 320, 240
SS = 4  # supersampling per axis for the anti-aliased edges


def disk(cx, cy, r):
    return lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def rounded_rect(x0, y0, x1, y1, r):
    def inside(x, y):
        qx = max(x0 + r - x, 0.0, x - (x1 - r))
        qy = max(y0 + r - y, 0.0, y - (y1 - r))
        return x0 <= x <= x1 and y0 <= y <= y1 and qx * qx + qy * qy <= r * r
    return inside


def triangle(a, b, c):
    def side(p, q, x, y):
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    def inside(x, y):
        s = (side(a, b, x, y), side(b, c, x, y), side(c, a, x, y))
        return all(v >= 0 for v in s) or all(v <= 0 for v in s)
    return inside


# Back to front: (shape, colour).
SHAPES = [
    (rounded_rect(190, 34, 280, 124, 12), (52, 96, 200)),
    (triangle((196, 214), (300, 214), (248, 142)), (60, 170, 80)),
    (disk(100, 120, 62), (236, 128, 36)),
]
SHADOW = (5, 6)  # offset of the shadows (x, y)


def coverage(inside, px, py, dx=0, dy=0):
    """Fraction of pixel (px, py) covered by the shape, moved by (dx, dy)."""
    n = 0
    for sy in range(SS):
        for sx in range(SS):
            if inside(px + (sx + 0.5) / SS - dx, py + (sy + 0.5) / SS - dy):
                n += 1
    return n / (SS * SS)


def background(x, y):
    """A woven texture: two crossing sine threads over a slow gradient."""
    weave = math.sin(x * 0.55) * math.sin(y * 0.55)
    thread = 0.5 + 0.5 * math.sin((x + y) * 0.21) * math.cos((x - y) * 0.13)
    base = 150 + 40 * (y / H) - 20 * (x / W)
    v = base + 14 * weave + 18 * thread
    return (v * 0.93, v * 0.88, v * 0.76)


def render():
    rows = []
    # Bounding boxes keep the supersampling to the shapes' neighbourhood.
    boxes = [(34, 54, 172, 192), (180, 24, 296, 140), (186, 132, 312, 224)]
    for y in range(H):
        row = bytearray()
        for x in range(W):
            r, g, b = background(x, y)
            near = any(bx0 <= x <= bx1 and by0 <= y <= by1 for bx0, by0, bx1, by1 in boxes)
            if near:
                shade = 1.0
                for inside, _ in SHAPES:
                    shade -= 0.35 * coverage(inside, x, y, *SHADOW)
                shade = max(shade, 0.45)
                r, g, b = r * shade, g * shade, b * shade
                for inside, (cr, cg, cb) in SHAPES:
                    a = coverage(inside, x, y)
                    if a:
                        # A little shading inside the objects too (lit from the top left).
                        lit = 1.08 - 0.16 * ((x + y) / (W + H))
                        r = r * (1 - a) + min(cr * lit, 255) * a
                        g = g * (1 - a) + min(cg * lit, 255) * a
                        b = b * (1 - a) + min(cb * lit, 255) * a
            row += bytes(max(0, min(255, int(v + 0.5))) for v in (r, g, b))
        rows.append(bytes(row))
    return rows


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def png(rows, w, h):
    """An 8-bit RGB PNG, Paeth-filtered rows."""
    raw = bytearray()
    prev = bytes(w * 3)
    for row in rows:
        raw.append(4)
        for i, v in enumerate(row):
            a = row[i - 3] if i >= 3 else 0
            c = prev[i - 3] if i >= 3 else 0
            raw.append((v - paeth(a, prev[i], c)) & 0xFF)
        prev = row

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "shapes.png")
    data = png(render(), W, H)
    with open(out, "wb") as f:
        f.write(data)
    print(f"{out}: {W}x{H}, {len(data)} bytes")


if __name__ == "__main__":
    main()
