"""Axes and axis ranges shared by every figure: a new Axes when none is given, limits that cannot fail.

Figures are drawn from data that can be degenerate (values equal up to rounding, a single value,
subnormal or huge magnitudes, exact recoveries at zero); these helpers keep every figure drawable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["new_axes", "scaled", "bin_edges", "log_limits"]


def new_axes(ax: Any, figsize: tuple[float, float] = (6.4, 4.4)) -> Any:
    """``ax``, or the Axes of a new figure of ``figsize`` when ``ax`` is None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


_FMAX = float(np.finfo(float).max)


def scaled(value: float, factor: float) -> float:
    """``value * factor`` clipped to the finite range, without an overflow warning."""
    bound = _FMAX / abs(factor) if abs(factor) > 1.0 else _FMAX
    return float(np.clip(value, -bound, bound)) * factor


def bin_edges(values: Any, bins: int) -> np.ndarray:
    """``bins + 1`` strictly increasing finite histogram edges spanning the finite ``values``.

    ``numpy.histogram`` (and so ``Axes.hist``) asked for ``bins`` equal bins over a range of a
    few ulps raises "Too many bins for data range"; values equal up to rounding, such as the
    per-draw errors of a flat spectrum, do that. Such data are drawn as one value, in a window of
    +-5% around it (matplotlib's margin for a singular axis; +-0.5 at zero or for subnormal
    values, as numpy does for equal values). Edges are ``lo (1 - t) + hi t``, which cannot
    overflow even for data spanning the whole double range.
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    t = np.linspace(0.0, 1.0, bins + 1)
    edges = lo * (1.0 - t) + hi * t
    if np.all(np.diff(edges) > 0):
        return edges
    mid = 0.5 * lo + 0.5 * hi
    half = 0.05 * abs(mid) if abs(mid) >= np.finfo(float).tiny else 0.5
    lo, hi = max(min(lo, mid - half), -_FMAX), min(max(hi, mid + half), _FMAX)
    return lo * (1.0 - t) + hi * t


def log_limits(ax: Any, series: list[Any], span: float = 1e-8) -> None:
    """Log-axis y-limits from the data, a factor 2 beyond it, within the positive doubles.

    Values below ``span`` times the largest are ignored (exact recoveries at rounding level would
    otherwise squash every curve); with no positive finite value the limits are left alone.
    """
    vals = np.concatenate([np.asarray(v, dtype=float).ravel() for v in series])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        return
    top = float(vals.max())
    bottom = float(vals[vals >= span * top].min())
    # halving a subnormal can give 0, which a log axis ignores
    ax.set_ylim(bottom / 2.0 if bottom / 2.0 > 0 else bottom, scaled(top, 2.0))
