"""Presentation of a proof run: plain-text table, Markdown report, and rows for a CSV table.

Functions here turn a :class:`~proofs_numeric.RunReport` into text or plain rows; they never print
or write (the command line does, with provenance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import lininv
from proofs_numeric._run import RunReport

__all__ = ["format_table", "format_markdown", "evidence_rows", "EVIDENCE_COLUMNS"]

#: Columns of :func:`evidence_rows`: one row per case of every step.
EVIDENCE_COLUMNS = (
    "step",
    "name",
    "case",
    "relation",
    "method",
    "value",
    "claimed",
    "stderr",
    "ci_low",
    "ci_high",
    "trials",
    "tolerance",
    "margin",
    "passed",
    "note",
)


def _provenance_lines(provenance: Mapping[str, Any]) -> list[str]:
    items = "; ".join(f"{k}: {v}" for k, v in provenance.items())
    return [f"Provenance: {items}.", ""]


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


def format_markdown(report: RunReport, *, provenance: Mapping[str, Any] | None = None) -> str:
    """The Markdown report: verdict, a table of steps, then each step's statement and evidence.

    ``provenance`` (the environment and command of the run, as the command line records it) is
    listed under the title when given.
    """
    out = [
        "# proofs_numeric report",
        "",
        f"lininv {lininv.__version__}; seed {report.seed}; precision {report.precision:g}; "
        f"{sum(report.runtimes):.1f} s. **{'ALL STEPS PASS' if report.passed else 'SOME STEPS FAIL'}**",
        "",
        "Pass rules: exact identities within floating-point tolerances derived from the "
        "operation count and conditioning; Monte-Carlo equalities within z standard errors; "
        "Monte-Carlo inequalities must hold beyond z standard errors; per-draw inequalities at "
        "every draw. CIs are 95% Student-t intervals (reported, not used by the pass rules).",
        "",
        *(_provenance_lines(provenance) if provenance else []),
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


def evidence_rows(report: RunReport) -> list[dict[str, Any]]:
    """One row per case of every step (columns :data:`EVIDENCE_COLUMNS`), for a CSV table."""
    rows = []
    for r in report.results:
        for e in r.evidence:
            rows.append(
                {
                    "step": r.step,
                    "name": r.name,
                    "case": e.label,
                    "relation": e.relation,
                    "method": e.method,
                    "value": e.value,
                    "claimed": e.claimed,
                    "stderr": e.stderr,
                    "ci_low": None if e.ci is None else e.ci[0],
                    "ci_high": None if e.ci is None else e.ci[1],
                    "trials": e.trials,
                    "tolerance": e.tolerance,
                    "margin": e.margin,
                    "passed": e.passed,
                    "note": e.note,
                }
            )
    return rows
