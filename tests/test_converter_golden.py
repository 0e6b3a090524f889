"""Converted golden checkpoints reproduce the official model's outputs.

Each golden case's model.pth is converted (f32 and f16); the graphs are run
by the NumPy reference interpreter (tests/ifg_reference.py, which implements
format/FORMAT.md op by op) and compared with what the official PyTorch code
computed: features F1..F4 for the end-to-end cases, and the logits of every
click step, fed with the recorded ref_label_k / roi_k.
"""

import json
import os

import numpy as np
import pytest

import ifg_reference
from conftest import GOLDEN_CASES, golden_case
from converter import ifg
from converter import inspect as ifg_inspect
from converter.checkpoint import load_checkpoint

FEAT_ATOL = 1e-4      # f32 features
LOGIT_ATOL = 1e-3     # f32 logits (README "Tolerances")
F16_ATOL = 5e-2       # f16 weights: a loose sanity bound ...
F16_AGREE = 0.995     # ... and the fraction of pixels whose prediction must agree


def hwc(a):
    """(1, C, H, W) golden tensor -> (H, W, C) graph layout."""
    return np.ascontiguousarray(a[0].transpose(1, 2, 0))


def load_case(case):
    d = golden_case(case)
    man = json.load(open(os.path.join(d, "manifest.json")))
    feats = {f"F{i + 1}": hwc(np.load(os.path.join(d, f"feat{i}.npy"))) for i in range(4)}
    steps = []
    for k in range(man["num_clicks"]):
        inp = dict(feats, ref_label=np.load(os.path.join(d, f"ref_label_{k}.npy")))
        roi = os.path.join(d, f"roi_{k}.npy")
        if os.path.exists(roi):
            inp["roi"] = np.load(roi).astype(np.int32)
        steps.append((inp, hwc(np.load(os.path.join(d, f"logits_{k}.npy")))))
    return d, man, feats, steps


def agreement(a, b):
    return float(np.mean((a[..., 1] > a[..., 0]) == (b[..., 1] > b[..., 0])))


@pytest.mark.parametrize("weights", ["f32", "f16"])
@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_case(case, weights, converted):
    d, man, feats, steps = load_case(case)
    enc_path, dec_path = converted(case, weights)
    enc, dec = ifg_inspect.read(enc_path), ifg_inspect.read(dec_path)
    f16 = weights == "f16"

    if not man["features_given"]:
        image = hwc(np.load(os.path.join(d, "input.npy")))
        out = ifg_reference.run(enc, {"image": image})
        for name, ref in feats.items():
            err = float(np.max(np.abs(out[name] - ref)))
            print(f"{case} {weights} encoder {name} max|err| = {err:.3g}")
            assert out[name].shape == ref.shape
            assert err < (F16_ATOL if f16 else FEAT_ATOL), name

    for k, (inputs, ref) in enumerate(steps):
        logits = ifg_reference.run(dec, inputs)["logits"]
        assert logits.shape == ref.shape
        err = float(np.max(np.abs(logits - ref)))
        agree = agreement(logits, ref)
        print(f"{case} {weights} step {k} roi={'roi' in inputs} max|err| = {err:.3g} "
              f"agreement = {agree:.6f}")
        if f16:
            assert err < F16_ATOL and agree >= F16_AGREE, k
        else:
            assert err < LOGIT_ATOL, k
            # Predictions may only differ where the official margin is below the error.
            margin = np.abs(ref[..., 1] - ref[..., 0])
            flipped = (logits[..., 1] > logits[..., 0]) != (ref[..., 1] > ref[..., 0])
            assert not np.any(flipped & (margin > 2 * LOGIT_ATOL)), k


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_metadata(case, converted):
    d, man, _, _ = load_case(case)
    enc, dec = (ifg_inspect.read(p) for p in converted(case, "f32"))
    assert (enc.kind, dec.kind) == (ifg.KIND_ENCODER, ifg.KIND_DECODER)
    assert enc.flags == dec.flags == 0
    assert enc.meta == dec.meta
    m = {k: v[1] for k, v in enc.meta.items()}
    for key in ("model.family", "model.name", "model.identity", "model.segmentor",
                "converter.version", "weights.dtype", "preprocess.mean", "preprocess.std",
                "preprocess.rgb", "preprocess.pad_multiple", "features.strides",
                "features.channels", "encoder.patch_size", "click.radius", "ref.codes",
                "zoom.enabled", "zoom.expand_ratio", "zoom.min_size", "zoom.start_step",
                "zoom.max_stride"):
        assert key in m, key
    assert m["model.family"] == "interformer"
    assert m["converter.version"] == "0.1.0"
    assert m["weights.dtype"] == "f32"
    assert m["model.segmentor"] == man["segmentor"]
    assert m["model.identity"] == load_checkpoint(os.path.join(d, "model.pth")).identity()
    assert m["features.channels"] == tuple(man["config_summary"]["neck"]["in_channels"])
    assert m["features.strides"] == (4, 8, 16, 32)
    assert m["preprocess.mean"] == (123.675, 116.28, 103.53)
    assert m["preprocess.std"] == (58.395, 57.12, 57.375)
    assert m["preprocess.rgb"] == (1,) and m["preprocess.pad_multiple"] == (32,)
    assert m["click.radius"] == (man["click_radius"],)
    assert m["ref.codes"] == (0, 1, 2, 3, 4)
    zoom = man["segmentor"] == "ClickSegmentorZoomIn"
    assert m["zoom.enabled"] == (int(zoom),)
    assert m["zoom.expand_ratio"] == (1.4,) and m["zoom.min_size"] == (32,)
    assert m["zoom.start_step"] == (1,) and m["zoom.max_stride"] == (32,)

    names = lambda f, ts: [f.tensors[t].name for t in ts]   # noqa: E731
    assert names(enc, [t for t, _ in enc.inputs]) == ["image"]
    assert names(enc, enc.outputs) == ["F1", "F2", "F3", "F4"]
    assert names(dec, [t for t, _ in dec.inputs]) == ["F1", "F2", "F3", "F4", "ref_label", "roi"]
    assert [fl for _, fl in dec.inputs] == [0, 0, 0, 0, ifg.IN_PER_CLICK,
                                            ifg.IN_PER_CLICK | ifg.IN_OPTIONAL]
    assert names(dec, dec.outputs) == ["logits"]
    refine = [n for n in dec.nodes if n.op in ("CROP", "PASTE")]
    assert bool(refine) == (case == "tiny_decoder_zoom")


def test_golden_identity_matches_torch():
    """The torch-free reader's identity equals one computed from torch.load."""
    torch = pytest.importorskip("torch")
    import hashlib
    path = os.path.join(golden_case("tiny_vit"), "model.pth")
    sd = torch.load(path, map_location="cpu")["state_dict"]
    h = hashlib.sha256()
    for name in sorted(sd):
        a = sd[name].contiguous().numpy()
        h.update(name.encode() + b"\0" + a.dtype.name.encode() + b"\0"
                 + ",".join(map(str, a.shape)).encode() + b"\0"
                 + a.astype(a.dtype.newbyteorder("<")).tobytes())
    assert load_checkpoint(path).identity() == h.hexdigest()


def test_f16_files_store_matrices_as_f16(converted):
    for p32, p16 in zip(converted("tiny_vit", "f32"), converted("tiny_vit", "f16")):
        a, b = ifg_inspect.read(p32), ifg_inspect.read(p16)
        assert b.flags == ifg.FLAG_F16 and a.flags == 0
        assert b.meta_value("weights.dtype") == "f16"
        for ta, tb in zip(a.tensors, b.tensors):
            assert ta.name == tb.name
            if ta.is_const:
                assert ta.dtype == ifg.DT_F32
                assert tb.dtype == (ifg.DT_F16 if len(tb.dims) >= 2 else ifg.DT_F32), tb.name
                np.testing.assert_array_equal(tb.data, ta.data.astype(tb.data.dtype))
