"""The encoder graph: MAEWithSimpleFPN, image -> F1..F4.

Mirrors interformer/backbones/mae.py (MAEWithSimpleFPN, FlexSizeMAEAttention,
SimpleFPN) in eval mode:

  patch_embed conv 16x16/16 -> tokens (cls + grid, + position embedding,
  resized by nearest when the grid is not the native img_size/16 grid)
  -> L x [x += gamma_1 * attn(ln1(x)); x += gamma_2 * ffn(ln2(x))]
  -> grid -> SimpleFPN branches with rescales 4, 2, 1, 0.5.

The LayerScale gammas are folded into attn.proj and ffn.layers.1, GELU is
fused into the preceding LINEAR / GROUP_NORM. The relative position index is
not stored: VIT_ATTENTION recomputes it (we check the checkpoint's copy).
"""

import numpy as np

from .. import ifg
from ..ifg import ACT_GELU, C, H, W
from .params import (conv_ohwi, conv_transpose_layout, fold_layer_scale,
                     relative_position_index)


def _check_position_index(P, key, window):
    got = P.raw(key)
    want = relative_position_index(*window)
    if not np.array_equal(np.asarray(got, np.int64), want):
        bad = np.argwhere(np.asarray(got, np.int64) != want)[0]
        P.fail(key, f"differs from the BEiT relative position index of a {window[0]}x{window[1]} "
                    f"window at {tuple(int(i) for i in bad)}: {int(got[tuple(bad)])} instead "
                    f"of {int(want[tuple(bad)])}")


def _vit_layer(b, P, cfg, i, x, grid):
    bb = cfg.backbone
    p = f"backbone.layers.{i}"
    E, heads = bb.embed_dims, bb.num_heads
    _check_position_index(P, f"{p}.attn.relative_position_index", bb.window)

    t = b.layer_norm(f"{p}.ln1", x, P[f"{p}.ln1.weight"], P[f"{p}.ln1.bias"], bb.ln_eps)
    qkv = b.linear(f"{p}.attn.qkv", t, P[f"{p}.attn.qkv.weight"], P[f"{p}.attn.qkv.bias"])
    table = b.const(f"{p}.attn.relative_position_bias_table",
                    P[f"{p}.attn.relative_position_bias_table"])
    a = b.vit_attention(f"{p}.attn", qkv, table, grid, heads, (E // heads) ** -0.5, bb.window)
    w, bias = fold_layer_scale(P[f"{p}.attn.proj.weight"], P[f"{p}.attn.proj.bias"],
                               P[f"{p}.gamma_1"])
    a = b.linear(f"{p}.attn.proj", a, w, bias)
    x = b.add(f"{p}.residual1", x, a)

    t = b.layer_norm(f"{p}.ln2", x, P[f"{p}.ln2.weight"], P[f"{p}.ln2.bias"], bb.ln_eps)
    f = b.linear(f"{p}.ffn.layers.0.0", t, P[f"{p}.ffn.layers.0.0.weight"],
                 P[f"{p}.ffn.layers.0.0.bias"], act=ACT_GELU)
    w, bias = fold_layer_scale(P[f"{p}.ffn.layers.1.weight"], P[f"{p}.ffn.layers.1.bias"],
                               P[f"{p}.gamma_2"])
    f = b.linear(f"{p}.ffn.layers.1", f, w, bias)
    return b.add(f"{p}.residual2", x, f)


def _gn(b, P, name, x, act=ifg.ACT_NONE, out=None):
    return b.group_norm(name, x, P[f"{name}.weight"], P[f"{name}.bias"], groups=1, eps=1e-5,
                        act=act, out=out)


def _conv1x1(b, P, name, x):
    return b.conv2d(name, x, conv_ohwi(P[f"{name}.weight"]), P[f"{name}.bias"], (1, 1))


def _conv_t(b, P, name, x):
    return b.conv_transpose2d(name, x, conv_transpose_layout(P[f"{name}.weight"]),
                              P[f"{name}.bias"], 2)


def _fpn_branch(b, P, j, k, x, out):
    """One SimpleFPN rescale_ops[j] (module indices as in the official Sequential)."""
    p = f"backbone.fpn.rescale_ops.{j}"
    if k == 4:   # ConvT, GN, GELU, ConvT, GN, Conv1x1, GN, GELU
        y = _gn(b, P, f"{p}.1", _conv_t(b, P, f"{p}.0", x), act=ACT_GELU)
        y = _gn(b, P, f"{p}.4", _conv_t(b, P, f"{p}.3", y))
        return _gn(b, P, f"{p}.6", _conv1x1(b, P, f"{p}.5", y), act=ACT_GELU, out=out)
    if k == 2:   # ConvT, GN, Conv1x1, GN, GELU
        y = _gn(b, P, f"{p}.1", _conv_t(b, P, f"{p}.0", x))
        return _gn(b, P, f"{p}.3", _conv1x1(b, P, f"{p}.2", y), act=ACT_GELU, out=out)
    if k == 1:   # Conv1x1, GN, GELU
        return _gn(b, P, f"{p}.1", _conv1x1(b, P, f"{p}.0", x), act=ACT_GELU, out=out)
    # k == 0.5: Conv 2x2/2, GN, Conv1x1, GN, GELU
    y = b.conv2d(f"{p}.0", x, conv_ohwi(P[f"{p}.0.weight"]), P[f"{p}.0.bias"], (2, 2), (2, 2))
    y = _gn(b, P, f"{p}.1", y)
    return _gn(b, P, f"{p}.3", _conv1x1(b, P, f"{p}.2", y), act=ACT_GELU, out=out)


def build_encoder(cfg, P, b):
    """Append the encoder to GraphBuilder `b` (kind ENCODER)."""
    bb = cfg.backbone
    E, ps = bb.embed_dims, bb.patch_size
    image = b.input("image", [H(), W(), C(3)])
    grid = b.conv2d("backbone.patch_embed.projection", image,
                    conv_ohwi(P["backbone.patch_embed.projection.weight"]),
                    P["backbone.patch_embed.projection.bias"], (ps, ps), (ps, ps))
    x = grid
    if bb.patch_norm:
        x = b.layer_norm("backbone.patch_embed.norm", x, P["backbone.patch_embed.norm.weight"],
                         P["backbone.patch_embed.norm.bias"], bb.ln_eps)
    cls = b.const("backbone.cls_token", P["backbone.cls_token"].reshape(1, E))
    pos = b.const("backbone.pos_embed", P["backbone.pos_embed"].reshape(-1, E))
    x = b.tokens_from_grid("backbone.tokens", x, cls, pos, bb.window)

    maps = {}
    for i in range(bb.num_layers):
        x = _vit_layer(b, P, cfg, i, x, grid)
        if i == bb.num_layers - 1 and bb.final_norm:
            x = b.layer_norm("backbone.ln1", x, P["backbone.ln1.weight"], P["backbone.ln1.bias"],
                             bb.ln_eps)
        if i in bb.out_indices:
            maps[i] = b.tokens_to_grid(f"backbone.layers.{i}.grid", x, grid)

    feats = [maps[bb.out_indices[0]]] * 4 if len(bb.out_indices) == 1 else \
        [maps[i] for i in bb.out_indices]
    for j, k in enumerate(bb.fpn_rescales):
        f = _fpn_branch(b, P, j, k, feats[j], out=f"F{j + 1}")
        b.output(f)
    return b
