"""Decode heads: UPerHead (main, stride-4 logits) and FCNHead (training-only auxiliary).

mmseg's BaseDecodeHead registers `conv_seg` (1x1 classifier) first and
applies Dropout2d before it; PPM is a ModuleList of
Sequential(AdaptiveAvgPool2d, ConvModule) so its keys are
`psp_modules.<k>.1.conv/bn`. Every upsampling is bilinear, align_corners=False.
"""

import torch
import torch.nn as nn

from .layers import ConvModule, resize


class PPM(nn.ModuleList):
    """Pooling pyramid: adaptive avg pool to s x s, 1x1 ConvModule, upsample back."""

    def __init__(self, pool_scales, in_channels, channels, bn_eps=1e-5):
        super().__init__(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvModule(in_channels, channels, 1,
                                                              bn_eps=bn_eps))
            for s in pool_scales)

    def forward(self, x):
        return [resize(m(x), x.shape[2:]) for m in self]


class UPerHead(nn.Module):
    """UPerNet head: PPM on the top level, FPN top-down fusion, concat, 3x3, classify."""

    def __init__(self, cfg, dropout_ratio=0.1):
        """`cfg`: converter.config.HeadConfig."""
        super().__init__()
        cin, ch, eps = tuple(cfg.in_channels), cfg.channels, cfg.bn_eps
        self.conv_seg = nn.Conv2d(ch, cfg.num_classes, 1)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None
        self.psp_modules = PPM(cfg.pool_scales, cin[-1], ch, eps)
        self.bottleneck = ConvModule(cin[-1] + len(cfg.pool_scales) * ch, ch, 3, padding=1,
                                     bn_eps=eps)
        self.lateral_convs = nn.ModuleList(ConvModule(c, ch, 1, bn_eps=eps) for c in cin[:-1])
        self.fpn_convs = nn.ModuleList(ConvModule(ch, ch, 3, padding=1, bn_eps=eps)
                                       for _ in cin[:-1])
        self.fpn_bottleneck = ConvModule(len(cin) * ch, ch, 3, padding=1, bn_eps=eps)

    def cls_seg(self, feat):
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat)

    def forward(self, inputs):
        """4 maps (B, C_i, H/s_i, W/s_i) -> logits (B, num_classes, H/4, W/4)."""
        top = inputs[-1]
        laterals = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]
        laterals.append(self.bottleneck(torch.cat([top] + self.psp_modules(top), dim=1)))
        for i in range(len(laterals) - 1, 0, -1):               # top-down accumulation
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], laterals[i - 1].shape[2:])
        outs = [conv(laterals[i]) for i, conv in enumerate(self.fpn_convs)]
        outs.append(laterals[-1])
        size = outs[0].shape[2:]
        outs = [outs[0]] + [resize(o, size) for o in outs[1:]]
        return self.cls_seg(self.fpn_bottleneck(torch.cat(outs, dim=1)))


class FCNHead(nn.Module):
    """Auxiliary head on one neck output: num_convs ConvModules [+ concat conv], classify."""

    def __init__(self, cfg):
        """`cfg`: torchref.config.AuxHeadConfig."""
        super().__init__()
        self.in_index = cfg.in_index
        self.concat_input = cfg.concat_input
        k, pad, eps = cfg.kernel_size, cfg.kernel_size // 2, cfg.bn_eps
        self.conv_seg = nn.Conv2d(cfg.channels, cfg.num_classes, 1)
        self.dropout = nn.Dropout2d(cfg.dropout_ratio) if cfg.dropout_ratio > 0 else None
        if cfg.num_convs == 0:
            if cfg.in_channels != cfg.channels:
                raise ValueError("FCNHead with num_convs=0 needs in_channels == channels")
            self.convs = nn.Identity()
        else:
            self.convs = nn.Sequential(*(
                ConvModule(cfg.in_channels if i == 0 else cfg.channels, cfg.channels, k,
                           padding=pad, bn_eps=eps) for i in range(cfg.num_convs)))
        if cfg.concat_input:
            self.conv_cat = ConvModule(cfg.in_channels + cfg.channels, cfg.channels, k,
                                       padding=pad, bn_eps=eps)

    def forward(self, inputs):
        x = inputs[self.in_index]
        feat = self.convs(x)
        if self.concat_input:
            feat = self.conv_cat(torch.cat([x, feat], dim=1))
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat)
