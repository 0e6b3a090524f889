"""torchref (the plain-PyTorch InterFormer) against the official model's golden outputs,
the official state_dict layout, the click protocol, and the converter.

Golden data: $IF_GOLDEN_DIR, <repo>/../shared/golden or tests/data/golden
(conftest.golden_case / golden_file skip with the places searched).
"""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import GOLDEN_CASES, ROOT, golden_case, golden_file  # noqa: E402
from torchref import InterFormer, InterFormerConfig, custom_dict, light_dict, tiny_dict  # noqa
from torchref import clicks as C  # noqa: E402
from torchref.png import read_png  # noqa: E402

FEAT_ATOL = 1e-4        # features / neck outputs, absolute
LOGIT_REL = 1e-4        # logits: max |err| <= LOGIT_REL * max |logit|
END_TO_END = ("tiny_vit", "tiny_vit_exact")


@pytest.fixture(autouse=True, scope="module")
def _threads():
    """One thread: the models are small, and on a loaded machine an OpenMP pool plus
    an OpenBLAS pool spinning against each other cost more than they bring."""
    from torchref.bench import get_blas_threads, set_blas_threads
    old, old_blas = torch.get_num_threads(), get_blas_threads()
    torch.set_num_threads(1)
    set_blas_threads(1)
    yield
    torch.set_num_threads(old)
    if old_blas is not None:
        set_blas_threads(old_blas)


def manifest(d):
    with open(os.path.join(d, "manifest.json")) as f:
        return json.load(f)


def npy(d, name):
    return np.load(os.path.join(d, name))


def padded_gt(d, man):
    """gt.png (0/255) zero-padded to the padded size, as 0/1 uint8."""
    Hp, Wp = man["padded_size"]
    gt = np.zeros((Hp, Wp), np.uint8)
    g = read_png(os.path.join(d, "gt.png"))
    gt[:g.shape[0], :g.shape[1]] = g > 127
    return gt


def recorded_clicks(d):
    with open(os.path.join(d, "clicks.json")) as f:
        return [(c["y"], c["x"], bool(c["positive"])) for c in json.load(f)]


_MODELS = {}


def golden_model(case):
    """The golden model.pth, built from its meta['config'] and strictly loaded (cached)."""
    if case not in _MODELS:
        _MODELS[case] = InterFormer.from_checkpoint(os.path.join(golden_case(case),
                                                                 "model.pth")).eval()
    return _MODELS[case]


def feats_of(d):
    return [torch.from_numpy(npy(d, f"feat{i}.npy")) for i in range(4)]


def roi_of(d, k):
    p = os.path.join(d, f"roi_{k}.npy")
    return np.load(p) if os.path.exists(p) else None


# ---------------------------------------------------------------------------
# State dict layout
# ---------------------------------------------------------------------------

def read_key_list(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                name, shape = line.split()
                out.append((name, tuple(int(x) for x in shape.strip("()").split(",") if x)))
    return out


def test_light_preset_state_dict_is_official():
    """Every key (incl. auxiliary_head, relative_position_index, num_batches_tracked),
    shape and the key order equal a real InterFormer-Light checkpoint's."""
    want = read_key_list(golden_file("light_state_dict_keys.txt"))
    model = InterFormer.light()
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert set(got) == set(want)
    assert got == want
    sd = model.state_dict()
    assert sd["backbone.layers.0.attn.relative_position_index"].dtype == torch.int64
    assert sd["decode_head.bottleneck.bn.num_batches_tracked"].dtype == torch.int64


def test_presets_match_converter_builtins():
    """light()/tiny() describe exactly the converter's built-in light/tiny models."""
    from converter.config import builtin_config, model_config
    for name, d in (("light", light_dict()), ("tiny", tiny_dict())):
        ours = InterFormerConfig.parse(d).model
        ref = model_config(builtin_config(name), "builtin")
        assert ours.__dict__ | {"source": ""} == ref.__dict__ | {"source": ""}, name
    tiny = InterFormerConfig.parse(tiny_dict())
    assert tiny.zoom_in and tiny.model.zoom_expand_ratio == 1.4
    assert tiny.model.zoom_min_size == 32 and tiny.model.zoom_start_step == 1
    assert not InterFormerConfig.parse(light_dict()).zoom_in


def test_small_model_state_dict_matches_converter_spec():
    from converter.model.spec import expected_state_dict, is_dropped
    model = InterFormer.small(depths=(2, 1, 3, 2), refine_start=(1, 1, 2, 1), zoom_in=True)
    sd = {k: tuple(v.shape) for k, v in model.state_dict().items() if not is_dropped(k)}
    assert sd == expected_state_dict(model.cfg.model)
    assert any(k.startswith("auxiliary_head.") for k in model.state_dict())


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_checkpoint_loads_strictly(case):
    d = golden_case(case)
    ckpt = torch.load(os.path.join(d, "model.pth"), map_location="cpu")
    model = InterFormer(ckpt["meta"]["config"])
    res = model.load_state_dict(ckpt["state_dict"], strict=True)
    assert not res.missing_keys and not res.unexpected_keys
    assert list(model.state_dict()) == list(ckpt["state_dict"])
    # The emitted config describes the same model as the golden text.
    again = InterFormerConfig.parse(model.config_text())
    assert again.model.__dict__ | {"source": ""} == model.cfg.model.__dict__ | {"source": ""}


# ---------------------------------------------------------------------------
# Golden numbers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", END_TO_END)
def test_golden_encoder_and_neck(case):
    d = golden_case(case)
    man = manifest(d)
    model = golden_model(case)
    H, W = man["image_size"]
    img = model.preprocess(read_png(os.path.join(d, "image.png")))
    np.testing.assert_allclose(img.numpy(), npy(d, "input.npy"), rtol=0, atol=1e-6)
    with torch.no_grad():
        feats = model.encode(torch.from_numpy(npy(d, "input.npy")))
        for i, f in enumerate(feats):
            err = float((f - torch.from_numpy(npy(d, f"feat{i}.npy"))).abs().max())
            print(f"{case} F{i + 1} max|err| = {err:.3g}")
            assert err <= FEAT_ATOL
        outs = model.neck_forward(feats_of(d), torch.from_numpy(npy(d, "ref_label_0.npy")))
        for i, o in enumerate(outs):
            err = float((o - torch.from_numpy(npy(d, f"neck_0_{i}.npy"))).abs().max())
            print(f"{case} neck_0_{i} max|err| = {err:.3g}")
            assert err <= FEAT_ATOL
        for k in range(man["num_clicks"]):
            outs = model.neck_forward(feats_of(d), torch.from_numpy(npy(d, f"ref_label_{k}.npy")))
            head = model.decode_head(outs)
            ref = torch.from_numpy(npy(d, f"head_{k}.npy"))
            assert float((head - ref).abs().max()) <= LOGIT_REL * float(ref.abs().max())


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_decoder_logits(case):
    """feat*.npy + ref_label_k (+ roi_k) -> logits_k for every step of every case."""
    d = golden_case(case)
    man = manifest(d)
    model = golden_model(case)
    feats = feats_of(d)
    with torch.no_grad():
        for k in range(man["num_clicks"]):
            roi = roi_of(d, k)
            logits = model.decode(feats, torch.from_numpy(npy(d, f"ref_label_{k}.npy")), roi)
            ref = torch.from_numpy(npy(d, f"logits_{k}.npy"))
            assert logits.shape == ref.shape
            err, scale = float((logits - ref).abs().max()), float(ref.abs().max())
            print(f"{case} step {k} roi={None if roi is None else roi.tolist()} "
                  f"max|err| = {err:.3g} ({err / scale:.3g} of max|logit| {scale:.3g})")
            assert err <= LOGIT_REL * scale, k
            # A flipped prediction is only acceptable where the official margin is tiny.
            margin = (ref[0, 1] - ref[0, 0]).abs()
            flipped = (logits[0, 1] > logits[0, 0]) != (ref[0, 1] > ref[0, 0])
            assert not bool((flipped & (margin > 2 * err)).any()), k


@pytest.mark.parametrize("case", END_TO_END)
def test_golden_session_replay(case):
    """clicks.interact with the recorded clicks reproduces ref labels, preds and IoUs."""
    d = golden_case(case)
    man = manifest(d)
    model = golden_model(case)
    steps = C.interact(model, torch.from_numpy(npy(d, "input.npy")), padded_gt(d, man),
                       num_clicks=man["num_clicks"], clicks=recorded_clicks(d))
    for k, s in enumerate(steps):
        assert np.array_equal(s["ref_label"], npy(d, f"ref_label_{k}.npy")), k
        diff = np.count_nonzero(s["pred"] != npy(d, f"pred_{k}.npy"))
        assert diff <= man["steps"][k]["pixels_margin_lt_1em4"], k
        assert abs(s["iou"] - man["steps"][k]["iou"]) < 1e-3, k


# ---------------------------------------------------------------------------
# Click protocol
# ---------------------------------------------------------------------------

def preds_of(d, man):
    """pred_k of a case: the file when present, else argmax(logits_k) (ties -> 0)."""
    out = []
    for k in range(man["num_clicks"]):
        p = os.path.join(d, f"pred_{k}.npy")
        if os.path.exists(p):
            out.append(np.load(p))
        else:
            lg = npy(d, f"logits_{k}.npy")
            out.append((lg[0, 1] > lg[0, 0]).astype(np.uint8))
    return out


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_ref_label_rules(case):
    d = golden_case(case)
    man = manifest(d)
    preds = preds_of(d, man)
    Hp, Wp = man["padded_size"]
    ref = C.initial_ref_label(Hp, Wp)
    for k, click in enumerate(recorded_clicks(d)):
        ref = C.add_clicks(ref, [click])
        assert np.array_equal(ref, npy(d, f"ref_label_{k}.npy")), k
        ref = C.update_by_prediction(ref, preds[k])
        p = os.path.join(d, f"ref_label_after_{k}.npy")
        if os.path.exists(p):
            assert np.array_equal(ref, np.load(p)), k


def test_zoom_roi_reproduces_golden():
    d = golden_case("tiny_decoder_zoom")
    man = manifest(d)
    preds = preds_of(d, man)
    start = man["zoom_in"]["start_step"]
    for k in range(man["num_clicks"]):
        if k < start:
            assert roi_of(d, k) is None
            continue
        roi = C.get_roi(preds[k - 1], npy(d, f"ref_label_{k}.npy"),
                        man["zoom_in"]["expand_ratio"], man["zoom_in"]["min_size"],
                        man["zoom_in"]["max_stride"])
        assert roi.dtype == np.int64 and roi.tolist() == roi_of(d, k).tolist(), k


def test_roi_rounding_and_limits():
    H, W = 96, 128
    pred = np.zeros((H, W), np.uint8)
    ref = C.initial_ref_label(H, W)
    assert C.get_roi(pred, ref).tolist() == [0, 0, W, H]          # empty mask: whole image
    ref = C.add_clicks(ref, [(50, 60, True)])                      # 11x11 disk
    # box [55, 45, 66, 56], centre (60.5, 50.5): 1.4x -> [53, 43, 68, 58]; min 32 ->
    # [round(44.5)=44, round(34.5)=34, round(76.5)=76, round(66.5)=66] (half to even);
    # snapped out to 32: [32, 32, 96, 96].
    assert C.get_roi(pred, ref).tolist() == [32, 32, 96, 96]


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_click_simulator(case):
    """Each recorded click is the simulator's sign and one of its max-distance pixels."""
    d = golden_case(case)
    man = manifest(d)
    gt, preds = padded_gt(d, man), preds_of(d, man)
    pred, done = np.zeros_like(gt), []
    rng = random.Random(man.get("seeds", {}).get("clicks_python_random", 0))
    same_draw = 0
    for k, click in enumerate(recorded_clicks(d)):
        positive, cands = C.click_candidates(pred, gt, done)
        assert positive == click[2], k
        assert any((cands == click[:2]).all(axis=1)), (k, click, cands[:5])
        same_draw += C.next_click(pred, gt, done, rng)[:2] == click[:2]
        done.append(click)
        pred = preds[k]
    print(f"{case}: seeded random draw reproduced {same_draw}/{len(done)} clicks")


def test_squared_distance_matches_brute_force():
    rng = np.random.default_rng(0)
    for shape, p in (((1, 1), 0.5), ((7, 13), 0.8), ((23, 31), 0.3), ((30, 20), 0.97)):
        m = rng.random(shape) < p
        for border in (True, False):
            got = C.squared_distance(m, border)
            P = np.pad(m, 1) if border else m
            zeros = np.argwhere(~P)
            off = 1 if border else 0
            ii, jj = np.meshgrid(np.arange(shape[0]) + off, np.arange(shape[1]) + off,
                                 indexing="ij")
            if len(zeros) == 0:
                continue
            bf = ((ii[..., None] - zeros[:, 0]) ** 2 + (jj[..., None] - zeros[:, 1]) ** 2)
            assert np.array_equal(got, bf.min(-1) * m), (shape, border)


def test_click_disk_and_prediction_update():
    ref = C.add_clicks(C.initial_ref_label(20, 20), [(10, 10, True)])
    assert np.count_nonzero(ref == 4) == 81 and np.count_nonzero(ref == 2) == 400 - 81
    ref = C.add_clicks(ref, [(0, 0, False)])                        # clipped at the corner
    assert ref[0, 0] == 0 and ref[5, 0] == 0 and ref[4, 4] == 2 and ref[3, 4] == 0
    pred = np.zeros((20, 20), np.uint8)
    pred[:, 10:] = 1
    after = C.update_by_prediction(ref, pred)
    assert after[19, 19] == 3 and after[19, 0] == 1 and after[10, 10] == 4 and after[0, 0] == 0
    again = C.update_by_prediction(after, 1 - pred)
    assert again[19, 19] == 2 and again[19, 0] == 2 and again[10, 10] == 4


# ---------------------------------------------------------------------------
# Our own checkpoints: config text, converter, training mode
# ---------------------------------------------------------------------------

def small_zoom_model(seed=1):
    """Small ClickSegmentorZoomIn with refine blocks on every level (ROI paths)."""
    return InterFormer.small(embed_dims=32, num_layers=2, num_heads=2, img_size=64,
                             depths=(2, 2, 3, 2), refine_start=(1, 1, 2, 1), zoom_in=True,
                             target_size=128).randomize_(seed).eval()


def test_config_text_roundtrip():
    from converter.config import resolve_config
    for d in (light_dict(), tiny_dict(), custom_dict(zoom_in=True, depths=(2, 2, 2, 2))):
        cfg = InterFormerConfig.parse(d)
        text = cfg.text()
        assert "model = dict(" in text and "type='ClickSegmentor" in text
        again = InterFormerConfig.parse(text)
        assert again == InterFormerConfig.parse(again.text())
        assert again.to_dict() == cfg.to_dict()
        conv = resolve_config({"config": text}, None)                 # the converter's view
        assert conv.__dict__ | {"source": ""} == cfg.model.__dict__ | {"source": ""}


def test_checkpoint_save_load(tmp_path):
    model = small_zoom_model()
    path = tmp_path / "m.pth"
    model.save_checkpoint(path)
    ckpt = torch.load(path)
    assert set(ckpt["meta"]) >= {"config", "CLASSES", "PALETTE", "mmseg_version"}
    again = InterFormer.from_checkpoint(path).eval()
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    bad = dict(ckpt["state_dict"])
    bad.pop("neck.norm0.bias")
    torch.save({"meta": ckpt["meta"], "state_dict": bad}, tmp_path / "bad.pth")
    with pytest.raises(RuntimeError, match="neck.norm0.bias"):
        again.load_checkpoint(tmp_path / "bad.pth")


def test_small_checkpoint_converts_and_matches(tmp_path):
    """A random torchref checkpoint converts unchanged; the IFG graphs, run by the
    NumPy reference interpreter, give our features and logits (flex-size grid,
    zoom-in ROI on refine blocks)."""
    import ifg_reference
    from converter import inspect as ifg_inspect

    model = small_zoom_model()
    model.save_checkpoint(tmp_path / "small.pth")
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "converter", str(tmp_path / "small.pth"), "-o",
                        str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    enc = ifg_inspect.read(str(tmp_path / "small.encoder.ifg"))
    dec = ifg_inspect.read(str(tmp_path / "small.decoder.ifg"))
    assert dec.meta_value("model.segmentor") == "ClickSegmentorZoomIn"

    img = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))  # 4x6 tokens
    with torch.no_grad():
        feats = model.encode(img)
    out = ifg_reference.run(enc, {"image": img[0].permute(1, 2, 0).numpy()})
    for i, f in enumerate(feats):
        a = f[0].permute(1, 2, 0).numpy()
        assert np.abs(out[f"F{i + 1}"] - a).max() <= FEAT_ATOL * max(1.0, np.abs(a).max())

    ref = C.add_clicks(C.initial_ref_label(64, 96), [(30, 40, True), (10, 80, False)])
    inputs = {f"F{i + 1}": f[0].permute(1, 2, 0).numpy() for i, f in enumerate(feats)}
    inputs["ref_label"] = ref
    results = []
    for roi in (None, np.array([32, 0, 96, 64])):
        with torch.no_grad():
            lg = model.decode(feats, torch.from_numpy(ref)[None], roi)[0].permute(1, 2, 0).numpy()
        if roi is not None:
            inputs["roi"] = roi.astype(np.int32)
        got = ifg_reference.run(dec, inputs)["logits"]
        err = np.abs(got - lg).max()
        print(f"converted small model, roi={roi}: max|err| = {err:.3g}")
        assert err <= LOGIT_REL * np.abs(lg).max()
        results.append(lg)
    assert np.abs(results[0] - results[1]).max() > 1e-3         # the ROI path was exercised


def test_train_mode_batch_and_roi():
    """Batch > 1 with per-sample ROIs equals per-sample batch-1 runs; training mode
    (BN batch statistics, drop path, dropout) runs forward and backward."""
    model = small_zoom_model()
    g = torch.Generator().manual_seed(3)
    img = torch.randn(2, 3, 64, 64, generator=g)
    ref = torch.from_numpy(np.stack([
        C.add_clicks(C.initial_ref_label(64, 64), [(20, 20, True)]),
        C.add_clicks(C.initial_ref_label(64, 64), [(40, 50, False)])]))
    roi = np.array([[0, 0, 32, 64], [32, 32, 64, 64]])
    with torch.no_grad():
        both = model(img, ref, roi)
        for i in range(2):
            one = model(img[i:i + 1], ref[i:i + 1], roi[i])
            assert torch.allclose(both[i:i + 1], one, atol=1e-5, rtol=0)
    model.train()
    bn = model.decode_head.fpn_bottleneck.bn
    before = bn.running_mean.clone()
    out = model.forward_train(img, ref, roi)
    assert out["logits"].shape == (2, 2, 64, 64) and out["aux_logits"].shape == (2, 2, 64, 64)
    loss = torch.nn.functional.cross_entropy(out["logits"], torch.zeros(2, 64, 64).long()) + \
        0.4 * torch.nn.functional.cross_entropy(out["aux_logits"], torch.zeros(2, 64, 64).long())
    loss.backward()
    assert not torch.equal(before, bn.running_mean)
    for name in ("backbone.pos_embed", "neck.patch_embed",
                 "neck.refine_stages.0.blocks.0.attn.query_proj.weight",
                 "auxiliary_head.conv_seg.weight"):
        p = dict(model.named_parameters())[name]
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_bench_runs():
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "torchref.bench", "--preset", "small", "--size",
                        "64", "--threads", "1", "--clicks", "3", "--encoder-runs", "1",
                        "--zoom"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["preset"] == "small" and res["threads"] == 1 and res["zoom"]
    assert res["encoder_ms"] > 0 and res["decoder_ms"] > 0 and res["torch"] == torch.__version__
    assert "BLAS_INFO" in res["blas"]["build"]


def test_bench_object_clicks():
    from torchref.bench import object_click
    # The sequence tools/if-bench.c object_click makes: centre, then +/- round 8 directions.
    assert [object_click(k, 32, 30, 8, 64) for k in range(5)] == [
        (30, 32, True), (30, 36, True), (30, 42, False), (34, 32, True), (40, 32, False)]
    assert object_click(6, 2, 60, 8, 64) == (60, 0, False)            # clamped inside
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "torchref.bench", "--preset", "small", "--size",
                        "64", "--threads", "1", "--clicks", "3", "--encoder-runs", "1",
                        "--warmup", "0", "--object", "32,32,8"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["object"] == [32, 32, 8] and res["decoder_ms_zoom"] > 0
    assert res["decoder_ms_nozoom"] > 0
    assert res["zoom_roi"] == [0, 0, 64, 64]     # "small" has no zoom-in: never a ROI


def test_init_weights_and_roi_checks():
    model = InterFormer.small().init_weights().eval()
    assert float(model.backbone.layers[0].attn.relative_position_bias_table.abs().sum()) == 0
    assert torch.all(model.backbone.layers[1].gamma_2 == model.cfg.init_values)
    assert 0 < float(model.decode_head.conv_seg.weight.std()) < 0.02
    feats = [torch.zeros(1, c, 32 // s, 32 // s) for c, s in zip((8, 16, 32, 64), (1, 2, 4, 8))]
    ref = torch.full((1, 128, 128), 2, dtype=torch.uint8)
    with torch.no_grad():
        assert model.decode(feats, ref).shape == (1, 2, 128, 128)
        for bad in ([0, 0, 0, 32], [0, 0, 48, 64], [0, 0, 160, 128], [-32, 0, 32, 32]):
            with pytest.raises(ValueError, match="ROI"):
                model.decode(feats, ref, bad)
