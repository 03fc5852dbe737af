r"""Step 2: the error identity :math:`E_{x_0}\|\hat x - x_0\|^2 = \|(I - P_Y)S\|_F^2`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import lininv
from lininv.validation import check_int
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_cases, check_common, scaled
from proofs_numeric._kernels import residual_errors
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import (
    Z_SE,
    exact_equality,
    fp_tol,
    mc_equality,
    mc_summary,
)

__all__ = ["check_error_identity", "residual_identity"]


def residual_identity(s: np.ndarray, omega: np.ndarray) -> float:
    r"""The statement's right side :math:`\|(I - P_Y)S\|_F^2`, ``Y = S omega`` (omega (n, m))."""
    return float(residual_errors(s, omega[None])[0])


def _default_cases() -> list[tuple[str, np.ndarray, int]]:
    return [
        ("power a=1, n=16, m=4", sp.power(16), 4),
        ("geometric cond=1e8, n=12, m=3", sp.geometric_cond(12, 1e8), 3),
    ]


def check_error_identity(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    identity: Callable[[np.ndarray, np.ndarray], float] | None = None,
    draws: int = 3,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Check the error identity by sampling signals, for fixed draws of ``A``.

    For ``G = diag(s)`` and ``A = omega^T / sqrt(m)``: signals :math:`x_0 \sim N(0, S^2)` are
    measured, recovered with ``lininv.mle`` and the mean squared error is compared (``z``
    standard errors) with ``identity(s, omega)``. Each draw of ``A`` also compares
    ``lininv.conditional_error`` with the identity exactly (floating point).

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
    identity : callable (s, omega) -> float, optional
        The claimed value of :math:`E_{x_0}\|\hat x - x_0\|^2`; defaults to
        :func:`residual_identity`. E.g. ``lambda s, om: residual_identity(np.ones_like(s), om)
        * np.mean(s**2)`` is a false statement that must fail.
    draws : int, default=3
        Draws of ``A`` per case.
    precision : float, default=1.0
        Multiplies the signals sampled per ``A`` (base 4000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Notes
    -----
    With :math:`x_0 = S w_0`, :math:`w_0 \sim N(0, I)` and :math:`B = AS`, the MLE's latent is
    :math:`\hat w = B^+ B w_0 = P w_0`, ``P`` the orthogonal projector onto
    :math:`\mathrm{range}(B^T) = \mathrm{range}(S\Omega) = \mathrm{range}(Y)`. So
    :math:`\hat x - x_0 = -S(I - P_Y)w_0` and
    :math:`E\|\hat x - x_0\|^2 = \operatorname{tr}(S(I - P_Y)S) = \|(I - P_Y)S\|_F^2`.
    Exact-comparison tolerance ``8 n eps`` relative, as in step 1.

    Examples
    --------
    >>> from proofs_numeric import check_error_identity
    >>> check_error_identity(cases=[("flat", [1.0] * 3, 1)], draws=1, precision=0.1, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(_default_cases() if cases is None else cases)
    identity = check_callable("identity", identity, residual_identity)
    draws = check_int("draws", draws, low=1)
    samples = scaled(4000, precision)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = lininv.LinearInvertiblePrior.from_singular_values(s)  # G = diag(s)
        for d in range(draws):
            omega = gen.standard_normal((n, m))
            A = omega.T / np.sqrt(m)
            claimed = float(identity(s, omega))
            x0 = prior.sample(samples, rng=gen)
            xhat = lininv.mle(prior, A, x0 @ A.T)
            mean, se, t = mc_summary(np.sum((xhat - x0) ** 2, axis=1))
            evidence.append(
                mc_equality(
                    f"{label}, A #{d + 1}: E_x0 ||x_hat - x0||^2",
                    mean,
                    se,
                    t,
                    claimed,
                    z=z,
                    note="x0 ~ N(0, S^2), x_hat = lininv.mle",
                )
            )
            exact = lininv.conditional_error(prior, A)
            evidence.append(
                exact_equality(
                    f"{label}, A #{d + 1}: lininv.conditional_error",
                    exact,
                    claimed,
                    fp_tol(n, max(abs(exact), abs(claimed))),
                    note="tolerance 8 n eps relative",
                )
            )
    return StepResult(
        step="2",
        name="error_identity",
        title="Error identity",
        statement=(
            "For a fixed A, the MLE's error averaged over signals from the prior equals the "
            "squared Frobenius norm of the part of S outside the range of Y = S Omega."
        ),
        formula="E_x0 ||x_hat - x0||^2 = ||(I - P_Y) S||_F^2,  Y = S Omega,  A = Omega^T / sqrt(m)",
        method=(
            f"{draws} draws of A per case; {samples} signals each, pass if within {z:g} SE; "
            "and lininv.conditional_error equal within 8 n eps."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )
