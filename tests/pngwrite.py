"""A PNG writer for the tests, written from the PNG specification: palette
images at every bit depth with every row filter and Adam7 interlacing, and
plain 8-bit gray and RGB images. Independent of the readers it tests (ours
in examples/common/mask.c, stb_image)."""

import struct
import zlib

import numpy as np

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(cur, prev, ft):
    out = bytearray([ft])
    for i, x in enumerate(cur):
        a = cur[i - 1] if i else 0
        b = prev[i]
        c = prev[i - 1] if i else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
        out.append((x - pred) & 255)
    return bytes(out)


def pack_row(values, depth):
    if depth == 8:
        return bytes(int(v) for v in values)
    out, acc, nbits = bytearray(), 0, 0
    for v in values:
        acc = acc << depth | int(v)
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


def palette_png(idx, palette, depth=8, interlace=False, filters=(0, 1, 2, 3, 4)):
    """A colour-type-3 PNG of the index array idx (h, w); rows cycle through `filters`."""
    h, w = idx.shape
    raw, k = bytearray(), 0
    for (x0, y0, dx, dy) in (ADAM7 if interlace else [(0, 0, 1, 1)]):
        sub = idx[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        prev = bytes(len(pack_row(sub[0], depth)))
        for row in sub:
            cur = pack_row(row, depth)
            raw += filter_row(cur, prev, filters[k % len(filters)])
            k += 1
            prev = cur
    ihdr = struct.pack(">IIBBBBB", w, h, depth, 3, 0, 0, 1 if interlace else 0)
    plte = b"".join(bytes(c) for c in palette)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"PLTE", plte) +
            chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))


def gray_png(values):
    h, w = values.shape
    raw = b"".join(b"\0" + bytes(r) for r in values.astype(np.uint8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def rgb_png(px):
    h, w, _ = px.shape
    raw = b"".join(b"\0" + r.astype(np.uint8).tobytes() for r in px)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
