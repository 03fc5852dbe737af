"""The claims figure: Lasso's measurement factor per m under both protocols, and the tally."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv.plotting._axes import new_axes

__all__ = ["plot_claims"]


def plot_claims(result: Any, ax: Any = None) -> Any:
    """Measurement factors (Lasso's m / the flow's m at equal error) with their 95% CIs.

    Parameters
    ----------
    result : ExperimentResult
        From :func:`lininv.experiments.claims`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax)
    rows = [r for r in result.table.rows if str(r["metric"]).startswith("measurement factor")]
    for i, proto in enumerate(("lininv", "paper")):
        sub = [r for r in rows if r["protocol"] == proto]
        if not sub:
            continue
        m = np.array([float(str(r["setting"]).split("=")[1].split()[0]) for r in sub])
        f = np.array([r["effect"] for r in sub], dtype=float)
        lo = np.array([r["lo"] for r in sub], dtype=float)
        hi = np.array([r["hi"] for r in sub], dtype=float)
        x = m * (1.0 + 0.03 * (i - 0.5))
        ax.errorbar(
            x, f, yerr=[f - lo, hi - f], fmt="o-", ms=4, capsize=2, label=f"{proto} protocol"
        )
        cens = np.array(["censored" in str(r["setting"]) for r in sub])
        if np.any(cens):
            ax.plot(x[cens], f[cens], "^", color=f"C{i}", ms=8, mfc="none")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("flow's number of measurements m")
    ax.set_ylabel("Lasso's m / flow's m at equal error (95% bootstrap CI)")
    total = len(result.table.rows)
    done = sum(1 for r in result.table.rows if r["reproduced"])
    ax.set_title(
        f"Measurement factor (open triangles: Lasso never matches, a lower bound); "
        f"{done} of {total} claim rows reproduced",
        fontsize=8,
    )
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return ax
