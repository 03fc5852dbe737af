"""The command line: ``lininv COMMAND ...``; one module per command, argparse only here.

Each command module defines ``add_parser(subparsers)``, which registers the command and sets
``func(args) -> int`` on its parser. Commands validate their flags before any work, call the
public library, print and save. Every command's exit status means the same
(:data:`lininv.cli._common.EXIT_CODES_HELP`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from lininv.cli._common import (
    EXIT_CODES_HELP,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)

__all__ = ["main", "build_parser", "COMMANDS"]

#: command name -> module defining add_parser(subparsers). Each keeps its heavy imports
#: (matplotlib, the flows, Dask) inside its run function, so `--help` costs little.
COMMANDS: dict[str, str] = {
    "verify": "lininv.cli.verify",
    "proofs": "lininv.cli.proofs",
    "tightness": "lininv.cli.tightness",
    "experiments": "lininv.cli.experiments",
    "train-flow": "lininv.cli.train_flow",
    "generators": "lininv.cli.generators",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lininv",
        description="Theory and numerics for linear invertible priors in inverse problems.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the version and exit (with --verbose: "
        "the versions of the numerical libraries, the platform, CPU and BLAS)",
    )
    parser.add_argument("--verbose", action="store_true", help="with --version: the environment")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        import_module(module).add_parser(sub)
    return parser


def _version(verbose: bool) -> int:
    import lininv

    print(f"lininv {lininv.__version__}")
    if verbose:
        from lininv._provenance import environment

        for key, value in environment().items():
            if key != "lininv":
                print(f"{key}: {value}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what was typed, for provenance
    if args.version:
        return _version(args.verbose)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_OK
    prog = f"lininv {args.command}"
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; finished cells are saved: run the same command to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:  # a failure, not bad input: one line unless asked for the traceback
        if os.environ.get("LININV_TRACEBACK"):
            raise
        print(
            f"{prog}: failed: {type(exc).__name__}: {exc} (set LININV_TRACEBACK=1 to see where)",
            file=sys.stderr,
        )
        return EXIT_ERROR
