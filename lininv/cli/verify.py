"""``lininv verify``: check the theorem's bounds for a spectrum across measurement counts.

Runs :func:`lininv.sweep` (resumable: re-running with the same ``--output`` completes an
interrupted run and recomputes nothing), prints the table, writes ``verify.json`` (all settings,
the seed, the spectra and the rows; also the resume file), ``verify.csv`` and ``verify.png``, and
exits with status 1 if a bound is violated beyond its confidence interval. Bad input exits with
status 2 before any work.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from lininv.cli._common import UsageError

__all__ = ["add_parser"]

DEFAULT_N = 256
DEFAULT_SPECTRUM = "power:1"
DEFAULT_OUTPUT = "lininv-results"
#: Resolves the prediction's 0.1-0.5% errors for the default spectrum; the whole default run
#: takes about 12 s wall on 2 cores (`/usr/bin/time lininv verify`), as the README says.
DEFAULT_RTOL = 2e-4


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
            "m sum_{i>m-2} s_i^2. Exit status 1 if a bound is violated beyond its 95% CI."
        ),
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
        "--workers", default=None, help="local worker processes (default: number of CPUs)"
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask cluster (needs the dask extra), e.g. tcp://host:8786",
    )
    p.set_defaults(func=run)


def _int(name: str, text: str, low: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be an integer; got {text!r}") from None
    if value < low:
        raise UsageError(f"{name} must be >= {low}; got {value}")
    return value


def _float(name: str, text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number; got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{name} must be finite; got {text!r}")
    return value


def _list(name: str, text: str, convert: Any) -> list[Any]:
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise UsageError(f"{name} must be a comma-separated list; got {text!r}")
    return [convert(name, t) for t in items]


def _spectra(args: argparse.Namespace) -> dict[str, Any]:
    from lininv import make_spectrum

    specs = args.spectrum or [DEFAULT_SPECTRUM]
    n = None if args.n is None else _int("-n", args.n, 2)
    out = {}
    for spec in specs:
        is_named = spec.partition(":")[0] in ("power", "exp", "flat")
        size = n if (n is not None or not is_named) else DEFAULT_N
        try:
            s = make_spectrum(spec, size)
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        except MemoryError:
            raise UsageError(f"spectrum {spec!r} at -n {size} does not fit in memory") from None
        if s.size < 2:
            raise UsageError(f"spectrum {spec!r} must have n >= 2 values; got {s.size}")
        out[spec] = s
    return out


def run(args: argparse.Namespace) -> int:
    from lininv._sweep import check_writable_folder, execute, prepare

    # --- validate everything before any work ---------------------------------------------------
    spectra = _spectra(args)
    n_min = min(s.size for s in spectra.values())
    ms = (
        _list("--m", args.ms, lambda name, t: _int(name, t, 1))
        if args.ms is not None
        else default_ms(n_min)
    )
    for spec, s in spectra.items():
        bad = [m for m in ms if m >= s.size]
        if bad:
            raise UsageError(f"--m values must be < n = {s.size} (spectrum {spec!r}); got {bad[0]}")
    noises = _list("--noise", args.noise, _float)
    if any(x < 0 for x in noises):
        raise UsageError(f"--noise must be >= 0; got {min(noises):g}")
    rtol = trials = None
    if args.trials is not None:
        trials = _int("--trials", args.trials, 2)
    else:
        rtol = DEFAULT_RTOL if args.rtol is None else _float("--rtol", args.rtol)
        if not 0.0 < rtol < 1.0:
            raise UsageError(f"--rtol must be in (0, 1); got {rtol:g}")
    max_trials = _int("--max-trials", args.max_trials, 256)
    seed = _int("--seed", args.seed, 0)
    workers = (os.cpu_count() or 1) if args.workers is None else _int("--workers", args.workers, 1)
    try:  # the library's checks of the grid (noise range, memory), before the folder exists
        prepare(spectra, ms, noises, rtol=rtol, trials=trials, max_trials=max_trials, rng=seed)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output {str(folder)!r} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        check_writable_folder(folder, "--output")
    except (OSError, ValueError) as exc:
        raise UsageError(f"--output folder {str(folder)!r} is not usable: {exc}") from None
    try:
        plan = prepare(
            spectra,
            ms,
            noises,
            rtol=rtol,
            trials=trials,
            max_trials=max_trials,
            rng=seed,
            output=folder / "verify.json",
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    executor, own = _executor(args.scheduler, workers, len(plan.todo))

    # --- work ----------------------------------------------------------------------------------
    try:
        table = execute(plan, executor=executor, progress=sys.stderr.isatty())
    except KeyboardInterrupt:
        print(
            f"lininv verify: interrupted; finished cells are saved in {folder / 'verify.json'}"
            "; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    finally:
        if own is not None:
            own.shutdown(cancel_futures=True) if isinstance(own, Executor) else own.shutdown()
    table.to_csv(folder / "verify.csv")
    _figure(table, folder / "verify.png")
    print(table.format())
    print()
    rtol_text = f"rtol {rtol:g}" if trials is None else f"{trials} trials"
    print(
        f"seed {seed}, {rtol_text} per cell; wrote {folder / 'verify.json'}, "
        f"{folder / 'verify.csv'}, {folder / 'verify.png'}"
    )
    violated = table.violations()
    if violated:
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
        return 1
    print("All bounds hold within the 95% confidence intervals.")
    return 0


def _executor(scheduler: str | None, workers: int, cells: int) -> tuple[Any, Any]:
    """(executor for execute, executor to shut down afterwards)."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError(
                "--scheduler needs the optional dask extra: pip install 'lininv[dask]'"
            ) from None
        try:
            client = Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"could not connect to the Dask scheduler {scheduler!r}: {exc}"
            ) from None

        class _Closing:
            def shutdown(self) -> None:
                client.close()

        return client, _Closing()
    workers = min(workers, cells)
    if workers <= 1:
        return None, None
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers)
    return pool, pool


def _figure(table: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lininv._sweep import _atomic_write_bytes
    from lininv.plotting import plot_bounds, plot_prediction_error

    names = list(dict.fromkeys(r["spectrum"] for r in table))
    fig, axes = plt.subplots(len(names), 2, figsize=(12, 4.6 * len(names)), squeeze=False)
    for row, name in zip(axes, names, strict=True):
        plot_bounds(table, name, ax=row[0])
        plot_prediction_error(table, name, ax=row[1])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    _atomic_write_bytes(path, buf.getvalue())
