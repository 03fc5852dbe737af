r"""Result objects of the proof checks, and the rules that turn numbers into pass/fail.

Every check returns a :class:`StepResult`: what the step claims (in words and as a formula), how
it was checked, and one :class:`Evidence` per case (a spectrum, a size, a draw of ``A``...). Each
``Evidence`` records what was computed (an exact value, the worst draw of a per-draw inequality,
or a Monte-Carlo mean with its standard error, 95% confidence interval and number of trials), the
value the statement claims, the tolerance, the *margin* and pass/fail.

Pass rules (``margin >= 0`` passes, in the units of the compared quantity):

========================  =================================================================
relation / method          margin
========================  =================================================================
``=``, exact               ``tol - |value - claimed|``; ``tol`` from floating point
``=``, Monte Carlo         ``z * stderr + tol - |value - claimed|`` (``z`` standard errors)
``<=``, exact / per draw   ``claimed - value + tol`` at the worst draw
``<=``, Monte Carlo        ``claimed - (value + z * stderr)``: holds beyond the ``z``-SE band
``>=``                     the mirror images
========================  =================================================================

So a Monte-Carlo equality passes when the claimed value lies within ``z`` standard errors of the
estimate, and a Monte-Carlo inequality passes only when it holds beyond that band: a bound that
the estimate cannot separate from the truth is reported as *not confirmed*, never as passed.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Evidence",
    "StepResult",
    "Table",
    "Z_SE",
    "Z95",
    "EPS",
    "fp_tol",
    "exact_equality",
    "exact_inequality",
    "per_draw_inequality",
    "mc_summary",
    "mc_equality",
    "mc_inequality",
    "step_rng",
    "step_seed",
]

#: Standard errors allowed by Monte-Carlo checks: a false failure of a true statement has
#: probability about 6e-7 per comparison under the normal approximation.
Z_SE = 5.0
#: Two-sided 95% normal quantile, for the reported confidence intervals.
Z95 = 1.959963984540054
EPS = float(np.finfo(float).eps)

_RELATIONS = ("=", "<=", ">=")


@dataclass(frozen=True)
class Evidence:
    """One case of a check.

    Attributes
    ----------
    label : str
        The case (spectrum, sizes, draw...).
    relation : {"=", "<=", ">="}
        ``value relation claimed`` is what the statement asserts.
    method : {"exact", "per-draw", "monte-carlo", "optimiser"}
        How ``value`` was obtained.
    value : float
        The computed quantity: an exact value, the left side at the worst draw, or a Monte-Carlo
        mean.
    claimed : float
        The right side of the statement (at the worst draw for per-draw checks).
    tolerance : float
        Absolute allowance: floating point for exact values, ``z`` standard errors (plus floating
        point) for Monte-Carlo equalities.
    margin : float
        Slack of the pass rule (module docstring); ``>= 0`` passes.
    passed : bool
    stderr : float or None
        Monte-Carlo standard error of ``value``.
    ci : tuple of float or None
        95% confidence interval of ``value``.
    trials : int or None
        Number of Monte-Carlo samples, or of draws for a per-draw check.
    note : str
        Anything a reader needs to interpret the case (violations counted, tolerance's origin...).
    """

    label: str
    relation: str
    method: str
    value: float
    claimed: float
    tolerance: float
    margin: float
    passed: bool
    stderr: float | None = None
    ci: tuple[float, float] | None = None
    trials: int | None = None
    note: str = ""

    @property
    def relative_margin(self) -> float:
        """``margin / |claimed|`` (``margin`` itself when ``claimed == 0``)."""
        return self.margin / abs(self.claimed) if self.claimed != 0.0 else self.margin

    @property
    def z_score(self) -> float | None:
        """``(value - claimed) / stderr`` for Monte-Carlo evidence, else None."""
        if self.stderr is None or self.stderr == 0.0:
            return None
        return (self.value - self.claimed) / self.stderr


@dataclass(frozen=True)
class Table:
    """A measured table (columns and rows of plain numbers/strings)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def to_markdown(self, fmt: str = ".4g") -> str:
        def cell(v: Any) -> str:
            if v is None:
                return "-"
            return format(v, fmt) if isinstance(v, float) else str(v)

        head = "| " + " | ".join(self.columns) + " |"
        sep = "|" + "---|" * len(self.columns)
        body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join([head, sep, *body])


@dataclass(frozen=True)
class StepResult:
    """Outcome of one proof step.

    Attributes
    ----------
    step : str
        Step number as in THEORY.md section 6 / the issue ("1", "4c", "5b", ...).
    name : str
        Identifier, e.g. ``"inverse_wishart_mean"`` (``python -m proofs_numeric --step NAME``).
    title : str
        Short human title.
    statement : str
        The claim in words.
    formula : str
        The claim as a formula (plain text / LaTeX).
    method : str
        How it is checked and the pass rule (trials, ``z``, tolerances and why).
    evidence : tuple of Evidence
        One entry per case.
    seed : int or None
        Entropy that reproduces the random draws (``rng`` of the check), or None if deterministic.
    table : Table or None
        Measured quantities reported without pass/fail (step 7).
    """

    step: str
    name: str
    title: str
    statement: str
    formula: str
    method: str
    evidence: tuple[Evidence, ...]
    seed: int | None = None
    table: Table | None = field(default=None)

    @property
    def passed(self) -> bool:
        """True when every case passed (and there is at least one)."""
        return bool(self.evidence) and all(e.passed for e in self.evidence)

    def failures(self) -> tuple[Evidence, ...]:
        """The cases that failed."""
        return tuple(e for e in self.evidence if not e.passed)

    def to_text(self) -> str:
        """Plain-text summary: statement, formula, method and one line per case."""
        lines = [
            f"Step {self.step} ({self.name}): {self.title} -- {'PASS' if self.passed else 'FAIL'}",
            f"  {self.statement}",
            f"  formula: {self.formula}",
            f"  method:  {self.method}",
        ]
        for e in self.evidence:
            if e.method == "monte-carlo" and e.ci is not None:
                got = f"{e.value:.6g} (95% CI [{e.ci[0]:.6g}, {e.ci[1]:.6g}], {e.trials} trials)"
            elif e.method == "per-draw":
                got = f"{e.value:.6g} at the worst of {e.trials} draws"
            else:
                got = f"{e.value:.6g}"
            lines.append(
                f"  [{'ok' if e.passed else 'FAIL'}] {e.label}: computed {got} {e.relation} "
                f"claimed {e.claimed:.6g}; margin {e.margin:.3g} (tolerance {e.tolerance:.3g})"
            )
        if self.table is not None:
            lines.append(
                f"  measured table: {len(self.table.rows)} rows ({', '.join(self.table.columns)})"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (tuples become lists; ``passed`` included)."""
        out = asdict(self)
        out["passed"] = self.passed
        for ev, src in zip(out["evidence"], self.evidence, strict=True):
            ev["relative_margin"] = src.relative_margin
            ev["z_score"] = src.z_score
        return out


# -- numbers to evidence ----------------------------------------------------------------------


def fp_tol(n: int, scale: float, factor: float = 8.0) -> float:
    """Floating-point allowance ``factor * n * eps * scale`` for an O(n)-operation result."""
    return float(factor * n * EPS * abs(scale))


def _check_relation(relation: str) -> None:
    if relation not in _RELATIONS:
        raise ValueError(f"relation must be one of {_RELATIONS}; got {relation!r}")


def exact_equality(
    label: str, value: float, claimed: float, tol: float, note: str = ""
) -> Evidence:
    """Deterministic equality within a floating-point tolerance ``tol``."""
    value, claimed, tol = float(value), float(claimed), float(tol)
    margin = tol - abs(value - claimed)
    return Evidence(
        label, "=", "exact", value, claimed, tol, margin, bool(margin >= 0.0), note=note
    )


def exact_inequality(
    label: str, value: float, claimed: float, relation: str, tol: float, note: str = ""
) -> Evidence:
    """Deterministic ``value <= claimed`` (or ``>=``), allowing ``tol`` for rounding."""
    _check_relation(relation)
    value, claimed, tol = float(value), float(claimed), float(tol)
    slack = claimed - value if relation == "<=" else value - claimed
    margin = slack + tol
    return Evidence(
        label, relation, "exact", value, claimed, tol, margin, bool(margin >= 0.0), note=note
    )


def per_draw_inequality(
    label: str,
    values: np.ndarray,
    claimed: np.ndarray,
    relation: str,
    tol: np.ndarray | float,
    note: str = "",
) -> Evidence:
    """``values[d] relation claimed[d]`` for every draw ``d``; reports the worst draw."""
    _check_relation(relation)
    values = np.asarray(values, dtype=float)
    claimed = np.broadcast_to(np.asarray(claimed, dtype=float), values.shape)
    tol_arr = np.broadcast_to(np.asarray(tol, dtype=float), values.shape)
    slack = claimed - values if relation == "<=" else values - claimed
    margins = slack + tol_arr
    worst = int(np.argmin(margins))
    violations = int(np.count_nonzero(margins < 0.0))
    rel = slack / np.abs(claimed)
    text = (
        f"{violations} of {values.size} draws violate; smallest relative slack "
        f"{float(np.min(rel)):.3g}"
    )
    return Evidence(
        label,
        relation,
        "per-draw",
        float(values[worst]),
        float(claimed[worst]),
        float(tol_arr[worst]),
        float(margins[worst]),
        violations == 0,
        trials=int(values.size),
        note=f"{text}; {note}" if note else text,
    )


def mc_summary(samples: np.ndarray) -> tuple[float, float, int]:
    """Mean, standard error (``std(ddof=1) / sqrt(T)``) and count of i.i.d. samples."""
    samples = np.asarray(samples, dtype=float).ravel()
    trials = samples.size
    if trials < 2:
        raise ValueError(f"need at least 2 Monte-Carlo samples; got {trials}")
    return float(samples.mean()), float(samples.std(ddof=1) / np.sqrt(trials)), int(trials)


def _ci(mean: float, se: float) -> tuple[float, float]:
    return (mean - Z95 * se, mean + Z95 * se)


def mc_equality(
    label: str,
    mean: float,
    stderr: float,
    trials: int,
    claimed: float,
    *,
    z: float = Z_SE,
    fp: float = 0.0,
    note: str = "",
) -> Evidence:
    """Monte-Carlo equality: passes when ``|mean - claimed| <= z * stderr + fp``."""
    mean, stderr, claimed = float(mean), float(stderr), float(claimed)
    tol = z * stderr + fp
    margin = tol - abs(mean - claimed)
    return Evidence(
        label,
        "=",
        "monte-carlo",
        mean,
        claimed,
        tol,
        margin,
        bool(margin >= 0.0),
        stderr=stderr,
        ci=_ci(mean, stderr),
        trials=int(trials),
        note=note,
    )


def mc_inequality(
    label: str,
    mean: float,
    stderr: float,
    trials: int,
    claimed: float,
    relation: str,
    *,
    z: float = Z_SE,
    note: str = "",
) -> Evidence:
    """Monte-Carlo inequality: passes when it holds beyond ``z`` standard errors."""
    _check_relation(relation)
    mean, stderr, claimed = float(mean), float(stderr), float(claimed)
    if relation == "<=":
        margin = claimed - (mean + z * stderr)
    else:
        margin = (mean - z * stderr) - claimed
    return Evidence(
        label,
        relation,
        "monte-carlo",
        mean,
        claimed,
        z * stderr,
        margin,
        bool(margin >= 0.0),
        stderr=stderr,
        ci=_ci(mean, stderr),
        trials=int(trials),
        note=note,
    )


# -- seeds ----------------------------------------------------------------------------------


def step_seed(seed: int, name: str) -> int:
    """Per-step seed derived from the run seed and the step name (stable across runs).

    A step run alone (``--step NAME``) gives exactly the result it has in the full run.
    """
    ss = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def step_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(step_seed(seed, name))
