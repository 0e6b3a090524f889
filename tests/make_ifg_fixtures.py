#!/usr/bin/python3
"""Regenerate the IFG reader fixtures in tests/ifg_fixtures/.

    /usr/bin/python3 tests/make_ifg_fixtures.py

Writes two small, valid graph files with converter/ifg.py (the reference
writer), so the C tests (tests/test_ifg_reader.c) run without Python:

  small.ifg    decoder-like, f16 flag set: CONV2D with bias and ACT, CROP with
               the optional I32 roi, ADAPTIVE_MAX_POOL with POOL_LIMIT,
               CONCAT_TOKENS, LINEAR with and without (absent) bias,
               REF_EMBED on U8 labels, ATTENTION, LAYER_NORM; F16 and F32
               weights; INT, FLOAT and STRING (UTF-8) metadata; an unused
               all-zero CONST ("spare").
  all_ops.ifg  encoder-like, f32 only: the remaining ops (CONV_TRANSPOSE2D,
               GROUP_NORM, ACTIVATION, ADD, CONCAT_CHANNELS, RESIZE_BILINEAR,
               ADAPTIVE_AVG_POOL, IM2COL, TOKENS_FROM_GRID, VIT_ATTENTION,
               TOKENS_TO_GRID, PASTE, grouped CONV2D), two outputs.

Constant values follow simple formulas that test_ifg_reader.c recomputes
(all exactly representable in f16/f32); keep the two in step. The files are
deterministic: running this script again gives identical bytes.
"""

import importlib.util
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "ifg_fixtures")

# Load converter/ifg.py by path: the converter package may import heavier
# modules (torch) that this script does not need.
_spec = importlib.util.spec_from_file_location("ifg", os.path.join(ROOT, "converter", "ifg.py"))
ifg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ifg)



def small():
    g = ifg.Graph(ifg.KIND_DECODER)
    g.meta_str("model.family", "interformer")
    g.meta_str("model.name", "tiny_fixture")
    g.meta_float("preprocess.mean", [123.675, 116.28, 103.53])
    g.meta_int("features.strides", [4, 8, 16, 32])
    g.meta_int("test.a", [-7, 1 << 40])
    g.meta_str("test.b", "h\u00e9llo \u2713")  # same key length as test.a

    feat = g.input("feat", [ifg.H(4), ifg.W(4), ifg.C(4)])
    labels = g.input("labels", [ifg.H(), ifg.W()], ifg.DT_U8, ifg.IN_PER_CLICK)
    roi = g.input("roi", [ifg.C(4)], ifg.DT_I32, ifg.IN_PER_CLICK | ifg.IN_OPTIONAL)

    i = np.arange(4 * 3 * 3 * 4)
    conv_w = g.const("conv.w", (((i % 11) - 5) * 0.25).reshape(4, 3, 3, 4), ifg.DT_F16)
    conv_b = g.const("conv.b", [0.5, -0.5, 1.0, -1.0])
    i = np.arange(8 * 4)
    kv_w = g.const("kv.w", (((i % 7) - 3) * 0.125).reshape(8, 4))
    i = np.arange(5 * 4)
    emb = g.const("emb", (i * 0.0625 - 0.5).reshape(5, 4), ifg.DT_F16)
    ln_w = g.const("ln.w", [1.0, 2.0, 3.0, 4.0])
    ln_b = g.const("ln.b", [-0.25, 0.0, 0.25, 0.5])
    i = np.arange(4 * 4)
    lin_w = g.const("lin.w", ((((i * 3) % 5) - 2) * 0.5).reshape(4, 4), ifg.DT_F16)
    lin_b = g.const("lin.b", [0.25, 0.5, 0.75, 1.0])
    g.const("spare", np.zeros(4))

    c0 = g.node("dec.conv", "CONV2D", [feat, conv_w, conv_b], "c0", 3,
                {"KERNEL": [3, 3], "STRIDE": [1, 1], "PAD": [1, 1, 1, 1], "GROUPS": 1, "ACT": ifg.ACT_RELU},
                out_dims=[ifg.H(4), ifg.W(4), ifg.C(4)])
    c1 = g.node("dec.crop", "CROP", [c0, roi], "c1", 3, {"STRIDE": 4})
    p = g.node("dec.pool", "ADAPTIVE_MAX_POOL", [c1], "p", 3, {"POOL_LIMIT": [7.0, 7.0]})
    ptok = g.node("dec.tok", "CONCAT_TOKENS", [p, c1], "ptok", 2, out_dims=[ifg.ANY, ifg.C(4)])
    kv = g.node("dec.kv", "LINEAR", [ptok, kv_w, None], "kv", 2, out_dims=[ifg.ANY, ifg.C(8)])
    e = g.node("dec.ref", "REF_EMBED", [labels, emb, c1], "e", 3)
    a = g.node("dec.attn", "ATTENTION", [e, kv], "a", 3, {"HEADS": 2, "SCALE": 0.5})
    n = g.node("dec.ln", "LAYER_NORM", [a, ln_w, ln_b], "n", 3, {"EPS": 1e-6})
    out = g.node("dec.head", "LINEAR", [n, lin_w, lin_b], "logits", 3, {"ACT": ifg.ACT_GELU},
                 out_dims=[ifg.ANY, ifg.ANY, ifg.C(4)])
    g.output(out)
    return g


def all_ops():
    g = ifg.Graph(ifg.KIND_ENCODER)
    g.meta_str("model.family", "interformer")
    image = g.input("image", [ifg.H(), ifg.W(), ifg.C(3)])

    ct_w = g.const("ct.w", (np.arange(2 * 2 * 4 * 3) * 0.5 - 6).reshape(2, 2, 4, 3))
    ct_b = g.const("ct.b", [1.0, 2.0, 3.0, 4.0])
    gn_w = g.const("gn.w", [1.0, 1.0, 1.0, 1.0])
    gn_b = g.const("gn.b", [0.0, 0.5, 0.0, 0.5])
    proj_w = g.const("proj.w", (np.arange(6 * 32) % 9 - 4).reshape(6, 32) * 0.125)
    cls = g.const("cls", np.arange(6).reshape(1, 6) * 0.5)
    pos = g.const("pos", np.arange(5 * 6).reshape(5, 6) * 0.25)
    qkv_w = g.const("qkv.w", (np.arange(18 * 6) % 5 - 2).reshape(18, 6) * 0.5)
    qkv_b = g.const("qkv.b", np.arange(18) * 0.125)
    table = g.const("vit.table", np.arange(12 * 2).reshape(12, 2) * 0.0625)  # (2*2-1)^2 + 3 rows
    conv_w = g.const("conv.w", (np.arange(6 * 3) - 9).reshape(6, 1, 1, 3) * 0.25)

    u = g.node("enc.up", "CONV_TRANSPOSE2D", [image, ct_w, ct_b], "u", 3,
               {"KERNEL": [2, 2], "STRIDE": [2, 2]}, out_dims=[ifg.H(mul=2), ifg.W(mul=2), ifg.C(4)])
    gn = g.node("enc.gn", "GROUP_NORM", [u, gn_w, gn_b], "g", 3,
                {"GROUPS": 2, "EPS": 1e-5, "ACT": ifg.ACT_HARDSWISH})
    ga = g.node("enc.act", "ACTIVATION", [gn], "ga", 3, {"ACT": ifg.ACT_GELU})
    s = g.node("enc.add", "ADD", [gn, ga], "s", 3)
    cc = g.node("enc.cat", "CONCAT_CHANNELS", [s, u], "cc", 3)
    r = g.node("enc.resize", "RESIZE_BILINEAR", [cc, image], "r", 3,
               out_dims=[ifg.H(), ifg.W(), ifg.C(8)])
    ap = g.node("enc.aap", "ADAPTIVE_AVG_POOL", [r], "ap", 3, {"OUT_SIZE": [2, 2]},
                out_dims=[ifg.C(2), ifg.C(2), ifg.C(8)])
    ic = g.node("enc.im2col", "IM2COL", [r], "ic", 3,
                {"KERNEL": [2, 2], "STRIDE": [2, 2], "PAD": [0, 0, 0, 0]},
                out_dims=[ifg.H(2), ifg.W(2), ifg.C(32)])
    mp = g.node("enc.amp", "ADAPTIVE_MAX_POOL", [ic], "mp", 3, {"OUT_SIZE": [2, 2]})
    pj = g.node("enc.proj", "LINEAR", [mp, proj_w], "pj", 3)
    tk = g.node("enc.tokens", "TOKENS_FROM_GRID", [pj, cls, pos], "tk", 2, {"WINDOW": [2, 2]})
    qkv = g.node("enc.qkv", "LINEAR", [tk, qkv_w, qkv_b], "qkv", 2)
    va = g.node("enc.vit", "VIT_ATTENTION", [qkv, table, pj], "va", 2,
                {"HEADS": 2, "SCALE": 0.5, "WINDOW": [2, 2]})
    grid = g.node("enc.grid", "TOKENS_TO_GRID", [va, pj], "grid", 3)
    cr = g.node("enc.crop", "CROP", [grid], "cr", 3, {"STRIDE": 1})
    pa = g.node("enc.paste", "PASTE", [grid, cr], "pa", 3, {"STRIDE": 1})
    out = g.node("enc.conv", "CONV2D", [pa, conv_w], "out", 3,
                 {"KERNEL": [1, 1], "STRIDE": [1, 1], "PAD": [0, 0, 0, 0], "GROUPS": 2})
    g.output(out)
    g.output(ap)
    return g


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, build in (("small.ifg", small), ("all_ops.ifg", all_ops)):
        data = build().to_bytes()
        path = os.path.join(OUT, name)
        ifg.write_atomic(path, data)
        print(f"{path}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
