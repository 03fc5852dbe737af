"""Figures of lininv. Each function draws one kind of figure on ``ax`` (a new one if ``None``) and
returns the Axes; matplotlib is imported on first use. Figures take data (tables, results) and
compute nothing; every family lives in its own private module, re-exported here.

API index
---------
Bound verification (from a :class:`lininv.SweepTable`; ``_bounds``)
    plot_bounds              expected error against m: Monte-Carlo truth with its CI, the
                             prediction, the lower bound and both upper bounds
    plot_prediction_error    relative error of the prediction against m, beside the Monte-Carlo
                             uncertainty
The nonlinear bridge (from :func:`lininv.bridge.compare` or experiment tables; ``_bridge``)
    plot_comparison          flow error against m beside the linear predictions and baselines
    plot_denoising           error against gamma per noise level
    plot_inpainting          bar chart of inpainting errors
    plot_images              mosaic of 8x8 images
    plot_initialisation      error against ||z_init||
    plot_likelihood_proxy    ||z||^2 against -log p_G(x)
The experiments (from a :class:`lininv.experiments.ExperimentResult`; ``_experiments``)
    plot_experiment          the figure of any experiment, chosen by its name
    plot_inpainting_examples the inpainting mosaic of a result
    plot_likelihood_scatter  the likelihood-proxy scatter of one flow of a result

The linear theory of dataset bias and ensembles (from their experiments' results; ``_theory``)
    plot_prediction_accuracy relative error of the mismatched prediction, cell by cell
    plot_ensembles           E(m) per measurement ensemble beside the Gaussian theory
    plot_crossover           invertible prior vs rank-k generator under dataset bias, m*

The measurement factor at both scales (from the saved results in a folder; ``_factor``)
    plot_measurement_factor  Lasso's m / the flow's m at equal error against m/n, n = 64 and 784

Proof figures will join as their own module (``_proofs``), re-exported here like the others.
"""

# The shared axis helpers keep their former private names here (proofs_numeric imports them).
from lininv.plotting._axes import bin_edges as _bin_edges  # noqa: F401
from lininv.plotting._axes import log_limits as _log_limits  # noqa: F401
from lininv.plotting._axes import scaled as _scaled  # noqa: F401
from lininv.plotting._bounds import plot_bounds, plot_prediction_error
from lininv.plotting._bridge import (
    plot_comparison,
    plot_denoising,
    plot_images,
    plot_initialisation,
    plot_inpainting,
    plot_likelihood_proxy,
)
from lininv.plotting._experiments import (
    plot_experiment,
    plot_inpainting_examples,
    plot_likelihood_scatter,
)
from lininv.plotting._factor import plot_measurement_factor
from lininv.plotting._theory import plot_crossover, plot_ensembles, plot_prediction_accuracy

#: The bridge's figures (formerly also importable from lininv.bridge).
_BRIDGE_FIGURES = (
    "plot_comparison",
    "plot_denoising",
    "plot_inpainting",
    "plot_images",
    "plot_initialisation",
    "plot_likelihood_proxy",
)

__all__ = [
    "plot_bounds",
    "plot_prediction_error",
    "plot_comparison",
    "plot_denoising",
    "plot_inpainting",
    "plot_images",
    "plot_initialisation",
    "plot_likelihood_proxy",
    "plot_experiment",
    "plot_inpainting_examples",
    "plot_likelihood_scatter",
    "plot_prediction_accuracy",
    "plot_ensembles",
    "plot_crossover",
    "plot_measurement_factor",
]
