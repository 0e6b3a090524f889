"""torchref: a plain-PyTorch InterFormer (ICCV 2023) with the official module tree.

The speed baseline for the C runtime (torchref.bench) and the model that a
training script trains; its checkpoints convert with `python3 -m converter`.

    from torchref import InterFormer
    model = InterFormer.light().eval()
    feats = model.encode(img)                 # once per image
    logits = model.decode(feats, ref_label)   # per click
"""

from .config import InterFormerConfig, custom_dict, light_dict, tiny_dict
from .model import InterFormer

__all__ = ["InterFormer", "InterFormerConfig", "light_dict", "tiny_dict", "custom_dict"]
