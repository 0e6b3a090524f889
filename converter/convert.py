"""The conversion pipeline: checkpoint -> validated weights -> two IFG files.

Order matters for the "no partial output" guarantee: everything that can
fail because of the input (reading, config, state_dict checks, building and
serialising both graphs) happens in memory first; only then are the two
files written, each to a temporary name, and renamed into place together.
"""

import os
import tempfile

from . import ifg
from .checkpoint import load_checkpoint
from .config import resolve_config
from .errors import ConversionError
from .model.builder import GraphBuilder
from .model.decoder import build_decoder
from .model.encoder import build_encoder
from .model.metadata import model_name, write_metadata
from .model.params import Params
from .model.spec import expected_state_dict

WEIGHT_DTYPES = ("f32", "f16")


def build_graphs(checkpoint, config=None, weights="f32", name=None):
    """(encoder Graph, decoder Graph, ModelConfig) for a loaded Checkpoint."""
    if weights not in WEIGHT_DTYPES:
        raise ConversionError(f"--weights must be one of {', '.join(WEIGHT_DTYPES)}, "
                              f"got {weights!r}")
    path = checkpoint.path
    try:
        cfg = resolve_config(checkpoint.meta, config)
    except ConversionError as e:
        raise ConversionError(f"{path}: {e}")
    params = Params(checkpoint.state_dict, expected_state_dict(cfg), path, cfg.source)
    params.validate()
    identity = checkpoint.identity()
    display = model_name(cfg, name or os.path.splitext(os.path.basename(path))[0])
    f16 = weights == "f16"
    graphs = []
    for kind, build in ((ifg.KIND_ENCODER, build_encoder), (ifg.KIND_DECODER, build_decoder)):
        b = GraphBuilder(kind, f16)
        try:
            build(cfg, params, b)
        except ConversionError as e:
            raise ConversionError(f"{path}: {e}")
        write_metadata(b.g, cfg, identity, display, weights)
        graphs.append(b.g)
    params.assert_all_used()
    return graphs[0], graphs[1], cfg


def output_paths(outdir, name):
    return (os.path.join(outdir, f"{name}.encoder.ifg"),
            os.path.join(outdir, f"{name}.decoder.ifg"))


def _file_mode():
    """0666 minus the umask: what open() would give, unlike mkstemp's 0600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_together(files):
    """Write {path: bytes} so that either all files appear or none does."""
    tmps = []
    try:
        for path, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ifg",
                                       dir=os.path.dirname(os.path.abspath(path)))
            tmps.append(tmp)
            os.chmod(tmp, _file_mode())
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        done = []
        try:
            for tmp, path in zip(tmps, files):
                os.replace(tmp, path)
                done.append(path)
        except BaseException:
            for path in done:
                os.unlink(path)
            raise
    finally:
        for tmp in tmps:
            if os.path.exists(tmp):
                os.unlink(tmp)


def convert(checkpoint_path, outdir, name=None, config=None, weights="f32"):
    """Convert one checkpoint; returns (encoder path, decoder path)."""
    if name is None:
        name = os.path.splitext(os.path.basename(checkpoint_path))[0]
    if not name or os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
        raise ConversionError(f"--name {name!r} is not a plain file name")
    checkpoint = load_checkpoint(checkpoint_path)
    enc, dec, _ = build_graphs(checkpoint, config, weights, name)
    data = {p: g.to_bytes() for p, g in zip(output_paths(outdir, name), (enc, dec))}
    try:
        os.makedirs(outdir, exist_ok=True)
        write_together(data)
    except OSError as e:
        raise ConversionError(f"{outdir}: cannot write output: {e.strerror or e}")
    return tuple(data)
