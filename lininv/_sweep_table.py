r"""The table of a sweep: one row per cell, with the bounds, the prediction and the verdicts.

A row's verdicts are data, recomputed from its numbers (:func:`verdicts`), so a stored row can be
checked rather than trusted. A bound *holds* unless it is violated beyond the 95% confidence
interval (``lower > ci_high`` or ``upper < ci_low``). Whether a bound is a *theorem* for a row
is data too (``theorem``): the lower bound :math:`\sum_{i>m} s_i^2` holds for every matched row
(Eckart-Young for every ``A``; noise only adds error); the upper bounds are the noiseless
theorem's for Gaussian ``A`` (and Haar ``A``, whose row space has the same law). A bound that
fails where it is a theorem is a *violation*; one that fails elsewhere is a *finding* (the
theory stated for Gaussian ``A`` and a matched truth does not carry over).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from lininv._table import Table

__all__ = ["SweepTable", "COLUMNS", "verdicts", "THEOREMS"]

#: Columns of a sweep table, in order.
COLUMNS = (
    "spectrum",
    "n",
    "m",
    "noise",
    "ensemble",
    "truth",
    "lower",
    "mc_mean",
    "mc_stderr",
    "ci_low",
    "ci_high",
    "trials",
    "predicted",
    "predicted_rel_error",
    "hmt_upper",
    "hmt_k",
    "paper_upper",
    "lower_holds",
    "hmt_holds",
    "paper_holds",
    "theorem",
    "converged",
    "seed",
)

#: Values of the ``theorem`` column: which bounds are theorems for the row.
THEOREMS = ("lower and upper", "lower", "none")

_BOUNDS = (("lower", "lower_holds"), ("hmt_upper", "hmt_holds"), ("paper_upper", "paper_holds"))


def theorem_for(ensemble: str, truth: str, noise: float, m: int) -> str:
    """Which bounds are theorems for a cell (module docstring)."""
    if truth != "prior":
        return "none"
    if noise == 0.0 and m >= 2 and ensemble in ("gaussian", "haar"):
        return "lower and upper"
    return "lower"


def verdicts(row: dict[str, Any]) -> dict[str, bool | None]:
    """``lower_holds``, ``hmt_holds``, ``paper_holds`` from the row's numbers (``None``: no bound)."""
    lo, hi = row["ci_low"], row["ci_high"]
    return {
        "lower_holds": bool(row["lower"] <= hi),
        "hmt_holds": None if row["hmt_upper"] is None else bool(row["hmt_upper"] >= lo),
        "paper_holds": None if row["paper_upper"] is None else bool(row["paper_upper"] >= lo),
    }


def _failed(row: dict[str, Any]) -> list[str]:
    return [c.removesuffix("_holds") for _, c in _BOUNDS if row[c] is False]


class SweepTable:
    """The result of :func:`lininv.sweep`: one row (a dict keyed by :data:`COLUMNS`) per cell.

    Upper bounds are ``None`` where they are not defined (``m = 1``, or noise: the bounds are for
    the noiseless MLE). See the module docstring for ``theorem``, violations and findings.

    Attributes
    ----------
    rows : list of dict
    settings : dict
        ``seed`` (of the sweep), ``rtol``, ``trials``, ``max_trials``.
    spectra : dict of str to ndarray
        The spectra by name.
    meta : dict
        Provenance of the runs that computed the rows (written with the table's files).
    """

    def __init__(
        self,
        rows: list[dict[str, Any]],
        settings: dict[str, Any],
        spectra: dict[str, np.ndarray],
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.rows = rows
        self.settings = settings
        self.spectra = spectra
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SweepTable):
            return NotImplemented
        return (
            self.rows == other.rows
            and self.settings == other.settings
            and self.spectra.keys() == other.spectra.keys()
            and all(np.array_equal(v, other.spectra[k]) for k, v in self.spectra.items())
        )

    def __repr__(self) -> str:
        return f"SweepTable({len(self.rows)} rows, seed {self.settings.get('seed')})"

    def __str__(self) -> str:
        return self.format()

    def column(self, name: str) -> np.ndarray:
        """Values of one column as an array (``None`` becomes ``nan`` for numeric columns)."""
        if name not in COLUMNS:
            raise ValueError(f"name must be one of {', '.join(COLUMNS)}; got {name!r}")
        values = [row[name] for row in self.rows]
        if name in ("spectrum", "ensemble", "truth", "theorem"):
            return np.array(values, dtype=object)
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    def select(
        self,
        spectrum: str | None = None,
        noise: float | None = None,
        *,
        ensemble: str | None = None,
        truth: str | None = None,
    ) -> SweepTable:
        """Rows of one spectrum, noise level, ensemble and/or truth, in grid order."""
        want = {"spectrum": spectrum, "noise": noise, "ensemble": ensemble, "truth": truth}
        rows = [r for r in self.rows if all(v is None or r[k] == v for k, v in want.items())]
        spectra = {k: v for k, v in self.spectra.items() if spectrum is None or k == spectrum}
        return SweepTable(rows, dict(self.settings), spectra, self.meta)

    def violations(self) -> list[dict[str, Any]]:
        """Rows in which a bound that is a theorem for the row fails beyond the CI."""
        out = []
        for r in self.rows:
            theorems = {"lower and upper": 3, "lower": 1, "none": 0}[r["theorem"]]
            if any(r[c] is False for _, c in _BOUNDS[:theorems]):
                out.append(r)
        return out

    def findings(self) -> list[dict[str, Any]]:
        """Rows in which a bound fails where it is not a theorem (another ensemble or truth)."""
        bad = {id(r) for r in self.violations()}
        return [r for r in self.rows if _failed(r) and id(r) not in bad]

    def unconverged(self) -> list[dict[str, Any]]:
        """Rows whose Monte-Carlo estimate stopped at ``max_trials`` before reaching ``rtol``."""
        return [r for r in self.rows if not r["converged"]]

    @property
    def all_hold(self) -> bool:
        """Whether every bound that is a theorem holds in every row."""
        return not self.violations()

    def to_table(self) -> Table:
        """The rows as a :class:`lininv._table.Table`, with settings and provenance as ``meta``."""
        meta = {**self.meta, "settings": self.settings}
        return Table(COLUMNS, [dict(r) for r in self.rows], "lininv sweep", meta)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "lininv-sweep",
            "version": 2,
            "settings": self.settings,
            "spectra": {k: [float(x) for x in v] for k, v in self.spectra.items()},
            "rows": self.rows,
            "meta": self.meta,
        }

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the table with settings, spectra and provenance as JSON (atomically)."""
        import json

        from lininv._io import atomic_write

        atomic_write(path, json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the rows as CSV after ``# key: value`` provenance lines (atomically)."""
        self.to_table().to_csv(path)

    def format(self) -> str:
        """A readable fixed-width table (ensemble and truth shown when not all default)."""
        extra = any(r["ensemble"] != "gaussian" or r["truth"] != "prior" for r in self.rows)
        head = f"{'spectrum':<12} {'n':>5} {'m':>5} {'noise':>7} "
        if extra:
            head += f"{'ensemble':<10} {'truth':<14} "
        head += (
            f"{'lower':>10} {'E(m) [95% CI]':>30} {'predicted':>10} {'rel.err':>8} "
            f"{'HMT upper (k)':>16} {'paper upper':>11}  bounds"
        )
        out = [head, "-" * len(head)]
        for r in self.rows:
            ci = f"{r['mc_mean']:.5g} [{r['ci_low']:.5g}, {r['ci_high']:.5g}]"
            hmt = "-" if r["hmt_upper"] is None else f"{r['hmt_upper']:.4g} ({r['hmt_k']})"
            paper = "-" if r["paper_upper"] is None else f"{r['paper_upper']:.4g}"
            failed = _failed(r)
            if not failed:
                verdict = "hold"
            elif r in self.violations():
                verdict = "VIOLATED"
            else:
                verdict = "fail: " + ", ".join(failed) + " (finding)"
            if not r["converged"]:
                verdict += "; NOT CONVERGED"
            rel = r["predicted_rel_error"]
            rel_text = f"{rel:>+8.2%}" if math.isfinite(rel) else f"{'-':>8}"
            line = f"{_short(r['spectrum'], 12):<12} {r['n']:>5} {r['m']:>5} {r['noise']:>7.3g} "
            if extra:
                line += f"{_short(r['ensemble'], 10):<10} {_short(r['truth'], 14):<14} "
            line += (
                f"{r['lower']:>10.4g} {ci:>30} {r['predicted']:>10.5g} "
                f"{rel_text} {hmt:>16} {paper:>11}  {verdict}"
            )
            out.append(line)
        return "\n".join(out)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]
