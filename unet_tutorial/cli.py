"""The ``unet-tutorial`` command line.

Every sub-command has ``--help``. Bad arguments (argparse's own checks and the
package's ``ValueError``) give a one-line error and exit code 2; a missing or
unreadable file gives a one-line error and exit code 1. Never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=128, help="input height and width in pixels (default 128)")
    p.add_argument("--channels", type=int, default=3, help="input channels (default 3)")
    p.add_argument("--classes", type=int, default=3, help="output classes (default 3)")
    p.add_argument("--base-filters", type=int, default=64, help="channels at the top level (default 64)")
    p.add_argument("--depth", type=int, default=4, help="number of pooling steps (default 4)")
    p.add_argument("--padding", choices=["same", "valid"], default="same", help="convolution padding")
    p.add_argument("--no-skip", action="store_true", help="build the model without skip connections")


def _build_from_args(args: argparse.Namespace):
    from .model import build_unet

    return build_unet(
        (args.size, args.size, args.channels),
        num_classes=args.classes,
        base_filters=args.base_filters,
        depth=args.depth,
        padding=args.padding,
        skip_connections=not args.no_skip,
    )


def _cmd_summary(args: argparse.Namespace) -> int:
    model = _build_from_args(args)
    model.summary()
    return 0


def _cmd_sizes(args: argparse.Namespace) -> int:
    from .shapes import level_sizes, valid_input_sizes

    if args.size is None:
        sizes = valid_input_sizes(args.depth, args.padding, max_size=args.max_size)
        print(f"valid input sizes (depth={args.depth}, padding={args.padding}): {' '.join(map(str, sizes))}")
        return 0
    for lvl in level_sizes(args.size, args.depth, args.padding):
        print(f"{lvl.level:>10}: {lvl.size_in:>4} -> {lvl.size_out:>4}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``unet-tutorial`` (also used by the docs)."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="unet-tutorial", description="Companion tool of the U-Net tutorial book."
    )
    parser.add_argument("--version", action="version", version=f"unet-tutorial {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("summary", help="print the layer-by-layer summary of a U-Net")
    _add_model_args(p)
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("sizes", help="list valid input sizes, or trace one size through the U")
    p.add_argument("--size", type=int, default=None, help="trace this input size level by level")
    p.add_argument("--depth", type=int, default=4, help="number of pooling steps (default 4)")
    p.add_argument("--padding", choices=["same", "valid"], default="same", help="convolution padding")
    p.add_argument("--max-size", type=int, default=1024, help="largest size to list (default 1024)")
    p.set_defaults(func=_cmd_sizes)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # a bad argument value: argparse's exit code
        print(f"unet-tutorial {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, OSError) as err:
        print(f"unet-tutorial {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
