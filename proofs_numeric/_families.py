r"""The spectrum families the tightness search optimises over: parameter boxes to spectra.

A *family* maps a parameter vector in a box to a positive, descending spectrum normalised to
:math:`s_1 = 1` and floored at :math:`s_i^2 \ge` ``floor`` (never below :data:`MIN_FLOOR`, i.e.
``cond(G) <= 1e12``). The families are lininv's (:func:`lininv.spectrum_family`) in coordinates an
optimiser can move in continuously:

=============  =========================================================  =======================
family         spectrum                                                   lininv family
=============  =========================================================  =======================
``power``      :math:`s_i^2 = i^{-a}`, ``a`` in [0, 6]                    ``"power"``
``exponential``:math:`s_i^2 = e^{-c(i-1)}`, ``c`` in [0, 2]               ``"exp"``, ``r = e^-c``
``cliff``      :math:`s_i^2 = 1` for :math:`i \le j`, :math:`10^e` after  ``"cliff"`` (exactly)
``mixture``    the cliff's squares times :math:`i^{-a}`                   --
``free``       any descending spectrum between 1 and the floor            --
=============  =========================================================  =======================

``cliff`` is built by :func:`lininv.spectrum_family` itself (its tail :math:`\sqrt h` with the
floor applied to :math:`h`). ``power``, ``exponential`` and ``mixture`` are formed in squares,
where the floor applies, and square-rooted once: the same formulas up to rounding, kept so
that a search's numbers (and so its optimum) do not change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lininv import spectrum_family
from lininv.validation import check_choice

__all__ = ["Family", "FAMILIES", "MIN_FLOOR", "DEFAULT_FLOOR", "spectrum"]

#: Smallest s_i^2 / s_1^2 ever allowed (condition number of G at most 1e12).
MIN_FLOOR = 1e-24
#: Default floor for Monte-Carlo searches (cond(G) <= 1e4): below it the per-draw errors of
#: cliff-like spectra are dominated by rare near-singular draws (heavy tails) and the engine
#: switches to its slower certified kernel.
DEFAULT_FLOOR = 1e-8


@dataclass(frozen=True)
class Family:
    """A parameterised spectrum family.

    Attributes
    ----------
    name : str
    bounds : callable n -> list of (low, high)
        The parameter box (its dimension may depend on ``n``).
    build : callable (theta, n, floor) -> ndarray of shape (n,)
        Singular values: descending, ``s_1 = 1``, ``s_i^2 >= floor``.
    describe : str
        The formula.
    """

    name: str
    bounds: Callable[[int], list[tuple[float, float]]]
    build: Callable[[np.ndarray, int, float], np.ndarray]
    describe: str


def _from_squares(s2: np.ndarray, floor: float) -> np.ndarray:
    """Floor the squares, sort them descending, take square roots."""
    return np.sqrt(np.sort(np.maximum(s2, floor))[::-1])


def _power_squares(theta: np.ndarray, n: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=float) ** -theta[0]


def _cliff_index(x: float, n: int) -> int:
    return int(min(n - 1, max(1, round(x))))


def _cliff_squares(theta: np.ndarray, n: int) -> np.ndarray:
    j = _cliff_index(theta[0], n)
    s2 = np.full(n, 10.0 ** theta[1])
    s2[:j] = 1.0
    return s2


def _power(theta: np.ndarray, n: int, floor: float) -> np.ndarray:
    return _from_squares(_power_squares(theta, n), floor)


def _exponential(theta: np.ndarray, n: int, floor: float) -> np.ndarray:
    return _from_squares(np.exp(-theta[0] * np.arange(n, dtype=float)), floor)


def _cliff(theta: np.ndarray, n: int, floor: float) -> np.ndarray:
    h = float(np.maximum(10.0 ** theta[1], floor))  # s_i^2 of the tail, floored
    return spectrum_family("cliff", n, _cliff_index(theta[0], n), h)


def _mixture(theta: np.ndarray, n: int, floor: float) -> np.ndarray:
    return _from_squares(_cliff_squares(theta[:2], n) * _power_squares(theta[2:], n), floor)


def _free(theta: np.ndarray, n: int, floor: float) -> np.ndarray:
    # Each step goes down a fraction theta_i of the remaining log-distance to the floor:
    # log s_{i+1}^2 = (1 - theta_i) log s_i^2 + theta_i log(floor). Every descending spectrum
    # between 1 and the floor is reached, with no flat (saturated) regions in parameter space.
    log_s2 = np.zeros(n)
    log_floor = math.log(floor)
    for i, th in enumerate(theta):
        log_s2[i + 1] = (1.0 - th) * log_s2[i] + th * log_floor
    return _from_squares(np.exp(log_s2), floor)


FAMILIES: dict[str, Family] = {
    "power": Family("power", lambda n: [(0.0, 6.0)], _power, "s_i^2 = i^-a, a in [0, 6]"),
    "exponential": Family(
        "exponential", lambda n: [(0.0, 2.0)], _exponential, "s_i^2 = exp(-c (i - 1)), c in [0, 2]"
    ),
    "cliff": Family(
        "cliff",
        lambda n: [(1.0, n - 1.0), (-12.0, 0.0)],
        _cliff,
        "s_i^2 = 1 for i <= j, 10^e after; j in [1, n-1], e in [-12, 0]",
    ),
    "mixture": Family(
        "mixture",
        lambda n: [(1.0, n - 1.0), (-12.0, 0.0), (0.0, 4.0)],
        _mixture,
        "cliff(j, e) times power law i^-a",
    ),
    "free": Family(
        "free",
        lambda n: [(0.0, 1.0)] * (n - 1),
        _free,
        "any descending spectrum: log s_{i+1}^2 = (1 - t_i) log s_i^2 + t_i log(floor), t_i in [0, 1]",
    ),
}


def spectrum(
    family: str, theta: Sequence[float] | np.ndarray, n: int, floor: float = DEFAULT_FLOOR
) -> np.ndarray:
    """Singular values (descending, ``s_1 = 1``, ``s_i^2 >= floor``) of a family member.

    Examples
    --------
    >>> from proofs_numeric.tightness import spectrum
    >>> spectrum("cliff", [2, -4], 4) ** 2
    array([1.e+00, 1.e+00, 1.e-04, 1.e-04])
    """
    fam = FAMILIES[check_choice("family", family, tuple(FAMILIES))]
    return fam.build(np.asarray(theta, dtype=float), n, floor)
