"""Hyper-parameters of an InterFormer model, in the official mmseg config form.

One config dict is the single source of truth for three consumers:

  * the PyTorch modules of this package (`InterFormer.from_config`),
  * the checkpoint's `meta['config']` text (`InterFormerConfig.text()`),
  * the converter, which re-reads that text with its own torch-free parser.

To keep the three in agreement, parsing is delegated to the converter's
`converter.config` (safe `ast` evaluation, `_base_` merging, validation, the
typed `ModelConfig`). This module only adds what the converter deliberately
ignores because inference does not need it: the auxiliary FCN head, drop-path
and dropout rates, LayerScale init values, train/test click settings. A
config that the converter would reject is rejected here too, so a model we
can build is a model the converter can convert.
"""

import copy
import math
import os
from dataclasses import dataclass, field
from typing import Optional

from converter.config import (ConfigError, ModelConfig, load_config_file, model_config,
                              parse_embedded_config)

IMG_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)


@dataclass(frozen=True)
class AuxHeadConfig:
    """mmseg FCNHead on one neck output (training-only auxiliary loss)."""
    in_channels: int
    in_index: int
    channels: int
    num_convs: int = 1
    kernel_size: int = 3
    concat_input: bool = False
    dropout_ratio: float = 0.1
    num_classes: int = 2
    bn_eps: float = 1e-5


@dataclass(frozen=True)
class InterFormerConfig:
    """Everything needed to build the modules; `model` is the converter's view."""
    model: ModelConfig
    aux: Optional[AuxHeadConfig]
    backbone_drop_path_rate: float = 0.1
    backbone_attn_drop_rate: float = 0.0
    init_values: float = 1.0
    neck_drop_path_rate: float = 0.1
    head_dropout_ratio: float = 0.1
    train_cfg: dict = field(default_factory=dict)
    test_cfg: dict = field(default_factory=dict)

    # -- convenient views -------------------------------------------------
    @property
    def backbone(self):
        return self.model.backbone

    @property
    def neck(self):
        return self.model.neck

    @property
    def head(self):
        return self.model.head

    @property
    def zoom_in(self):
        return self.model.segmentor == "ClickSegmentorZoomIn"

    # -- construction -----------------------------------------------------
    @classmethod
    def from_dict(cls, cfg, source="<dict>"):
        """From a full config dict (`model=dict(...)`, maybe `img_norm_cfg`, pipelines)."""
        if "model" not in cfg and "backbone" in cfg:
            cfg = dict(model=cfg)   # the model dict alone
        typed = model_config(cfg, source)
        m = cfg["model"]
        bb, nk, dh = m["backbone"], m["neck"], m["decode_head"]
        aux = m.get("auxiliary_head")
        if isinstance(aux, (list, tuple)):
            raise ConfigError(f"{source}: several auxiliary heads are not supported")
        aux_cfg = None
        if aux:
            if aux.get("type") != "FCNHead":
                raise ConfigError(f"{source}: model.auxiliary_head.type must be 'FCNHead', "
                                  f"got {aux.get('type')!r}")
            if aux.get("dilation", 1) != 1:
                raise ConfigError(f"{source}: model.auxiliary_head.dilation must be 1")
            idx = aux.get("in_index", -1) % 4
            aux_cfg = AuxHeadConfig(
                in_channels=int(aux["in_channels"]), in_index=idx,
                channels=int(aux["channels"]), num_convs=int(aux.get("num_convs", 2)),
                kernel_size=int(aux.get("kernel_size", 3)),
                concat_input=bool(aux.get("concat_input", True)),
                dropout_ratio=float(aux.get("dropout_ratio", 0.1)),
                num_classes=int(aux.get("num_classes", 2)),
                bn_eps=float((aux.get("norm_cfg") or {}).get("eps", 1e-5)))
            if aux_cfg.in_channels != typed.neck.in_channels[idx]:
                raise ConfigError(f"{source}: model.auxiliary_head.in_channels "
                                  f"{aux_cfg.in_channels} differs from neck output {idx} "
                                  f"({typed.neck.in_channels[idx]} channels)")
        return cls(
            model=typed, aux=aux_cfg,
            backbone_drop_path_rate=float(bb.get("drop_path_rate", 0.0)),
            backbone_attn_drop_rate=float(bb.get("attn_drop_rate", 0.0)),
            init_values=float(bb.get("init_values", 0.1)),
            neck_drop_path_rate=float(nk.get("drop_path_rate", 0.1)),
            head_dropout_ratio=float(dh.get("dropout_ratio", 0.1)),
            train_cfg=dict(m.get("train_cfg") or {}),
            test_cfg=dict(m.get("test_cfg") or {}))

    @classmethod
    def parse(cls, spec):
        """From config text, a `.py` path, a dict, or an InterFormerConfig / ModelConfig."""
        if isinstance(spec, InterFormerConfig):
            return spec
        if isinstance(spec, ModelConfig):
            return cls.from_dict(_model_dict(spec), spec.source)
        if isinstance(spec, dict):
            return cls.from_dict(spec)
        if isinstance(spec, str):
            if spec.endswith(".py") and "\n" not in spec and os.path.isfile(spec):
                return cls.from_dict(load_config_file(spec), spec)
            return cls.from_dict(parse_embedded_config(spec, "<config text>"), "<config text>")
        raise TypeError(f"cannot make a config from {type(spec).__name__}")

    # -- output -----------------------------------------------------------
    def to_dict(self):
        """Canonical official-form config dict (model + img_norm_cfg)."""
        d = _model_dict(self.model)
        m = d["model"]
        m["backbone"].update(drop_path_rate=self.backbone_drop_path_rate,
                             attn_drop_rate=self.backbone_attn_drop_rate,
                             init_values=self.init_values)
        m["neck"]["drop_path_rate"] = self.neck_drop_path_rate
        m["decode_head"]["dropout_ratio"] = self.head_dropout_ratio
        if self.aux is not None:
            a = self.aux
            m["auxiliary_head"] = dict(
                type="FCNHead", in_channels=a.in_channels, in_index=a.in_index,
                channels=a.channels, num_convs=a.num_convs, kernel_size=a.kernel_size,
                concat_input=a.concat_input, dropout_ratio=a.dropout_ratio,
                num_classes=a.num_classes, norm_cfg=_bn_cfg(a.bn_eps), align_corners=False)
        if self.train_cfg:
            m["train_cfg"] = copy.deepcopy(self.train_cfg)
        test = copy.deepcopy(self.test_cfg)
        test.update(inner_radius=self.model.click_radius)
        test.setdefault("outer_radius", 0)
        if self.zoom_in:
            test.update(expand_ratio=self.model.zoom_expand_ratio,
                        min_size=self.model.zoom_min_size,
                        zoom_in_start_step=self.model.zoom_start_step)
        m["test_cfg"] = test
        return d

    def text(self):
        """The config as mmseg Python text (for a checkpoint's meta['config'])."""
        return format_config(self.to_dict())


def _bn_cfg(eps):
    cfg = dict(type="SyncBN", requires_grad=True)
    if eps != 1e-5:
        cfg["eps"] = eps
    return cfg


def _num(x):
    """8.0 -> 8 (the official configs write integral ratios as ints)."""
    return int(x) if float(x).is_integer() else x


def _model_dict(mc: ModelConfig):
    """The config dict of the converter's typed ModelConfig (inference fields only)."""
    b, n, h = mc.backbone, mc.neck, mc.head
    out_idx = list(b.out_indices)
    backbone = dict(
        type="MAEWithSimpleFPN", img_size=tuple(b.img_size), patch_size=b.patch_size,
        in_channels=b.in_channels, embed_dims=b.embed_dims, num_layers=b.num_layers,
        num_heads=b.num_heads, mlp_ratio=b.mlp_ratio,
        out_indices=-1 if out_idx == [b.num_layers - 1] else out_idx,
        norm_cfg=dict(type="LN", eps=b.ln_eps), act_cfg=dict(type="GELU"),
        patch_norm=b.patch_norm, final_norm=b.final_norm, norm_eval=False,
        fpn_cfg=dict(type="SimpleFPN", rescales=tuple(b.fpn_rescales),
                     out_dims=tuple(b.fpn_out_dims)))
    neck = dict(
        type="IMSA", target_size=tuple(n.target_size), in_channels=list(n.in_channels),
        num_heads=tuple(n.num_heads), depths=tuple(n.depths),
        refine_start=tuple(n.refine_start), mlp_ratio=tuple(_num(r) for r in n.mlp_ratios),
        strides=tuple(n.strides), qkv_bias=n.qkv_bias, qk_scale=n.qk_scale,
        patch_norm=n.patch_norm, patch_kernel_size=n.patch_kernel_size,
        pool_ratios=[tuple(p) for p in n.pool_ratios],
        norm_cfg=dict(type="LN", eps=n.ln_eps), num_ref_modes=n.num_ref_modes)
    head = dict(
        type="UPerHead", in_channels=list(h.in_channels), in_index=[0, 1, 2, 3],
        pool_scales=tuple(h.pool_scales), channels=h.channels, num_classes=h.num_classes,
        norm_cfg=_bn_cfg(h.bn_eps), align_corners=False)
    model = dict(type=mc.segmentor, pretrained=None, backbone=backbone, neck=neck,
                 decode_head=head,
                 test_cfg=dict(inner_radius=mc.click_radius, outer_radius=0))
    norm = dict(mean=list(mc.mean), std=list(mc.std), to_rgb=mc.rgb)
    return dict(model=model, img_norm_cfg=norm)


# ---------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------

def _official(embed, layers, heads, depths, zoom, num_clicks=20):
    """configs/_base_/interformer_{tiny,light}.py (model part)."""
    test = dict(num_clicks=num_clicks, inner_radius=5, outer_radius=0)
    if zoom:
        test.update(expand_ratio=1.4, min_size=32, zoom_in_start_step=1)
    bn = dict(type="SyncBN", requires_grad=True)
    return dict(
        model=dict(
            type="ClickSegmentorZoomIn" if zoom else "ClickSegmentor",
            pretrained=None,
            backbone=dict(
                type="MAEWithSimpleFPN", img_size=(512, 512), patch_size=16, in_channels=3,
                embed_dims=embed, num_layers=layers, num_heads=heads, mlp_ratio=4,
                out_indices=-1, attn_drop_rate=0.0, drop_path_rate=0.1,
                norm_cfg=dict(type="LN", eps=1e-6), act_cfg=dict(type="GELU"),
                norm_eval=False, init_values=1.0,
                fpn_cfg=dict(type="SimpleFPN", rescales=(4, 2, 1, 0.5),
                             out_dims=(32, 64, 128, 256))),
            neck=dict(
                type="IMSA", target_size=(512, 512), in_channels=[32, 64, 128, 256],
                num_heads=(1, 2, 4, 8), depths=depths, refine_start=(1, 1, 2, 1),
                mlp_ratio=(8, 8, 4, 4)),
            decode_head=dict(
                type="UPerHead", in_channels=[32, 64, 128, 256], in_index=[0, 1, 2, 3],
                pool_scales=(1, 2, 3, 6), channels=64, dropout_ratio=0.1, num_classes=2,
                norm_cfg=dict(bn), align_corners=False),
            auxiliary_head=dict(
                type="FCNHead", in_channels=128, in_index=2, channels=64, num_convs=1,
                concat_input=False, dropout_ratio=0.1, num_classes=2,
                norm_cfg=dict(bn), align_corners=False),
            train_cfg=dict(max_num_clicks=20, gamma=0.6, inner_radius=5, outer_radius=0,
                           sfc_inner_k=1.7),
            test_cfg=test),
        img_norm_cfg=copy.deepcopy(IMG_NORM))


def light_dict():
    """InterFormer-Light: ViT-B (768 x 12, 12 heads), IMSA depths (1, 1, 2, 1), no zoom-in."""
    return _official(768, 12, 12, (1, 1, 2, 1), zoom=False)


def tiny_dict():
    """InterFormer-Tiny: ViT-L (1024 x 24, 16 heads), IMSA depths (2, 2, 6, 3), zoom-in
    (expand_ratio 1.4, min_size 32, from click step 1) as in its evaluation."""
    return _official(1024, 24, 16, (2, 2, 6, 3), zoom=True)


def custom_dict(embed_dims=64, num_layers=2, num_heads=4, img_size=(128, 128),
                fpn_dims=(8, 16, 32, 64), neck_heads=(1, 2, 4, 8), depths=(1, 1, 2, 1),
                refine_start=(1, 1, 2, 1), mlp_ratio=(8, 8, 4, 4), target_size=None,
                channels=16, zoom_in=False, vit_mlp_ratio=4, aux=True, click_radius=5):
    """A small model of the same architecture (demo, tests), official-form dict.

    Defaults are the golden `tiny_vit` architecture. `fpn_dims` are both the
    FPN outputs and the neck/head input widths (the architecture needs them
    equal); `img_size` sets the native token grid (img_size / 16);
    `target_size` (default img_size) sets IMSA's pooled sizes; `zoom_in`
    makes a ClickSegmentorZoomIn (refine blocks on the ROI from step 1);
    `click_radius` is the disk radius of a click (train_cfg and test_cfg
    inner_radius; the converter passes it on to the runtime).
    """
    img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    if target_size is not None and isinstance(target_size, int):
        target_size = (target_size, target_size)
    d = _official(embed_dims, num_layers, num_heads, tuple(depths), zoom_in)
    m = d["model"]
    m["backbone"].update(img_size=img_size, mlp_ratio=vit_mlp_ratio)
    m["backbone"]["fpn_cfg"]["out_dims"] = tuple(fpn_dims)
    m["neck"].update(target_size=tuple(target_size or img_size), in_channels=list(fpn_dims),
                     num_heads=tuple(neck_heads), refine_start=tuple(refine_start),
                     mlp_ratio=tuple(mlp_ratio))
    m["decode_head"].update(in_channels=list(fpn_dims), channels=channels)
    m["train_cfg"]["inner_radius"] = m["test_cfg"]["inner_radius"] = int(click_radius)
    if aux:
        m["auxiliary_head"].update(in_channels=fpn_dims[2], channels=channels)
    else:
        del m["auxiliary_head"]
    return d


# ---------------------------------------------------------------------------
# Writing mmseg config text
# ---------------------------------------------------------------------------

def _fmt(v, indent):
    pad = " " * (indent + 4)
    if isinstance(v, dict):
        if not v:
            return "dict()"
        for k in v:
            if not (isinstance(k, str) and k.isidentifier()):
                raise ValueError(f"config key {k!r} cannot be written as dict(...) syntax")
        items = [f"{pad}{k}={_fmt(x, indent + 4)}" for k, x in v.items()]
        return "dict(\n" + ",\n".join(items) + ")"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x, indent) for x in v) + "]"
    if isinstance(v, tuple):
        inner = ", ".join(_fmt(x, indent) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, float):
        if math.isinf(v) or math.isnan(v):
            raise ValueError(f"cannot write {v} into a config")
        return repr(v)
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    raise TypeError(f"cannot write a {type(v).__name__} into a config")


def format_config(d):
    """mmcv-style text: one `name = value` statement per top-level key."""
    return "".join(f"{k} = {_fmt(v, 0)}\n" for k, v in d.items())


__all__ = ["AuxHeadConfig", "InterFormerConfig", "ConfigError", "light_dict", "tiny_dict",
           "custom_dict", "format_config", "IMG_NORM"]
