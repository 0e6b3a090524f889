"""Config parsing (safe ast evaluation, _base_ merging) and the typed model config."""

import os
import shutil
import subprocess
import textwrap

import pytest

from conftest import golden_case, run_converter
from converter import config
from converter.config import ConfigError, Unevaluable


def write(dir_, name, text):
    p = os.path.join(dir_, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(textwrap.dedent(text))
    return p


def test_expressions():
    names = config.parse_config_text(textwrap.dedent("""
        '''docstring'''
        import os
        from x import y
        size = (512, 512)
        a = dict(type='A', size=size, neg=-3, pos=+2.5, flag=not False, n=None)
        b = {'k': [1, 2] + [3], 't': ('x',) + ('y',), 'rep': [0] * 3}
        c = size[0] // 16 * 2 ** 2 - 1
        d = dict(a, extra=1)
        e = dict(**a, more=2)
        f = list((1, 2)), tuple([3])
        g = h = 5
        (i, j) = (1, 2)
        k: int = 7
        m = a['type']
    """))
    assert names["a"] == dict(type="A", size=(512, 512), neg=-3, pos=2.5, flag=True, n=None)
    assert names["b"] == {"k": [1, 2, 3], "t": ("x", "y"), "rep": [0, 0, 0]}
    assert names["c"] == 127
    assert names["d"]["extra"] == 1 and names["d"]["type"] == "A"
    assert names["e"]["more"] == 2
    assert names["f"] == ([1, 2], (3,))
    assert names["g"] == names["h"] == 5 and (names["i"], names["j"]) == (1, 2)
    assert names["k"] == 7 and names["m"] == "A"
    assert "os" not in names and "y" not in names


def test_names_are_copied_not_shared():
    names = config.parse_config_text("a = dict(x=[1])\nb = dict(inner=a)\n")
    names["b"]["inner"]["x"].append(2)
    assert names["a"] == {"x": [1]}


def test_unevaluable_values_are_placeholders(tmp_path):
    marker = tmp_path / "pwned"
    names = config.parse_config_text(
        f"a = __import__('os').system('touch {marker}')\n"
        "b = open('/etc/passwd').read()\n"
        "c = lambda x: x\n"
        "d = undefined_name\n"
        "e = 10 ** 10 ** 10\n"
        "f = [0] * 10 ** 9\n"
        "g = dict(ok=1, bad=foo())\n", "cfg.py")
    for k in "abcdef":
        assert isinstance(names[k], Unevaluable), k
    assert names["g"]["ok"] == 1 and isinstance(names["g"]["bad"], Unevaluable)
    assert names["g"]["bad"].where == "cfg.py:7"
    assert not marker.exists()


@pytest.mark.parametrize("text, msg", [
    ("if True:\n    x = 1\n", "cfg.py:1: unsupported statement 'If'"),
    ("def f():\n    pass\n", "unsupported statement 'FunctionDef'"),
    ("x = (\n", "cfg.py:1: not valid Python"),
    ("x = {{_base_.model}}\n", "cfg.py:1: {{_base_.model}} is not defined by the _base_ files"),
    ("a.b = 1\n", "unsupported assignment target"),
])
def test_rejected_statements(text, msg):
    with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace("{", r"\{")):
        config.parse_config_text(text, "cfg.py")


def test_base_inheritance(tmp_path):
    d = str(tmp_path)
    write(d, "_base_/model.py", """
        model = dict(type='ClickSegmentor', backbone=dict(embed_dims=1024, depth=24,
                     norm_cfg=dict(type='LN', eps=1e-6)), neck=dict(depths=(2, 2, 6, 3)))
        optimizer = dict(type='AdamW', lr=1e-4)
    """)
    write(d, "_base_/data.py", """
        _base_ = 'deeper/runtime.py'
        crop_size = (512, 512)
    """)
    write(d, "_base_/deeper/runtime.py", "runner = dict(max_iters=10)\n")
    child = write(d, "child.py", """
        _base_ = ['./_base_/model.py', './_base_/data.py']
        model = dict(backbone=dict(embed_dims=768, norm_cfg=dict(eps=1e-5)),
                     neck=dict(_delete_=True, depths=(1, 1, 2, 1)))
        optimizer = dict(_delete_=True, type='SGD')
        dims = {{_base_.model.backbone.embed_dims}}
        steps = {{ _base_.runner.max_iters }} * 2
    """)
    cfg = config.load_config_file(child)
    assert cfg["model"]["type"] == "ClickSegmentor"
    assert cfg["model"]["backbone"] == dict(embed_dims=768, depth=24,
                                            norm_cfg=dict(type="LN", eps=1e-5))
    assert cfg["model"]["neck"] == dict(depths=(1, 1, 2, 1))
    assert cfg["optimizer"] == dict(type="SGD")
    assert cfg["crop_size"] == (512, 512) and cfg["runner"] == dict(max_iters=10)
    assert cfg["dims"] == 1024 and cfg["steps"] == 20   # {{_base_.x}} reads the bases
    assert "_base_" not in cfg


def test_base_errors(tmp_path):
    d = str(tmp_path)
    write(d, "a.py", "x = 1\n")
    write(d, "b.py", "x = 2\n")
    dup = write(d, "dup.py", "_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(ConfigError, match="'x' is defined by more than one _base_"):
        config.load_config_file(dup)
    loop = write(d, "loop.py", "_base_ = 'loop.py'\n")
    with pytest.raises(ConfigError, match="circular"):
        config.load_config_file(loop)
    missing = write(d, "missing.py", "_base_ = 'nope.py'\n")
    with pytest.raises(ConfigError, match="nope.py: cannot read config"):
        config.load_config_file(missing)
    with pytest.raises(ConfigError, match="embedded config has _base_"):
        config.parse_embedded_config("_base_ = ['x.py']\n", "meta['config']")


def test_builtins():
    light = config.model_config(config.builtin_config("light"), "light")
    tiny = config.model_config(config.builtin_config("tiny"), "tiny")
    b = light.backbone
    assert (b.embed_dims, b.num_layers, b.num_heads, b.mlp_ratio, b.img_size, b.patch_size) == \
        (768, 12, 12, 4, (512, 512), 16)
    assert b.fpn_out_dims == (32, 64, 128, 256) and b.fpn_rescales == (4, 2, 1, 0.5)
    assert b.ln_eps == 1e-6 and b.window == (32, 32)
    n = light.neck
    assert n.target_size == (512, 512) and n.in_channels == (32, 64, 128, 256)
    assert n.num_heads == (1, 2, 4, 8) and n.depths == (1, 1, 2, 1)
    assert n.refine_start == (1, 1, 2, 1) and n.mlp_ratios == (8, 8, 4, 4)
    assert [n.stage_target(i) for i in range(4)] == [(128, 128), (64, 64), (32, 32), (16, 16)]
    assert [n.stage_stride(i) for i in range(4)] == [4, 8, 16, 32]
    assert light.head.channels == 64 and light.head.pool_scales == (1, 2, 3, 6)
    assert light.segmentor == "ClickSegmentor"
    assert (tiny.backbone.embed_dims, tiny.backbone.num_layers, tiny.backbone.num_heads) == \
        (1024, 24, 16)
    assert tiny.neck.depths == (2, 2, 6, 3) and tiny.segmentor == "ClickSegmentorZoomIn"
    assert (tiny.zoom_expand_ratio, tiny.zoom_min_size, tiny.zoom_start_step) == (1.4, 32, 1)
    assert light.mean == (123.675, 116.28, 103.53) and light.std == (58.395, 57.12, 57.375)


def _official_repo():
    repo = "/work/.mirror/YouHuang67+InterFormer/repo"
    if not os.path.isdir(repo) or not shutil.which("git"):
        pytest.skip("official InterFormer mirror not available")
    return repo


def test_official_config_files_match_builtins(tmp_path):
    """The official config files (with their _base_ chains) describe the built-in models."""
    repo = _official_repo()
    files = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD", "configs"],
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        data = subprocess.run(["git", "-C", repo, "show", f"HEAD:{f}"], capture_output=True,
                              check=True).stdout
        os.makedirs(tmp_path / os.path.dirname(f), exist_ok=True)
        (tmp_path / f).write_bytes(data)
    for name in ("light", "tiny"):
        path = str(tmp_path / f"configs/interformer_{name}_coco_lvis_320k.py")
        got = config.model_config(config.load_config_file(path), path)
        ref = config.model_config(config.builtin_config(name), name)
        assert (got.backbone, got.neck, got.head) == (ref.backbone, ref.neck, ref.head), name
        assert (got.mean, got.std, got.rgb) == (ref.mean, ref.std, ref.rgb)
        # The official files train with ClickSegmentor; zoom-in is an evaluation choice.
        assert got.segmentor == "ClickSegmentor"


@pytest.mark.parametrize("edit, msg", [
    (("type='ClickSegmentor'", "type='EncoderDecoder'"), "model.type: 'EncoderDecoder' is not"),
    (("patch_size=16", "patch_size=8"), "model.backbone.patch_size: 8 is not supported"),
    (("rescales=(4, 2, 1, 0.5)", "rescales=(4, 2, 1)"), "model.backbone.fpn_cfg.rescales"),
    (("depths=(1, 1, 2, 1)", "depths=(1, 1, 2)"), "model.neck.depths: expected a list of 4"),
    (("refine_start=(1, 1, 2, 1)", "refine_start=(1, 1, 3, 1)"), "refine_start[2] = 3 > depths"),
    (("num_classes=2,\n        norm_cfg", "num_classes=3,\n        norm_cfg"),
     "model.decode_head.num_classes: 3 is not supported"),
    (("in_channels=[8, 16, 32, 64],\n        in_index",
      "in_channels=[8, 16, 32, 65],\n        in_index"),
     "model.decode_head.in_channels: [8, 16, 32, 65] differ"),
])
def test_model_config_errors(edit, msg):
    text = open(os.path.join(golden_case("tiny_vit"), "config.py")).read()
    assert edit[0] in text
    cfg = config.parse_embedded_config(text.replace(edit[0], edit[1], 1), "meta['config']")
    with pytest.raises(ConfigError, match=msg.replace("[", r"\[").replace("(", r"\(")):
        config.model_config(cfg, "meta['config']")


def test_config_file_for_bare_state_dict(tmp_path):
    """A bare state_dict + --config FILE gives the same files as the embedded config."""
    torch = pytest.importorskip("torch")
    d = golden_case("tiny_vit")
    ck = torch.load(os.path.join(d, "model.pth"), map_location="cpu")
    bare = tmp_path / "bare.pth"
    torch.save(ck["state_dict"], str(bare))
    r = run_converter(bare, "-o", tmp_path / "a", "--name", "m", "--config",
                      os.path.join(d, "config.py"))
    assert r.returncode == 0, r.stderr
    r = run_converter(os.path.join(d, "model.pth"), "-o", tmp_path / "b", "--name", "m",
                      "--config", "light")   # ignored: meta['config'] takes precedence
    assert r.returncode == 0, r.stderr
    for part in ("encoder", "decoder"):
        assert (tmp_path / "a" / f"m.{part}.ifg").read_bytes() == \
            (tmp_path / "b" / f"m.{part}.ifg").read_bytes()


@pytest.mark.parametrize("case", ["tiny_vit", "tiny_vit_exact"])
def test_golden_config_file_is_the_checkpoints(case):
    """The project copy of a golden case's config.py (tiny_vit_exact's:
    tiny_vit's plus its difference, through _base_; tests/data/golden/NOTE.md)
    reads as the config embedded in its model.pth."""
    from converter.checkpoint import load_checkpoint
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "golden", case)
    embedded = load_checkpoint(os.path.join(d, "model.pth")).meta["config"]
    assert config.load_config_file(os.path.join(d, "config.py")) == \
        config.parse_embedded_config(embedded, f"{case}/model.pth")
