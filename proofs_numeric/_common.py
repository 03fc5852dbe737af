"""Validation and small helpers shared by the checks (public-edge checks only)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lininv.validation import (
    as_spectrum,
    check_int,
    check_memory,
    check_real,
    check_rng,
    describe,
)

__all__ = [
    "Case",
    "MEMORY_PER_PRECISION",
    "check_cases",
    "check_callable",
    "check_common",
    "check_precision",
    "scaled",
    "seed_of",
]


Case = tuple[str, np.ndarray, int]

#: Peak memory of a proof step per unit of ``precision``, with the default cases: the largest
#: step, 4c (inverse_wishart_mean), holds 77.5 MiB at precision 1 and 310 MiB at precision 4
#: (tracemalloc; every step's sample sizes, hence its memory, are proportional to precision).
MEMORY_PER_PRECISION = 80 * 2**20


def check_precision(precision: Any) -> float:
    """Validate ``precision``: a finite number > 0 whose steps fit in memory.

    A step holds up to about :data:`MEMORY_PER_PRECISION` bytes per unit of precision; a
    precision for which that exceeds the machine's memory is refused before any work.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Not finite, not positive, or too large for this machine's memory (the message names
        ``precision``, its value and the memory it needs).

    Examples
    --------
    >>> from proofs_numeric import check_precision
    >>> check_precision(4)
    4.0
    """
    precision = check_real("precision", precision, low=0.0, low_open=True)
    check_memory(
        "precision",
        f"{precision:g}",
        precision * MEMORY_PER_PRECISION,
        "a proof step holds up to about 80 MiB of draws per unit of precision",
    )
    return precision


def check_common(precision: Any, z: Any, rng: Any) -> tuple[float, float, int, np.random.Generator]:
    """Validate the keyword arguments every check takes.

    Returns ``(precision, z, seed, generator)``: ``seed`` is ``rng`` itself when an int was given,
    else an int drawn from ``rng``; ``generator = default_rng(seed)``. So ``check(rng=result.seed)``
    reproduces ``result`` exactly.
    """
    precision = check_precision(precision)
    z = check_real("z", z, low=0.0, low_open=True)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative int seed; got {rng}")
        seed = int(rng)
    else:
        seed = seed_of(check_rng(rng))
    return precision, z, seed, np.random.default_rng(seed)


def check_callable(name: str, value: Any, default: Callable) -> Callable:
    """``value`` if callable, ``default`` if None, else TypeError."""
    if value is None:
        return default
    if not callable(value):
        raise TypeError(f"{name} must be callable or None; got {describe(value)}")
    return value


def check_cases(
    cases: Any, *, m_low: int = 1, m_high_offset: int = 0, name: str = "cases"
) -> list[Case]:
    """Validate ``[(label, s, m), ...]``: ``s`` a spectrum, ``m_low <= m <= n - m_high_offset``."""
    if isinstance(cases, (str, bytes)) or not isinstance(cases, Sequence) or len(cases) == 0:
        raise TypeError(
            f"{name} must be a non-empty sequence of (label, s, m); got {describe(cases)}"
        )
    out: list[Case] = []
    for i, case in enumerate(cases):
        if not isinstance(case, Sequence) or len(case) != 3:
            raise TypeError(f"{name}[{i}] must be a (label, s, m) triple; got {describe(case)}")
        label, s, m = case
        s = as_spectrum(f"{name}[{i}] spectrum", s)
        n = s.size
        high = n - m_high_offset
        m = check_int(
            f"{name}[{i}] m",
            m,
            low=m_low,
            high=high,
            reason=f" ({m_low} <= m <= {high} for n = {n})",
        )
        out.append((str(label), s, m))
    return out


def scaled(base: int, precision: float, minimum: int = 10) -> int:
    """Trials ``base * precision`` rounded up, at least ``minimum``."""
    return max(minimum, int(math.ceil(base * precision)))


def seed_of(rng: np.random.Generator) -> int:
    """An int drawn from ``rng`` that seeds the next sub-stream (recorded for reproduction)."""
    return int(rng.integers(0, 2**63 - 1))
