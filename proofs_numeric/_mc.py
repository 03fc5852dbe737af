"""Access to the Monte-Carlo engine (``lininv.expected_error``), the only source of ``E(m)``.

The proof checks never re-implement the expectation: where a step needs ``E_A E_x0 ||x_hat -
x0||^2`` itself (steps 1, 4d, 7, 8) it asks the engine, which reports mean, standard error,
confidence interval and trials.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

import lininv

__all__ = ["Estimate", "expectation"]


class Estimate(NamedTuple):
    mean: float
    stderr: float
    trials: int


def expectation(
    s: np.ndarray,
    m: int,
    noise_std: float = 0.0,
    *,
    rng: Any,
    trials: int | None = None,
    rtol: float | None = None,
) -> Estimate:
    """``lininv.expected_error`` reduced to (mean, stderr, trials).

    An adaptive run that reaches the engine's ``max_trials`` before ``rtol`` is not an error
    here: the standard error actually reached is what every check reports and uses.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "expected_error stopped at max_trials", UserWarning)
        est = lininv.expected_error(s, m, noise_std, rtol=rtol, trials=trials, rng=rng)
    return Estimate(float(est.mean), float(est.stderr), int(est.trials))
