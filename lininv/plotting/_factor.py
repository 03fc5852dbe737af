"""The Lasso-to-flow measurement factor at both scales: 8x8 digits (n = 64), 28x28 (n = 784)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lininv.plotting._axes import new_axes

__all__ = ["plot_measurement_factor", "measurement_factor_series"]

#: The claim whose rows hold the n = 64 factors (``claims.csv``, protocol ``lininv``).
CLAIM = "Lasso-DCT needs several times the flow's measurements for equal error"

#: The dimension of the 8x8 digits of ``compressed-sensing`` (the claims' rows name only m).
N_SMALL = 64


def _series_64(folder: Path) -> dict[str, np.ndarray]:
    from lininv.experiments import load_result

    rows = [
        r
        for r in load_result(folder, "claims").table.rows
        if r["claim"] == CLAIM and r["protocol"] == "lininv"
    ]
    if not rows:
        raise ValueError(
            f"folder {os.fspath(folder)!r}: claims.json must hold the lininv rows of the claim "
            f"{CLAIM!r}; got none"
        )
    m = np.array([float(str(r["setting"]).split("=")[1].split()[0]) for r in rows])
    return {
        "ratio": m / N_SMALL,
        "factor": np.array([r["effect"] for r in rows], dtype=float),
        "lo": np.array([r["lo"] for r in rows], dtype=float),
        "hi": np.array([r["hi"] for r in rows], dtype=float),
        # "censored: Lasso never matches": the factor is m_max / m, a lower bound
        "bound": np.array([">" if "censored" in str(r["setting"]) else "=" for r in rows]),
    }


def _series_784(folder: Path) -> dict[str, np.ndarray]:
    from lininv.experiments import load_result

    table = load_result(folder, "compressed-sensing-28").table

    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in table.rows])

    return {
        "ratio": col("ratio"),
        "factor": col("factor"),
        "lo": col("factor_lo"),
        "hi": col("factor_hi"),
        "bound": np.array([str(r["factor_bound"]) for r in table.rows]),
    }


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
    folder = Path(folder)
    return {N_SMALL: _series_64(folder), 784: _series_784(folder)}


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
    series = measurement_factor_series(folder)
    ax = new_axes(ax)
    for (n, s), color, marker in zip(series.items(), ("C0", "C3"), ("o", "s"), strict=True):
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
