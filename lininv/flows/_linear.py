r"""Linear bijectors: fixed permutations, the LU-parameterised linear layer, activation norm."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.blas import dtrsm

from lininv._validation import as_matrix, as_vector_or_batch, describe
from lininv.flows._base import Bijector, check_dimension, register

__all__ = ["Permutation", "LULinear", "ActNorm"]


@register
class Permutation(Bijector):
    r"""A fixed permutation of the coordinates, :math:`x_i = z_{\pi(i)}`.

    Parameters
    ----------
    perm : array_like of int, shape (n,)
        A permutation of ``0, ..., n-1``; ``forward(z) = z[:, perm]``.

    Notes
    -----
    Volume preserving: both log-determinants are 0. No trainable parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import Permutation
    >>> p = Permutation.reverse(3)
    >>> p.forward(np.array([1.0, 2.0, 3.0]))
    (array([3., 2., 1.]), 0.0)
    """

    def __init__(self, perm: Any) -> None:
        arr = np.asarray(perm)
        if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"perm must be a non-empty 1-D integer array; got {describe(perm)}")
        n = arr.size
        if not np.array_equal(np.sort(arr), np.arange(n)):
            raise ValueError(f"perm must be a permutation of 0..{n - 1}; got {describe(perm)}")
        super().__init__(n)
        self.perm = arr.astype(np.intp)
        self.inv_perm = np.argsort(self.perm).astype(np.intp)

    @classmethod
    def reverse(cls, n: int) -> Permutation:
        """The reversal ``n-1, ..., 0``."""
        n = check_dimension(n)
        return cls(np.arange(n)[::-1].copy())

    @classmethod
    def random(cls, n: int, *, rng: Any = None) -> Permutation:
        """A uniformly random permutation drawn from ``rng``."""
        from lininv._validation import check_rng

        n = check_dimension(n)
        return cls(check_rng(rng).permutation(n))

    def _forward(self, z, keep):
        return z[:, self.perm], np.zeros(z.shape[0]), None

    def _inverse(self, x, keep):
        return x[:, self.inv_perm], np.zeros(x.shape[0]), None

    def _forward_vjp(self, cache, gx, gld, grads):
        return gx[:, self.inv_perm]

    def _inverse_vjp(self, cache, gz, gld, grads):
        return gz[:, self.perm]

    def _buffers(self):
        return {"perm": self.perm}

    @classmethod
    def _from_config(cls, config, buffers):
        obj = cls(buffers["perm"])
        if obj.n != config["n"]:
            raise ValueError(f"permutation of length {obj.n} does not match n = {config['n']}")
        return obj


@register
class LULinear(Bijector):
    r"""Invertible linear layer :math:`x = L U z`, LU-parameterised (Glow's 1x1 convolution).

    Parameters
    ----------
    n : int
        Dimension.

    The layer starts at the identity; use :meth:`from_factors` (or
    :func:`lininv.flows.trainable_linear_flow`) for another start. Trainable parameters: the strict
    lower triangle of ``L`` (``lower``, unit diagonal implied), the strict upper triangle of ``U``
    (``upper``) and ``log_diag`` with :math:`U_{ii} = \mathrm{sign}_i \exp(\texttt{log\_diag}_i)`
    (the signs are fixed).

    Notes
    -----
    .. math:: \log\left|\det \frac{\partial x}{\partial z}\right| = \sum_i \texttt{log\_diag}_i,

    read off the factor's diagonal, never ``log(det)``. The inverse is two triangular solves on the
    whole batch (BLAS-3 ``trsm``); no inverse matrix is formed. A permutation ``P`` in front
    (:class:`Permutation`) gives the general ``W = P L U``.

    References
    ----------
    .. [1] D. P. Kingma, P. Dhariwal, "Glow: generative flow with invertible 1x1 convolutions",
       NeurIPS 2018, section 3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import LULinear
    >>> layer = LULinear.from_factors(np.array([[1.0, 0.0], [0.5, 1.0]]), np.diag([2.0, 4.0]))
    >>> x, ld = layer.forward(np.array([1.0, 1.0]))
    >>> x, bool(np.isclose(ld, np.log(8.0)))
    (array([2., 5.]), True)
    """

    def __init__(self, n: int) -> None:
        n = check_dimension(n)
        super().__init__(n)
        m = n * (n - 1) // 2
        self._il = np.tril_indices(n, -1)
        self._iu = np.triu_indices(n, 1)
        self.params = {"lower": np.zeros(m), "upper": np.zeros(m), "log_diag": np.zeros(n)}
        self.sign = np.ones(n)

    @classmethod
    def from_factors(cls, L: Any, U: Any) -> LULinear:
        """Layer with ``W = L U`` from a unit lower-triangular ``L`` and an upper-triangular ``U``.

        Parameters
        ----------
        L : array_like of shape (n, n)
            Unit lower triangular (entries above the diagonal must be 0, diagonal 1).
        U : array_like of shape (n, n)
            Upper triangular with a non-zero diagonal.
        """
        L = as_matrix("L", L)
        n = L.shape[0]
        U = as_matrix("U", U, shape=(n, n), shape_hint=" to match L")
        if L.shape != (n, n):
            raise ValueError(f"L must be square; got shape {L.shape}")
        if np.any(np.triu(L, 1) != 0) or np.any(np.diag(L) != 1):
            raise ValueError("L must be unit lower triangular (zeros above a diagonal of ones)")
        if np.any(np.tril(U, -1) != 0):
            raise ValueError("U must be upper triangular (zeros below the diagonal)")
        d = np.diag(U)
        if np.any(d == 0):
            raise ValueError("U must have a non-zero diagonal (an invertible layer)")
        return cls._from_factors(L, U)

    @classmethod
    def _from_factors(cls, L: np.ndarray, U: np.ndarray) -> LULinear:
        """:meth:`from_factors` for valid float factors (e.g. from ``scipy.linalg.lu``)."""
        d = np.diag(U)
        obj = cls(L.shape[0])
        obj.params["lower"][:] = L[obj._il]
        obj.params["upper"][:] = U[obj._iu]
        obj.params["log_diag"][:] = np.log(np.abs(d))
        obj.sign = np.sign(d)
        return obj

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        """The current ``(L, U)``."""
        n = self.n
        L = np.eye(n, order="F")
        L[self._il] = self.params["lower"]
        U = np.zeros((n, n), order="F")
        U[self._iu] = self.params["upper"]
        U[np.diag_indices(n)] = self.sign * np.exp(self.params["log_diag"])
        return L, U

    def matrix(self) -> np.ndarray:
        """The matrix ``W = L U`` with ``x = W z``."""
        L, U = self.factors()
        return L @ U

    def _forward(self, z, keep):
        L, U = self.factors()
        W = L @ U
        x = z @ W.T
        ld = np.full(z.shape[0], float(np.sum(self.params["log_diag"])))
        return x, ld, ((z, L, U) if keep else None)

    def _inverse(self, x, keep):
        L, U = self.factors()
        # columns: L a = x, U z = a; rows are passed transposed (Fortran order, no copy)
        a = dtrsm(1.0, L, x.T, lower=1, diag=1)
        zt = dtrsm(1.0, U, a, lower=0)
        ld = np.full(x.shape[0], -float(np.sum(self.params["log_diag"])))
        return zt.T, ld, ((zt, a, L, U) if keep else None)

    def _forward_vjp(self, cache, gx, gld, grads):
        z, L, U = cache
        if grads is not None:
            gW = gx.T @ z  # x = W z summed over the batch
            gL = gW @ U.T
            gU = L.T @ gW
            self._write_grads(grads, gL, gU, U, 0.0 if gld is None else float(np.sum(gld)))
        return gx @ (L @ U)

    def _inverse_vjp(self, cache, gz, gld, grads):
        zt, a, L, U = cache
        ga = dtrsm(1.0, U, gz.T, lower=0, trans_a=1)  # U^T ga = gz
        gxt = dtrsm(1.0, L, ga, lower=1, trans_a=1, diag=1)  # L^T gx = ga
        if grads is not None:
            gU = -(ga @ zt.T)  # z = U^{-1} a:  dU = -U^{-T} gz z^T
            gL = -(gxt @ a.T)  # a = L^{-1} x:  dL = -L^{-T} ga a^T
            self._write_grads(grads, gL, gU, U, 0.0 if gld is None else -float(np.sum(gld)))
        return gxt.T

    def _write_grads(self, grads, gL, gU, U, gld_sum):
        grads["lower"][:] = gL[self._il]
        grads["upper"][:] = gU[self._iu]
        grads["log_diag"][:] = np.diag(gU) * np.diag(U) + gld_sum

    def _buffers(self):
        return {"sign": self.sign}

    def _set_buffers(self, buffers):
        sign = np.asarray(buffers["sign"], dtype=float)
        if sign.shape != (self.n,) or not np.all(np.abs(sign) == 1):
            raise ValueError(f"LULinear sign buffer must be {self.n} entries of +-1")
        self.sign = sign


@register
class ActNorm(Bijector):
    r"""Activation normalisation :math:`x = e^{a} \odot z + b` with data-dependent initialisation.

    Parameters
    ----------
    n : int
        Dimension.

    Trainable parameters ``log_scale`` (``a``, shape (n,)) and ``bias`` (``b``, shape (n,)), both
    zero until :meth:`initialize` sets them from data.

    Notes
    -----
    .. math:: \log\left|\det \frac{\partial x}{\partial z}\right| = \sum_i a_i.

    :meth:`initialize` takes samples arriving at the *signal* side of the layer and sets
    :math:`b = \bar x` and :math:`a = \log \mathrm{std}(x)`, so that the layer's latent output has zero
    mean and unit variance per coordinate (a standard deviation is floored at 1e-6 so that a
    constant coordinate gives a finite scale).

    References
    ----------
    .. [1] D. P. Kingma, P. Dhariwal, "Glow: generative flow with invertible 1x1 convolutions",
       NeurIPS 2018, section 3.1.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import ActNorm
    >>> layer = ActNorm(2)
    >>> layer.initialize(np.array([[0.0, 1.0], [2.0, 5.0]]))
    >>> layer.inverse(np.array([[0.0, 1.0], [2.0, 5.0]]))[0]
    array([[-1., -1.],
           [ 1.,  1.]])
    """

    def __init__(self, n: int) -> None:
        n = check_dimension(n)
        super().__init__(n)
        self.params = {"log_scale": np.zeros(n), "bias": np.zeros(n)}
        self.initialized = False

    def initialize(self, x: Any) -> None:
        """Set bias and scale from samples ``x`` of shape (k, n), k >= 2, at the signal side."""
        x = as_vector_or_batch("x", x, self.n, length_hint=f" to match n = {self.n}")
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"x must have at least 2 rows to initialise ActNorm; got {x.shape}")
        self._initialize(x)

    def _initialize(self, x: np.ndarray) -> None:
        self.params["bias"][:] = x.mean(axis=0)
        self.params["log_scale"][:] = np.log(np.maximum(x.std(axis=0), 1e-6))
        self.initialized = True

    def _initialize_from(self, x: np.ndarray) -> np.ndarray:
        if not self.initialized:
            self._initialize(x)
        return self._inverse(x, False)[0]

    def _forward(self, z, keep):
        a = self.params["log_scale"]
        x = z * np.exp(a) + self.params["bias"]
        return x, np.full(z.shape[0], float(np.sum(a))), (z if keep else None)

    def _inverse(self, x, keep):
        a = self.params["log_scale"]
        z = (x - self.params["bias"]) * np.exp(-a)
        return z, np.full(x.shape[0], -float(np.sum(a))), (z if keep else None)

    def _forward_vjp(self, cache, gx, gld, grads):
        s = np.exp(self.params["log_scale"])
        if grads is not None:
            grads["bias"][:] = gx.sum(axis=0)
            grads["log_scale"][:] = np.einsum("ki,ki->i", gx, cache) * s + (
                0.0 if gld is None else np.sum(gld)
            )
        return gx * s

    def _inverse_vjp(self, cache, gz, gld, grads):
        gx = gz * np.exp(-self.params["log_scale"])
        if grads is not None:
            grads["bias"][:] = -gx.sum(axis=0)
            grads["log_scale"][:] = -np.einsum("ki,ki->i", gz, cache) - (
                0.0 if gld is None else np.sum(gld)
            )
        return gx

    def _buffers(self):
        return {"initialized": np.array(self.initialized)}

    def _set_buffers(self, buffers):
        self.initialized = bool(np.asarray(buffers["initialized"]))
