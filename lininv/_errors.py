r"""Exact recovery errors for a given measurement matrix (THEORY.md sections 3-4).

The error formulas avoid the subtraction :math:`\operatorname{tr}\Sigma - \operatorname{tr}(\dots)`,
which loses all accuracy when the error is small against :math:`\operatorname{tr}\Sigma`. With
:math:`B = A U \operatorname{diag}(s)` and the full SVD :math:`B^T = Z \operatorname{diag}(d) W^T`
(``Z`` square), the posterior covariance trace is a sum of non-negative terms:

.. math:: \operatorname{tr}\,\mathrm{Cov}(x_0 \mid y)
          = \|S Z_\perp\|_F^2 + \sum_j \frac{\sigma^2}{d_j^2 + \sigma^2} \|S z_j\|^2,

with :math:`S = \operatorname{diag}(s)`, :math:`z_j` the columns of ``Z`` paired with ``d_j`` and
:math:`Z_\perp` the remaining columns (a basis of the null space of ``B``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._estimators import check_invertible_prior, check_operator, check_prior, mle
from lininv._low_rank import LowRankPrior
from lininv._prior import LinearInvertiblePrior
from lininv._validation import as_spectrum, as_vector_or_batch, check_choice, check_real

__all__ = [
    "conditional_error",
    "signal_error",
    "denoising_error",
    "optimal_denoising_gamma",
]


def _null_and_range(prior: LinearInvertiblePrior, A: np.ndarray):
    """Full SVD of ``B^T = diag(s) U^T A^T``: returns ``Z`` (n x n) and ``d`` (min(m, n))."""
    Bt = (A @ prior.factor).T
    Z, d, _ = np.linalg.svd(Bt, full_matrices=True)
    return Z, d


def conditional_error(prior: LinearInvertiblePrior, A: Any, noise_std: float = 0.0) -> float:
    r"""Expected squared error of the posterior mean for a *given* ``A``.

    .. math:: E_{x_0, \eta}\|\hat x - x_0\|^2 = \operatorname{tr}\Sigma
              - \operatorname{tr}\big(\Sigma A^T (A\Sigma A^T + \sigma^2 I)^{-1} A \Sigma\big),

    the trace of the posterior covariance; with ``noise_std = 0`` this is the error of
    :func:`mle`, :math:`\|G(I - QQ^T)\|_F^2` with ``Q`` a basis of :math:`\mathrm{range}((AG)^T)`.

    Parameters
    ----------
    prior : LinearInvertiblePrior
    A : array_like of shape (m, n)
        ``m <= n`` and full row rank when ``noise_std = 0``; any ``m`` otherwise.
    noise_std : float, default=0.0

    Returns
    -------
    float

    Notes
    -----
    Evaluated as the sum of non-negative terms in the module docstring (no cancellation).

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LinearInvertiblePrior, conditional_error
    >>> prior = LinearInvertiblePrior.from_singular_values([2.0, 1.0])
    >>> conditional_error(prior, np.array([[1.0, 0.0]]))  # the unobserved variance
    1.0
    """
    prior = check_invertible_prior(prior)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    A = check_operator(prior, A, max_rows=prior.n if noise_std == 0.0 else None)
    Z, d = _null_and_range(prior, A)
    s = prior.singular_values
    SZ2 = np.sum((s[:, None] * Z) ** 2, axis=0)  # ||S z_j||^2 for every column j
    r = d.size
    if noise_std == 0.0:
        tol = max(A.shape) * np.finfo(float).eps * d[0]
        if d.size < A.shape[0] or d[-1] <= tol:
            raise ValueError(
                f"A G must have full row rank m = {A.shape[0]} for the noiseless error; got "
                f"smallest singular value {d[-1]:.3g}"
            )
        return float(np.sum(SZ2[r:]))
    sigma2 = noise_std**2
    return float(np.sum(SZ2[r:]) + np.sum(SZ2[:r] * (sigma2 / (d**2 + sigma2))))


def signal_error(
    prior: LinearInvertiblePrior | LowRankPrior, A: Any, x0: Any
) -> np.ndarray | float:
    r"""Noiseless recovery error :math:`\|\hat x(A x_0) - x_0\|^2` for fixed signals ``x0``.

    For the invertible prior, :math:`\hat x - x_0 = -C Z_\perp Z_\perp^T C^{-1}(x_0 - \mu)` with
    ``C = U diag(s)``: there is no floor, the error vanishes at ``m = n`` for *every* signal (zero
    representation error). For a :class:`LowRankPrior` it is computed from :func:`mle` directly and
    never falls below the generator's representation error.

    Parameters
    ----------
    prior : LinearInvertiblePrior or LowRankPrior
    A : array_like of shape (m, n)
    x0 : array_like of shape (n,) or (k, n)
        Signals, possibly far from the prior (out of distribution).

    Returns
    -------
    float or ndarray of shape (k,)
    """
    prior = check_prior(prior)
    invertible = isinstance(prior, LinearInvertiblePrior)
    A = check_operator(prior, A, max_rows=prior.n if invertible else None)
    x0 = as_vector_or_batch("x0", x0, prior.n, length_hint=" to match the prior's n")
    if not isinstance(prior, LinearInvertiblePrior):
        diff = mle(prior, A, x0 @ A.T) - x0
        out = np.sum(diff * diff, axis=-1)
        return float(out) if out.ndim == 0 else out
    Z, d = _null_and_range(prior, A)
    tol = max(A.shape) * np.finfo(float).eps * d[0]
    if d.size < A.shape[0] or d[-1] <= tol:
        raise ValueError(
            f"A G must have full row rank m = {A.shape[0]}; got smallest singular value {d[-1]:.3g}"
        )
    s = prior.singular_values
    Zp = Z[:, d.size :]
    w0 = ((x0 - prior.mean) @ prior.left_singular_vectors) / s  # C^{-1}(x0 - mu)
    err_w = (w0 @ Zp) @ Zp.T  # Z_perp Z_perp^T w0, a batch of rows
    out = np.sum((err_w * s) ** 2, axis=-1)
    return float(out) if out.ndim == 0 else out


def _denoise_g(gamma: float, formulation: str) -> float:
    return gamma if formulation == "latent" else gamma / 2.0


def denoising_error(
    s: Any, noise_std: float, gamma: float, *, formulation: str = "latent"
) -> float:
    r"""Expected error of the linear denoiser :math:`\hat x = \Sigma(\Sigma + gI)^{-1} y`.

    .. math:: E\|\hat x - x_0\|^2 = \sum_i \frac{g^2 s_i^2 + s_i^4 \sigma^2}{(s_i^2 + g)^2},

    with ``g = gamma`` for the latent formulation and ``g = gamma / 2`` for the signal one
    (see :func:`denoise`).

    Parameters
    ----------
    s : array_like of shape (n,)
        Singular values of ``G`` (any order).
    noise_std : float
        :math:`\sigma \ge 0`.
    gamma : float
        ``gamma >= 0``.
    formulation : {"latent", "signal"}, default="latent"

    Returns
    -------
    float

    Examples
    --------
    >>> from lininv import denoising_error
    >>> denoising_error([1.0, 1.0], 0.5, 0.25)  # Wiener: 2 * 0.25 * 1 / 1.25
    0.4
    """
    s = as_spectrum("s", s)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    gamma = check_real("gamma", gamma, low=0.0)
    formulation = check_choice("formulation", formulation, ("latent", "signal"))
    g = _denoise_g(gamma, formulation)
    s2 = s**2
    return float(np.sum((g**2 * s2 + s2**2 * noise_std**2) / (s2 + g) ** 2))


def optimal_denoising_gamma(noise_std: float, *, formulation: str = "latent") -> float:
    r"""The ``gamma`` minimising :func:`denoising_error`, for every spectrum.

    Each term :math:`(g^2 s^2 + s^4\sigma^2)/(s^2+g)^2` has derivative
    :math:`2 s^4 (g - \sigma^2)/(s^2 + g)^3`, so ``g = sigma**2`` is optimal whatever ``s``:
    ``gamma = sigma**2`` (latent) or ``gamma = 2 sigma**2`` (signal); the minimum is the Wiener
    error :math:`\sum_i \sigma^2 s_i^2/(s_i^2 + \sigma^2)`.

    Examples
    --------
    >>> from lininv import optimal_denoising_gamma
    >>> optimal_denoising_gamma(0.1, formulation="signal")
    0.020000000000000004
    """
    noise_std = check_real("noise_std", noise_std, low=0.0)
    formulation = check_choice("formulation", formulation, ("latent", "signal"))
    return noise_std**2 if formulation == "latent" else 2.0 * noise_std**2
