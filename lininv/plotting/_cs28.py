"""The figure of the n = 784 compressed-sensing experiment: errors and the measurement factor."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["draw_compressed_sensing_28"]

_STYLE = {
    "flow": ("28x28 Glow (latent recovery)", "C0", "o"),
    "lasso": ("Lasso (DCT)", "C1", "s"),
    "gauss": ("best linear Gaussian (posterior mean)", "C2", "^"),
    "gan": ("VAE decoder, k = 32 (CSGM)", "C3", "v"),
}


def _col(table: Any, name: str) -> np.ndarray:
    return np.array([float(r[name]) for r in table.rows])


def draw_compressed_sensing_28(result: Any, axes: list[Any]) -> None:
    """Left: mean (solid, 95% interval) and median (dotted) squared error vs m/n; right: the
    Lasso-to-flow factor at equal mean (and median) error with bootstrap intervals."""
    table = result.table
    ratio = _col(table, "ratio")
    ax = axes[0]
    for key, (label, color, marker) in _STYLE.items():
        if f"{key}_mean" not in table.columns:  # results saved before the generator was added
            continue
        mean, lo, hi = (_col(table, f"{key}_{s}") for s in ("mean", "lo", "hi"))
        ax.plot(ratio, mean, marker=marker, color=color, label=label)
        ax.fill_between(ratio, np.maximum(lo, mean * 1e-3), hi, color=color, alpha=0.15)
        if f"{key}_median" in table.columns:
            ax.plot(
                ratio, _col(table, f"{key}_median"), ":", marker=marker, color=color, mfc="none"
            )
    ax.plot(ratio, _col(table, "gauss_predicted"), "k--", lw=1, label="linear theory (prediction)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("m / n (n = 784)")
    ax.set_ylabel(r"mean $\|\hat x - x\|^2$")
    ax.set_title("Compressed sensing on 28x28 digits", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    f, lo, hi = _col(table, "factor"), _col(table, "factor_lo"), _col(table, "factor_hi")
    bound = [str(r["factor_bound"]) for r in table.rows]
    exact = np.array([b == "=" for b in bound])
    ax.errorbar(
        ratio[exact],
        f[exact],
        yerr=[f[exact] - lo[exact], hi[exact] - f[exact]],
        fmt="o",
        color="C0",
        capsize=3,
        label="interpolated (95% bootstrap CI)",
    )
    for b, mk, text in ((">", "^", "bound: Lasso never reaches it"), ("<", "v", "bound")):
        sel = np.array([x == b for x in bound])
        if sel.any():
            ax.plot(ratio[sel], f[sel], mk, color="C3", label=text)
    if "factor_median" in table.columns:
        fm = _col(table, "factor_median")
        lo_m, hi_m = _col(table, "factor_median_lo"), _col(table, "factor_median_hi")
        ok = np.array([str(r["factor_median_bound"]) == "=" for r in table.rows])
        ax.errorbar(
            ratio[ok] * 1.06,
            fm[ok],
            yerr=[fm[ok] - lo_m[ok], hi_m[ok] - fm[ok]],
            fmt="s",
            color="C4",
            mfc="none",
            capsize=3,
            label="at equal median error",
        )
    ax.axhspan(10, 20, color="0.9", label="paper: 10-20x")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("m / n of the flow")
    ax.set_ylabel("Lasso's m / flow's m at equal error")
    ax.set_title("Measurement factor, n = 784", fontsize=9)
    ax.legend(fontsize=7)
