"""The shared base of the two linear Gaussian models x = mu + G z (invertible and rank-k)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._validation import as_vector_or_batch, check_int, check_rng

__all__ = ["LinearGaussian"]


class LinearGaussian:
    r"""Base of :class:`~lininv.LinearInvertiblePrior` and :class:`~lininv.LowRankPrior`.

    Both are :math:`x = \mu + G z` with :math:`z \sim N(0, I_k)` and :math:`G \in \mathbb
    R^{n \times k}` of full column rank (``k = n`` for the invertible prior, ``k < n`` for the
    generator), stored through one thin SVD :math:`G = U \operatorname{diag}(s) V^T`. This base
    holds what the two share: the factors, the attributes derived from them, and sampling.
    Subclasses validate their input and call :meth:`_set`.
    """

    _U: np.ndarray
    _s: np.ndarray
    _Vt: np.ndarray
    _mean: np.ndarray
    _G: np.ndarray | None

    def _set(
        self,
        U: np.ndarray,
        s: np.ndarray,
        Vt: np.ndarray,
        mean: np.ndarray,
        G: np.ndarray | None = None,
    ) -> None:
        self._U, self._s, self._Vt, self._mean = U, s, Vt, mean
        self._G = G

    @property
    def n(self) -> int:
        """Signal dimension."""
        return int(self._U.shape[0])

    @property
    def latent_dim(self) -> int:
        """Latent dimension ``k`` (``n`` for an invertible prior)."""
        return int(self._s.size)

    @property
    def G(self) -> np.ndarray:
        """The generator matrix, shape (n, k) (as given, or ``U diag(s) V^T``)."""
        if self._G is None:
            self._G = (self._U * self._s) @ self._Vt
        return self._G

    @property
    def mean(self) -> np.ndarray:
        """Signal mean :math:`\\mu`, shape (n,)."""
        return self._mean

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values of ``G``, descending, shape (k,)."""
        return self._s

    @property
    def left_singular_vectors(self) -> np.ndarray:
        """``U`` of the SVD of ``G``, shape (n, k): the covariance's eigenvectors in order of ``s``."""
        return self._U

    @property
    def factor(self) -> np.ndarray:
        """Square-root factor ``U diag(s)``, shape (n, k): ``factor @ factor.T == covariance``."""
        return self._U * self._s

    @property
    def covariance(self) -> np.ndarray:
        """Covariance :math:`G G^T = U \\operatorname{diag}(s^2) U^T`, shape (n, n)."""
        C = self._U * self._s
        return C @ C.T

    def sample(self, size: int, *, rng: Any = None) -> np.ndarray:
        """Draw ``size`` signals :math:`x = \\mu + G z`, returned as rows of shape (size, n)."""
        size = check_int("size", size, low=0)
        gen = check_rng(rng)
        z = gen.standard_normal((size, self.latent_dim))
        return self._mean + z @ self.G.T


def check_mean(mean: Any, n: int) -> np.ndarray:
    """The signal mean as a fresh float array of shape (n,); zeros for ``None``."""
    if mean is None:
        return np.zeros(n)
    arr = as_vector_or_batch("mean", mean, n, length_hint=" to match the prior's n")
    if arr.ndim != 1:
        raise ValueError(f"mean must have shape ({n},); got {arr.shape}")
    return arr.copy()
