"""Command line: python3 -m converter CHECKPOINT -o OUTDIR [--name NAME]
[--config light|tiny|PATH] [--weights f32|f16]."""

import argparse
import sys

from .errors import EXIT_ERROR, ConversionError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # Usage errors follow the converter's one-line error convention too.
        sys.stderr.write(f"converter: error: {message}\n")
        sys.exit(EXIT_ERROR)


def main(argv=None):
    p = _Parser(
        prog="python3 -m converter",
        description="Convert an InterFormer PyTorch checkpoint into NAME.encoder.ifg and "
                    "NAME.decoder.ifg (format/FORMAT.md). torch is not needed.")
    p.add_argument("checkpoint", help="torch.save checkpoint ({'meta', 'state_dict'} or a "
                                      "bare state_dict)")
    p.add_argument("-o", "--outdir", required=True, help="output directory (created if needed)")
    p.add_argument("--name", help="output file stem (default: the checkpoint's file stem)")
    p.add_argument("--config", help="model hyper-parameters when the checkpoint has no "
                                    "meta['config']: 'light', 'tiny' or an mmseg config file; "
                                    "an embedded meta['config'] takes precedence")
    p.add_argument("--weights", choices=("f32", "f16"), default="f32",
                   help="storage of rank>=2 weights (default f32)")
    args = p.parse_args(argv)

    from .convert import convert
    try:
        convert(args.checkpoint, args.outdir, args.name, args.config, args.weights)
    except ConversionError as e:
        sys.stderr.write(f"converter: error: {e}\n")
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
