"""Figures of the bridge: errors against ``m``, ``gamma``, the start; image mosaics; scatters."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._table import Table
from lininv._validation import describe
from lininv.plotting._axes import log_limits, new_axes, scaled

__all__ = [
    "plot_comparison",
    "plot_denoising",
    "plot_inpainting",
    "plot_images",
    "plot_initialisation",
    "plot_likelihood_proxy",
]

_COLORS = {
    "flow": "C0",
    "lasso": "C1",
    "rank_k": "C2",
    "gauss": "C3",
    "local": "C0",
    "global": "C3",
}
_LABELS = {
    "flow": "flow prior (L-BFGS in z)",
    "lasso": "Lasso, 2-D DCT",
    "rank_k": "rank-k linear generator",
    "gauss": "best linear Gaussian (MLE / MAP)",
}


def _table(obj: Any, name: str = "table") -> Table:
    table = getattr(obj, "table", obj)
    if not isinstance(table, Table):
        raise TypeError(f"{name} must be a Table or a result holding one; got {describe(obj)}")
    return table


def _col(table: Table, name: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in table.column(name)], dtype=float)


def _band(ax: Any, x: np.ndarray, table: Table, key: str, **kw: Any) -> None:
    mean, lo, hi = (_col(table, f"{key}_{s}") for s in ("mean", "lo", "hi"))
    color = kw.pop("color", _COLORS.get(key))
    ax.plot(x, mean, "o-", color=color, label=kw.pop("label", _LABELS.get(key, key)), ms=4, **kw)
    # CI bands on a log axis: clip the lower end at a small fraction of the mean
    ax.fill_between(x, np.maximum(lo, mean * 1e-3), hi, color=color, alpha=0.18, lw=0)


def plot_comparison(comparison: Any, ax: Any = None, *, predictions: bool = True) -> Any:
    """Error vs m (log scale): the flow beside the linear predictions and the baselines.

    Parameters
    ----------
    comparison : Comparison or Table
        From :func:`lininv.bridge.compare` (or its table).
    ax : matplotlib Axes, optional
    predictions : bool, default=True
        Draw the local (flow Jacobian) and global (best Gaussian) linear predictions, with the
        local lower-upper bound range shaded.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from lininv.bridge import Table
    >>> from lininv.bridge._compare_cell import COMPARE_COLUMNS
    >>> from lininv.plotting import plot_comparison
    >>> row = {c: 1.0 for c in COMPARE_COLUMNS}
    >>> ax = plot_comparison(Table(COMPARE_COLUMNS, [dict(row, m=8), dict(row, m=16)]))
    >>> ax.get_yscale()
    'log'
    """
    table = _table(comparison, "comparison")
    ax = new_axes(ax)
    m = _col(table, "m")
    for key in ("flow", "lasso", "rank_k", "gauss"):
        _band(ax, m, table, key)
    floor = _col(table, "rank_k_floor")
    ax.plot(m, floor, ":", color=_COLORS["rank_k"], label="rank-k floor (representation error)")
    if predictions:
        lo, up = _col(table, "local_lower"), _col(table, "local_upper")
        ax.plot(
            m,
            _col(table, "local_predicted"),
            "--",
            color=_COLORS["local"],
            label="linear prediction, flow Jacobian at truth",
        )
        ok = np.isfinite(lo) & np.isfinite(up) & (lo > 0)
        if np.any(ok):
            ax.fill_between(
                m[ok],
                lo[ok],
                up[ok],
                color=_COLORS["local"],
                alpha=0.07,
                lw=0,
                label="its lower bound .. HMT upper bound",
            )
        ax.plot(
            m,
            _col(table, "global_predicted"),
            "--",
            color=_COLORS["global"],
            label="linear prediction, best Gaussian",
        )
    ax.set_yscale("log")
    log_limits(ax, [_col(table, f"{k}_mean") for k in ("flow", "lasso", "rank_k", "gauss")])
    gauss = _col(table, "gauss_mean")
    tiny = gauss < ax.get_ylim()[0]
    for mi, gi in zip(m[tiny], gauss[tiny], strict=True):
        ax.annotate(
            f"Gaussian: {gi:.0e}",
            (mi, ax.get_ylim()[0]),
            xytext=(-4, 6),
            textcoords="offset points",
            ha="right",
            fontsize=7,
            color=_COLORS["gauss"],
        )
    ax.set_xlabel("number of measurements m")
    ax.set_ylabel(r"$\|\hat x - x_0\|^2$ (mean, 95% CI)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_denoising(result: Any, ax: Any = None) -> Any:
    """Error vs gamma for each noise level, the linear optimum gamma = sigma^2 marked.

    Parameters
    ----------
    result : ExperimentResult or Table
        From :func:`lininv.experiments.denoising` (columns ``noise_std``, ``gamma``, ``flow_*``,
        ``gauss_*``, ``gauss_expected``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    table = _table(result, "result")
    ax = new_axes(ax)
    sigmas = sorted({r["noise_std"] for r in table.rows})
    positive = [r["gamma"] for r in table.rows if r["gamma"] > 0]
    gmin = min(positive) if positive else 1.0  # only gamma = 0: drawn at 1/3
    for i, sigma in enumerate(sigmas):
        sub = table.where(noise_std=sigma)
        g = _col(sub, "gamma")
        x = np.where(g > 0, g, gmin / 3.0)  # gamma = 0 drawn at the left edge (symbolic)
        order = np.argsort(x)
        color = f"C{i}"
        mean, lo, hi = (_col(sub, f"flow_{s}")[order] for s in ("mean", "lo", "hi"))
        ax.plot(x[order], mean, "o-", color=color, ms=4, label=f"flow, sigma = {sigma:g}")
        ax.fill_between(x[order], lo, hi, color=color, alpha=0.18, lw=0)
        ax.plot(
            x[order],
            _col(sub, "gauss_mean")[order],
            "s--",
            color=color,
            ms=3,
            alpha=0.7,
            label=f"best Gaussian, sigma = {sigma:g}",
        )
        ax.axvline(sigma**2, color=color, ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\gamma$ (leftmost points: $\gamma = 0$; dotted: linear optimum $\sigma^2$)")
    ax.set_ylabel(r"$\|\hat x - x_0\|^2$ (mean, 95% CI)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_inpainting(result: Any, ax: Any = None) -> Any:
    """Bar chart of the inpainting errors per method with 95% CIs.

    Parameters
    ----------
    result : ExperimentResult or Table
        From :func:`lininv.experiments.inpainting` (columns ``method``, ``mean``, ``lo``, ``hi``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    table = _table(result, "result")
    ax = new_axes(ax)
    names = table.column("method")
    mean, lo, hi = (_col(table, c) for c in ("mean", "lo", "hi"))
    y = np.arange(len(names))
    ax.barh(y, mean, xerr=np.vstack([mean - lo, hi - mean]), color="C0", alpha=0.7, capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(r"$\|\hat x - x_0\|^2$ (mean, 95% CI)")
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_images(
    images: Any, ax: Any = None, *, shape: tuple[int, int] = (8, 8), row_labels: Any = None
) -> Any:
    """A mosaic of images: rows of equally many flattened images.

    Parameters
    ----------
    images : array_like of shape (rows, cols, n)
        Flattened images, ``n = shape[0] * shape[1]``.
    ax : matplotlib Axes, optional
    shape : tuple of int, default=(8, 8)
    row_labels : sequence of str, optional

    Returns
    -------
    matplotlib Axes
    """
    arr = np.asarray(images, dtype=float)
    if arr.ndim != 3 or arr.shape[2] != shape[0] * shape[1]:
        raise ValueError(
            f"images must have shape (rows, cols, {shape[0] * shape[1]}); got {arr.shape}"
        )
    ax = new_axes(ax)
    rows, cols, _ = arr.shape
    h, w = shape
    canvas = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for r in range(rows):
        for c in range(cols):
            canvas[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = arr[
                r, c
            ].reshape(h, w)
    ax.imshow(canvas, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([r * (h + 1) + h / 2 - 0.5 for r in range(rows)])
        ax.set_yticklabels(list(row_labels), fontsize=8)
    else:
        ax.set_yticks([])
    return ax


def plot_initialisation(result: Any, ax: Any = None) -> Any:
    """Error vs the norm of the initial latent, at gamma = 0 and at the chosen gamma.

    Parameters
    ----------
    result : ExperimentResult or Table
        From :func:`lininv.experiments.initialisation` (columns ``init``, ``init_norm``, ``gamma``,
        ``mean``, ``lo``, ``hi``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    table = _table(result, "result")
    ax = new_axes(ax)
    gammas = sorted({r["gamma"] for r in table.rows})
    # pseudo-inverse starts are in the table but not drawn: their latents are huge (the flow's
    # inverse expands off the data) and their errors would squash the axis
    markers = {"random": "^", "null_space": "s"}
    for i, gamma in enumerate(gammas):
        color = f"C{i}"
        sub = table.where(init="fixed_norm", gamma=gamma)
        r = _col(sub, "init_norm")
        order = np.argsort(r)
        mean, lo, hi = (_col(sub, c)[order] for c in ("mean", "lo", "hi"))
        ax.plot(
            r[order], mean, "o-", color=color, ms=4, label=f"fixed-norm start, gamma = {gamma:g}"
        )
        ax.fill_between(r[order], lo, hi, color=color, alpha=0.18, lw=0)
        for init, mk in markers.items():
            other = table.where(init=init, gamma=gamma)
            if len(other):
                ax.errorbar(
                    _col(other, "init_norm"),
                    _col(other, "mean"),
                    yerr=[
                        _col(other, "mean") - _col(other, "lo"),
                        _col(other, "hi") - _col(other, "mean"),
                    ],
                    fmt=mk,
                    color=color,
                    ms=6,
                    mfc="none",
                    capsize=2,
                    label=f"{init} start, gamma = {gamma:g}",
                )
    ax.set_yscale("log")
    ax.set_xscale("symlog", linthresh=1.0)
    drawn = [r["init_norm"] for r in table.rows if r["init"] in ("fixed_norm", *markers)]
    ax.set_xlim(-0.3, scaled(max(drawn + [1.0]), 2.0))
    ax.set_xlabel(r"$\|z_{\mathrm{init}}\|$ (mean over signals; symlog)")
    ax.set_ylabel(r"$\|\hat x - x_0\|^2$ (mean, 95% CI)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_likelihood_proxy(z_sq: Any, nll: Any, ax: Any = None, *, label: str = "") -> Any:
    """Scatter of ``||z||^2`` against ``-log p_G(x)``: is latent likelihood a proxy?

    Parameters
    ----------
    z_sq : array_like of shape (N,)
    nll : array_like of shape (N,)
    ax : matplotlib Axes, optional
    label : str, default=""

    Returns
    -------
    matplotlib Axes
    """
    z_sq = np.asarray(z_sq, dtype=float)
    nll = np.asarray(nll, dtype=float)
    if z_sq.shape != nll.shape or z_sq.ndim != 1:
        raise ValueError(f"z_sq and nll must be 1-D of equal length; got {z_sq.shape}, {nll.shape}")
    ax = new_axes(ax)
    ax.scatter(z_sq, nll, s=4, alpha=0.4, label=label or None)
    ax.set_xlabel(r"$\|z\|^2$")
    ax.set_ylabel(r"$-\log p_G(x)$ (nats)")
    if label:
        ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    return ax
