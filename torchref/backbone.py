"""MAEWithSimpleFPN: the InterFormer image encoder (ViT with relative position
bias, then a simple feature pyramid giving F1..F4 at strides 4, 8, 16, 32).

Semantics follow interformer/backbones/mae.py on top of mmseg's BEiT/MAE:

* patch embedding: 16x16 conv, stride 16, no padding;
* tokens = [cls] + patches, plus the absolute position embedding;
* each layer: x += gamma_1 * attn(ln1(x)); x += gamma_2 * ffn(ln2(x)) (LayerScale);
* attention logits get a relative position bias from a table of
  (2Gh-1)(2Gw-1)+3 entries per head, (Gh, Gw) = img_size / 16 the native grid;
* images whose token grid differs from the native grid ("flex size") reuse the
  native tables: when the token count h*w differs from Gh*Gw, both the position
  embedding and the bias are resized with PyTorch `nearest` (each runtime cell
  stands for one native cell); when only the shape differs but the count is
  equal, the official code uses the tables unchanged (flat index i*w+j).

Instead of resizing the expanded (1+N)x(1+N) bias tensor like the official
code, we compute which native cell each runtime cell stands for and gather
the table through the (unchanged) `relative_position_index` buffer. Nearest
resizing only selects entries, so the two give identical numbers.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import DropPath, tokens_to_map


def relative_position_index(window):
    """(1+Gh*Gw, 1+Gh*Gw) int64 table index of BEiT's relative position bias.

    Cells (i, j), (k, l) -> (i-k+Gh-1)*(2Gw-1) + (j-l+Gw-1); the class token
    uses the three extra entries at the end: R-3 (cls->cell), R-2 (cell->cls),
    R-1 (cls->cls), R = (2Gh-1)(2Gw-1)+3.
    """
    gh, gw = window
    ii, jj = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
    rows, cols = ii.reshape(-1), jj.reshape(-1)                     # (N,)
    rel = (rows[:, None] - rows[None, :] + gh - 1) * (2 * gw - 1) \
        + (cols[:, None] - cols[None, :] + gw - 1)                  # (N, N)
    r = (2 * gh - 1) * (2 * gw - 1) + 3
    n = gh * gw
    index = torch.empty((n + 1, n + 1), dtype=torch.int64)
    index[1:, 1:] = rel
    index[0, :] = r - 3
    index[:, 0] = r - 2
    index[0, 0] = r - 1
    return index


def _nearest_source(src, dst):
    """Source index of each of `dst` outputs when resizing `src` with mode='nearest'.

    Evaluated by F.interpolate itself so the float32 index rule is PyTorch's
    exactly (floor(dst_index * (float)src/dst), clamped).
    """
    if src == dst:
        return torch.arange(dst)
    x = torch.arange(src, dtype=torch.float32).view(1, 1, src)
    return F.interpolate(x, size=dst, mode="nearest").view(dst).long()


def native_cells(window, hw):
    """(1 + h*w,) indices into the native token list [cls, cells...] for a h x w grid."""
    gh, gw = window
    h, w = hw
    if h * w == gh * gw:
        cells = torch.arange(h * w)
    else:
        rows, cols = _nearest_source(gh, h), _nearest_source(gw, w)
        cells = (rows[:, None] * gw + cols[None, :]).reshape(-1)
    return torch.cat([torch.zeros(1, dtype=torch.long), cells + 1])


class PatchEmbed(nn.Module):
    """mmseg PatchEmbed(kernel = stride = patch, padding 0), optional LayerNorm."""

    def __init__(self, in_channels, embed_dims, patch_size, norm_eps=None):
        super().__init__()
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps) if norm_eps is not None else None

    def forward(self, x):
        x = self.projection(x)                       # (B, E, h, w)
        hw = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)             # (B, h*w, E)
        if self.norm is not None:
            x = self.norm(x)
        return x, hw


class FlexSizeMAEAttention(nn.Module):
    """Multi-head self-attention with BEiT relative position bias (MAE variant: qkv bias)."""

    def __init__(self, embed_dims, num_heads, window_size, qk_scale=None, attn_drop_rate=0.0,
                 proj_drop_rate=0.0):
        super().__init__()
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.window_size = tuple(window_size)
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        gh, gw = self.window_size
        self.num_relative_distance = (2 * gh - 1) * (2 * gw - 1) + 3
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros(self.num_relative_distance, num_heads))
        # Persistent: official checkpoints carry it (the converter checks it).
        self.register_buffer("relative_position_index", relative_position_index(window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=True)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def relative_bias(self, cells):
        """(heads, 1+N, 1+N) bias for the token list given by `cells` (see native_cells)."""
        index = self.relative_position_index
        if cells.numel() != index.shape[0] or not torch.equal(
                cells, torch.arange(cells.numel(), device=cells.device)):
            index = index[cells][:, cells]
        n = index.shape[0]
        bias = self.relative_position_bias_table[index.reshape(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1).contiguous()

    def forward(self, x, cells):
        B, N, C = x.shape                                          # N = 1 + h*w
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)                       # each (B, heads, N, d)
        attn = (q * self.scale) @ k.transpose(-2, -1)              # (B, heads, N, N)
        attn = attn + self.relative_bias(cells).unsqueeze(0)
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))


class FFN(nn.Module):
    """mmcv FFN (num_fcs=2, no identity): keys layers.0.0 (fc1) and layers.1 (fc2)."""

    def __init__(self, embed_dims, feedforward_channels, drop=0.0):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, feedforward_channels), nn.GELU(),
                          nn.Dropout(drop)),
            nn.Linear(feedforward_channels, embed_dims),
            nn.Dropout(drop))

    def forward(self, x):
        return self.layers(x)


class FlexSizeMAETransformerEncoderLayer(nn.Module):
    """Pre-norm ViT block with LayerScale (gamma_1, gamma_2) and stochastic depth."""

    def __init__(self, embed_dims, num_heads, feedforward_channels, window_size, ln_eps=1e-6,
                 init_values=1.0, drop_path_rate=0.0, attn_drop_rate=0.0):
        super().__init__()
        self.gamma_1 = nn.Parameter(init_values * torch.ones(embed_dims))
        self.gamma_2 = nn.Parameter(init_values * torch.ones(embed_dims))
        self.ln1 = nn.LayerNorm(embed_dims, eps=ln_eps)
        self.attn = FlexSizeMAEAttention(embed_dims, num_heads, window_size,
                                         attn_drop_rate=attn_drop_rate)
        self.ln2 = nn.LayerNorm(embed_dims, eps=ln_eps)
        self.ffn = FFN(embed_dims, feedforward_channels)
        self.drop_path = DropPath(drop_path_rate)

    def forward(self, x, cells):
        x = x + self.drop_path(self.gamma_1 * self.attn(self.ln1(x), cells))
        x = x + self.drop_path(self.gamma_2 * self.ffn(self.ln2(x)))
        return x


def fpn_hidden_dims(k, in_dim, out_dim):
    """Hidden width of a SimpleFPN branch with rescale k (official rule)."""
    if k == 4:
        return max(in_dim // 2, 2 * out_dim)
    if k == 2:
        return max(in_dim // 2, out_dim)
    if k == 0.5:
        return max(2 * in_dim, out_dim)
    return None


class SimpleFPN(nn.Module):
    """ViTDet-style pyramid from one stride-16 map: x4 and x2 by 2x2 transposed convs,
    x1 by a 1x1 conv, x0.5 by a 2x2 stride-2 conv; GroupNorm(1, C) and GELU between.

    The Sequential indices (hence state_dict keys) are the official ones.
    """

    def __init__(self, in_dim, rescales=(4, 2, 1, 0.5), out_dims=(64, 128, 256, 512)):
        super().__init__()
        self.rescales, self.out_dims = tuple(rescales), tuple(out_dims)
        self.rescale_ops = nn.ModuleList()
        for k, out_dim in zip(self.rescales, self.out_dims):
            d = fpn_hidden_dims(k, in_dim, out_dim)
            if k == 4:
                ops = [nn.ConvTranspose2d(in_dim, d, 2, stride=2), nn.GroupNorm(1, d), nn.GELU(),
                       nn.ConvTranspose2d(d, d // 2, 2, stride=2), nn.GroupNorm(1, d // 2),
                       nn.Conv2d(d // 2, out_dim, 1), nn.GroupNorm(1, out_dim), nn.GELU()]
            elif k == 2:
                ops = [nn.ConvTranspose2d(in_dim, d, 2, stride=2), nn.GroupNorm(1, d),
                       nn.Conv2d(d, out_dim, 1), nn.GroupNorm(1, out_dim), nn.GELU()]
            elif k == 1:
                ops = [nn.Conv2d(in_dim, out_dim, 1), nn.GroupNorm(1, out_dim), nn.GELU()]
            elif k == 0.5:
                ops = [nn.Conv2d(in_dim, d, 2, stride=2), nn.GroupNorm(1, d),
                       nn.Conv2d(d, out_dim, 1), nn.GroupNorm(1, out_dim), nn.GELU()]
            else:
                raise ValueError(f"SimpleFPN rescale {k} is not supported (4, 2, 1, 0.5)")
            self.rescale_ops.append(nn.Sequential(*ops))

    def forward(self, inputs):
        if len(inputs) == 1:
            inputs = [inputs[0]] * len(self.rescale_ops)
        return tuple(op(x) for op, x in zip(self.rescale_ops, inputs))


class MAEWithSimpleFPN(nn.Module):
    """The encoder: (B, 3, H, W), H and W multiples of 32 -> (F1, F2, F3, F4)."""

    def __init__(self, cfg, drop_path_rate=0.0, attn_drop_rate=0.0, init_values=1.0):
        """`cfg`: converter.config.BackboneConfig."""
        super().__init__()
        E = cfg.embed_dims
        self.window_size = cfg.window                       # native token grid (Gh, Gw)
        self.patch_size = cfg.patch_size
        self.out_indices = tuple(cfg.out_indices)
        self.final_norm = cfg.final_norm
        n = self.window_size[0] * self.window_size[1]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, E))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, E))
        self.patch_embed = PatchEmbed(cfg.in_channels, E, cfg.patch_size,
                                      cfg.ln_eps if cfg.patch_norm else None)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, cfg.num_layers)]
        self.layers = nn.ModuleList(
            FlexSizeMAETransformerEncoderLayer(
                E, cfg.num_heads, cfg.mlp_ratio * E, self.window_size, ln_eps=cfg.ln_eps,
                init_values=init_values, drop_path_rate=dpr[i], attn_drop_rate=attn_drop_rate)
            for i in range(cfg.num_layers))
        if cfg.final_norm:
            self.ln1 = nn.LayerNorm(E, eps=cfg.ln_eps)
        self.fpn = SimpleFPN(E, cfg.fpn_rescales, cfg.fpn_out_dims)

    def forward(self, img):
        B = img.shape[0]
        x, hw = self.patch_embed(img)                               # (B, h*w, E)
        cells = native_cells(self.window_size, hw).to(img.device)   # (1 + h*w,)
        same = hw[0] * hw[1] == self.window_size[0] * self.window_size[1]
        pos = self.pos_embed if same else self.pos_embed[:, cells]  # (1, 1+h*w, E)
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1) + pos   # (B, 1+h*w, E)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x, cells)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(tokens_to_map(x[:, 1:], hw))            # (B, E, h, w)
        return self.fpn(outs)
