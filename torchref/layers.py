"""Small building blocks shared by the backbone, neck and heads.

They mirror the mmcv/mmseg bricks the official model is assembled from,
with the same attribute names (so state_dict keys match) and the same
arithmetic order (so float32 results match the official code to rounding).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class DropPath(nn.Module):
    """Stochastic depth per sample (mmcv DropPath); identity in eval mode or at p = 0."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        mask = torch.floor(keep + torch.rand(shape, dtype=x.dtype, device=x.device))
        return x.div(keep) * mask

    def extra_repr(self):
        return f"drop_prob={self.drop_prob}"


class ConvModule(nn.Module):
    """mmcv ConvModule as the decode heads use it: conv (no bias) -> BatchNorm -> ReLU.

    With a norm layer mmcv's `bias='auto'` drops the conv bias, hence the keys
    `<name>.conv.weight` and `<name>.bn.{weight,bias,running_mean,running_var,
    num_batches_tracked}`. The config's SyncBN is a plain BatchNorm2d here
    (single process); a multi-GPU trainer can convert it with
    `nn.SyncBatchNorm.convert_sync_batchnorm`.
    """

    def __init__(self, in_channels, out_channels, kernel_size, padding=0, bn_eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding,
                              bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=bn_eps)
        self.activate = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.activate(self.bn(self.conv(x)))


def resize(x, size):
    """mmseg `resize` as used everywhere in the model: bilinear, align_corners=False."""
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def tokens_to_map(x, hw):
    """(B, h*w, C) row-major tokens -> (B, C, h, w)."""
    B, N, C = x.shape
    return x.transpose(1, 2).reshape(B, C, hw[0], hw[1])


def map_to_tokens(x):
    """(B, C, h, w) -> (B, h*w, C)."""
    return x.flatten(2).transpose(1, 2)
