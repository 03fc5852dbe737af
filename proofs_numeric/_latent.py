r"""Step 5: the latent-space facts of THEORY.md section 3.

- 5a: the latent ridge :math:`\min_z\|AGz - y\|^2 + \gamma\|z\|^2` tends to the constrained MLE
  as :math:`\gamma \to 0^+`, at a provable rate;
- 5b: unregularised gradient descent from ``z_init`` converges to
  :math:`\hat z + (I - P)z_{\text{init}}`, at a provable rate;
- 5c: with :math:`\gamma = \sigma^2` the latent ridge is the posterior mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import linalg

import lininv
from lininv._validation import check_int, check_real
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_cases, check_common
from proofs_numeric._kernels import min_norm_solution, posterior_gain
from proofs_numeric._result import (
    EPS,
    Z_SE,
    Evidence,
    StepResult,
    exact_equality,
    exact_inequality,
)

__all__ = [
    "check_ridge_limit",
    "check_gradient_descent_limit",
    "check_posterior_mean",
    "constrained_mle",
    "descent_limit",
]


def _default_cases() -> list[tuple[str, np.ndarray, int]]:
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


def _prior(s: np.ndarray, gen: np.random.Generator) -> lininv.LinearInvertiblePrior:
    return lininv.LinearInvertiblePrior.from_singular_values(s, rng=gen)


# -- 5a ---------------------------------------------------------------------------------------


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
    cases = check_cases(_default_cases() if cases is None else cases, m_high_offset=1)
    limit = check_callable("limit", limit, constrained_mle)
    decades = check_int("decades", decades, low=1)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = _prior(s, gen)
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


# -- 5b ---------------------------------------------------------------------------------------


def descent_limit(prior: Any, A: np.ndarray, y: np.ndarray, z_init: np.ndarray) -> np.ndarray:
    r"""Claimed limit :math:`\hat z + (I - P)z_{\text{init}}`, ``P`` the projector onto the row
    space of ``B = AG`` (a basis from a thin QR of :math:`B^T`; independent of the core)."""
    zhat, Q = min_norm_solution(A @ prior.G, y - A @ prior.mean)
    return zhat + z_init - Q @ (Q.T @ z_init)


def check_gradient_descent_limit(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    limit: Callable[[Any, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    init_norms: Sequence[float] = (0.0, 30.0),
    target: float = 1e-10,
    max_steps: int = 50_000,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 5b: gradient descent on :math:`\|AGz - y\|^2` from ``z_init`` converges to
    :math:`\hat z + (I - P)z_{\text{init}}`.

    Runs ``lininv.latent_gradient_descent`` for ``t`` steps, ``t`` chosen so that
    :math:`\rho^t \le` ``target``, and checks the rigorous contraction

    .. math:: \|z_t - z_\infty\| \le \rho^t \|z_{\text{init}} - z_\infty\|,\qquad
              \rho = \max_j |1 - 2\eta d_j^2| < 1,

    with ``z_infty`` the claimed limit and ``d_j`` the singular values of ``AG``. Inits of norm
    ``init_norms`` (0 is the highest-likelihood start, which returns the MLE; a large norm is a
    low-likelihood start that keeps :math:`(I-P)z_{\text{init}}`).

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
    limit : callable (prior, A, y, z_init) -> ndarray of shape (n,), optional
        Defaults to :func:`descent_limit`. The claim "gradient descent returns the MLE from any
        start", ``lambda prior, A, y, z0: descent_limit(prior, A, y, 0 * z0)``, fails for
        ``z_init != 0``.
    init_norms : sequence of float, default=(0.0, 30.0)
    target : float, default=1e-10
    max_steps : int, default=50000
    precision, z
        Unused (deterministic).
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Notes
    -----
    :math:`z_{t+1} - z_\infty = (I - 2\eta B^TB)(z_t - z_\infty)` for any minimiser
    :math:`z_\infty`; if :math:`z_\infty = \hat z + (I-P)z_{\text{init}}` then
    :math:`z_{\text{init}} - z_\infty` lies in the row space, where the iteration matrix has norm
    :math:`\rho`. Rounding allowance: ``t`` steps each adding at most ``4 n eps`` times
    :math:`\|z\| + \eta\|B\|(\|B\|\|z\| + \|y\|)` (linear accumulation, an upper bound).

    Examples
    --------
    >>> from proofs_numeric import check_gradient_descent_limit
    >>> check_gradient_descent_limit(cases=[("p", [1.0, 0.9, 0.8], 1)], rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(_default_cases() if cases is None else cases, m_high_offset=1)
    limit = check_callable("limit", limit, descent_limit)
    max_steps = check_int("max_steps", max_steps, low=1)
    init_norms = [check_real(f"init_norms[{i}]", v, low=0.0) for i, v in enumerate(init_norms)]
    target = check_real("target", target, low=0.0, low_open=True, high=1.0)
    if target == 1.0:
        raise ValueError("target must be < 1 (a contraction target); got 1")
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = _prior(s, gen)
        A = lininv.gaussian_measurements(m, n, rng=gen)
        y = A @ prior.sample(1, rng=gen)[0]
        B = A @ prior.G
        d = np.linalg.svd(B, compute_uv=False)
        eta = 1.0 / (2.0 * d[0] ** 2)  # the core's default step 1/L, L = 2 ||B||^2
        rho = max(abs(1 - 2 * eta * d[-1] ** 2), abs(1 - 2 * eta * d[0] ** 2))
        if rho <= 0.0:  # a single singular value: one step of size 1/L lands on the limit
            steps = 1
        else:
            steps = min(max_steps, max(1, math.ceil(math.log(target) / math.log(rho))))
        for norm in init_norms:
            direction = gen.standard_normal(n)
            z_init = float(norm) * direction / np.linalg.norm(direction)
            run = lininv.latent_gradient_descent(prior, A, y, z_init, steps)
            claimed = np.asarray(limit(prior, A, y, z_init), dtype=float)
            gap = float(np.linalg.norm(run.z - claimed))
            bound = rho**steps * float(np.linalg.norm(z_init - claimed))
            zmax = max(np.linalg.norm(z_init), np.linalg.norm(claimed))
            per_step = zmax + run.step_size * d[0] * (d[0] * zmax + np.linalg.norm(y))
            tol = steps * 4 * n * EPS * per_step
            evidence.append(
                exact_inequality(
                    f"{label}, ||z_init|| = {norm:g}: ||z_t - limit|| <= rho^t ||z_init - limit||",
                    gap,
                    bound,
                    "<=",
                    tol,
                    note=f"t = {steps} steps, rho = {rho:.6f}, ||(I-P) z_init|| matters",
                )
            )
        z_init = gen.standard_normal(n)
        core = lininv.gradient_descent_limit(prior, A, y, z_init)
        ref = descent_limit(prior, A, y, z_init)
        evidence.append(
            exact_equality(
                f"{label}: lininv.gradient_descent_limit = QR reference",
                float(np.linalg.norm(core - ref)),
                0.0,
                8 * n * EPS * (d[0] / d[-1]) * float(np.linalg.norm(ref)),
                note="tolerance 8 n eps cond(AG) ||z_inf||",
            )
        )
    return StepResult(
        step="5b",
        name="gradient_descent_limit",
        title="Gradient descent limit",
        statement=(
            "Unregularised gradient descent in z converges to the minimum-norm solution plus the "
            "null-space part of the initialisation: z = 0 returns the MLE, a large init keeps its "
            "null-space component."
        ),
        formula="lim_t z_t = (AG)^+ y + (I - P_row(AG)) z_init;  ||z_t - z_inf|| <= rho^t ||z_init - z_inf||",
        method=(
            f"t steps with rho^t <= {target:g}; the contraction bound must hold for the claimed "
            "limit (rounding: linear accumulation of 4 n eps per step)."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )


# -- 5c ---------------------------------------------------------------------------------------


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
    cases = check_cases(_default_cases() if cases is None else cases)
    gamma_of = check_callable("gamma_of", gamma_of, _sigma_squared)
    noise_stds = [
        check_real(f"noise_stds[{i}]", v, low=0.0, low_open=True) for i, v in enumerate(noise_stds)
    ]
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = _prior(s, gen)
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
