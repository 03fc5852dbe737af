"""Command-line interface: ``lininv COMMAND ...``.

Each command lives in its own module exposing ``add_parser(subparsers)`` (which registers the
command and sets ``func`` on its parser) so that the CLI only wraps the public API. Usage errors
print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

import lininv

__all__ = ["main"]

# command name -> module defining add_parser(subparsers). Every module is imported when the
# parser is built; each keeps its heavy imports (matplotlib, the flows, Dask) inside its run
# function, so `--help` and `--version` cost little more than `import lininv`.
_COMMANDS: dict[str, str] = {
    "experiments": "lininv._cli_experiments",
    "proofs": "lininv._cli_proofs",
    "verify": "lininv._cli_verify",
    "train-flow": "lininv._cli_flows",
}


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lininv",
        description="Theory and numerics for linear invertible priors in inverse problems.",
    )
    parser.add_argument("--version", action="version", version=f"lininv {lininv.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS.values():
        import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"lininv {args.command}: error: {exc}", file=sys.stderr)
        return 2
