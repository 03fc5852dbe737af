"""``lininv verify``: check the theorem's bounds for a spectrum across measurement counts.

Runs :func:`lininv.sweep` (resumable: re-running with the same ``--output`` completes an
interrupted run and recomputes nothing; the output is locked while a run uses it), prints the
table, writes ``verify.json`` (the cell store: settings, spectra, rows and the provenance of every
run that computed them), ``verify.csv`` and ``verify.png`` (each with the provenance), and exits
with the status documented in ``--help``: 1 if a bound that is a theorem for its row is violated
beyond its confidence interval, 3 if some cell did not reach its precision, 2 for bad input
(before any work).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

from lininv.cli._common import (
    EXIT_CODES_HELP,
    EXIT_FINDING,
    EXIT_INCOMPLETE,
    EXIT_OK,
    UsageError,
    parse_float,
    parse_int,
    parse_list,
    parse_seed,
    progress_printer,
    usage_error,
)

__all__ = ["add_parser"]

DEFAULT_N = 256
DEFAULT_SPECTRUM = "power:1"
DEFAULT_OUTPUT = "lininv-results"
#: Resolves the prediction's 0.1-0.5% errors for the default spectrum; the whole default run
#: takes about 12 s wall on 2 cores (`/usr/bin/time lininv verify`), as the README says.
DEFAULT_RTOL = 2e-4

#: Library argument names -> the flags that set them, for messages that reach the user.
_FLAGS = {
    "ms": "--m",
    "noise_stds": "--noise",
    "rtol": "--rtol",
    "trials": "--trials",
    "max_trials": "--max-trials",
    "rng": "--seed",
    "ensembles": "--ensemble",
    "truths": "--truth",
    "truth": "--truth",
    "output": "--output",
    "executor": "--scheduler",
}

_TRUTH_HELP = (
    "the distribution of the signals: 'prior' (the prior itself, the default), a spectrum SPEC "
    "(power:a, exp:r, flat or a FILE) for a truth whose covariance is diagonal in the prior's "
    "basis, or rotated:SPEC for one with that spectrum in a random basis (the same for every "
    "cell of a spectrum); repeat for several"
)


def default_ms(n: int) -> list[int]:
    """A geometric grid of ``m`` from 2 to about ``3n/4`` (ratio about sqrt 2)."""
    top = max(2, (3 * n) // 4)
    ms: list[int] = []
    x = 2.0
    while round(x) <= top:
        if not ms or round(x) != ms[-1]:
            ms.append(int(round(x)))
        x *= math.sqrt(2.0)
    return [m for m in ms if m < n] or [1]


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="verify the theorem's bounds against Monte Carlo across m",
        description=(
            "Estimate the expected recovery error E(m) by Monte Carlo for a spectrum across a "
            "grid of measurement counts m, and set it beside the lower bound sum_{i>m} s_i^2, "
            "the prediction lambda m, the optimised HMT upper bound and the paper's "
            "m sum_{i>m-2} s_i^2, for Gaussian measurements or another ensemble, with signals "
            "from the prior or from another truth (dataset bias)."
        ),
        epilog=EXIT_CODES_HELP,
    )
    p.add_argument(
        "-n",
        "--n",
        type=str,
        default=None,
        help=f"signal dimension (default {DEFAULT_N}; a FILE spectrum sets its own)",
    )
    p.add_argument(
        "--spectrum",
        action="append",
        default=None,
        metavar="SPEC",
        help="power:a (s_i^2 = i^-a), exp:r (s_i^2 = r^(i-1)), flat, or a FILE of "
        f"singular values; repeat for several (default {DEFAULT_SPECTRUM})",
    )
    p.add_argument(
        "--m",
        dest="ms",
        default=None,
        metavar="M,M,...",
        help="comma-separated measurement counts, 1 <= m < n (default: 2 to about 3n/4, "
        "ratio sqrt 2)",
    )
    p.add_argument(
        "--noise",
        default="0",
        metavar="SIGMA,...",
        help="comma-separated noise standard deviations >= 0 (default 0)",
    )
    stop = p.add_mutually_exclusive_group()
    stop.add_argument(
        "--rtol",
        default=None,
        help=f"target relative standard error per cell (default {DEFAULT_RTOL:g})",
    )
    stop.add_argument("--trials", default=None, help="fixed number of draws per cell")
    p.add_argument("--max-trials", default="100000", help="cap for --rtol runs (default 100000)")
    p.add_argument("--seed", default="0", help="sweep seed, an int >= 0 (default 0)")
    p.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"output folder, created if missing (default {DEFAULT_OUTPUT})",
    )
    p.add_argument(
        "--ensemble",
        action="append",
        default=None,
        metavar="NAME",
        help="measurement ensemble: gaussian (default), rademacher, haar, dct or mask, each "
        "normalised to E[A^T A] = I; repeat for several",
    )
    p.add_argument("--truth", action="append", default=None, metavar="SPEC", help=_TRUTH_HELP)
    p.add_argument(
        "--workers", default=None, help="local worker processes (default: number of CPUs)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask cluster (needs the dask extra), e.g. tcp://host:8786",
    )
    p.set_defaults(func=run)


def _spectra(args: argparse.Namespace) -> dict[str, Any]:
    from lininv import make_spectrum

    specs = args.spectrum or [DEFAULT_SPECTRUM]
    parse_list("--spectrum", ",".join(specs), lambda flag, x: x)  # refuses duplicates
    n = None if args.n is None else parse_int("-n", args.n, low=2)
    out = {}
    for spec in specs:
        is_named = spec.partition(":")[0] in ("power", "exp", "flat")
        size = n if (n is not None or not is_named) else DEFAULT_N
        try:
            s = make_spectrum(spec, size)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--spectrum: {exc}") from None
        except MemoryError:
            raise UsageError(f"--spectrum {spec!r} at -n {size} does not fit in memory") from None
        if s.size < 2:
            raise UsageError(f"--spectrum {spec!r} must have n >= 2 values; got {s.size}")
        out[spec] = s
    return out


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Every flag, validated in its own name, before any work."""
    spectra = _spectra(args)
    n_min = min(s.size for s in spectra.values())
    if args.ms is not None:
        ms = parse_list("--m", args.ms, lambda f, x: parse_int(f, x, low=1))
    else:
        ms = default_ms(n_min)
    for spec, s in spectra.items():
        bad = [m for m in ms if m >= s.size]
        if bad:
            raise UsageError(f"--m values must be < n = {s.size} (spectrum {spec!r}); got {bad[0]}")
    noises = parse_list("--noise", args.noise, lambda f, x: parse_float(f, x, low=0.0))
    rtol = trials = None
    if args.trials is not None:
        trials = parse_int("--trials", args.trials, low=2)
    else:
        rtol = DEFAULT_RTOL if args.rtol is None else parse_float("--rtol", args.rtol)
        if not 0.0 < rtol < 1.0:
            raise UsageError(f"--rtol must be in (0, 1); got {rtol:g}")
    ensembles = args.ensemble or ["gaussian"]
    truths = args.truth or ["prior"]
    workers = None if args.workers is None else parse_int("--workers", args.workers, low=1)
    if args.scheduler is not None and workers is not None:
        raise UsageError("--workers and --scheduler exclude each other; give one")
    return {
        "spectra": spectra,
        "ms": ms,
        "noise_stds": noises,
        "ensembles": ensembles,
        "truths": truths,
        "rtol": rtol,
        "trials": trials,
        "max_trials": parse_int("--max-trials", args.max_trials, low=256),
        "rng": parse_seed(args.seed),
        "workers": workers,
    }


def run(args: argparse.Namespace) -> int:
    import os

    from lininv._io import OutputInUseError, StoreError, output_folder
    from lininv._sweep import check_output, execute, prepare

    # --- validate everything before any work ---------------------------------------------------
    settings = _settings(args)
    workers = settings.pop("workers")
    try:  # the library's checks of the grid (truths, noise range, memory), before any file
        prepare(**settings)
    except (TypeError, ValueError) as exc:
        raise usage_error(exc, _FLAGS) from None
    try:
        folder = output_folder(args.output, "--output")
        plan = prepare(**settings, output=folder / "verify.json")
        check_output(plan)  # an existing file of other settings, damaged, edited or in use
    except (TypeError, ValueError) as exc:
        raise usage_error(exc, _FLAGS) from None
    executor: Any = args.scheduler if args.scheduler is not None else (workers or os.cpu_count())

    # --- work ----------------------------------------------------------------------------------
    progress = progress_printer(quiet=args.quiet)
    try:
        table = execute(plan, executor=executor, progress=progress)
    except (OutputInUseError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:  # an unreachable Dask scheduler, found when connecting
        if "Dask scheduler" in str(exc):
            raise usage_error(exc, {"executor": "--scheduler"}) from None
        raise
    table.to_csv(folder / "verify.csv")
    _figure(table, folder / "verify.png")
    print(table.format())
    print()
    seed, rtol, trials = plan.settings["seed"], plan.settings["rtol"], plan.settings["trials"]
    precision = f"rtol {rtol:g}" if trials is None else f"{trials} trials"
    print(
        f"seed {seed}, {precision} per cell; wrote {folder / 'verify.json'}, "
        f"{folder / 'verify.csv'}, {folder / 'verify.png'}"
    )
    status = EXIT_OK
    for r in table.unconverged():
        print(
            f"NOT CONVERGED: spectrum {r['spectrum']}, m = {r['m']}, noise = {r['noise']:g}, "
            f"{r['ensemble']}, truth {r['truth']}: stopped at --max-trials {r['trials']} with "
            f"relative standard error {r['mc_stderr'] / abs(r['mc_mean']):.2g} > --rtol "
            f"{rtol:g}",
            file=sys.stderr,
        )
        status = EXIT_INCOMPLETE
    for r in table.findings():
        failed = [c.removesuffix("_holds") for c in ("lower_holds", "hmt_holds", "paper_holds")]
        which = [f for f in failed if r[f"{f}_holds"] is False]
        print(
            f"finding: the {', '.join(which)} bound fails at spectrum {r['spectrum']}, "
            f"m = {r['m']}, noise = {r['noise']:g}, {r['ensemble']}, truth {r['truth']} "
            "(where it is not a theorem)"
        )
    violated = table.violations()
    for r in violated:
        which = [
            c.removesuffix("_holds")
            for c in ("lower_holds", "hmt_holds", "paper_holds")
            if r[c] is False
        ]
        print(
            f"VIOLATED: {', '.join(which)} bound at spectrum {r['spectrum']}, m = {r['m']}, "
            f"noise = {r['noise']:g}",
            file=sys.stderr,
        )
    if violated:
        return EXIT_FINDING
    if status == EXIT_OK:
        print("All bounds hold within the 95% confidence intervals (where they are theorems).")
    else:
        print(
            "Bounds that are theorems hold where computed, but some cells did not reach their "
            "precision (see above); rerun with a larger --max-trials."
        )
    return status


def _figure(table: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lininv._io import atomic_write, to_jsonable
    from lininv.plotting import plot_bounds, plot_prediction_error

    names = list(dict.fromkeys(r["spectrum"] for r in table))
    fig, axes = plt.subplots(len(names), 2, figsize=(12, 4.6 * len(names)), squeeze=False)
    for row, name in zip(axes, names, strict=True):
        sub = table.select(spectrum=name, ensemble="gaussian", truth="prior")
        if not len(sub):
            sub = table.select(spectrum=name)
        plot_bounds(sub, name, ax=row[0])
        plot_prediction_error(sub, name, ax=row[1])
    fig.tight_layout()
    prov = to_jsonable(table.meta)
    meta = {"Software": f"lininv {prov.get('lininv', '')}", "Source": str(prov.get("command", ""))}
    meta["Description"] = json.dumps({"name": "verify", "provenance": prov})
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, metadata=meta)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
