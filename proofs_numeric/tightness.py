r"""Tightness of the bounds and the open question :math:`E(m) \ge \lambda m`, by adversarial search.

Public interface of :mod:`proofs_numeric._tightness` (see its docstring for the method: common
random numbers, scipy optimisers over parameterised spectra, fresh re-estimation with a CI,
independent confirmation of any counterexample), plus :func:`run_tightness`, the campaign behind
``python -m proofs_numeric.tightness``.

Examples
--------
>>> from proofs_numeric.tightness import search
>>> r = search("paper", family="power", n=16, m=8, draws=16, maxiter=2, popsize=4, rng=0)
>>> r.ratio < 0.2  # the poster's bound is loose
True
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lininv._validation import check_int
from proofs_numeric._common import check_common, seed_of
from proofs_numeric._runner import _atomic_write
from proofs_numeric._tightness import (
    DEFAULT_FLOOR,
    FAMILIES,
    MIN_FLOOR,
    RELIABLE_RTOL,
    TARGETS,
    Confirmation,
    ConjectureReport,
    Family,
    SearchResult,
    bound_value,
    confirm,
    explore,
    format_results,
    probe_conjecture,
    search,
    spectrum,
)

__all__ = [
    "FAMILIES",
    "TARGETS",
    "DEFAULT_FLOOR",
    "MIN_FLOOR",
    "RELIABLE_RTOL",
    "Family",
    "SearchResult",
    "Confirmation",
    "ConjectureReport",
    "TightnessReport",
    "spectrum",
    "bound_value",
    "search",
    "explore",
    "confirm",
    "probe_conjecture",
    "format_results",
    "run_tightness",
    "main",
]

#: Settings of the default campaign and of the quick one used by the tests.
FULL: dict[str, Any] = dict(
    sizes=((32, 8),),
    families=("power", "exponential", "cliff", "mixture"),
    search=dict(draws=256, maxiter=25, popsize=8),
    conjecture=dict(
        sizes=((3, 1), (6, 1), (12, 1), (32, 1), (4, 2), (6, 3), (16, 4), (32, 8)),
        families=("power", "exponential", "cliff", "mixture", "free"),
        confirm_trials=200_000,
        draws=1024,
    ),
)
QUICK: dict[str, Any] = dict(
    sizes=((12, 4),),
    families=("power", "cliff"),
    search=dict(draws=128, maxiter=4, popsize=5, max_trials=2048),
    conjecture=dict(
        sizes=((4, 1), (6, 2)),
        families=("power", "cliff"),
        confirm_trials=20_000,
    ),
)


@dataclass(frozen=True)
class TightnessReport:
    """Extremes of every bound (both goals) and the conjecture probe."""

    seed: int
    bounds: dict[str, tuple[SearchResult, ...]]
    conjecture: ConjectureReport
    runtime_seconds: float

    def to_dict(self) -> dict[str, Any]:
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
        out = []
        titles = {
            "paper:min": "Poster's upper bound, loosest (min E / bound)",
            "paper:max": "Poster's upper bound, tightest (max E / bound)",
            "hmt:min": "Optimised HMT bound, loosest",
            "hmt:max": "Optimised HMT bound, tightest",
            "lower:min": "Lower bound, tightest (min E / bound)",
            "lower:max": "Lower bound, loosest (max E / bound)",
        }
        for key, results in self.bounds.items():
            out += [titles.get(key, key), format_results(results), ""]
        out += [
            "Conjecture E(m) >= lambda m (min E / (lambda m))",
            format_results(self.conjecture.results, top=12),
        ]
        out += ["", "Verdict: " + self.conjecture.verdict()]
        return "\n".join(out)


def run_tightness(
    *, quick: bool = False, seed: int = 0, output: str | None = None, progress: Any = None
) -> TightnessReport:
    """The campaign: each bound's loosest and tightest spectra, then the conjecture probe.

    ``output`` (a path stem) receives ``STEM.json`` and ``STEM.txt`` at the end and a partial
    ``STEM.partial.json`` after every search group.
    """
    cfg = QUICK if quick else FULL
    _, _, seed, gen = check_common(1.0, 1.0, check_int("seed", seed, low=0))
    start = time.perf_counter()
    bounds: dict[str, tuple[SearchResult, ...]] = {}
    for target in ("paper", "hmt", "lower"):
        for goal in ("min", "max"):
            bounds[f"{target}:{goal}"] = explore(
                target,
                goal=goal,
                families=cfg["families"],
                sizes=cfg["sizes"],
                rng=seed_of(gen),
                **cfg["search"],
            )
            if progress is not None:
                best = bounds[f"{target}:{goal}"][0]
                print(
                    f"  {target:<6} {goal}: ratio {best.ratio:.4g} [{best.ci[0]:.4g}, {best.ci[1]:.4g}]"
                    f" ({best.family})",
                    file=progress,
                    flush=True,
                )
            if output is not None:
                partial = {k: [r.to_dict() for r in v] for k, v in bounds.items()}
                _atomic_write(Path(f"{output}.partial.json"), json.dumps(partial, indent=1) + "\n")
    conj_cfg: dict[str, Any] = dict(cfg["conjecture"])
    conjecture = probe_conjecture(
        sizes=conj_cfg.pop("sizes"),
        families=conj_cfg.pop("families"),
        rng=seed_of(gen),
        output=None if output is None else f"{output}.conjecture.partial.json",
        **(cfg["search"] | conj_cfg),
    )
    report = TightnessReport(seed, bounds, conjecture, time.perf_counter() - start)
    if output is not None:
        _atomic_write(
            Path(f"{output}.json"), json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n"
        )
        _atomic_write(Path(f"{output}.txt"), report.to_text() + "\n")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m proofs_numeric.tightness [--quick] [--seed S] [--output STEM]``."""
    parser = argparse.ArgumentParser(
        prog="python -m proofs_numeric.tightness",
        description="Search spectra where the bounds are tight or loose; probe E(m) >= lambda m.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and budgets (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="tightness_report", help="path stem for .json/.txt")
    args = parser.parse_args(argv)
    if args.seed < 0:
        print(f"{parser.prog}: error: seed must be >= 0; got {args.seed}", file=sys.stderr)
        return 2
    report = run_tightness(
        quick=args.quick, seed=args.seed, output=args.output, progress=sys.stdout
    )
    print(report.to_text())
    print(f"{report.runtime_seconds:.1f} s; reports {args.output}.json, {args.output}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
