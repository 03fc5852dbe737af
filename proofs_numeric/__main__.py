"""``python -m proofs_numeric``: run every proof step; exit 0 only if all pass (2 on bad input)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from proofs_numeric._runner import add_arguments, main_from_args, validate_args


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m proofs_numeric",
        description="Check every step of the theorem's proof numerically (THEORY.md sections 6-7).",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        validate_args(args)
    except (ValueError, TypeError) as exc:
        print(f"python -m proofs_numeric: error: {exc}", file=sys.stderr)
        return 2
    return main_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
