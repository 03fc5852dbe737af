"""The Lasso-to-flow measurement factor at both scales: 8x8 digits (n = 64), 28x28 (n = 784)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lininv.plotting._axes import new_axes

__all__ = ["plot_measurement_factor", "measurement_factor_series", "draw_measurement_factor"]


def measurement_factor_series(folder: Any = "docs/figures") -> dict[int, dict[str, np.ndarray]]:
    """The Lasso-to-flow factors at equal mean error, per signal dimension, from saved results.

    Parameters
    ----------
    folder : path-like, default="docs/figures"
        Holds ``claims.json`` (the n = 64 factors, protocol ``lininv``) and
        ``compressed-sensing-28.json`` (n = 784), as written by ``lininv experiments``.

    Returns
    -------
    dict
        ``{64: series, 784: series}``; each series maps ``"ratio"`` (the flow's m/n),
        ``"factor"``, ``"lo"``, ``"hi"`` (95% bootstrap interval) to arrays and ``"bound"`` to
        codes: ``"="`` interpolated, ``">"`` Lasso never reaches the flow's error on the grid
        (the factor is a lower bound), ``"<"`` an upper bound.

    Raises
    ------
    ValueError
        If ``folder`` lacks either result (the message names the file).
    """
    from lininv.experiments._factor import factor_series

    return factor_series(Path(folder))


def plot_measurement_factor(folder: Any = "docs/figures", ax: Any = None) -> Any:
    """Lasso's m / the flow's m at equal mean error against m/n, at n = 64 and n = 784.

    Interpolated factors are drawn with their 95% paired-bootstrap intervals; bounds (Lasso never
    reaches the flow's error within its grid of m) as open triangles pointing the way the true
    factor lies, without an interval.

    Parameters
    ----------
    folder : path-like, default="docs/figures"
        Where the saved results are (see :func:`measurement_factor_series`).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes
        Its lines are labelled ``"n = 64 (95% bootstrap CI)"`` and ``"n = 784 (...)"`` (the
        interpolated factors) and ``"n = 64, bound"`` / ``"n = 784, bound"``.
    """
    return draw_measurement_factor(measurement_factor_series(folder), new_axes(ax))


def draw_measurement_factor(series: dict[int, dict[str, np.ndarray]], ax: Any) -> Any:
    """Draw :func:`measurement_factor_series`'s output (any of its dimensions) on ``ax``."""
    styles = {64: ("C0", "o"), 784: ("C3", "s")}
    for n, s in series.items():
        color, marker = styles.get(int(n), ("C2", "D"))
        s = {k: np.asarray(v) for k, v in s.items()}
        exact = s["bound"] == "="
        f, lo, hi, x = s["factor"][exact], s["lo"][exact], s["hi"][exact], s["ratio"][exact]
        ax.errorbar(x, f, yerr=[f - lo, hi - f], fmt="none", ecolor=color, capsize=3)
        ax.plot(x, f, f"{marker}-", color=color, ms=5, label=f"n = {n} (95% bootstrap CI)")
        for code, tri in ((">", "^"), ("<", "v")):
            sel = s["bound"] == code
            if sel.any():
                ax.plot(
                    s["ratio"][sel],
                    s["factor"][sel],
                    tri,
                    color=color,
                    mfc="none",
                    ms=9,
                    ls="none",
                    label=f"n = {n}, bound",
                )
    ax.axhline(1.0, color="k", lw=0.8)
    # the abstract's claim (m/n <= 4%): is the measured factor anywhere near it?
    ax.axhspan(10.0, 20.0, color="0.88", zorder=0, label="the paper's 10-20x")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("flow's m / n")
    ax.set_ylabel("Lasso's m / flow's m at equal mean error")
    from matplotlib.ticker import FormatStrFormatter

    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_title(
        "Lasso-to-flow measurement factor\n(open triangles: Lasso never matches, a lower bound)",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return ax
