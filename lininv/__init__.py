"""lininv: theory and numerics for linear invertible priors in inverse problems.

The linear Gaussian case of Asim, Daniels, Leong, Ahmed, Hand, "Invertible generative models for
inverse problems: mitigating representation error and dataset bias" (ICML 2020), in closed form,
with its error bounds checked and sharpened. The mathematics is in ``docs/theory.md``.

API index
---------
Priors::

    LinearInvertiblePrior   x = mu + G z, G invertible: log_prob, sample, fit, ...
    LowRankPrior            x = mu + G_k z, rank k < n: the linear analogue of a GAN

Dataset bias (signals from a truth other than the prior)::

    make_truth              a truth from a specification: a spectrum, aligned or rotated
    TRUTH_FORMS             the forms of a truth specification
    generator_expected_error  the rank-k generator's exact error under a truth, m >= k + 2
    crossover               m* from which the invertible prior beats the rank-k generator
    Crossover               m*, both error curves and the representation error

Measurements::

    gaussian_measurements   A with i.i.d. N(0, 1/m) entries
    mask_measurements       row subset of the identity (inpainting)
    measurements            a draw of an ensemble: gaussian, rademacher, haar, dct, mask
    ENSEMBLES               the built-in ensembles, each with E[A^T A] = I

Estimators::

    mle                     argmax p_G(x) s.t. A x = y
    map_estimate            posterior mean under Gaussian noise
    latent_ridge            min_z ||A G z - y||^2 + gamma ||z||^2
    latent_gradient_descent gradient descent in z from an initial point (LatentDescent)
    gradient_descent_limit  its limit z_hat + (I - P) z_init
    denoise                 the poster's latent and signal denoising formulations

Exact errors for a given A::

    conditional_error       E ||x_hat - x0||^2 over x0 (from the prior or a truth) and noise
    signal_error            ||x_hat - x0||^2 for fixed signals (out of distribution)
    denoising_error         expected error of the linear denoiser
    optimal_denoising_gamma the gamma minimising it

Theory (functions of the singular values s)::

    lower_bound             sum_{i>m} s_i^2 (Eckart-Young)
    paper_upper_bound       m sum_{i>m-2} s_i^2 (the poster's theorem)
    hmt_upper_bound         optimised Halko-Martinsson-Tropp bound (HMTBound)
    predicted_error         deterministic equivalent lambda m (noisy and mismatched forms)
    degrees_of_freedom      df(lambda) = sum s_i^2 / (s_i^2 + lambda)
    exact_error_m1          exact E(1) by quadrature

Monte Carlo and sweeps (the bounds verified)::

    expected_error          Monte-Carlo E(m) for any ensemble and truth, reproducible to the bit
    MonteCarloEstimate      mean, stderr, 95% ci, trials, seed, rtol, converged
    errors_for_draws        the per-draw error for given draws of Omega (common random numbers)
    make_spectrum           spectrum from "power:a", "exp:r", "flat" or a file
    spectrum_family         the named families: power, exp, flat, cliff (one definition each)
    sweep                   bounds, prediction and E(m) over a grid, resumable (SweepTable)
    SweepTable              the table of a sweep: rows, CSV/JSON, violations

Progress of long computations (progress=False, True or a callback)::

    ProgressEvent           what a progress callback receives: task, done, total, label, info
    progress_sink           report progress from your own long computation the same way

Provenance of result files (every file lininv writes records it)::

    provenance              versions, platform, CPU, BLAS, seed and command, as a dict
    environment             the same without seed and command

Confidence intervals (one Student-t interval for every mean)::

    t_quantile              Student's t quantile for a mean of N values
    t_interval              mean -/+ t stderr
    mean_ci                 mean and its interval from the values

Submodules::

    lininv.strategies       hypothesis strategies for property-testing new bounds
    lininv.flows            a small RealNVP normalizing flow in numpy
    lininv.datasets         the 8x8 digits: splits, dequantisation, bits/dim
    lininv.plotting         figures (ax=None, returns the Axes)
    lininv.bridge           flow recovery beside the linear theory
    lininv.experiments      the paper's experiments in miniature (lininv experiments NAME)
    lininv.generators       a nonlinear low-dimensional generator (VAE decoder), CSGM recovery
                            and its representation error (the paper's GAN)
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from lininv._errors import (
    conditional_error,
    denoising_error,
    optimal_denoising_gamma,
    signal_error,
)
from lininv._estimators import (
    LatentDescent,
    denoise,
    gradient_descent_limit,
    latent_gradient_descent,
    latent_ridge,
    map_estimate,
    mle,
)
from lininv._low_rank import LowRankPrior, generator_expected_error
from lininv._measurements import (
    ENSEMBLES,
    gaussian_measurements,
    mask_measurements,
    measurements,
)
from lininv._mismatch import TRUTH_FORMS, Crossover, crossover, make_truth
from lininv._montecarlo import MonteCarloEstimate, errors_for_draws, expected_error
from lininv._prior import LinearInvertiblePrior
from lininv._progress import ProgressEvent, progress_sink
from lininv._provenance import environment, provenance
from lininv._spectra import make_spectrum, spectrum_family
from lininv._stats import mean_ci, t_interval, t_quantile
from lininv._sweep import SweepTable, sweep
from lininv._theory import (
    HMTBound,
    degrees_of_freedom,
    exact_error_m1,
    hmt_upper_bound,
    lower_bound,
    paper_upper_bound,
    predicted_error,
)

try:
    __version__ = version("lininv")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "LinearInvertiblePrior",
    "LowRankPrior",
    "make_truth",
    "TRUTH_FORMS",
    "generator_expected_error",
    "crossover",
    "Crossover",
    "gaussian_measurements",
    "mask_measurements",
    "measurements",
    "ENSEMBLES",
    "mle",
    "map_estimate",
    "latent_ridge",
    "latent_gradient_descent",
    "gradient_descent_limit",
    "LatentDescent",
    "denoise",
    "conditional_error",
    "signal_error",
    "denoising_error",
    "optimal_denoising_gamma",
    "lower_bound",
    "paper_upper_bound",
    "hmt_upper_bound",
    "HMTBound",
    "predicted_error",
    "degrees_of_freedom",
    "exact_error_m1",
    "expected_error",
    "MonteCarloEstimate",
    "errors_for_draws",
    "make_spectrum",
    "spectrum_family",
    "sweep",
    "SweepTable",
    "t_quantile",
    "t_interval",
    "mean_ci",
    "ProgressEvent",
    "progress_sink",
    "provenance",
    "environment",
]

# Public submodules loaded on first access (strategies needs the test extra's hypothesis).
_LAZY_SUBMODULES = (
    "strategies",
    "flows",
    "datasets",
    "plotting",
    "bridge",
    "experiments",
    "generators",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return import_module(f"lininv.{name}")
    raise AttributeError(f"module 'lininv' has no attribute {name!r}")
