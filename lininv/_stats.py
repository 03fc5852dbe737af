r"""Confidence intervals: one Student-t interval for every mean lininv reports.

A mean of :math:`N` i.i.d. values with sample standard deviation :math:`s` gets the interval
:math:`\bar v \pm t_{N-1,(1+\ell)/2}\, s/\sqrt N` (level :math:`\ell`, 95% by default). For the
Monte-Carlo engine :math:`N` is in the thousands and ``t`` is 1.96 to three digits; for the
bridge's 100 held-out signals it is 1.98; for a handful of values it is much larger (12.7 for
two), which is why a normal 1.96 is never used.

:func:`t_quantile`, :func:`t_interval` and :func:`mean_ci` are public (``lininv.t_quantile``...)
and validate their arguments; lininv's own callers use the unchecked ``_t_quantile``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from lininv._validation import check_int, check_real

__all__ = ["t_quantile", "t_interval", "mean_ci"]


def _t_quantile(count: int, level: float) -> float:
    """:func:`t_quantile` for validated numbers (``count >= 2``, ``0 < level < 1``)."""
    return float(special.stdtrit(count - 1, 0.5 + level / 2.0))


def _check_level(level: Any) -> float:
    level = check_real("level", level, low=0.0, low_open=True)
    if level >= 1.0:
        raise ValueError(f"level must be < 1 (a coverage probability); got {level:g}")
    return level


def t_quantile(count: int, level: float = 0.95) -> float:
    r"""Student's ``t`` quantile of a two-sided ``level`` interval for a mean of ``count`` values.

    Parameters
    ----------
    count : int
        Number of i.i.d. values behind the mean, ``>= 2`` (``count - 1`` degrees of freedom).
    level : float, default=0.95
        Coverage probability, in (0, 1).

    Returns
    -------
    float
        :math:`t_{N-1, (1+\ell)/2}`, the :math:`(1+\ell)/2` quantile of Student's t with
        :math:`N - 1` degrees of freedom.

    Notes
    -----
    For a mean of :math:`N` i.i.d. normal values, :math:`(\bar v - \mu)\sqrt N / s` has Student's
    t distribution with :math:`N - 1` degrees of freedom (Gosset 1908); for other laws it is the
    usual finite-sample correction of the normal interval, to which it tends as :math:`N` grows
    (1.96 for 95%).

    References
    ----------
    .. [1] "Student" (W. S. Gosset), "The probable error of a mean", Biometrika 6(1), 1908.

    Examples
    --------
    >>> from lininv import t_quantile
    >>> round(t_quantile(2), 3), round(t_quantile(10**6), 3)
    (12.706, 1.96)
    """
    count = check_int("count", count, low=2)
    return _t_quantile(count, _check_level(level))


def t_interval(mean: float, stderr: float, count: int, level: float = 0.95) -> tuple[float, float]:
    r"""The Student-t confidence interval ``mean -/+ t stderr`` of a mean of ``count`` values.

    Parameters
    ----------
    mean : float
        The sample mean.
    stderr : float
        Its standard error, ``>= 0`` (sample standard deviation over ``sqrt(count)``).
    count : int
        Number of i.i.d. values behind the mean, ``>= 2``.
    level : float, default=0.95
        Coverage probability, in (0, 1).

    Returns
    -------
    lo, hi : float
        :math:`\bar v \mp t_{N-1, (1+\ell)/2}\,\mathrm{se}` (:func:`t_quantile`).

    Notes
    -----
    The one interval lininv reports for a mean (the Monte-Carlo engine, the bridge's tables, the
    proof checks and the tightness search); see :func:`t_quantile`.

    References
    ----------
    .. [1] "Student" (W. S. Gosset), "The probable error of a mean", Biometrika 6(1), 1908.

    Examples
    --------
    >>> from lininv import t_interval
    >>> [round(v, 4) for v in t_interval(2.0, 0.5, 3)]
    [-0.1513, 4.1513]
    """
    mean = check_real("mean", mean)
    stderr = check_real("stderr", stderr, low=0.0)
    count = check_int("count", count, low=2)
    half = _t_quantile(count, _check_level(level)) * stderr
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

    Notes
    -----
    :math:`s` is the sample standard deviation (``ddof=1``); the quantile is
    :func:`t_quantile`.

    References
    ----------
    .. [1] "Student" (W. S. Gosset), "The probable error of a mean", Biometrika 6(1), 1908.

    Examples
    --------
    >>> from lininv import mean_ci
    >>> [round(v, 4) for v in mean_ci([1.0, 2.0, 3.0])]
    [2.0, -0.4841, 4.4841]
    """
    level = _check_level(level)
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
    half = float(_t_quantile(v.size, level) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half
