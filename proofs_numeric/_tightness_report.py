r"""The tightness campaign's result: each bound's extremes and the conjecture probe, as data and text.

:class:`TightnessReport` holds what :func:`proofs_numeric.tightness.run_tightness` found;
:func:`format_results` and :meth:`TightnessReport.to_text` present it (they return text, the
command line prints and saves it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from proofs_numeric._conjecture import ConjectureReport
from proofs_numeric._search import SearchResult

__all__ = ["TightnessReport", "format_results", "RESULT_COLUMNS", "result_rows"]

_TITLES = {
    "paper:min": "Poster's upper bound, loosest (min E / bound)",
    "paper:max": "Poster's upper bound, tightest (max E / bound)",
    "hmt:min": "Optimised HMT bound, loosest",
    "hmt:max": "Optimised HMT bound, tightest",
    "lower:min": "Lower bound, tightest (min E / bound)",
    "lower:max": "Lower bound, loosest (max E / bound)",
}

#: Columns of :func:`result_rows`: one row per search of a campaign.
RESULT_COLUMNS = (
    "group",
    "target",
    "goal",
    "family",
    "n",
    "m",
    "ratio",
    "ci_low",
    "ci_high",
    "stderr",
    "trials",
    "exact",
    "converged",
    "reliable",
    "crn_ratio",
    "draws",
    "evaluations",
    "floor",
    "seed",
    "confirmed_ratio",
    "confirmed_ci_low",
    "confirmed_ci_high",
    "spectrum",
)


@dataclass(frozen=True)
class TightnessReport:
    """Extremes of every bound (both goals) and the conjecture probe.

    Attributes
    ----------
    seed : int
        The campaign's seed.
    bounds : dict of str -> tuple of SearchResult
        ``"paper:min"``, ``"paper:max"``, ``"hmt:min"``... each sorted best first.
    conjecture : ConjectureReport
    runtime_seconds : float
        Wall time of the call that assembled the report.
    """

    seed: int
    bounds: dict[str, tuple[SearchResult, ...]]
    conjecture: ConjectureReport
    runtime_seconds: float

    @property
    def results(self) -> tuple[SearchResult, ...]:
        """Every search of the campaign: the bounds' groups in order, then the conjecture's."""
        return tuple(r for v in self.bounds.values() for r in v) + self.conjecture.results

    @property
    def unconverged(self) -> tuple[SearchResult, ...]:
        """Searches whose fresh estimate stopped at ``max_trials`` before its ``rtol``."""
        return tuple(r for r in self.results if not r.converged)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of every search and the conjecture's verdict."""
        return {
            "seed": self.seed,
            "runtime_seconds": self.runtime_seconds,
            "bounds": {k: [r.to_dict() for r in v] for k, v in self.bounds.items()},
            "conjecture": {
                "verdict": self.conjecture.verdict(),
                "counterexample": self.conjecture.counterexample,
                "smallest": self.conjecture.smallest.to_dict(),
                "results": [r.to_dict() for r in self.conjecture.results],
            },
        }

    def to_text(self) -> str:
        """Plain-text tables of every group, then the conjecture's table and verdict."""
        out = []
        for key, results in self.bounds.items():
            out += [_TITLES.get(key, key), format_results(results), ""]
        out += [
            "Conjecture E(m) >= lambda m (min E / (lambda m))",
            format_results(self.conjecture.results, top=12),
        ]
        out += ["", "Verdict: " + self.conjecture.verdict()]
        return "\n".join(out)


def format_results(results: Sequence[SearchResult], *, top: int = 10) -> str:
    """A plain-text table of search results."""
    lines = [
        f"{'target':<10} {'goal':<4} {'family':<11} {'n':>4} {'m':>3}  {'ratio':>10}  "
        f"{'95% CI':<25} {'trials':>7} {'CRN':>10}  spectrum s^2 (first 6)"
    ]
    for r in list(results)[:top]:
        s2 = ", ".join(f"{v * v:.3g}" for v in r.spectrum[:6])
        ci = f"[{r.ci[0]:.6g}, {r.ci[1]:.6g}]"
        trials = "exact" if r.exact else str(r.trials)
        lines.append(
            f"{r.target:<10} {r.goal:<4} {r.family:<11} {r.n:>4} {r.m:>3}  {r.ratio:>10.6g}  "
            f"{ci:<25} {trials:>7} {r.crn_ratio:>10.6g}  {s2}"
        )
    return "\n".join(lines)


def result_rows(report: TightnessReport) -> list[dict[str, Any]]:
    """One row per search (columns :data:`RESULT_COLUMNS`), for a CSV table."""
    groups = [(k, r) for k, v in report.bounds.items() for r in v]
    groups += [("conjecture", r) for r in report.conjecture.results]
    rows = []
    for group, r in groups:
        c = r.confirmation
        rows.append(
            {
                "group": group,
                "target": r.target,
                "goal": r.goal,
                "family": r.family,
                "n": r.n,
                "m": r.m,
                "ratio": r.ratio,
                "ci_low": r.ci[0],
                "ci_high": r.ci[1],
                "stderr": r.stderr,
                "trials": r.trials,
                "exact": r.exact,
                "converged": r.converged,
                "reliable": r.reliable,
                "crn_ratio": r.crn_ratio,
                "draws": r.draws,
                "evaluations": r.evaluations,
                "floor": r.floor,
                "seed": r.seed,
                "confirmed_ratio": None if c is None else c.ratio,
                "confirmed_ci_low": None if c is None else c.ci[0],
                "confirmed_ci_high": None if c is None else c.ci[1],
                "spectrum": " ".join(repr(v) for v in r.spectrum),
            }
        )
    return rows
