"""The decoder graph: IMSA neck + UPerHead, (F1..F4, clicks) -> logits.

Mirrors interformer/necks/imsa.py (IMSA, PoolingBlock, PoolingAttention,
InvertedBottleneck, RefineBlockSequence) and mmseg's UPerHead/PPM in eval
mode, for one image and one click state:

  x = F1 + ref_embed(ref_label)
  level i = 0..3:
      coarse blocks (first one takes keys/values from the raw F_{i+1},
      later ones from x itself) -> out_i
      x = PatchMerging(out_i)            (input of level i+1)
      refine blocks on the ROI window of out_i (only when depths[i] >
      refine_start[i]): CROP -> blocks -> PASTE
      n_i = GroupNorm(out_i)
  UPerHead(n_0..n_3) -> conv_seg -> bilinear resize to the image size.

Everything that depends on the clicks descends from `ref_label`/`roi`
(PER_CLICK inputs); the runtime figures out the split itself.
"""

from .. import ifg
from ..ifg import ACT_HARDSWISH, ACT_NONE, ACT_RELU, C, H, W
from .params import conv_ohwi, fold_batchnorm
from .spec import mlp_hidden


def _gn(b, P, name, x, act=ACT_NONE):
    return b.group_norm(name, x, P[f"{name}.weight"], P[f"{name}.bias"], groups=1, eps=1e-5,
                        act=act)


def pooling_block(b, P, cfg, i, p, x, kv_in):
    """PoolingBlock `p` of level i: x attends to pooled multi-scale kv_in, then an MLP."""
    neck = cfg.neck
    C_, heads = neck.in_channels[i], neck.num_heads[i]
    th, tw = neck.stage_target(i)

    xn = _gn(b, P, f"{p}.norm1", x)
    kvn = _gn(b, P, f"{p}.norm_kv", kv_in)
    q = b.linear(f"{p}.attn.query_proj", xn, P[f"{p}.attn.query_proj.weight"],
                 P.get(f"{p}.attn.query_proj.bias"))
    kvs = []
    for k, r in enumerate(neck.pool_ratios[i]):
        if r == 1:
            kv = kvn
        else:
            # Official rule: hp = min(target/r, h); hp = round(h / round(h / hp)); the
            # pool is the identity when that equals h (adaptive pooling to the same size).
            kv = b.adaptive_max_pool_limit(f"{p}.attn.pool.{k}", kvn, (th / r, tw / r))
        d = f"{p}.attn.dconvs.{k}"
        dk = b.conv2d(d, kv, conv_ohwi(P[f"{d}.weight"]), P[f"{d}.bias"], (3, 3),
                      pad=(1, 1, 1, 1), groups=C_)
        kvs.append(b.add(f"{d}.residual", kv, dk))
    tokens = b.concat_tokens(f"{p}.attn.tokens", kvs)
    tokens = b.layer_norm(f"{p}.attn.norm", tokens, P[f"{p}.attn.norm.weight"],
                          P[f"{p}.attn.norm.bias"], neck.ln_eps)
    kv = b.linear(f"{p}.attn.key_value_proj", tokens, P[f"{p}.attn.key_value_proj.weight"],
                  P.get(f"{p}.attn.key_value_proj.bias"))
    scale = neck.qk_scale or (C_ // heads) ** -0.5
    a = b.attention(f"{p}.attn", q, kv, heads, scale)
    a = b.linear(f"{p}.attn.proj", a, P[f"{p}.attn.proj.weight"], P[f"{p}.attn.proj.bias"])
    x = b.add(f"{p}.residual1", x, a)

    hidden = mlp_hidden(neck, i)
    m = _gn(b, P, f"{p}.norm2", x)
    m = b.conv2d(f"{p}.mlp.0", m, conv_ohwi(P[f"{p}.mlp.0.weight"]), P[f"{p}.mlp.0.bias"],
                 (1, 1), act=ACT_HARDSWISH)
    m = b.conv2d(f"{p}.mlp.2", m, conv_ohwi(P[f"{p}.mlp.2.weight"]), P[f"{p}.mlp.2.bias"],
                 (3, 3), pad=(1, 1, 1, 1), groups=hidden, act=ACT_HARDSWISH)
    m = b.conv2d(f"{p}.mlp.4", m, conv_ohwi(P[f"{p}.mlp.4.weight"]), P[f"{p}.mlp.4.bias"],
                 (1, 1))
    return b.add(f"{p}.residual2", x, m)


def _neck(b, P, cfg, feats, ref_label, roi):
    neck = cfg.neck
    table = b.const("neck.patch_embed", P["neck.patch_embed"])
    emb = b.ref_embed("neck.ref_embed", ref_label, table, feats[0])
    x = b.add("neck.ref_embed.add", feats[0], emb)
    outs = []
    for i in range(4):
        for j in range(neck.refine_start[i]):
            x = pooling_block(b, P, cfg, i, f"neck.stages.{i}.blocks.{j}", x,
                              feats[i] if j == 0 else x)
        out = x
        if i < 3:
            p = f"neck.stages.{i}.downsample"
            k, s = neck.patch_kernel_size, neck.strides[i + 1]
            pad = (k - 1) // 2
            d = b.im2col(f"{p}.sampler", out, (k, k), (s, s), (pad,) * 4)
            if neck.patch_norm:
                d = b.layer_norm(f"{p}.norm", d, P[f"{p}.norm.weight"], P[f"{p}.norm.bias"],
                                 neck.ln_eps)
            x = b.linear(f"{p}.reduction", d, P[f"{p}.reduction.weight"], None)
        refine = neck.depths[i] - neck.refine_start[i]
        if refine > 0:
            s = neck.stage_stride(i)
            c = b.crop(f"neck.refine_stages.{i}.crop", out, roi, s)
            for j in range(refine):
                c = pooling_block(b, P, cfg, i, f"neck.refine_stages.{i}.blocks.{j}", c, c)
            out = b.paste(f"neck.refine_stages.{i}.paste", out, c, roi, s)
        outs.append(_gn(b, P, f"neck.norm{i}", out))
    return outs


def _conv_module(b, P, cfg, name, x, k):
    """mmcv ConvModule (conv without bias, BN, ReLU) as one CONV2D with BN folded in."""
    w, bias = fold_batchnorm(P[f"{name}.conv.weight"], None, P[f"{name}.bn.weight"],
                             P[f"{name}.bn.bias"], P[f"{name}.bn.running_mean"],
                             P[f"{name}.bn.running_var"], cfg.head.bn_eps)
    pad = (k - 1) // 2
    return b.conv2d(name, x, conv_ohwi(w), bias, (k, k), pad=(pad,) * 4, act=ACT_RELU)


def _uper_head(b, P, cfg, n, like):
    h = cfg.head
    lat = [_conv_module(b, P, cfg, f"decode_head.lateral_convs.{i}", n[i], 1) for i in range(3)]
    psp = [n[3]]
    for k, s in enumerate(h.pool_scales):
        p = b.adaptive_avg_pool(f"decode_head.psp_modules.{k}.0", n[3], (s, s))
        p = _conv_module(b, P, cfg, f"decode_head.psp_modules.{k}.1", p, 1)
        psp.append(b.resize_bilinear(f"decode_head.psp_modules.{k}.resize", p, n[3]))
    cat = b.concat_channels("decode_head.psp_concat", psp)
    lat.append(_conv_module(b, P, cfg, "decode_head.bottleneck", cat, 3))
    for i in range(3, 0, -1):   # top-down: each level gets the (updated) level above
        up = b.resize_bilinear(f"decode_head.top_down.{i}.resize", lat[i], lat[i - 1])
        lat[i - 1] = b.add(f"decode_head.top_down.{i - 1}.add", lat[i - 1], up)
    fpn = [_conv_module(b, P, cfg, f"decode_head.fpn_convs.{i}", lat[i], 3) for i in range(3)]
    fpn.append(lat[3])
    for i in range(3, 0, -1):
        fpn[i] = b.resize_bilinear(f"decode_head.fpn_outs.{i}.resize", fpn[i], fpn[0])
    cat = b.concat_channels("decode_head.fpn_concat", fpn)
    f = _conv_module(b, P, cfg, "decode_head.fpn_bottleneck", cat, 3)
    seg = b.conv2d("decode_head.conv_seg", f, conv_ohwi(P["decode_head.conv_seg.weight"]),
                   P["decode_head.conv_seg.bias"], (1, 1))
    return b.resize_bilinear("decode_head.resize", seg, like, out="logits")


def build_decoder(cfg, P, b):
    """Append the decoder to GraphBuilder `b` (kind DECODER)."""
    chans = cfg.neck.in_channels
    feats = [b.input(f"F{i + 1}", [H(4 << i), W(4 << i), C(chans[i])]) for i in range(4)]
    ref_label = b.input("ref_label", [H(), W()], ifg.DT_U8, ifg.IN_PER_CLICK)
    roi = b.input("roi", [C(4)], ifg.DT_I32, ifg.IN_PER_CLICK | ifg.IN_OPTIONAL)
    n = _neck(b, P, cfg, feats, ref_label, roi)
    b.output(_uper_head(b, P, cfg, n, ref_label))
    return b
