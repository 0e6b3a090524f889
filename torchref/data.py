"""Training samples for the demo model: few real instances, many augmented ones.

The demo model is trained on a few hundred image/mask pairs (COCO_MVal: one
object per image). To see many more distinct instances than that, every
sample is made fresh from them:

* scale, crop and flip, with the crop placed so that the object (or a part
  of it) is inside, as mmseg's RandomCrop with cat_max_ratio would keep it;
* photometric jitter (brightness, contrast, saturation, a little noise);
* copy-paste: with probability `paste_prob` the target object is cut out of
  one image, rescaled and pasted onto another image's crop, so the same
  object appears against new backgrounds and next to new distractors (the
  background image's own object stays visible as a distractor).

Images are uint8 (H, W, 3) RGB, masks bool (H, W). Everything is NumPy +
Pillow (resizing); nothing here depends on torch.
"""

import os

import numpy as np
from PIL import Image

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


def _find(folder, stem):
    for ext in IMAGE_EXTS + tuple(e.upper() for e in IMAGE_EXTS):
        p = os.path.join(folder, stem + ext)
        if os.path.exists(p):
            return p
    return None


def load_pairs(root, max_side=480):
    """[(name, rgb uint8 (H, W, 3), mask bool (H, W))] from ROOT/img + ROOT/gt.

    Images larger than max_side on their longer side are downscaled (the
    model is trained on crops of about 300 px; full-size COCO images only
    cost decode time). Masks are foreground where > 127.
    """
    img_dir, gt_dir = os.path.join(root, "img"), os.path.join(root, "gt")
    if not os.path.isdir(img_dir) or not os.path.isdir(gt_dir):
        raise FileNotFoundError(f"{root}: expected img/ and gt/ folders")
    pairs = []
    for fn in sorted(os.listdir(img_dir)):
        stem, ext = os.path.splitext(fn)
        if ext.lower() not in IMAGE_EXTS:
            continue
        gp = _find(gt_dir, stem)
        if gp is None:
            continue
        img = Image.open(os.path.join(img_dir, fn)).convert("RGB")
        gt = Image.open(gp).convert("L")
        if gt.size != img.size:
            raise ValueError(f"{fn}: mask size {gt.size} != image size {img.size}")
        s = max_side / max(img.size)
        if s < 1:
            size = (max(1, round(img.size[0] * s)), max(1, round(img.size[1] * s)))
            img = img.resize(size, Image.BILINEAR)
            gt = gt.resize(size, Image.BILINEAR)
        mask = np.asarray(gt) > 127
        if mask.sum() < 16:
            continue
        pairs.append((stem, np.asarray(img, np.uint8).copy(), mask))
    if not pairs:
        raise FileNotFoundError(f"{root}: no image/mask pairs")
    return pairs


def split_pairs(pairs, n_val):
    """(train, val): every k-th pair goes to validation, deterministic."""
    if n_val <= 0:
        return pairs, []
    step = max(1, len(pairs) // n_val)
    val_idx = set(range(0, len(pairs), step)[:n_val])
    return ([p for i, p in enumerate(pairs) if i not in val_idx],
            [p for i, p in enumerate(pairs) if i in val_idx])


def _resize(img, mask, scale):
    h, w = mask.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    im = np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))
    m = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.BILINEAR)) > 127
    return im, m


def _bbox(mask):
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _crop(img, mask, size, rng, centre=None):
    """A size x size crop (zero padded where the image is smaller); the crop
    contains `centre` (y, x) if given."""
    h, w = mask.shape
    if centre is None:
        y0 = rng.integers(min(0, h - size), max(0, h - size) + 1)
        x0 = rng.integers(min(0, w - size), max(0, w - size) + 1)
    else:
        cy, cx = centre
        y0 = int(cy) - int(rng.integers(size // 8, size - size // 8))
        x0 = int(cx) - int(rng.integers(size // 8, size - size // 8))
        y0 = min(max(y0, min(0, h - size)), max(0, h - size))
        x0 = min(max(x0, min(0, w - size)), max(0, w - size))
    out_img = np.zeros((size, size, 3), np.uint8)
    out_img[:] = (124, 116, 104)                   # the mean colour: pads to ~0 after normalising
    out_mask = np.zeros((size, size), bool)
    sy, sx = max(0, y0), max(0, x0)
    ey, ex = min(h, y0 + size), min(w, x0 + size)
    out_img[sy - y0:ey - y0, sx - x0:ex - x0] = img[sy:ey, sx:ex]
    out_mask[sy - y0:ey - y0, sx - x0:ex - x0] = mask[sy:ey, sx:ex]
    return out_img, out_mask


def _jitter(img, rng):
    x = img.astype(np.float32)
    if rng.random() < 0.8:
        x = x + rng.uniform(-32, 32)                                  # brightness
    if rng.random() < 0.8:
        m = x.mean()
        x = (x - m) * rng.uniform(0.6, 1.4) + m                       # contrast
    if rng.random() < 0.8:
        g = x.mean(axis=2, keepdims=True)
        x = (x - g) * rng.uniform(0.5, 1.5) + g                       # saturation
    if rng.random() < 0.3:
        x = x + rng.normal(0, rng.uniform(2, 8), x.shape)             # sensor noise
    return np.clip(x, 0, 255).astype(np.uint8)


class Augmenter:
    """Makes (rgb uint8 (S, S, 3), mask bool (S, S)) training samples.

    scale_range is relative to the scale at which the image's longer side
    equals the crop size. object_scale, when given, replaces it with a range
    for the object's own longer side as a fraction of the crop (drawn
    log-uniformly), for pasted objects too: benchmark objects such as
    GrabCut's fill most of the view, and a model that has only seen small
    objects answers a first click with a small blob. min_area is the least
    object fraction of a crop.
    """

    def __init__(self, pairs, scale_range=(0.7, 1.8), paste_prob=0.4, min_area=0.01,
                 object_scale=None):
        self.pairs = pairs
        self.scale_range = scale_range
        self.paste_prob = paste_prob
        self.min_area = min_area
        self.object_scale = object_scale

    def sample(self, size, rng):
        for _ in range(20):
            if rng.random() < self.paste_prob:
                img, mask = self._pasted(size, rng)
            else:
                img, mask = self._plain(size, rng)
            area = mask.mean()
            if self.min_area <= area <= 0.9:
                break
        if rng.random() < 0.5:
            img, mask = img[:, ::-1], mask[:, ::-1]
        return _jitter(np.ascontiguousarray(img), rng), np.ascontiguousarray(mask)

    def _object_side(self, size, rng):
        """The longer side an object is scaled to (object_scale only)."""
        return size * np.exp(rng.uniform(*np.log(self.object_scale)))

    def _scaled(self, idx, size, rng, by_object=False):
        _, img, mask = self.pairs[idx]
        if by_object and self.object_scale is not None:
            y0, y1, x0, x1 = _bbox(mask)
            s = self._object_side(size, rng) / max(y1 - y0, x1 - x0)
        else:
            s = size / max(mask.shape) * np.exp(rng.uniform(*np.log(self.scale_range)))
        return _resize(img, mask, s)

    def _plain(self, size, rng):
        img, mask = self._scaled(int(rng.integers(len(self.pairs))), size, rng, by_object=True)
        ys, xs = np.nonzero(mask)
        k = int(rng.integers(len(ys)))
        return _crop(img, mask, size, rng, centre=(ys[k], xs[k]))

    def _pasted(self, size, rng):
        i, j = rng.choice(len(self.pairs), 2, replace=False)
        bg, _ = self._crop_any(int(i), size, rng)
        _, oimg, omask = self.pairs[int(j)]
        y0, y1, x0, x1 = _bbox(omask)
        oimg, omask = oimg[y0:y1, x0:x1], omask[y0:y1, x0:x1]
        if self.object_scale is not None:
            target = self._object_side(size, rng)
        else:
            target = size * rng.uniform(0.25, 0.8)               # object's longer side
        oimg, omask = _resize(oimg, omask, target / max(omask.shape))
        if rng.random() < 0.5:
            oimg, omask = oimg[:, ::-1], omask[:, ::-1]
        oh, ow = omask.shape
        py = int(rng.integers(-oh // 4, size - 3 * oh // 4 + 1))
        px = int(rng.integers(-ow // 4, size - 3 * ow // 4 + 1))
        out, mask = bg.copy(), np.zeros((size, size), bool)
        sy, sx, ey, ex = max(0, py), max(0, px), min(size, py + oh), min(size, px + ow)
        m = omask[sy - py:ey - py, sx - px:ex - px]
        out[sy:ey, sx:ex][m] = oimg[sy - py:ey - py, sx - px:ex - px][m]
        mask[sy:ey, sx:ex] = m
        return out, mask

    def _crop_any(self, idx, size, rng):
        img, mask = self._scaled(idx, size, rng)
        return _crop(img, mask, size, rng)
