r"""The measurement factor: how many more measurements a baseline needs to match a method's error.

For a method ``a`` (the flow) measured at ``m_i`` and a baseline ``b`` (Lasso) measured on a grid
of ``m``, the factor at ``m_i`` is :math:`m_b / m_i`, where :math:`m_b` is the number of
measurements at which the baseline's mean error equals the method's mean error at ``m_i``
(interpolated linearly in :math:`(\log m, \log e)` on the baseline's curve made non-increasing).
Its uncertainty comes from a paired bootstrap over the test signals (the same signals for every
``m`` and both methods, so one resample of signals resamples every mean).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MeasurementFactor", "measurement_factor", "factor_at_equal_error", "factor_series"]

_TINY = float(np.finfo(float).tiny)


@dataclass(frozen=True)
class MeasurementFactor:
    """Factors and their bootstrap percentile intervals, one entry per method ``m``.

    Attributes
    ----------
    factor, lo, hi : ndarray of shape (p,)
        Point estimate and the 95% percentile interval; ``inf`` / ``0`` where the baseline
        never (within the grid) reaches / always beats the method's error (see ``bound``).
    bound : ndarray of str, shape (p,)
        ``"="`` (interpolated), ``">"`` (the baseline does not reach the error by the largest
        ``m``: the factor is above ``m_max / m_i``, reported in ``factor``) or ``"<"`` (the
        baseline beats it already at the smallest ``m``: the factor is below ``m_min / m_i``).
    censored : ndarray of shape (p,)
        Fraction of bootstrap resamples in which the factor is only bounded.
    """

    factor: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    bound: np.ndarray
    censored: np.ndarray


def factor_at_equal_error(
    ms: np.ndarray, method: np.ndarray, baseline: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Factors ``m_b / m_i`` from mean errors on one grid ``ms``; and their bound codes.

    Returns ``(factor, code)`` with code 0 interpolated, 1 beyond the largest ``m`` (factor set
    to ``ms[-1] / m_i``, a lower bound), -1 below the smallest (``ms[0] / m_i``, an upper bound).
    """
    logm = np.log(ms)
    curve = np.minimum.accumulate(baseline)  # the best the baseline does with at most m
    out = np.empty(ms.size)
    code = np.zeros(ms.size, dtype=int)
    for i, target in enumerate(method):
        below = np.flatnonzero(curve <= target)
        if below.size == 0:
            out[i], code[i] = ms[-1] / ms[i], 1
            continue
        j = int(below[0])
        if j == 0:  # reached at the smallest m already: exactly there, or a bound below it
            out[i], code[i] = ms[0] / ms[i], (0 if curve[0] == target else -1)
            continue
        # logs of errors floored at the smallest normal double: an exact 0 is "as small as it gets"
        e0, e1, et = np.log(np.maximum([curve[j - 1], curve[j], target], _TINY))
        w = 1.0 if e1 == e0 else (e0 - et) / (e0 - e1)
        out[i] = np.exp(logm[j - 1] + w * (logm[j] - logm[j - 1])) / ms[i]
    return out, code


def measurement_factor(
    ms: Any,
    method: Any,
    baseline: Any,
    *,
    n_boot: int = 2000,
    rng: Any = 0,
    level: float = 0.95,
    statistic: str = "mean",
) -> MeasurementFactor:
    """The baseline-to-method measurement factor at each ``m`` with a paired bootstrap interval.

    The one definition of the factor in lininv: the ``claims`` of the 8x8 experiments, the
    ``compressed-sensing-28`` table and :func:`lininv.plotting.plot_measurement_factor` all use it.

    Parameters
    ----------
    ms : array_like of shape (p,)
        Increasing numbers of measurements (at least 2).
    method, baseline : array_like of shape (p, N)
        Per-signal errors (non-negative; e.g. squared errors), signal ``j`` the same in every row and
        in both.
    n_boot : int, default=2000
        Bootstrap resamples of the ``N`` signals.
    rng : int or numpy Generator, default=0
        Draws the resamples.
    level : float, default=0.95
        Coverage of the percentile interval.
    statistic : {"mean", "median"}, default="mean"
        The error summarised per ``m`` ("median": robust to a few failed recoveries).

    Returns
    -------
    MeasurementFactor

    Examples
    --------
    Lasso's error halves with every doubling of m; the flow at m has Lasso's error at 4m:

    >>> import numpy as np
    >>> from lininv.experiments import measurement_factor
    >>> ms = np.array([4, 8, 16, 32, 64])
    >>> lasso = np.repeat((1.0 / ms)[:, None], 3, axis=1)
    >>> flow = lasso / 4.0
    >>> f = measurement_factor(ms, flow, lasso, n_boot=10)
    >>> np.round(f.factor, 6).tolist(), f.bound.tolist()
    ([4.0, 4.0, 4.0, 2.0, 1.0], ['=', '=', '=', '>', '>'])
    """
    from lininv._validation import check_choice, check_int, check_real

    n_boot = check_int("n_boot", n_boot, low=1)
    level = check_real("level", level, low=0.0, high=1.0, low_open=True)
    statistic = check_choice("statistic", statistic, ("mean", "median"))
    ms = np.asarray(ms, dtype=float)
    method = np.asarray(method, dtype=float)
    baseline = np.asarray(baseline, dtype=float)
    if ms.ndim != 1 or ms.size < 2 or not np.all(np.diff(ms) > 0) or not np.all(ms > 0):
        raise ValueError(f"ms must be at least 2 increasing positive numbers; got {ms.tolist()}")
    for name, arr in (("method", method), ("baseline", baseline)):
        if arr.ndim != 2 or arr.shape[0] != ms.size or arr.shape[1] < 1:
            raise ValueError(
                f"{name} must have shape (len(ms), N) = ({ms.size}, N); got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must hold finite non-negative errors")
    if method.shape != baseline.shape:
        raise ValueError(
            f"method and baseline must have the same shape; got {method.shape} and {baseline.shape}"
        )
    rng = np.random.default_rng(rng)
    ms = np.asarray(ms, dtype=float)
    N = method.shape[1]
    stat: Any = {"mean": np.mean, "median": np.median}[statistic]
    factor, code = factor_at_equal_error(ms, stat(method, axis=1), stat(baseline, axis=1))
    boots = np.empty((n_boot, ms.size))
    codes = np.empty((n_boot, ms.size), dtype=int)
    for b in range(n_boot):
        pick = rng.integers(0, N, size=N)
        boots[b], codes[b] = factor_at_equal_error(
            ms, stat(method[:, pick], axis=1), stat(baseline[:, pick], axis=1)
        )
    tail = 50.0 * (1.0 - level)
    lo, hi = np.percentile(boots, [tail, 100.0 - tail], axis=0)
    bound = np.where(code == 1, ">", np.where(code == -1, "<", "="))
    return MeasurementFactor(factor, lo, hi, bound, (codes != 0).mean(axis=0))


#: The claim whose rows hold the n = 64 factors (``claims.csv``, protocol ``lininv``).
CLAIM = "Lasso-DCT needs several times the flow's measurements for equal error"

#: The dimension of the 8x8 digits of ``compressed-sensing`` (the claims' rows name only m).
N_SMALL = 64


def _series_64(folder: Path) -> dict[str, np.ndarray]:
    from lininv.experiments._result import load_result

    rows = [
        r
        for r in load_result(folder, "claims").table.rows
        if r["claim"] == CLAIM and r["protocol"] == "lininv"
    ]
    if not rows:
        raise ValueError(
            f"folder {os.fspath(folder)!r}: claims.json must hold the lininv rows of the claim "
            f"{CLAIM!r}; got none"
        )
    m = np.array([float(str(r["setting"]).split("=")[1].split()[0]) for r in rows])
    return {
        "ratio": m / N_SMALL,
        "factor": np.array([r["effect"] for r in rows], dtype=float),
        "lo": np.array([r["lo"] for r in rows], dtype=float),
        "hi": np.array([r["hi"] for r in rows], dtype=float),
        # "censored: Lasso never matches": the factor is m_max / m, a lower bound
        "bound": np.array([">" if "censored" in str(r["setting"]) else "=" for r in rows]),
    }


def _series_784(folder: Path) -> dict[str, np.ndarray]:
    from lininv.experiments._result import load_result

    table = load_result(folder, "compressed-sensing-28").table

    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in table.rows])

    return {
        "ratio": col("ratio"),
        "factor": col("factor"),
        "lo": col("factor_lo"),
        "hi": col("factor_hi"),
        "bound": np.array([str(r["factor_bound"]) for r in table.rows]),
    }


def factor_series(folder: Path) -> dict[int, dict[str, np.ndarray]]:
    """The factors at both scales from the results saved in ``folder``
    (:func:`lininv.plotting.measurement_factor_series` documents it)."""
    return {N_SMALL: _series_64(folder), 784: _series_784(folder)}
