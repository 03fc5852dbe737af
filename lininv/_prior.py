"""The linear invertible prior x = mu + G z, z ~ N(0, I_n)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._linear_gaussian import LinearGaussian, check_mean
from lininv._validation import (
    as_matrix,
    as_spectrum,
    as_vector_or_batch,
    check_real,
    check_rng,
    check_spectrum_range,
)

__all__ = ["LinearInvertiblePrior", "haar_orthogonal"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def haar_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw a Haar-distributed orthogonal ``n x n`` matrix (QR of a Gaussian, signs fixed).

    Mezzadri, "How to generate random matrices from the classical compact groups",
    Notices AMS 54 (2007): multiplying the columns of Q by sign(diag(R)) makes Q exactly Haar.
    """
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


class LinearInvertiblePrior(LinearGaussian):
    r"""Linear Gaussian generative prior :math:`x = \mu + G z`, :math:`z \sim N(0, I_n)`.

    Everything is derived from one SVD :math:`G = U \operatorname{diag}(s) V^T`; no inverse is formed.

    Parameters
    ----------
    G : array_like of shape (n, n)
        Invertible generator matrix.
    mean : array_like of shape (n,), optional
        Signal mean :math:`\mu` (default 0). Every estimator and error formula honours it.

    Attributes
    ----------
    n : int
        Signal dimension.
    G : ndarray of shape (n, n)
        The generator.
    mean : ndarray of shape (n,)
        The signal mean.
    singular_values : ndarray of shape (n,)
        Singular values of ``G`` in descending order.
    covariance : ndarray of shape (n, n)
        :math:`\Sigma = G G^T = U \operatorname{diag}(s^2) U^T`.
    log_abs_det : float
        :math:`\log |\det G| = \sum_i \log s_i`.

    Notes
    -----
    The density is

    .. math:: \log p_G(x) = -\tfrac12 \|G^{-1}(x - \mu)\|^2 - \sum_i \log s_i - \tfrac n2 \log 2\pi,

    evaluated as :math:`\|\operatorname{diag}(s)^{-1} U^T (x - \mu)\|^2`. It depends on ``G`` only
    through :math:`\Sigma` (``V`` drops out).

    References
    ----------
    .. [1] M. Asim, M. Daniels, O. Leong, A. Ahmed, P. Hand, "Invertible generative models for
       inverse problems: mitigating representation error and dataset bias", ICML 2020,
       arXiv:1905.11672.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LinearInvertiblePrior
    >>> prior = LinearInvertiblePrior.from_singular_values([2.0, 1.0, 0.5])
    >>> prior.n, prior.singular_values
    (3, array([2. , 1. , 0.5]))
    >>> round(prior.log_prob(np.zeros(3)), 10)  # -sum(log s) - 3/2 log(2 pi)
    -2.7568155996
    """

    def __init__(self, G: Any, mean: Any = None) -> None:
        G = as_matrix("G", G)
        n = G.shape[0]
        if G.shape != (n, n):
            raise ValueError(f"G must be a square matrix of shape (n, n); got {G.shape}")
        mean = check_mean(mean, n)
        U, s, Vt = np.linalg.svd(G)
        # A singular matrix rounds to s_min ~ eps * s_max; anything at or below n * eps * s_max is
        # numerically singular (condition numbers up to ~1e13 at n = 64 are accepted).
        if s[-1] <= s[0] * (n * np.finfo(float).eps):
            raise ValueError(
                "G must be invertible; got smallest singular value "
                f"{s[-1]:.3g} against largest {s[0]:.3g}"
            )
        check_spectrum_range("G", s, "singular values")
        self._set(U, s, Vt, mean, G=G)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def _from_factors(
        cls, U: np.ndarray, s: np.ndarray, Vt: np.ndarray, mean: np.ndarray
    ) -> LinearInvertiblePrior:
        obj = cls.__new__(cls)
        obj._set(U, s, Vt, mean)
        return obj

    @classmethod
    def from_singular_values(
        cls, s: Any, *, rng: Any = None, mean: Any = None
    ) -> LinearInvertiblePrior:
        r"""Prior with the given singular values, :math:`G = U \operatorname{diag}(s) V^T`.

        Parameters
        ----------
        s : array_like of shape (n,)
            Positive singular values, any order.
        rng : None, int, SeedSequence or Generator, default=None
            If given, ``U`` and ``V`` are independent Haar-random orthogonal matrices drawn from it;
            if ``None``, ``U = V = I`` and ``G = diag(s)`` with ``s`` sorted descending.
        mean : array_like of shape (n,), optional
            Signal mean (default 0).
        """
        s = as_spectrum("s", s)
        n = s.size
        mean = check_mean(mean, n)
        if rng is None:
            eye = np.eye(n)
            return cls._from_factors(eye, s, eye.copy(), mean)
        gen = check_rng(rng)
        U = haar_orthogonal(n, gen)
        V = haar_orthogonal(n, gen)
        return cls._from_factors(U, s, V.T.copy(), mean)

    @classmethod
    def from_covariance(cls, Sigma: Any, *, mean: Any = None) -> LinearInvertiblePrior:
        r"""Prior with covariance :math:`\Sigma` (symmetric positive definite), :math:`G = U S`.

        Parameters
        ----------
        Sigma : array_like of shape (n, n)
            Symmetric positive-definite covariance.
        mean : array_like of shape (n,), optional
            Signal mean (default 0).
        """
        Sigma = as_matrix("Sigma", Sigma)
        n = Sigma.shape[0]
        if Sigma.shape != (n, n):
            raise ValueError(f"Sigma must be a square matrix of shape (n, n); got {Sigma.shape}")
        mean = check_mean(mean, n)
        scale = np.max(np.abs(Sigma))
        asym = np.max(np.abs(Sigma - Sigma.T))
        if asym > 1e3 * np.finfo(float).eps * max(scale, np.finfo(float).tiny) * n:
            raise ValueError(f"Sigma must be symmetric; got max |Sigma - Sigma.T| = {asym:.3g}")
        # Halve first where Sigma + Sigma.T would overflow (the same bits otherwise).
        big = scale > 0.25 * np.finfo(float).max
        w, U = np.linalg.eigh(0.5 * Sigma + 0.5 * Sigma.T if big else 0.5 * (Sigma + Sigma.T))
        # eigh is backward stable: each eigenvalue is exact to about n eps w_max, so anything at
        # or below that is indistinguishable from zero (the criterion of ``fit`` and ``__init__``).
        if w[0] <= w[-1] * (n * np.finfo(float).eps):
            raise ValueError(
                f"Sigma must be positive definite; got smallest eigenvalue {w[0]:.3g} against "
                f"largest {w[-1]:.3g} (numerically singular at or below n eps = "
                f"{n * np.finfo(float).eps:.3g} relative)"
            )
        order = np.argsort(w)[::-1]
        s = np.sqrt(w[order])
        check_spectrum_range("Sigma", s, "eigenvalue square roots (the singular values of G)")
        return cls._from_factors(U[:, order], s, np.eye(n), mean)

    @classmethod
    def fit(cls, X: Any, *, reg: float = 0.0) -> LinearInvertiblePrior:
        r"""Maximum-likelihood linear Gaussian for the rows of ``X`` (the best linear flow).

        Parameters
        ----------
        X : array_like of shape (N, n)
            Data, one signal per row; need not be centred.
        reg : float, default=0.0
            Added to the covariance's eigenvalues (:math:`\Sigma + \text{reg}\, I`); use it when the
            data do not span :math:`\mathbb R^n` (e.g. constant pixels).

        Notes
        -----
        :math:`\hat\mu = \bar x`, :math:`\hat\Sigma = \frac1N \sum_k (x_k - \bar x)(x_k - \bar x)^T`,
        computed from the thin SVD of the centred data :math:`X_c = W D R^T`:
        :math:`\hat\Sigma = R\, \operatorname{diag}(D^2/N + \text{reg})\, R^T`, so ``G = R diag(s)``.
        """
        X = as_matrix("X", X)
        reg = check_real("reg", reg, low=0.0)
        N, n = X.shape
        if N < 2:
            raise ValueError(f"X must have at least 2 rows to fit a covariance; got {N}")
        mu = X.mean(axis=0)
        # Thin SVD when N >= n (Rt is n x n either way); the left factor is never needed.
        _, d, Rt = np.linalg.svd(X - mu, full_matrices=N < n)
        # Variances in units of 4**e (exact power-of-two scaling, so the same bits as d**2 / N +
        # reg whenever those are representable): d**2 cannot overflow and s = 2**e sqrt(var).
        e = int(np.frexp(d[0])[1]) if d.size else 0
        var = np.zeros(n)
        var[: d.size] = np.ldexp(d, -e) ** 2 / N
        var += np.ldexp(reg, -2 * e)
        if var[-1] <= 0.0 or var[-1] <= var[0] * n * np.finfo(float).eps:
            smallest = np.ldexp(var[-1], 2 * e)
            raise ValueError(
                f"X (shape {X.shape}) does not span R^{n}: the fitted covariance is singular "
                f"(smallest variance {smallest:.3g}); pass reg > 0 or dequantise the data"
            )
        s = np.ldexp(np.sqrt(var), e)
        check_spectrum_range("X", s, "principal standard deviations (the singular values of G)")
        return cls._from_factors(Rt.T.copy(), s, np.eye(n), mu)

    # -- attributes ----------------------------------------------------------------------------

    @property
    def log_abs_det(self) -> float:
        """:math:`\\log|\\det G| = \\sum_i \\log s_i`."""
        return float(np.sum(np.log(self._s)))

    def __repr__(self) -> str:
        s = self._s
        return (
            f"LinearInvertiblePrior(n={self.n}, s_max={s[0]:.3g}, s_min={s[-1]:.3g}, "
            f"cond={s[0] / s[-1]:.3g})"
        )

    # -- densities and maps --------------------------------------------------------------------

    def _whiten(self, x: np.ndarray) -> np.ndarray:
        """``diag(1/s) U^T (x - mu)`` for x of shape (..., n); equals ``V^T G^{-1}(x - mu)``."""
        return ((x - self._mean) @ self._U) / self._s

    def log_prob(self, x: Any) -> np.ndarray | float:
        """Exact log-density :math:`\\log p_G(x)`.

        Parameters
        ----------
        x : array_like of shape (n,) or (k, n)

        Returns
        -------
        float or ndarray of shape (k,)
        """
        x = as_vector_or_batch("x", x, self.n, length_hint=" to match the prior's n")
        w = self._whiten(x)
        out = -0.5 * np.sum(w * w, axis=-1) - self.log_abs_det - 0.5 * self.n * _LOG_2PI
        return float(out) if out.ndim == 0 else out

    def to_latent(self, x: Any) -> np.ndarray:
        """:math:`z = G^{-1}(x - \\mu) = V \\operatorname{diag}(1/s) U^T (x - \\mu)`."""
        x = as_vector_or_batch("x", x, self.n, length_hint=" to match the prior's n")
        return self._whiten(x) @ self._Vt

    def to_signal(self, z: Any) -> np.ndarray:
        """:math:`x = \\mu + G z`."""
        z = as_vector_or_batch("z", z, self.n, length_hint=" to match the prior's n")
        return self._mean + z @ self.G.T
