"""``lininv tightness``: where are the bounds tight or loose, and is E(m) >= lambda m?

Runs the campaign of ``proofs_numeric.tightness`` (every bound's loosest and tightest spectra,
then the adversarial probe of the open question), prints its tables and verdict, and writes
``STEM.json``, ``STEM.txt`` and ``STEM.csv`` with the run's provenance. Finished cells are kept
in ``STEM.partial.json`` while the campaign runs, so that the same command resumes an
interrupted one; the file is removed when the reports are written. ``python -m
proofs_numeric.tightness`` runs this command.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from lininv.cli._common import (
    EXIT_CODES_HELP,
    EXIT_FINDING,
    EXIT_INCOMPLETE,
    EXIT_OK,
    UsageError,
    parse_seed,
    progress_printer,
    report_stem_paths,
    usage_error,
)
from lininv.cli.proofs import command_line

__all__ = ["add_parser", "run", "write_reports", "report_paths", "DEFAULT_OUTPUT"]

#: Default path stem: a folder that ``.gitignore`` ignores.
DEFAULT_OUTPUT = "lininv-results/tightness_report"

EXIT_HELP = (
    EXIT_CODES_HELP + ". For tightness: 1 a counterexample to E(m) >= lambda m is found and "
    "independently confirmed; 3 some fresh estimates stopped at their trial cap before the "
    "requested precision (column converged: their intervals are wider than asked)."
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``lininv tightness``."""
    parser = subparsers.add_parser(
        "tightness",
        help="search the spectra where the bounds are tight or loose; probe E(m) >= lambda m",
        description=(
            "Search spectrum families for the extremes of E(m) / bound for the poster's bound, "
            "the optimised HMT bound and the lower bound (both goals), then search adversarially "
            "for a counterexample to E(m) >= lambda m (docs/theory.md section 7.5). Writes "
            "STEM.json, STEM.txt and STEM.csv with the run's provenance; rerun the same command "
            "to resume an interrupted campaign."
        ),
        epilog=EXIT_HELP,
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and budgets (seconds instead of minutes)"
    )
    parser.add_argument("--seed", default="0", help="campaign seed, an int >= 0 (default 0)")
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="STEM",
        help=f"report path stem: writes STEM.json, STEM.txt and STEM.csv (default {DEFAULT_OUTPUT})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=run)
    return parser


def report_paths(output: str | os.PathLike[str], what: str = "--output") -> dict[str, Path]:
    """``STEM.json``, ``.txt``, ``.csv`` and the resume file ``.partial.json``, checked before work.

    Raises ``ValueError`` naming ``what`` as :func:`lininv.cli.proofs.report_paths` does.
    """
    return report_stem_paths(output, what, ("json", "txt", "csv"))


def write_reports(
    report: Any, output: str | os.PathLike[str], *, provenance: dict[str, Any]
) -> tuple[Path, Path, Path]:
    """Write ``STEM.json``, ``STEM.txt`` and ``STEM.csv`` of a ``TightnessReport``, atomically.

    The JSON carries ``provenance`` under ``"provenance"``, the text and the CSV (one row per
    search, :func:`proofs_numeric.result_rows`) as leading ``# key: value`` lines.
    """
    from lininv._io import atomic_write
    from lininv._provenance import csv_header
    from lininv._table import Table
    from proofs_numeric import RESULT_COLUMNS, result_rows

    paths = report_paths(output)
    data = {**report.to_dict(), "provenance": provenance}
    atomic_write(paths["json"], json.dumps(data, indent=1, allow_nan=False) + "\n")
    atomic_write(paths["txt"], csv_header(provenance) + report.to_text() + "\n")
    meta = {**provenance, "counterexample": report.conjecture.counterexample}
    Table(RESULT_COLUMNS, result_rows(report), "tightness searches", meta).to_csv(paths["csv"])
    return paths["json"], paths["txt"], paths["csv"]


def _validate_cell(key: str, value: Any) -> None:
    """A stored cell must read back as search results whose flags follow from their numbers."""
    from proofs_numeric import SearchResult

    if not isinstance(value, list) or not value:
        raise ValueError("is not a non-empty list of search results")
    for item in value:
        result = SearchResult.from_dict(item)
        if bool(item.get("reliable")) != result.reliable:
            raise ValueError("a result's 'reliable' does not follow from its interval")


def run(args: argparse.Namespace) -> int:
    """Validate, run, print, save; the exit status (see ``--help``)."""
    from lininv._io import CellStore, OutputInUseError, StoreError
    from lininv._provenance import provenance
    from proofs_numeric import SearchResult, run_tightness

    # --- validate everything before any work ---------------------------------------------------
    seed = parse_seed(args.seed)
    try:
        paths = report_paths(args.output)
    except (TypeError, ValueError) as exc:
        raise usage_error(exc, {"output": "--output"}) from None
    prov = provenance(seed=seed, command=command_line(args))
    store = CellStore(
        paths["partial"],
        {"quick": bool(args.quick), "seed": seed},
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
        done = {key: [SearchResult.from_dict(v) for v in value] for key, value in store.items()}
        if done:
            print(f"resuming: {len(done)} finished cells from {paths['partial']}", flush=True)
        report = run_tightness(
            quick=args.quick,
            seed=seed,
            progress=progress_printer(quiet=args.quiet),
            done=done,
            on_cell=lambda key, results: store.put(key, [r.to_dict() for r in results]),
        )
    finally:
        store.close()
    written = write_reports(report, args.output, provenance=prov)
    for path in (paths["partial"], Path(f"{paths['partial']}.lock")):
        path.unlink(missing_ok=True)
    print(report.to_text())
    print(f"{report.runtime_seconds:.1f} s; reports {', '.join(str(p) for p in written)}")
    if report.conjecture.counterexample:
        return EXIT_FINDING
    slow = report.unconverged
    if slow:
        print(
            f"{len(slow)} of {len(report.results)} fresh estimates stopped at their trial cap "
            "before the requested precision (column converged): their intervals are wider "
            "than asked"
        )
        return EXIT_INCOMPLETE
    return EXIT_OK
