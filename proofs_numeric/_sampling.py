r"""Step 9: a posterior sample has twice the expected error of the posterior mean (Gaussian case).

If :math:`x_s \sim p(x \mid y)` independently of :math:`x_0` given ``y``, then
:math:`x_s - x_0 = (x_s - \hat x) - (x_0 - \hat x)` is a sum of two independent, mean-zero
terms with the posterior covariance ``C``, so :math:`E\|x_s - x_0\|^2 = 2\operatorname{tr}C =
2E\|\hat x - x_0\|^2`.

References
----------
.. [1] A. Jalal, M. Arvinte, G. Daras, E. Price, A. G. Dimakis, J. I. Tamir, "Robust compressed
   sensing MRI with deep generative priors", NeurIPS 2021, arXiv:2106.11438 (posterior sampling
   is within a factor 2 of the optimal error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import lininv
from lininv.validation import check_real
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_cases, check_common, scaled
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import (
    Z_SE,
    mc_equality,
    mc_summary,
)

__all__ = ["check_posterior_sampling", "posterior_samples"]


def posterior_samples(
    prior: lininv.LinearInvertiblePrior,
    A: np.ndarray,
    y: np.ndarray,
    noise_std: float,
    rng: np.random.Generator,
) -> np.ndarray:
    r"""Exact posterior samples by perturbation (Matheron's rule).

    :math:`x_s = \hat x(y) + x' - \hat x(Ax' + \eta')` with :math:`x' \sim p_G`,
    :math:`\eta' \sim N(0, \sigma^2 I)`: the second part is :math:`N(0, C)` and independent of
    ``y`` because the posterior mean is linear. Uses only ``lininv.map_estimate``.

    Parameters
    ----------
    prior : LinearInvertiblePrior
    A : ndarray of shape (m, n)
    y : ndarray of shape (k, m)
    noise_std : float
    rng : Generator

    Returns
    -------
    ndarray of shape (k, n)
    """
    k, m = y.shape
    xp = prior.sample(k, rng=rng)
    yp = xp @ A.T + noise_std * rng.standard_normal((k, m))
    return (
        lininv.map_estimate(prior, A, y, noise_std)
        + xp
        - lininv.map_estimate(prior, A, yp, noise_std)
    )


def _default_cases() -> list[tuple[str, np.ndarray, int]]:
    return [
        ("power a=1, n=16, m=6", sp.power(16), 6),
        ("cliff j=3 h=0.05, n=12, m=8", sp.cliff(12, 3, 0.05), 8),
    ]


def check_posterior_sampling(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    noise_stds: Sequence[float] = (0.1, 1.0),
    factor: float = 2.0,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 9: :math:`E\|x_s - x_0\|^2 = \text{factor}\cdot\operatorname{tr}C` with ``factor = 2``.

    For each case and noise level, one ``A`` is drawn; the exact posterior-mean error
    :math:`\operatorname{tr}C` comes from ``lininv.conditional_error``. Monte Carlo over
    :math:`(x_0, \eta)` estimates the posterior mean's error (claimed ``tr C``) and the posterior
    sample's error (claimed ``factor * tr C``); each must lie within ``z`` standard errors.

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
        ``G = U diag(s) V^T`` with Haar ``U, V``.
    noise_stds : sequence of float, default=(0.1, 1.0)
    factor : float, default=2.0
        The statement under test; ``factor=1`` (sampling as good as the mean) fails.
    precision : float, default=1.0
        Multiplies the signals per setting (base 20000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Examples
    --------
    >>> from proofs_numeric import check_posterior_sampling
    >>> check_posterior_sampling(cases=[("p", [1.0, 0.5, 0.2], 1)], noise_stds=[0.5],
    ...                          precision=0.05, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(_default_cases() if cases is None else cases)
    noise_stds = [
        check_real(f"noise_stds[{i}]", v, low=0.0, low_open=True) for i, v in enumerate(noise_stds)
    ]
    factor = check_real("factor", factor)
    samples = scaled(20000, precision)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = lininv.LinearInvertiblePrior.from_singular_values(s, rng=gen)
        A = lininv.gaussian_measurements(m, n, rng=gen)
        for sigma in noise_stds:
            trace_c = lininv.conditional_error(prior, A, sigma)
            x0 = prior.sample(samples, rng=gen)
            y = x0 @ A.T + sigma * gen.standard_normal((samples, m))
            xhat = lininv.map_estimate(prior, A, y, sigma)
            xs = posterior_samples(prior, A, y, sigma, gen)
            tag = f"{label}, sigma={sigma:g}"
            mean, se, t = mc_summary(np.sum((xhat - x0) ** 2, axis=1))
            evidence.append(
                mc_equality(f"{tag}: posterior mean error = tr C", mean, se, t, trace_c, z=z)
            )
            mean, se, t = mc_summary(np.sum((xs - x0) ** 2, axis=1))
            evidence.append(
                mc_equality(
                    f"{tag}: posterior sample error = {factor:g} tr C",
                    mean,
                    se,
                    t,
                    factor * trace_c,
                    z=z,
                    note=f"measured ratio sample / mean = {mean / trace_c:.4g}",
                )
            )
    return StepResult(
        step="9",
        name="posterior_sampling",
        title="Posterior sampling doubles the error",
        statement=(
            "A sample from the Gaussian posterior has exactly twice the expected squared error "
            "of the posterior mean."
        ),
        formula="E ||x_s - x0||^2 = 2 tr Cov(x0 | y) = 2 E ||x_hat - x0||^2",
        method=(
            f"{samples} signals per setting; exact posterior samples by perturbation "
            f"(Matheron); tr C from lininv.conditional_error; pass if within {z:g} SE."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )
