"""Named test spectra (singular values, descending) used by the default cases of the checks.

Kept deliberately varied: slow and fast decay, a cliff, a dominant singular value, flat (where
several bounds are attained), and condition numbers up to 1e12. Each family is lininv's
(:func:`lininv.spectrum_family`, the one definition); :func:`geometric_cond` is numpy's
``geomspace``, the geometric family parameterised by its condition number.
"""

from __future__ import annotations

import numpy as np

from lininv import spectrum_family

__all__ = ["power", "exponential", "cliff", "flat", "dominant", "geometric_cond", "label"]


def power(n: int, a: float = 1.0) -> np.ndarray:
    """``s_i^2 = i^-a``, i = 1..n (the ``lininv verify`` family ``power:a``)."""
    return spectrum_family("power", n, float(a))


def exponential(n: int, r: float) -> np.ndarray:
    """``s_i^2 = r^(i-1)`` (the ``lininv verify`` family ``exp:r``)."""
    return spectrum_family("exp", n, float(r))


def cliff(n: int, j: int, h: float) -> np.ndarray:
    """``s_i^2 = 1`` for ``i <= j``, ``h`` after (a two-level spectrum)."""
    return spectrum_family("cliff", n, j, float(h))


def flat(n: int, level: float = 1.0) -> np.ndarray:
    """``s_i = level`` for all i."""
    return spectrum_family("flat", n, float(level))


def dominant(n: int, h: float) -> np.ndarray:
    """One dominant value: ``s^2 = (1, h, ..., h)``."""
    return cliff(n, 1, h)


def geometric_cond(n: int, cond: float) -> np.ndarray:
    """Geometric singular values from 1 down to ``1 / cond``."""
    return np.geomspace(1.0, 1.0 / cond, n)


def label(kind: str, n: int, **params: float) -> str:
    """Readable case label, e.g. ``"power a=1, n=64"``."""
    extra = ", ".join(f"{k}={v:g}" for k, v in params.items())
    return f"{kind} {extra}, n={n}" if extra else f"{kind}, n={n}"
