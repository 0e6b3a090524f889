"""The metadata both graph files carry (FORMAT.md, "Metadata keys").

Identical in the encoder and the decoder, so the runtime can check that two
files belong together (`model.identity`) and knows how to preprocess images
and run the click loop without the original config.
"""

from .. import __version__
from ..config import builtin_config, model_config

REF_CODES = (0, 1, 2, 3, 4)   # definite bg, possible bg, unknown, possible fg, definite fg
PAD_MULTIPLE = 32             # the largest feature stride
FEATURE_STRIDES = (4, 8, 16, 32)


def model_name(cfg, fallback):
    """'interformer_light' / 'interformer_tiny' when the architecture is an official one."""
    for name in ("light", "tiny"):
        ref = model_config(builtin_config(name), name)
        if (cfg.backbone, cfg.neck, cfg.head) == (ref.backbone, ref.neck, ref.head):
            return f"interformer_{name}"
    return fallback


def write_metadata(g, cfg, identity, name, weights):
    g.meta_str("model.family", "interformer")
    g.meta_str("model.name", name)
    g.meta_str("model.identity", identity)
    g.meta_str("model.segmentor", cfg.segmentor)
    g.meta_str("converter.version", __version__)
    g.meta_str("weights.dtype", weights)
    g.meta_float("preprocess.mean", cfg.mean)
    g.meta_float("preprocess.std", cfg.std)
    g.meta_int("preprocess.rgb", int(cfg.rgb))
    g.meta_int("preprocess.pad_multiple", PAD_MULTIPLE)
    g.meta_int("features.strides", FEATURE_STRIDES)
    g.meta_int("features.channels", cfg.backbone.fpn_out_dims)
    g.meta_int("encoder.patch_size", cfg.backbone.patch_size)
    g.meta_int("click.radius", cfg.click_radius)
    g.meta_int("ref.codes", REF_CODES)
    g.meta_int("zoom.enabled", int(cfg.segmentor == "ClickSegmentorZoomIn"))
    g.meta_float("zoom.expand_ratio", cfg.zoom_expand_ratio)
    g.meta_int("zoom.min_size", cfg.zoom_min_size)
    g.meta_int("zoom.start_step", cfg.zoom_start_step)
    g.meta_int("zoom.max_stride", FEATURE_STRIDES[-1])
