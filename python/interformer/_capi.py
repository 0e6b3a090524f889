"""ctypes declarations of interformer.h and the search for libinterformer.so.

The structures below mirror interformer.h field for field (the tests compile
a C program that prints the header's sizes and offsets and compare them).
Nothing here is public; interformer/__init__.py is the API.
"""

import ctypes
import ctypes.util
import os
import threading

# ----------------------------------------------------------------- structs


class Options(ctypes.Structure):  # if_options
    _fields_ = [("n_threads", ctypes.c_int), ("max_clicks", ctypes.c_int),
                ("isa", ctypes.c_char_p), ("mem_limit", ctypes.c_size_t)]


class ModelInfo(ctypes.Structure):  # if_model_info
    _fields_ = [("kind", ctypes.c_int), ("name", ctypes.c_char * 64),
                ("identity", ctypes.c_char * 72), ("feature_channels", ctypes.c_int * 4),
                ("feature_strides", ctypes.c_int * 4), ("pad_multiple", ctypes.c_int),
                ("mean", ctypes.c_float * 3), ("std", ctypes.c_float * 3),
                ("click_radius", ctypes.c_int), ("zoom_in", ctypes.c_int),
                ("zoom_expand_ratio", ctypes.c_float), ("zoom_min_size", ctypes.c_int),
                ("zoom_start_step", ctypes.c_int), ("zoom_max_stride", ctypes.c_int),
                ("n_params", ctypes.c_int64), ("isa", ctypes.c_char * 16),
                ("n_threads", ctypes.c_int)]


class FeaturesInfo(ctypes.Structure):  # if_features_info
    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("work_w", ctypes.c_int),
                ("work_h", ctypes.c_int), ("padded_w", ctypes.c_int), ("padded_h", ctypes.c_int),
                ("n_levels", ctypes.c_int), ("channels", ctypes.c_int * 4),
                ("strides", ctypes.c_int * 4), ("identity", ctypes.c_char * 72)]


PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double)


class EncodeOptions(ctypes.Structure):  # if_encode_options
    _fields_ = [("max_side", ctypes.c_int), ("progress", PROGRESS), ("user", ctypes.c_void_p)]


class Click(ctypes.Structure):  # if_click
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("positive", ctypes.c_int)]


# The if_status enum, in order (interformer.h).
STATUS_NAMES = (
    "IF_OK", "IF_ERR_INVALID_ARG", "IF_ERR_NO_MEMORY", "IF_ERR_IO", "IF_ERR_TRUNCATED",
    "IF_ERR_BAD_MAGIC", "IF_ERR_BAD_VERSION", "IF_ERR_CHECKSUM", "IF_ERR_BAD_OFFSET",
    "IF_ERR_BAD_COUNT", "IF_ERR_BAD_DTYPE", "IF_ERR_BAD_SHAPE", "IF_ERR_BAD_OP",
    "IF_ERR_BAD_ATTR", "IF_ERR_BAD_TENSOR_ID", "IF_ERR_BAD_GRAPH", "IF_ERR_BAD_META",
    "IF_ERR_MISMATCH", "IF_ERR_UNSUPPORTED", "IF_ERR_STATE", "IF_ERR_CANCELLED")

MODEL_ENCODER, MODEL_DECODER = 1, 2
DTYPE_F32, DTYPE_F16 = 0, 1

# ---------------------------------------------------------- prototypes

_p = ctypes.c_void_p
_i = ctypes.c_int
_st = ctypes.c_int  # if_status
_u8p = ctypes.POINTER(ctypes.c_uint8)
_fp = ctypes.POINTER(ctypes.c_float)
_ip = ctypes.POINTER(ctypes.c_int)

PROTOTYPES = {
    "if_status_str": (ctypes.c_char_p, [_st]),
    "if_last_error": (ctypes.c_char_p, []),
    "if_default_options": (Options, []),
    "if_model_load": (_st, [ctypes.c_char_p, ctypes.POINTER(Options), ctypes.POINTER(_p)]),
    "if_model_free": (None, [_p]),
    "if_model_get_info": (_st, [_p, ctypes.POINTER(ModelInfo)]),
    "if_default_encode_options": (EncodeOptions, []),
    "if_encode": (_st, [_p, _p, _i, _i, ctypes.c_size_t, ctypes.POINTER(EncodeOptions),
                        ctypes.POINTER(_p)]),
    "if_features_free": (None, [_p]),
    "if_features_get_info": (_st, [_p, ctypes.POINTER(FeaturesInfo)]),
    "if_features_level": (_fp, [_p, _i, _ip, _ip, _ip]),
    "if_features_save": (_st, [_p, ctypes.c_char_p, _i]),
    "if_features_load": (_st, [ctypes.c_char_p, ctypes.POINTER(_p)]),
    "if_features_load_buffer": (_st, [_p, ctypes.c_size_t, ctypes.POINTER(_p)]),
    "if_features_check": (_st, [_p, _p]),
    "if_session_new": (_st, [_p, _p, ctypes.POINTER(_p)]),
    "if_session_free": (None, [_p]),
    "if_session_add_click": (_st, [_p, Click]),
    "if_session_undo": (_st, [_p]),
    "if_session_reset": (_st, [_p]),
    "if_session_set_mask": (_st, [_p, _p, ctypes.c_size_t]),
    "if_session_click_count": (_i, [_p]),
    "if_session_get_click": (_st, [_p, _i, ctypes.POINTER(Click)]),
    "if_session_mask": (_u8p, [_p]),
    "if_session_probability": (_st, [_p, _fp]),
    "if_session_logits": (_fp, [_p, _ip, _ip]),
    "if_session_memory_bytes": (ctypes.c_size_t, [_p]),
    "if_session_error": (ctypes.c_char_p, [_p]),
    "if_session_redo": (_st, [_p]),
    "if_session_redo_count": (_i, [_p]),
    "if_session_remove_click": (_st, [_p, _i]),
    "if_session_set_clicks": (_st, [_p, ctypes.POINTER(Click), _i]),
    "if_session_set_click_lists": (_st, [_p, ctypes.POINTER(Click), _i, ctypes.POINTER(Click), _i]),
    "if_session_preview": (_st, [_p, Click, _p]),
    "if_session_decoder_runs": (ctypes.c_uint64, [_p]),
    "if_annotation_new": (_st, [_p, _p, ctypes.POINTER(_p)]),
    "if_annotation_free": (None, [_p]),
    "if_annotation_add_object": (_st, [_p, _ip]),
    "if_annotation_object": (_p, [_p, _i]),  # the object's if_session, owned by the annotation
    "if_annotation_finish": (_st, [_p, _i]),
    "if_annotation_reopen": (_st, [_p, _i]),
    "if_annotation_delete": (_st, [_p, _i]),
    "if_annotation_count": (_i, [_p]),
    "if_annotation_id": (_i, [_p, _i]),
    "if_annotation_is_finished": (_i, [_p, _i]),
    "if_annotation_set_exclusive": (_st, [_p, _i]),
    "if_annotation_is_exclusive": (_i, [_p]),
    "if_annotation_save": (_st, [_p, ctypes.c_char_p]),
    "if_annotation_load": (_st, [_p, _p, ctypes.c_char_p, ctypes.POINTER(_p)]),
    "if_annotation_instance_map": (_st, [_p, _p, ctypes.c_size_t]),
    "if_annotation_memory_bytes": (ctypes.c_size_t, [_p]),
    "if_annotation_error": (ctypes.c_char_p, [_p]),
    "if_mask_rle": (_st, [_p, _i, _i, ctypes.c_size_t, _p, ctypes.c_size_t,
                          ctypes.POINTER(ctypes.c_size_t)]),
    "if_rle_encode_string": (_st, [_p, ctypes.c_size_t, _p, ctypes.c_size_t,
                                   ctypes.POINTER(ctypes.c_size_t)]),
    "if_rle_decode_string": (_st, [_p, ctypes.c_size_t, _p, ctypes.c_size_t,
                                   ctypes.POINTER(ctypes.c_size_t)]),
    "if_rle_to_mask": (_st, [_p, ctypes.c_size_t, _i, _i, _p, ctypes.c_size_t]),
    "if_mask_bbox": (_st, [_p, _i, _i, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int),
                           ctypes.POINTER(ctypes.c_int64)]),
    "if_mask_polygons": (_st, [_p, _i, _i, ctypes.c_size_t, ctypes.c_float, ctypes.POINTER(_p)]),
    "if_polygons_count": (_i, [_p]),
    "if_polygons_ring": (_fp, [_p, _i, _ip, _ip]),
    "if_polygons_free": (None, [_p]),
}

# ------------------------------------------------------- finding the library

LIBRARY_ENV = "INTERFORMER_LIBRARY"
_HERE = os.path.dirname(os.path.abspath(__file__))
_lock = threading.Lock()
_lib = None
_lib_path = None


class LibraryNotFoundError(OSError):
    """libinterformer.so was not found (or not loadable); the message lists
    every place tried."""


def candidates():
    """The places looked at, in order, as (description, path or name)."""
    out = []
    env = os.environ.get(LIBRARY_ENV)
    if env:
        p = os.path.join(env, "libinterformer.so") if os.path.isdir(env) else env
        out.append((f"${LIBRARY_ENV}", p))
    for name in ("libinterformer.so", "libinterformer.so.0"):
        out.append(("next to the package", os.path.join(_HERE, name)))
    # Running from the source tree: python/interformer/ -> the repo root.
    root = os.path.dirname(os.path.dirname(_HERE))
    if os.path.isfile(os.path.join(root, "interformer.h")):
        out.append(("the source tree's build", os.path.join(root, "build", "libinterformer.so")))
    found = ctypes.util.find_library("interformer")
    if found:
        out.append(("ctypes.util.find_library", found))
    out.append(("the dynamic loader", "libinterformer.so.0"))
    return out


def _bind(lib, path):
    missing = [n for n in PROTOTYPES if not hasattr(lib, n)]
    if missing:
        raise LibraryNotFoundError(f"{path} is not a compatible libinterformer "
                                   f"(lacks {', '.join(missing)})")
    for name, (res, args) in PROTOTYPES.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


def load_library(path=None):
    """The loaded library (ctypes.CDLL), loading it on the first call: from
    `path` when given, else the first of candidates() that loads."""
    global _lib, _lib_path
    with _lock:
        if path is not None:
            path = os.fspath(path)
            if _lib is not None and _lib_path != path:
                raise RuntimeError(f"libinterformer is already loaded from {_lib_path}; "
                                   "use_library() must come before the first use")
            if _lib is None:
                try:
                    _lib = _bind(ctypes.CDLL(path), path)
                except OSError as e:
                    raise LibraryNotFoundError(f"cannot load {path}: {e}") from None
                _lib_path = path
            return _lib
        if _lib is not None:
            return _lib
        tried = []
        for how, p in candidates():
            is_path = os.sep in p
            if is_path and not os.path.exists(p):
                if how.startswith("$"):  # an explicit choice that is wrong: no fallback
                    raise LibraryNotFoundError(f"${LIBRARY_ENV} names {p}, which does not exist")
                tried.append(f"{p} ({how}: not there)")
                continue
            try:
                lib = ctypes.CDLL(p)
            except OSError as e:
                if how.startswith("$"):
                    raise LibraryNotFoundError(f"${LIBRARY_ENV}: cannot load {p}: {e}") from None
                tried.append(f"{p} ({how}: {e})")
                continue
            _lib = _bind(lib, p)
            _lib_path = getattr(lib, "_name", p)
            return _lib
        raise LibraryNotFoundError(
            "libinterformer.so not found; looked at: " + "; ".join(tried) +
            f". Build it (`make shared`), set ${LIBRARY_ENV} to its path, or "
            "`make python-package` before `pip install ./python` to ship it in the package.")


def library_path():
    """Where the loaded library came from (loading it if needed)."""
    load_library()
    return _lib_path
