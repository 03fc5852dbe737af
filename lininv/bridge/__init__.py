"""The nonlinear bridge: flow recovery beside the linear theory.

A trained flow prior ``G`` (any :class:`lininv.flows.FlowPrior`) is used to recover signals by
latent-space optimisation; its error is set beside what the linear theory predicts for it (with
the singular values of its Jacobian at the truth, and for the best linear Gaussian of the training
data) and beside two baselines: Lasso in a DCT basis and a rank-k linear generator (the linear
analogue of a GAN). ``docs/theory.md`` sections 8 and 9 give the mathematics. This package
computes and returns data; the paper's experiments built on it are in :mod:`lininv.experiments`,
the figures in :mod:`lininv.plotting`.

API index
---------
Recovery::

    recover                  min_z ||A G(z) - y||^2 + gamma ||z||^2 by L-BFGS-B, Gauss-Newton
                             (scipy least_squares, exact Jacobian) or both; restarts
    RecoveryResult           x, z, success, message, iterations, objective, grad_norm
    INITS                    the initialisations recover understands
    SOLVERS                  "lbfgs", "gauss-newton", "lbfgs+gauss-newton"
    STALL_GTOL               gradient level at which a line-search stall counts as converged
    GN_GTOL                  gradient level a Gauss-Newton solve must reach to count as converged

Linear predictions::

    spectrum_predictions     lower bound, prediction, HMT upper bound over m for one spectrum
    local_singular_values    singular values of the flow's Jacobian at the true latents
    local_predictions        the linear theory with those spectra, per signal (LinearPrediction)
    global_predictions       the linear theory for the best linear Gaussian of training data
    LinearPrediction         ms, lower, predicted, upper (per signal or averaged)

Baselines::

    dct_basis                orthonormal 2-D DCT synthesis matrix
    lasso_dct                Lasso in the DCT basis, solved with cvxpy
    low_rank_recover         the rank-k linear generator's (ridge) least-squares latent fit
    DEFAULT_LASSO_LAMBDAS    Lasso weights tried on held-out data
    DEFAULT_RANK_K_GAMMAS    rank-k ridge weights tried on held-out data
    bm3d_denoise             BM3D (the bm3d package) on small images, the denoising baseline
    BM3D_SMALL_PROFILE       the BM3D settings used on 8x8 images (4x4 blocks)

Metrics::

    psnr                     PSNR per image, the paper's convention (peak 1, clipped, per-pixel MSE)

Comparison::

    compare                  flow vs linear predictions vs baselines over m (Comparison)
    Comparison               table, per-signal errors, settings, timing
    mean_ci                  mean and Student-t confidence interval
    Table                    rows of results: to_csv, to_json, to_markdown

Deprecated (warn on access; removed in the next release)
    compressed_sensing, denoising, inpainting, initialisation, dataset_bias, likelihood_proxy,
    ExperimentResult, EXPERIMENTS, SMALL, digits_data, DigitsData, centre_mask,
    training_recipe          moved to :mod:`lininv.experiments`
    plot_comparison, plot_denoising, plot_inpainting, plot_images, plot_initialisation,
    plot_likelihood_proxy    moved to :mod:`lininv.plotting`
"""

import warnings
from typing import Any

from lininv._stats import mean_ci
from lininv._table import Table
from lininv.bridge._baselines import (
    DEFAULT_LASSO_LAMBDAS,
    DEFAULT_RANK_K_GAMMAS,
    dct_basis,
    lasso_dct,
    low_rank_recover,
)
from lininv.bridge._compare import Comparison, compare
from lininv.bridge._images import BM3D_SMALL_PROFILE, bm3d_denoise, psnr
from lininv.bridge._predictions import (
    LinearPrediction,
    global_predictions,
    local_predictions,
    local_singular_values,
    spectrum_predictions,
)
from lininv.bridge._recovery import GN_GTOL, INITS, SOLVERS, STALL_GTOL, RecoveryResult, recover

__all__ = [
    "recover",
    "RecoveryResult",
    "INITS",
    "SOLVERS",
    "STALL_GTOL",
    "GN_GTOL",
    "spectrum_predictions",
    "local_singular_values",
    "local_predictions",
    "global_predictions",
    "LinearPrediction",
    "dct_basis",
    "lasso_dct",
    "low_rank_recover",
    "DEFAULT_LASSO_LAMBDAS",
    "DEFAULT_RANK_K_GAMMAS",
    "bm3d_denoise",
    "BM3D_SMALL_PROFILE",
    "psnr",
    "compare",
    "Comparison",
    "mean_ci",
    "Table",
]

#: Old public names, still importable for one release: name -> new home.
DEPRECATED = {
    **dict.fromkeys(
        (
            "compressed_sensing",
            "denoising",
            "inpainting",
            "initialisation",
            "dataset_bias",
            "likelihood_proxy",
            "ExperimentResult",
            "EXPERIMENTS",
            "SMALL",
            "digits_data",
            "DigitsData",
            "centre_mask",
            "training_recipe",
        ),
        "lininv.experiments",
    ),
    **dict.fromkeys(
        (
            "plot_comparison",
            "plot_denoising",
            "plot_inpainting",
            "plot_images",
            "plot_initialisation",
            "plot_likelihood_proxy",
        ),
        "lininv.plotting",
    ),
}


def __getattr__(name: str) -> Any:
    if name in DEPRECATED:
        from importlib import import_module

        module = DEPRECATED[name]
        warnings.warn(
            f"lininv.bridge.{name} is deprecated and will be removed in the next release; "
            f"use {module}.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(import_module(module), name)
    raise AttributeError(f"module 'lininv.bridge' has no attribute {name!r}")
