"""Figures of the paper's experiments in miniature, drawn from an :class:`ExperimentResult`.

Each experiment's figure is one function of the result (its table and ``figure_data``), so a
result computed now and one loaded from ``docs/figures`` (:func:`lininv.experiments.load_result`)
draw the same figure. :func:`plot_experiment` dispatches on the result's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lininv._validation import describe
from lininv.plotting._bridge import (
    plot_comparison,
    plot_denoising,
    plot_images,
    plot_initialisation,
    plot_inpainting,
    plot_likelihood_proxy,
)
from lininv.plotting._claims import plot_claims
from lininv.plotting._cs28 import draw_compressed_sensing_28
from lininv.plotting._d28 import draw_denoising_28, draw_inpainting_28
from lininv.plotting._factor import draw_measurement_factor
from lininv.plotting._ood28 import draw_out_of_distribution_28
from lininv.plotting._theory import plot_crossover, plot_ensembles, plot_prediction_accuracy

__all__ = [
    "plot_experiment",
    "plot_inpainting_examples",
    "plot_likelihood_scatter",
    "EXPERIMENT_FIGURES",
]

#: Width of each experiment's figure (inches) and its number of panels.
_LAYOUT = {
    "compressed-sensing": (7.2, 1),
    "denoising": (7.2, 1),
    "inpainting": (11.0, 2),
    "initialisation": (7.2, 1),
    "dataset-bias": (7.2, 1),
    "likelihood-proxy": (10.0, 2),
    "compressed-sensing-28": (11.0, 2),
    "out-of-distribution-28": (11.0, 2),
    "denoising-28": (11.0, 2),
    "inpainting-28": (12.0, 2),
    "prediction-accuracy": (7.2, 1),
    "ensembles": (11.0, 2),
    "crossover": (7.2, 1),
    "claims": (7.2, 1),
    "claims-28": (7.2, 1),
}


def _check(result: Any) -> Any:
    for attr in ("name", "table", "figure_data"):
        if not hasattr(result, attr):
            raise TypeError(
                "result must be a lininv.experiments.ExperimentResult (with name, table and "
                f"figure_data); got {describe(result)}"
            )
    return result


def _panels(ax: Any, count: int, width: float) -> list[Any]:
    """``count`` Axes: new ones side by side, or the given Axes (one, or a sequence of them)."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, grid = plt.subplots(1, count, figsize=(width, 4.4), squeeze=False)
        return list(grid[0])
    given = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    if len(given) != count:
        raise ValueError(f"ax must be {count} Axes for this figure; got {len(given)}")
    return given


def plot_inpainting_examples(result: Any, ax: Any = None) -> Any:
    """The inpainting mosaic: truth, observed pixels and each method's reconstructions.

    Parameters
    ----------
    result : ExperimentResult
        From :func:`lininv.experiments.inpainting` (``figure_data["images"]``, ``["labels"]``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    fig = _check(result).figure_data
    if "images" not in fig or "labels" not in fig:
        raise ValueError(
            "result must be an inpainting result with its example images in figure_data; got "
            f"{result.name!r} without them (saved by an older lininv? recompute it)"
        )
    images = np.asarray(fig["images"], dtype=float)  # None (unobserved) becomes NaN
    return plot_images(images, ax, row_labels=list(fig["labels"]))


def plot_likelihood_scatter(
    result: Any, ax: Any = None, *, flow: str = "trained flow", signals: Any = None
) -> Any:
    """``||z||^2`` against ``-log p_G(x)`` for one flow of a likelihood-proxy result.

    Parameters
    ----------
    result : ExperimentResult
        From :func:`lininv.experiments.likelihood_proxy` (``figure_data["scatter"]``).
    ax : matplotlib Axes, optional
    flow : {"trained flow", "best linear Gaussian"}, default="trained flow"
    signals : sequence of str, optional
        Which of ``"samples"`` and ``"test images"`` to draw (default: both).

    Returns
    -------
    matplotlib Axes
    """
    scatter = _check(result).figure_data.get("scatter")
    if not scatter:
        raise ValueError(
            "result must be a likelihood-proxy result with its scatter data in figure_data; got "
            f"{result.name!r} without it (saved by an older lininv? recompute it)"
        )
    chosen = ("samples", "test images") if signals is None else tuple(signals)
    keys = [f"{flow}, {s}" for s in chosen]
    missing = [k for k in keys if k not in scatter]
    if missing:
        raise ValueError(f"flow and signals must name rows of {list(scatter)}; got {missing}")
    for key in keys:
        ax = plot_likelihood_proxy(scatter[key]["z_sq"], scatter[key]["nll"], ax, label=key)
    return ax


def _compressed_sensing(result: Any, axes: list[Any]) -> None:
    plot_comparison(result, axes[0])
    axes[0].set_title(
        "Compressed sensing on 8x8 digits: flow prior vs linear theory and baselines", fontsize=9
    )


def _denoising(result: Any, axes: list[Any]) -> None:
    plot_denoising(result, axes[0])
    axes[0].set_title("Denoising on 8x8 digits: error vs gamma", fontsize=9)


def _inpainting(result: Any, axes: list[Any]) -> None:
    plot_inpainting(result, axes[0])
    hole = int(result.figure_data.get("hole", result.params.get("hole", 4)))
    seen = 64 - hole * hole
    axes[0].set_title(
        f"Inpainting a centred {hole}x{hole} hole ({seen} of 64 pixels seen)", fontsize=9
    )
    plot_inpainting_examples(result, axes[1])


def _initialisation(result: Any, axes: list[Any]) -> None:
    plot_initialisation(result, axes[0])
    m, n = result.figure_data.get("m"), result.figure_data.get("n")
    axes[0].set_title(f"Initialisation and regularisation, m = {m}, n = {n}", fontsize=9)


def _dataset_bias(result: Any, axes: list[Any]) -> None:
    plot_comparison(result, axes[0])
    c = result.figure_data.get("exclude", result.params.get("exclude"))
    axes[0].set_title(
        f"Out of distribution: trained without digit {c}, recovering {c}s", fontsize=9
    )


def _likelihood_proxy(result: Any, axes: list[Any]) -> None:
    plot_likelihood_scatter(result, axes[0])
    plot_likelihood_scatter(result, axes[1], flow="best linear Gaussian", signals=("samples",))
    axes[0].set_title("Trained flow", fontsize=9)
    axes[1].set_title("Linear flow: exactly monotone", fontsize=9)


def _ensembles(result: Any, axes: list[Any]) -> None:
    noises = sorted({r["noise"] for r in result.table.rows})
    plot_ensembles(result, axes[0], noise=noises[0])
    plot_ensembles(result, axes[1], noise=noises[-1])


#: The figure of each experiment, by command name: ``draw(result, axes)``.
EXPERIMENT_FIGURES: dict[str, Callable[[Any, list[Any]], None]] = {
    "compressed-sensing": _compressed_sensing,
    "denoising": _denoising,
    "inpainting": _inpainting,
    "initialisation": _initialisation,
    "dataset-bias": _dataset_bias,
    "likelihood-proxy": _likelihood_proxy,
    "compressed-sensing-28": draw_compressed_sensing_28,
    "out-of-distribution-28": draw_out_of_distribution_28,
    "denoising-28": draw_denoising_28,
    "inpainting-28": draw_inpainting_28,
    "prediction-accuracy": lambda result, axes: plot_prediction_accuracy(result, axes[0]),
    "ensembles": _ensembles,
    "crossover": lambda result, axes: plot_crossover(result, axes[0]),
    "claims": lambda result, axes: plot_claims(result, axes[0]),
    "claims-28": lambda result, axes: draw_measurement_factor(
        result.figure_data.get("factor_series", {}), axes[0]
    ),
}


def plot_experiment(result: Any, ax: Any = None) -> Any:
    """The figure of an experiment's result, chosen by its name.

    Parameters
    ----------
    result : ExperimentResult
        Computed (:func:`lininv.experiments.run`) or loaded
        (:func:`lininv.experiments.load_result`).
    ax : matplotlib Axes or sequence of Axes, optional
        Where to draw: one Axes, or two for the two-panel figures (``inpainting``: errors and
        examples; ``likelihood-proxy``: trained and linear flow). Default: a new figure.

    Returns
    -------
    matplotlib Axes, or tuple of Axes for the two-panel figures

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from lininv._table import Table
    >>> from lininv.experiments import ExperimentResult
    >>> from lininv.plotting import plot_experiment
    >>> cols = ["noise_std", "gamma", "flow_mean", "flow_lo", "flow_hi", "gauss_mean"]
    >>> rows = [dict(zip(cols, [0.1, g, 0.6, 0.5, 0.7, 0.8])) for g in (0.0, 0.01)]
    >>> ax = plot_experiment(ExperimentResult("denoising", Table(cols, rows), {}))
    >>> ax.get_title()
    'Denoising on 8x8 digits: error vs gamma'

    The committed full-size results draw the same way:
    ``plot_experiment(load_result("docs/figures", "denoising"))``.
    """
    name = _check(result).name
    if name not in EXPERIMENT_FIGURES:
        raise ValueError(
            f"result must come from one of the experiments {', '.join(EXPERIMENT_FIGURES)}; "
            f"got one named {name!r}"
        )
    width, count = _LAYOUT[name]
    axes = _panels(ax, count, width)
    EXPERIMENT_FIGURES[name](result, axes)
    if getattr(result, "protocol", "lininv") != "lininv":
        axes[0].set_title(f"{axes[0].get_title()} [{result.protocol} protocol]", fontsize=9)
    return axes[0] if count == 1 else tuple(axes)
