r"""The bijector interface shared by every layer of a flow.

Convention (the whole package): a bijector maps latent to signal. ``forward(z)`` returns
``(x, logabsdet)`` with ``logabsdet = log|det dx/dz|`` and ``inverse(x)`` returns
``(z, logabsdet)`` with ``logabsdet = log|det dz/dx|``; both act on batches of rows, shape
``(k, n)`` in and ``(k, n), (k,)`` out.

Reverse-mode differentiation is written once. Each bijector implements, for each direction, a
local pass that keeps what its backward needs (``_forward`` / ``_inverse`` with ``keep=True``) and
a local vector-Jacobian product (``_forward_vjp`` / ``_inverse_vjp``): given the cotangents of its
output and of its log-determinant it returns the cotangent of its input and, when asked, writes the
cotangents of its parameters into caller-provided arrays. :class:`lininv.flows.Flow` chains these
local products; nothing else in the package differentiates.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from lininv._threads import single_blas_thread
from lininv._validation import as_vector_or_batch, check_int, describe

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
        Trainable parameters. Inside a :class:`~lininv.flows.Flow` they are views into the flow's
        flat parameter vector.
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


def _check_bijector(value: Any, index: int) -> Bijector:
    if not isinstance(value, Bijector):
        raise TypeError(
            f"bijectors[{index}] must be a lininv.flows bijector; got {describe(value)}"
        )
    return value
