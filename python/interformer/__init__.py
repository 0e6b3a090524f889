"""InterFormer-C from Python: ctypes over libinterformer.so, NumPy in and out.

    import interformer
    model = interformer.load("models/demo")          # PREFIX.encoder.ifg + PREFIX.decoder.ifg
    features = model.encode(rgb)                     # HxWx3 uint8, once per image
    with features.session() as s:                    # per object
        s.add_click(120, 80)                         # x (column), y (row), positive
        s.add_click(40, 200, positive=False)
        mask = s.mask                                # HxW uint8, 1 = object
        s.undo()
    with features.annotation() as a:                 # several objects, one decoder run
        disk, square = a.add_object(), a.add_object()  # each works as a Session
        disk.add_click(100, 120); disk.finish()      # later objects leave its pixels out
        square.add_click(235, 79)
        ids = a.instance_map                         # HxW uint16, 0 = background, 1, 2

Errors of the library raise interformer.Error (a RuntimeError) with the
status (.code, .status, .message) and the library's detail (.detail).
Arguments of the wrong type or shape raise TypeError / ValueError before the
library is called. Objects free their C handles on close() (or `with`, or
when garbage-collected); a handle still used by an open session or
annotation is freed when that closes. The library is looked for as described in
interformer._capi.candidates() (see use_library() and library_path()).
"""

import ctypes
import operator
import os
import threading
import weakref
from collections import namedtuple

import numpy as np

from . import _capi
from ._capi import LibraryNotFoundError, library_path

__all__ = ["Error", "LibraryNotFoundError", "Model", "Features", "Session", "Annotation",
           "AnnotationObject", "Click", "ModelInfo",
           "load", "load_features", "use_library", "library_path", "status_name",
           "mask_to_rle", "rle_to_mask", "mask_bbox", "mask_polygons"]
__version__ = "0.1.0"


def use_library(path):
    """Loads libinterformer from `path` (before any other use of the package;
    otherwise the search of interformer._capi.candidates() applies)."""
    _capi.load_library(path)


def _lib():
    return _capi.load_library()


def _str(b):
    return b.decode("utf-8", "replace") if b else ""


def status_name(code):
    """'IF_ERR_IO' for 3, and so on."""
    return _capi.STATUS_NAMES[code] if 0 <= code < len(_capi.STATUS_NAMES) else f"status {code}"


class Error(RuntimeError):
    """A call of the library failed.

    code: the if_status value; status: its name ("IF_ERR_IO"); message: the
    library's text for it (if_status_str); detail: what was wrong
    (if_last_error / if_session_error / if_annotation_error), possibly "";
    call: the C function."""

    def __init__(self, code, detail="", call=""):
        self.code = int(code)
        self.status = status_name(self.code)
        self.message = _str(_lib().if_status_str(self.code))
        self.detail = detail
        self.call = call
        text = f"{call}: " if call else ""
        text += f"{self.message} ({self.status})"
        if detail:
            text += f": {detail}"
        super().__init__(text)


def _check(st, call, detail=None):
    if st != 0:
        raise Error(st, _str(_lib().if_last_error()) if detail is None else detail(), call)


def _path(p):
    return os.fsencode(os.fspath(p))


class _Handle:
    """A C handle, freed once its owner closed it and no user holds it."""

    def __init__(self, ptr, free, what):
        self._ptr, self._free, self.what = ptr, free, what
        self._users, self._closed = 0, False
        self._lock = threading.Lock()

    @property
    def closed(self):
        return self._closed

    def acquire(self):
        with self._lock:
            if self._closed:
                raise ValueError(f"{self.what} is closed")
            self._users += 1
            return self._ptr

    def release(self):
        with self._lock:
            self._users -= 1
            self._maybe_free()

    def close(self):
        with self._lock:
            self._closed = True
            self._maybe_free()

    def _maybe_free(self):
        if self._closed and self._users == 0 and self._ptr:
            p, self._ptr = self._ptr, None
            self._free(p)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class _Closable:
    """close(), `with`, and a __del__ that is safe at interpreter exit."""

    _handles = ()

    def close(self):
        for h in self._handles:
            if h is not None:
                h.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may be gone
            pass


ModelInfo = namedtuple("ModelInfo", "kind name identity feature_channels feature_strides "
                       "pad_multiple mean std click_radius zoom_in zoom_expand_ratio "
                       "zoom_min_size zoom_start_step zoom_max_stride n_params isa n_threads")
ModelInfo.__doc__ = "A graph's metadata (if_model_info); kind is 'encoder' or 'decoder'."

Click = namedtuple("Click", "x y positive")
Click.__doc__ = "A click: x (column), y (row) in the original image's pixels; positive: bool."


def _model_info(ptr):
    i = _capi.ModelInfo()
    _check(_lib().if_model_get_info(ptr, ctypes.byref(i)), "if_model_get_info")
    return ModelInfo(
        "encoder" if i.kind == _capi.MODEL_ENCODER else "decoder", _str(i.name),
        _str(i.identity), tuple(i.feature_channels), tuple(i.feature_strides), i.pad_multiple,
        tuple(i.mean), tuple(i.std), i.click_radius, bool(i.zoom_in), i.zoom_expand_ratio,
        i.zoom_min_size, i.zoom_start_step, i.zoom_max_stride, i.n_params, _str(i.isa),
        i.n_threads)


def _int_arg(v, name, lo=0, hi=2**31 - 1):
    try:
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(v).__name__}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{name} = {v} is out of range [{lo}, {hi}]")
    return v


def _load_graph(path, opt, kind):
    lib = _lib()
    ptr = ctypes.c_void_p()
    _check(lib.if_model_load(_path(path), ctypes.byref(opt), ctypes.byref(ptr)), "if_model_load")
    h = _Handle(ptr.value, lib.if_model_free, f"{kind} {os.fspath(path)}")
    info = _model_info(ptr)
    if info.kind != kind:
        h.close()
        raise ValueError(f"{os.fspath(path)} is a {info.kind} graph, not an {kind}"
                         if kind == "encoder" else
                         f"{os.fspath(path)} is an {info.kind} graph, not a {kind}")
    return h, info


def load(prefix=None, *, encoder=None, decoder=None, threads=1, mem_limit=0, isa=None,
         max_clicks=0):
    """Loads a model: `prefix` (PREFIX.encoder.ifg and PREFIX.decoder.ifg;
    a half whose file is absent is left out, at least one must exist), or
    `encoder=` and/or `decoder=` paths. Options (if_options): threads per
    encode/session, mem_limit in bytes one call may allocate (0: 7/8 of what
    the machine can give now), isa ("scalar", "avx2", "avx512", "neon";
    None: $IF_ISA or the best the CPU has), max_clicks of undo history
    (0: 64)."""
    if prefix is not None:
        if encoder is not None or decoder is not None:
            raise TypeError("load() takes a prefix or encoder=/decoder=, not both")
        prefix = os.fspath(prefix)
        enc, dec = prefix + ".encoder.ifg", prefix + ".decoder.ifg"
        have = [p for p in (enc, dec) if os.path.exists(p)]
        if not have:  # let the library say it
            return Model(encoder=enc, threads=threads, mem_limit=mem_limit, isa=isa,
                         max_clicks=max_clicks)
        encoder = enc if os.path.exists(enc) else None
        decoder = dec if os.path.exists(dec) else None
    elif encoder is None and decoder is None:
        raise TypeError("load() needs a prefix, encoder= or decoder=")
    return Model(encoder=encoder, decoder=decoder, threads=threads, mem_limit=mem_limit, isa=isa,
                 max_clicks=max_clicks)


class Model(_Closable):
    """An encoder and/or a decoder (see load()). Read-only: many threads may
    encode with one model, and many sessions may share it."""

    def __init__(self, encoder=None, decoder=None, *, threads=1, mem_limit=0, isa=None,
                 max_clicks=0):
        self._handles = ()
        lib = _lib()
        opt = lib.if_default_options()
        opt.n_threads = _int_arg(threads, "threads", 1, 4096)
        opt.max_clicks = _int_arg(max_clicks, "max_clicks", 0)
        opt.mem_limit = _int_arg(mem_limit, "mem_limit", 0, 2**63 - 1)
        if isa is not None:
            if not isinstance(isa, str):
                raise TypeError("isa must be a string such as 'avx2', or None")
            opt.isa = isa.encode()
        self.encoder_path = os.fspath(encoder) if encoder is not None else None
        self.decoder_path = os.fspath(decoder) if decoder is not None else None
        self._enc = self._dec = None
        self.encoder_info = self.decoder_info = None
        try:
            if encoder is not None:
                self._enc, self.encoder_info = _load_graph(encoder, opt, "encoder")
            if decoder is not None:
                self._dec, self.decoder_info = _load_graph(decoder, opt, "decoder")
        except BaseException:
            for h in (self._enc, self._dec):
                if h is not None:
                    h.close()
            raise
        self._handles = (self._enc, self._dec)

    @property
    def has_encoder(self):
        return self._enc is not None

    @property
    def has_decoder(self):
        return self._dec is not None

    @property
    def identity(self):
        """model.identity (the same in a model's encoder and decoder)."""
        return (self.encoder_info or self.decoder_info).identity

    @property
    def name(self):
        return (self.encoder_info or self.decoder_info).name

    def _need(self, which):
        h = self._enc if which == "encoder" else self._dec
        if h is None:
            raise ValueError(f"this model has no {which} (load it with {which}= or a prefix "
                             f"whose .{which}.ifg exists)")
        return h

    def encode(self, image, max_side=0, progress=None):
        """Runs the encoder on an RGB image: a uint8 array of shape
        (height, width, 3), any strides (rows may be strided; pixels must be
        3 contiguous bytes, otherwise it is copied). max_side: the model sees
        the image area-averaged to that many pixels on its longer side when
        it is longer (0 = native size; the CLI's default is 1024). progress:
        progress(fraction) -> true to cancel (Error IF_ERR_CANCELLED); an
        exception it raises cancels the encode and is re-raised. Returns
        Features."""
        img = image if isinstance(image, np.ndarray) else np.asarray(image)
        if img.dtype != np.uint8:
            raise TypeError(f"image must be uint8 (RGB 0..255), not {img.dtype}")
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"image must have shape (height, width, 3), not {img.shape}")
        h, w = img.shape[:2]
        if h < 1 or w < 1:
            raise ValueError(f"image is empty: {img.shape}")
        if not (img.strides[2] == 1 and img.strides[1] == 3 and img.strides[0] >= 3 * w):
            img = np.ascontiguousarray(img)
        max_side = _int_arg(max_side, "max_side", 0)
        if progress is not None and not callable(progress):
            raise TypeError("progress must be callable or None")
        lib = _lib()
        eo = lib.if_default_encode_options()
        eo.max_side = max_side
        raised = []
        if progress is not None:
            def cb(_user, fraction):
                try:
                    return 1 if progress(fraction) else 0
                except BaseException as e:  # noqa: B902 -- re-raised below
                    raised.append(e)
                    return 1
            eo.progress = _capi.PROGRESS(cb)
        out = ctypes.c_void_p()
        with self._need("encoder") as enc:
            st = lib.if_encode(enc, img.ctypes.data, w, h, img.strides[0], ctypes.byref(eo),
                               ctypes.byref(out))
            detail = _str(lib.if_last_error()) if st else ""
        if raised:
            raise raised[0]
        _check(st, "if_encode", lambda: detail)
        return Features(out.value, model=self)

    def session(self, features):
        """A new Session of this model's decoder on `features`."""
        return Session(self, features)

    def annotation(self, features, path=None):
        """A new Annotation (several objects) of this model's decoder on
        `features`, or the one saved at `path` (Annotation.save)."""
        return Annotation(self, features, path)

    def __repr__(self):
        parts = [p for p in (self.encoder_path, self.decoder_path) if p]
        return f"<interformer.Model {' + '.join(parts)}{' (closed)' if self.closed else ''}>"

    @property
    def closed(self):
        return all(h is None or h.closed for h in (self._enc, self._dec))


def load_features(source):
    """Loads a feature file (a path, or the file's bytes). The result has no
    model: make sessions with model.session(features) or
    features.session(model)."""
    lib = _lib()
    out = ctypes.c_void_p()
    if isinstance(source, (bytes, bytearray, memoryview)):
        buf = bytes(source)
        _check(lib.if_features_load_buffer(buf, len(buf), ctypes.byref(out)),
               "if_features_load_buffer")
    else:
        _check(lib.if_features_load(_path(source), ctypes.byref(out)), "if_features_load")
    return Features(out.value)


class Features(_Closable):
    """One image encoded (F1..F4 and the image's sizes). Read-only; sessions
    in many threads may share it."""

    def __init__(self, ptr, model=None):
        self._h = _Handle(ptr, _lib().if_features_free, "features")
        self._handles = (self._h,)
        self.model = model  # the model that encoded it (None when loaded)
        i = _capi.FeaturesInfo()
        _check(_lib().if_features_get_info(ptr, ctypes.byref(i)), "if_features_get_info")
        self._info = i

    width = property(lambda self: self._info.width, doc="the original image's width")
    height = property(lambda self: self._info.height, doc="the original image's height")
    work_width = property(lambda self: self._info.work_w, doc="the width the model saw")
    work_height = property(lambda self: self._info.work_h, doc="the height the model saw")
    padded_width = property(lambda self: self._info.padded_w)
    padded_height = property(lambda self: self._info.padded_h)
    identity = property(lambda self: _str(self._info.identity),
                        doc="model.identity of the encoder that made them")

    @property
    def shape(self):
        """(height, width): the shape of masks of this image."""
        return (self._info.height, self._info.width)

    @property
    def work_size(self):
        """(work_width, work_height)."""
        return (self._info.work_w, self._info.work_h)

    @property
    def levels(self):
        """[(height, width, channels, stride)] of F1..F4."""
        out = []
        with self._h as p:
            for k in range(self._info.n_levels):
                h, w, c = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
                _lib().if_features_level(p, k, ctypes.byref(h), ctypes.byref(w), ctypes.byref(c))
                out.append((h.value, w.value, c.value, self._info.strides[k]))
        return out

    def level(self, k):
        """Level k (0..3) as a (h, w, c) float32 array (a copy)."""
        k = _int_arg(k, "level", 0, self._info.n_levels - 1)
        h, w, c = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        with self._h as p:
            data = _lib().if_features_level(p, k, ctypes.byref(h), ctypes.byref(w),
                                            ctypes.byref(c))
            return np.ctypeslib.as_array(data, (h.value, w.value, c.value)).copy()

    def save(self, path, dtype="f32"):
        """Writes a feature file atomically; dtype "f32" (exact) or "f16"
        (half the size)."""
        codes = {"f32": _capi.DTYPE_F32, "f16": _capi.DTYPE_F16,
                 np.dtype(np.float32): _capi.DTYPE_F32, np.dtype(np.float16): _capi.DTYPE_F16}
        key = dtype if isinstance(dtype, str) else np.dtype(dtype)
        if key not in codes:
            raise ValueError(f"dtype must be 'f32' or 'f16', not {dtype!r}")
        with self._h as p:
            _check(_lib().if_features_save(p, _path(path), codes[key]), "if_features_save")

    def _model_for(self, model, what):
        model = model if model is not None else self.model
        if model is None:
            raise ValueError(f"these features were loaded from a file: pass the model "
                             f"(features.{what}(model) or model.{what}(features))")
        return model

    def session(self, model=None):
        """A new Session: `model`'s decoder, or by default the decoder of the
        model that encoded these features."""
        return Session(self._model_for(model, "session"), self)

    def annotation(self, model=None, path=None):
        """A new Annotation (several objects on this image), or the one
        saved at `path` (Annotation.save): `model`'s decoder, or by default
        the decoder of the model that encoded these features."""
        return Annotation(self._model_for(model, "annotation"), self, path)

    @property
    def closed(self):
        return self._h.closed

    def __repr__(self):
        i = self._info
        return (f"<interformer.Features {i.width}x{i.height} (work {i.work_w}x{i.work_h}) "
                f"{_str(i.identity)!r}{' (closed)' if self.closed else ''}>")


def _new_on_decoder(model, features, new, free, what, *args):
    """The _Handle of a new C object on model's decoder and features
    (if_session_new, if_annotation_new, or if_annotation_load with args
    before the out pointer): it holds both until it is freed."""
    if not isinstance(model, Model):
        raise TypeError(f"model must be an interformer.Model, not {type(model).__name__}")
    if not isinstance(features, Features):
        raise TypeError(f"features must be interformer.Features, not {type(features).__name__}")
    dec_h, feat_h = model._need("decoder"), features._h
    dec = dec_h.acquire()
    try:
        feat = feat_h.acquire()
    except BaseException:
        dec_h.release()
        raise
    lib = _lib()
    out = ctypes.c_void_p()
    st = getattr(lib, new)(dec, feat, *args, ctypes.byref(out))
    if st:
        detail = _str(lib.if_last_error())
        feat_h.release()
        dec_h.release()
        raise Error(st, detail, new)
    free_c = getattr(lib, free)

    def free_all(p):
        free_c(p)
        feat_h.release()
        dec_h.release()
    return _Handle(out.value, free_all, what)


class Session(_Closable):
    """Interactive segmentation of one object in one image: a model's decoder
    on the image's features. Keeps both alive. One thread at a time uses a
    session (calls from several threads are serialised)."""

    def __init__(self, model, features):
        self._handles = ()
        self._h = _new_on_decoder(model, features, "if_session_new", "if_session_free",
                                  "session")
        self._handles = (self._h,)
        self.model, self.features = model, features
        self._lock = threading.Lock()
        self.width, self.height = features.width, features.height

    def _call(self, name, *args, thread_detail=False):
        # The library keeps most session failures' detail in the session
        # (if_session_error); if_session_probability and if_session_get_click
        # keep theirs in the thread's if_last_error.
        with self._lock, self._h as p:
            st = getattr(_lib(), name)(p, *args)
            if st:
                lib = _lib()
                d = lib.if_last_error() if thread_detail else lib.if_session_error(p)
                raise Error(st, _str(d), name)

    @property
    def shape(self):
        return (self.height, self.width)

    def add_click(self, x, y, positive=True):
        """Adds a click at column x, row y (original image pixels) and
        predicts. Error IF_ERR_INVALID_ARG outside the image, IF_ERR_STATE
        when the history is full; the session is then unchanged."""
        x = _int_arg(x, "x", -2**31, 2**31 - 1)
        y = _int_arg(y, "y", -2**31, 2**31 - 1)
        self._call("if_session_add_click", _capi.Click(x, y, 1 if positive else 0))

    def undo(self):
        """Removes the last click, restoring the previous mask exactly
        (Error IF_ERR_STATE when there is none)."""
        self._call("if_session_undo")

    def reset(self):
        """Back to no clicks and no mask."""
        self._call("if_session_reset")

    def redo(self):
        """Re-applies the click the last undo() removed, exactly (Error
        IF_ERR_STATE when there is none)."""
        self._call("if_session_redo")

    @property
    def redo_count(self):
        """How many undone clicks redo() can re-apply."""
        with self._h as p:
            return int(_lib().if_session_redo_count(p))

    def remove_click(self, i):
        """Removes click i (0 = first) as if it had never been made: the
        clicks after it are replayed (Error IF_ERR_INVALID_ARG when there is
        no click i)."""
        i = _int_arg(i, "i", -2**31, 2**31 - 1)
        self._call("if_session_remove_click", i)

    @staticmethod
    def _click_array(clicks, positive=None):
        arr = (_capi.Click * max(len(clicks), 1))()
        for k, c in enumerate(clicks):
            c = tuple(c)
            if len(c) == 2:
                c += (True,)
            if len(c) != 3:
                raise ValueError(f"click {k}: expected (x, y) or (x, y, positive), not {c!r}")
            x, y, pos = c
            if positive is not None:
                pos = positive
            arr[k] = _capi.Click(_int_arg(x, "x", -2**31, 2**31 - 1),
                                 _int_arg(y, "y", -2**31, 2**31 - 1), 1 if pos else 0)
        return arr

    def set_clicks(self, clicks):
        """Makes the clicks exactly `clicks` (Click or (x, y[, positive])
        items), for stateless servers: the common prefix with the current
        clicks is kept, the rest replayed (see decoder_runs)."""
        clicks = list(clicks)
        self._call("if_session_set_clicks", self._click_array(clicks), len(clicks))

    def set_click_lists(self, positive, negative):
        """set_clicks from two unordered lists of (x, y) points (CVAT's
        protocol): interleaved, positive[0], negative[0], positive[1], ..."""
        pos, neg = list(positive), list(negative)
        self._call("if_session_set_click_lists", self._click_array(pos, True), len(pos),
                   self._click_array(neg, False), len(neg))

    def preview(self, x, y, positive=True):
        """The mask add_click(x, y, positive) would give, (height, width)
        uint8, without changing the session."""
        out = np.empty((self.height, self.width), np.uint8)
        x = _int_arg(x, "x", -2**31, 2**31 - 1)
        y = _int_arg(y, "y", -2**31, 2**31 - 1)
        self._call("if_session_preview", _capi.Click(x, y, 1 if positive else 0), out.ctypes.data)
        return out

    @property
    def decoder_runs(self):
        """How many times the session has run the decoder (clicks, undo,
        redo, replays, previews)."""
        with self._h as p:
            return int(_lib().if_session_decoder_runs(p))

    def set_mask(self, mask):
        """Starts from an existing mask (height x width, bool or uint8,
        nonzero = object) as if it were the previous prediction; clears the
        clicks."""
        m = mask if isinstance(mask, np.ndarray) else np.asarray(mask)
        if m.dtype == np.bool_:
            m = m.view(np.uint8)
        elif m.dtype != np.uint8:
            raise TypeError(f"mask must be bool or uint8, not {m.dtype}")
        if m.shape != self.shape:
            raise ValueError(f"mask must have shape {self.shape} (height, width), not {m.shape}")
        if not (m.strides[1] == 1 and m.strides[0] >= self.width):
            m = np.ascontiguousarray(m)
        self._call("if_session_set_mask", m.ctypes.data, m.strides[0])

    @property
    def clicks(self):
        """The clicks so far, oldest first, as Click(x, y, positive)."""
        out = []
        with self._lock, self._h as p:
            lib = _lib()
            for i in range(lib.if_session_click_count(p)):
                c = _capi.Click()
                _check(lib.if_session_get_click(p, i, ctypes.byref(c)), "if_session_get_click")
                out.append(Click(c.x, c.y, bool(c.positive)))
        return out

    @property
    def mask(self):
        """The current mask, (height, width) uint8, 1 = object (a copy)."""
        with self._lock, self._h as p:
            m = _lib().if_session_mask(p)
            return np.ctypeslib.as_array(m, (self.height, self.width)).copy()

    @property
    def probability(self):
        """Foreground probability, (height, width) float32 (Error
        IF_ERR_STATE before the first click)."""
        out = np.empty((self.height, self.width), np.float32)
        self._call("if_session_probability", out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                   thread_detail=True)
        return out

    @property
    def logits(self):
        """The last prediction's logits on the padded working grid,
        (padded_h, padded_w, 2) float32 (background, foreground), a copy;
        None before the first click, and after a preview or (an annotation's
        object) another object's click, until this session predicts again."""
        with self._lock, self._h as p:
            h, w = ctypes.c_int(), ctypes.c_int()
            d = _lib().if_session_logits(p, ctypes.byref(h), ctypes.byref(w))
            if not d:
                return None
            return np.ctypeslib.as_array(d, (h.value, w.value, 2)).copy()

    @property
    def memory_bytes(self):
        """Bytes the session holds (fixed at creation)."""
        with self._h as p:
            return int(_lib().if_session_memory_bytes(p))

    @property
    def closed(self):
        return self._h.closed

    def __repr__(self):
        n = "closed" if self.closed else f"{len(self.clicks)} clicks"
        return f"<interformer.Session {self.width}x{self.height}, {n}>"


class Annotation(_Closable):
    """Several objects on one image: one decoder run for the image (its
    arena, prepared weights and per-image half, made once) and any number of
    objects, each an AnnotationObject (a Session with its own clicks, undo
    and redo) that costs its click history and maps, not another decoder.
    Objects are numbered 1, 2, ... in the order they are made; an id is
    never reused. By default (exclusive) an object's predictions leave out
    the pixels of finished objects.

    Keeps its model and features alive, and its objects keep it alive;
    closing it makes its objects unusable (ValueError). One thread at a
    time: calls on the annotation and on any of its objects are
    serialised."""

    def __init__(self, model, features, path=None):
        """A new annotation, or (path) the one saved there by save(), rebuilt
        on these features (format/ANNOTATION.md; Error IF_ERR_MISMATCH when
        the file is of another image or model)."""
        self._handles = ()
        if path is None:
            self._h = _new_on_decoder(model, features, "if_annotation_new", "if_annotation_free",
                                      "annotation")
        else:
            self._h = _new_on_decoder(model, features, "if_annotation_load", "if_annotation_free",
                                      "annotation", os.fsencode(path))
        self._handles = (self._h,)
        self.model, self.features = model, features
        # Reentrant: an object's calls hold it while they also take the
        # annotation's handle, and the objects share one decoder run.
        self._lock = threading.RLock()
        self._wrappers = weakref.WeakValueDictionary()  # id -> its AnnotationObject
        self.width, self.height = features.width, features.height

    def _call(self, name, *args):
        with self._lock, self._h as p:
            st = getattr(_lib(), name)(p, *args)
            if st:
                raise Error(st, _str(_lib().if_annotation_error(p)), name)

    def _wrap(self, id_):
        # Under self._lock. One wrapper per object while it is referenced
        # (and not closed), so annotation.object(1) is the object add_object
        # returned.
        o = self._wrappers.get(id_)
        if o is None or o._h._closed:
            o = AnnotationObject(self, id_)
            self._wrappers[id_] = o
        return o

    @property
    def shape(self):
        return (self.height, self.width)

    def add_object(self):
        """Makes a new open object (allocating its session: its click
        history and maps) and returns it. Error IF_ERR_STATE after 65535
        ids, IF_ERR_NO_MEMORY."""
        id_ = ctypes.c_int()
        with self._lock:
            self._call("if_annotation_add_object", ctypes.byref(id_))
            return self._wrap(id_.value)

    def object(self, id):  # noqa: A002 -- the library's word
        """The object with this id (KeyError when it was deleted or never
        made)."""
        id_ = _int_arg(id, "id", -2**31, 2**31 - 1)
        with self._lock, self._h as p:
            if not _lib().if_annotation_object(p, id_):
                raise KeyError(f"the annotation has no object {id_} (deleted, or never made)")
            return self._wrap(id_)

    @property
    def objects(self):
        """The objects there are, oldest first."""
        with self._lock, self._h as p:
            lib = _lib()
            return [self._wrap(lib.if_annotation_id(p, i))
                    for i in range(lib.if_annotation_count(p))]

    @property
    def exclusive(self):
        """True (the default): predictions leave out finished objects'
        pixels. Setting it applies to predictions from then on."""
        with self._lock, self._h as p:
            return bool(_lib().if_annotation_is_exclusive(p))

    @exclusive.setter
    def exclusive(self, value):
        with self._lock:
            self._call("if_annotation_set_exclusive", 1 if value else 0)

    def save(self, path):
        """Saves every object's clicks, set mask and state to path (an .ifa
        file, format/ANNOTATION.md), whole or not at all; Annotation(model,
        features, path) rebuilds it."""
        self._call("if_annotation_save", os.fsencode(path))

    @property
    def instance_map(self):
        """(height, width) uint16: each pixel the id of the oldest object
        whose mask has it, 0 = background (objects overlap only when not
        exclusive)."""
        out = np.empty((self.height, self.width), np.uint16)
        with self._lock, self._h as p:
            lib = _lib()
            st = lib.if_annotation_instance_map(p, out.ctypes.data, self.width)
            if st:  # a const annotation: the detail is the thread's
                raise Error(st, _str(lib.if_last_error()), "if_annotation_instance_map")
        return out

    @property
    def memory_bytes(self):
        """Bytes the annotation holds: the decoder's run and prepared weights
        once, plus every object's session."""
        with self._lock, self._h as p:
            return int(_lib().if_annotation_memory_bytes(p))

    @property
    def closed(self):
        return self._h.closed

    def __repr__(self):
        if self.closed:
            return f"<interformer.Annotation {self.width}x{self.height} (closed)>"
        with self._lock, self._h as p:
            n = _lib().if_annotation_count(p)
        return f"<interformer.Annotation {self.width}x{self.height}, {n} objects>"


class _ObjectHandle:
    """The if_session of an annotation's object, which the annotation owns
    (it is never freed here). Using it holds the annotation's lock and
    handle, and checks that the object is still there."""

    def __init__(self, annotation, id_):
        self._ann, self.id = annotation, id_
        self._closed = False
        self.what = f"annotation object {id_}"

    def acquire(self):
        ann = self._ann
        ann._lock.acquire()
        try:
            if self._closed:
                raise ValueError(f"{self.what} is closed (this wrapper: "
                                 f"annotation.object({self.id}) gives the object again)")
            try:
                a = ann._h.acquire()
            except ValueError:
                raise ValueError(f"{self.what}: its annotation is closed") from None
            s = _lib().if_annotation_object(a, self.id)
            if not s:
                ann._h.release()
                raise ValueError(f"{self.what} was deleted")
            return s
        except BaseException:
            ann._lock.release()
            raise

    def release(self):
        self._ann._h.release()
        self._ann._lock.release()

    def close(self):
        self._closed = True  # the object itself stays in the annotation

    @property
    def closed(self):
        """Closed, deleted, or its annotation closed."""
        try:
            self.acquire()
        except ValueError:
            return True
        self.release()
        return False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class AnnotationObject(Session):
    """One object of an Annotation (made by annotation.add_object()): a
    Session on the annotation's decoder run, so every Session method and
    property works on it, plus .id, .finished, finish(), reopen() and
    delete(). Keeps its annotation alive. Once deleted, or once its
    annotation is closed, using it raises ValueError. close() (or the end of
    a `with`) only lets go of this Python object: the object stays in the
    annotation (annotation.object(id)); delete() removes it."""

    def __init__(self, annotation, id):  # noqa: A002
        if not isinstance(annotation, Annotation):
            raise TypeError("annotation must be an interformer.Annotation, "
                            f"not {type(annotation).__name__}")
        self._handles = ()
        self.annotation, self.id = annotation, _int_arg(id, "id", 1, 65535)
        self.model, self.features = annotation.model, annotation.features
        self.width, self.height = annotation.width, annotation.height
        self._lock = annotation._lock
        self._h = _ObjectHandle(annotation, self.id)
        self._handles = (self._h,)

    def _annotation_call(self, name):
        with self._h:  # the object is there (else ValueError); holds the lock
            self.annotation._call(name, self.id)

    def finish(self):
        """Finishes the object: its mask as it is becomes the pixels the
        other objects' later predictions leave out (when exclusive). Reopen
        it before clicking it again."""
        self._annotation_call("if_annotation_finish")

    def reopen(self):
        """Gives the finished object's pixels back; its clicks and mask are
        kept and it can be clicked again."""
        self._annotation_call("if_annotation_reopen")

    def delete(self):
        """Removes the object from the annotation, freeing it and its
        pixels; this Python object is unusable afterwards. Its id is not
        reused."""
        self._annotation_call("if_annotation_delete")

    @property
    def finished(self):
        with self._h, self.annotation._h as a:
            return bool(_lib().if_annotation_is_finished(a, self.id))

    def __repr__(self):
        try:
            with self._h as p:
                n = _lib().if_session_click_count(p)
            state = f"{n} clicks" + (", finished" if self.finished else "")
        except ValueError:
            state = "deleted or closed"
        return (f"<interformer.AnnotationObject {self.id} of {self.width}x{self.height}, "
                f"{state}>")


# ------------------------------------------------------------- COCO outputs
# The library's output/ calls (interformer.h, "Outputs"): no model needed.

def _mask_arg(mask):
    m = mask if isinstance(mask, np.ndarray) else np.asarray(mask)
    if m.dtype == np.bool_:
        m = m.view(np.uint8)
    elif m.dtype != np.uint8:
        raise TypeError(f"mask must be bool or uint8, not {m.dtype}")
    if m.ndim != 2 or 0 in m.shape:
        raise ValueError(f"mask must be a non-empty (height, width) array, not {m.shape}")
    if not (m.strides[1] == 1 and m.strides[0] >= m.shape[1]):
        m = np.ascontiguousarray(m)
    return m


def mask_to_rle(mask):
    """COCO RLE of a (height, width) mask (nonzero = object), as COCO files
    and pycocotools hold it: {"size": [height, width], "counts": "<the
    compressed string>"}."""
    m = _mask_arg(mask)
    h, w = m.shape
    lib = _lib()
    n = ctypes.c_size_t()
    lib.if_mask_rle(m.ctypes.data, w, h, m.strides[0], None, 0, ctypes.byref(n))
    counts = np.empty(max(n.value, 1), np.uint32)
    _check(lib.if_mask_rle(m.ctypes.data, w, h, m.strides[0], counts.ctypes.data, counts.size,
                           ctypes.byref(n)), "if_mask_rle")
    ln = ctypes.c_size_t()
    lib.if_rle_encode_string(counts.ctypes.data, n.value, None, 0, ctypes.byref(ln))
    buf = ctypes.create_string_buffer(ln.value + 1)
    _check(lib.if_rle_encode_string(counts.ctypes.data, n.value, buf, len(buf), ctypes.byref(ln)),
           "if_rle_encode_string")
    return {"size": [h, w], "counts": buf.value.decode("ascii")}


def rle_to_mask(rle):
    """The (height, width) uint8 mask (1 = object) of a COCO RLE: a dict
    with "size" and "counts" (the compressed string, or a list of counts).
    A malformed string or counts that do not cover the image raise Error
    (IF_ERR_BAD_COUNT) with where and why."""
    h, w = rle["size"]
    h, w = _int_arg(h, "height", 1), _int_arg(w, "width", 1)
    counts = rle["counts"]
    lib = _lib()
    if isinstance(counts, (str, bytes)):
        try:
            s = counts.encode("ascii") if isinstance(counts, str) else counts
        except UnicodeEncodeError:
            raise ValueError("counts: not a COCO string (a character outside '0'..'o')") from None
        n = ctypes.c_size_t()
        _check(lib.if_rle_decode_string(s, len(s), None, 0, ctypes.byref(n)),
               "if_rle_decode_string")
        arr = np.empty(max(n.value, 1), np.uint32)
        _check(lib.if_rle_decode_string(s, len(s), arr.ctypes.data, arr.size, ctypes.byref(n)),
               "if_rle_decode_string")
        arr = arr[:n.value]
    else:
        arr = np.asarray(counts)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError("counts must be a string or a list of whole run lengths")
        arr = arr.astype(np.int64)
        if (arr < 0).any() or (arr > 2**32 - 1).any():
            raise ValueError("counts must be run lengths from 0 to 2**32 - 1")
        arr = np.ascontiguousarray(arr, np.uint32)
    out = np.empty((h, w), np.uint8)
    _check(lib.if_rle_to_mask(arr.ctypes.data, arr.size, w, h, out.ctypes.data, w),
           "if_rle_to_mask")
    return out


def mask_bbox(mask):
    """COCO's bbox [x, y, w, h] and area (pixels) of a mask: ([0, 0, 0, 0],
    0) when it is empty."""
    m = _mask_arg(mask)
    box = (ctypes.c_int * 4)()
    area = ctypes.c_int64()
    _check(_lib().if_mask_bbox(m.ctypes.data, m.shape[1], m.shape[0], m.strides[0], box,
                               ctypes.byref(area)), "if_mask_bbox")
    return list(box), int(area.value)


def mask_polygons(mask, tolerance=1.0):
    """The outlines of a mask: a list of (ring, parent) with ring an (n, 2)
    float32 array of (x, y) pixel corners and parent -1 for an outer ring,
    else the index of the outer ring whose hole it is; simplified to within
    `tolerance` pixels (0: exact; filling outer rings and emptying holes
    gives the mask back)."""
    m = _mask_arg(mask)
    t = float(tolerance)
    if not t >= 0:
        raise ValueError(f"tolerance must be >= 0, not {tolerance!r}")
    lib = _lib()
    pg = ctypes.c_void_p()
    _check(lib.if_mask_polygons(m.ctypes.data, m.shape[1], m.shape[0], m.strides[0], t,
                                ctypes.byref(pg)), "if_mask_polygons")
    try:
        out = []
        for i in range(lib.if_polygons_count(pg)):
            n, parent = ctypes.c_int(), ctypes.c_int()
            xy = lib.if_polygons_ring(pg, i, ctypes.byref(n), ctypes.byref(parent))
            ring = np.ctypeslib.as_array(xy, (n.value, 2)).copy() if n.value else \
                np.empty((0, 2), np.float32)
            out.append((ring, parent.value))
        return out
    finally:
        lib.if_polygons_free(pg)
