"""PyTorch speed baseline for the C runtime: encoder once, decoder per click.

    /usr/bin/python3 -m torchref.bench --preset light|tiny|small --size 512 \\
        --threads N --clicks 20 [--zoom] [--encoder-runs 3] [--seed 0] \\
        [--object X,Y,R]

Random weights (seeded; speed does not depend on their values), a random
normalised S x S input, `torch.no_grad()`, `torch.set_num_threads(N)`, eval
mode. The clicks are those of the official simulator against a synthetic
elliptic object, so ref labels (and, with --zoom, the zoom-in ROIs) evolve
as in a real session; only `model.decode` is timed per click (the
simulator's distance transforms are not). Prints one JSON line.

--object X,Y,R adds the small-object case of `build/if-bench --object`, on
the same features: the same number of clicks on and around a disk of
radius R at (X, Y) (object_click: the C tool's sequence), decoded twice:
"zoom", where the previous prediction given to the zoom-in rule (get_roi)
is that disk, so from the config's zoom_start_step on the ROI is the
expanded box of the disk and the clicks, and "nozoom", with no ROI. As
above only `model.decode` is timed (decoder_ms_zoom, decoder_ms_nozoom).

BLAS: whatever libtorch resolves at load time. The JSON reports torch's
build configuration and the BLAS/LAPACK shared objects actually mapped into
this process, so runs with a swapped library (LD_LIBRARY_PATH) are labelled.
When the loaded BLAS is OpenBLAS, its own thread pool is set to --threads
(or --blas-threads): torch does not do that for a "generic" BLAS build.
"""

import argparse
import ctypes
import json
import os
import platform
import random
import re
import statistics
import sys
import time

import numpy as np
import torch

from . import clicks as C
from .model import InterFormer

PRESETS = {
    "light": InterFormer.light,
    "tiny": InterFormer.tiny,
    "small": InterFormer.small,     # the golden tiny_vit architecture (smoke runs)
}


def _mapped_libraries():
    """Real paths of the BLAS / LAPACK / OpenMP / oneDNN objects mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for ln in f:
                path = ln.split()[-1]
                name = os.path.basename(path)
                if path.startswith("/") and any(
                        w in name for w in ("blas", "lapack", "mkl", "omp", "dnnl")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def _openblas():
    """ctypes handle of the loaded OpenBLAS (whatever its file name), or None.

    torch only sets BLAS threads for BLAS libraries it was built to know
    (Debian's build says BLAS_INFO=generic), so an OpenBLAS swapped in under
    the generic libblas.so.3 would otherwise use all cores whatever --threads says.
    """
    for path in _mapped_libraries():
        if "blas" not in os.path.basename(path):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "openblas_set_num_threads") and hasattr(lib, "openblas_get_num_threads"):
            return lib
    return None


def get_blas_threads():
    """OpenBLAS's thread pool size, or None when OpenBLAS is not loaded."""
    lib = _openblas()
    return None if lib is None else int(lib.openblas_get_num_threads())


def set_blas_threads(n):
    """Set OpenBLAS's own thread pool size if OpenBLAS is loaded; the resulting count or None."""
    lib = _openblas()
    if lib is None:
        return None
    lib.openblas_set_num_threads(int(n))
    return int(lib.openblas_get_num_threads())


def blas_info():
    """Build settings from torch.__config__.show() and the libraries actually mapped in."""
    show = torch.__config__.show()
    build = dict(re.findall(r"\b(BLAS_INFO|LAPACK_INFO|USE_MKLDNN|USE_OPENMP|TORCH_VERSION)"
                            r"=([^,\s]*)", show))
    lines = [ln.strip(" -") for ln in show.splitlines()
             if any(w in ln for w in ("MKL", "OpenMP", "LAPACK is", "CPU capability"))
             and "Build settings" not in ln]
    lib = _openblas()
    return {"build": build, "config": lines, "libraries": _mapped_libraries(),
            "openblas": bool(lib),
            "openblas_threads": int(lib.openblas_get_num_threads()) if lib else None}


def synthetic_gt(size, rng):
    """An elliptic object covering ~15% of the image, 0/1 uint8 (S, S)."""
    h, w = size
    cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
    ry, rx = 0.25 * h, 0.2 * w
    yy, xx = np.mgrid[:h, :w]
    return (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.uint8)


_DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, 1), (-1, -1), (1, -1))


def object_click(k, ox, oy, r, size):
    """Click k (y, x, positive) of the small-object sequence (tools/if-bench.c object_click):
    click 0 positive at the centre; then odd k positive at r/2 from it, even k negative at
    r + r/4, each kind going round eight directions."""
    if k == 0:
        return (oy, ox, True)
    positive = k % 2 == 1
    d = r // 2 if positive else r + r // 4
    vx, vy = _DIRS[((k - 1) // 2) % 8]
    return (min(max(oy + vy * d, 0), size - 1), min(max(ox + vx * d, 0), size - 1), positive)


def object_clicks(model, feats, obj, zoom, n, size):
    """Decoder ms of the n small-object clicks (see the module doc) and the last ROI."""
    cfg = model.cfg.model
    ox, oy, r = obj
    disk = C.disk((size, size), oy, ox, r).astype(np.uint8)
    ref = C.initial_ref_label(size, size)
    dec, roi = [], None
    for step in range(n):
        ref = C.add_clicks(ref, [object_click(step, ox, oy, r, size)], cfg.click_radius)
        roi = None
        if zoom and model.zoom_in and step >= cfg.zoom_start_step:
            roi = C.get_roi(disk, ref, cfg.zoom_expand_ratio, cfg.zoom_min_size, 32)
        label = torch.from_numpy(ref)[None]
        t0 = time.perf_counter()
        logits = model.decode(feats, label, roi)
        dec.append(ms(t0))
        pred = (logits[0, 1] > logits[0, 0]).numpy().astype(np.uint8)
        ref = C.update_by_prediction(ref, pred)
    roi = [int(v) for v in roi] if roi is not None else [0, 0, size, size]
    return dec, roi


def ms(t0):
    return (time.perf_counter() - t0) * 1e3


def run(args):
    torch.set_num_threads(args.threads)
    blas_threads = set_blas_threads(args.blas_threads or args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = PRESETS[args.preset]().randomize_(args.seed).eval()
    cfg = model.cfg.model
    S = args.size
    if S % 32:
        raise SystemExit("--size must be a multiple of 32")
    img = torch.randn(1, 3, S, S, generator=torch.Generator().manual_seed(args.seed))
    gt = synthetic_gt((S, S), np.random.default_rng(args.seed))

    with torch.no_grad():
        for _ in range(args.warmup):
            feats = model.encode(img)
        enc = []
        for _ in range(args.encoder_runs):
            t0 = time.perf_counter()
            feats = model.encode(img)
            enc.append(ms(t0))

        ref = C.initial_ref_label(S, S)
        pred = np.zeros((S, S), np.uint8)
        done, dec, rois = [], [], 0
        for step in range(args.clicks):
            click = C.next_click(pred, gt, done, rng)
            if click is not None:
                done.append(click)
                ref = C.add_clicks(ref, [click], cfg.click_radius)
            roi = None
            if args.zoom and step >= cfg.zoom_start_step:
                roi = C.get_roi(pred, ref, cfg.zoom_expand_ratio, cfg.zoom_min_size, 32)
                rois += 1
            label = torch.from_numpy(ref)[None]
            t0 = time.perf_counter()
            logits = model.decode(feats, label, roi)
            dec.append(ms(t0))
            pred = (logits[0, 1] > logits[0, 0]).numpy().astype(np.uint8)
            ref = C.update_by_prediction(ref, pred)

        extra = {}
        if args.object:
            obj = tuple(int(v) for v in args.object.split(","))
            zdec, zroi = object_clicks(model, feats, obj, True, args.clicks, S)
            ndec, _ = object_clicks(model, feats, obj, False, args.clicks, S)
            extra = {"object": list(obj), "zoom_roi": zroi,
                     "decoder_ms_zoom": round(statistics.median(zdec), 3),
                     "decoder_ms_nozoom": round(statistics.median(ndec), 3)}

    n_params = sum(p.numel() for p in model.parameters())
    return {
        "impl": "torchref",
        "preset": args.preset,
        "size": [S, S],
        "threads": args.threads,
        "torch_threads": torch.get_num_threads(),
        "blas_threads": blas_threads,
        "clicks": args.clicks,
        "zoom": bool(args.zoom),
        "rois_used": rois,
        "encoder_ms": round(statistics.median(enc), 3),
        "encoder_runs_ms": [round(t, 3) for t in enc],
        "decoder_ms": round(statistics.median(dec), 3),
        "decoder_ms_mean": round(statistics.mean(dec), 3),
        "decoder_ms_min": round(min(dec), 3),
        "decoder_ms_max": round(max(dec), 3),
        "decoder_first_ms": round(dec[0], 3),
        "params": n_params,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "blas": blas_info(),
        **extra,
    }


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m torchref.bench", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="light")
    p.add_argument("--size", type=int, default=512, help="square input size (multiple of 32)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--clicks", type=int, default=20, help="timed decoder calls (one per click)")
    p.add_argument("--zoom", action="store_true",
                   help="zoom-in ROIs from the config's start step (refine blocks on the ROI)")
    p.add_argument("--encoder-runs", type=int, default=3, help="timed encoder runs (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed encoder runs first")
    p.add_argument("--blas-threads", type=int, default=0,
                   help="OpenBLAS thread pool size when OpenBLAS is loaded (default: --threads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--object", default="",
                   help="X,Y,R: also time the small-object clicks, zoom-in and not (see above)")
    args = p.parse_args(argv)
    if args.clicks < 1 or args.encoder_runs < 1 or args.threads < 1 or args.warmup < 0:
        p.error("--clicks, --encoder-runs, and --threads must be >= 1, --warmup >= 0")
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
