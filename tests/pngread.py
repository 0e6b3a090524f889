"""The tests' PNG reader: torchref/png.py's read_png (8-bit gray, gray+alpha,
RGB, RGBA and palette, not interlaced; every chunk's CRC checked), loaded
from its file so that the tests that read PNGs need no PyTorch (importing
the torchref package would load it)."""

import importlib.util
import os

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "torchref",
                     "png.py")
_spec = importlib.util.spec_from_file_location("_torchref_png", _PATH)
_png = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_png)

read_png = _png.read_png
