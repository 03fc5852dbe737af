"""The nonlinear bridge: flow recovery beside the linear theory, and the paper in miniature.

A trained flow prior ``G`` (:mod:`lininv.flows`) is used to recover signals by latent-space
optimisation; its error is set beside what the linear theory predicts for it (with the singular
values of its Jacobian at the truth, and for the best linear Gaussian of the training data) and
beside two baselines: Lasso in a DCT basis and a rank-k linear generator (the linear analogue of a
GAN). THEORY.md sections 8 and 9 give the mathematics.

API index
---------
Recovery
    recover                  min_z ||A G(z) - y||^2 + gamma ||z||^2 by L-BFGS-B (RecoveryResult)
    RecoveryResult           x, z, success, message, iterations, objective, grad_norm
    INITS                    the initialisations recover understands
    STALL_GTOL               gradient level at which a line-search stall counts as converged
Linear predictions
    spectrum_predictions     lower bound, prediction, HMT upper bound over m for one spectrum
    local_singular_values    singular values of the flow's Jacobian at the true latents
    local_predictions        the linear theory with those spectra, per signal (LinearPrediction)
    global_predictions       the linear theory for the best linear Gaussian of training data
    LinearPrediction         ms, lower, predicted, upper (per signal or averaged)
Baselines
    dct_basis                orthonormal 2-D DCT synthesis matrix
    lasso_dct                Lasso in the DCT basis, solved with cvxpy
    low_rank_recover         the rank-k linear generator's (ridge) least-squares latent fit
    DEFAULT_LASSO_LAMBDAS    Lasso weights tried on held-out data
    DEFAULT_RANK_K_GAMMAS    rank-k ridge weights tried on held-out data
Comparison
    compare                  flow vs linear predictions vs baselines over m (Comparison)
    Comparison               table, per-signal errors, settings
    mean_ci                  mean and Student-t confidence interval
    Table                    rows of results: to_csv, to_json, to_markdown
The paper's experiments in miniature (8x8 digits; ``lininv experiments NAME``)
    compressed_sensing       1: error vs m, flow vs Lasso vs rank-k vs linear predictions
    denoising                2: error vs gamma at several noise levels, linear optimum marked
    inpainting               3: centre mask, z = 0 vs random starts
    initialisation           4a: error vs ||z_init|| at gamma = 0 and the best gamma
    dataset_bias             4b: train without a class, recover it (out of distribution)
    likelihood_proxy         rank correlation of ||z||^2 and -log p_G(x)
    ExperimentResult         table, figure, settings; save(folder) writes CSV, JSON, PNG
    EXPERIMENTS, SMALL       experiments by command name; reduced settings
    digits_data, DigitsData  dequantised train / validation / test digits
    centre_mask              observed pixels for inpainting
    training_recipe          the default flow's training settings, reused for the biased flow
Figures (ax=None, return the Axes)
    plot_comparison          error vs m with CIs, predictions and the rank-k floor
    plot_denoising           error vs gamma per noise level
    plot_inpainting          bar chart of inpainting errors
    plot_images              mosaic of 8x8 images
    plot_initialisation      error vs ||z_init||
    plot_likelihood_proxy    ||z||^2 against -log p_G(x)
"""

from lininv._table import Table
from lininv.bridge._baselines import (
    DEFAULT_LASSO_LAMBDAS,
    DEFAULT_RANK_K_GAMMAS,
    dct_basis,
    lasso_dct,
    low_rank_recover,
)
from lininv.bridge._compare import Comparison, compare, mean_ci
from lininv.bridge._experiments import (
    EXPERIMENTS,
    SMALL,
    DigitsData,
    ExperimentResult,
    centre_mask,
    compressed_sensing,
    dataset_bias,
    denoising,
    digits_data,
    initialisation,
    inpainting,
    likelihood_proxy,
    training_recipe,
)
from lininv.bridge._figures import (
    plot_comparison,
    plot_denoising,
    plot_images,
    plot_initialisation,
    plot_inpainting,
    plot_likelihood_proxy,
)
from lininv.bridge._predictions import (
    LinearPrediction,
    global_predictions,
    local_predictions,
    local_singular_values,
    spectrum_predictions,
)
from lininv.bridge._recovery import INITS, STALL_GTOL, RecoveryResult, recover

__all__ = [
    "recover",
    "RecoveryResult",
    "INITS",
    "STALL_GTOL",
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
    "compare",
    "Comparison",
    "mean_ci",
    "Table",
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
    "plot_comparison",
    "plot_denoising",
    "plot_inpainting",
    "plot_images",
    "plot_initialisation",
    "plot_likelihood_proxy",
]
