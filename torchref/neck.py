"""IMSA: the interactive multi-head self-attention neck (interformer/necks/imsa.py).

Per click, the neck mixes the reference label (the click map) into the cached
backbone features F1..F4 and runs cheap pooling-attention blocks:

* `ref_embed`: each of the 5 reference codes has a learned C1 vector; the
  full-resolution embedding map is resized (bilinear) to F1 and added to F1;
* level i (stride 4*2^i): `refine_start[i]` PoolingBlocks ("coarse" stage;
  the first takes keys/values from the *raw* backbone feature F_i, later ones
  from their own input), then a 3x3/stride-2 PatchMerging feeds level i+1;
* the level's output (before downsampling) then goes through
  `depths[i] - refine_start[i]` more PoolingBlocks ("refine" stage) which,
  with a zoom-in ROI, run only on the ROI window and are pasted back;
* a GroupNorm(1, C) per level gives the neck outputs.

PoolingAttention: queries are the tokens; keys/values are the concatenation
of several adaptive-max-pooled copies of the key/value map (sizes from the
level's target size and pool ratios), each plus a depthwise 3x3 conv of
itself, then LayerNorm -> one linear for keys and values.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import DropPath, map_to_tokens, resize


def pooled_size(n, limit):
    """IMSA pooled size along one axis of n cells with limit target/ratio (official rule:
    p = min(limit, n); round(n / round(n / p)), Python round = half to even)."""
    p = min(limit, n)
    return round(n / round(n / p))


class PoolingAttention(nn.Module):
    """Attention from every token of x to a multi-scale max-pooled summary of kv_in."""

    def __init__(self, target_size, embed_dims, num_heads, pool_ratios, qkv_bias=True,
                 qk_scale=None, attn_drop_rate=0.0, proj_drop_rate=0.0, ln_eps=1e-5):
        super().__init__()
        self.target_size = tuple(target_size)
        self.num_heads = num_heads
        self.pool_ratios = tuple(pool_ratios)
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        self.query_proj = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.key_value_proj = nn.Linear(embed_dims, 2 * embed_dims, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)
        self.norm = nn.LayerNorm(embed_dims, eps=ln_eps)
        self.dconvs = nn.ModuleList(
            nn.Conv2d(embed_dims, embed_dims, 3, padding=1, groups=embed_dims)
            for _ in self.pool_ratios)

    def pooled_sizes(self, h, w):
        """Pooled (h, w) per ratio for a kv map of h x w; None = the map itself."""
        hm, wm = self.target_size
        out = []
        for r in self.pool_ratios:
            size = None if r == 1 else (pooled_size(h, hm / r), pooled_size(w, wm / r))
            if size is not None and min(size) < 1:
                # round(0.5) == 0: the official code fails here too (empty pooled map).
                raise ValueError(f"IMSA pooling of a {h}x{w} map with target "
                                 f"{self.target_size} / ratio {r} gives size {size}; "
                                 "use a larger neck target_size")
            out.append(None if size == (h, w) else size)
        return out

    def forward(self, x, kv_in):
        B, C, hd, wd = x.shape
        q = self.query_proj(map_to_tokens(x))                        # (B, hd*wd, C)
        kvs = []
        for size, dconv in zip(self.pooled_sizes(*kv_in.shape[-2:]), self.dconvs):
            kv = kv_in if size is None else F.adaptive_max_pool2d(kv_in, size)
            kvs.append(map_to_tokens(kv + dconv(kv)))                # (B, hp*wp, C)
        kv = self.norm(torch.cat(kvs, dim=1))                         # (B, M, C)
        k, v = self.key_value_proj(kv).chunk(2, dim=-1)               # (B, M, C) each

        def heads(t):                                                 # -> (B, heads, n, d)
            return t.reshape(B, t.shape[1], self.num_heads, -1).transpose(1, 2)

        attn = (heads(q) @ heads(k).transpose(-2, -1)) * self.scale   # (B, heads, hd*wd, M)
        attn = self.attn_drop(attn.softmax(dim=-1))
        out = (attn @ heads(v)).transpose(1, 2).reshape(B, hd * wd, C)
        out = self.proj_drop(self.proj(out))
        return out.transpose(1, 2).reshape(B, C, hd, wd)


class InvertedBottleneck(nn.Sequential):
    """1x1 expand -> Hardswish -> depthwise 3x3 -> Hardswish -> 1x1 project (keys 0, 2, 4)."""

    def __init__(self, embed_dims, feedforward_channels, kernel_size=3):
        super().__init__(
            nn.Conv2d(embed_dims, feedforward_channels, 1),
            nn.Hardswish(),
            nn.Conv2d(feedforward_channels, feedforward_channels, kernel_size,
                      padding=(kernel_size - 1) // 2, groups=feedforward_channels),
            nn.Hardswish(),
            nn.Conv2d(feedforward_channels, embed_dims, 1))


class PoolingBlock(nn.Module):
    """x += attn(GN(x), GN(kv_in)); x += mlp(GN(x)) -- all on NCHW maps."""

    def __init__(self, target_size, embed_dims, num_heads, mlp_ratio, pool_ratios,
                 qkv_bias=True, qk_scale=None, drop_path_rate=0.0, ln_eps=1e-5):
        super().__init__()
        self.norm1 = nn.GroupNorm(1, embed_dims)
        self.norm_kv = nn.GroupNorm(1, embed_dims)
        self.attn = PoolingAttention(target_size, embed_dims, num_heads, pool_ratios,
                                     qkv_bias=qkv_bias, qk_scale=qk_scale, ln_eps=ln_eps)
        self.norm2 = nn.GroupNorm(1, embed_dims)
        self.mlp = InvertedBottleneck(embed_dims, int(mlp_ratio * embed_dims))
        self.drop_path = DropPath(drop_path_rate)

    def forward(self, x, kv_in=None):
        kv_in = x if kv_in is None else kv_in
        x = x + self.drop_path(self.attn(self.norm1(x), self.norm_kv(kv_in)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class PatchMerging(nn.Module):
    """mmseg PatchMerging via nn.Unfold (k x k, stride 2, pad k//2) -> LayerNorm -> Linear.

    Works on NCHW maps directly (the official module takes tokens; same numbers).
    Unfold orders features channel-major: c*k*k + ky*k + kx.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=2, ln_eps=1e-5,
                 norm=True):
        super().__init__()
        self.sampler = nn.Unfold(kernel_size, padding=(kernel_size - 1) // 2, stride=stride)
        dim = kernel_size * kernel_size * in_channels
        self.norm = nn.LayerNorm(dim, eps=ln_eps) if norm else None
        self.reduction = nn.Linear(dim, out_channels, bias=False)
        self.k, self.s, self.p = kernel_size, stride, (kernel_size - 1) // 2

    def forward(self, x):
        B, C, H, W = x.shape
        ho = (H + 2 * self.p - self.k) // self.s + 1
        wo = (W + 2 * self.p - self.k) // self.s + 1
        t = self.sampler(x).transpose(1, 2)                  # (B, ho*wo, k*k*C)
        if self.norm is not None:
            t = self.norm(t)
        t = self.reduction(t)                                 # (B, ho*wo, C')
        return t.transpose(1, 2).reshape(B, -1, ho, wo)


class PoolingBlockSequence(nn.Module):
    """The coarse stage of a level: blocks, then an optional PatchMerging.

    Returns (input of the next level, this level's output)."""

    def __init__(self, target_size, embed_dims, num_heads, depth, mlp_ratio, pool_ratios,
                 drop_path_rates, qkv_bias=True, qk_scale=None, ln_eps=1e-5, downsample=None):
        super().__init__()
        self.blocks = nn.ModuleList(
            PoolingBlock(target_size, embed_dims, num_heads, mlp_ratio, pool_ratios, qkv_bias,
                         qk_scale, drop_path_rates[i], ln_eps) for i in range(depth))
        self.downsample = downsample

    def forward(self, x, kv_in):
        for i, block in enumerate(self.blocks):
            x = block(x, kv_in if i == 0 else None)
        if self.downsample is None:
            return x, x
        return self.downsample(x), x


class RefineBlockSequence(PoolingBlockSequence):
    """The refine stage of a level: blocks on the zoom-in ROI window only.

    With a ROI (in this level's cells, [left, up, right, bottom], half-open)
    the blocks see only the window (queries and keys/values both from it) and
    the result is pasted into a copy of the map; outside it is unchanged.
    Batches are handled sample by sample, each with its own window (the
    official batch-1 semantics; its roi_align path for larger batches is a
    training-time approximation we do not reproduce).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, downsample=None, **kwargs)

    def run(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x, roi=None):
        if roi is None:
            return self.run(x)
        outs = []
        for i in range(x.shape[0]):
            left, up, right, bottom = (int(v) for v in roi[i].tolist())
            crop = self.run(x[i:i + 1, :, up:bottom, left:right])
            out = x[i:i + 1].clone()
            out[:, :, up:bottom, left:right] = crop
            outs.append(out)
        return torch.cat(outs, dim=0)


class IMSA(nn.Module):
    """The neck: (F1..F4, ref_label[, roi]) -> 4 maps of the same shapes."""

    def __init__(self, cfg, drop_path_rate=0.1):
        """`cfg`: converter.config.NeckConfig."""
        super().__init__()
        C = tuple(cfg.in_channels)
        self.in_channels = C
        self.num_ref_modes = cfg.num_ref_modes
        self.strides = tuple(cfg.strides)
        self.depths, self.refine_start = tuple(cfg.depths), tuple(cfg.refine_start)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(cfg.depths))]
        self.stages, self.refine_stages = nn.ModuleList(), nn.ModuleList()
        target = (cfg.target_size[0] // cfg.strides[0], cfg.target_size[1] // cfg.strides[0])
        for i in range(4):
            dp = dpr[sum(cfg.depths[:i]):sum(cfg.depths[:i + 1])]
            common = dict(target_size=target, embed_dims=C[i], num_heads=cfg.num_heads[i],
                          mlp_ratio=cfg.mlp_ratios[i], pool_ratios=cfg.pool_ratios[i],
                          qkv_bias=cfg.qkv_bias, qk_scale=cfg.qk_scale, ln_eps=cfg.ln_eps)
            down = None
            if i < 3:
                down = PatchMerging(C[i], C[i + 1], cfg.patch_kernel_size, cfg.strides[i + 1],
                                    cfg.ln_eps, norm=cfg.patch_norm)
            r = cfg.refine_start[i]
            self.stages.append(PoolingBlockSequence(
                depth=r, drop_path_rates=dp[:r], downsample=down, **common))
            self.add_module(f"norm{i}", nn.GroupNorm(1, C[i]))
            n_refine = cfg.depths[i] - r
            self.refine_stages.append(
                RefineBlockSequence(depth=n_refine, drop_path_rates=dp[r:], **common)
                if n_refine > 0 else nn.Identity())
            if i < 3:
                target = (target[0] // cfg.strides[i + 1], target[1] // cfg.strides[i + 1])
        self.patch_embed = nn.Parameter(nn.init.xavier_normal_(torch.empty(cfg.num_ref_modes,
                                                                           C[0])))

    def ref_embed(self, x, ref_label):
        """x (B, C1, h, w) + bilinear-resized embedding of ref_label (B, H, W) codes."""
        emb = F.embedding(ref_label.long(), self.patch_embed)       # (B, H, W, C1)
        emb = emb.permute(0, 3, 1, 2)                                # (B, C1, H, W)
        if emb.shape[-2:] != x.shape[-2:]:
            emb = resize(emb, x.shape[-2:])
        return x + emb

    def check_roi(self, roi, size):
        """ROIs must be non-empty windows inside the image, on the coarsest level's grid."""
        stride = 1
        for s in self.strides:
            stride *= s
        H, W = size
        for left, up, right, bottom in roi.tolist():
            if not (0 <= left < right <= W and 0 <= up < bottom <= H) or \
                    any(v % stride for v in (left, up, right, bottom)):
                raise ValueError(f"ROI {[left, up, right, bottom]} must satisfy 0 <= left < "
                                 f"right <= {W}, 0 <= up < bottom <= {H}, all multiples of "
                                 f"{stride}")

    def forward(self, inputs, ref_label, roi=None):
        """inputs: F1..F4 (B, C_i, H/s_i, W/s_i); ref_label (B, H, W) or (B, 1, H, W) ints;
        roi: None or (B, 4) [left, up, right, bottom] in image pixels, multiples of 32."""
        if ref_label.dim() == 4:
            if ref_label.shape[1] != 1:
                raise ValueError("one reference label per image is supported, got "
                                 f"{tuple(ref_label.shape)}")
            ref_label = ref_label[:, 0]
        if roi is not None:
            self.check_roi(roi, ref_label.shape[-2:])
        x = self.ref_embed(inputs[0], ref_label)
        outs = []
        for i in range(4):
            x, out = self.stages[i](x, inputs[i])
            if not isinstance(self.refine_stages[i], nn.Identity):
                stride = 1
                for s in self.strides[:i + 1]:
                    stride *= s
                out = self.refine_stages[i](out, None if roi is None else roi // stride)
            outs.append(getattr(self, f"norm{i}")(out))
        return outs
