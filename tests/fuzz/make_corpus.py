"""Regenerates the fuzz seed corpora in tests/fuzz/corpus/ (`make fuzz-corpus`).

Small valid files and a few near-valid ones per harness: the graph fixtures,
a minimal encoder and zoom-in decoder with the API's interface and metadata,
feature files of a tiny image encoded by the CLI with the tiny test model
(f32 and f16), annotation files of that image, .npy files of every dtype the reader takes, images in the
formats stb_image reads, palette PNG masks. Nothing from ../shared/data.
The session harness's seeds are byte programs written by hand (kept as
they are), and so are the inputs fuzzing found problems with
(regress-*, left alone here). Usage: python3 tests/fuzz/make_corpus.py BUILD_DIR
"""
import importlib.util
import io
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def refix_crc(b):
    """Size at 16 and CRC-32 of [16, end) at 12, as both formats have them."""
    b = bytearray(b)
    b[16:24] = struct.pack("<Q", len(b))
    b[12:16] = struct.pack("<I", zlib.crc32(bytes(b[16:])) & 0xFFFFFFFF)
    return bytes(b)


def ifg_writer():
    """converter/ifg.py, the reference writer, loaded by path (the converter
    package imports more than this needs)."""
    spec = importlib.util.spec_from_file_location("ifg", os.path.join(ROOT, "converter", "ifg.py"))
    w = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(w)
    return w


def interface_meta(w, g):
    """The metadata the API reads (FORMAT.md), so that mutations of it reach
    if_encode_rgb8 and the session."""
    g.meta_str("model.family", "interformer")
    g.meta_str("model.identity", "f" * 64)
    g.meta_float("preprocess.mean", [123.675, 116.28, 103.53])
    g.meta_float("preprocess.std", [58.395, 57.12, 57.375])
    g.meta_int("preprocess.pad_multiple", 32)
    g.meta_int("features.strides", [4, 8, 16, 32])
    g.meta_int("features.channels", [2, 2, 2, 2])
    g.meta_int("click.radius", 5)
    g.meta_int("zoom.enabled", 1)
    g.meta_float("zoom.expand_ratio", 1.4)
    g.meta_int("zoom.min_size", 32)
    g.meta_int("zoom.start_step", 1)
    g.meta_int("zoom.max_stride", 32)


def mini_encoder(w):
    """The encoder interface in a few hundred bytes: image -> F1..F4 by one
    strided 1x1 convolution each."""
    g = w.Graph(w.KIND_ENCODER)
    interface_meta(w, g)
    image = g.input("image", [w.H(), w.W(), w.C(3)])
    for i, s in enumerate((4, 8, 16, 32)):
        k = g.const(f"f{i + 1}.w", (np.arange(6) - 2.5).reshape(2, 1, 1, 3) * 0.01)
        f = g.node(f"enc.f{i + 1}", "CONV2D", [image, k], f"F{i + 1}", 3,
                   {"KERNEL": [1, 1], "STRIDE": [s, s], "PAD": [0, 0, 0, 0], "GROUPS": 1},
                   out_dims=[w.H(s), w.W(s), w.C(2)])
        g.output(f)
    return g


def mini_decoder(w):
    """The zoom-in decoder interface: F1..F4, ref_label, the optional roi;
    every level and the label reach the logits, the ROI crops and pastes."""
    g = w.Graph(w.KIND_DECODER)
    interface_meta(w, g)
    f = [g.input(f"F{i + 1}", [w.H(s), w.W(s), w.C(2)]) for i, s in enumerate((4, 8, 16, 32))]
    label = g.input("ref_label", [w.H(), w.W()], w.DT_U8, w.IN_PER_CLICK)
    roi = g.input("roi", [w.C(4)], w.DT_I32, w.IN_PER_CLICK | w.IN_OPTIONAL)
    table = g.const("ref.table", np.array([[-2, 1], [-1, 0.5], [0, 0], [1, -0.5], [2, -1]]))
    x = f[0]
    for i in (1, 2, 3):
        up = g.node(f"dec.up{i}", "RESIZE_BILINEAR", [f[i], f[0]], f"up{i}", 3)
        x = g.node(f"dec.add{i}", "ADD", [x, up], f"sum{i}", 3)
    e = g.node("dec.ref", "REF_EMBED", [label, table, f[0]], "e", 3)
    x = g.node("dec.mix", "ADD", [x, e], "mix", 3)
    c = g.node("dec.crop", "CROP", [x, roi], "crop", 3, {"STRIDE": 4})
    a = g.node("dec.act", "ACTIVATION", [c], "act", 3, {"ACT": w.ACT_GELU})
    p = g.node("dec.paste", "PASTE", [x, a, roi], "paste", 3, {"STRIDE": 4})
    g.output(g.node("dec.logits", "RESIZE_BILINEAR", [p, label], "logits", 3,
                    out_dims=[w.H(), w.W(), w.C(2)]))
    return g


def small_logits_decoder(w):
    """A decoder whose 'logits' is the stride-32 grid, not the image's."""
    g = w.Graph(w.KIND_DECODER)
    interface_meta(w, g)
    f = [g.input(f"F{i + 1}", [w.H(s), w.W(s), w.C(2)]) for i, s in enumerate((4, 8, 16, 32))]
    label = g.input("ref_label", [w.H(), w.W()], w.DT_U8, w.IN_PER_CLICK)
    e = g.node("dec.ref", "REF_EMBED", [label, g.const("ref.table", np.ones((5, 2))), f[3]], "e", 3)
    g.output(g.node("dec.add", "ADD", [f[3], e], "logits", 3))
    return g


def ifg():
    for name in ("small.ifg", "all_ops.ifg"):
        with open(os.path.join(ROOT, "tests", "ifg_fixtures", name), "rb") as f:
            data = f.read()
        put("ifg", name, data)
    # Near-valid: cut short, and a count raised with the CRC made right.
    put("ifg", "small_truncated.ifg", data[: len(data) // 2])
    b = bytearray(data)
    b[40:44] = struct.pack("<I", struct.unpack("<I", b[40:44])[0] + 1)  # n_nodes
    put("ifg", "all_ops_nodes_plus_one.ifg", refix_crc(b))
    w = ifg_writer()
    put("ifg", "mini_encoder.ifg", mini_encoder(w).to_bytes())
    put("ifg", "mini_decoder_zoom.ifg", mini_decoder(w).to_bytes())
    # Metadata and outputs the session used to trust (UB or a heap overflow
    # each, before the fixes).
    for name, key, value in (("radius_max", "click.radius", 2**31 - 1),
                             ("radius_min", "click.radius", -2**31),
                             ("zoom_stride_max", "zoom.max_stride", 2**31 - 1)):
        g = mini_decoder(w)
        g.meta_int(key, value)
        put("ifg", f"decoder_{name}.ifg", g.to_bytes())
    g = mini_decoder(w)
    g.meta_float("zoom.expand_ratio", float("nan"))
    put("ifg", "decoder_zoom_ratio_nan.ifg", g.to_bytes())
    put("ifg", "decoder_logits_small.ifg", small_logits_decoder(w).to_bytes())
    # An unused input whose declared dimensions multiply past int64_t: the
    # planner overflowed on it before the input size checks.
    big = 2**31 - 1
    g = w.Graph(w.KIND_ENCODER)
    x = g.input("image", [w.H(), w.W(), w.C(3)])
    g.input("unused", [w.H(1, big), w.W(1, big), w.C(big), w.C(big)])
    g.output(g.node("act", "ACTIVATION", [x], "y", 3, {"ACT": [1]}))
    put("ifg", "input_dims_overflow.ifg", g.to_bytes())


def tiny_image():
    """A 40x28 RGB image: a disk on a gradient."""
    y, x = np.mgrid[0:28, 0:40]
    img = np.stack([x * 6, y * 9, np.full_like(x, 90)], -1).astype(np.uint8)
    img[(x - 18) ** 2 + (y - 13) ** 2 < 81] = (230, 120, 20)
    return img


def iff(build):
    cli = os.path.join(ROOT, build, "interformer")
    model = os.path.join(ROOT, "build", "models", "tiny_vit")
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "tiny.png")
        Image.fromarray(tiny_image()).save(png)
        for dtype, flag in (("f32", []), ("f16", ["--f16"])):
            out = os.path.join(tmp, f"tiny_{dtype}.iff")
            subprocess.run([cli, "encode", png, "-o", out, "--model", model] + flag, check=True)
            with open(out, "rb") as f:
                data = f.read()
            put("iff", f"tiny_40x28_{dtype}.iff", data)
    b = bytearray(data)  # f16: image_w 41 with the CRC made right, level sizes unchanged
    b[36:40] = struct.pack("<I", 41)
    put("iff", "tiny_f16_bad_width.iff", refix_crc(b))
    put("iff", "tiny_f16_truncated.iff", data[: len(data) - 100])


def ifa_file(identity, objects, exclusive=True, last_id=None, w=40, h=28):
    """An annotation file (format/ANNOTATION.md) of the 40x28 tiny image:
    objects are (id, finished, [(x, y, positive)], runs or None)."""
    recs = b""
    for oid, finished, clicks, runs in objects:
        runs = runs or []
        recs += struct.pack("<4I", oid, (1 if finished else 0) | (2 if runs else 0), len(clicks),
                            len(runs))
        recs += b"".join(struct.pack("<iiI", x, y, 1 if p else 0) for x, y, p in clicks)
        recs += b"".join(struct.pack("<I", r) for r in runs)
    if last_id is None:
        last_id = max((o[0] for o in objects), default=0)
    head = (b"IFANNOT\0" + struct.pack("<IIQII", 1, 0, 0, w, h) + identity.ljust(72, b"\0") +
            struct.pack("<4I", 1 if exclusive else 0, last_id, len(objects), 0))
    return refix_crc(head + recs)


def ifa():
    with open(os.path.join(CORPUS, "iff", "tiny_40x28_f32.iff"), "rb") as f:
        identity = f.read()[64:136].rstrip(b"\0")  # the tiny test model's (FEATURES.md)
    m = np.zeros((28, 40), np.uint8)
    m[10:18, 10:18] = 1
    flat = m.ravel()
    edges = np.flatnonzero(np.diff(flat)) + 1  # row-major runs from background
    square = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    assert sum(square) == 40 * 28 and flat[0] == 0
    put("ifa", "empty.ifa", ifa_file(identity, []))
    put("ifa", "two_objects.ifa", ifa_file(identity, [
        (1, True, [(18, 13, True), (30, 5, False)], None),
        (3, False, [(12, 12, True)], square)], last_id=3))
    put("ifa", "not_exclusive.ifa", ifa_file(identity, [
        (1, True, [(18, 13, True)], None), (2, False, [(18, 13, True)], None)], exclusive=False))
    put("ifa", "too_many_clicks.ifa", ifa_file(identity, [
        (1, False, [(k, k, k % 2 == 0) for k in range(9)], None)]))
    put("ifa", "other_size.ifa", ifa_file(identity, [(1, False, [(1, 1, True)], None)], w=28, h=40))
    put("ifa", "truncated.ifa", ifa_file(identity, [(1, False, [(18, 13, True)], None)])[:-5])


def npy():
    def save(name, arr, version=None):
        f = io.BytesIO()
        if version:
            np.lib.format.write_array(f, arr, version=version)
        else:
            np.save(f, arr)
        put("npy", name, f.getvalue())

    save("f32_2x3.npy", np.arange(6, dtype="<f4").reshape(2, 3))
    save("u8_4x5.npy", np.arange(20, dtype=np.uint8).reshape(4, 5))
    save("i32_vec.npy", np.array([1, -2, 3], dtype="<i4"))
    save("i64_3d.npy", np.arange(8, dtype="<i8").reshape(2, 2, 2))
    save("f32_scalar.npy", np.array(1.5, dtype="<f4"))
    save("f32_empty.npy", np.zeros((0, 4), dtype="<f4"))
    save("f32_v2.npy", np.ones((2, 2), dtype="<f4"), version=(2, 0))
    save("f32_fortran.npy", np.asfortranarray(np.ones((2, 3), dtype="<f4")))  # refused
    save("f64_refused.npy", np.ones(3))  # refused: dtype
    # The shape that overflowed the old reader's element count.
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"
    hdr += b" " * (-(10 + len(hdr) + 1) % 64) + b"\n"
    put("npy", "lying_shape.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + b"\0" * 16)


def images():
    img = tiny_image()[:16, :20]
    pil = Image.fromarray(img)

    def save(name, im, fmt, **kw):
        f = io.BytesIO()
        im.save(f, fmt, **kw)
        put("image", name, f.getvalue())

    save("rgb.png", pil, "PNG")
    save("gray.png", pil.convert("L"), "PNG")
    save("rgba.png", pil.convert("RGBA"), "PNG")
    save("palette.png", pil.convert("P", palette=Image.ADAPTIVE, colors=8), "PNG")
    save("gray16.png", Image.fromarray((img[..., 0].astype(np.uint16) * 257)), "PNG")
    save("baseline.jpg", pil, "JPEG", quality=80)
    save("progressive.jpg", pil, "JPEG", quality=80, progressive=True)
    save("gray.jpg", pil.convert("L"), "JPEG", quality=80)
    save("rgb.bmp", pil, "BMP")
    save("palette.bmp", pil.convert("P", palette=Image.ADAPTIVE, colors=16), "BMP")
    save("rgb.tga", pil, "TGA")
    save("rgb.gif", pil.convert("P", palette=Image.ADAPTIVE, colors=16), "GIF")
    save("rgb.ppm", pil, "PPM")
    save("gray.pgm", pil.convert("L"), "PPM")
    save("not_stb.tif", pil, "TIFF")  # not a format stb_image reads


def masks():
    """Palette PNGs as DAVIS / PASCAL VOC ship them, a gray 0/1/255 map and
    a colour one."""
    lab = np.zeros((12, 16), np.uint8)
    lab[2:9, 3:10] = 1
    lab[5:11, 9:15] = 2
    lab[0, :] = 255
    voc = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (3 * 252) + [224, 224, 192]

    def save(name, im, **kw):
        f = io.BytesIO()
        im.save(f, "PNG", **kw)
        put("mask", name, f.getvalue())

    p = Image.fromarray(lab, "P")
    p.putpalette(voc)
    save("voc_palette.png", p)
    g = Image.fromarray(lab.copy(), "P")  # gray palette: index i is (i, i, i)
    g.putpalette([v for i in range(256) for v in (i, i, i)])
    save("gray_palette.png", g)
    q = Image.fromarray(np.minimum(lab, 3), "P")  # a 2-bit palette image
    q.putpalette([0, 0, 0, 255, 255, 255, 128, 128, 128, 10, 200, 30])
    save("palette_2bit.png", q, bits=2)
    save("gray_labels.png", Image.fromarray(lab, "L"))
    save("gray_binary.png", Image.fromarray(np.where(lab == 1, 255, 0).astype(np.uint8), "L"))
    rgb = np.zeros((12, 16, 3), np.uint8)
    rgb[lab == 1] = (128, 0, 0)
    rgb[lab == 255] = (224, 224, 192)
    save("colour.png", Image.fromarray(rgb, "RGB"))


def coco():
    """fuzz_coco: width, height and tolerance bytes, then a COCO RLE string
    (also read as a mask's pixels, bit 0 of each byte)."""
    checker = bytes((i + i // 5) & 1 for i in range(25))
    ring = bytes(int(not (1 <= i % 6 <= 4 and 1 <= i // 6 <= 4)) for i in range(36))
    for name, data in {
        "full_2x2": b"\x01\x01\x00" + b"04",
        "one_pixel_3x3": b"\x02\x02\x10" + b"414",
        "deltas_4x5": b"\x03\x04\x08" + b"529O0",
        "checker_5x5": b"\x04\x04\x00" + checker,
        "ring_6x6": b"\x05\x05\x18" + ring,
        "big_count_truncated": b"\x07\x07\x00" + b"0oooooo",
        "bad_char": b"\x02\x02\x00" + b"0p",
    }.items():
        put("coco", name, data)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    ifg()
    iff(build)
    ifa()
    npy()
    images()
    masks()
    coco()


if __name__ == "__main__":
    main()
