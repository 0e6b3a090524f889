"""A real-size InterFormer-Light checkpoint converts (f32 and f16).

The checkpoint is synthesised from golden/light_state_dict_keys.txt (every
key and shape of a real Light model, including the auxiliary head and the
BatchNorm counters) with small random values, a correct relative position
index and positive running variances, and saved with torch.save without
meta, so the built-in `light` config is what describes it.
"""

import os
import subprocess

import numpy as np
import pytest

from conftest import golden_file, run_converter
from converter import config, ifg
from converter import inspect as ifg_inspect
from converter.model.params import relative_position_index
from converter.model.spec import expected_state_dict, is_dropped


def read_keys():
    keys = {}
    for line in open(golden_file("light_state_dict_keys.txt")):
        if line.strip():
            name, shape = line.split()
            keys[name] = tuple(int(d) for d in shape.strip("()").split(",") if d)
    return keys


def test_spec_matches_real_light_keys():
    """The expected state_dict of the built-in light config is exactly the real one."""
    keys = read_keys()
    want = {k: v for k, v in keys.items() if not is_dropped(k)}
    got = expected_state_dict(config.model_config(config.builtin_config("light"), "light"))
    assert list(got) == list(want)
    assert got == want
    assert any(k.startswith("auxiliary_head.") for k in keys)
    assert any(k.endswith("num_batches_tracked") for k in keys)


def test_tiny_spec_extends_light():
    """Built-in tiny: ViT-L and the deeper neck with refine stages."""
    cfg = config.model_config(config.builtin_config("tiny"), "tiny")
    spec = expected_state_dict(cfg)
    assert spec["backbone.pos_embed"] == (1, 1025, 1024)
    assert "backbone.layers.23.attn.qkv.weight" in spec
    assert "neck.refine_stages.2.blocks.3.attn.query_proj.weight" in spec
    assert "neck.refine_stages.2.blocks.4.attn.query_proj.weight" not in spec
    assert cfg.segmentor == "ClickSegmentorZoomIn"
    assert (cfg.zoom_expand_ratio, cfg.zoom_min_size, cfg.zoom_start_step) == (1.4, 32, 1)


@pytest.fixture(scope="module")
def light_checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    sd = {}
    for name, shape in read_keys().items():
        if name.endswith("relative_position_index"):
            a = relative_position_index(32, 32)
        elif name.endswith("num_batches_tracked"):
            a = np.array(1000, dtype=np.int64)
        elif name.endswith("running_var"):
            a = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            a = (rng.standard_normal(shape, dtype=np.float32) * 0.02)
        sd[name] = torch.from_numpy(np.ascontiguousarray(a))
    path = tmp_path_factory.mktemp("light") / "light_random.pth"
    torch.save(sd, str(path))
    del sd
    yield path
    path.unlink()   # ~500 MB: do not leave it to pytest's tmp retention


def test_light_real_size(light_checkpoint, tmp_path):
    sizes = {}
    for weights in ("f32", "f16"):
        out = tmp_path / weights
        r = run_converter(light_checkpoint, "-o", out, "--config", "light", "--weights", weights)
        assert r.returncode == 0, r.stderr
        assert r.stderr == "" and r.stdout == ""
        assert sorted(os.listdir(out)) == ["light_random.decoder.ifg", "light_random.encoder.ifg"]
        enc = ifg_inspect.read(out / "light_random.encoder.ifg")
        dec = ifg_inspect.read(out / "light_random.decoder.ifg")
        for f in (enc, dec):
            assert f.meta_value("model.name") == "interformer_light"
            assert f.meta_value("model.segmentor") == "ClickSegmentor"
            assert f.meta_value("weights.dtype") == weights
            assert f.meta_value("features.channels") == (32, 64, 128, 256)
            assert f.flags == (ifg.FLAG_F16 if weights == "f16" else 0)
        assert enc.meta == dec.meta
        # The C reader validates and loads both real-size files too.
        inspect_bin = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                   os.environ.get("IF_BUILD", "build"), "if-inspect")
        if os.path.exists(inspect_bin):
            for name in ("light_random.encoder.ifg", "light_random.decoder.ifg"):
                r = subprocess.run([inspect_bin, str(out / name)], capture_output=True, text=True)
                assert r.returncode == 0, r.stderr
        # every tensor of the real model except the index tables, the aux head and the
        # BN counters is in a graph; BN is folded (no running stats), gammas folded
        n_params = enc.parameter_count() + dec.parameter_count()
        sizes[weights] = (os.path.getsize(out / "light_random.encoder.ifg"),
                          os.path.getsize(out / "light_random.decoder.ifg"), n_params)
        ops = [n.op for n in enc.nodes]
        assert ops.count("VIT_ATTENTION") == 12 and ops.count("LINEAR") == 48
        del enc, dec
        for f in os.listdir(out):
            os.unlink(out / f)
    (e32, d32, p32), (e16, d16, p16) = sizes["f32"], sizes["f16"]
    assert p32 == p16
    # Stored parameters = the model's tensors minus what folding removes: BN weight,
    # running mean and variance (the BN bias becomes the conv bias) and the LayerScale
    # gammas; the relative position index is recomputed by the runtime.
    keys = read_keys()
    folded = (".bn.weight", ".bn.running_mean", ".bn.running_var", ".gamma_1", ".gamma_2",
              ".relative_position_index")
    stored = sum(int(np.prod(s)) for k, s in keys.items()
                 if not is_dropped(k) and not k.endswith(folded))
    assert p32 == stored
    assert 95e6 < p32 < 100e6       # ViT-B (86M) + SimpleFPN + IMSA + UPerHead
    assert 0.49 < e16 / e32 < 0.52, (e16, e32)
    assert 0.49 < d16 / d32 < 0.56, (d16, d32)
