r"""Closed-form estimators for the linear Gaussian prior (docs/theory.md, section 3).

All of them work with the factor :math:`C = U \operatorname{diag}(s)` of :math:`\Sigma = C C^T`
and one thin SVD of :math:`B = A C = W \operatorname{diag}(d) Z^T`; no inverse is ever formed.
The latent ridge solution :math:`w = Z \operatorname{diag}(d / (d^2 + \gamma)) W^T (y - A\mu)`
covers the constrained MLE (:math:`\gamma = 0`), the posterior mean (:math:`\gamma = \sigma^2`)
and the paper's latent-space proxy (any :math:`\gamma`). Signal estimates are
:math:`\hat x = \mu + C w`. Because ``G = C V^T`` with ``V`` orthogonal, latent objectives in ``z``
and in ``w = V^T z`` coincide.

The arithmetic is scale-invariant (:mod:`lininv._scaled`): ``A`` may be of any size from
subnormal to the largest double.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._prior import LinearInvertiblePrior
from lininv._scaled import (
    _NO_EXPONENT,
    Prior,
    _exponent,
    _quarter_power,
    _rank_tol,
    _ridge_solution,
    _scaled_residual,
    _square,
    _unscale,
    check_invertible_prior,
    check_measurements,
    check_operator,
    check_prior,
    scaled_product,
)
from lininv._validation import (
    as_vector_or_batch,
    check_choice,
    check_int,
    check_real,
)

__all__ = [
    "mle",
    "map_estimate",
    "latent_ridge",
    "latent_gradient_descent",
    "gradient_descent_limit",
    "denoise",
    "LatentDescent",
]

# -- estimators ---------------------------------------------------------------------------------


def mle(prior: Prior, A: Any, y: Any) -> np.ndarray:
    r"""Maximum-likelihood signal consistent with noiseless measurements.

    .. math:: \hat x = \arg\max_x p_G(x) \ \text{s.t.}\ A x = y
              = \mu + \Sigma A^T (A \Sigma A^T)^{-1} (y - A\mu).

    Parameters
    ----------
    prior : LinearInvertiblePrior or LowRankPrior
    A : array_like of shape (m, n)
        Measurement matrix; for the invertible prior ``m <= n`` and ``A`` of full row rank.
    y : array_like of shape (m,) or (k, m)
        Measurements (a batch of ``k`` rows is solved at once).

    Returns
    -------
    ndarray of shape (n,) or (k, n)

    Notes
    -----
    In latent terms :math:`\hat z = (A G)^+ (y - A\mu)`, the minimum-norm solution, computed from the
    SVD of :math:`A U \operatorname{diag}(s)` (as ``numpy.linalg.lstsq`` would). For a
    :class:`LowRankPrior` with ``m > k`` the constraint is generally inconsistent and this returns the
    least-squares latent fit (the CSGM estimator), which equals the constrained MLE when ``y`` lies in
    the range of ``A G_k``.

    References
    ----------
    .. [1] Asim et al., ICML 2020, arXiv:1905.11672, theorem for the linear invertible model.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LinearInvertiblePrior, mle
    >>> prior = LinearInvertiblePrior.from_singular_values([3.0, 1.0])
    >>> mle(prior, np.array([[1.0, 1.0]]), np.array([10.0]))  # Sigma A^T (A Sigma A^T)^{-1} y
    array([9., 1.])
    """
    prior = check_prior(prior)
    invertible = isinstance(prior, LinearInvertiblePrior)
    A = check_operator(prior, A, max_rows=prior.n if invertible else None)
    y = check_measurements(A, y)
    return _ridge_solution(prior, A, y, None, require_full_row_rank=invertible)


def map_estimate(prior: Prior, A: Any, y: Any, noise_std: float) -> np.ndarray:
    r"""Posterior mean (= MAP) under :math:`y = A x + \eta`, :math:`\eta \sim N(0, \sigma^2 I)`.

    .. math:: \hat x = \mu + \Sigma A^T (A \Sigma A^T + \sigma^2 I)^{-1} (y - A\mu)
              = \mu + G (B^T B + \sigma^2 I)^{-1} B^T (y - A\mu),\quad B = A G.

    Parameters
    ----------
    prior : LinearInvertiblePrior or LowRankPrior
    A : array_like of shape (m, n)
        Any number of rows when ``noise_std > 0``.
    y : array_like of shape (m,) or (k, m)
    noise_std : float
        :math:`\sigma \ge 0`; ``0`` gives :func:`mle`.

    Returns
    -------
    ndarray of shape (n,) or (k, n)

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LinearInvertiblePrior, map_estimate
    >>> prior = LinearInvertiblePrior.from_singular_values([3.0, 1.0])
    >>> map_estimate(prior, np.array([[1.0, 1.0]]), np.array([10.0]), 1.0)  # 10 * (9, 1) / 11
    array([8.18181818, 0.90909091])
    """
    noise_std = check_real("noise_std", noise_std, low=0.0)
    if noise_std == 0.0:
        return mle(prior, A, y)
    prior = check_prior(prior)
    A = check_operator(prior, A)
    y = check_measurements(A, y)
    return _ridge_solution(prior, A, y, _square(noise_std), require_full_row_rank=False)


def latent_ridge(prior: Prior, A: Any, y: Any, gamma: float) -> np.ndarray:
    r"""The paper's latent proxy :math:`\min_z \|A G z - y\|^2 + \gamma \|z\|^2`, in signal space.

    Ridge regression in ``z``: :math:`\hat z = (B^T B + \gamma I)^{-1} B^T (y - A\mu)`, returned as
    :math:`\mu + G \hat z`. With ``gamma = noise_std**2`` it is the posterior mean
    (:func:`map_estimate`); as ``gamma -> 0+`` it tends to :func:`mle`.

    Parameters
    ----------
    prior : LinearInvertiblePrior or LowRankPrior
    A : array_like of shape (m, n)
    y : array_like of shape (m,) or (k, m)
    gamma : float
        Regularisation weight, ``gamma > 0`` (use :func:`mle` for the limit ``gamma = 0``).

    Returns
    -------
    ndarray of shape (n,) or (k, n)
    """
    gamma = check_real("gamma", gamma, low=0.0, low_open=True)
    prior = check_prior(prior)
    A = check_operator(prior, A)
    y = check_measurements(A, y)
    return _ridge_solution(prior, A, y, _quarter_power(gamma), require_full_row_rank=False)


@dataclass(frozen=True)
class LatentDescent:
    """Result of :func:`latent_gradient_descent`.

    Attributes
    ----------
    x : ndarray of shape (n,)
        Final signal estimate ``mu + G z``.
    z : ndarray of shape (n,)
        Final latent iterate.
    loss : ndarray of shape (steps + 1,)
        Objective value at every iterate, starting from ``z_init``.
    step_size : float
        The step used.
    """

    x: np.ndarray
    z: np.ndarray
    loss: np.ndarray
    step_size: float


def latent_gradient_descent(
    prior: LinearInvertiblePrior,
    A: Any,
    y: Any,
    z_init: Any,
    steps: int,
    *,
    gamma: float = 0.0,
    step_size: float | None = None,
) -> LatentDescent:
    r"""Gradient descent on :math:`f(z) = \|A G z - y\|^2 + \gamma\|z\|^2` from ``z_init``.

    With ``gamma = 0`` and ``m < n`` the minimisers form an affine set, and the iterates converge to
    :math:`\hat z + (I - P) z_{\text{init}}`, ``P`` the projector onto the row space of ``A G``
    (see :func:`gradient_descent_limit`): the initialisation acts as a regulariser.

    Parameters
    ----------
    prior : LinearInvertiblePrior
    A : array_like of shape (m, n)
    y : array_like of shape (m,)
    z_init : array_like of shape (n,)
        Starting latent (in the coordinates of ``prior.G``).
    steps : int
        Number of iterations, ``>= 0``.
    gamma : float, default=0.0
    step_size : float, optional
        Defaults to ``1 / L`` with :math:`L = 2(\|AG\|_2^2 + \gamma)` the gradient's Lipschitz
        constant; must lie in ``(0, 2 / L)`` for convergence.

    Returns
    -------
    LatentDescent
    """
    prior = check_invertible_prior(prior)
    A = check_operator(prior, A)
    y = as_vector_or_batch("y", y, A.shape[0], length_hint=f" to match A's m = {A.shape[0]}")
    if y.ndim != 1:
        raise ValueError(f"y must have shape ({A.shape[0]},); got {y.shape}")
    z = as_vector_or_batch("z_init", z_init, prior.n, length_hint=" to match the prior's n").copy()
    if z.ndim != 1:
        raise ValueError(f"z_init must have shape ({prior.n},); got {z.shape}")
    steps = check_int("steps", steps, low=0)
    gamma = check_real("gamma", gamma, low=0.0)
    B = A @ prior.G
    lipschitz = 2.0 * (float(np.linalg.norm(B, 2)) ** 2 + gamma)
    if step_size is None:
        step = 1.0 / lipschitz
    else:
        step = check_real("step_size", step_size, low=0.0, low_open=True, high=2.0 / lipschitz)
    target = y - A @ prior.mean
    loss = np.empty(steps + 1)
    for t in range(steps + 1):
        r = B @ z - target
        loss[t] = r @ r + gamma * (z @ z)
        if t < steps:
            z -= step * 2.0 * (B.T @ r + gamma * z)
    return LatentDescent(x=prior.mean + prior.G @ z, z=z, loss=loss, step_size=step)


def gradient_descent_limit(prior: LinearInvertiblePrior, A: Any, y: Any, z_init: Any) -> np.ndarray:
    r"""Limit of unregularised latent gradient descent: :math:`\hat z + (I - P) z_{\text{init}}`.

    Computed as :math:`z_{\text{init}} + B^+ (y - A\mu - B z_{\text{init}})` with ``B = A G``.

    Parameters
    ----------
    prior : LinearInvertiblePrior
    A : array_like of shape (m, n)
    y : array_like of shape (m,)
    z_init : array_like of shape (n,) or (k, n)

    Returns
    -------
    ndarray of shape like ``z_init``
        The limiting latent; the signal is ``prior.to_signal(...)`` of it.
    """
    prior = check_invertible_prior(prior)
    A = check_operator(prior, A)
    y = as_vector_or_batch("y", y, A.shape[0], length_hint=f" to match A's m = {A.shape[0]}")
    if y.ndim != 1:
        raise ValueError(f"y must have shape ({A.shape[0]},); got {y.shape}")
    z0 = as_vector_or_batch("z_init", z_init, prior.n, length_hint=" to match the prior's n")
    # B = 2**t Bs (scaled_product) and the residual = 2**e r, so B^+ resid = 2**(e - t) Bs^+ r.
    Bs, t = scaled_product(A, prior.G)
    W, d, Zt = np.linalg.svd(Bs, full_matrices=False)
    keep = d > _rank_tol(d, Bs.shape)
    inv_d = np.zeros_like(d)
    inv_d[keep] = 1.0 / d[keep]
    r, e = _scaled_residual(A, y, prior.mean, extra=(z0 @ Bs.T, t))
    step = _unscale(((r @ W) * inv_d) @ Zt, e - t, "the limit")
    return _unscale(z0 + step, 0, "the limit")


def denoise(
    prior: LinearInvertiblePrior, y: Any, gamma: float, *, formulation: str = "latent"
) -> np.ndarray:
    r"""Denoise ``y = x0 + eta`` with the prior, in either of the poster's two formulations.

    - ``"latent"``: :math:`\min_z \|G z - y\|^2 + \gamma\|z\|^2`, giving
      :math:`\hat x = \mu + \Sigma(\Sigma + \gamma I)^{-1}(y - \mu)`;
    - ``"signal"``: :math:`\min_x \|x - y\|^2 - \gamma \log p_G(x)`, giving
      :math:`\hat x = \mu + \Sigma(\Sigma + \tfrac{\gamma}{2} I)^{-1}(y - \mu)`.

    Parameters
    ----------
    prior : LinearInvertiblePrior
    y : array_like of shape (n,) or (k, n)
    gamma : float
        ``gamma >= 0`` (``0`` returns ``y``).
    formulation : {"latent", "signal"}, default="latent"

    Returns
    -------
    ndarray of shape like ``y``

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LinearInvertiblePrior, denoise
    >>> prior = LinearInvertiblePrior.from_singular_values([3.0, 1.0])
    >>> denoise(prior, np.array([1.0, 1.0]), 1.0)  # shrink by s^2 / (s^2 + 1) = (0.9, 0.5)
    array([0.9, 0.5])
    >>> denoise(prior, np.array([1.0, 1.0]), 2.0, formulation="signal")  # gamma / 2 = 1
    array([0.9, 0.5])

    Notes
    -----
    Computed in the eigenbasis :math:`\Sigma = U \operatorname{diag}(s^2) U^T` as
    :math:`\mu + U \operatorname{diag}(s^2/(s^2 + g)) U^T (y - \mu)`.
    """
    prior = check_invertible_prior(prior)
    y = as_vector_or_batch("y", y, prior.n, length_hint=" to match the prior's n")
    gamma = check_real("gamma", gamma, low=0.0)
    formulation = check_choice("formulation", formulation, ("latent", "signal"))
    g = gamma if formulation == "latent" else gamma / 2.0
    s2 = prior.singular_values**2
    U = prior.left_singular_vectors
    # y - mu = 2**e r per row; the shrinkage s2 / (s2 + g) = 2**(f - h) q with s2 = 2**f (.),
    # max(s2, g) = 2**h (.) and q of order one; each row's largest 2**(f - h) q (r U) sets its
    # exponent c. Exact powers of two throughout: the bits of the plain formula when it neither
    # under- nor overflows.
    mu = prior.mean
    e = np.maximum(_exponent(y, axis=-1), _exponent(mu))
    r = np.ldexp(y, -e) - np.ldexp(mu, -e)
    f = np.frexp(s2)[1]
    h = np.frexp(np.maximum(s2, g))[1]
    q = np.ldexp(s2, -f) / (np.ldexp(s2, -h) + np.ldexp(g, -h))
    coef = (r @ U) * q  # the shrunk coefficients are 2**(e + f - h) coef
    size = np.where(coef != 0.0, f - h + np.frexp(coef)[1], _NO_EXPONENT)
    c = np.max(size, axis=-1, keepdims=True)
    step = _unscale(np.ldexp(coef, f - h - c) @ U.T, e + c, "the estimate")
    return _unscale(mu + step, 0, "the estimate")
