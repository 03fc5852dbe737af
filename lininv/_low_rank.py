"""The rank-k linear generator x = mu + G_k z, z ~ N(0, I_k): the linear analogue of a GAN."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._linear_gaussian import LinearGaussian, check_mean
from lininv._prior import LinearInvertiblePrior
from lininv._validation import (
    as_matrix,
    as_vector_or_batch,
    check_int,
    check_spectrum_range,
)

__all__ = ["LowRankPrior", "generator_expected_error"]


class LowRankPrior(LinearGaussian):
    r"""Rank-k linear generator :math:`x = \mu + G_k z`, :math:`G_k \in \mathbb R^{n \times k}`, k < n.

    Its range is a k-dimensional affine subspace, so a signal outside it carries a
    *representation error* that no number of measurements removes (docs/theory.md, section 4).

    Parameters
    ----------
    G : array_like of shape (n, k)
        Generator with full column rank, k < n.
    mean : array_like of shape (n,), optional
        Signal mean (default 0).

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LowRankPrior
    >>> gen = LowRankPrior(np.eye(3)[:, :2])
    >>> float(gen.representation_error(np.array([1.0, 2.0, 3.0])))
    9.0
    """

    def __init__(self, G: Any, mean: Any = None) -> None:
        G = as_matrix("G", G)
        n, k = G.shape
        if k >= n:
            raise ValueError(
                f"G must have shape (n, k) with k < n for a rank-k generator; got {G.shape}"
            )
        mean = check_mean(mean, n)
        U, s, Vt = np.linalg.svd(G, full_matrices=False)
        if s[-1] <= s[0] * (n * np.finfo(float).eps):
            raise ValueError(
                f"G must have full column rank {k}; got smallest singular value {s[-1]:.3g}"
            )
        check_spectrum_range("G", s, "singular values")
        self._set(U, s, Vt, mean, G=G)

    @classmethod
    def from_prior(cls, prior: LinearInvertiblePrior, k: int) -> LowRankPrior:
        """Truncate an invertible prior to its top-``k`` principal directions (PCA generator)."""
        if not isinstance(prior, LinearInvertiblePrior):
            raise TypeError(f"prior must be a LinearInvertiblePrior; got {type(prior).__name__}")
        k = check_int("k", k, low=1, high=prior.n - 1, reason=" (k < n)")
        return cls(prior.factor[:, :k], mean=prior.mean)

    @classmethod
    def fit(cls, X: Any, k: int) -> LowRankPrior:
        """Maximum-likelihood rank-k generator (probabilistic PCA without noise) for rows ``X``."""
        X = as_matrix("X", X)
        k = check_int("k", k, low=1, high=X.shape[1] - 1, reason=" (k < n)")
        mu = X.mean(axis=0)
        _, d, Rt = np.linalg.svd(X - mu, full_matrices=False)
        if d.size < k or d[k - 1] <= d[0] * X.shape[1] * np.finfo(float).eps:
            raise ValueError(
                f"X spans fewer than k = {k} directions; cannot fit a rank-{k} generator"
            )
        return cls(Rt[:k].T * (d[:k] / np.sqrt(X.shape[0])), mean=mu)

    @property
    def k(self) -> int:
        """Latent dimension (rank)."""
        return self.latent_dim

    def __repr__(self) -> str:
        return f"LowRankPrior(n={self.n}, k={self.k})"

    def representation_error(self, x: Any) -> np.ndarray | float:
        r"""The floor :math:`\|(I - P_{\mathrm{range}(G_k)})(x - \mu)\|^2` for signals ``x``.

        No estimator whose output lies in the generator's range does better, whatever the
        number of measurements.

        Parameters
        ----------
        x : array_like of shape (n,) or (k, n)
        """
        x = as_vector_or_batch("x", x, self.n, length_hint=" to match the generator's n")
        r = x - self._mean
        # ||r||^2 - ||U^T r||^2 cancels when r is nearly in range; project explicitly instead.
        resid = r - (r @ self._U) @ self._U.T
        out = np.sum(resid * resid, axis=-1)
        return float(out) if out.ndim == 0 else out

    def expected_representation_error(self, truth: Any) -> float:
        r"""Mean floor over signals from ``truth``: :math:`E_{x}\|(I - P)(x - \mu_k)\|^2`.

        Parameters
        ----------
        truth : LinearInvertiblePrior or LowRankPrior
            Where the signals come from (mean and covariance); any prior of dimension ``n``.

        Notes
        -----
        Equals :math:`\|(I - P) C\|_F^2 + \|(I - P)(\mu_t - \mu_k)\|^2` with ``C =
        truth.factor``, computed from explicit projections (no subtraction of traces). It is the
        limit of the generator's recovery error as ``m`` grows (:func:`generator_expected_error`).
        """
        if not isinstance(truth, (LinearInvertiblePrior, LowRankPrior)):
            raise TypeError(
                f"truth must be a LinearInvertiblePrior or LowRankPrior; got {type(truth).__name__}"
            )
        if truth.n != self.n:
            raise ValueError(
                f"truth must have n = {self.n} to match the generator; got n = {truth.n}"
            )
        C = truth.factor
        resid = C - self._U @ (self._U.T @ C)
        return float(np.sum(resid * resid) + self.representation_error(truth.mean))


def generator_expected_error(generator: LowRankPrior, m: int, *, truth: Any) -> float:
    r"""Exact expected recovery error of the rank-k generator under a truth, Gaussian ``A``.

    The generator's estimate from noiseless Gaussian measurements (:math:`A_{ij} \sim N(0,1/m)`)
    is :math:`\hat x = \mu_k + G_k (AG_k)^+ (y - A\mu_k)`. For :math:`m \ge k + 2`,

    .. math:: E_{A, x_0}\|\hat x - x_0\|^2 = R\,\frac{m - 1}{m - k - 1}, \qquad
              R = E\|(I - P_k)(x_0 - \mu_k)\|^2 ,

    the representation error (:meth:`LowRankPrior.expected_representation_error`): it never
    falls to ``R``, let alone to zero, however many measurements.

    Parameters
    ----------
    generator : LowRankPrior
    m : int
        ``m >= k + 2`` (the expectation is infinite for ``m = k, k + 1``; for ``m < k`` use
        :func:`expected_error` with the generator, a Monte-Carlo estimate).
    truth : LinearInvertiblePrior or LowRankPrior

    Notes
    -----
    Write :math:`x_0 - \mu_k = G_k a + r` with :math:`r \perp \mathrm{range}(G_k)`. The
    in-range part is recovered exactly; :math:`\hat x - x_0 = -r + U_k W^{-1}(AU_k)^T A r`
    with :math:`W = (AU_k)^T AU_k`. For Gaussian ``A``, :math:`Ar` is independent of
    :math:`AU_k` with covariance :math:`\|r\|^2 I/m`, and :math:`E[W^{-1}] = mI/(m - k - 1)`
    (the inverse-Wishart mean), so the second term adds :math:`\|r\|^2 k/(m - k - 1)`.
    """
    if not isinstance(generator, LowRankPrior):
        raise TypeError(f"generator must be a LowRankPrior; got {type(generator).__name__}")
    m = check_int("m", m, low=generator.k + 2, reason=f" (m >= k + 2 = {generator.k + 2})")
    R = generator.expected_representation_error(truth)
    return R * (m - 1) / (m - generator.k - 1)
