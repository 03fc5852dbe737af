r"""Exact recovery errors for a given measurement matrix (docs/theory.md, sections 3-4).

The error formulas avoid the subtraction :math:`\operatorname{tr}\Sigma - \operatorname{tr}(\dots)`,
which loses all accuracy when the error is small against :math:`\operatorname{tr}\Sigma`. With
:math:`B = A U \operatorname{diag}(s)` and the full SVD :math:`B^T = Z \operatorname{diag}(d) W^T`
(``Z`` square), the posterior covariance trace is a sum of non-negative terms:

.. math:: \operatorname{tr}\,\mathrm{Cov}(x_0 \mid y)
          = \|S Z_\perp\|_F^2 + \sum_j \frac{\sigma^2}{d_j^2 + \sigma^2} \|S z_j\|^2,

with :math:`S = \operatorname{diag}(s)`, :math:`z_j` the columns of ``Z`` paired with ``d_j`` and
:math:`Z_\perp` the remaining columns (a basis of the null space of ``B``).

The errors are homogeneous of degree 0 in ``(A, noise_std)``; like the estimators they are
evaluated scale-invariantly, with exact power-of-two scalings (module
:mod:`lininv._estimators`), so that ``A`` and the noise may have any representable size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._estimators import mle
from lininv._low_rank import LowRankPrior
from lininv._mismatch import check_truth, truth_factor
from lininv._prior import LinearInvertiblePrior
from lininv._scaled import (
    _exponent,
    _rank_tol,
    _square,
    _unscale,
    check_operator,
    check_prior,
    scaled_product,
)
from lininv._validation import as_spectrum, as_vector_or_batch, check_choice, check_real

__all__ = [
    "conditional_error",
    "signal_error",
    "denoising_error",
    "optimal_denoising_gamma",
]


def _null_and_range(
    prior: LinearInvertiblePrior, A: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Full SVD of ``B^T = diag(s) U^T A^T`` scaled by ``2**-t``: ``Z`` (n x n), ``d``, ``t``.

    The singular values of ``B`` are ``2**t d``; ``Z`` does not depend on the scaling
    (:func:`lininv._scaled.scaled_product`: no under- or overflow, the same bits otherwise).
    """
    B, t = scaled_product(A, prior.factor)
    Z, d, _ = np.linalg.svd(B.T, full_matrices=True)
    return Z, d, t


def _noise_fractions(SZ2: np.ndarray, d: np.ndarray, t: int, noise_std: float) -> np.ndarray:
    r"""The terms :math:`\|S z_j\|^2 \sigma^2 / (d_j^2 + \sigma^2)` for singular values ``2**t d``.

    With :math:`\sigma^2 = 4^{e_\sigma} p` and :math:`d_j = 2^{t + e_j}\delta_j` (``p``,
    :math:`\delta_j` of order one), each term is scaled by its own :math:`4^{-T_j}`,
    :math:`T_j = \max(t + e_j, e_\sigma)`, so that the larger of :math:`d_j, \sigma` is of order one:

    .. math:: \|S z_j\|^2 \frac{\sigma^2}{d_j^2 + \sigma^2} = 4^{e_\sigma - T_j}
              \|S z_j\|^2 \frac{p}{(2^{-T_j} d_j)^2 + 4^{e_\sigma - T_j} p}.

    Nothing under- or overflows, whatever the ratio :math:`d_j/\sigma`; powers of two are exact,
    so these are the bits of the plain formula wherever that is representable.
    """
    p, e_sigma = _square(noise_std)
    e_d = np.where(d > 0.0, t + np.frexp(d)[1], e_sigma)  # a zero d_j gives a fraction of one
    T = np.maximum(e_d, e_sigma)
    dj = np.ldexp(d, t - T)
    frac = p / (dj * dj + np.ldexp(p, 2 * (e_sigma - T)))
    with np.errstate(over="ignore"):
        return np.ldexp(SZ2[: d.size] * frac, 2 * (e_sigma - T))


def conditional_error(
    prior: LinearInvertiblePrior | LowRankPrior,
    A: Any,
    noise_std: float = 0.0,
    *,
    truth: LinearInvertiblePrior | LowRankPrior | None = None,
) -> float:
    r"""Expected squared error of the posterior mean for a *given* ``A``.

    .. math:: E_{x_0, \eta}\|\hat x - x_0\|^2 = \operatorname{tr}\Sigma
              - \operatorname{tr}\big(\Sigma A^T (A\Sigma A^T + \sigma^2 I)^{-1} A \Sigma\big),

    the trace of the posterior covariance; with ``noise_std = 0`` this is the error of
    :func:`mle`, :math:`\|G(I - QQ^T)\|_F^2` with ``Q`` a basis of :math:`\mathrm{range}((AG)^T)`.
    With ``truth``, the estimator still uses ``prior`` while ``x0`` is drawn from ``truth``
    (dataset bias, see Notes).

    Parameters
    ----------
    prior : LinearInvertiblePrior or LowRankPrior
        The prior of the estimator (:func:`map_estimate`, or :func:`mle` without noise). A
        :class:`LowRankPrior` (the rank-k generator) needs ``truth``: its own signals are
        recovered exactly once ``m >= k``.
    A : array_like of shape (m, n)
        ``m <= n`` and ``A G`` of full row rank when ``noise_std = 0`` and the prior is
        invertible; any ``m`` otherwise.
    noise_std : float, default=0.0
    truth : LinearInvertiblePrior or LowRankPrior, optional
        The distribution of ``x0``: mean ``truth.mean``, covariance ``truth.factor @
        truth.factor.T`` (a :class:`LowRankPrior` truth puts the data on a subspace). ``None``
        or ``prior`` itself: the matched case (the same numbers, to the last bit).

    Returns
    -------
    float

    Notes
    -----
    Matched: evaluated as the sum of non-negative terms in the module docstring (no
    cancellation). Mismatched, with :math:`x_0 - \mu = U S v_0`, the estimator's latent error
    is :math:`\hat v - v_0 = -Z\Lambda Z^T v_0 + K B^T\eta`, with
    :math:`\Lambda = \mathrm{diag}(\sigma^2/(d_j^2 + \sigma^2))` on the range of :math:`B^T`
    and 1 on its null space (0 on the range without noise). With the truth's second moment
    about the prior's mean :math:`M = FF^T` (:func:`lininv._mismatch.truth_factor`) and
    :math:`W = S^{-1}U^T F`,

    .. math:: E_{x_0,\eta}\|\hat x - x_0\|^2 = \|S Z \Lambda Z^T W\|_F^2
              + \sum_j \Lambda_j (1 - \Lambda_j) \|S z_j\|^2 ,

    again sums of squares, and the matched formula when ``W`` is orthogonal. Noiseless, this is
    :math:`\operatorname{tr}(G^TG(I-P)C(I-P)) + \|G(I-P)d\|^2` with
    :math:`C = G^{-1}\Sigma_tG^{-T}`, :math:`d = G^{-1}(\mu_t - \mu)` (docs/theory.md,
    section 10). For a :class:`LowRankPrior` ``prior`` the error is
    :math:`\|(I - G_k K B^T A)F\|_F^2 + \sigma^2\|G_k K B^T\|_F^2` with :math:`B = AG_k`
    and :math:`K B^T` its (regularised) pseudo-inverse: it never falls below the generator's
    representation error :math:`\|(I - P_k) F\|_F^2`.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LinearInvertiblePrior, conditional_error
    >>> prior = LinearInvertiblePrior.from_singular_values([2.0, 1.0])
    >>> conditional_error(prior, np.array([[1.0, 0.0]]))  # the unobserved variance
    1.0
    """
    prior = check_prior(prior)
    truth = check_truth(prior, truth)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    if isinstance(prior, LowRankPrior):
        if truth is None:
            raise ValueError(
                "truth must be given for a LowRankPrior prior (a LinearInvertiblePrior or "
                "LowRankPrior the signals come from); got None"
            )
        A = check_operator(prior, A)
        return _generator_error(prior, A, noise_std, truth_factor(prior, truth))
    invertible = prior.n if noise_std == 0.0 else None
    A = check_operator(prior, A, max_rows=invertible)
    Z, d, t = _null_and_range(prior, A)
    s = prior.singular_values
    SZ2 = np.sum((s[:, None] * Z) ** 2, axis=0)  # ||S z_j||^2 for every column j
    r = d.size
    if noise_std == 0.0:
        tol = max(A.shape) * np.finfo(float).eps * d[0]
        if d.size < A.shape[0] or d[-1] <= tol:
            raise ValueError(
                f"A G must have full row rank m = {A.shape[0]} for the noiseless error; got "
                f"smallest singular value {np.ldexp(d[-1], t):.3g}"
            )
        if truth is None:
            return float(np.sum(SZ2[r:]))
    elif truth is None:
        return float(np.sum(SZ2[r:]) + np.sum(_noise_fractions(SZ2, d, t, noise_std)))
    return _mismatched_error(prior, Z, d, t, noise_std, SZ2, truth_factor(prior, truth))


def _shrinkage(d: np.ndarray, t: int, noise_std: float, n: int) -> np.ndarray:
    r""":math:`\Lambda_j = \sigma^2/(d_j^2 + \sigma^2)` for singular values ``2**t d``; 1 beyond.

    Computed as :math:`1/(1 + \rho_j^2)` with :math:`\rho_j = d_j/\sigma` formed from mantissas
    and exponents, so that no ratio under- or overflows to a wrong value (an infinite ratio
    gives 0, a vanishing one 1, as they should).
    """
    lam = np.ones(n)
    if noise_std == 0.0:
        lam[: d.size] = 0.0
        return lam
    mant, e = np.frexp(noise_std)
    with np.errstate(over="ignore", under="ignore"):
        rho = np.ldexp(d / mant, t - e)
        lam[: d.size] = 1.0 / (1.0 + rho * rho)
    return lam


def _mismatched_error(
    prior: LinearInvertiblePrior,
    Z: np.ndarray,
    d: np.ndarray,
    t: int,
    noise_std: float,
    SZ2: np.ndarray,
    F: np.ndarray,
) -> float:
    """The mismatched error of the Notes of :func:`conditional_error`, as sums of squares."""
    s = prior.singular_values
    lam = _shrinkage(d, t, noise_std, prior.n)
    W = (prior.left_singular_vectors.T @ F) / s[:, None]  # S^-1 U^T F, latent coordinates
    w = int(_exponent(W))
    C = lam[:, None] * (Z.T @ np.ldexp(W, -w))  # Lambda Z^T W, scaled by 2**-w
    R = (s[:, None] * Z) @ C  # S Z Lambda Z^T W
    bias = _squared_norms(R.ravel(), np.array(w), "the squared error")
    variance = float(np.sum(SZ2 * (lam * (1.0 - lam))))  # 0 without noise
    return float(bias) + variance


def _generator_error(gen: LowRankPrior, A: np.ndarray, noise_std: float, F: np.ndarray) -> float:
    """The rank-k generator's error under a truth with second moment ``F F^T`` (Notes above)."""
    B, t = scaled_product(A, gen.factor)  # A U_k S_k = 2**t B
    Wd, d, Zt = np.linalg.svd(B, full_matrices=False)
    if noise_std == 0.0:
        keep = d > _rank_tol(d, B.shape)  # the pseudo-inverse: min-norm for m < k
        g = np.where(keep, 1.0 / np.where(keep, d, 1.0), 0.0)
    else:
        mant, e = np.frexp(noise_std)
        sig = np.ldexp(mant, e - t)  # noise in the units of B
        g = d / (d * d + sig * sig)
    AF, a = scaled_product(A, F)  # A F = 2**a AF
    coef = Zt.T @ (g[:, None] * (Wd.T @ AF))  # K B^T A F in units 2**(a - t)
    fit = gen.factor @ coef
    f = int(_exponent(F))
    # (G_k K B^T A - I) F, every term in units of 2**f
    R = np.ldexp(fit, a - t - f) - np.ldexp(F, -f)
    bias = float(_squared_norms(R.ravel(), np.array(f), "the squared error"))
    if noise_std == 0.0:
        return bias
    # sigma^2 ||U_k S_k Zt^T diag(g)||_F^2 = sum_j (sig g_j)^2 ||S_k zt_j||^2 (U_k orthonormal)
    Sz2 = np.sum((gen.singular_values[:, None] * Zt.T) ** 2, axis=0)
    return bias + float(np.sum(Sz2 * (sig * g) ** 2))


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
        # The MLE is invariant to scaling A and y together: use A / 2**a, of order one.
        As = np.ldexp(A, -int(_exponent(A)))
        diff = mle(prior, As, x0 @ As.T) - x0
        return _squared_norms(
            diff, np.zeros(diff.shape[:-1] + (1,), dtype=int), "the squared error"
        )
    Z, d, t = _null_and_range(prior, A)
    tol = max(A.shape) * np.finfo(float).eps * d[0]
    if d.size < A.shape[0] or d[-1] <= tol:
        raise ValueError(
            f"A G must have full row rank m = {A.shape[0]}; got smallest singular value "
            f"{np.ldexp(d[-1], t):.3g}"
        )
    s = prior.singular_values
    Zp = Z[:, d.size :]
    # x0 - mu = 2**e r per row, so that the difference cannot overflow.
    mu = prior.mean
    e = np.maximum(_exponent(x0, axis=-1), _exponent(mu))
    r = np.ldexp(x0, -e) - np.ldexp(mu, -e)
    w0 = (r @ prior.left_singular_vectors) / s  # 2**-e C^{-1}(x0 - mu)
    err_w = (w0 @ Zp) @ Zp.T  # Z_perp Z_perp^T w0, a batch of rows
    return _squared_norms(err_w * s, e, "the squared error")


def _squared_norms(v: np.ndarray, e: np.ndarray, what: str) -> np.ndarray | float:
    """Squared norms of the rows of ``2**e v`` (``e`` one exponent per row, shape (..., 1)).

    Each row is scaled to its largest entry before squaring, so neither the squares nor their
    sum under- or overflow unless the result itself is out of range (ValueError naming ``what``).
    """
    c = _exponent(v, axis=-1)
    vs = np.ldexp(v, -c)
    out = _unscale(np.sum(vs * vs, axis=-1, keepdims=True), 2 * (e + c), what)[..., 0]
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
    return float(_unscale(np.sum(_denoising_terms(s, noise_std, g)), 0, "the expected error"))


def _denoising_terms(s: np.ndarray, sigma: float, g: float) -> np.ndarray:
    r"""The terms :math:`(g^2 s_i^2 + s_i^4\sigma^2)/(s_i^2 + g)^2` at any scale.

    Each term is homogeneous of degree 2 in :math:`(s_i, \sigma, \sqrt g)`. It is evaluated
    in units of :math:`4^{e_i}`, :math:`2^{e_i}` the largest of the three; the scalings are exact
    powers of two, so this gives the plain formula's bits wherever that is representable. Where
    some ingredient is so much smaller than the largest that its powers would underflow in those
    units, the term is taken instead as :math:`(s_i a_i)^2 + (\sigma b_i)^2` with
    :math:`a_i = g/(s_i^2 + g)`, :math:`b_i = s_i^2/(s_i^2 + g)`, each factor a mantissa of
    order one times a power of two.
    """
    sig2, e_sig = _square(sigma)  # sigma^2 = sig2 4**e_sig
    g2, e_g = _square(g)  # g^2 = g2 4**e_g (and g = 2**e_g (.))
    e = np.maximum(np.maximum(np.frexp(s)[1], e_sig), (e_g + 1) // 2)
    sp, sigp, gp = np.ldexp(s, -e), np.ldexp(sigma, -e), np.ldexp(g, -2 * e)
    # The plain formula in these units neither under- nor overflows when every nonzero
    # ingredient is at least 2^-150 of the unit (all products stay above 2^-900).
    safe = (
        (sp >= 2.0**-100)
        & ((g == 0.0) | (gp >= 2.0**-300))
        & ((sigma == 0.0) | (sigp >= 2.0**-150))
    )
    with np.errstate(under="ignore", divide="ignore", invalid="ignore"):
        sp2 = sp**2
        num = np.ldexp(g2, 2 * e_g - 4 * e) * sp2 + sp2**2 * np.ldexp(sig2, 2 * e_sig - 2 * e)
        plain = np.ldexp(num / (sp2 + gp) ** 2, 2 * e)
    if np.all(safe):
        return plain
    s2 = s**2
    f, h = np.frexp(s2)[1], np.frexp(np.maximum(s2, g))[1]
    den = np.ldexp(s2, -h) + np.ldexp(g, -h)  # (s^2 + g) / 2**h, in [0.5, 2)
    s_m, e_s = np.frexp(s)
    g_m, e_gm = np.frexp(g)
    sig_m, e_sm = np.frexp(sigma)
    sa = s_m * g_m / den  # s a = 2**(e_s + e_gm - h) sa
    sb = sig_m * np.ldexp(s2, -f) / den  # sigma b = 2**(e_sm + f - h) sb
    with np.errstate(over="ignore", under="ignore"):
        robust = np.ldexp(sa * sa, 2 * (e_s + e_gm - h)) + np.ldexp(sb * sb, 2 * (e_sm + f - h))
    return np.where(safe, plain, robust)


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
