"""Write an InterFormer checkpoint ({'meta': {'config', ...}, 'state_dict'}) from a preset.

    /usr/bin/python3 -m torchref OUT.pth [--preset small|light|tiny] [--init random|official]
                                         [--seed N]

For demos and pipeline tests of the converter and the C runtime: `random`
fills every tensor with seeded values of sane scale (InterFormer.randomize_),
`official` applies the official from-scratch initialisation. The result
converts with `python3 -m converter OUT.pth -o DIR`.
"""

import argparse
import sys

import torch

from .model import InterFormer

PRESETS = {"small": InterFormer.small, "light": InterFormer.light, "tiny": InterFormer.tiny}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m torchref", description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="checkpoint path to write")
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--init", choices=("random", "official"), default="random")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    model = PRESETS[args.preset]()
    if args.init == "random":
        model.randomize_(args.seed)
    else:
        model.init_weights()
    model.save_checkpoint(args.out)
    n = sum(v.numel() for v in model.state_dict().values())
    print(f"{args.out}: {args.preset} ({model.cfg.model.segmentor}), {n} values, init {args.init}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
