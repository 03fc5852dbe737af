"""Access to the Monte-Carlo engine (``lininv.expected_error``), the only source of ``E(m)``.

The proof checks never re-implement the expectation: where a step needs ``E_A E_x0 ||x_hat -
x0||^2`` itself (steps 1, 4d, 7, 8) it asks the engine, which reports mean, standard error,
confidence interval, trials and whether an adaptive run met its precision.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

import lininv

__all__ = ["Estimate", "expectation"]


class Estimate(NamedTuple):
    """What the checks use of a :class:`lininv.MonteCarloEstimate`."""

    mean: float
    stderr: float
    trials: int
    ci: tuple[float, float]
    converged: bool


def expectation(
    s: np.ndarray,
    m: int,
    noise_std: float = 0.0,
    *,
    rng: Any,
    trials: int | None = None,
    rtol: float | None = None,
) -> Estimate:
    """``lininv.expected_error`` reduced to (mean, stderr, trials, 95% CI, converged).

    An adaptive run that reaches the engine's ``max_trials`` before ``rtol`` is not an error
    here: the standard error actually reached is what every check reports and uses, and
    ``converged`` (the engine's status field) says whether ``rtol`` was reached. The engine's
    warning for interactive users is silenced; nothing depends on its text.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = lininv.expected_error(s, m, noise_std, rtol=rtol, trials=trials, rng=rng)
    lo, hi = est.ci
    return Estimate(
        float(est.mean), float(est.stderr), int(est.trials), (float(lo), float(hi)), est.converged
    )
