r"""The bijector interface shared by every layer of a flow.

Convention (the whole package): a bijector maps latent to signal. ``forward(z)`` returns
``(x, logabsdet)`` with ``logabsdet = log|det dx/dz|`` and ``inverse(x)`` returns
``(z, logabsdet)`` with ``logabsdet = log|det dz/dx|``; both act on batches of rows, shape
``(k, n)`` in and ``(k, n), (k,)`` out.

Reverse-mode differentiation is written once. Each bijector implements, for each direction, a
local pass that keeps what its backward needs (``_forward`` / ``_inverse`` with ``keep=True``) and
a local vector-Jacobian product (``_forward_vjp`` / ``_inverse_vjp``): given the cotangents of its
output and of its log-determinant it returns the cotangent of its input and, when asked, writes the
cotangents of its parameters into caller-provided arrays. :class:`lininv.flows.Compose` chains these
local products (and is itself a bijector); the Jacobian and the pullback below are written once,
for every bijector, on top of ``_forward`` and ``_forward_vjp``; nothing else in the package
differentiates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from lininv._threads import one_blas_thread, single_blas_thread
from lininv._validation import as_vector_or_batch, check_int

__all__ = ["Bijector", "REGISTRY", "register", "check_dimension"]

#: Bijector classes by name, for serialisation.
REGISTRY: dict[str, type[Bijector]] = {}


def register(cls: type[Bijector]) -> type[Bijector]:
    """Class decorator: make a bijector loadable from a saved flow by its class name."""
    REGISTRY[cls.__name__] = cls
    return cls


def check_dimension(n: Any, *, low: int = 1) -> int:
    """Validate a dimension ``n >= low``."""
    return check_int("n", n, low=low)


class Bijector:
    """Base class of the invertible layers.

    Subclasses declare ``param_shapes`` (name -> shape) in ``__init__`` and implement the four
    private methods below; the public ``forward``/``inverse`` validate and delegate.

    Attributes
    ----------
    n : int
        Dimension of input and output.
    params : dict of str to ndarray
        Trainable parameters. Inside a :class:`~lininv.flows.Compose` (and so inside a
        :class:`~lininv.flows.Flow`) they are views into the composite's flat parameter vector.
    support : tuple of float
        Open interval ``(lo, hi)`` of every signal-side coordinate; ``(-inf, inf)`` unless the
        layer maps onto a box (:class:`~lininv.flows.Logit`).
    """

    #: Class-level default; instances set their own.
    param_shapes: ClassVar[dict[str, tuple[int, ...]]] = {}

    def __init__(self, n: int) -> None:
        self.n = n
        self.params: dict[str, np.ndarray] = {}

    # -- public -----------------------------------------------------------------------------------

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    @property
    def support(self) -> tuple[float, float]:
        """Open interval ``(lo, hi)`` of every signal-side coordinate."""
        return (-np.inf, np.inf)

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
        x, ld, _ = self._forward(arr, False)
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
        z, ld, _ = self._inverse(arr, False)
        return (z[0], float(ld[0])) if single else (z, ld)

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
        x, _, cache = self._forward(arr, True)
        shape, n = x.shape, self.n

        def pullback(v: Any) -> np.ndarray:
            varr = as_vector_or_batch("v", v, n, length_hint=f" to match the flow's n = {n}")
            if (varr.ndim == 1) != single or (not single and varr.shape != shape):
                want = f"({n},)" if single else str(shape)
                raise ValueError(f"v must have the shape of x, {want}; got {varr.shape}")
            with one_blas_thread():
                g = self._forward_vjp(cache, np.ascontiguousarray(varr.reshape(shape)), None, None)
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
        batched backward pass; exact up to rounding (no finite differences).

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
        _, _, cache = self._forward(reps, True)
        eye = np.tile(np.eye(n), (k, 1))
        J = self._forward_vjp(cache, eye, None, None).reshape(k, n, n)
        return J[0] if single else J

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={v!r}" for k, v in self._config().items() if k != "n")
        return f"{type(self).__name__}(n={self.n}{', ' if cfg else ''}{cfg})"

    # -- private interface (valid input assumed) ---------------------------------------------------

    def _forward(self, z: np.ndarray, keep: bool) -> tuple[np.ndarray, np.ndarray, Any]:
        """``(x, logabsdet, cache)``; ``cache`` holds what ``_forward_vjp`` needs when ``keep``."""
        raise NotImplementedError

    def _inverse(self, x: np.ndarray, keep: bool) -> tuple[np.ndarray, np.ndarray, Any]:
        """``(z, logabsdet, cache)``; ``cache`` holds what ``_inverse_vjp`` needs when ``keep``."""
        raise NotImplementedError

    def _forward_vjp(
        self,
        cache: Any,
        gx: np.ndarray,
        gld: np.ndarray | None,
        grads: dict[str, np.ndarray] | None,
    ) -> np.ndarray:
        """Cotangent of ``z`` given those of ``x`` (k, n) and of the log-det (k,) or None.

        When ``grads`` is given, the cotangents of the parameters (summed over the batch) are
        *written* (not accumulated) into ``grads[name]``, one array per parameter.
        """
        raise NotImplementedError

    def _inverse_vjp(
        self,
        cache: Any,
        gz: np.ndarray,
        gld: np.ndarray | None,
        grads: dict[str, np.ndarray] | None,
    ) -> np.ndarray:
        """Cotangent of ``x`` given those of ``z`` and of the log-det; as ``_forward_vjp``."""
        raise NotImplementedError

    def _initialize_from(self, x: np.ndarray) -> np.ndarray:
        """Data-dependent initialisation from valid signal-side samples ``x`` (k, n), k >= 2.

        Initialises what is not yet initialised (a no-op here; see :class:`ActNorm`) and returns
        the samples pushed to the latent side, for the layers before this one.
        """
        return self._inverse(x, False)[0]

    def _bind(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """Move the parameters into the flat ``theta`` (values copied in); ``params`` become views.

        ``theta`` and ``grad`` have shape (n_params,); ``grad`` is where a composite holding this
        layer collects its gradients (a leaf does not keep it, see :meth:`_param_views`).
        """
        off = 0
        for name, p in list(self.params.items()):
            view = theta[off : off + p.size].reshape(p.shape)
            view[...] = p
            self.params[name] = view
            off += p.size

    def _param_views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Views of a flat (n_params,) array laid out as ``params`` (the ``grads`` of a VJP)."""
        out, off = {}, 0
        for name, p in self.params.items():
            out[name] = flat[off : off + p.size].reshape(p.shape)
            off += p.size
        return out

    def _config(self) -> dict[str, Any]:
        """JSON-serialisable architecture (constructor arguments), ``n`` included."""
        return {"n": self.n}

    def _buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state that must be saved (permutations, signs, flags)."""
        return {}

    def _set_buffers(self, buffers: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_buffers` returned (validated by the loader)."""

    @classmethod
    def _from_config(cls, config: dict[str, Any], buffers: dict[str, np.ndarray]) -> Bijector:
        obj = cls(**config)
        obj._set_buffers(buffers)
        return obj


def _batch(name: str, value: Any, n: int) -> tuple[np.ndarray, bool]:
    """Validate ``(n,)`` or ``(k, n)`` input; return a C-contiguous ``(k, n)`` copy-free view."""
    arr = as_vector_or_batch(name, value, n, length_hint=f" to match the flow's n = {n}")
    single = arr.ndim == 1
    return np.ascontiguousarray(arr.reshape(1, n) if single else arr), single
