r"""What the tightness search measures: a *target* is the ratio :math:`E(m)/b(s, m)` for a bound ``b``.

=============  ==================================================  ===========================
target         ``b(s, m)``                                         theorem / question
=============  ==================================================  ===========================
``paper``      :math:`m\sum_{i>m-2}s_i^2` (``lininv.paper_upper_bound``)  ratio <= 1 (upper bound)
``hmt``        optimised HMT bound (``lininv.hmt_upper_bound``)     ratio <= 1
``lower``      :math:`\sum_{i>m}s_i^2` (``lininv.lower_bound``)    ratio >= 1 (lower bound)
``conjecture`` :math:`\lambda m` (``lininv.predicted_error``)      open: is the ratio >= 1?
=============  ==================================================  ===========================

A callable ``(s, m) -> float`` is a custom target: a claimed lower bound to attack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import lininv
from lininv.validation import check_choice, check_int

__all__ = ["TARGETS", "bound_value", "check_target", "check_target_m", "target_label"]

TARGETS = ("paper", "hmt", "lower", "conjecture")


def bound_value(target: str | Callable[[np.ndarray, int], float], s: np.ndarray, m: int) -> float:
    """The denominator ``b(s, m)`` of a target (a name in :data:`TARGETS`, or a callable)."""
    if callable(target):
        return float(target(s, m))
    if target == "paper":
        return lininv.paper_upper_bound(s, m)
    if target == "hmt":
        return lininv.hmt_upper_bound(s, m).value
    if target == "lower":
        return lininv.lower_bound(s, m)
    return lininv.predicted_error(s, m)


def check_target(target: Any) -> Any:
    """A name in TARGETS, or a callable ``(s, m) -> float`` (a custom claim ``E(m) >= b``)."""
    return target if callable(target) else check_choice("target", target, TARGETS)


def target_label(target: Any) -> str:
    """The name of a target (a callable's ``__name__``)."""
    return target if isinstance(target, str) else getattr(target, "__name__", "custom")


def check_target_m(target: Any, n: int, m: Any) -> int:
    """``m`` in ``[1, n - 1]`` (``[2, n - 1]`` for the upper bounds, which need ``m >= 2``)."""
    low = 2 if target in ("paper", "hmt") else 1
    return check_int(
        "m",
        m,
        low=low,
        high=n - 1,
        reason=f" ({low} <= m <= n - 1 = {n - 1} for target {target!r})",
    )
