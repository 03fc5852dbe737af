r"""The measurement factor: how many more measurements a baseline needs to match a method's error.

For a method ``a`` (the flow) measured at ``m_i`` and a baseline ``b`` (Lasso) measured on a grid
of ``m``, the factor at ``m_i`` is :math:`m_b / m_i`, where :math:`m_b` is the number of
measurements at which the baseline's mean error equals the method's mean error at ``m_i``
(interpolated linearly in :math:`(\log m, \log e)` on the baseline's curve made non-increasing).
Its uncertainty comes from a paired bootstrap over the test signals (the same signals for every
``m`` and both methods, so one resample of signals resamples every mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MeasurementFactor", "measurement_factor", "factor_at_equal_error"]


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
        e0, e1 = np.log(curve[j - 1]), np.log(curve[j])
        w = 1.0 if e1 == e0 else (e0 - np.log(target)) / (e0 - e1)
        out[i] = np.exp(logm[j - 1] + w * (logm[j] - logm[j - 1])) / ms[i]
    return out, code


def measurement_factor(
    ms: np.ndarray,
    method: np.ndarray,
    baseline: np.ndarray,
    *,
    n_boot: int,
    rng: np.random.Generator,
    level: float = 0.95,
    statistic: str = "mean",
) -> MeasurementFactor:
    """The baseline-to-method measurement factor at each ``m`` with a paired bootstrap interval.

    Parameters
    ----------
    ms : ndarray of shape (p,)
        Increasing numbers of measurements.
    method, baseline : ndarray of shape (p, N)
        Per-signal errors, signal ``j`` the same in every row and in both.
    n_boot : int
        Bootstrap resamples of the ``N`` signals.
    rng : numpy Generator
        Draws the resamples.
    level : float, default=0.95
        Coverage of the percentile interval.
    statistic : {"mean", "median"}, default="mean"
        The error summarised per ``m`` ("median": robust to a few failed recoveries).
    """
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
