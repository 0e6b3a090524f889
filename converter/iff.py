"""Writer and reader of the IFF per-image feature file (format/FEATURES.md, version 2).

The C runtime writes these with `if_features_save` and reads them with
`if_features_load`; this module is the Python side of the same format, so
features computed elsewhere (torchref.encode, by PyTorch on a GPU) can be
clicked on by the C sessions. NumPy only: torch is not imported.

    write_iff(path, levels, image_size, work_size, padded_size, identity, strides, dtype)
    read_iff(path) -> dict          (checks everything the C reader checks)
    model_identity(checkpoint)      (the `model.identity` the converter writes)

Sizes are (height, width) pairs, like the header stores them. A level is a
(h, w, channels) array, channels last (the runtime's layout).
"""

import os
import random
import string
import struct
import zlib

import numpy as np

MAGIC = b"IFFEAT\0\0"
VERSION = 2
READ_VERSIONS = (1, 2)
HEADER_BYTES = 64
IDENT_BYTES = 72
LEVEL_REC_BYTES = 32
N_LEVELS = 4
ALIGN = 64
MAX_WORK_SIDE = 32768             # the encoder's limit (and version 1's image limit)
MAX_IMAGE_SIDE = 1048576          # version 2's original-image limit
MAX_CHANNELS = 65536
DTYPES = {"f32": 0, "f16": 1}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
_NP = {0: np.dtype("<f4"), 1: np.dtype("<f2")}
TABLE_END = HEADER_BYTES + IDENT_BYTES + LEVEL_REC_BYTES * N_LEVELS    # 264


class IffError(ValueError):
    """A feature file (or the arguments of one) that breaks FEATURES.md; str(e) is one line."""


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def model_identity(checkpoint):
    """The `model.identity` that `python3 -m converter` writes for a checkpoint (path or
    converter.checkpoint.Checkpoint): hex SHA-256 over its whole state_dict
    (Checkpoint.identity). Feature files must carry it for the decoder to accept them."""
    from .checkpoint import Checkpoint, load_checkpoint
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = load_checkpoint(checkpoint)
    return checkpoint.identity()


def _pair(name, v):
    try:
        h, w = (int(x) for x in v)
    except (TypeError, ValueError):
        raise IffError(f"{name} must be a (height, width) pair, got {v!r}")
    return h, w


def layout(padded_size, channels, strides, dtype="f32"):
    """[(h, w, offset, nbytes)] of the four levels, and the file size, as written."""
    ph, pw = padded_size
    esize = _NP[DTYPES[dtype]].itemsize
    pos, out = _align(TABLE_END), []
    for c, s in zip(channels, strides):
        h, w = ph // s, pw // s
        nbytes = h * w * c * esize
        out.append((h, w, pos, nbytes))
        end = pos + nbytes
        pos = _align(end)
    return out, end


def _temporary(target):
    """(fd, path) of a new file TARGET.tmp-XXXXXX (six random characters, as the C
    side's mkstemp makes them, so `interformer encode --shard` reruns recognise a
    killed run's leftover)."""
    chars = string.ascii_letters + string.digits
    for _ in range(100):
        tmp = f"{target}.tmp-{''.join(random.SystemRandom().choice(chars) for _ in range(6))}"
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{target}: no free temporary name")


def write_iff(path, levels, image_size, work_size, padded_size, identity, strides,
              dtype="f32"):
    """Write a version-2 feature file atomically (temporary file TARGET.tmp-XXXXXX in
    the target's folder, fsync, os.replace; a symbolic link is followed). IffError for arguments
    that do not make a valid file (nothing is written then); OSError from the disk."""
    if dtype not in DTYPES:
        raise IffError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    ih, iw = _pair("image_size", image_size)
    wh, ww = _pair("work_size", work_size)
    ph, pw = _pair("padded_size", padded_size)
    if not (1 <= ih <= MAX_IMAGE_SIDE and 1 <= iw <= MAX_IMAGE_SIDE):
        raise IffError(f"image size {iw}x{ih} is outside 1..{MAX_IMAGE_SIDE}")
    if not (1 <= wh <= min(ih, MAX_WORK_SIDE) and 1 <= ww <= min(iw, MAX_WORK_SIDE)):
        raise IffError(f"working size {ww}x{wh} is not within 1..min(image {iw}x{ih}, "
                       f"{MAX_WORK_SIDE})")
    if not (wh <= ph <= 2 * MAX_WORK_SIDE and ww <= pw <= 2 * MAX_WORK_SIDE):
        raise IffError(f"padded size {pw}x{ph} is smaller than the working size {ww}x{wh} "
                       f"or over {2 * MAX_WORK_SIDE}")
    ident = identity.encode("ascii") if isinstance(identity, str) else bytes(identity)
    if len(ident) >= IDENT_BYTES or b"\0" in ident:
        raise IffError(f"identity must be at most {IDENT_BYTES - 1} ASCII characters "
                       "without NUL")
    levels = list(levels)
    strides = [int(s) for s in strides]
    if len(levels) != N_LEVELS or len(strides) != N_LEVELS:
        raise IffError(f"{len(levels)} levels and {len(strides)} strides, expected {N_LEVELS}")
    channels = []
    for i, (a, s) in enumerate(zip(levels, strides)):
        shape = np.shape(a)
        if s < 1 or ph % s or pw % s:
            raise IffError(f"level {i}: stride {s} does not divide the padded size {pw}x{ph}")
        if len(shape) != 3 or shape[:2] != (ph // s, pw // s) or not 1 <= shape[2] <= MAX_CHANNELS:
            raise IffError(f"level {i} is {shape}, expected ({ph // s}, {pw // s}, channels) "
                           f"at stride {s} (channels 1..{MAX_CHANNELS})")
        channels.append(shape[2])
    code = DTYPES[dtype]
    table, file_bytes = layout((ph, pw), channels, strides, dtype)

    head = bytearray(_align(TABLE_END))
    head[0:8] = MAGIC
    struct.pack_into("<IIQII", head, 8, VERSION, 0, file_bytes, code, N_LEVELS)
    struct.pack_into("<6I", head, 32, ih, iw, ph, pw, wh, ww)
    head[HEADER_BYTES:HEADER_BYTES + len(ident)] = ident
    for i, ((h, w, off, nbytes), c, s) in enumerate(zip(table, channels, strides)):
        struct.pack_into("<4I2Q", head, HEADER_BYTES + IDENT_BYTES + LEVEL_REC_BYTES * i,
                         c, s, h, w, off, nbytes)

    target = os.path.realpath(path) if os.path.islink(path) else os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    fd, tmp = _temporary(target)
    try:
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w+b") as f:
            fd = None
            f.write(head)
            crc = zlib.crc32(memoryview(head)[16:])
            pos = len(head)
            for (h, w, off, nbytes), a in zip(table, levels):
                if off > pos:                       # zero padding up to the 64-aligned offset
                    pad = bytes(off - pos)
                    f.write(pad)
                    crc = zlib.crc32(pad, crc)
                data = np.ascontiguousarray(np.asarray(a, dtype=np.float32).astype(_NP[code]))
                buf = memoryview(data).cast("B")
                assert len(buf) == nbytes
                f.write(buf)
                crc = zlib.crc32(buf, crc)
                pos = off + nbytes
            f.seek(12)
            f.write(struct.pack("<I", crc))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        tmp = None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    try:                                            # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return file_bytes


def read_iff(path, data=None, levels=True):
    """Read and validate a feature file (version 1 or 2) as the C reader does.

    Returns {'version', 'dtype' ('f32'|'f16'), 'image_size', 'work_size',
    'padded_size' ((h, w) each), 'identity' (str), 'channels', 'strides',
    'levels' (four float32 (h, w, c) arrays), 'file_bytes'}. IffError names
    the first rule the file breaks. `data`: the file's bytes, when already read;
    levels=False validates everything but leaves 'levels' out."""
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    b = memoryview(data)
    size = len(b)

    def fail(msg):
        raise IffError(f"{path}: {msg}")

    if size < 8:
        fail(f"feature file: {size} bytes")
    if bytes(b[:8]) != MAGIC:
        fail("not a feature file (magic)")
    if size < HEADER_BYTES:
        fail(f"feature file: {size}-byte header")
    version, stored_crc, file_bytes, code, nl = struct.unpack_from("<IIQII", b, 8)
    if version not in READ_VERSIONS:
        fail(f"feature file version {version}, readable: "
             f"{', '.join(map(str, READ_VERSIONS))}")
    if file_bytes > size:
        fail(f"feature file: {size} of {file_bytes} bytes")
    if file_bytes < size:
        fail(f"feature file: {size} bytes, header says {file_bytes}")
    crc = zlib.crc32(b[16:])
    if crc != stored_crc:
        fail(f"feature file: crc {crc:08x}, stored {stored_crc:08x}")
    ih, iw, ph, pw, wh, ww = struct.unpack_from("<6I", b, 32)
    if code not in _NP:
        fail(f"feature file: dtype {code}")
    if nl != N_LEVELS:
        fail(f"feature file: {nl} levels, expected {N_LEVELS}")
    if version == 1:
        if any(b[48:64]):
            fail("feature file: version 1 with nonzero bytes at 48..63")
        wh, ww = ih, iw
        max_image = MAX_WORK_SIDE
    else:
        if any(b[56:64]):
            fail("feature file: reserved bytes 56..63 are not zero")
        max_image = MAX_IMAGE_SIDE
    if not (1 <= ih <= max_image and 1 <= iw <= max_image):
        fail(f"feature file: image {iw}x{ih} outside 1..{max_image}")
    if not (1 <= wh <= min(ih, MAX_WORK_SIDE) and 1 <= ww <= min(iw, MAX_WORK_SIDE)):
        fail(f"feature file: working size {ww}x{wh} for an image {iw}x{ih}")
    if not (wh <= ph <= 2 * MAX_WORK_SIDE and ww <= pw <= 2 * MAX_WORK_SIDE):
        fail(f"feature file: padded {pw}x{ph} for a working size {ww}x{wh}")
    if size < TABLE_END:
        fail("feature file: level table")
    raw_ident = bytes(b[HEADER_BYTES:HEADER_BYTES + IDENT_BYTES])
    identity = raw_ident.split(b"\0", 1)[0].decode("ascii", "replace")
    np_dtype = _NP[code]
    want_levels, levels = levels, []
    channels, strides, spans = [], [], []
    for i in range(nl):
        c, s, h, w, off, nbytes = struct.unpack_from(
            "<4I2Q", b, HEADER_BYTES + IDENT_BYTES + LEVEL_REC_BYTES * i)
        if not (1 <= c <= MAX_CHANNELS) or not s or ph % s or pw % s or h != ph // s \
                or w != pw // s:
            fail(f"feature file: level {i} is {h}x{w}x{c} at stride {s} for a {ph}x{pw} grid")
        if nbytes != h * w * c * np_dtype.itemsize:
            fail(f"feature file: level {i} holds {nbytes} bytes, not {h}x{w}x{c} values")
        if off % ALIGN or off < TABLE_END or off > size or nbytes > size - off:
            fail(f"feature file: level {i} at {off}+{nbytes} in a {size}-byte file")
        for j, (o, n) in enumerate(spans):
            if off < o + n and o < off + nbytes:
                fail(f"feature file: levels {j} and {i} overlap")
        spans.append((off, nbytes))
        channels.append(c)
        strides.append(s)
        if want_levels:
            levels.append(np.frombuffer(b, np_dtype, h * w * c, off).reshape(h, w, c)
                          .astype(np.float32))
    info = {"version": version, "dtype": DTYPE_NAMES[code], "image_size": (ih, iw),
            "work_size": (wh, ww), "padded_size": (ph, pw), "identity": identity,
            "channels": channels, "strides": strides, "file_bytes": file_bytes}
    if want_levels:
        info["levels"] = levels
    return info
