r"""Steps 5a and 5c: the paper's latent ridge (docs/theory.md sections 3.3-3.4).

- 5a: the latent ridge :math:`\min_z\|AGz - y\|^2 + \gamma\|z\|^2` tends to the constrained MLE
  as :math:`\gamma \to 0^+`, at a provable rate;
- 5c: with :math:`\gamma = \sigma^2` the latent ridge is the posterior mean.

Step 5b (gradient descent in the latent space) is in :mod:`proofs_numeric._descent`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import linalg

import lininv
from lininv.validation import check_int, check_real
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_cases, check_common
from proofs_numeric._kernels import min_norm_solution, posterior_gain
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import EPS, Z_SE, exact_equality, exact_inequality

__all__ = ["check_ridge_limit", "check_posterior_mean", "constrained_mle", "default_cases"]


def default_cases() -> list[tuple[str, np.ndarray, int]]:
    """The default cases of steps 5a-5c: a power law and an ill-conditioned geometric spectrum."""
    return [
        ("power a=1, n=12, m=5", sp.power(12), 5),
        ("geometric cond=1e4, n=10, m=4", sp.geometric_cond(10, 1e4), 4),
    ]


def constrained_mle(
    prior: lininv.LinearInvertiblePrior, A: np.ndarray, y: np.ndarray
) -> np.ndarray:
    r"""Dense reference for the constrained MLE: :math:`G z`, ``z`` the minimum-norm solution of
    :math:`AGz = y` from a thin QR of :math:`(AG)^T` (independent of ``lininv.mle``'s SVD)."""
    z, _ = min_norm_solution(A @ prior.G, y - A @ prior.mean)
    return prior.mean + prior.G @ z


def latent_prior(s: np.ndarray, gen: np.random.Generator) -> lininv.LinearInvertiblePrior:
    """A prior with singular values ``s`` and Haar-random factors drawn from ``gen``."""
    return lininv.LinearInvertiblePrior.from_singular_values(s, rng=gen)


def check_ridge_limit(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    limit: Callable[[Any, np.ndarray, np.ndarray], np.ndarray] | None = None,
    decades: int = 8,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 5a: ``lininv.latent_ridge(gamma)`` tends to the constrained MLE as ``gamma -> 0+``.

    For ``gamma = d_min^2 10^-j`` (``j = 1..decades``, ``d_min`` the smallest singular value of
    ``B = AG``) the distance to the claimed limit must obey the rigorous rate

    .. math:: \|\hat x_\gamma - \hat x_0\| \le \|G\|_2 \frac{\gamma}{d_{\min}^2}\|\hat z_0\|,

    where :math:`\hat z_0 = B^+ y`; a wrong limit leaves a gap that does not shrink.

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
        ``G = U diag(s) V^T`` with Haar ``U, V``; ``m < n``.
    limit : callable (prior, A, y) -> ndarray of shape (n,), optional
        Claimed limit; defaults to :func:`constrained_mle`. The signal-space pseudo-inverse
        ``lambda prior, A, y: np.linalg.lstsq(A, y, rcond=None)[0]`` is false and fails.
    decades : int, default=8
    precision, z
        Unused (deterministic); accepted for a uniform interface.
    rng : None, int, SeedSequence or Generator
        Draws ``U, V``, ``A`` and the signal.

    Returns
    -------
    StepResult

    Notes
    -----
    With :math:`B = W\operatorname{diag}(d)Z^T`,
    :math:`\hat z_\gamma - \hat z_0 = -\sum_j \frac{\gamma}{d_j(d_j^2+\gamma)}(w_j^Ty)z_j`, whose
    norm is at most :math:`(\gamma/d_{\min}^2)\|\hat z_0\|`. Rounding allowance:
    ``8 n eps cond(B)`` times the scale :math:`\|G\|_2\|\hat z_0\|` (two backward-stable solves of
    a system with condition number ``cond(B)``).

    Examples
    --------
    >>> from proofs_numeric import check_ridge_limit
    >>> check_ridge_limit(cases=[("p", [1.0, 0.8, 0.5, 0.3], 2)], decades=3, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(default_cases() if cases is None else cases, m_high_offset=1)
    limit = check_callable("limit", limit, constrained_mle)
    decades = check_int("decades", decades, low=1)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = latent_prior(s, gen)
        A = lininv.gaussian_measurements(m, n, rng=gen)
        y = A @ prior.sample(1, rng=gen)[0]
        B = A @ prior.G
        d = np.linalg.svd(B, compute_uv=False)
        z0, _ = min_norm_solution(B, y)
        claimed = np.asarray(limit(prior, A, y), dtype=float)
        scale = s[0] * np.linalg.norm(z0)
        tol = 8 * n * EPS * (d[0] / d[-1]) * scale
        worst = None
        for j in range(1, decades + 1):
            gamma = d[-1] ** 2 * 10.0**-j
            gap = float(np.linalg.norm(lininv.latent_ridge(prior, A, y, gamma) - claimed))
            ev = exact_inequality(
                f"{label}: ||x_gamma - limit|| <= (gamma/d_min^2) ||G|| ||z0||",
                gap,
                10.0**-j * scale,
                "<=",
                tol,
                note=f"worst of gamma = d_min^2 10^-j, j = 1..{decades}; cond(B) = {d[0] / d[-1]:.3g}",
            )
            if worst is None or ev.margin < worst.margin:
                worst = ev
        assert worst is not None
        evidence.append(worst)
        evidence.append(
            exact_equality(
                f"{label}: lininv.mle = QR reference",
                float(np.linalg.norm(lininv.mle(prior, A, y) - constrained_mle(prior, A, y))),
                0.0,
                tol,
                note="distance between two implementations; tolerance 8 n eps cond(B) ||G|| ||z0||",
            )
        )
    return StepResult(
        step="5a",
        name="ridge_limit",
        title="gamma -> 0 gives the MLE",
        statement=(
            "The latent ridge solution G (B^T B + gamma I)^{-1} B^T y tends to the constrained "
            "MLE as gamma -> 0+, with error O(gamma / d_min^2)."
        ),
        formula="||x_gamma - x_MLE|| <= ||G||_2 (gamma / d_min(AG)^2) ||(AG)^+ y||",
        method=(
            f"gamma = d_min^2 10^-j, j = 1..{decades}: the gap to the claimed limit must obey "
            "the rate at every gamma (rounding 8 n eps cond(AG))."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )


def _sigma_squared(noise_std: float) -> float:
    return noise_std**2


def check_posterior_mean(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    noise_stds: Sequence[float] = (0.1, 0.5),
    gamma_of: Callable[[float], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 5c: the latent ridge with ``gamma = sigma^2`` is the posterior mean.

    The latent ridge is linear in ``y``: :math:`\hat x = K y`. ``K`` is read off
    ``lininv.latent_ridge`` applied to the identity's rows, and must satisfy the normal
    equations of the posterior mean (the orthogonality principle
    :math:`E[(x_0 - Ky)y^T] = 0`):

    .. math:: K(A\Sigma A^T + \sigma^2 I) = \Sigma A^T.

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
    noise_stds : sequence of float, default=(0.1, 0.5)
    gamma_of : callable sigma -> gamma, optional
        Claimed regularisation; defaults to ``sigma**2``. ``lambda sigma: sigma`` fails.
    precision, z
        Unused (deterministic).
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Notes
    -----
    Rounding allowance for the residual of a backward-stable solve:
    ``8 n eps ||K||_F ||A Sigma A^T + sigma^2 I||_2``. A second evidence compares ``K`` with the
    dense Cholesky reference :func:`proofs_numeric._kernels.posterior_gain`.

    Examples
    --------
    >>> from proofs_numeric import check_posterior_mean
    >>> check_posterior_mean(cases=[("p", [1.0, 0.5, 0.2], 2)], rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(default_cases() if cases is None else cases)
    gamma_of = check_callable("gamma_of", gamma_of, _sigma_squared)
    noise_stds = [
        check_real(f"noise_stds[{i}]", v, low=0.0, low_open=True) for i, v in enumerate(noise_stds)
    ]
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = latent_prior(s, gen)
        A = lininv.gaussian_measurements(m, n, rng=gen)
        Sigma = prior.covariance
        for sigma in noise_stds:
            gamma = float(gamma_of(sigma))
            K = lininv.latent_ridge(prior, A, np.eye(m), gamma).T  # (n, m): columns K e_i
            M = A @ Sigma @ A.T + sigma**2 * np.eye(m)
            resid = float(np.linalg.norm(K @ M - Sigma @ A.T))
            scale = float(np.linalg.norm(K) * linalg.norm(M, 2))
            evidence.append(
                exact_equality(
                    f"{label}, sigma={sigma:g}: ||K (A Sigma A^T + sigma^2 I) - Sigma A^T||_F",
                    resid,
                    0.0,
                    8 * n * EPS * scale,
                    note=f"gamma = {gamma:g}; tolerance 8 n eps ||K|| ||M||",
                )
            )
            Kref = posterior_gain(Sigma, A, sigma**2)
            Kmap = lininv.map_estimate(prior, A, np.eye(m), sigma).T
            evidence.append(
                exact_equality(
                    f"{label}, sigma={sigma:g}: lininv.map_estimate = Cholesky reference",
                    float(np.linalg.norm(Kmap - Kref)),
                    0.0,
                    8 * n * EPS * float(np.linalg.cond(M)) * float(np.linalg.norm(Kref)),
                    note="tolerance 8 n eps cond(M) ||K|| (forward error of a solve)",
                )
            )
    return StepResult(
        step="5c",
        name="posterior_mean",
        title="gamma = sigma^2 is the posterior mean",
        statement=(
            "The latent ridge with gamma = sigma^2 satisfies the posterior mean's normal "
            "equations, so it is E[x0 | y] under noise N(0, sigma^2 I)."
        ),
        formula="K_gamma (A Sigma A^T + sigma^2 I) = Sigma A^T  at gamma = sigma^2",
        method="Residual of the normal equations within 8 n eps ||K|| ||M|| (backward stability).",
        evidence=tuple(evidence),
        seed=seed,
    )
