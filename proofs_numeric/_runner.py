"""Run every proof step, print a table, write Markdown and JSON reports.

``python -m proofs_numeric`` and ``lininv proofs`` are thin wrappers around :func:`run_steps`
and :func:`write_reports`.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import lininv
from lininv._validation import check_int, describe
from proofs_numeric._common import check_precision
from proofs_numeric._denoising import check_denoising_error, check_optimal_gamma
from proofs_numeric._equivalent import check_deterministic_equivalent
from proofs_numeric._exact import check_exact_m1, check_flat_spectrum, check_two_dimensional
from proofs_numeric._identity import check_error_identity
from proofs_numeric._latent import (
    check_gradient_descent_limit,
    check_posterior_mean,
    check_ridge_limit,
)
from proofs_numeric._lower import check_lower_bound
from proofs_numeric._result import StepResult, step_seed
from proofs_numeric._rotation import check_rotation_invariance
from proofs_numeric._sampling import check_posterior_sampling
from proofs_numeric._upper import (
    check_hmt_deterministic,
    check_independence,
    check_inverse_wishart_mean,
    check_upper_bound,
)

__all__ = [
    "STEPS",
    "Step",
    "RunReport",
    "run_steps",
    "select_steps",
    "write_reports",
    "format_table",
    "add_arguments",
    "main_from_args",
    "validate_args",
]


@dataclass(frozen=True)
class Step:
    """A registered proof step: number, name and the check function."""

    step: str
    name: str
    check: Callable[..., StepResult]


STEPS: tuple[Step, ...] = (
    Step("1", "rotation_invariance", check_rotation_invariance),
    Step("2", "error_identity", check_error_identity),
    Step("3", "lower_bound", check_lower_bound),
    Step("4a", "hmt_deterministic", check_hmt_deterministic),
    Step("4b", "independence", check_independence),
    Step("4c", "inverse_wishart_mean", check_inverse_wishart_mean),
    Step("4d", "upper_bound", check_upper_bound),
    Step("5a", "ridge_limit", check_ridge_limit),
    Step("5b", "gradient_descent_limit", check_gradient_descent_limit),
    Step("5c", "posterior_mean", check_posterior_mean),
    Step("6a", "denoising_error", check_denoising_error),
    Step("6b", "optimal_gamma", check_optimal_gamma),
    Step("7", "deterministic_equivalent", check_deterministic_equivalent),
    Step("8a", "exact_m1", check_exact_m1),
    Step("8b", "flat_spectrum", check_flat_spectrum),
    Step("8c", "two_dimensional", check_two_dimensional),
    Step("9", "posterior_sampling", check_posterior_sampling),
)


@dataclass(frozen=True)
class RunReport:
    """All results of one run."""

    seed: int
    precision: float
    results: tuple[StepResult, ...]
    runtimes: tuple[float, ...]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "precision": self.precision,
            "passed": self.passed,
            "lininv_version": lininv.__version__,
            "runtime_seconds": sum(self.runtimes),
            "steps": [
                {**r.to_dict(), "runtime_seconds": t}
                for r, t in zip(self.results, self.runtimes, strict=True)
            ],
        }


def select_steps(names: Sequence[str] | None) -> tuple[Step, ...]:
    """Steps by number ("4c") or name ("inverse_wishart_mean"), or all when ``names`` is None.

    A number like "4" selects all its sub-steps (4a-4d).
    """
    if names is None:
        return STEPS
    chosen: list[Step] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"step must be a string; got {describe(name)}")
        hits = [s for s in STEPS if name in (s.step, s.name) or s.step.rstrip("abcd") == name]
        if not hits:
            known = ", ".join(f"{s.step} ({s.name})" for s in STEPS)
            raise ValueError(f"step must be one of {known}; got {name!r}")
        chosen.extend(h for h in hits if h not in chosen)
    return tuple(chosen)


def run_steps(
    *,
    seed: int = 0,
    precision: float = 1.0,
    steps: Sequence[str] | None = None,
    progress: TextIO | None = None,
    checkpoint: Callable[[RunReport], None] | None = None,
) -> RunReport:
    """Run the selected proof steps.

    Parameters
    ----------
    seed : int, default=0
        Each step is seeded with :func:`proofs_numeric._result.step_seed` ``(seed, name)``, so a
        step gives the same result alone as in the full run.
    precision : float, default=1.0
        Multiplies every Monte-Carlo sample size.
    steps : sequence of str, optional
        Numbers or names (see :func:`select_steps`); all by default.
    progress : text stream, optional
        One line per step as it finishes.
    checkpoint : callable RunReport -> None, optional
        Called after every step with the partial report (used to save progress).

    Returns
    -------
    RunReport
    """
    seed = check_int("seed", seed, low=0)
    precision = check_precision(precision)
    selected = select_steps(steps)
    results: list[StepResult] = []
    runtimes: list[float] = []
    for spec in selected:
        start = time.perf_counter()
        result = spec.check(precision=precision, rng=step_seed(seed, spec.name))
        runtimes.append(time.perf_counter() - start)
        results.append(result)
        if progress is not None:
            status = "pass" if result.passed else "FAIL"
            print(
                f"  step {spec.step:>3} {spec.name:<26} {status}  {runtimes[-1]:6.1f} s",
                file=progress,
                flush=True,
            )
        if checkpoint is not None:
            checkpoint(RunReport(seed, precision, tuple(results), tuple(runtimes)))
    return RunReport(seed, precision, tuple(results), tuple(runtimes))


# -- formatting -------------------------------------------------------------------------------


def _num(v: float | None, fmt: str = ".6g") -> str:
    if v is None:
        return "-"
    return format(v, fmt)


def _computed(ev: Any) -> str:
    if ev.method == "monte-carlo" and ev.ci is not None:
        return f"{ev.value:.6g} [{ev.ci[0]:.6g}, {ev.ci[1]:.6g}] n={ev.trials}"
    if ev.method == "per-draw":
        return f"worst {ev.value:.6g} of {ev.trials} draws"
    return f"{ev.value:.6g}"


def format_table(report: RunReport, *, evidence: bool = True) -> str:
    """Plain-text table: one line per step, then (if ``evidence``) one line per case."""
    lines = []
    header = (
        f"{'step':>4}  {'name':<26} {'cases':>5}  {'worst rel. margin':>17}  {'time':>7}  result"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for r, t in zip(report.results, report.runtimes, strict=True):
        worst = min((e.relative_margin for e in r.evidence), default=math.nan)
        lines.append(
            f"{r.step:>4}  {r.name:<26} {len(r.evidence):>5}  {worst:>17.3g}  {t:6.1f}s  "
            f"{'pass' if r.passed else 'FAIL'}"
        )
        if evidence:
            for e in r.evidence:
                lines.append(
                    f"        {'ok ' if e.passed else 'BAD'} {e.label}  {e.relation} "
                    f"claimed {e.claimed:.6g}; computed {_computed(e)}; margin {e.margin:.3g}"
                )
    total = sum(report.runtimes)
    n_pass = sum(r.passed for r in report.results)
    lines.append("-" * len(header))
    lines.append(
        f"{n_pass}/{len(report.results)} steps pass; seed {report.seed}, precision "
        f"{report.precision:g}, {total:.1f} s"
    )
    return "\n".join(lines)


def _markdown(report: RunReport) -> str:
    out = [
        "# proofs_numeric report",
        "",
        f"lininv {lininv.__version__}; seed {report.seed}; precision {report.precision:g}; "
        f"{sum(report.runtimes):.1f} s. **{'ALL STEPS PASS' if report.passed else 'SOME STEPS FAIL'}**",
        "",
        "Pass rules: exact identities within floating-point tolerances derived from the "
        "operation count and conditioning; Monte-Carlo equalities within z standard errors; "
        "Monte-Carlo inequalities must hold beyond z standard errors; per-draw inequalities at "
        "every draw. CIs are 95%.",
        "",
        "| step | name | cases | result | time (s) |",
        "|---|---|---|---|---|",
    ]
    for r, t in zip(report.results, report.runtimes, strict=True):
        out.append(
            f"| {r.step} | {r.name} | {len(r.evidence)} | {'pass' if r.passed else 'FAIL'} | {t:.1f} |"
        )
    for r in report.results:
        out += [
            "",
            f"## Step {r.step}: {r.title} ({'pass' if r.passed else 'FAIL'})",
            "",
            r.statement,
            "",
            f"`{r.formula}`",
            "",
            f"Method: {r.method} Seed: {r.seed}.",
            "",
            "| case | rel. | method | computed | claimed | stderr | 95% CI | trials | tolerance | margin | pass | note |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for e in r.evidence:
            ci = f"[{e.ci[0]:.6g}, {e.ci[1]:.6g}]" if e.ci else "-"
            out.append(
                f"| {e.label} | {e.relation} | {e.method} | {e.value:.8g} | {e.claimed:.8g} | "
                f"{_num(e.stderr, '.3g')} | {ci} | {_num(e.trials, 'd')} | {e.tolerance:.3g} | "
                f"{e.margin:.3g} | {'yes' if e.passed else '**no**'} | {e.note} |"
            )
        if r.table is not None:
            out += ["", "Measured:", "", r.table.to_markdown()]
    return "\n".join(out) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_reports(report: RunReport, output: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``<output>.md`` and ``<output>.json`` atomically; returns both paths."""
    stem = Path(output)
    if stem.suffix in (".md", ".json"):
        stem = stem.with_suffix("")
    md, js = stem.with_name(stem.name + ".md"), stem.with_name(stem.name + ".json")
    _atomic_write(js, json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n")
    _atomic_write(md, _markdown(report))
    return md, js


# -- command line -------------------------------------------------------------------------------


def add_arguments(parser: Any) -> None:
    """Options shared by ``python -m proofs_numeric`` and ``lininv proofs``."""
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument(
        "--precision",
        type=float,
        default=1.0,
        help="multiplies every Monte-Carlo sample size (default 1; 4 halves the standard errors; "
        "about 80 MiB of memory per unit)",
    )
    parser.add_argument(
        "--output",
        default="proofs_report",
        help="report path stem: writes STEM.md and STEM.json (default ./proofs_report)",
    )
    parser.add_argument(
        "--step",
        action="append",
        metavar="NAME",
        help="run only this step (number like 4c or name like inverse_wishart_mean); repeatable",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the step summary")


def validate_args(args: Any) -> None:
    """Check parsed options before any work starts; ValueError / TypeError on bad input."""
    check_int("seed", args.seed, low=0)
    if not (isinstance(args.precision, float) and math.isfinite(args.precision)):
        raise ValueError(f"precision must be a finite number; got {args.precision!r}")
    check_precision(args.precision)
    select_steps(args.step)
    if not str(args.output).strip():
        raise ValueError("output must be a non-empty path stem")


def main_from_args(args: Any, *, out: TextIO | None = None) -> int:
    """Run with validated options, print, write; 0 if every step passes, else 1."""
    out = sys.stdout if out is None else out

    def save(partial: RunReport) -> None:
        write_reports(partial, args.output)

    print(f"proofs_numeric: seed {args.seed}, precision {args.precision:g}", file=out, flush=True)
    report = run_steps(
        seed=args.seed, precision=args.precision, steps=args.step, progress=out, checkpoint=save
    )
    print(file=out)
    print(format_table(report, evidence=not args.quiet), file=out)
    md, js = write_reports(report, args.output)
    print(f"reports: {md}, {js}", file=out)
    return 0 if report.passed else 1
