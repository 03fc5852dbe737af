r"""The composite bijector: a chain of bijectors that is itself a bijector."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._threads import single_blas_thread
from lininv._validation import as_matrix, as_vector_or_batch, describe
from lininv.flows._base import REGISTRY, Bijector, _batch, register

__all__ = ["Compose"]


@register
class Compose(Bijector):
    r"""The composition :math:`b_{L-1} \circ \dots \circ b_0` of bijectors, itself a bijector.

    Parameters
    ----------
    bijectors : sequence of Bijector
        Applied in order by :meth:`forward` (``bijectors[0]`` acts on the latent side, the last
        one produces the signal side); any of them may be a ``Compose``. They are deep-copied: the
        composite owns its layers, and their parameters become views into one flat vector
        (:meth:`get_params`).

    Attributes
    ----------
    n : int
        Dimension of input and output.
    bijectors : tuple of Bijector
        The layers (live: changing their parameters changes the composite).
    params : dict
        ``{"theta": the flat parameter vector}`` (live), all the layers' parameters, layer by
        layer in order, each layer's in the order of its ``params``, arrays flattened row-major;
        a nested ``Compose`` contributes its own flat vector as one block.
    n_params : int
    support : tuple of float
        The support of the last layer: a layer with a bounded support (:class:`Logit`) may only be
        the last (signal-side) one.

    Notes
    -----
    With :math:`h_0 = z` and :math:`h_{l+1} = b_l(h_l)`,

    .. math:: \log\left|\det \frac{\partial x}{\partial z}\right|
              = \sum_l \log\left|\det \frac{\partial b_l}{\partial h_l}\right|,

    accumulated layer by layer in this order (the inverse adds the inverse layers' terms from the
    signal side). The vector-Jacobian products chain the layers' local ones in reverse order; a
    parameter cotangent is written into the block of the flat gradient that belongs to its layer.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import ActNorm, Compose, LULinear, Permutation
    >>> inner = Compose([LULinear(2), Permutation.reverse(2)])
    >>> chain = Compose([inner, ActNorm(2)])
    >>> chain.n_params == inner.n_params + 4
    True
    >>> chain.forward(np.array([1.0, 2.0]))  # every layer starts as the identity or a permutation
    (array([2., 1.]), 0.0)
    """

    def __init__(self, bijectors: Sequence[Bijector]) -> None:
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
            if b.support != (-np.inf, np.inf):
                where = "" if type(b).__name__ == "Logit" else " (at the end of a nested Compose)"
                raise ValueError(
                    f"a Logit layer must be the last (signal-side) bijector; got one at position {i} "
                    f"of {len(layers)}{where}"
                )
        super().__init__(n)
        self.bijectors: tuple[Bijector, ...] = tuple(copy.deepcopy(layers))
        total = sum(b.n_params for b in self.bijectors)
        self._bind(np.empty(total), np.zeros(total))

    # -- the flat parameter vector ---------------------------------------------------------------

    def _bind(self, theta: np.ndarray, grad: np.ndarray) -> None:
        # every layer's parameters become views into ``theta``; ``_child_grads`` are the matching
        # views into ``grad``, where the layers' VJPs write when asked for parameter cotangents
        self._child_grads: list[dict[str, np.ndarray]] = []
        off = 0
        for b in self.bijectors:
            size = b.n_params
            t, g = theta[off : off + size], grad[off : off + size]
            b._bind(t, g)
            self._child_grads.append(b._param_views(g))
            off += size
        self._theta, self._grad = theta, grad
        self.params = {"theta": theta}
        #: the ``grads`` argument that makes a VJP write the parameter cotangents into ``_grad``
        self._grads = {"theta": grad}

    def _param_views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        return {"theta": flat}

    def _layer_grads(self, grads: dict[str, np.ndarray] | None) -> list:
        """Per-layer ``grads`` arguments for a VJP asked to write into ``grads``."""
        if grads is None:
            return [None] * len(self.bijectors)
        flat = grads["theta"]
        if flat is self._grad:
            return self._child_grads
        out, off = [], 0
        for b in self.bijectors:
            out.append(b._param_views(flat[off : off + b.n_params]))
            off += b.n_params
        return out

    def get_params(self) -> np.ndarray:
        """A copy of the flat parameter vector, shape (n_params,)."""
        return self._theta.copy()

    def set_params(self, theta: Any) -> None:
        """Set all parameters from a flat vector of shape (n_params,) (copied in)."""
        theta = as_vector_or_batch(
            "theta", theta, self.n_params, length_hint=f" (n_params = {self.n_params})"
        )
        if theta.ndim != 1:
            raise ValueError(f"theta must have shape ({self.n_params},); got {theta.shape}")
        self._set_params(theta)

    def _set_params(self, theta: np.ndarray) -> None:
        self._theta[:] = theta

    # -- support and data-dependent initialisation --------------------------------------------------

    @property
    def support(self) -> tuple[float, float]:
        """Open interval ``(lo, hi)`` of every signal coordinate (that of the last layer)."""
        return self.bijectors[-1].support

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

    @single_blas_thread
    def initialize(self, X: Any) -> None:
        """Data-dependent initialisation of every not-yet-initialised :class:`ActNorm`.

        ``X`` (shape (k, n), k >= 2, inside :attr:`support`) is pushed from the signal side
        towards the latent; each uninitialised ActNorm is set from the activations reaching it
        (Glow's initialisation).
        """
        X = as_matrix("X", X, shape=(None, self.n), shape_hint=f" to match the flow's n = {self.n}")
        if X.shape[0] < 2:
            raise ValueError(f"X must have at least 2 rows to initialise; got {X.shape[0]}")
        self._check_support("X", X)
        self._initialize_from(np.ascontiguousarray(X))

    def _initialize_from(self, x: np.ndarray) -> np.ndarray:
        for b in reversed(self.bijectors):
            x = b._initialize_from(x)
        return x

    # -- directions ----------------------------------------------------------------------------------

    @single_blas_thread
    def inverse(self, x: Any) -> tuple[np.ndarray, np.ndarray | float]:
        """Signal to latent: ``(z, log|det dz/dx|)``; ``x`` must lie inside :attr:`support`.

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
        z, ld, _ = self._inverse(arr, False)
        return (z[0], float(ld[0])) if single else (z, ld)

    def _forward(self, z, keep):
        ld = np.zeros(z.shape[0])
        caches = []
        for b in self.bijectors:
            z, l_, c = b._forward(z, keep)
            ld += l_
            caches.append(c)
        return z, ld, caches

    def _inverse(self, x, keep):
        ld = np.zeros(x.shape[0])
        caches = []
        for b in reversed(self.bijectors):
            x, l_, c = b._inverse(x, keep)
            ld += l_
            caches.append(c)
        caches.reverse()  # caches[i] belongs to bijectors[i]
        return x, ld, caches

    def _forward_vjp(self, cache, gx, gld, grads):
        g = gx
        for b, c, gv in zip(
            reversed(self.bijectors),
            reversed(cache),
            reversed(self._layer_grads(grads)),
            strict=True,
        ):
            g = b._forward_vjp(c, g, gld, gv)
        return g

    def _inverse_vjp(self, cache, gz, gld, grads):
        g = gz
        for b, c, gv in zip(self.bijectors, cache, self._layer_grads(grads), strict=True):
            g = b._inverse_vjp(c, g, gld, gv)
        return g

    # -- architecture, copying -----------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {"n": self.n, "bijectors": [_spec(b) for b in self.bijectors]}

    def _buffers(self) -> dict[str, np.ndarray]:
        # layer i's buffer k is "i/k" (nested: "i/j/k"), the keys of the saved file's "buffer/..."
        return {
            f"{i}/{k}": v for i, b in enumerate(self.bijectors) for k, v in b._buffers().items()
        }

    @classmethod
    def _from_config(cls, config: dict[str, Any], buffers: dict[str, np.ndarray]) -> Compose:
        obj = cls(_layers_from_specs(config["bijectors"], buffers))
        if obj.n != config["n"]:
            raise ValueError(f"bijectors of n = {obj.n} do not match n = {config['n']}")
        return obj

    def __reduce__(self):
        # pickling and deepcopy rebuild the flat parameter vector and the layers' views into it
        return (_rebuild, (list(self.bijectors), self.get_params()))

    def __repr__(self) -> str:
        return f"Compose(n={self.n}, n_params={self.n_params}, layers: {_layer_summary(self)})"


def _check_bijector(value: Any, index: int) -> Bijector:
    if not isinstance(value, Bijector):
        raise TypeError(
            f"bijectors[{index}] must be a lininv.flows bijector; got {describe(value)}"
        )
    return value


def _spec(b: Bijector) -> dict[str, Any]:
    """The saved architecture of one layer: its registered type name and its configuration."""
    return {"type": type(b).__name__, "config": b._config()}


def _layers_from_specs(specs: list, buffers: dict[str, np.ndarray]) -> list[Bijector]:
    """Rebuild layers from :func:`_spec` entries and buffers keyed ``"i/k"`` (:meth:`_buffers`)."""
    layers = []
    for i, spec in enumerate(specs):
        prefix = f"{i}/"
        own = {k[len(prefix) :]: v for k, v in buffers.items() if k.startswith(prefix)}
        layers.append(REGISTRY[spec["type"]]._from_config(dict(spec["config"]), own))
    return layers


def _layer_summary(chain: Compose) -> str:
    """``"2 AffineCoupling, 2 LULinear, ..."``: the kinds of layers, in order of appearance."""
    kinds: dict[str, int] = {}
    for b in chain.bijectors:
        kinds[type(b).__name__] = kinds.get(type(b).__name__, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in kinds.items())


def _rebuild(bijectors: list[Bijector], theta: np.ndarray) -> Compose:
    chain = Compose(bijectors)
    chain._set_params(theta)
    return chain
