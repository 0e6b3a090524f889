"""Click protocol of the official InterFormer evaluation (interact_test).

* Reference labels: codes 0 definite background (negative click), 1 possible
  background, 2 unknown, 3 possible foreground, 4 definite foreground
  (positive click). Start: all 2. A click stamps a disk of radius 5
  ((i-y)^2 + (j-x)^2 <= 25) with 4 or 0. After each prediction, per pixel:
  pred 1: 2 -> 3, 1 -> 2; pred 0: 2 -> 1, 3 -> 2; 0 and 4 never change.
* Zoom-in ROI (ClickSegmentorZoomIn.get_roi): bounding box of
  pred_{k-1} | ref==4 | ref==0, expanded 1.4x about its centre, at least
  32 px, snapped outwards to multiples of 32. Computed with the same float32
  torch ops as the official code (torch.round = round half to even).
* Click simulator (interformer.utils.click): false negatives / false
  positives, minus already clicked pixels, are distance transformed (exact
  Euclidean, the image border counts as background); positive click iff the
  largest FN distance exceeds the largest FP distance; the click is drawn
  at random among the pixels of maximal distance.

Arrays are NumPy (H, W); functions that the model consumes also accept torch
tensors where noted.
"""

import random

import numpy as np
import torch

REF_DEFINITELY_BACKGROUND, REF_POSSIBLY_BACKGROUND, REF_UNKNOWN, \
    REF_POSSIBLY_FOREGROUND, REF_DEFINITELY_FOREGROUND = range(5)
CLICK_RADIUS = 5


# ---------------------------------------------------------------------------
# Reference labels
# ---------------------------------------------------------------------------

def initial_ref_label(height, width):
    """All 'unknown' (2), uint8 (H, W)."""
    return np.full((height, width), REF_UNKNOWN, dtype=np.uint8)


def disk(shape, y, x, radius):
    """Boolean (H, W) mask of (i-y)^2 + (j-x)^2 <= radius^2."""
    ii = np.arange(shape[0])[:, None]
    jj = np.arange(shape[1])[None, :]
    return (ii - y) ** 2 + (jj - x) ** 2 <= radius * radius


def _merge(ref, new):
    """official update_ref_label: codes 0/4 overwrite, 1/3 act as soft votes."""
    for mode in range(5):
        ref = update_with_mask(ref, new == mode, mode)
    return ref


def update_with_mask(ref, mask, mode):
    """official update_ref_label_with_mask (0/4: set; 1/3: 2 -> mode, inverse -> 2)."""
    res = ref.copy()
    if mode == REF_UNKNOWN:
        return res
    if mode in (REF_DEFINITELY_BACKGROUND, REF_DEFINITELY_FOREGROUND):
        res[mask] = mode
        return res
    inverse = REF_POSSIBLY_FOREGROUND if mode == REF_POSSIBLY_BACKGROUND \
        else REF_POSSIBLY_BACKGROUND
    res[mask & (ref == REF_UNKNOWN)] = mode
    res[mask & (ref == inverse)] = REF_UNKNOWN
    return res


def add_clicks(ref, clicks, inner_radius=CLICK_RADIUS, outer_radius=0):
    """Stamp the clicks of one step ([(y, x, positive), ...]) into ref (uint8 (H, W)).

    Builds the official per-step label (outer ring 3/1, cancelled to 2 where a
    positive and a negative ring overlap, inner disk 4/0) and merges it.
    With outer_radius 0 (all official configs) this is just the disks.
    """
    ref = np.asarray(ref)
    if not clicks:
        return ref.copy()
    new = np.full(ref.shape, REF_UNKNOWN, dtype=ref.dtype)
    outer = {True: np.zeros(ref.shape, bool), False: np.zeros(ref.shape, bool)}
    inner = {True: np.zeros(ref.shape, bool), False: np.zeros(ref.shape, bool)}
    for y, x, positive in clicks:
        outer[bool(positive)] |= disk(ref.shape, y, x, inner_radius + outer_radius)
        inner[bool(positive)] |= disk(ref.shape, y, x, inner_radius)
    new[outer[True]] = REF_POSSIBLY_FOREGROUND
    new[outer[False]] = REF_POSSIBLY_BACKGROUND
    new[outer[True] & outer[False]] = REF_UNKNOWN
    new[inner[True]] = REF_DEFINITELY_FOREGROUND
    new[inner[False]] = REF_DEFINITELY_BACKGROUND
    return _merge(ref, new)


def update_by_prediction(ref, pred):
    """ref_label_after_k from ref_label_k and pred_k (both (H, W))."""
    ref, pred = np.asarray(ref), np.asarray(pred)
    ref = update_with_mask(ref, pred == 1, REF_POSSIBLY_FOREGROUND)
    return update_with_mask(ref, pred == 0, REF_POSSIBLY_BACKGROUND)


# ---------------------------------------------------------------------------
# Zoom-in ROI
# ---------------------------------------------------------------------------

def get_roi(pred, ref, expand_ratio=1.4, min_size=32, max_stride=32):
    """[left, up, right, bottom] (int64 array, half-open, multiples of max_stride).

    pred: previous prediction (H, W) (0/1), ref: the current ref label (after
    stamping this step's click). Same float32 torch arithmetic as the official
    get_bbox_from_mask / expand_bbox / snapping, so rounding ties agree.
    """
    pred = torch.as_tensor(np.asarray(pred))
    ref = torch.as_tensor(np.asarray(ref))
    H, W = pred.shape[-2:]
    mask = (pred == 1) | (ref == REF_DEFINITELY_FOREGROUND) | (ref == REF_DEFINITELY_BACKGROUND)
    rows, cols = mask.any(-1), mask.any(-2)
    if not rows.any():
        box = [0, 0, W, H]
    else:
        r, c = torch.nonzero(rows)[:, 0], torch.nonzero(cols)[:, 0]
        box = [int(c[0]), int(r[0]), int(c[-1]) + 1, int(r[-1]) + 1]
    left, up, right, bottom = torch.tensor(box, dtype=torch.int64).chunk(4)
    xc, yc = (left + right) / 2.0, (up + bottom) / 2.0                 # float32
    L = torch.round(xc - expand_ratio * (xc - left)).clip(0, None)
    R = torch.round(xc - expand_ratio * (xc - right)).clip(None, W)
    U = torch.round(yc - expand_ratio * (yc - up)).clip(0, None)
    B = torch.round(yc - expand_ratio * (yc - bottom)).clip(None, H)
    if min_size > 0:
        L = torch.minimum(L, torch.round(xc - min_size / 2.0).clip(0, None))
        R = torch.maximum(R, torch.round(xc + min_size / 2.0).clip(None, W))
        U = torch.minimum(U, torch.round(yc - min_size / 2.0).clip(0, None))
        B = torch.maximum(B, torch.round(yc + min_size / 2.0).clip(None, H))
    L, U, R, B = (v.to(torch.int64) for v in (L, U, R, B))
    s = max_stride
    out = [torch.floor(L / s) * s, torch.floor(U / s) * s,
           torch.ceil(R / s) * s, torch.ceil(B / s) * s]
    return np.array([int(v) for v in out], dtype=np.int64)


# ---------------------------------------------------------------------------
# Distance transform and click simulator
# ---------------------------------------------------------------------------

def squared_distance(mask, border_is_boundary=True):
    """Exact squared Euclidean distance of each True pixel to the nearest False pixel.

    int64 (H, W); 0 on False pixels. With border_is_boundary the outside of
    the image counts as False (the official mask_to_distance(..., True) pads
    one zero pixel). Without any False pixel (and no border) distances are
    a large sentinel. Two passes: exact 1-D distances down the columns, then
    a brute-force lower envelope along the rows (O(H W^2), chunked).
    """
    mask = np.asarray(mask, dtype=bool)
    if border_is_boundary:
        mask = np.pad(mask, 1)
    H, W = mask.shape
    big = H + W + 1
    # Column pass: distance to the nearest False pixel in the same column.
    g = np.empty((H, W), np.int64)
    run = np.full(W, big, np.int64)
    for i in range(H):
        run = np.where(mask[i], np.minimum(run + 1, big), 0)
        g[i] = run
    run = np.full(W, big, np.int64)
    for i in range(H - 1, -1, -1):
        run = np.where(mask[i], np.minimum(run + 1, big), 0)
        g[i] = np.minimum(g[i], run)
    g2 = g * g                                                     # (H, W)
    # Row pass: d2(i, j) = min_k g2(i, k) + (j - k)^2.
    jk2 = (np.arange(W)[:, None] - np.arange(W)[None, :]) ** 2     # (W, W)
    out = np.empty((H, W), np.int64)
    step = max(1, (1 << 22) // (W * W))
    for i0 in range(0, H, step):
        blk = g2[i0:i0 + step]                                     # (R, W)
        out[i0:i0 + step] = (blk[:, None, :] + jk2[None]).min(axis=2)
    if border_is_boundary:
        out = out[1:-1, 1:-1]
    return out


def click_candidates(pred, gt, clicked=()):
    """(positive, candidates (n, 2) [y, x]) of the next click, or None if perfect.

    pred, gt: (H, W) 0/1; clicked: previous (y, x[, ...]) clicks, excluded
    from the error regions (the clicked pixel only, not its disk).
    Distances compare as exact integers; the official float32 sqrt values
    order the same way for any distance below 2048 px.
    """
    pred = np.asarray(pred) == 1
    gt = np.asarray(gt) == 1
    ignore = np.zeros_like(pred)
    for c in clicked:
        ignore[c[0], c[1]] = True
    fn = gt & ~pred & ~ignore
    fp = pred & ~gt & ~ignore
    nd, pd = squared_distance(fn), squared_distance(fp)
    nmax, pmax = nd.max(), pd.max()
    if nmax == 0 and pmax == 0:
        return None
    positive = bool(nmax > pmax)
    d, dmax = (nd, nmax) if positive else (pd, pmax)
    return positive, np.argwhere(d == dmax)


def next_click(pred, gt, clicked=(), rng=random):
    """(y, x, positive) drawn like the official simulator (rng.choice), or None."""
    res = click_candidates(pred, gt, clicked)
    if res is None:
        return None
    positive, cands = res
    y, x = rng.choice(list(cands))
    return int(y), int(x), positive


# ---------------------------------------------------------------------------
# The interactive evaluation loop
# ---------------------------------------------------------------------------

def iou(pred, gt):
    """Foreground IoU of two (H, W) 0/1 maps (1.0 when both are empty)."""
    p, g = np.asarray(pred) == 1, np.asarray(gt) == 1
    union = np.count_nonzero(p | g)
    return np.count_nonzero(p & g) / union if union else 1.0


@torch.no_grad()
def interact(model, img, gt, num_clicks=20, clicks=None, rng=random, zoom_in=None):
    """The official interact_test loop on one padded image.

    img: (1, 3, Hp, Wp) normalised input; gt: (Hp, Wp) 0/1 (zero-padded).
    clicks: replay these [(y, x, positive), ...] instead of simulating.
    zoom_in: override model.zoom_in. Returns a list of per-step dicts:
    click, roi, ref_label (fed to the model), logits, pred, iou.
    """
    cfg = model.cfg.model
    zoom = model.zoom_in if zoom_in is None else zoom_in
    gt = (np.asarray(gt) == 1).astype(np.uint8)
    feats = model.encode(img)
    H, W = gt.shape
    ref, pred, done, steps = initial_ref_label(H, W), np.zeros((H, W), np.uint8), [], []
    for step in range(num_clicks):
        if clicks is not None:
            click = tuple(clicks[step]) if step < len(clicks) else None
        else:
            click = next_click(pred, gt, done, rng)
        if click is not None:
            done.append(click)
            ref = add_clicks(ref, [click], cfg.click_radius)
        roi = None
        if zoom and step >= cfg.zoom_start_step:
            roi = get_roi(pred, ref, cfg.zoom_expand_ratio, cfg.zoom_min_size, 32)
        logits = model.decode(feats, torch.from_numpy(ref)[None], roi)
        pred = (logits[0, 1] > logits[0, 0]).numpy().astype(np.uint8)   # argmax, ties -> 0
        steps.append(dict(click=click, roi=roi, ref_label=ref, logits=logits, pred=pred,
                          iou=iou(pred, gt)))
        ref = update_by_prediction(ref, pred)
    return steps
