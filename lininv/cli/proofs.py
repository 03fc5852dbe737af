"""``lininv proofs``: check every step of the theorem's proof numerically (``proofs_numeric``).

Validates every flag and the output before any work, runs the steps (a line per finished step
off a terminal, a bar on one), prints the table, and writes ``STEM.md``, ``STEM.json`` and
``STEM.csv`` with the run's provenance. Finished steps are kept in ``STEM.partial.json`` while
the run goes on, so that the same command resumes an interrupted run; the file is removed when
the reports are written. ``python -m proofs_numeric`` runs this command.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from lininv.cli._common import (
    EXIT_CODES_HELP,
    EXIT_FINDING,
    EXIT_OK,
    UsageError,
    parse_float,
    parse_seed,
    progress_printer,
    report_stem_paths,
    usage_error,
)

__all__ = ["add_parser", "run", "write_reports", "report_paths", "DEFAULT_OUTPUT"]

#: Default path stem: a folder that ``.gitignore`` ignores.
DEFAULT_OUTPUT = "lininv-results/proofs_report"
#: API argument names -> the flags that set them (for messages).
FLAGS = {"seed": "--seed", "precision": "--precision", "step": "--step", "output": "--output"}

EXIT_HELP = (
    EXIT_CODES_HELP + ". For proofs: 0 every selected step passes, 1 a step fails; 3 is not used "
    "(every verdict rests on fixed sample sizes; step 7's measured table says per row whether "
    "its estimate reached the requested precision)."
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``lininv proofs``."""
    parser = subparsers.add_parser(
        "proofs",
        help="check every step of the theorem's proof numerically",
        description=(
            "Run the proof steps of proofs_numeric (docs/theory.md section 6), print a table of "
            "steps, their worst margins and pass/fail, and write STEM.md, STEM.json and "
            "STEM.csv with the run's provenance. Rerun the same command to resume an "
            "interrupted run."
        ),
        epilog=EXIT_HELP,
    )
    parser.add_argument("--seed", default="0", help="run seed, an int >= 0 (default 0)")
    parser.add_argument(
        "--precision",
        default="1",
        help="multiplies every Monte-Carlo sample size (default 1; 4 halves the standard errors; "
        "about 80 MiB of memory per unit)",
    )
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="STEM",
        help=f"report path stem: writes STEM.md, STEM.json and STEM.csv (default {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--step",
        action="append",
        metavar="NAME",
        help="run only this step (number like 4c or name like inverse_wishart_mean); repeatable",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the step summary, no progress lines"
    )
    parser.set_defaults(func=run)
    return parser


def report_paths(output: str | os.PathLike[str], what: str = "--output") -> dict[str, Path]:
    """``STEM.md``, ``.json``, ``.csv`` and the resume file ``.partial.json``, checked before work.

    A stem given with a ``.md`` or ``.json`` suffix loses it. Raises ``ValueError`` naming
    ``what`` for an empty stem, a folder, a path ending in a separator, or an unwritable place
    (:func:`lininv._io.output_file`; the stem's folder is created).
    """
    return report_stem_paths(output, what, ("md", "json", "csv"))


def command_line(args: argparse.Namespace) -> str:
    """The command as the user typed it (for provenance): ``lininv proofs ...``, or the
    ``python -m proofs_numeric[.tightness] ...`` shim that ran it."""
    typed = list(getattr(args, "argv", None) or [args.command])
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(os.path.dirname(script)) == "proofs_numeric":
        module = "proofs_numeric.tightness" if script.endswith("tightness.py") else "proofs_numeric"
        return shlex.join(["python", "-m", module, *typed[1:]])
    return shlex.join(["lininv", *typed])


def write_reports(
    report: Any, output: str | os.PathLike[str], *, provenance: dict[str, Any] | None = None
) -> tuple[Path, Path, Path]:
    """Write ``STEM.md``, ``STEM.json`` and ``STEM.csv`` of a ``proofs_numeric.RunReport``.

    Each file carries ``provenance`` (default: :func:`lininv._provenance.provenance` of this
    process with the report's seed): the Markdown under its title, the JSON under
    ``"provenance"``, the CSV (one row per case, :func:`proofs_numeric.evidence_rows`) as
    ``# key: value`` lines. Every write is atomic.
    """
    from lininv._io import atomic_write
    from lininv._provenance import provenance as environment_of
    from lininv._table import Table
    from proofs_numeric import EVIDENCE_COLUMNS, evidence_rows, format_markdown

    paths = report_paths(output)
    prov = dict(provenance) if provenance is not None else environment_of(seed=report.seed)
    data = {**report.to_dict(), "provenance": prov}
    atomic_write(paths["json"], json.dumps(data, indent=1, allow_nan=False) + "\n")
    atomic_write(paths["md"], format_markdown(report, provenance=prov))
    meta = {**prov, "precision": report.precision, "passed": report.passed}
    table = Table(EVIDENCE_COLUMNS, evidence_rows(report), "proofs_numeric evidence", meta)
    table.to_csv(paths["csv"])
    return paths["md"], paths["json"], paths["csv"]


def _validate_cell(key: str, value: Any) -> None:
    """A stored step must read back as a StepResult whose verdicts follow from its margins."""
    from proofs_numeric import StepResult

    result = StepResult.from_dict(value["result"])
    if result.name != key:
        raise ValueError(f"holds step {result.name!r} under the name {key!r}")
    if any(e.passed != (e.margin >= 0.0) for e in result.evidence):
        raise ValueError("a case's verdict does not follow from its margin")
    if not float(value["seconds"]) >= 0.0:
        raise ValueError("its runtime is not a number of seconds")


def run(args: argparse.Namespace) -> int:
    """Validate, run, print, save; the exit status (module docstring of ``lininv.cli``)."""
    from lininv._io import CellStore, OutputInUseError, StoreError
    from lininv._provenance import provenance
    from proofs_numeric import (
        StepResult,
        check_precision,
        format_table,
        run_steps,
        select_steps,
    )

    # --- validate everything before any work ---------------------------------------------------
    seed = parse_seed(args.seed)
    precision = parse_float("--precision", args.precision, low=0.0, low_open=True)
    try:
        check_precision(precision)
        steps = select_steps(args.step)
        paths = report_paths(args.output)
    except (TypeError, ValueError) as exc:
        raise usage_error(exc, FLAGS) from None
    prov = provenance(seed=seed, command=command_line(args))
    store = CellStore(
        paths["partial"],
        {"seed": seed, "precision": precision},
        provenance=prov,
        validate=_validate_cell,
        what="--output",
    )
    try:
        store.open()
    except (OutputInUseError, StoreError) as exc:
        raise UsageError(str(exc)) from None

    # --- work ----------------------------------------------------------------------------------
    try:
        done = {
            key: (StepResult.from_dict(value["result"]), float(value["seconds"]))
            for key, value in store.items()
        }
        print(f"proofs_numeric: seed {seed}, precision {precision:g}", flush=True)
        if done:
            print(f"resuming: {len(done)} finished steps from {paths['partial']}", flush=True)
        report = run_steps(
            seed=seed,
            precision=precision,
            steps=[s.name for s in steps],
            progress=progress_printer(quiet=args.quiet),
            done=done,
            on_step=lambda r, t: store.put(r.name, {"result": r.to_dict(), "seconds": t}),
        )
    finally:
        store.close()
    md, js, csv = write_reports(report, args.output, provenance=prov)
    for path in (paths["partial"], Path(f"{paths['partial']}.lock")):
        path.unlink(missing_ok=True)  # the run is complete: nothing to resume
    print()
    print(format_table(report, evidence=not args.quiet))
    print(f"reports: {md}, {js}, {csv}")
    return EXIT_OK if report.passed else EXIT_FINDING
