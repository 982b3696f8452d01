"""`gan-blocks`: the console entry point; one sub-command per module."""

from __future__ import annotations

import argparse
import sys

from gan_blocks.cli import convert_inception, evaluate, export, prepare, sample, train


def build_parser() -> argparse.ArgumentParser:
    """The `gan-blocks` argument parser with its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="gan-blocks",
        description="gan-blocks command-line tools (the Keras backend is KERAS_BACKEND's).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    evaluate.add_parser(commands)
    convert_inception.add_parser(commands)
    prepare.add_parser(commands)
    train.add_parser(commands)
    export.add_parser(commands)
    sample.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs `gan-blocks COMMAND ...`; returns the exit status.

    Bad input (a missing file, a wrong shape, an unknown metric) is reported
    as `gan-blocks COMMAND: error: ...` on stderr with exit status 2, without
    a traceback.

    Args:
        argv: Arguments after the program name; `None` reads `sys.argv`.

    Returns:
        0 on success, 2 on bad input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError, OSError) as error:
        print(f"gan-blocks {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
