"""``lininv experiments NAME``: run one of the paper's experiments in miniature and save it.

Writes ``NAME.csv`` (the table), ``NAME.json`` (table, settings, further results, run time) and
``NAME.png`` (the figure) to the output folder, each with the run's provenance, and prints the
table. Every finished cell is kept in ``OUTPUT/.cells/NAME.json`` as it completes, so rerunning
the same command after an interruption resumes where it stopped (and recomputes nothing once
finished). The flags and the output folder are checked before any work; the folder is locked
for the run, so a second run on it fails at once.
"""

from __future__ import annotations

import argparse
import io
import json
import shlex
import time
from pathlib import Path
from typing import Any

from lininv.cli._common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    UsageError,
    parse_seed,
    progress_printer,
    usage_error,
)

__all__ = ["add_parser", "run", "DEFAULT_OUTPUT"]

DEFAULT_OUTPUT = "lininv-experiments"

#: Replaced, when the help is shown, by the registered experiments (importing them costs a
#: second, which ``lininv --help`` and the other commands should not pay).
_NAMES = "[the experiments]"


def _names_text() -> str:
    from lininv.experiments import EXPERIMENTS

    return "; ".join(f"{name}: {exp.summary}" for name, exp in EXPERIMENTS.items())


class _Help(argparse.HelpFormatter):
    def _format_text(self, text: str) -> str:
        return super()._format_text(text.replace(_NAMES, _names_text()) if _NAMES in text else text)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "experiments",
        help="run the paper's experiments in miniature (8x8 digits)",
        description=(
            "Run one of the paper's experiments in miniature on scikit-learn's 8x8 digits with the "
            "pretrained default flow, and write NAME.csv, NAME.json and NAME.png to the output "
            "folder. Progress is saved per finished cell: rerun the same command to resume. "
            f"Experiments: {_NAMES}; or all (every one, in this order)."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=_Help,
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
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def _parse(args: Any) -> tuple[list[str], int, Path]:
    """The experiments to run, the seed and the (created, writable) output folder."""
    from lininv._io import output_folder
    from lininv.experiments import EXPERIMENTS

    if args.name != "all" and args.name not in EXPERIMENTS:
        raise UsageError(f"NAME must be one of {', '.join(EXPERIMENTS)} or all; got {args.name!r}")
    seed = parse_seed(args.seed)
    try:
        folder = output_folder(args.output, "--output")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    return names, seed, folder


def _save_figure(result: Any, folder: Path) -> Path:
    """Draw the result's figure and write ``NAME.png`` with its provenance in the PNG's text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lininv._io import atomic_write, to_jsonable
    from lininv.plotting import plot_experiment

    axes = plot_experiment(result)
    fig = (axes[0] if isinstance(axes, tuple) else axes).figure
    prov = to_jsonable(result.provenance)
    meta = {"Software": f"lininv {prov.get('lininv', '')}", "Source": str(prov.get("command", ""))}
    meta["Description"] = json.dumps({"name": result.name, "provenance": prov})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=130, bbox_inches="tight", metadata=meta)
    plt.close(fig)
    path = folder / f"{result.name}.png"
    atomic_write(path, png.getvalue())
    return path


def run(args: Any) -> int:
    names, seed, folder = _parse(args)
    from lininv import experiments
    from lininv._io import Lock, OutputInUseError, StoreError

    try:
        lock = Lock(folder / "experiments", "--output").acquire()
    except OutputInUseError:
        raise UsageError(
            f"--output {str(folder)!r} is in use by another lininv experiments run; wait for it "
            "to finish or use another output"
        ) from None
    progress = progress_printer(quiet=args.quiet)
    command = shlex.join(
        ["lininv", "experiments", args.name, "--output", str(folder), "--seed", str(seed)]
        + (["--small"] if args.small else [])
    )
    try:
        for name in names:
            t0 = time.perf_counter()
            try:
                result = experiments.run(
                    name,
                    small=args.small,
                    seed=seed,
                    output=folder,
                    progress=progress,
                    command=command,
                )
            except StoreError as exc:  # cells of other settings, or a damaged store
                raise usage_error(exc, {"output": "--output"}) from None
            paths = experiments.save_result(result, folder)
            paths.append(str(_save_figure(result, folder)))
            print(result.table.to_markdown())
            print(
                f"{name}: {time.perf_counter() - t0:.1f} s (cells computed in "
                f"{result.compute_seconds:.1f} s); wrote {', '.join(paths)}",
                flush=True,
            )
    finally:
        lock.release()
    return EXIT_OK
