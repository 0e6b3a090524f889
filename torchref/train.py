"""Train a small InterFormer on CPU: the official recipe in miniature.

    /usr/bin/python3 -m torchref.train --data ../shared/data/COCO_MVal --out runs/demo
    /usr/bin/python3 -m torchref.train --out runs/demo --resume      # after an interruption

A resumed run keeps the model and its schedule state but takes the data
and schedule options anew, so a run can change course: the bundled demo
model was trained 400 steps with the defaults, then resumed with larger
crops and objects (models/README.md has the exact commands).

What is the official recipe (configs/_base_/interformer_tiny.py, ClickSegmentor):

* Click simulation per batch (interact_train, no gradients): the first click
  at the object's innermost point; then k more rounds, k ~ gamma^k on
  0..max_num_clicks (gamma 0.6): predict, fold the prediction into the
  five-code reference label (2 -> 3 / 2 -> 1 ...), click at a random point
  of the largest error region whose distance to the region border exceeds
  1/sfc_inner_k (1.7) of the maximum. The last reference label (with its
  fresh click not yet answered) is the training input.
* Loss: normalized focal loss (alpha 0.5, gamma 2) on the decode head, plus
  0.4 x the same on the auxiliary FCN head.
* AdamW (weight decay 0.05, none on norms, biases and position tables),
  linear warm-up then poly (power 1) decay.

What is miniature: a small ViT trained from scratch (no MAE weights can be
had here), crops of 224-256 px from a few hundred images made into many
instances by `torchref.data.Augmenter`, batch 8, two CPU threads.

What differs, because there is no pretrained backbone: clicks are disks of
radius 10 (--click-radius; the official 5 is a config value, written into
the checkpoint and the converted graphs, so the C runtime stamps the same
disks), and the 5-code reference-label embedding starts from N(0, 1)
(--ref-embed-std) instead of Xavier (~0.2). With either official value,
the from-scratch model settles on the constant "all background" answer in
the first 100 steps and does not leave it within the budget: the click
signal is too small next to untrained image features (measured with 120
steps on 224-px crops; radius 10 plus N(0, 1) learns).

Files in --out: `state.pt` (everything needed to resume: model, optimiser,
step, RNG states; written atomically every --ckpt-every steps),
`model.pth` (the official {'meta', 'state_dict'} checkpoint for
`python3 -m converter`, refreshed at every validation and at the end),
`log.jsonl` (one JSON object per logged step or validation). Validation
runs the evaluation protocol (torchref.clicks.interact, 5 clicks) on
held-out images and logs the mean IoU after 1, 3 and 5 clicks.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import clicks as C
from .data import Augmenter, load_pairs, split_pairs
from .model import InterFormer


# ---------------------------------------------------------------------------
# Loss
# ---------------------------------------------------------------------------

def normalized_focal_loss(logits, target, alpha=0.5, gamma=2.0, eps=1.1920929e-07):
    """Official NormalizedFocalLoss (sigmoid of logit1 - logit0), mean over the batch.

    The focal weights (1 - pt)^gamma are rescaled per image to sum to the
    pixel count (scale detached), so easy images do not vanish from the
    gradient as they would with the plain focal loss.
    """
    x = logits[:, 1] - logits[:, 0]
    t = target.to(x.dtype)
    p = torch.sigmoid(x)
    pt = 1.0 - (p - t).abs()
    a = torch.where(target != 0, alpha, 1.0 - alpha)
    beta = (1.0 - pt) ** gamma
    n = float(x.shape[-2] * x.shape[-1])
    scale = (n / (beta.sum(dim=(-2, -1), keepdim=True) + eps)).detach()
    loss = -a * scale * beta * torch.log((pt + eps).clamp(max=1.0))
    return loss.flatten(1).mean(1).mean()


# ---------------------------------------------------------------------------
# Click simulation (training flavour: sfc_inner_k, whole batch)
# ---------------------------------------------------------------------------

def train_click(pred, gt, clicked, sfc_inner_k, rng, stride=2):
    """(y, x, positive) like interformer.utils.click, or None when pred == gt.

    Candidates: error pixels whose distance to the region border exceeds
    max / sfc_inner_k (1.0 keeps only the innermost points). For speed the
    distances are computed on every `stride`-th pixel (exact Euclidean on
    that grid): training needs a point deep inside the largest error, not
    the evaluation protocol's exact farthest pixel (that one is in
    torchref.clicks and in C). Falls back to the full grid when the
    subsampled error vanishes.
    """
    ignore = np.zeros_like(gt)
    for y, x, _ in clicked:
        ignore[y, x] = True
    fn = gt & ~pred & ~ignore
    fp = pred & ~gt & ~ignore
    for s in ((stride, 1) if stride > 1 else (1,)):
        nd, pd = C.squared_distance(fn[::s, ::s]), C.squared_distance(fp[::s, ::s])
        nmax, pmax = nd.max(), pd.max()
        if nmax or pmax:
            break
    else:
        return None
    positive = bool(nmax > pmax)
    d, dmax = (nd, nmax) if positive else (pd, pmax)
    scale = 1.0 / (sfc_inner_k + 1.1920929e-07)
    cands = np.argwhere(d > (scale * math.sqrt(dmax)) ** 2)
    if len(cands) == 0:
        cands = np.argwhere(d == dmax)
    y, x = cands[rng.integers(len(cands))] * s
    return int(y), int(x), positive


def simulate_clicks(model, img, gt, cfg, rng):
    """The reference labels (B, H, W) uint8 that the training forward sees."""
    B, H, W = gt.shape
    gtn = gt.numpy().astype(bool)
    refs = [C.initial_ref_label(H, W) for _ in range(B)]
    done = [[] for _ in range(B)]

    def click_all(preds, k):
        for b in range(B):
            c = train_click(preds[b], gtn[b], done[b], k, rng)
            if c is not None:
                done[b].append(c)
                refs[b] = C.add_clicks(refs[b], [c], cfg["inner_radius"], cfg["outer_radius"])

    click_all(np.zeros_like(gtn), 1.0)
    probs = cfg["gamma"] ** np.arange(cfg["max_num_clicks"] + 1)
    n = int(rng.choice(len(probs), p=probs / probs.sum()))
    if n:
        with torch.no_grad():
            feats = model.encode(img)
            for _ in range(n):
                ref = torch.from_numpy(np.stack(refs))
                logits = model.decode(feats, ref)
                preds = (logits[:, 1] > logits[:, 0]).numpy()
                refs = [C.update_by_prediction(r, p.astype(np.uint8)) for r, p in zip(refs, preds)]
                click_all(preds, cfg["sfc_inner_k"])
    return torch.from_numpy(np.stack(refs)), n


# ---------------------------------------------------------------------------
# Batches, optimiser, schedule
# ---------------------------------------------------------------------------

def normalise(rgb_batch, cfg):
    x = torch.from_numpy(np.stack(rgb_batch)).float()              # (B, H, W, 3)
    x = (x - torch.tensor(cfg.mean)) / torch.tensor(cfg.std)
    return x.permute(0, 3, 1, 2).contiguous()


def make_optimizer(model, lr, weight_decay):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.dim() <= 1 or name.endswith(("pos_embed", "cls_token", "relative_position_bias_table")):
            no_decay.append(p)
        else:
            decay.append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.999))


def lr_at(step, total, peak, warmup, progress=None):
    """Linear warm-up over `warmup` steps, then linear decay to 0 at `total`
    steps, or, when `progress` (0..1, the share of a time budget spent) is
    given, at the end of the budget: a time-limited run then still ends on a
    small learning rate, however fast its steps turned out to be."""
    if step < warmup:
        return peak * (1e-3 + (1 - 1e-3) * step / warmup)
    if progress is not None:
        return peak * max(0.0, 1.0 - progress)
    return peak * max(0.0, 1.0 - (step - warmup) / max(1, total - warmup))


def build_model(args):
    fpn = tuple(int(v) for v in args.fpn_dims.split(","))
    return InterFormer.small(embed_dims=args.embed_dims, num_layers=args.layers,
                             num_heads=args.heads, img_size=(args.native, args.native),
                             fpn_dims=fpn, channels=args.channels,
                             depths=tuple(int(v) for v in args.depths.split(",")),
                             click_radius=args.click_radius)


# ---------------------------------------------------------------------------
# Validation: the evaluation protocol on held-out images
# ---------------------------------------------------------------------------

@torch.no_grad()
def validate(model, val_pairs, n_clicks=5):
    model.eval()
    per_step = np.zeros(n_clicks)
    rng = random.Random(0)
    for _, rgb, mask in val_pairs:
        img = model.preprocess(rgb)
        gt = np.zeros(img.shape[-2:], np.uint8)
        gt[:mask.shape[0], :mask.shape[1]] = mask
        steps = C.interact(model, img, gt, num_clicks=n_clicks, rng=rng, zoom_in=False)
        h, w = mask.shape
        per_step += [C.iou(s["pred"][:h, :w], mask) for s in steps]
    model.train()
    return per_step / max(1, len(val_pairs))


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------

def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_state(out, model, opt, step, rng, args, minutes):
    save_atomic({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                 "minutes": minutes,
                 "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                 "py_rng": random.getstate(), "args": vars(args)},
                os.path.join(out, "state.pt"))


def export(out, model, step, args):
    ckpt = model.checkpoint(train_steps=step, train_data=os.path.basename(
        os.path.normpath(args.data)), train_script="torchref/train.py")
    save_atomic(ckpt, os.path.join(out, "model.pth"))


# ---------------------------------------------------------------------------

MODEL_ARGS = ("embed_dims", "layers", "heads", "native", "fpn_dims", "channels", "depths",
              "click_radius")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m torchref.train",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/COCO_MVal",
                   help="folder with img/ and gt/ (default %(default)s)")
    p.add_argument("--out", required=True, help="run folder (state.pt, model.pth, log.jsonl)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    p.add_argument("--export", action="store_true",
                   help="only write OUT/model.pth from OUT/state.pt (implies --resume)")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crops", default="224,256", help="crop sizes, one drawn per batch")
    p.add_argument("--scale-range", default="0.7,1.8",
                   help="image scale range, relative to the longer side fitting the crop")
    p.add_argument("--paste-prob", type=float, default=0.4, help="share of copy-paste samples")
    p.add_argument("--object-scale", default=None,
                   help="LO,HI: scale each object so its longer side is LO..HI of the crop "
                        "(replaces --scale-range)")
    p.add_argument("--gamma", type=float, default=0.6,
                   help="click rounds k before a training step are drawn with weight gamma^k "
                        "(official 0.6; nearer 1 trains more late refinement)")
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--max-clicks", type=int, default=20)
    p.add_argument("--ref-embed-std", type=float, default=1.0,
                   help="initial scale of the reference-label embedding (0: official Xavier)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val", type=int, default=24, help="held-out images (default %(default)s)")
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--time-limit", type=float, default=0,
                   help="stop (after saving) once this many minutes have passed")
    p.add_argument("--time-budget", type=float, default=0,
                   help="minutes of training for the whole run, counted across resumes: the "
                        "learning rate decays to 0 as they are spent, and training stops then")
    p.add_argument("--stop-at", type=int, default=0,
                   help="stop (after saving) at this step without changing the schedule, to "
                        "resume with other options")
    g = p.add_argument_group("model (ignored with --resume, but for --click-radius: the run's own "
                             "are used)")
    g.add_argument("--embed-dims", type=int, default=160)
    g.add_argument("--layers", type=int, default=6)
    g.add_argument("--heads", type=int, default=4)
    g.add_argument("--native", type=int, default=384, help="native image size (token grid x16)")
    g.add_argument("--fpn-dims", default="32,64,128,192")
    g.add_argument("--channels", type=int, default=48)
    g.add_argument("--depths", default="1,1,2,1")
    g.add_argument("--click-radius", type=int, default=None,
                   help="click disk radius (default 10; on --resume the run's own unless given: "
                        "the weights do not depend on it)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    state = None
    state_path = os.path.join(args.out, "state.pt")
    if args.resume or args.export:
        if not os.path.exists(state_path):
            print(f"train: no {state_path} to resume from", file=sys.stderr)
            return 2
        state = torch.load(state_path)
        for k in MODEL_ARGS:
            if k != "click_radius" or args.click_radius is None:
                setattr(args, k, state["args"][k])
    if args.click_radius is None:
        args.click_radius = 10

    rng = np.random.default_rng(args.seed)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    model = build_model(args)
    model.init_weights()
    if args.ref_embed_std > 0:
        torch.nn.init.normal_(model.neck.patch_embed, std=args.ref_embed_std)
    opt = make_optimizer(model, args.lr, args.weight_decay)
    step, minutes_before = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        minutes_before = state.get("minutes", 0.0)
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["py_rng"])
    model.train()
    if args.export:
        export(args.out, model, step, args)
        print(f"{os.path.join(args.out, 'model.pth')}: step {step}")
        return 0

    pairs = load_pairs(args.data)
    train_pairs, val_pairs = split_pairs(pairs, args.val)
    obj = tuple(float(v) for v in args.object_scale.split(",")) if args.object_scale else None
    aug = Augmenter(train_pairs, scale_range=tuple(float(v) for v in args.scale_range.split(",")),
                    paste_prob=args.paste_prob, object_scale=obj)
    crops = [int(c) for c in args.crops.split(",")]
    tcfg = dict(model.cfg.train_cfg)
    tcfg["max_num_clicks"] = args.max_clicks
    tcfg["gamma"] = args.gamma
    n_params = sum(p.numel() for p in model.parameters())
    log = open(os.path.join(args.out, "log.jsonl"), "a")

    def emit(rec):
        log.write(json.dumps(rec) + "\n")
        log.flush()
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in rec.items()), flush=True)

    emit({"event": "start", "step": step, "params": n_params, "train": len(train_pairs),
          "val": len(val_pairs), **{k: getattr(args, k) for k in MODEL_ARGS}})
    t_start, t_last, loss_sum, clicks_sum, n_sum = time.time(), time.time(), 0.0, 0, 0

    def minutes():
        return minutes_before + (time.time() - t_start) / 60

    last = False
    while step < args.steps:
        progress = minutes() / args.time_budget if args.time_budget else None
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr, args.warmup, progress)
        size = int(rng.choice(crops))
        samples = [aug.sample(size, rng) for _ in range(args.batch)]
        img = normalise([s[0] for s in samples], model.cfg.model)
        gt = torch.from_numpy(np.stack([s[1] for s in samples]).astype(np.uint8))
        ref, n_clicks = simulate_clicks(model, img, gt, tcfg, rng)
        out = model.forward_train(img, ref)
        loss = normalized_focal_loss(out["logits"], gt)
        if "aux_logits" in out:
            loss = loss + 0.4 * normalized_focal_loss(out["aux_logits"], gt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        loss_sum, clicks_sum, n_sum = loss_sum + loss.item(), clicks_sum + n_clicks, n_sum + 1

        if step % args.log_every == 0:
            now = time.time()
            emit({"step": step, "loss": loss_sum / n_sum, "clicks": clicks_sum / n_sum,
                  "lr": opt.param_groups[0]["lr"], "s_per_step": (now - t_last) / n_sum,
                  "minutes": minutes()})
            t_last, loss_sum, clicks_sum, n_sum = now, 0.0, 0, 0
        last = step == args.steps or bool(args.time_budget and minutes() >= args.time_budget)
        over = bool((args.time_limit and time.time() - t_start > 60 * args.time_limit)
                    or step == args.stop_at)
        if step % args.ckpt_every == 0 or last or over:
            save_state(args.out, model, opt, step, rng, args, minutes())
        if (step % args.val_every == 0 or last) and val_pairs:
            miou = validate(model, val_pairs)
            emit({"event": "val", "step": step, "miou@1": float(miou[0]),
                  "miou@3": float(miou[2]), "miou@5": float(miou[4])})
            export(args.out, model, step, args)
        if over and not last:
            emit({"event": "stop", "step": step, "minutes": minutes()})
            break
        if last:
            break
    export(args.out, model, step, args)
    if last or step >= args.steps:
        emit({"event": "done", "step": step})
    return 0


if __name__ == "__main__":
    sys.exit(main())
