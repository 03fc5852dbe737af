"""``lininv experiments NAME``: run one of the paper's experiments in miniature and save it.

Writes ``NAME.csv`` (the table), ``NAME.json`` (table, settings, further results, run time) and
``NAME.png`` (the figure) to the output folder, and prints the table. Every finished cell is saved
under ``OUTPUT/.cells/NAME/`` as it completes, so rerunning the same command after an interruption
resumes where it stopped (and recomputes nothing once finished). Bad input exits with status 2
before any work.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from lininv.cli._common import UsageError

__all__ = ["add_parser", "NAMES"]

DEFAULT_OUTPUT = "lininv-experiments"

#: Experiment names, in the order ``all`` runs them.
NAMES = (
    "compressed-sensing",
    "denoising",
    "inpainting",
    "initialisation",
    "dataset-bias",
    "likelihood-proxy",
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "experiments",
        help="run the paper's experiments in miniature (8x8 digits)",
        description=(
            "Run one of the paper's experiments in miniature on scikit-learn's 8x8 digits with the "
            "pretrained default flow, and write NAME.csv, NAME.json and NAME.png to the output "
            "folder. Progress is saved per finished cell: rerun the same command to resume. "
            "Experiments: " + ", ".join(NAMES) + ", or all."
        ),
    )
    p.add_argument("name", metavar="NAME", help="experiment name or 'all'")
    p.add_argument(
        "--output",
        "--out",
        dest="output",
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"output folder, created if missing (default {DEFAULT_OUTPUT})",
    )
    p.add_argument("--seed", default="0", help="seed, an int >= 0 (default 0)")
    p.add_argument(
        "--small",
        action="store_true",
        help="reduced sizes (seconds instead of minutes; for tests and a quick look)",
    )
    p.add_argument("--quiet", action="store_true", help="no per-cell progress lines")
    p.set_defaults(func=run)


def _parse(args: Any) -> tuple[list[str], int, str]:
    name = args.name
    if name != "all" and name not in NAMES:
        raise UsageError(f"NAME must be one of {', '.join(NAMES)} or all; got {name!r}")
    try:
        seed = int(args.seed)
    except (TypeError, ValueError):
        raise UsageError(f"--seed must be an integer >= 0; got {args.seed!r}") from None
    if seed < 0:
        raise UsageError(f"--seed must be an integer >= 0; got {seed}")
    output = args.output
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError(f"--output must be a folder; {output!r} is a file")
    names = list(NAMES) if name == "all" else [name]
    return names, seed, output


def run(args: Any) -> int:
    names, seed, output = _parse(args)
    from lininv.bridge import EXPERIMENTS, SMALL

    os.makedirs(output, exist_ok=True)
    for name in names:
        kwargs: dict[str, Any] = dict(SMALL[name]) if args.small else {}
        kwargs.update(seed=seed, out=output, progress=not args.quiet)
        t0 = time.perf_counter()
        result = EXPERIMENTS[name](**kwargs)
        paths = result.save(output)
        print(result.table.to_markdown())
        print(
            f"{name}: {time.perf_counter() - t0:.1f} s (cells computed in "
            f"{result.compute_seconds:.1f} s); wrote {', '.join(paths)}",
            flush=True,
        )
        import matplotlib.pyplot as plt

        plt.close(result.figure)
    sys.stdout.flush()
    return 0
