"""Config options that no golden case exercises.

The official InterFormer configs never set them, but they are legal
MAEWithSimpleFPN / IMSA arguments and the converter supports them:
backbone final_norm / patch_norm / several out_indices, IMSA qkv_bias=False,
patch_norm=False, qk_scale, custom pool_ratios, a scalar mlp_ratio.

Each variant is built from a synthetic state_dict, run through the reference
interpreter (which also checks every declared dimension) and, where an
equivalent default model exists, compared with it (e.g. qkv_bias=False must
equal the default model with zero biases).
"""

import numpy as np
import pytest

import ifg_reference
from conftest import golden_case
from converter import inspect as ifg_inspect
from converter.checkpoint import Checkpoint
from converter.config import model_config, parse_embedded_config
from converter.convert import build_graphs
from converter.errors import ConversionError
from converter.model.params import relative_position_index
from converter.model.spec import expected_state_dict

BASE = None


def base_text():
    global BASE
    if BASE is None:
        BASE = open(golden_case("tiny_vit") + "/config.py").read()
    return BASE


def make(text, seed=0, state_dict=None):
    """(Checkpoint, ModelConfig) with random weights for the config text."""
    cfg = model_config(parse_embedded_config(text, "test"), "test")
    rng = np.random.default_rng(seed)
    sd = {}
    for k, shape in expected_state_dict(cfg).items():
        if k.endswith("relative_position_index"):
            sd[k] = relative_position_index(*cfg.backbone.window)
        elif k.endswith("running_var"):
            sd[k] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            sd[k] = (rng.standard_normal(shape) * 0.2).astype(np.float32)
    if state_dict:
        sd.update({k: v for k, v in state_dict.items() if k in sd})
    return Checkpoint("variant.pth", sd, {"config": text}), cfg


def run(ck, image, ref_label):
    enc, dec, _ = build_graphs(ck)
    enc, dec = ifg_inspect.parse(enc.to_bytes()), ifg_inspect.parse(dec.to_bytes())
    feats = ifg_reference.run(enc, {"image": image})
    logits = ifg_reference.run(dec, dict(feats, ref_label=ref_label))["logits"]
    assert all(np.all(np.isfinite(v)) for v in feats.values()) and np.all(np.isfinite(logits))
    return feats, logits


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(1)
    return rng.standard_normal((96, 64, 3)).astype(np.float32), \
        rng.integers(0, 5, (96, 64)).astype(np.uint8)


def edit(text, *pairs):
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_backbone_norms_and_out_indices(inputs):
    text = edit(base_text(), ("out_indices=-1,", "out_indices=[0, 1, 1, 0], final_norm=True, "
                                                 "patch_norm=True,"))
    ck, cfg = make(text)
    assert cfg.backbone.out_indices == (0, 1, 1, 0) and cfg.backbone.final_norm
    assert "backbone.ln1.weight" in ck.state_dict
    assert "backbone.patch_embed.norm.bias" in ck.state_dict
    feats, _ = run(ck, *inputs)
    assert feats["F1"].shape == (24, 16, 8) and feats["F4"].shape == (3, 2, 64)


def test_repeated_out_index_equals_default(inputs):
    ck, _ = make(base_text())
    ck4, _ = make(edit(base_text(), ("out_indices=-1,", "out_indices=(1, 1, -1, 1),")),
                  state_dict=ck.state_dict)
    (f1, l1), (f4, l4) = run(ck, *inputs), run(ck4, *inputs)
    for k in f1:
        np.testing.assert_allclose(f1[k], f4[k], atol=1e-6)
    np.testing.assert_allclose(l1, l4, atol=1e-6)


def test_neck_options(inputs):
    text = edit(base_text(), ("mlp_ratio=(8, 8, 4, 4)),", "mlp_ratio=3, qkv_bias=False, "
                              "patch_norm=False, qk_scale=0.3, pool_ratios=[(2, 4), (1, 3), "
                              "(1,), (1, 2)]),"))
    ck, cfg = make(text)
    assert cfg.neck.mlp_ratios == (3.0,) * 4 and cfg.neck.qk_scale == 0.3
    assert "neck.stages.0.downsample.norm.weight" not in ck.state_dict
    assert "neck.stages.0.blocks.0.attn.query_proj.bias" not in ck.state_dict
    assert "neck.stages.0.blocks.0.attn.dconvs.2.weight" not in ck.state_dict
    assert ck.state_dict["neck.stages.1.blocks.0.mlp.0.weight"].shape == (48, 16, 1, 1)
    _, logits = run(ck, *inputs)
    assert logits.shape == (96, 64, 2)
    dec = build_graphs(ck)[1]
    scales = {n[4]["SCALE"] for n in dec.nodes if "SCALE" in n[4]}
    assert scales == {0.3}


def test_no_qkv_bias_equals_zero_bias(inputs):
    ck0, _ = make(edit(base_text(), ("mlp_ratio=(8, 8, 4, 4)),",
                                     "mlp_ratio=(8, 8, 4, 4), qkv_bias=False),")))
    sd = dict(ck0.state_dict)
    ck1, cfg = make(base_text(), state_dict=sd)
    for k, shape in expected_state_dict(cfg).items():
        if k.endswith(("query_proj.bias", "key_value_proj.bias")):
            ck1.state_dict[k] = np.zeros(shape, np.float32)
    (_, l0), (_, l1) = run(ck0, *inputs), run(ck1, *inputs)
    np.testing.assert_allclose(l0, l1, atol=1e-6)


def test_explicit_default_scale_and_scalar_mlp_ratio_equal_default(inputs):
    text = edit(base_text(), ("mlp_ratio=(8, 8, 4, 4)),", "mlp_ratio=(8, 8, 4, 4), "
                              "qk_scale=None),"))
    ck0, _ = make(base_text())
    ck1, _ = make(text, state_dict=ck0.state_dict)
    assert build_graphs(ck0)[1].to_bytes() == build_graphs(ck1)[1].to_bytes()


def test_f16_overflow_is_an_error():
    ck, _ = make(base_text())
    ck.state_dict["neck.stages.1.blocks.0.mlp.4.weight"] = \
        np.full((16, 128, 1, 1), 1e6, np.float32)
    with pytest.raises(ConversionError, match="'neck.stages.1.blocks.0.mlp.4.weight' has values "
                                              "beyond the f16 range"):
        build_graphs(ck, weights="f16")
    build_graphs(ck, weights="f32")
