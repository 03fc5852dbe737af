"""``lininv proofs``: run the numerical proof checks of ``proofs_numeric`` (a thin wrapper)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``lininv proofs``."""
    from proofs_numeric._runner import add_arguments

    parser = subparsers.add_parser(
        "proofs",
        help="check every step of the theorem's proof numerically",
        description=(
            "Run the proof steps of proofs_numeric, print a table, write STEM.md and STEM.json; "
            "exit 0 only if every step passes."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    from lininv.cli._common import UsageError
    from proofs_numeric._runner import main_from_args, validate_args

    try:
        validate_args(args)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from exc
    return main_from_args(args)
