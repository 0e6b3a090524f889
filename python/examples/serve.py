#!/usr/bin/python3
"""A Label Studio ML backend for interactive segmentation with InterFormer-C,
on the standard library's http.server (plus NumPy and the interformer
package; Pillow to read images, when installed).

    python3 python/examples/serve.py --model models/demo --port 9090 --data-root /srv/images

Endpoints (Label Studio's ML backend protocol):
  GET  /health    {"status": "UP", "model_class": ..., "model_version": ...}
  POST /setup     {"model_version": ...}
  POST /predict   {"tasks": [...], "label_config": "...", "params": {"context": {"result": [...]}}}
                  -> {"results": [{"result": [brush region], "score": ..., "model_version": ...}]}

Each request carries the whole click list (the context's keypointlabels
results: x, y in percent of the image, is_positive, the label). The server
caches, per image path, the image's features (the encoder runs once per
image) and a session on them, and hands each request's list to
Session.set_clicks, which keeps what the list shares with the previous one
and runs the decoder only for the rest: one run for one more click.
The answer is one BrushLabels region per task, the mask as Label Studio's
brush RLE, labelled with the clicks' label.

Images: the task's data value (the key --data-key, else the first string)
is a local path: absolute, relative to --data-root, or a Label Studio URL
("/data/local-files/?d=REL" or "/data/upload/REL") mapped under
--data-root. No download over HTTP. A feature file (.iff, written by
`interformer encode`) works as an image too (then no encoder is needed).
The image's rotation (image_rotation) is not applied.
"""

import argparse
import json
import os
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

try:
    import interformer
except ImportError:  # run from the source tree without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import interformer

RLE_SIZES = (3, 4, 8, 16)


def brush_rle(mask):
    """Label Studio's brush RLE (the rle-pack format its editor decodes):
    the mask as RGBA bytes (255 in every channel on the object, 0 off it),
    written as runs. A list of byte values."""
    flat = np.repeat(np.where(mask.reshape(-1) > 0, 255, 0).astype(np.uint8), 4)
    n = flat.size
    starts = np.concatenate([[0], np.flatnonzero(flat[1:] != flat[:-1]) + 1])
    lengths = np.diff(np.concatenate([starts, [n]]))
    # Header: count (32 bits), word size - 1 (5 bits), the four run-length
    # field sizes - 1 (4 bits each). Then runs: 1 (a repeat), the field's
    # index (2 bits), length - 1 in that many bits, the value (8 bits).
    bits = [f"{n:032b}", f"{8 - 1:05b}"] + [f"{s - 1:04b}" for s in RLE_SIZES]
    for start, length in zip(starts.tolist(), lengths.tolist()):
        value = f"{int(flat[start]):08b}"
        while length > 0:
            k = min(length, 1 << RLE_SIZES[-1])
            idx = next(i for i, s in enumerate(RLE_SIZES) if k <= 1 << s)
            bits.append(f"1{idx:02b}{k - 1:0{RLE_SIZES[idx]}b}{value}")
            length -= k
    s = "".join(bits)
    s += "0" * (-len(s) % 8)
    return list(int(s, 2).to_bytes(len(s) // 8, "big"))


def read_image(path):
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: reading images needs Pillow (python3-pil); "
                         "feature files (.iff) work without it") from None
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


class Backend:
    def __init__(self, args):
        self.args = args
        self.model = interformer.load(args.model, threads=args.threads)
        self.version = f"interformer-c/{self.model.name}/{self.model.identity[:12]}"
        # path -> (Features, Session, lock), least recently used first
        self.cache = OrderedDict()
        self.lock = threading.Lock()

    def resolve(self, value):
        """The local file of a task's image value."""
        root = self.args.data_root
        u = urllib.parse.urlparse(value)
        if u.scheme in ("http", "https") and not u.path.startswith("/data/"):
            raise ValueError(f"{value}: HTTP images are not downloaded; use local paths")
        if u.path.startswith("/data/local-files"):
            rel = urllib.parse.parse_qs(u.query).get("d", [""])[0]
        elif u.path.startswith("/data/upload/"):
            rel = u.path[len("/data/upload/"):]
        else:
            rel = urllib.parse.unquote(u.path) if u.scheme == "file" else value
        path = rel if os.path.isabs(rel) else os.path.join(root or ".", rel)
        if not os.path.isfile(path):
            raise ValueError(f"{value}: no such file ({path})")
        return os.path.realpath(path)

    def image(self, path):
        """(features, session, lock) of an image: its session is used under
        its lock, one request at a time."""
        with self.lock:
            if path in self.cache:
                self.cache.move_to_end(path)
                return self.cache[path]
        if path.endswith(".iff"):
            f = interformer.load_features(path)
        else:
            f = self.model.encode(read_image(path), max_side=self.args.max_side)
        entry = (f, f.session(self.model), threading.Lock())
        with self.lock:
            entry = self.cache.setdefault(path, entry)  # another request may have been first
            while len(self.cache) > self.args.cache:  # freed when no request uses it
                self.cache.popitem(last=False)
        return entry

    def names(self, label_config):
        """(from_name, to_name) of the BrushLabels tag in the label config."""
        if label_config:
            try:
                for el in ET.fromstring(label_config).iter("BrushLabels"):
                    return el.get("name"), el.get("toName")
            except ET.ParseError:
                pass
        return self.args.from_name, self.args.to_name

    def predict(self, body):
        tasks = body.get("tasks") or []
        params = body.get("params") or {}
        context = params.get("context") or body.get("context") or {}
        from_name, to_name = self.names(body.get("label_config"))
        points = [r for r in context.get("result") or [] if r.get("type") == "keypointlabels"]
        results = []
        for task in tasks:
            if not points:  # nothing clicked yet
                results.append({"result": [], "model_version": self.version})
                continue
            data = task.get("data") or {}
            value = data.get(self.args.data_key)
            if value is None:
                value = next((v for v in data.values() if isinstance(v, str)), None)
            if value is None:
                raise ValueError(f"task {task.get('id')}: no image in its data")
            feat, s, lock = self.image(self.resolve(value))
            w, h = feat.width, feat.height
            label, clicks = None, []
            for p in points:
                v = p["value"]
                x = min(max(int(float(v["x"]) * w / 100), 0), w - 1)
                y = min(max(int(float(v["y"]) * h / 100), 0), h - 1)
                clicks.append((x, y, bool(p.get("is_positive", True))))
                label = (v.get("keypointlabels") or [label])[0]
            with lock:
                s.set_clicks(clicks)
                mask, prob = s.mask, s.probability
            score = float(prob[mask > 0].mean()) if mask.any() else 0.0
            region = {"from_name": from_name, "to_name": to_name, "type": "brushlabels",
                      "original_width": w, "original_height": h, "image_rotation": 0,
                      "value": {"format": "rle", "rle": brush_rle(mask),
                                "brushlabels": [label] if label else []},
                      "score": score, "readonly": False}
            results.append({"result": [region], "score": score, "model_version": self.version})
        return {"results": results}


class Handler(BaseHTTPRequestHandler):
    backend = None  # set in main()

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] in ("/", "/health"):
            self.reply(200, {"status": "UP", "model_class": "InterFormerC",
                             "model_version": self.backend.version})
        else:
            self.reply(404, {"error": f"no such endpoint: {self.path}"})

    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            route = self.path.split("?")[0]
            if route == "/predict":
                self.reply(200, self.backend.predict(body))
            elif route == "/setup":
                self.reply(200, {"model_version": self.backend.version})
            elif route == "/webhook":
                self.reply(200, {})
            else:
                self.reply(404, {"error": f"no such endpoint: {self.path}"})
        except (ValueError, KeyError, TypeError, interformer.Error) as e:
            self.reply(400, {"error": f"{type(e).__name__}: {e}"})

    def log_message(self, fmt, *args):
        if not self.backend.args.quiet:
            super().log_message(fmt, *args)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/demo", help="PREFIX of PREFIX.{encoder,decoder}.ifg")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9090, help="0: any free port (printed)")
    ap.add_argument("--data-root", default=None, help="where relative and Label Studio paths are")
    ap.add_argument("--data-key", default="image", help="the task data key of the image")
    ap.add_argument("--from-name", default="tag", help="BrushLabels name when no label config")
    ap.add_argument("--to-name", default="image", help="Image name when no label config")
    ap.add_argument("--max-side", type=int, default=1024, help="working resolution (0: native)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=int, default=8, help="images whose features are kept")
    ap.add_argument("--quiet", action="store_true", help="no request log")
    args = ap.parse_args(argv)
    Handler.backend = Backend(args)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"serving {Handler.backend.version} on http://{args.host}:{server.server_port}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
