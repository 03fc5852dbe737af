"""Figures of the bound verification, from a :class:`lininv.SweepTable`."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._sweep import SweepTable
from lininv._validation import describe
from lininv.plotting._axes import new_axes as _axes

__all__ = ["plot_bounds", "plot_prediction_error"]


def _one_spectrum(table: Any, spectrum: str | None) -> tuple[SweepTable, str]:
    if not isinstance(table, SweepTable):
        raise TypeError(f"table must be a SweepTable (from lininv.sweep); got {describe(table)}")
    names = list(dict.fromkeys(r["spectrum"] for r in table))
    if not names:
        raise ValueError("table must have at least one row; got an empty table")
    if spectrum is None:
        if len(names) > 1:
            raise ValueError(f"spectrum must be given for a table of several spectra; got {names}")
        spectrum = names[0]
    elif spectrum not in names:
        raise ValueError(f"spectrum must be one of {names}; got {spectrum!r}")
    return table.select(spectrum=spectrum), spectrum


def _sorted_by_m(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["m"])


def plot_bounds(
    table: SweepTable, spectrum: str | None = None, *, ax: Any = None, title: str | None = None
) -> Any:
    r"""Expected error :math:`E(m)` against ``m`` (log-log): truth, prediction and bounds.

    Monte-Carlo means with 95% confidence intervals (one series per noise level), the prediction
    (:func:`lininv.predicted_error`, dashed, per noise level), the lower bound
    :math:`\sum_{i>m}s_i^2`, the optimised HMT upper bound and the paper's
    :math:`m\sum_{i>m-2}s_i^2` (the upper bounds from the noiseless rows).

    Parameters
    ----------
    table : SweepTable
        From :func:`lininv.sweep`.
    spectrum : str, optional
        Which spectrum to draw; required if the table holds several.
    ax : matplotlib Axes, optional
    title : str, optional
        Default: the spectrum name and ``n``.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from lininv import make_spectrum, sweep
    >>> from lininv.plotting import plot_bounds
    >>> table = sweep({"power:1": make_spectrum("power:1", 32)}, [2, 4, 8], trials=64, rng=0)
    >>> ax = plot_bounds(table)
    >>> ax.get_yscale()
    'log'
    """
    sub, name = _one_spectrum(table, spectrum)
    ax = _axes(ax)
    noises = sorted({r["noise"] for r in sub})
    rows0 = _sorted_by_m([r for r in sub if r["noise"] == noises[0]])
    m0 = np.array([r["m"] for r in rows0])
    ax.plot(
        m0,
        [r["lower"] for r in rows0],
        color="0.35",
        lw=1.6,
        label=r"lower bound $\sum_{i>m}s_i^2$",
    )
    clean = _sorted_by_m([r for r in sub if r["noise"] == 0.0 and r["hmt_upper"] is not None])
    if clean:
        mu = np.array([r["m"] for r in clean])
        ax.plot(
            mu,
            [r["hmt_upper"] for r in clean],
            color="tab:red",
            lw=1.6,
            label="HMT upper bound (best $k$)",
        )
        ax.plot(
            mu,
            [r["paper_upper"] for r in clean],
            color="tab:red",
            lw=1.2,
            ls=":",
            label=r"paper upper bound $m\sum_{i>m-2}s_i^2$",
        )
    colors = ["tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink"]
    for i, noise in enumerate(noises):
        rows = _sorted_by_m([r for r in sub if r["noise"] == noise])
        m = np.array([r["m"] for r in rows])
        mean = np.array([r["mc_mean"] for r in rows])
        err = np.array(
            [
                [r["mc_mean"] - r["ci_low"] for r in rows],
                [r["ci_high"] - r["mc_mean"] for r in rows],
            ]
        )
        c = colors[i % len(colors)]
        tag = "" if len(noises) == 1 and noise == 0.0 else rf", $\sigma$ = {noise:g}"
        ax.errorbar(
            m,
            mean,
            yerr=err,
            fmt="o",
            ms=4,
            color=c,
            capsize=2,
            label=f"Monte Carlo $E(m)$, 95% CI{tag}",
        )
        ax.plot(
            m,
            [r["predicted"] for r in rows],
            color=c,
            ls="--",
            lw=1.2,
            label=rf"prediction $\lambda m${tag}" if noise == 0.0 else f"prediction{tag}",
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("measurements $m$")
    ax.set_ylabel(r"expected error $E_A E_{x_0}\|\hat x - x_0\|^2$")
    n = sub.rows[0]["n"]
    ax.set_title(title if title is not None else f"{name}, n = {n}")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize="small")
    return ax


def plot_prediction_error(
    table: SweepTable, spectrum: str | None = None, *, ax: Any = None, title: str | None = None
) -> Any:
    r"""Relative error of the prediction, :math:`(\lambda m - E)/E`, against ``m``.

    One series per noise level; the shaded band is the Monte-Carlo 95% interval expressed
    relative to the mean (:math:`\pm(\mathrm{ci\_high} - E)/E`): points outside it are real
    prediction errors, not noise.

    Parameters
    ----------
    table : SweepTable
    spectrum : str, optional
        Required if the table holds several spectra.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from lininv import make_spectrum, sweep
    >>> from lininv.plotting import plot_prediction_error
    >>> table = sweep({"power:1": make_spectrum("power:1", 32)}, [2, 4, 8], trials=64, rng=0)
    >>> plot_prediction_error(table).get_ylabel()
    'relative error of the prediction'
    """
    sub, name = _one_spectrum(table, spectrum)
    ax = _axes(ax)
    colors = ["tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink"]
    for i, noise in enumerate(sorted({r["noise"] for r in sub})):
        rows = _sorted_by_m([r for r in sub if r["noise"] == noise and r["mc_mean"] > 0.0])
        if not rows:
            continue
        m = np.array([r["m"] for r in rows])
        rel = np.array([r["predicted_rel_error"] for r in rows])
        band = np.array([(r["ci_high"] - r["mc_mean"]) / r["mc_mean"] for r in rows])
        c = colors[i % len(colors)]
        ax.fill_between(m, -band, band, color=c, alpha=0.15, lw=0)
        ax.plot(m, rel, "o-", ms=4, color=c, label=rf"$\sigma$ = {noise:g}")
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("measurements $m$")
    ax.set_ylabel("relative error of the prediction")
    ax.yaxis.set_major_formatter(_percent())
    n = sub.rows[0]["n"]
    ax.set_title(title if title is not None else f"prediction vs truth, {name}, n = {n}")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize="small")
    return ax


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0)
