"""The figures of the n = 784 denoising and inpainting experiments."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv.plotting._bridge import plot_images

__all__ = ["draw_denoising_28", "draw_inpainting_28"]

_DENOISERS = {
    "flow_map": ("Glow: latent MAP, gamma = sigma^2", "C0", "o"),
    "flow_paper": ("Glow: paper, gamma = 0, {its} L-BFGS its", "C4", "D"),
    "bm3d": ("BM3D (4x4 blocks)", "C1", "s"),
    "gauss": ("best linear Gaussian (posterior mean)", "C2", "^"),
    "gan": ("VAE decoder, k = 32 (CSGM)", "C3", "v"),
}


def _col(table: Any, name: str) -> np.ndarray:
    return np.array([np.nan if r.get(name) is None else float(r[name]) for r in table.rows])


def _sigma_ticks(ax: Any, sigma: np.ndarray) -> None:
    """Ticks at the noise levels, labelled plainly, on a log axis."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(sigma)
    ax.set_xticklabels([f"{s:g}" for s in sigma])
    ax.xaxis.set_minor_formatter(NullFormatter())


def draw_denoising_28(result: Any, axes: list[Any]) -> None:
    """Left: mean (solid, 95% interval) and median (dotted) squared error vs the noise level, the
    linear theory's prediction and the noisy input; right: the paired PSNR difference flow minus
    BM3D (95% intervals)."""
    table = result.table
    sigma = _col(table, "noise_std")
    its = result.params.get("paper_max_iter", 400)
    labels = {key: style[0].format(its=its) for key, style in _DENOISERS.items()}
    ax = axes[0]
    keys = [k for k in _DENOISERS if f"{k}_mean" in table.columns]  # older results: no "gan"
    for key in keys:
        _, color, marker = _DENOISERS[key]
        label = labels[key]
        mean, lo, hi = (_col(table, f"{key}_{s}") for s in ("mean", "lo", "hi"))
        ax.plot(sigma, mean, marker=marker, color=color, label=label)
        ax.fill_between(sigma, np.maximum(lo, mean * 1e-3), hi, color=color, alpha=0.15)
        if f"{key}_median" in table.columns:
            ax.plot(
                sigma, _col(table, f"{key}_median"), ":", marker=marker, color=color, mfc="none"
            )
    ax.plot(sigma, _col(table, "gauss_predicted"), "k--", lw=1, label="linear theory (prediction)")
    shown = [_col(table, f"{k}_{s}") for k in keys for s in ("mean", "median")]
    low = np.nanmin([np.nanmin(v) for v in shown if np.isfinite(v).any()])
    ax.set_ylim(bottom=0.5 * low)  # a lower CI bound below zero is cut at the axis
    if "noisy_mean" in table.columns:
        ax.plot(sigma, _col(table, "noisy_mean"), ":", color="0.5", label="noisy input")
    _sigma_ticks(ax, sigma)
    ax.set_yscale("log")
    ax.set_xlabel("noise level sigma (pixels in [0, 1])")
    ax.set_ylabel(r"mean $\|\hat x - x\|^2$")
    ax.set_title("Denoising 28x28 digits (n = 784)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    for shift, key in ((0.97, "flow_map"), (1.03, "flow_paper")):
        _, color, marker = _DENOISERS[key]
        d, lo, hi = (_col(table, f"{key}_minus_bm3d_psnr_{s}") for s in ("mean", "lo", "hi"))
        ax.errorbar(
            sigma * shift,
            d,
            yerr=[d - lo, hi - d],
            fmt=marker,
            color=color,
            capsize=3,
            label=labels[key].split(": ", 1)[1],
        )
    ax.axhline(0.0, color="k", lw=0.8)
    _sigma_ticks(ax, sigma)
    ax.set_xlabel("noise level sigma")
    ax.set_ylabel("PSNR(flow) - PSNR(BM3D), dB")
    ax.set_title("Flow minus BM3D, paired over images (95% CI)", fontsize=9)
    ax.legend(fontsize=7)


def _outline_hole(ax: Any, cols: int, hole: int, labels: list[str]) -> None:
    """Outline the hole on the row of observed pixels (unobserved pixels are blank, like 0)."""
    from matplotlib.patches import Rectangle

    if "observed" not in labels:
        return
    r, corner = labels.index("observed"), (28 - hole) // 2
    for c in range(cols):  # plot_images puts image (r, c) at (29 c, 29 r), one pixel apart
        xy = (c * 29 + corner - 0.5, r * 29 + corner - 0.5)
        ax.add_patch(Rectangle(xy, hole, hole, fill=False, ec="C3", lw=0.8))


def draw_inpainting_28(result: Any, axes: list[Any]) -> None:
    """Left: each method's mean squared error on the hole and on the whole image (95% intervals)
    with the linear theory's prediction; right: example reconstructions (if the result has them)."""
    table = result.table
    labels = [str(r["method"]) for r in table.rows]
    y = np.arange(len(labels))
    ax = axes[0]
    for offset, prefix, color, text in ((-0.18, "hole_", "C3", "hole"), (0.18, "", "C0", "image")):
        mean, lo, hi = (_col(table, f"{prefix}{s}") for s in ("mean", "lo", "hi"))
        ax.barh(y + offset, mean, height=0.34, color=color, alpha=0.7, label=f"on the {text}")
        ax.errorbar(
            mean, y + offset, xerr=[mean - lo, hi - mean], fmt="none", ecolor="k", capsize=3
        )
    pred = _col(table, "hole_predicted")
    ok = np.isfinite(pred)
    if ok.any():
        ax.plot(pred[ok], y[ok] - 0.18, "k|", ms=16, mew=2, label="linear theory (hole)")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(left=0.0)
    ax.set_xlabel(r"mean $\|\hat x - x\|^2$")
    hole = int(result.figure_data.get("hole", result.params.get("hole", 12)))
    seen = 784 - hole * hole
    ax.set_title(f"Inpainting a centred {hole}x{hole} hole ({seen} of 784 seen)", fontsize=9)
    ax.legend(fontsize=7)
    fig = result.figure_data
    ax = axes[1]
    if "images" in fig and "labels" in fig:
        images = np.asarray(fig["images"], dtype=float)  # None (unobserved) becomes NaN
        plot_images(images, ax, shape=(28, 28), row_labels=list(fig["labels"]))
        _outline_hole(ax, images.shape[1], hole, list(fig["labels"]))
        ax.set_title("Test digits and reconstructions", fontsize=9)
    else:
        ax.set_axis_off()
        ax.set_title("(no example images saved)", fontsize=9)
