"""The state_dict an InterFormer model of a given config must have.

`expected_state_dict(cfg)` lists every key the official modules register,
with its shape, in module order. The checkpoint is checked against it before
any graph is built, so a wrong, missing or stray tensor is reported by name
instead of surfacing as a broadcasting error (or, worse, a silently wrong
graph). The graph builders then read only keys from this list, and the
converter asserts that they read all of them.

Keys the graphs deliberately do not use:
  * `auxiliary_head.*`: the FCN head only adds a training loss;
  * `*.num_batches_tracked`: BatchNorm bookkeeping, unused in eval mode.
`*.relative_position_index` is expected (and checked against the formula) but
not stored: the runtime recomputes it.
"""

from ..config import ModelConfig


def is_dropped(key):
    """Keys that may appear in a checkpoint and are ignored on purpose."""
    return key.startswith("auxiliary_head.") or key.endswith(".num_batches_tracked")


def _linear(out, prefix, n_out, n_in, bias=True):
    out[f"{prefix}.weight"] = (n_out, n_in)
    if bias:
        out[f"{prefix}.bias"] = (n_out,)


def _conv(out, prefix, c_out, c_in, k, bias=True, groups=1):
    kh, kw = (k, k) if isinstance(k, int) else k
    out[f"{prefix}.weight"] = (c_out, c_in // groups, kh, kw)
    if bias:
        out[f"{prefix}.bias"] = (c_out,)


def _conv_t(out, prefix, c_in, c_out, k):
    out[f"{prefix}.weight"] = (c_in, c_out, k, k)
    out[f"{prefix}.bias"] = (c_out,)


def _norm(out, prefix, c):
    out[f"{prefix}.weight"] = (c,)
    out[f"{prefix}.bias"] = (c,)


def _bn(out, prefix, c):
    _norm(out, prefix, c)
    out[f"{prefix}.running_mean"] = (c,)
    out[f"{prefix}.running_var"] = (c,)


def _conv_module(out, prefix, c_out, c_in, k):
    """mmcv ConvModule(conv without bias, BN, act)."""
    _conv(out, f"{prefix}.conv", c_out, c_in, k, bias=False)
    _bn(out, f"{prefix}.bn", c_out)


def fpn_dims(k, embed, out_dim):
    """Hidden widths of a SimpleFPN branch with rescale k (as the official code)."""
    if k == 4:
        return max(embed // 2, 2 * out_dim)
    if k == 2:
        return max(embed // 2, out_dim)
    if k == 0.5:
        return max(2 * embed, out_dim)
    return None


def _backbone(out, b):
    E, (gh, gw) = b.embed_dims, b.window
    n = gh * gw + 1
    r = (2 * gh - 1) * (2 * gw - 1) + 3
    out["backbone.cls_token"] = (1, 1, E)
    out["backbone.pos_embed"] = (1, n, E)
    _conv(out, "backbone.patch_embed.projection", E, b.in_channels, b.patch_size)
    if b.patch_norm:
        _norm(out, "backbone.patch_embed.norm", E)
    for i in range(b.num_layers):
        p = f"backbone.layers.{i}"
        out[f"{p}.gamma_1"] = (E,)
        out[f"{p}.gamma_2"] = (E,)
        _norm(out, f"{p}.ln1", E)
        out[f"{p}.attn.relative_position_bias_table"] = (r, b.num_heads)
        out[f"{p}.attn.relative_position_index"] = (n, n)
        _linear(out, f"{p}.attn.qkv", 3 * E, E)
        _linear(out, f"{p}.attn.proj", E, E)
        _norm(out, f"{p}.ln2", E)
        _linear(out, f"{p}.ffn.layers.0.0", b.mlp_ratio * E, E)
        _linear(out, f"{p}.ffn.layers.1", E, b.mlp_ratio * E)
    if b.final_norm:
        _norm(out, "backbone.ln1", E)
    for j, (k, c) in enumerate(zip(b.fpn_rescales, b.fpn_out_dims)):
        p = f"backbone.fpn.rescale_ops.{j}"
        d = fpn_dims(k, E, c)
        if k == 4:
            _conv_t(out, f"{p}.0", E, d, 2)
            _norm(out, f"{p}.1", d)
            _conv_t(out, f"{p}.3", d, d // 2, 2)
            _norm(out, f"{p}.4", d // 2)
            _conv(out, f"{p}.5", c, d // 2, 1)
            _norm(out, f"{p}.6", c)
        elif k == 2:
            _conv_t(out, f"{p}.0", E, d, 2)
            _norm(out, f"{p}.1", d)
            _conv(out, f"{p}.2", c, d, 1)
            _norm(out, f"{p}.3", c)
        elif k == 1:
            _conv(out, f"{p}.0", c, E, 1)
            _norm(out, f"{p}.1", c)
        else:  # 0.5
            _conv(out, f"{p}.0", d, E, 2)
            _norm(out, f"{p}.1", d)
            _conv(out, f"{p}.2", c, d, 1)
            _norm(out, f"{p}.3", c)


def mlp_hidden(neck, i):
    """InvertedBottleneck width of level i: int(mlp_ratio * C), as the official code."""
    return int(neck.mlp_ratios[i] * neck.in_channels[i])


def _pooling_block(out, p, neck, i):
    C = neck.in_channels[i]
    bias = neck.qkv_bias
    _norm(out, f"{p}.norm1", C)
    _norm(out, f"{p}.norm_kv", C)
    _linear(out, f"{p}.attn.query_proj", C, C, bias)
    _linear(out, f"{p}.attn.key_value_proj", 2 * C, C, bias)
    _linear(out, f"{p}.attn.proj", C, C)
    _norm(out, f"{p}.attn.norm", C)
    for k in range(len(neck.pool_ratios[i])):
        _conv(out, f"{p}.attn.dconvs.{k}", C, C, 3, groups=C)
    _norm(out, f"{p}.norm2", C)
    hidden = mlp_hidden(neck, i)
    _conv(out, f"{p}.mlp.0", hidden, C, 1)
    _conv(out, f"{p}.mlp.2", hidden, hidden, 3, groups=hidden)
    _conv(out, f"{p}.mlp.4", C, hidden, 1)


def _neck(out, neck):
    out["neck.patch_embed"] = (neck.num_ref_modes, neck.in_channels[0])
    for i in range(4):
        C = neck.in_channels[i]
        for j in range(neck.refine_start[i]):
            _pooling_block(out, f"neck.stages.{i}.blocks.{j}", neck, i)
        if i < 3:
            k = neck.patch_kernel_size
            if neck.patch_norm:
                _norm(out, f"neck.stages.{i}.downsample.norm", k * k * C)
            _linear(out, f"neck.stages.{i}.downsample.reduction", neck.in_channels[i + 1],
                    k * k * C, bias=False)
    for i in range(4):
        for j in range(neck.depths[i] - neck.refine_start[i]):
            _pooling_block(out, f"neck.refine_stages.{i}.blocks.{j}", neck, i)
    for i in range(4):
        _norm(out, f"neck.norm{i}", neck.in_channels[i])


def _head(out, h):
    ch, cin = h.channels, h.in_channels
    _conv(out, "decode_head.conv_seg", h.num_classes, ch, 1)
    for k in range(len(h.pool_scales)):
        _conv_module(out, f"decode_head.psp_modules.{k}.1", ch, cin[-1], 1)
    _conv_module(out, "decode_head.bottleneck", ch, cin[-1] + len(h.pool_scales) * ch, 3)
    for i in range(3):
        _conv_module(out, f"decode_head.lateral_convs.{i}", ch, cin[i], 1)
    for i in range(3):
        _conv_module(out, f"decode_head.fpn_convs.{i}", ch, ch, 3)
    _conv_module(out, "decode_head.fpn_bottleneck", ch, 4 * ch, 3)


def expected_state_dict(cfg: ModelConfig):
    """key -> shape (tuple) of every tensor the model uses, in module order."""
    out = {}
    _backbone(out, cfg.backbone)
    _neck(out, cfg.neck)
    _head(out, cfg.head)
    return out
