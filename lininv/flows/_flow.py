r"""The composition of bijectors: densities, sampling, Jacobians and gradients."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lininv._threads import one_blas_thread, single_blas_thread
from lininv._validation import as_matrix, as_vector_or_batch, check_int, check_rng, describe
from lininv.flows._base import Bijector, _batch, _check_bijector
from lininv.flows._linear import ActNorm
from lininv.flows._logit import Logit

__all__ = ["Flow"]

_LOG_2PI = float(np.log(2.0 * np.pi))


class Flow:
    r"""A normalizing flow :math:`x = G(z) = b_{L-1} \circ \dots \circ b_0 (z)`, :math:`z \sim N(0, I_n)`.

    Parameters
    ----------
    bijectors : sequence of Bijector
        Applied in order by :meth:`forward` (``bijectors[0]`` acts on the latent ``z``, the last one
        produces the signal ``x``). They are deep-copied: the flow owns its layers, and their
        parameters become views into one flat vector (:meth:`get_params`).
    metadata : dict, optional
        JSON-serialisable information saved with the flow (e.g. how it was trained).

    Attributes
    ----------
    n : int
        Dimension of latent and signal.
    bijectors : tuple of Bijector
        The layers (live: changing their parameters changes the flow).
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

    Gradients are reverse mode, one local vector-Jacobian product per layer chained here:
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

    def __init__(self, bijectors: Sequence[Bijector], *, metadata: dict | None = None) -> None:
        if isinstance(bijectors, Bijector) or not isinstance(bijectors, Sequence):
            raise TypeError(f"bijectors must be a sequence of bijectors; got {describe(bijectors)}")
        if len(bijectors) == 0:
            raise ValueError("bijectors must contain at least one bijector; got an empty sequence")
        layers = [_check_bijector(b, i) for i, b in enumerate(bijectors)]
        n = layers[0].n
        for i, b in enumerate(layers):
            if b.n != n:
                raise ValueError(
                    f"bijectors must all have the same n; bijectors[0] has n = {n}, "
                    f"bijectors[{i}] has n = {b.n}"
                )
        for i, b in enumerate(layers[:-1]):
            if isinstance(b, Logit):
                raise ValueError(
                    f"a Logit layer must be the last (signal-side) bijector; got one at position {i} "
                    f"of {len(layers)}"
                )
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict or None; got {describe(metadata)}")
        self.n = n
        self.bijectors: tuple[Bijector, ...] = tuple(copy.deepcopy(layers))
        self.metadata: dict = dict(metadata or {})
        total = sum(b.n_params for b in self.bijectors)
        self._theta = np.empty(total)
        self._grad = np.zeros(total)
        self._grad_views: list[dict[str, np.ndarray]] = []
        off = 0
        for b in self.bijectors:
            gviews = {}
            for name, p in list(b.params.items()):
                view = self._theta[off : off + p.size].reshape(p.shape)
                view[...] = p
                b.params[name] = view
                gviews[name] = self._grad[off : off + p.size].reshape(p.shape)
                off += p.size
            self._grad_views.append(gviews)

    # -- parameters ----------------------------------------------------------------------------------

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return int(self._theta.size)

    def get_params(self) -> np.ndarray:
        """A copy of the flat parameter vector, shape (n_params,)."""
        return self._theta.copy()

    def set_params(self, theta: Any) -> None:
        """Set all parameters from a flat vector of shape (n_params,) (copied in)."""
        theta = as_vector_or_batch(
            "theta", theta, self.n_params, length_hint=f" (the flow's n_params = {self.n_params})"
        )
        if theta.ndim != 1:
            raise ValueError(f"theta must have shape ({self.n_params},); got {theta.shape}")
        self._theta[:] = theta

    @single_blas_thread
    def initialize(self, X: Any) -> None:
        """Data-dependent initialisation of every not-yet-initialised :class:`ActNorm`.

        ``X`` (shape (k, n), k >= 2) is pushed from the signal side towards the latent; each
        uninitialised ActNorm is set from the activations reaching it (Glow's initialisation).
        """
        X = as_matrix("X", X, shape=(None, self.n), shape_hint=f" to match the flow's n = {self.n}")
        if X.shape[0] < 2:
            raise ValueError(f"X must have at least 2 rows to initialise; got {X.shape[0]}")
        self._check_support("X", X)
        h = np.ascontiguousarray(X)
        for b in reversed(self.bijectors):
            if isinstance(b, ActNorm) and not b.initialized:
                b._initialize(h)
            h, _, _ = b._inverse(h, False)

    # -- maps and densities --------------------------------------------------------------------------

    @property
    def support(self) -> tuple[float, float]:
        """Open interval ``(lo, hi)`` of every signal coordinate (``(-inf, inf)`` without a Logit)."""
        last = self.bijectors[-1]
        return last.support if isinstance(last, Logit) else (-np.inf, np.inf)

    def _outside(self, x: np.ndarray) -> np.ndarray:
        """Boolean (k,): rows with a coordinate outside the support."""
        lo, hi = self.support
        if lo == -np.inf and hi == np.inf:
            return np.zeros(x.shape[0], dtype=bool)
        return np.any((x <= lo) | (x >= hi), axis=1)

    def _check_support(self, name: str, x: np.ndarray) -> None:
        bad = self._outside(x)
        if np.any(bad):
            lo, hi = self.support
            raise ValueError(
                f"{name} must lie inside the flow's support ({lo:.6g}, {hi:.6g}) in every coordinate "
                f"(its Logit layer); got {int(bad.sum())} of {x.shape[0]} rows outside"
            )

    def _forward_all(self, z: np.ndarray, keep: bool):
        ld = np.zeros(z.shape[0])
        caches = []
        for b in self.bijectors:
            z, l_, c = b._forward(z, keep)
            ld += l_
            caches.append(c)
        return z, ld, caches

    def _inverse_all(self, x: np.ndarray, keep: bool):
        ld = np.zeros(x.shape[0])
        caches = []
        for b in reversed(self.bijectors):
            x, l_, c = b._inverse(x, keep)
            ld += l_
            caches.append(c)
        caches.reverse()  # caches[i] belongs to bijectors[i]
        return x, ld, caches

    @single_blas_thread
    def forward(self, z: Any) -> tuple[np.ndarray, np.ndarray | float]:
        """Latent to signal: ``(x, log|det dx/dz|)``.

        Parameters
        ----------
        z : array_like of shape (n,) or (k, n)

        Returns
        -------
        x : ndarray, same shape as ``z``
        logabsdet : float or ndarray of shape (k,)
        """
        arr, single = _batch("z", z, self.n)
        x, ld, _ = self._forward_all(arr, False)
        return (x[0], float(ld[0])) if single else (x, ld)

    @single_blas_thread
    def inverse(self, x: Any) -> tuple[np.ndarray, np.ndarray | float]:
        """Signal to latent: ``(z, log|det dz/dx|)``.

        Parameters
        ----------
        x : array_like of shape (n,) or (k, n)

        Returns
        -------
        z : ndarray, same shape as ``x``
        logabsdet : float or ndarray of shape (k,)
        """
        arr, single = _batch("x", x, self.n)
        self._check_support("x", arr)
        z, ld, _ = self._inverse_all(arr, False)
        return (z[0], float(ld[0])) if single else (z, ld)

    def _log_prob(self, x: np.ndarray) -> np.ndarray:
        bad = self._outside(x)
        if np.any(bad):  # zero density outside the support
            out = np.full(x.shape[0], -np.inf)
            if not np.all(bad):
                out[~bad] = self._log_prob(x[~bad])
            return out
        z, ld, _ = self._inverse_all(x, False)
        return -0.5 * np.einsum("ki,ki->k", z, z) - 0.5 * self.n * _LOG_2PI + ld

    @single_blas_thread
    def log_prob(self, x: Any) -> np.ndarray | float:
        """Exact log-density of signals.

        Parameters
        ----------
        x : array_like of shape (n,) or (k, n)

        Returns
        -------
        float or ndarray of shape (k,)
        """
        arr, single = _batch("x", x, self.n)
        out = self._log_prob(arr)
        return float(out[0]) if single else out

    @single_blas_thread
    def sample(self, size: int, *, rng: Any = None) -> np.ndarray:
        """Draw ``size`` signals ``G(z)``, ``z ~ N(0, I)``, as rows of shape (size, n)."""
        size = check_int("size", size, low=0)
        z = check_rng(rng).standard_normal((size, self.n))
        return self._forward_all(z, False)[0]

    # -- derivatives ---------------------------------------------------------------------------------

    def _backward_inverse(self, caches, gz, gld, with_params: bool) -> np.ndarray:
        """Chain the layers' inverse-direction VJPs: returns the cotangent of x."""
        g = gz
        for b, c, gv in zip(self.bijectors, caches, self._grad_views, strict=True):
            g = b._inverse_vjp(c, g, gld, gv if with_params else None)
        return g

    def _backward_forward(self, caches, gx, gld, with_params: bool) -> np.ndarray:
        """Chain the layers' forward-direction VJPs: returns the cotangent of z."""
        g = gx
        for b, c, gv in zip(
            reversed(self.bijectors), reversed(caches), reversed(self._grad_views), strict=True
        ):
            g = b._forward_vjp(c, g, gld, gv if with_params else None)
        return g

    def _nll_and_grad(self, X: np.ndarray) -> float:
        """Mean NLL of valid ``X`` (k, n); its gradient is left in ``self._grad``."""
        k = X.shape[0]
        z, ld, caches = self._inverse_all(X, True)
        nll = float(0.5 * np.einsum("ki,ki->", z, z) / k - np.sum(ld) / k) + 0.5 * self.n * _LOG_2PI
        gz = z * (1.0 / k)
        gld = np.full(k, -1.0 / k)
        self._backward_inverse(caches, gz, gld, True)
        return nll

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
        self._check_support("X", X)
        nll = self._nll_and_grad(np.ascontiguousarray(X))
        return nll, self._grad.copy()

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
        self._check_support("x", arr)
        z, ld, caches = self._inverse_all(arr, True)
        lp = -0.5 * np.einsum("ki,ki->k", z, z) - 0.5 * self.n * _LOG_2PI + ld
        g = self._backward_inverse(caches, -z, np.ones(arr.shape[0]), False)
        return (float(lp[0]), g[0]) if single else (lp, g)

    @single_blas_thread
    def forward_and_pullback(self, z: Any) -> tuple[np.ndarray, Callable[[Any], np.ndarray]]:
        r"""``x = G(z)`` and the vector-Jacobian product :math:`v \mapsto v^T \partial G/\partial z`.

        Parameters
        ----------
        z : array_like of shape (n,) or (k, n)

        Returns
        -------
        x : ndarray, same shape as ``z``
        pullback : callable
            ``pullback(v)`` with ``v`` of the shape of ``x`` returns, row by row,
            :math:`v_j^T J(z_j)` (the gradient of :math:`v_j \cdot G(z_j)` in :math:`z_j`); it can
            be called any number of times. For a loss :math:`\|A G(z) - y\|^2` the gradient in
            ``z`` is ``pullback(2 (A G(z) - y) @ A)``.

        Examples
        --------
        >>> import numpy as np
        >>> from lininv.flows import linear_flow
        >>> flow = linear_flow(np.array([[2.0, 0.0], [1.0, 3.0]]))
        >>> x, pullback = flow.forward_and_pullback(np.array([1.0, 1.0]))
        >>> x, pullback(np.array([1.0, 0.0]))  # first row of G
        (array([2., 4.]), array([2., 0.]))
        """
        arr, single = _batch("z", z, self.n)
        x, _, caches = self._forward_all(arr, True)
        shape = x.shape

        def pullback(v: Any) -> np.ndarray:
            varr = as_vector_or_batch(
                "v", v, self.n, length_hint=f" to match the flow's n = {self.n}"
            )
            if (varr.ndim == 1) != single or (not single and varr.shape != shape):
                want = f"({self.n},)" if single else str(shape)
                raise ValueError(f"v must have the shape of x, {want}; got {varr.shape}")
            with one_blas_thread():
                g = self._backward_forward(
                    caches, np.ascontiguousarray(varr.reshape(shape)), None, False
                )
            return g[0] if single else g

        return (x[0] if single else x), pullback

    @single_blas_thread
    def jacobian(self, z: Any) -> np.ndarray:
        r"""Exact Jacobian :math:`J_{ij} = \partial x_i / \partial z_j` at one or several points.

        Parameters
        ----------
        z : array_like of shape (n,) or (k, n)

        Returns
        -------
        ndarray of shape (n, n), or (k, n, n) for a batch

        Notes
        -----
        Row ``i`` is the pullback of the basis vector :math:`e_i`, computed for all ``i`` in one
        batched backward pass; exact up to rounding.

        Examples
        --------
        >>> import numpy as np
        >>> from lininv.flows import linear_flow
        >>> G = np.array([[2.0, 0.0], [1.0, 3.0]])
        >>> np.allclose(linear_flow(G).jacobian(np.zeros(2)), G)
        True
        """
        arr, single = _batch("z", z, self.n)
        n, k = self.n, arr.shape[0]
        reps = np.repeat(arr, n, axis=0)  # each point n times
        _, _, caches = self._forward_all(reps, True)
        eye = np.tile(np.eye(n), (k, 1))
        J = self._backward_forward(caches, eye, None, False).reshape(k, n, n)
        return J[0] if single else J

    # -- copying and persistence -----------------------------------------------------------------------

    def copy(self) -> Flow:
        """An independent copy (layers, parameters and metadata)."""
        return _rebuild(list(self.bijectors), copy.deepcopy(self.metadata), self.get_params())

    def __reduce__(self):
        # pickling and deepcopy rebuild the flat parameter vector and the layers' views into it
        return (_rebuild, (list(self.bijectors), self.metadata, self.get_params()))

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, path: Any) -> None:
        """Save architecture, parameters and metadata to a versioned ``.npz`` (atomic write).

        See :func:`lininv.flows.load` for the format.
        """
        from lininv.flows._serialization import save

        save(self, path)

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for b in self.bijectors:
            kinds[type(b).__name__] = kinds.get(type(b).__name__, 0) + 1
        parts = ", ".join(f"{v} {k}" for k, v in kinds.items())
        return f"Flow(n={self.n}, n_params={self.n_params}, layers: {parts})"


def _rebuild(bijectors: list[Bijector], metadata: dict, theta: np.ndarray) -> Flow:
    flow = Flow(bijectors, metadata=metadata)
    flow._theta[:] = theta
    return flow
