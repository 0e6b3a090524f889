"""Encode images with PyTorch into the C runtime's feature files (.iff).

    /usr/bin/python3 -m torchref.encode CHECKPOINT (IMAGES... | --list FILE) -o OUTDIR
        [--shard I/N] [--max-side M (1024; 0 = native)] [--device cpu|cuda[:K]] [--f16]
        [--config light|tiny|PATH]

The heavy half of InterFormer (the ViT encoder) on a GPU server, the clicks
in C on a laptop: OUTDIR/<image stem>.iff is exactly what
`interformer encode IMAGE -o X.iff` writes for the same checkpoint
converted with `python3 -m converter` (format/FEATURES.md, version 2), up
to float rounding:

* the model identity is the converter's `model.identity` (SHA-256 of the
  checkpoint's state_dict), so the converted decoder accepts the files;
* the hyper-parameters are resolved as the converter does (meta['config'],
  else --config) and the state_dict is checked by the converter's rules;
* preprocessing is the C runtime's (if_preprocess_rgb8): the RGB bytes as
  decoded, (v - mean) * (1 / std) in float32 with the config's mean/std,
  zero padding to a multiple of 32; with --max-side the image is first
  area-averaged to its working size exactly as FEATURES.md "Working
  resolution" specifies (the C encoder's `--max-side`).

Sharding: image k of the list (0-based, in the order given) belongs to shard
k mod N; run shards 0..N-1 on as many machines or GPUs. A file is written
atomically, and an image whose valid .iff already exists with the same
model identity, image size and working size is skipped, so an interrupted
run resumes where it stopped. One line per image on stdout and a summary;
exit status 0, 1 when an image failed (the others are still done), 2 with
one line `torchref.encode: error: ...` for bad arguments or a bad checkpoint.
"""

import argparse
import os
import sys
import time

import numpy as np

PROG = "torchref.encode"
EXIT_FAILED, EXIT_USAGE = 1, 2
MAX_WORK_SIDE = 32768          # the encoder's limit on the image it sees (FEATURES.md)
MAX_IMAGE_SIDE = 1048576       # an original image, when --max-side brings it down
DEFAULT_MAX_SIDE = 1024        # the C CLI's default (the library's is 0, native)


class UsageError(Exception):
    pass


class ImageError(Exception):
    pass


# ---------------------------------------------------------------- working resolution

def work_size(width, height, max_side):
    """(work_w, work_h): the longer side L becomes max_side when it is longer, the
    shorter S becomes max(1, floor(S * max_side / L + 0.5)) (exact integer arithmetic)."""
    longer = max(width, height)
    if not max_side or longer <= max_side:
        return width, height
    short = max(1, (2 * min(width, height) * max_side + longer) // (2 * longer))
    return (max_side, short) if width >= height else (short, max_side)


def _axis_split(n, nw):
    """An axis of n source pixels averaged down to nw <= n boxes, in units where a
    source pixel is nw long and a box n long (so every boundary is an integer):
    per source pixel, the box its start is in, the box its end is in, and the
    integer lengths of it inside each (b0, w0, b1, w1; w1 = 0 when b1 == b0)."""
    i = np.arange(n, dtype=np.int64)
    start, end = i * nw, (i + 1) * nw
    b0, b1 = start // n, (end - 1) // n
    w1 = np.where(b1 > b0, end - b1 * n, 0)
    return b0, nw - w1, b1, w1


def _reduce(a, axis, b0, w0, b1, w1, n_out, first=0):
    """Sum of weighted source slices per box `first .. first + n_out - 1` along axis."""
    shape = [1] * a.ndim
    shape[axis] = -1
    boxes = np.arange(first, first + n_out)
    out = 0
    for b, w in ((b0, w0), (b1, w1)):
        starts = np.searchsorted(b, boxes)          # every box owns at least one pixel
        out = out + np.add.reduceat(a * w.reshape(shape).astype(np.float64), starts, axis=axis)
    return out


def area_resize(rgb, work_w, work_h, chunk_bytes=64 << 20):
    """uint8 (H, W, 3) -> uint8 (work_h, work_w, 3), FEATURES.md "Working resolution":
    working pixel (x, y) is the mean of the source over [x W / work_w, (x+1) W / work_w)
    x [y H / work_h, (y+1) H / work_h), each source pixel weighted by the part of it
    inside, rounded to the nearest integer, halves up.

    Computed in float64 on integer values (the weights are lengths in units of
    1/work_w and 1/work_h source pixel, every partial sum below 2^53), so the
    means and their rounding are exact; the source is read in bands of rows."""
    H, W = rgb.shape[:2]
    if not (1 <= work_w <= W and 1 <= work_h <= H):
        raise ValueError(f"area_resize: {W}x{H} -> {work_w}x{work_h} is not a reduction")
    if (work_w, work_h) == (W, H):
        return np.ascontiguousarray(rgb, dtype=np.uint8)
    xs = _axis_split(W, work_w)
    yb0, yw0, yb1, yw1 = _axis_split(H, work_h)
    total = W * H                                   # the sum of a box's weights
    out = np.empty((work_h, work_w, 3), np.uint8)
    rows_per_out = H / work_h
    step = max(1, int(chunk_bytes / (W * 3 * 8 * 3) / (rows_per_out + 1)))
    for y0 in range(0, work_h, step):
        y1 = min(work_h, y0 + step)
        lo = int(np.searchsorted(yb1, y0))          # first source row reaching box y0
        hi = int(np.searchsorted(yb0, y1))          # rows from here start in box y1
        band = _reduce(rgb[lo:hi].astype(np.float64), 1, *xs, work_w)     # (rows, work_w, 3)
        b0, w0, b1, w1 = yb0[lo:hi], yw0[lo:hi], yb1[lo:hi], yw1[lo:hi]
        w0 = np.where(b0 < y0, 0, w0)               # the part of row lo above the band
        w1 = np.where(b1 >= y1, 0, w1)              # the part of row hi-1 below it
        num = _reduce(band, 0, np.maximum(b0, y0), w0, np.minimum(b1, y1 - 1), w1, y1 - y0, y0)
        num = num.astype(np.int64)                  # exact: integers below 2^53
        out[y0:y1] = (2 * num + total) // (2 * total)
    return out


# ---------------------------------------------------------------- images and preprocessing

def _pil():
    try:
        from PIL import Image
    except ImportError:                             # pragma: no cover
        raise UsageError("reading images needs Pillow (Debian: python3-pil)")
    Image.MAX_IMAGE_PIXELS = None                   # the sizes are checked here
    return Image


def image_size(path):
    """(width, height) from the header, without decoding the pixels."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageError(f"cannot read image: {e}")


def read_rgb(path):
    """uint8 (H, W, 3) as the C CLI's stb_image gives it (3 channels requested):
    gray replicated, palette expanded, alpha dropped (not composited), 16-bit
    samples reduced to their high byte, no EXIF rotation. PNG, BMP, TGA, PNM
    decode to the same bytes; JPEG decoders differ from stb_image's by a few
    levels (IDCT and chroma upsampling), so JPEG features match only closely."""
    Image = _pil()
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                a = np.asarray(im).astype(np.int64)
                g = (np.clip(a, 0, 65535) >> 8).astype(np.uint8)
                return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
            if mode == "F":
                raise ImageError("floating-point images are not supported")
            if mode != "RGB":
                im = im.convert("RGB")
            return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageError(f"cannot read image: {e}")


def preprocess(rgb, mean, std, pad_multiple):
    """if_preprocess_rgb8: float32 (Hp, Wp, 3), (v - mean) * (1 / std) per channel in
    float32 (mean and std as floats, 1 / std computed in double then rounded), zeros
    in the padding up to multiples of pad_multiple."""
    h, w = rgb.shape[:2]
    ph = -(-h // pad_multiple) * pad_multiple
    pw = -(-w // pad_multiple) * pad_multiple
    mean32 = np.array([m if s > 0 else 0.0 for m, s in zip(mean, std)], np.float32)
    inv32 = np.array([1.0 / float(np.float32(s)) if s > 0 else 1.0 for s in std], np.float32)
    x = np.zeros((ph, pw, 3), np.float32)
    x[:h, :w] = (rgb.astype(np.float32) - mean32) * inv32
    return x


# ---------------------------------------------------------------- the model

class Encoder:
    """A checkpoint's encoder (torchref's MAEWithSimpleFPN) on a device, with what the
    feature files need: identity, channels, strides, mean/std, pad multiple."""

    def __init__(self, checkpoint_path, config=None, device="cpu"):
        import torch

        from converter.checkpoint import load_checkpoint
        from converter.config import resolve_config
        from converter.errors import ConversionError
        from converter.iff import model_identity
        from converter.model.metadata import FEATURE_STRIDES, PAD_MULTIPLE
        from converter.model.params import Params
        from converter.model.spec import expected_state_dict

        from .model import InterFormer

        try:
            ckpt = load_checkpoint(checkpoint_path)
            try:
                cfg = resolve_config(ckpt.meta, config)
            except ConversionError as e:
                raise ConversionError(f"{checkpoint_path}: {e}")
            Params(ckpt.state_dict, expected_state_dict(cfg), checkpoint_path,
                   cfg.source).validate()
        except ConversionError as e:
            raise UsageError(str(e))
        self.identity = model_identity(ckpt)
        self.cfg = cfg
        self.mean, self.std = tuple(cfg.mean), tuple(cfg.std)
        self.pad_multiple = PAD_MULTIPLE
        self.strides = tuple(FEATURE_STRIDES)
        self.channels = tuple(cfg.backbone.fpn_out_dims)
        self.device = torch.device(device)
        backbone = InterFormer(cfg).backbone
        prefix = "backbone."
        sd = {k[len(prefix):]: torch.from_numpy(np.array(v)) for k, v in ckpt.state_dict.items()
              if k.startswith(prefix)}
        backbone.load_state_dict(sd, strict=True)
        del ckpt, sd
        self.backbone = backbone.eval().to(self.device)
        self._torch = torch

    def encode(self, rgb, max_side=0):
        """uint8 (H, W, 3) -> dict of write_iff's arguments (levels on the CPU, float32,
        channels last)."""
        torch = self._torch
        H, W = rgb.shape[:2]
        ww, wh = work_size(W, H, max_side)
        if ww > MAX_WORK_SIDE or wh > MAX_WORK_SIDE:
            raise ImageError(f"{W}x{H} is over {MAX_WORK_SIDE} a side; use --max-side")
        work = area_resize(rgb, ww, wh) if (ww, wh) != (W, H) else rgb
        x = preprocess(work, self.mean, self.std, self.pad_multiple)
        ph, pw = x.shape[:2]
        t = torch.from_numpy(x).permute(2, 0, 1)[None].to(self.device)
        with torch.no_grad():
            feats = self.backbone(t)
        levels = []
        for i, (f, c, s) in enumerate(zip(feats, self.channels, self.strides)):
            if tuple(f.shape) != (1, c, ph // s, pw // s):
                raise RuntimeError(f"F{i + 1} is {tuple(f.shape)}, expected "
                                   f"(1, {c}, {ph // s}, {pw // s})")
            levels.append(np.ascontiguousarray(f[0].permute(1, 2, 0).float().cpu().numpy()))
        return {"levels": levels, "image_size": (H, W), "work_size": (wh, ww),
                "padded_size": (ph, pw), "identity": self.identity, "strides": self.strides}


# ---------------------------------------------------------------- command line

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse_shard(text):
    """'I/N' -> (I, N) with 0 <= I < N."""
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must be I/N (e.g. 0/4), got {text!r}")
    if n < 1 or not 0 <= i < n:
        raise UsageError(f"--shard {text}: need N >= 1 and 0 <= I < N")
    return i, n


def read_list(path):
    """Image paths, one a line; blank lines and lines starting with '#' are skipped.
    Relative paths are taken from the current directory."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--list {path}: {getattr(e, 'strerror', None) or e}")
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]


def check_device(name):
    import torch
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UsageError(f"--device {name!r}: expected cpu, cuda or cuda:K")
    if dev.type == "cpu":
        return name
    if dev.type != "cuda":
        raise UsageError(f"--device {name!r}: expected cpu, cuda or cuda:K")
    if not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available (torch {torch.__version__}, "
                         f"built for CUDA {torch.version.cuda or 'none'})")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    # Full float32 on the GPU: TF32 convolutions would cost about 1e-3 of relative
    # accuracy, far from the C encoder's features.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return name


def output_names(images, outdir):
    """OUTDIR/<stem>.iff for every image of the whole list (all shards), refusing two
    images with one stem, so that the shards agree on every name."""
    outs, seen = [], {}
    for path in images:
        stem = os.path.splitext(os.path.basename(path))[0]
        if not stem:
            raise UsageError(f"image {path!r} has no file name")
        if stem in seen:
            raise UsageError(f"images {seen[stem]} and {path} would both write {stem}.iff")
        seen[stem] = path
        outs.append(os.path.join(outdir, stem + ".iff"))
    return outs


def up_to_date(out, identity, image_hw, work_hw):
    """A valid feature file of this model, image size and working size is at `out`."""
    from converter.iff import IffError, read_iff
    if not os.path.isfile(out):
        return False
    try:
        info = read_iff(out, levels=False)
    except (IffError, OSError):
        return False
    return (info["identity"] == identity and info["image_size"] == image_hw
            and info["work_size"] == work_hw)


def main(argv=None):
    p = _Parser(prog=f"python3 -m {PROG}",
                description="Encode images with PyTorch into feature files (.iff) that the C "
                            "runtime's sessions accept (format/FEATURES.md).")
    p.add_argument("checkpoint", help="InterFormer checkpoint (the one converted for the C side)")
    p.add_argument("images", nargs="*", help="image files (or --list)")
    p.add_argument("--list", metavar="FILE", help="a file naming the images, one per line")
    p.add_argument("-o", "--outdir", required=True, help="output folder (created if needed)")
    p.add_argument("--shard", default="0/1", metavar="I/N",
                   help="encode image k of the list when k mod N == I (default 0/1)")
    p.add_argument("--max-side", type=int, default=DEFAULT_MAX_SIDE, metavar="M",
                   help="encode at a working resolution whose longer side is at most M "
                        f"(area average; default {DEFAULT_MAX_SIDE}, as `interformer encode`; "
                        "0 = native size)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:K")
    p.add_argument("--f16", action="store_true", help="store the features as f16")
    p.add_argument("--config", help="hyper-parameters when the checkpoint has no "
                                    "meta['config']: light, tiny or an mmseg config file")
    try:
        args = p.parse_args(argv)
        shard, nshards = parse_shard(args.shard)
        if args.max_side < 0:
            raise UsageError(f"--max-side must be >= 0, got {args.max_side}")
        if args.list and args.images:
            raise UsageError("give images or --list, not both")
        images = read_list(args.list) if args.list else list(args.images)
        if not images:
            raise UsageError("no images given" + (f" (--list {args.list} is empty)"
                                                   if args.list else ""))
        if os.path.exists(args.outdir) and not os.path.isdir(args.outdir):
            raise UsageError(f"-o {args.outdir}: not a folder")
        outs = output_names(images, args.outdir)
        device = check_device(args.device)
        t_load = time.perf_counter()
        enc = Encoder(args.checkpoint, args.config, device)
        try:
            os.makedirs(args.outdir, exist_ok=True)
        except OSError as e:
            raise UsageError(f"-o {args.outdir}: {e.strerror or e}")
    except UsageError as e:
        sys.stderr.write(f"{PROG}: error: {' '.join(str(e).split())}\n")
        return EXIT_USAGE
    if not enc.cfg.rgb:
        sys.stderr.write(f"{PROG}: note: the config says to_rgb=False; like the C runtime, "
                         "the encoder is given RGB\n")

    from converter.iff import write_iff
    dtype = "f16" if args.f16 else "f32"
    mine = [k for k in range(len(images)) if k % nshards == shard]
    print(f"{PROG}: {args.checkpoint} on {device} (loaded in "
          f"{time.perf_counter() - t_load:.1f} s), shard {shard}/{nshards}: "
          f"{len(mine)} of {len(images)} images -> {args.outdir}", flush=True)
    counts = {"encoded": 0, "skipped": 0, "failed": 0}
    t0 = time.perf_counter()
    for n, k in enumerate(mine, 1):
        path, out = images[k], outs[k]
        tag = f"[{n}/{len(mine)}] {path}"
        try:
            if os.path.exists(out) and os.path.samefile(out, path):
                raise ImageError(f"the output {out} is the image itself")
            W, H = image_size(path)
            if not (1 <= W <= MAX_IMAGE_SIDE and 1 <= H <= MAX_IMAGE_SIDE):
                raise ImageError(f"{W}x{H} is outside 1..{MAX_IMAGE_SIDE} a side")
            ww, wh = work_size(W, H, args.max_side)
            if ww > MAX_WORK_SIDE or wh > MAX_WORK_SIDE:
                raise ImageError(f"{W}x{H} is over {MAX_WORK_SIDE} a side; use --max-side")
            if up_to_date(out, enc.identity, (H, W), (wh, ww)):
                counts["skipped"] += 1
                print(f"{tag} -> {out}: up to date, skipped", flush=True)
                continue
            t = time.perf_counter()
            rgb = read_rgb(path)
            if rgb.shape[:2] != (H, W):
                raise ImageError(f"decoded {rgb.shape[1]}x{rgb.shape[0]}, header said {W}x{H}")
            res = enc.encode(rgb, args.max_side)
            del rgb
            nbytes = write_iff(out, dtype=dtype, **res)
            ms = (time.perf_counter() - t) * 1e3
            ph, pw = res["padded_size"]
            counts["encoded"] += 1
            print(f"{tag} -> {out}: {W}x{H} (work {ww}x{wh}, padded {pw}x{ph}), {dtype}, "
                  f"{nbytes / 1e6:.2f} MB, {ms:.0f} ms", flush=True)
        except (ImageError, OSError, ValueError, RuntimeError, MemoryError) as e:
            counts["failed"] += 1
            msg = e.strerror if isinstance(e, OSError) and e.strerror else e
            if isinstance(e, OSError) and e.filename:
                msg = f"{e.filename}: {msg}"
            print(f"{tag}: FAILED: {' '.join(str(msg).split())}", file=sys.stderr, flush=True)
    secs = time.perf_counter() - t0
    print(f"{PROG}: shard {shard}/{nshards}: {len(mine)} images: {counts['encoded']} encoded, "
          f"{counts['skipped']} skipped, {counts['failed']} failed in {secs:.1f} s", flush=True)
    return EXIT_FAILED if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
