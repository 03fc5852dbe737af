r"""A dense multilayer perceptron with hand-written reverse- and forward-mode derivatives.

The building block of :class:`lininv.generators.Generator` (its decoder and its encoder). The
hidden activations and their vector-Jacobian products are the flows' own
(:mod:`lininv.flows._activations`); the output is linear or a sigmoid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._validation import check_choice, check_int, check_rng, describe
from lininv.flows._activations import ACTIVATIONS, activate, activate_vjp

__all__ = ["MLP", "OUTPUTS", "ACTIVATIONS"]

#: Output nonlinearities.
OUTPUTS = ("linear", "sigmoid")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-a))`` in place, as ``(1 + tanh(a / 2)) / 2`` (never overflows)."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a


class MLP:
    r"""Dense layers :math:`h_{l+1} = \phi_l(h_l W_l + b_l)` on row vectors, parameters in one vector.

    Parameters
    ----------
    sizes : sequence of int
        Widths ``(d_in, h_1, ..., d_out)``, at least two entries, each >= 1.
    activation : {"relu", "tanh", "elu"}, default="elu"
        Hidden nonlinearity :math:`\phi` (all layers but the last).
    output : {"linear", "sigmoid"}, default="linear"
        Nonlinearity of the last layer.
    rng : None, int, SeedSequence or Generator, default=None
        Draws the weights: He-normal :math:`N(0, 2/d_l)` for hidden layers, :math:`N(0, 1/d_l)`
        for the last; biases start at zero.

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        All weights and biases, layer by layer (``W_0`` row-major, ``b_0``, ``W_1``, ...);
        ``W`` and ``b`` are lists of views into it.

    Notes
    -----
    :meth:`vjp` is reverse mode (:math:`g \mapsto g^T \partial y/\partial x` and the parameter
    gradient); :meth:`jacobian` is forward mode, the chain
    :math:`\partial y/\partial x = D_L W_L^T \cdots D_1 W_1^T D_0 W_0^T` with
    :math:`D_l = \mathrm{diag}(\phi_l'(a_l))`, exact and cheap when ``d_in`` is small.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.generators._mlp import MLP
    >>> net = MLP((2, 8, 3), rng=0)
    >>> y, cache = net.forward(np.zeros((4, 2)))
    >>> y.shape, net.jacobian(np.zeros((4, 2))).shape
    ((4, 3), (4, 3, 2))
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: str = "elu",
        output: str = "linear",
        rng: Any = None,
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise TypeError(f"sizes must be a sequence of at least 2 widths; got {describe(sizes)}")
        self.sizes = tuple(check_int("sizes", s, low=1) for s in sizes)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.output = check_choice("output", output, OUTPUTS)
        gen = check_rng(rng)
        shapes = list(zip(self.sizes[:-1], self.sizes[1:], strict=True))
        self.n_params = sum(a * b + b for a, b in shapes)
        self.params = np.zeros(self.n_params)
        self.W: list[np.ndarray] = []
        self.b: list[np.ndarray] = []
        self._views(self.params, self.W, self.b)
        last = len(shapes) - 1
        for i, (a, _) in enumerate(shapes):
            scale = np.sqrt((1.0 if i == last else 2.0) / a)
            self.W[i][...] = gen.standard_normal(self.W[i].shape) * scale

    def _views(self, flat: np.ndarray, W: list, b: list) -> None:
        """Fill ``W`` and ``b`` with views of the layers' blocks of ``flat``."""
        pos = 0
        for a, c in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            W.append(flat[pos : pos + a * c].reshape(a, c))
            pos += a * c
            b.append(flat[pos : pos + c])
            pos += c

    def set_params(self, theta: np.ndarray) -> None:
        """Copy a valid float vector of shape (n_params,) into the parameters."""
        self.params[...] = theta

    def forward(self, X: np.ndarray, keep: bool = True) -> tuple[np.ndarray, list | None]:
        """Outputs for inputs ``X`` (B, d_in) and, if ``keep``, the cache of :meth:`vjp`."""
        hs = [X]
        h = X
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            a = h @ W
            a += b
            if i < last:
                h = activate(self.activation, a)
            else:
                h = _sigmoid(a) if self.output == "sigmoid" else a
            hs.append(h)
        return h, (hs if keep else None)

    def vjp(self, cache: list, g: np.ndarray, grads: np.ndarray | None = None) -> np.ndarray:
        """``g^T dy/dx`` per row (B, d_in); adds the parameter gradient into ``grads`` if given.

        ``g`` (B, d_out) is overwritten.
        """
        hs = cache
        gW: list[np.ndarray] = []
        gb: list[np.ndarray] = []
        if grads is not None:
            self._views(grads, gW, gb)
        last = len(self.W) - 1
        for i in range(last, -1, -1):
            h = hs[i + 1]
            if i < last:
                g = activate_vjp(self.activation, h, g)
            elif self.output == "sigmoid":
                g *= h * (1.0 - h)
            if grads is not None:
                gW[i] += hs[i].T @ g
                gb[i] += g.sum(axis=0)
            g = g @ self.W[i].T
        return g

    def jacobian(self, X: np.ndarray) -> np.ndarray:
        """``dy/dx`` per row, shape (B, d_out, d_in), by forward mode."""
        _, hs = self.forward(X)
        assert hs is not None
        last = len(self.W) - 1
        B, d_in = X.shape
        # the transpose JT = (dy/dx)^T, shape (B, d_in, width), so that each layer is one
        # matrix product (B * d_in, width_l) @ W_l, as fast at d_out = 784 as at 64
        JT = np.broadcast_to(self.W[0], (B,) + self.W[0].shape)
        for i in range(last + 1):
            if i > 0:
                JT = (JT.reshape(B * d_in, -1) @ self.W[i]).reshape(B, d_in, -1)
            h = hs[i + 1]
            if i < last:
                d = activate_vjp(self.activation, h, np.ones_like(h))
            elif self.output == "sigmoid":
                d = h * (1.0 - h)
            else:
                continue
            JT = JT * d[:, None, :]
        return np.ascontiguousarray(JT.transpose(0, 2, 1))
