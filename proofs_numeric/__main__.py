"""``python -m proofs_numeric ARGS``: the same as ``lininv proofs ARGS`` (a thin shim)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lininv proofs`` with ``argv`` (default: this process's arguments)."""
    from lininv.cli import main as lininv_main

    return lininv_main(["proofs", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
