"""The rank-k linear generator x = mu + G_k z, z ~ N(0, I_k): the linear analogue of a GAN."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._prior import LinearInvertiblePrior, _mean
from lininv._validation import (
    as_matrix,
    as_vector_or_batch,
    check_int,
    check_rng,
    check_spectrum_range,
)

__all__ = ["LowRankPrior"]


class LowRankPrior:
    r"""Rank-k linear generator :math:`x = \mu + G_k z`, :math:`G_k \in \mathbb R^{n \times k}`, k < n.

    Its range is a k-dimensional affine subspace, so a signal outside it carries a
    *representation error* that no number of measurements removes (THEORY.md section 4).

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
        mean = _mean(mean, n)
        U, s, Vt = np.linalg.svd(G, full_matrices=False)
        if s[-1] <= s[0] * (n * np.finfo(float).eps):
            raise ValueError(
                f"G must have full column rank {k}; got smallest singular value {s[-1]:.3g}"
            )
        check_spectrum_range("G", s, "singular values")
        self._G = G
        self._U, self._s, self._Vt = U, s, Vt
        self._mean = mean

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
    def n(self) -> int:
        """Signal dimension."""
        return int(self._G.shape[0])

    @property
    def k(self) -> int:
        """Latent dimension (rank)."""
        return int(self._G.shape[1])

    @property
    def G(self) -> np.ndarray:
        """The generator, shape (n, k)."""
        return self._G

    @property
    def mean(self) -> np.ndarray:
        """Signal mean."""
        return self._mean

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values of ``G``, descending, shape (k,)."""
        return self._s

    @property
    def factor(self) -> np.ndarray:
        """``U_k diag(s)``, shape (n, k): same range and covariance as ``G``."""
        return self._U * self._s

    def __repr__(self) -> str:
        return f"LowRankPrior(n={self.n}, k={self.k})"

    def sample(self, size: int, *, rng: Any = None) -> np.ndarray:
        """Draw ``size`` signals of shape (size, n), all lying in the generator's range."""
        size = check_int("size", size, low=0)
        gen = check_rng(rng)
        return self._mean + gen.standard_normal((size, self.k)) @ self._G.T

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

    def expected_representation_error(self, prior: LinearInvertiblePrior) -> float:
        r"""Mean floor over signals from ``prior``: :math:`E_{x \sim p_G}\|(I - P)(x - \mu_k)\|^2`.

        Equals :math:`\|(I - P) C\|_F^2 + \|(I - P)(\mu_G - \mu_k)\|^2` with ``C = prior.factor``,
        computed from explicit projections (no subtraction of traces).
        """
        if not isinstance(prior, LinearInvertiblePrior):
            raise TypeError(f"prior must be a LinearInvertiblePrior; got {type(prior).__name__}")
        if prior.n != self.n:
            raise ValueError(
                f"prior must have n = {self.n} to match the generator; got n = {prior.n}"
            )
        C = prior.factor
        resid = C - self._U @ (self._U.T @ C)
        return float(np.sum(resid * resid) + self.representation_error(prior.mean))
