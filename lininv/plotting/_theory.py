"""Figures of the linear theory of dataset bias and ensembles (``ax=None``, return the Axes).

Each takes the :class:`~lininv.experiments.ExperimentResult` of its experiment
(``prediction-accuracy``, ``ensembles``, ``crossover``), computed or loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv.plotting._axes import log_limits as _log_limits

__all__ = ["plot_prediction_accuracy", "plot_ensembles", "plot_crossover"]


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.2, 4.6))
    return ax


def plot_prediction_accuracy(result: Any, ax: Any = None) -> Any:
    """Relative error of the mismatched prediction per cell, by stable rank over ``m``.

    Points inside the regime of the deterministic equivalent (stable rank above ``m``) are
    filled, those outside hollow; the band is the issue's target of +-2%.
    """
    ax = _axes(ax)
    rows = result.table.rows
    x = np.array([r["stable_rank"] / r["m"] for r in rows], dtype=float)
    y = np.array([100.0 * r["rel_error"] for r in rows], dtype=float)
    err = np.array([100.0 * 1.96 * r["mc_stderr"] / r["mc_mean"] for r in rows], dtype=float)
    inside = np.array([bool(r["in_regime"]) for r in rows])
    rotated = np.array([str(r["truth"]).startswith("rotated:") for r in rows])
    for mask, marker, label in (
        (~rotated, "o", "truth commuting with the prior"),
        (rotated, "s", "truth in a random basis"),
    ):
        for fill in (True, False):
            sel = mask & (inside == fill)
            if not np.any(sel):
                continue
            ax.errorbar(
                x[sel], y[sel], yerr=err[sel], fmt=marker, ms=4, lw=0.8, capsize=0,
                mfc=None if fill else "none", color="C0" if marker == "o" else "C1",
                label=label if fill else None,
            )  # fmt: skip
    ax.axhspan(-2.0, 2.0, color="0.9", zorder=0, label="+-2%")
    ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("stable rank of the prior / m (filled: > 1, where the equivalent applies)")
    ax.set_ylabel("prediction - Monte Carlo (% of Monte Carlo), 95% CI")
    worst = result.data.get("worst_in_regime")
    note = "" if worst is None else f"; worst where it applies: {100 * worst:.2f}%"
    ax.set_title(f"Second-order prediction of the mismatched error{note}", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def plot_ensembles(result: Any, ax: Any = None, *, noise: float = 0.0) -> Any:
    """:math:`E(m)` per ensemble (aligned and rotated priors) beside the Gaussian theory."""
    ax = _axes(ax)
    rows = [r for r in result.table.rows if r["noise"] == noise]
    ensembles = list(dict.fromkeys(r["ensemble"] for r in rows))
    for i, ens in enumerate(ensembles):
        for basis, marker in (("aligned", "o"), ("rotated", "s")):
            sel = [r for r in rows if r["ensemble"] == ens and r["basis"] == basis]
            if not sel:
                continue
            m = np.array([r["m"] for r in sel], dtype=float)
            mean = np.array([r["mc_mean"] for r in sel])
            half = np.array([(r["ci_high"] - r["ci_low"]) / 2 for r in sel])
            shift = 1.0 + 0.015 * (i - len(ensembles) / 2) + (0.005 if basis == "rotated" else 0)
            ax.errorbar(
                m * shift, mean, yerr=half, fmt=marker, ms=4, lw=0.8, color=f"C{i}",
                mfc=f"C{i}" if basis == "aligned" else "none",
                label=f"{ens}, {basis} prior",
            )  # fmt: skip
    ref = sorted(
        {r["m"]: r for r in rows if r["ensemble"] == ensembles[0]}.values(), key=lambda r: r["m"]
    )
    ms = np.array([r["m"] for r in ref], dtype=float)
    ax.plot(ms, [r["predicted"] for r in ref], "k-", lw=1, label="Gaussian prediction")
    ax.plot(ms, [r["lower"] for r in ref], "k--", lw=0.8, label="lower bound")
    if ref and ref[0]["hmt_upper"] is not None:
        ax.plot(ms, [r["hmt_upper"] for r in ref], "k:", lw=0.8, label="optimised HMT upper bound")
    values = [r["mc_mean"] for r in rows] + [r["lower"] for r in ref]
    ax.set_yscale("log")
    _log_limits(ax, [values])
    ax.set_xlabel("measurements m")
    ax.set_ylabel("E(m)")
    ax.set_title(
        f"Measurement ensembles, {result.params.get('spectrum')}, n = {result.params.get('n')}, "
        f"noise {noise:g}",
        fontsize=9,
    )
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_crossover(result: Any, ax: Any = None) -> Any:
    """The invertible prior and the rank-k generator under dataset bias, with ``m*``."""
    ax = _axes(ax)
    rows = sorted(result.table.rows, key=lambda r: r["m"])
    m = np.array([r["m"] for r in rows], dtype=float)

    def band(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        mean = np.array([r[f"{prefix}_mean"] for r in rows])
        half = np.array([(r[f"{prefix}_hi"] - r[f"{prefix}_lo"]) / 2 for r in rows])
        return mean, half

    inv, inv_h = band("inv")
    gen, gen_h = band("gen")
    k = result.params.get("k")
    pos = inv > 0
    ax.errorbar(
        m[pos],
        inv[pos],
        yerr=inv_h[pos],
        fmt="o",
        ms=4,
        color="C0",
        label="invertible prior (Monte Carlo)",
    )
    ax.plot(
        m[pos],
        np.array([r["inv_predicted"] for r in rows])[pos],
        "-",
        color="C0",
        lw=1,
        label="its prediction",
    )
    ax.errorbar(
        m, gen, yerr=gen_h, fmt="s", ms=4, color="C3", label=f"rank-{k} generator (Monte Carlo)"
    )
    exact = [(r["m"], r["gen_exact"]) for r in rows if r["gen_exact"] is not None]
    if exact:
        ax.plot(
            *zip(*exact, strict=True),
            "-",
            color="C3",
            lw=1,
            label="its exact error R (m-1)/(m-k-1)",
        )
    R = rows[0]["representation_error"]
    ax.axhline(R, color="C3", ls="--", lw=0.8, label=f"representation error R = {R:.3g}")
    star = result.data.get("m_star")
    if star is not None:
        ax.axvline(star, color="0.4", ls=":", lw=0.8, label=f"m* = {star}")
    ax.set_yscale("log")
    _log_limits(ax, [inv[pos], gen, [R]])
    ax.set_xlabel("measurements m (noiseless, Gaussian)")
    ax.set_ylabel("expected error under the truth")
    ax.set_title(
        f"Dataset bias: prior {result.params.get('prior_spectrum')}, truth "
        f"{result.params.get('truth')}, n = {result.params.get('n')}",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    return ax
