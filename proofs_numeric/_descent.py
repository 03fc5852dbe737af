r"""Step 5b: gradient descent in the latent space (docs/theory.md section 3.4).

Unregularised gradient descent on :math:`\|AGz - y\|^2` from ``z_init`` converges to
:math:`\hat z + (I - P)z_{\text{init}}`, at a provable rate: regularisation by initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import lininv
from lininv.validation import check_int, check_real
from proofs_numeric._common import check_callable, check_cases, check_common
from proofs_numeric._kernels import min_norm_solution
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._ridge import default_cases, latent_prior
from proofs_numeric._rules import EPS, Z_SE, exact_equality, exact_inequality

__all__ = ["check_gradient_descent_limit", "descent_limit"]


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
    cases = check_cases(default_cases() if cases is None else cases, m_high_offset=1)
    limit = check_callable("limit", limit, descent_limit)
    max_steps = check_int("max_steps", max_steps, low=1)
    init_norms = [check_real(f"init_norms[{i}]", v, low=0.0) for i, v in enumerate(init_norms)]
    target = check_real("target", target, low=0.0, low_open=True, high=1.0)
    if target == 1.0:
        raise ValueError("target must be < 1 (a contraction target); got 1")
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        prior = latent_prior(s, gen)
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
