r"""The rules that turn numbers into pass/fail: exact, per-draw and Monte-Carlo evidence.

Every case of a check becomes an :class:`~proofs_numeric.Evidence` through one of these functions.
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

Two different things are made of a standard error here, and they are kept apart:

* the **test margin** ``z`` (:data:`Z_SE`, 5 by default) is a *tolerance*, a number of standard
  errors a true statement is allowed to miss by; it decides pass/fail;
* the **confidence interval** reported with each Monte-Carlo case is lininv's one Student-t
  interval (:func:`lininv.t_interval`, 95%) of the mean; it is evidence for a reader and decides
  nothing.
"""

from __future__ import annotations

import numpy as np

from lininv import t_interval
from proofs_numeric._result import Evidence

__all__ = [
    "Z_SE",
    "EPS",
    "fp_tol",
    "exact_equality",
    "exact_inequality",
    "per_draw_inequality",
    "mc_summary",
    "mc_equality",
    "mc_inequality",
]

#: The test margin of every Monte-Carlo comparison, in standard errors (a tolerance, not a
#: confidence level): a true statement fails by chance with probability about 6e-7 per
#: comparison under the normal approximation of the mean (two-sided 5-sigma tail).
Z_SE = 5.0
EPS = float(np.finfo(float).eps)

_RELATIONS = ("=", "<=", ">=")


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
        ci=t_interval(mean, stderr, int(trials)),
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
        ci=t_interval(mean, stderr, int(trials)),
        trials=int(trials),
        note=note,
    )
