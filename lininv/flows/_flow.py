r"""A normalizing flow: a composite transform and a standard normal base distribution."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lininv._threads import single_blas_thread
from lininv._validation import as_matrix, check_int, check_rng, describe
from lininv.flows._base import Bijector, _batch
from lininv.flows._compose import Compose, _layer_summary

__all__ = ["Flow"]

_LOG_2PI = float(np.log(2.0 * np.pi))


class Flow:
    r"""A normalizing flow :math:`x = G(z) = b_{L-1} \circ \dots \circ b_0 (z)`, :math:`z \sim N(0, I_n)`.

    A flow is a transform (a :class:`Compose` of bijectors) and a standard normal base
    distribution on the latent side. The maps and their derivatives (:meth:`forward`,
    :meth:`inverse`, :meth:`jacobian`, :meth:`forward_and_pullback`, :meth:`initialize`, the
    parameters) are the transform's; the flow adds what a distribution adds: :meth:`log_prob`,
    :meth:`sample`, :meth:`nll_and_grad` and :meth:`log_prob_and_grad`.

    Parameters
    ----------
    bijectors : sequence of Bijector, or Compose
        The transform: applied in order by :meth:`forward` (``bijectors[0]`` acts on the latent
        ``z``, the last one produces the signal ``x``). They are deep-copied: the flow owns its
        layers, and their parameters become views into one flat vector (:meth:`get_params`).
    metadata : dict, optional
        JSON-serialisable information saved with the flow (e.g. how it was trained).

    Attributes
    ----------
    n : int
        Dimension of latent and signal.
    transform : Compose
        The latent-to-signal transform ``G`` (live: changing its parameters changes the flow).
    bijectors : tuple of Bijector
        The transform's layers (live).
    n_params : int
        Number of trainable scalars.
    metadata : dict

    Notes
    -----
    Change of variables, with :math:`z = G^{-1}(x)`:

    .. math:: \log p(x) = -\tfrac12 \|z\|^2 - \tfrac n2 \log 2\pi
              + \log\left|\det \frac{\partial G^{-1}}{\partial x}\right|
              = -\tfrac12\|z\|^2 - \tfrac n2 \log 2\pi
              + \sum_l \log\left|\det \frac{\partial b_l^{-1}}{\partial x_l}\right|.

    Gradients are reverse mode, the transform's chained local vector-Jacobian products:
    :meth:`nll_and_grad` differentiates the mean negative log-likelihood in the data-to-latent
    direction; :meth:`forward_and_pullback` returns :math:`v \mapsto v^T \partial G/\partial z` for
    latent-space recovery. :meth:`jacobian` applies the pullback to the identity, so it is exact
    (no finite differences).

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import Flow, ActNorm, LULinear
    >>> flow = Flow([LULinear(2), ActNorm(2)])
    >>> bool(flow.log_prob(np.zeros(2)) == -np.log(2 * np.pi))
    True
    """

    def __init__(
        self, bijectors: Sequence[Bijector] | Compose, *, metadata: dict | None = None
    ) -> None:
        if isinstance(bijectors, Compose):
            bijectors = bijectors.bijectors  # a copy with the same layers
        transform = Compose(bijectors)  # validates and copies
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict or None; got {describe(metadata)}")
        self.transform = transform
        self.n = transform.n
        self.metadata: dict = dict(metadata or {})

    # -- the transform's -----------------------------------------------------------------------------

    @property
    def bijectors(self) -> tuple[Bijector, ...]:
        """The transform's layers, in forward (latent-to-signal) order."""
        return self.transform.bijectors

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return self.transform.n_params

    @property
    def support(self) -> tuple[float, float]:
        """Open interval ``(lo, hi)`` of every signal coordinate (``(-inf, inf)`` without a Logit)."""
        return self.transform.support

    def get_params(self) -> np.ndarray:
        """A copy of the flat parameter vector, shape (n_params,)."""
        return self.transform.get_params()

    def set_params(self, theta: Any) -> None:
        """Set all parameters from a flat vector of shape (n_params,) (copied in)."""
        self.transform.set_params(theta)

    def _set_params(self, theta: np.ndarray) -> None:
        """:meth:`set_params` for a valid float vector of shape (n_params,)."""
        self.transform._set_params(theta)

    def initialize(self, X: Any) -> None:
        """Data-dependent initialisation of every not-yet-initialised :class:`ActNorm`.

        ``X`` (shape (k, n), k >= 2) is pushed from the signal side towards the latent; each
        uninitialised ActNorm is set from the activations reaching it (Glow's initialisation).
        """
        self.transform.initialize(X)

    def forward(self, z: Any) -> tuple[np.ndarray, np.ndarray | float]:
        """Latent to signal: ``(x, log|det dx/dz|)`` (:meth:`Bijector.forward` of the transform).

        Parameters
        ----------
        z : array_like of shape (n,) or (k, n)

        Returns
        -------
        x : ndarray, same shape as ``z``
        logabsdet : float or ndarray of shape (k,)
        """
        return self.transform.forward(z)

    def inverse(self, x: Any) -> tuple[np.ndarray, np.ndarray | float]:
        """Signal to latent: ``(z, log|det dz/dx|)`` (:meth:`Compose.inverse` of the transform).

        Parameters
        ----------
        x : array_like of shape (n,) or (k, n)
            Inside :attr:`support`.

        Returns
        -------
        z : ndarray, same shape as ``x``
        logabsdet : float or ndarray of shape (k,)
        """
        return self.transform.inverse(x)

    def forward_and_pullback(self, z: Any) -> tuple[np.ndarray, Callable[[Any], np.ndarray]]:
        r"""``x = G(z)`` and the pullback :math:`v \mapsto v^T \partial G/\partial z`.

        The transform's :meth:`Bijector.forward_and_pullback`.

        Parameters
        ----------
        z : array_like of shape (n,) or (k, n)

        Returns
        -------
        x : ndarray, same shape as ``z``
        pullback : callable
            ``pullback(v)``, ``v`` of the shape of ``x``: the rows :math:`v_j^T J(z_j)`.
        """
        return self.transform.forward_and_pullback(z)

    def jacobian(self, z: Any) -> np.ndarray:
        r"""Exact Jacobian :math:`J_{ij} = \partial x_i / \partial z_j` (the transform's).

        Parameters
        ----------
        z : array_like of shape (n,) or (k, n)

        Returns
        -------
        ndarray of shape (n, n), or (k, n, n) for a batch
        """
        return self.transform.jacobian(z)

    # -- the distribution's --------------------------------------------------------------------------

    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        """Log-density of valid rows ``x`` (k, n); ``-inf`` outside the support."""
        bad = self.transform._outside(x)
        if np.any(bad):  # zero density outside the support
            out = np.full(x.shape[0], -np.inf)
            if not np.all(bad):
                out[~bad] = self._log_prob(x[~bad])
            return out
        z, ld, _ = self.transform._inverse(x, False)
        return -0.5 * np.einsum("ki,ki->k", z, z) - 0.5 * self.n * _LOG_2PI + ld

    @single_blas_thread
    def log_prob(self, x: Any) -> np.ndarray | float:
        r"""Exact log-density of signals.

        Parameters
        ----------
        x : array_like of shape (n,) or (k, n)

        Returns
        -------
        float or ndarray of shape (k,)
            :math:`-\infty` for a signal outside :attr:`support`.
        """
        arr, single = _batch("x", x, self.n)
        out = self._log_prob(arr)
        return float(out[0]) if single else out

    @single_blas_thread
    def sample(self, size: int, *, rng: Any = None) -> np.ndarray:
        """Draw ``size`` signals ``G(z)``, ``z ~ N(0, I)``, as rows of shape (size, n)."""
        size = check_int("size", size, low=0)
        z = check_rng(rng).standard_normal((size, self.n))
        return self.transform._forward(z, False)[0]

    def _nll_and_grad(self, X: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean NLL of valid, C-contiguous ``X`` (k, n) inside the support, and its gradient.

        The gradient is the flow's own scratch array, shape (n_params,): the caller may change it,
        and the next call overwrites it.
        """
        k = X.shape[0]
        T = self.transform
        z, ld, cache = T._inverse(X, True)
        nll = float(0.5 * np.einsum("ki,ki->", z, z) / k - np.sum(ld) / k) + 0.5 * self.n * _LOG_2PI
        gz = z * (1.0 / k)
        gld = np.full(k, -1.0 / k)
        T._inverse_vjp(cache, gz, gld, T._grads)
        return nll, T._grads["theta"]

    @single_blas_thread
    def nll_and_grad(self, X: Any) -> tuple[float, np.ndarray]:
        r"""Mean negative log-likelihood (nats per sample) and its gradient in the parameters.

        Parameters
        ----------
        X : array_like of shape (k, n)

        Returns
        -------
        nll : float
            :math:`-\frac1k \sum_j \log p(x_j)`.
        grad : ndarray of shape (n_params,)
            Its gradient with respect to :meth:`get_params`.
        """
        X = as_matrix("X", X, shape=(None, self.n), shape_hint=f" to match the flow's n = {self.n}")
        self.transform._check_support("X", X)
        nll, grad = self._nll_and_grad(np.ascontiguousarray(X))
        return nll, grad.copy()

    @single_blas_thread
    def log_prob_and_grad(self, x: Any) -> tuple[np.ndarray | float, np.ndarray]:
        r"""Log-density and its gradient in the signal, :math:`\nabla_x \log p(x)`.

        For the poster's signal-space formulation :math:`\min_x \|x - y\|^2 - \gamma \log p(x)`.

        Parameters
        ----------
        x : array_like of shape (n,) or (k, n)
            Inside :attr:`support`.

        Returns
        -------
        log_prob : float or ndarray of shape (k,)
        grad : ndarray, same shape as ``x``

        Notes
        -----
        One inverse pass and one backward pass with cotangents :math:`-z` for the latent and 1
        for the log-determinant: :math:`\nabla_x \log p = -J_{G^{-1}}^T z + \nabla_x
        \log|\det J_{G^{-1}}|`.
        """
        arr, single = _batch("x", x, self.n)
        T = self.transform
        T._check_support("x", arr)
        z, ld, cache = T._inverse(arr, True)
        lp = -0.5 * np.einsum("ki,ki->k", z, z) - 0.5 * self.n * _LOG_2PI + ld
        g = T._inverse_vjp(cache, -z, np.ones(arr.shape[0]), None)
        return (float(lp[0]), g[0]) if single else (lp, g)

    # -- copying and persistence -----------------------------------------------------------------------

    def copy(self) -> Flow:
        """An independent copy (layers, parameters and metadata)."""
        return Flow(self.transform, metadata=copy.deepcopy(self.metadata))

    def __reduce__(self):
        # pickling and deepcopy rebuild the transform's flat parameter vector (Compose.__reduce__)
        return (_rebuild, (self.transform, self.metadata))

    def save(self, path: Any) -> None:
        """Save architecture, parameters and metadata to a versioned ``.npz`` (atomic write).

        See :func:`lininv.flows.load` for the format.
        """
        from lininv.flows._serialization import save

        save(self, path)

    def __repr__(self) -> str:
        return (
            f"Flow(n={self.n}, n_params={self.n_params}, layers: {_layer_summary(self.transform)})"
        )


def _rebuild(transform: Compose, metadata: dict) -> Flow:
    return Flow(transform, metadata=metadata)
