r"""Result objects of the proof checks: a step's claim, method and evidence, as frozen data.

Every check returns a :class:`StepResult`: what the step claims (in words and as a formula), how
it was checked, and one :class:`Evidence` per case (a spectrum, a size, a draw of ``A``...). Each
``Evidence`` records what was computed (an exact value, the worst draw of a per-draw inequality,
or a Monte-Carlo mean with its standard error, 95% Student-t confidence interval and number of
trials), the value the statement claims, the tolerance, the *margin* and pass/fail; the rules that
make them are in :mod:`proofs_numeric._rules`. ``to_dict`` gives JSON-ready data and
``from_dict`` reads it back exactly (a saved step of an interrupted run is reused as it was).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Evidence", "StepResult", "Table"]


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
        Absolute allowance: floating point for exact values, ``z`` standard errors (the test
        margin, plus floating point) for Monte-Carlo equalities.
    margin : float
        Slack of the pass rule (module docstring); ``>= 0`` passes.
    passed : bool
    stderr : float or None
        Monte-Carlo standard error of ``value``.
    ci : tuple of float or None
        95% Student-t confidence interval of ``value`` (:func:`lininv.t_interval`; reported,
        not used by the pass rule).
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        """Inverse of the ``evidence`` entries of :meth:`StepResult.to_dict` (derived keys
        ``relative_margin`` and ``z_score`` are recomputed, not read)."""
        ci = data.get("ci")
        return cls(
            label=data["label"],
            relation=data["relation"],
            method=data["method"],
            value=float(data["value"]),
            claimed=float(data["claimed"]),
            tolerance=float(data["tolerance"]),
            margin=float(data["margin"]),
            passed=bool(data["passed"]),
            stderr=None if data.get("stderr") is None else float(data["stderr"]),
            ci=None if ci is None else (float(ci[0]), float(ci[1])),
            trials=None if data.get("trials") is None else int(data["trials"]),
            note=data.get("note", ""),
        )

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        """Inverse of ``dataclasses.asdict`` of a table (lists back to tuples)."""
        return cls(tuple(data["columns"]), tuple(tuple(row) for row in data["rows"]))

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
        Step label as in docs/theory.md section 6 ("1", "4c", "5b", ...).
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        """Inverse of :meth:`to_dict`: ``StepResult.from_dict(r.to_dict()) == r`` (floats
        survive a JSON round trip exactly)."""
        table = data.get("table")
        return cls(
            step=data["step"],
            name=data["name"],
            title=data["title"],
            statement=data["statement"],
            formula=data["formula"],
            method=data["method"],
            evidence=tuple(Evidence.from_dict(e) for e in data["evidence"]),
            seed=None if data.get("seed") is None else int(data["seed"]),
            table=None if table is None else Table.from_dict(table),
        )
