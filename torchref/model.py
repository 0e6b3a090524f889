"""InterFormer segmentor (ClickSegmentor / ClickSegmentorZoomIn) in plain PyTorch.

Module tree and state_dict keys are the official ones (mmseg EncoderDecoder):

    backbone        MAEWithSimpleFPN   image -> F1..F4           (once per image)
    neck            IMSA               F1..F4 + ref_label [+ roi] (every click)
    decode_head     UPerHead           -> logits at stride 4     (every click)
    auxiliary_head  FCNHead            training-only loss on neck output 2

so a checkpoint trained with this code loads into the official code and
converts with `python3 -m converter` unchanged, and official checkpoints load
here with strict key checking.

Inference is split like the C runtime: `encode(img)` once per image,
`decode(feats, ref_label, roi)` per click. Inputs are already normalised and
zero-padded to multiples of 32 (see `preprocess`); outputs cover the padded
area. BatchNorm follows the module mode: call `.eval()` for inference.
"""

import collections
import math
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbone import MAEWithSimpleFPN
from .config import InterFormerConfig, custom_dict, light_dict, tiny_dict
from .head import FCNHead, UPerHead
from .layers import resize
from .neck import IMSA

CLASSES = ("Background", "Foreground")
PALETTE = [[0, 0, 0], [255, 255, 255]]
PAD_MULTIPLE = 32


def _as_roi(roi, batch, device):
    """None | (4,) | (B, 4) | (B, 1, 4) (tensor, array or sequence) -> int64 (B, 4) or None."""
    if roi is None:
        return None
    roi = torch.as_tensor(np.asarray(roi.cpu() if torch.is_tensor(roi) else roi))
    if roi.is_floating_point():
        if not torch.equal(roi, torch.round(roi)):
            raise ValueError(f"ROI must be integers, got {roi.tolist()}")
    roi = roi.to(torch.int64).reshape(-1, 4)
    if roi.shape[0] == 1 and batch > 1:
        roi = roi.expand(batch, 4)
    if roi.shape[0] != batch:
        raise ValueError(f"{roi.shape[0]} ROIs for a batch of {batch}")
    return roi.to(device)


class InterFormer(nn.Module):
    """The whole segmentor; build with `from_config`, `light()`, `tiny()` or `small()`."""

    def __init__(self, cfg):
        super().__init__()
        cfg = InterFormerConfig.parse(cfg)
        self.cfg = cfg
        self.backbone = MAEWithSimpleFPN(cfg.backbone, cfg.backbone_drop_path_rate,
                                         cfg.backbone_attn_drop_rate, cfg.init_values)
        self.neck = IMSA(cfg.neck, cfg.neck_drop_path_rate)
        self.decode_head = UPerHead(cfg.head, cfg.head_dropout_ratio)
        self.auxiliary_head = FCNHead(cfg.aux) if cfg.aux is not None else None

    # -- construction -----------------------------------------------------
    @classmethod
    def from_config(cls, cfg):
        """cfg: mmseg config text, a .py path, a config dict, an InterFormerConfig
        or the converter's ModelConfig."""
        return cls(cfg)

    @classmethod
    def light(cls):
        """InterFormer-Light (ViT-B backbone, no zoom-in)."""
        return cls(light_dict())

    @classmethod
    def tiny(cls):
        """InterFormer-Tiny (ViT-L backbone, zoom-in: expand 1.4, min size 32, from step 1)."""
        return cls(tiny_dict())

    @classmethod
    def small(cls, **kwargs):
        """A small model of the same architecture; see torchref.config.custom_dict."""
        return cls(custom_dict(**kwargs))

    @classmethod
    def from_checkpoint(cls, path, map_location="cpu"):
        """Model built from a checkpoint's meta['config'], weights loaded strictly."""
        ckpt = torch.load(path, map_location=map_location)
        meta = ckpt.get("meta", {}) if isinstance(ckpt, dict) else {}
        if not isinstance(meta, dict) or not meta.get("config"):
            raise ValueError(f"{path}: no meta['config']; build the model first and use "
                             "load_checkpoint")
        model = cls(meta["config"])
        model.load_state_dict(_state_dict_of(ckpt))
        return model

    # -- checkpoints ------------------------------------------------------
    def load_checkpoint(self, path, map_location="cpu", strict=True):
        """Load {'meta', 'state_dict'} (or a bare state_dict); strict keys by default."""
        ckpt = torch.load(path, map_location=map_location)
        return self.load_state_dict(_state_dict_of(ckpt), strict=strict)

    def config_text(self):
        """Official-form mmseg config text describing this model (for meta['config'])."""
        return self.cfg.text()

    def checkpoint(self, **meta):
        """The {'meta', 'state_dict'} dict the official tools write (mmseg 0.26 style)."""
        m = {"mmseg_version": "0.26.0", "mmcv_version": "1.6.0", "config": self.config_text(),
             "CLASSES": CLASSES, "PALETTE": PALETTE}
        m.update(meta)
        sd = collections.OrderedDict(
            (k, v.detach().cpu().contiguous().clone()) for k, v in self.state_dict().items())
        return {"meta": m, "state_dict": sd}

    def save_checkpoint(self, path, **meta):
        torch.save(self.checkpoint(**meta), path)

    # -- inference --------------------------------------------------------
    @property
    def zoom_in(self):
        return self.cfg.zoom_in

    def encode(self, img):
        """(B, 3, Hp, Wp) normalised, padded -> (F1, F2, F3, F4), strides 4, 8, 16, 32."""
        if img.shape[-2] % PAD_MULTIPLE or img.shape[-1] % PAD_MULTIPLE:
            raise ValueError(f"image size {tuple(img.shape[-2:])} is not a multiple of "
                             f"{PAD_MULTIPLE}; pad it (preprocess)")
        return self.backbone(img)

    def neck_forward(self, feats, ref_label, roi=None):
        """The 4 IMSA outputs for a click state."""
        ref_label = torch.as_tensor(ref_label, device=feats[0].device)
        if ref_label.dim() == 2:
            ref_label = ref_label[None]
        return self.neck(list(feats), ref_label, _as_roi(roi, feats[0].shape[0],
                                                         feats[0].device))

    def decode(self, feats, ref_label, roi=None):
        """Logits (B, 2, Hp, Wp) for features F1..F4, ref_label (B|1, Hp, Wp) codes 0..4
        (uint8/long; (Hp, Wp) for batch 1) and an optional zoom-in ROI."""
        outs = self.neck_forward(feats, ref_label, roi)
        size = (feats[0].shape[2] * 4, feats[0].shape[3] * 4)
        return resize(self.decode_head(outs), size)

    def forward(self, img, ref_label, roi=None):
        return self.decode(self.encode(img), ref_label, roi)

    def forward_train(self, img, ref_label, roi=None):
        """Training outputs: {'logits', 'aux_logits'} both upsampled to (Hp, Wp).

        (mmseg computes its losses on logits resized to the label size.)"""
        feats = self.encode(img)
        outs = self.neck_forward(feats, ref_label, roi)
        size = img.shape[-2:]
        res = {"logits": resize(self.decode_head(outs), size)}
        if self.auxiliary_head is not None:
            res["aux_logits"] = resize(self.auxiliary_head(outs), size)
        return res

    # -- helpers ----------------------------------------------------------
    def preprocess(self, rgb):
        """uint8 RGB (H, W, 3) array -> (1, 3, Hp, Wp) float32, normalised then zero-padded."""
        m = self.cfg.model
        x = torch.as_tensor(np.ascontiguousarray(rgb)).float()
        if not m.rgb:
            x = x.flip(-1)
        x = (x - torch.tensor(m.mean)) / torch.tensor(m.std)
        x = x.permute(2, 0, 1)[None]
        H, W = x.shape[-2:]
        Hp, Wp = (math.ceil(H / PAD_MULTIPLE) * PAD_MULTIPLE,
                  math.ceil(W / PAD_MULTIPLE) * PAD_MULTIPLE)
        return F.pad(x, (0, Wp - W, 0, Hp - H))

    @torch.no_grad()
    def init_weights(self):
        """The official initialisation for training without a pretrained checkpoint.

        Backbone (mmseg MAE.init_weights, no init_cfg): Linear weights
        trunc_normal(0.02), biases 0 except the FFN's N(0, 1e-6); Conv2d
        kaiming_normal (fan_in, ReLU gain), bias 0; LayerNorm/GroupNorm 1, 0;
        cls token trunc_normal(0.02); position embedding and relative position
        tables 0; LayerScale gammas init_values. Neck: PyTorch defaults, the
        reference-label embedding xavier_normal. Heads (mmcv ConvModule):
        kaiming_normal convs, BatchNorm 1, 0; conv_seg N(0, 0.01), bias 0.
        To start from MAE weights, load them into `backbone` afterwards
        (the official resizes pos_embed / rel-pos tables when img_size differs).
        """
        bb = self.backbone
        nn.init.trunc_normal_(bb.cls_token, std=0.02)
        nn.init.zeros_(bb.pos_embed)
        for name, m in bb.named_modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    if "ffn" in name:
                        nn.init.normal_(m.bias, std=1e-6)
                    else:
                        nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            if hasattr(m, "relative_position_bias_table"):
                nn.init.zeros_(m.relative_position_bias_table)
        for layer in bb.layers:
            nn.init.constant_(layer.gamma_1, self.cfg.init_values)
            nn.init.constant_(layer.gamma_2, self.cfg.init_values)
        for head in (self.decode_head, self.auxiliary_head):
            if head is None:
                continue
            for m in head.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
            nn.init.normal_(head.conv_seg.weight, std=0.01)
            nn.init.zeros_(head.conv_seg.bias)
        return self

    @torch.no_grad()
    def randomize_(self, seed=0):
        """Fill every parameter and BN statistic with seeded random values of sane scale.

        For benchmarks and conversion tests: unlike a fresh init (zero position
        tables, unit norms, identity BatchNorm) every tensor then matters to
        the output, so a wrongly wired or wrongly transformed tensor shows.
        Weights get ~unit gain (N(0, 1/fan_in)), norm scales 1 + N(0, 0.1^2),
        biases and BN means N(0, 0.1^2), BN variances U(0.5, 1.5).
        """
        g = torch.Generator().manual_seed(seed)

        def randn(shape):
            return torch.randn(shape, generator=g)

        transposed = {f"{n}.weight" for n, m in self.named_modules()
                      if isinstance(m, nn.ConvTranspose2d)}
        for name, p in list(self.named_parameters()) + list(self.named_buffers()):
            if not p.is_floating_point():
                continue                                  # index tables, counters
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_var":
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            elif leaf in ("running_mean", "bias"):
                p.copy_(0.1 * randn(p.shape))
            elif p.dim() == 1:                            # norm weights, LayerScale gammas
                p.copy_(1.0 + 0.1 * randn(p.shape))
            elif leaf in ("relative_position_bias_table", "pos_embed", "cls_token") or \
                    name == "neck.patch_embed":
                p.copy_(0.5 * randn(p.shape))
            else:                                         # conv / linear weights
                fan_in = p.shape[0] if name in transposed else p[0].numel()
                p.copy_(randn(p.shape) / math.sqrt(fan_in))
        return self


def _state_dict_of(ckpt):
    if isinstance(ckpt, dict) and "state_dict" in ckpt:
        return ckpt["state_dict"]
    if isinstance(ckpt, dict) and all(torch.is_tensor(v) for v in ckpt.values()):
        return ckpt
    raise ValueError("not a checkpoint: expected {'meta', 'state_dict'} or a state_dict")


def set_seed(seed):
    """Seed Python, NumPy and torch (the click simulator uses Python's random)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
