"""The figure of the n = 784 out-of-distribution experiment: PSNR of a digits prior on photos."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["draw_out_of_distribution_28"]

_STYLE = {
    "flow": ("28x28 Glow (digits)", "C0", "o"),
    "lasso": ("Lasso (DCT)", "C1", "s"),
    "bm3d": ("BM3D", "C4", "D"),
    "gauss": ("linear Gaussian (digits)", "C2", "^"),
    "gan": ("VAE decoder k = 32 (digits)", "C3", "v"),
}

_LINES = {"photos": "-", "faces": "--"}


def draw_out_of_distribution_28(result: Any, axes: list[Any]) -> None:
    """Left: compressed-sensing PSNR vs m/n per signal set and method; right: denoising PSNR."""
    rows = result.table.rows
    sets = list(dict.fromkeys(r["set"] for r in rows))
    ax = axes[0]
    for name in sets:
        cs = [r for r in rows if r["set"] == name and r["task"] == "cs"]
        ratio = np.array([float(r["ratio"]) for r in cs])
        for key in ("flow", "lasso", "gauss", "gan"):
            label, color, marker = _STYLE[key]
            psnr = np.array([float(r[f"{key}_psnr"]) for r in cs])
            ax.plot(
                ratio,
                psnr,
                _LINES.get(name, ":"),
                marker=marker,
                color=color,
                label=f"{label}, {name}",
            )
    ax.set_xscale("log")
    ratios = sorted({float(r["ratio"]) for r in rows if r["task"] == "cs"})
    ax.set_xticks(ratios, [f"{x:.0%}" for x in ratios])
    ax.xaxis.set_minor_formatter("")  # no labels between the measured ratios
    ax.set_xlabel("m / n (n = 784)")
    ax.set_ylabel("mean PSNR (dB)")
    ax.set_title("Out of distribution: compressed sensing", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[1]
    dn = [r for r in rows if r["task"] == "denoise"]
    keys = ("flow", "bm3d", "gauss", "gan")
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        label, color, _ = _STYLE[key]
        vals = [float(r[f"{key}_psnr"]) for r in dn]
        ax.bar(np.arange(len(dn)) + (j - 1.5) * width, vals, width, color=color, label=label)
    ax.set_xticks(np.arange(len(dn)))
    ax.set_xticklabels([f"{r['set']}, sigma={float(r['noise_std']):g}" for r in dn], fontsize=8)
    ax.set_ylabel("mean PSNR (dB)")
    lows = [min(float(r[f"{k}_psnr"]) for k in keys) for r in dn]
    if lows and np.isfinite(min(lows)):
        ax.set_ylim(bottom=max(0.0, min(lows) - 3.0))
    ax.set_title("Out of distribution: denoising", fontsize=9)
    ax.legend(fontsize=7)
