r"""Confidence intervals: one Student-t interval for every mean lininv reports.

A mean of :math:`N` i.i.d. values with sample standard deviation :math:`s` gets the interval
:math:`\bar v \pm t_{N-1,(1+\ell)/2}\, s/\sqrt N` (level :math:`\ell`, 95% by default). For the
Monte-Carlo engine :math:`N` is in the thousands and ``t`` is 1.96 to three digits; for the
bridge's 100 held-out signals it is 1.98; for a handful of values it is much larger (12.7 for
two), which is why a normal 1.96 is never used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from lininv._validation import check_real

__all__ = ["t_quantile", "t_interval", "mean_ci"]


def t_quantile(count: int, level: float = 0.95) -> float:
    """Student's ``t`` quantile of a two-sided ``level`` interval with ``count - 1`` dof.

    Private callers pass validated numbers (``count >= 2``, ``0 < level < 1``).
    """
    return float(special.stdtrit(count - 1, 0.5 + level / 2.0))


def t_interval(mean: float, stderr: float, count: int, level: float = 0.95) -> tuple[float, float]:
    """``(lo, hi) = mean -/+ t stderr`` (:func:`t_quantile`)."""
    half = t_quantile(count, level) * stderr
    return mean - half, mean + half


def mean_ci(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    r"""Mean and a Student-t confidence interval for i.i.d. values.

    Parameters
    ----------
    values : array_like of shape (N,)
        At least 2 finite values.
    level : float, default=0.95
        Coverage probability, in (0, 1).

    Returns
    -------
    mean, lo, hi : float
        :math:`\bar v \pm t_{N-1, (1+\ell)/2}\, s/\sqrt N`.

    Examples
    --------
    >>> from lininv.bridge import mean_ci
    >>> [round(v, 4) for v in mean_ci([1.0, 2.0, 3.0])]
    [2.0, -0.4841, 4.4841]
    """
    level = check_real("level", level, low=0.0, low_open=True)
    if level >= 1.0:
        raise ValueError(f"level must be < 1 (a coverage probability); got {level:g}")
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2:
        raise ValueError(
            f"values must hold at least 2 numbers for a confidence interval; got {v.size}"
        )
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"values must be finite; got {int(np.sum(~np.isfinite(v)))} NaN or infinite entries"
        )
    mean = float(v.mean())
    half = float(t_quantile(v.size, level) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half
