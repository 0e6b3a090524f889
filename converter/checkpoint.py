"""Read a `torch.save` checkpoint without torch.

Since PyTorch 1.6 `torch.save` writes a zip archive:

    <prefix>/data.pkl        the pickled object; tensors appear as calls to
                             torch._utils._rebuild_tensor_v2(storage, offset,
                             size, stride, ...) whose storage is a persistent
                             id ('storage', <torch.XxxStorage>, key, location,
                             numel)
    <prefix>/data/<key>      raw little-endian bytes of storage <key>

We unpickle data.pkl with an Unpickler whose find_class only knows an
allow-list of globals (so a checkpoint cannot run code, and anything we do not
understand is an error rather than a guess), and turn every tensor into a
NumPy array that honours storage offset, size and stride. Training
checkpoints may also carry NumPy scalars or sets in `meta`; those become
inert placeholders (`_Opaque`, never accepted inside the state_dict) or plain
Python containers, built by our own functions, not NumPy's.

Why not torch.load: the converter must run where torch is not installed, and
unpickling arbitrary globals from a downloaded file is unsafe.
"""

import collections
import hashlib
import io
import os
import pickle
import zipfile

import numpy as np

from .errors import ConversionError

# torch storage class name -> NumPy dtype of its raw bytes (little-endian).
# BFloat16 has no NumPy dtype: it is read as uint16 and widened to float32.
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}

_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


class _StorageType:
    """Stands for a torch.XxxStorage class inside the pickle."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]


class _Opaque:
    """Inert stand-in for a NumPy object (dtype, scalar, array) found in `meta`."""

    def __init__(self, what, *args):
        self.what = what

    def __setstate__(self, state):
        pass

    def __repr__(self):
        return f"<{self.what}>"


def _opaque_factory(what):
    return lambda *args, **kwargs: _Opaque(what)


def _codecs_encode(text, encoding="utf-8"):
    """Protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1')."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"unexpected _codecs.encode encoding {encoding!r}")
    return text.encode("latin-1")


_DATA_BUILTINS = {"set": set, "frozenset": frozenset, "complex": complex, "slice": slice,
                  "bytearray": bytearray, "range": range}
_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray")
_NUMPY_NAMES = ("dtype", "scalar", "_reconstruct", "ndarray")


class _Tensor:
    """What _rebuild_tensor_v2 returns before we validate the result."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def _bf16_to_f32(u16):
    return (u16.astype(np.uint32) << 16).view(np.float32)


class _CheckpointUnpickler(pickle.Unpickler):
    def __init__(self, data, archive, prefix, path):
        super().__init__(io.BytesIO(data))
        self._zip = archive
        self._prefix = prefix
        self._path = path
        self._storages = {}

    # -- the allow-list ---------------------------------------------------
    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._rebuild_tensor_v2
        if module == "torch._utils" and name in ("_rebuild_parameter",
                                                 "_rebuild_parameter_with_state"):
            return self._rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if module in ("builtins", "__builtin__") and name in _DATA_BUILTINS:  # protocol 2: py2 name
            return _DATA_BUILTINS[name]
        if module == "_codecs" and name == "encode":
            return _codecs_encode
        if module in _NUMPY_MODULES and name in _NUMPY_NAMES:
            return _opaque_factory(f"{module}.{name}")
        raise ConversionError(
            f"{self._path}: checkpoint pickle refers to {module}.{name}, which is not "
            "on the converter's allow-list (only tensors, storages and plain containers "
            "are accepted)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise ConversionError(f"{self._path}: unknown persistent id {pid!r:.80} in data.pkl")
        _, stype, key, _location, numel = pid
        key = str(key)
        if key in self._storages:
            return self._storages[key]
        member = f"{self._prefix}data/{key}"
        try:
            raw = self._zip.read(member)
        except KeyError:
            raise ConversionError(f"{self._path}: storage {member} is missing from the archive")
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise ConversionError(f"{self._path}: cannot read storage {member}: {e}")
        need = int(numel) * stype.dtype.itemsize
        if len(raw) < need:
            raise ConversionError(
                f"{self._path}: storage {member} is truncated: {len(raw)} bytes, "
                f"{need} needed for {numel} elements")
        arr = np.frombuffer(raw, dtype=stype.dtype, count=int(numel))
        self._storages[key] = (stype, arr)
        return self._storages[key]

    # -- tensor reconstruction ----------------------------------------------
    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                           backward_hooks=None, metadata=None):
        stype, flat = storage
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        offset = int(storage_offset)
        if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size + stride):
            raise ConversionError(f"{self._path}: malformed tensor (size {size}, stride {stride}, "
                                  f"offset {offset})")
        if 0 in size:
            arr = np.zeros(size, dtype=flat.dtype)
        else:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= flat.size:
                raise ConversionError(
                    f"{self._path}: tensor of size {size} at storage offset {offset} reaches "
                    f"element {last} of a {stype.name} with {flat.size} elements")
            n = int(np.prod(size))
            contiguous = all(st == int(np.prod(size[k + 1:])) for k, (sz, st)
                             in enumerate(zip(size, stride)) if sz > 1)
            if contiguous:   # the common case: a read-only view, no copy
                arr = flat[offset:offset + n].reshape(size)
            else:
                isz = flat.dtype.itemsize
                view = np.lib.stride_tricks.as_strided(
                    flat[offset:], shape=size, strides=[s * isz for s in stride],
                    writeable=False)
                arr = np.array(view, copy=True, order="C")
        if stype.name == "BFloat16Storage":
            arr = _bf16_to_f32(arr)
        return _Tensor(arr)

    @staticmethod
    def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
        return data


def _as_state_dict(obj, path):
    """Accept {'state_dict': {...}, 'meta': {...}, ...} or a bare state_dict."""
    if not isinstance(obj, dict):
        raise ConversionError(f"{path}: checkpoint holds a {type(obj).__name__}, "
                              "not a dict with a state_dict")
    meta = {}
    if "state_dict" in obj:
        sd = obj["state_dict"]
        meta = obj.get("meta") or {}
        if not isinstance(meta, dict):
            raise ConversionError(f"{path}: checkpoint 'meta' is a {type(meta).__name__}, "
                                  "not a dict")
        if not isinstance(sd, dict):
            raise ConversionError(f"{path}: checkpoint 'state_dict' is a {type(sd).__name__}, "
                                  "not a dict")
    else:
        sd = obj
    if not sd:
        raise ConversionError(f"{path}: checkpoint state_dict is empty")
    out = collections.OrderedDict()
    for k, v in sd.items():
        if not isinstance(k, str):
            raise ConversionError(f"{path}: state_dict key {k!r:.60} is not a string")
        if not isinstance(v, _Tensor):
            what = v.what if isinstance(v, _Opaque) else type(v).__name__
            raise ConversionError(f"{path}: state_dict entry '{k}' is a {what}, not a tensor")
        out[k] = v.array
    return out, meta


class Checkpoint:
    """A loaded checkpoint: `state_dict` (name -> ndarray), `meta` (dict), `path`."""

    def __init__(self, path, state_dict, meta):
        self.path, self.state_dict, self.meta = path, state_dict, meta

    def identity(self):
        """Hex SHA-256 over the state_dict, names sorted.

        Per tensor: UTF-8 name, NUL, NumPy dtype name (e.g. 'float32'), NUL,
        shape as comma-separated decimals, NUL, the C-order little-endian
        bytes. Every tensor counts, also the ones the graphs do not use, so
        two files share an identity only if they came from the same weights.
        (bfloat16 tensors, which NumPy lacks, count as their float32 widening.)
        """
        h = hashlib.sha256()
        for name in sorted(self.state_dict):
            a = self.state_dict[name]
            le = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
            h.update(name.encode("utf-8") + b"\0")
            h.update(a.dtype.name.encode() + b"\0")
            h.update(",".join(str(d) for d in a.shape).encode() + b"\0")
            h.update(le.tobytes())
        return h.hexdigest()


def load_checkpoint(path):
    """Read `path` (a torch.save zip) into a Checkpoint; ConversionError on any problem."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(_LEGACY_MAGIC))
    except OSError as e:
        raise ConversionError(f"{path}: cannot read checkpoint: {e.strerror or e}")
    if head == _LEGACY_MAGIC:
        raise ConversionError(f"{path}: legacy (pre-1.6, non-zip) torch.save format is not "
                              "supported; re-save it with a current torch")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        if head.startswith(b"PK\x03\x04"):
            raise ConversionError(f"{path}: truncated or corrupt checkpoint (zip archive without "
                                  "a readable central directory)")
        raise ConversionError(f"{path}: not a PyTorch checkpoint (not a zip archive as written "
                              "by torch.save)")
    except OSError as e:
        raise ConversionError(f"{path}: cannot read checkpoint: {e.strerror or e}")
    with archive:
        pkls = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/data.pkl")]
        if len(pkls) != 1:
            what = "no <prefix>/data.pkl" if not pkls else f"{len(pkls)} data.pkl members"
            raise ConversionError(f"{path}: not a PyTorch checkpoint (zip archive with {what})")
        prefix = pkls[0][: -len("data.pkl")]
        try:
            data = archive.read(pkls[0])
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise ConversionError(f"{path}: cannot read {pkls[0]}: {e}")
        unpickler = _CheckpointUnpickler(data, archive, prefix, path)
        try:
            obj = unpickler.load()
        except ConversionError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError,
                KeyError, AttributeError, zipfile.BadZipFile) as e:
            raise ConversionError(f"{path}: corrupt data.pkl ({type(e).__name__}: {e})")
    state_dict, meta = _as_state_dict(obj, path)
    return Checkpoint(os.fspath(path), state_dict, meta)
