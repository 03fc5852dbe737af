"""Validation at the public edge.

Every public function normalises its arguments here, once, before any work starts; the private
code behind it assumes valid input. Every message has the same form: which argument, what was
expected, what arrived.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from typing import Any

import numpy as np

__all__ = [
    "as_matrix",
    "as_vector_or_batch",
    "as_spectrum",
    "check_spectrum_range",
    "check_int",
    "check_real",
    "check_choice",
    "check_rng",
    "describe",
    "memory_limit",
    "format_bytes",
    "check_memory",
]


def describe(value: Any) -> str:
    """Short description of what arrived, for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_real_array(name: str, value: Any) -> np.ndarray:
    """Convert to a float64 array, rejecting non-numeric, complex and boolean input (TypeError)."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real numeric array; got {describe(value)}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a real numeric array; got {describe(value)}") from exc
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must be a real numeric array (integer or float dtype); got dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite; got {bad} NaN or infinite entries")
    return arr


def as_matrix(
    name: str,
    value: Any,
    *,
    shape: tuple[int | None, int | None] = (None, None),
    shape_hint: str = "",
) -> np.ndarray:
    """Validate a finite real 2-D array, optionally with some dimensions fixed.

    Parameters
    ----------
    name : str
        Argument name used in error messages.
    value : array_like
        What the caller passed.
    shape : tuple of (int or None, int or None), default=(None, None)
        Required dimensions; ``None`` leaves a dimension free.
    shape_hint : str, default=""
        Reason for the required shape, appended to the message (e.g. "to match the prior's n = 64").
    """
    arr = _as_real_array(name, value)
    want = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape {want}{shape_hint}; got shape {arr.shape}"
        )
    for axis, dim in enumerate(shape):
        if dim is not None and arr.shape[axis] != dim:
            raise ValueError(f"{name} must have shape {want}{shape_hint}; got {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    return arr


def as_vector_or_batch(name: str, value: Any, length: int, *, length_hint: str = "") -> np.ndarray:
    """Validate a finite real array of shape ``(length,)`` or ``(k, length)``."""
    arr = _as_real_array(name, value)
    if arr.ndim not in (1, 2) or arr.shape[-1] != length:
        raise ValueError(
            f"{name} must have shape ({length},) or (k, {length}){length_hint}; got {arr.shape}"
        )
    return arr


def as_spectrum(name: str, value: Any) -> np.ndarray:
    """Validate singular values: a non-empty 1-D array of positive finite numbers.

    Every formula works with the squares :math:`s_i^2`, their sums and the ratios
    :math:`(s_i/s_1)^2`, so these must be normal finite doubles (:func:`check_spectrum_range`).

    Returns a copy sorted in descending order (callers may pass any order).
    """
    arr = _as_real_array(name, value)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array of singular values; got shape {arr.shape}"
        )
    if np.any(arr <= 0):
        raise ValueError(
            f"{name} must be strictly positive (an invertible G); got minimum {arr.min():.3g}"
        )
    descending = arr.size < 2 or bool(np.all(arr[:-1] >= arr[1:]))  # O(n); sorting is not
    s = arr.copy() if descending else np.sort(arr)[::-1].copy()
    check_spectrum_range(name, s)
    return s


def check_spectrum_range(name: str, s: np.ndarray, what: str = "") -> None:
    r"""The one rule for the singular values of every prior: their squares are normal doubles.

    Every formula works with the squares :math:`s_i^2`, their sums and the ratios
    :math:`(s_i/s_1)^2`. These are normal finite doubles exactly when

    .. math:: s_n \ge \sqrt{\text{tiny}},\qquad s_n / s_1 \ge \sqrt{\text{tiny}},\qquad
              n s_1^2 \le \text{max},

    (``tiny`` about 2.2e-308 and ``max`` about 1.8e308 the smallest normal and the largest
    finite double): about ``[1.5e-154, 1.3e154 / sqrt(n)]`` and a condition number up to 6.7e153.
    Outside that range the squares underflow to zero or overflow and the numerics would divide
    by zero. :func:`as_spectrum` and every constructor of a prior apply it.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    s : ndarray of shape (n,)
        Singular values, descending (NaN or infinity count as out of range).
    what : str, default=""
        What ``s`` is to the argument, for the message (e.g. ``"singular values"`` for a
        matrix ``G``); empty when ``s`` is the argument itself.
    """
    small = math.sqrt(float(np.finfo(np.float64).tiny))
    big = math.sqrt(float(np.finfo(np.float64).max) / s.size)
    lo, hi = float(s[-1]), float(s[0])
    if lo >= small and hi <= big and lo >= hi * small:  # False for NaN
        return
    have = f"{what} with squares" if what else "squares"
    got = what or "values"
    raise ValueError(
        f"{name} must have {have} representable in double precision (values in "
        f"[{small:.3g}, {big:.3g}], ratio s_max / s_min <= {1.0 / small:.3g}); got {got} in "
        f"[{lo:.3g}, {hi:.3g}]"
    )


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, reason: str = ""
) -> int:
    """Validate an integer in ``[low, high]`` (bounds inclusive, either optional)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {describe(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else str(low)
        hi = "inf" if high is None else str(high)
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}]{reason}; got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Validate a finite real scalar with ``low <= value`` (or ``<`` if ``low_open``) and ``<= high``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low:g}; got {value:g}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high:g}; got {value:g}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Validate that ``value`` is one of the strings in ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {describe(value)}"
        )
    return value


def check_rng(rng: Any) -> np.random.Generator:
    """Normalise ``rng`` through :func:`numpy.random.default_rng` with a clear error."""
    if isinstance(rng, (bool, np.bool_, float, str)):
        raise TypeError(
            "rng must be None, an int seed, a SeedSequence or a numpy Generator; "
            f"got {describe(rng)}"
        )
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "rng must be None, an int seed, a SeedSequence or a numpy Generator; "
            f"got {describe(rng)}"
        ) from exc


@functools.lru_cache(maxsize=1)
def memory_limit() -> int | None:
    """Bytes of memory this process can use at most: physical memory, or a cgroup limit below it.

    ``None`` when neither can be read (then no memory check refuses anything). Read once.
    """
    limits = []
    try:
        limits.append(int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES")))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit():
            limits.append(int(text))
    limits = [x for x in limits if x > 0]
    return min(limits) if limits else None


def format_bytes(nbytes: float) -> str:
    """``nbytes`` with a binary prefix, e.g. ``"7.3 TiB"``."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
    value = float(nbytes)
    unit = 0
    while value >= 1024.0 and unit < len(units) - 1:
        value /= 1024.0
        unit += 1
    return f"{value:.0f} {units[unit]}" if unit == 0 else f"{value:.3g} {units[unit]}"


def check_memory(name: str, value: Any, nbytes: float, what: str) -> None:
    """Refuse a call whose estimated memory ``nbytes`` exceeds :func:`memory_limit`.

    The message names the argument and its value, the estimate and what it holds, e.g.
    ``trials = 1000000000000 needs about 22 TiB of memory (the per-draw errors); this machine
    has 23 GiB``.
    """
    limit = memory_limit()
    if limit is None or nbytes <= limit:
        return
    raise ValueError(
        f"{name} = {value} needs about {format_bytes(nbytes)} of memory ({what}); this machine "
        f"has {format_bytes(limit)}"
    )
