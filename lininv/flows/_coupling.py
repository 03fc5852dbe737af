r"""The affine coupling layer (RealNVP) with an MLP conditioner and a bounded log-scale."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._validation import check_choice, check_int, check_real, check_rng
from lininv.flows._activations import ACTIVATIONS
from lininv.flows._activations import activate as _act
from lininv.flows._activations import activate_vjp as _act_vjp
from lininv.flows._base import Bijector, check_dimension, register

__all__ = ["AffineCoupling", "ACTIVATIONS"]


@register
class AffineCoupling(Bijector):
    r"""Affine coupling: one half of the coordinates is scaled and shifted by a function of the other.

    Parameters
    ----------
    n : int
        Dimension, ``n >= 2``. The transformed block has ``n // 2`` coordinates, the conditioning
        block the other ``n - n // 2``.
    hidden : int, default=128
        Width of the two hidden layers of the conditioner.
    flip : bool, default=False
        ``False``: transform the first ``n // 2`` coordinates given the rest; ``True``: transform
        the last ``n // 2`` given the first ``n - n // 2``.
    activation : {"relu", "tanh", "elu"}, default="elu"
        Hidden nonlinearity (``elu`` is smooth enough for L-BFGS in latent space and as cheap as
        ``relu`` here).
    clamp : float, default=3.0
        Bound ``c`` on the log-scale (see Notes).
    rng : None, int, SeedSequence or Generator, default=None
        Draws the hidden weights (He-normal); the output layer starts at zero so that the layer
        starts as the identity.

    Notes
    -----
    With ``z = (z_1, z_2)`` (transformed, conditioning), the conditioner
    :math:`f(z_2) = W_3\,\phi(W_2\,\phi(W_1 z_2 + b_1) + b_2) + b_3 = (r, t)` gives

    .. math:: x_1 = e^{s} \odot z_1 + t, \quad x_2 = z_2, \quad
              s = c \tanh(r / c), \quad
              \log\left|\det \frac{\partial x}{\partial z}\right| = \sum_i s_i,

    the poster's :math:`y_1 = s \odot x_1 + t` with the scale written :math:`e^{s}`. The soft clamp
    keeps :math:`|s_i| < c`, so neither direction can overflow or produce NaN whatever the
    conditioner outputs; the inverse is :math:`z_1 = (x_1 - t) \odot e^{-s}`.

    References
    ----------
    .. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real NVP", ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import AffineCoupling
    >>> layer = AffineCoupling(4, hidden=8, rng=0)
    >>> layer.forward(np.ones(4))  # zero output layer: the identity at initialisation
    (array([1., 1., 1., 1.]), 0.0)
    """

    def __init__(
        self,
        n: int,
        hidden: int = 128,
        *,
        flip: bool = False,
        activation: str = "elu",
        clamp: float = 3.0,
        rng: Any = None,
    ) -> None:
        n = check_dimension(n, low=2)
        hidden = check_int("hidden", hidden, low=1)
        if not isinstance(flip, (bool, np.bool_)):
            raise TypeError(f"flip must be a bool; got {flip!r}")
        activation = check_choice("activation", activation, ACTIVATIONS)
        clamp = check_real("clamp", clamp, low=0.0, low_open=True)
        gen = check_rng(rng)
        super().__init__(n)
        self.hidden, self.flip, self.activation, self.clamp = hidden, bool(flip), activation, clamp
        na = n // 2
        nb = n - na
        self._na, self._nb = na, nb
        if flip:
            self._cond, self._trans = slice(0, nb), slice(nb, n)
        else:
            self._trans, self._cond = slice(0, na), slice(na, n)
        self.params = {
            "W1": gen.standard_normal((nb, hidden)) * np.sqrt(2.0 / nb),
            "b1": np.zeros(hidden),
            "W2": gen.standard_normal((hidden, hidden)) * np.sqrt(2.0 / hidden),
            "b2": np.zeros(hidden),
            "W3": np.zeros((hidden, 2 * na)),
            "b3": np.zeros(2 * na),
        }

    # -- conditioner ----------------------------------------------------------------------------

    def _conditioner(self, cond: np.ndarray):
        p, act = self.params, self.activation
        h1 = cond @ p["W1"]
        h1 += p["b1"]
        _act(act, h1)
        h2 = h1 @ p["W2"]
        h2 += p["b2"]
        _act(act, h2)
        o = h2 @ p["W3"]
        o += p["b3"]
        na, c = self._na, self.clamp
        th = np.tanh(o[:, :na] * (1.0 / c))
        s = th * c
        t = o[:, na:]
        return s, t, (cond, h1, h2, th)

    def _conditioner_vjp(self, mcache, gs, gt, grads) -> np.ndarray:
        cond, h1, h2, th = mcache
        p, act, na = self.params, self.activation, self._na
        go = np.empty((gs.shape[0], 2 * na))
        np.multiply(gs, 1.0 - th * th, out=go[:, :na])  # ds/dr = 1 - tanh^2(r / c)
        go[:, na:] = gt
        if grads is not None:
            np.matmul(h2.T, go, out=grads["W3"])
            np.sum(go, axis=0, out=grads["b3"])
        g = _act_vjp(act, h2, go @ p["W3"].T)
        if grads is not None:
            np.matmul(h1.T, g, out=grads["W2"])
            np.sum(g, axis=0, out=grads["b2"])
        g = _act_vjp(act, h1, g @ p["W2"].T)
        if grads is not None:
            np.matmul(cond.T, g, out=grads["W1"])
            np.sum(g, axis=0, out=grads["b1"])
        return g @ p["W1"].T

    # -- directions ---------------------------------------------------------------------------------

    def _forward(self, z, keep):
        cond = z[:, self._cond]
        s, t, mc = self._conditioner(cond)
        es = np.exp(s)
        z1 = z[:, self._trans]
        x = np.empty_like(z)
        np.multiply(z1, es, out=x[:, self._trans])
        x[:, self._trans] += t
        x[:, self._cond] = cond
        return x, s.sum(axis=1), ((mc, es, z1) if keep else None)

    def _inverse(self, x, keep):
        cond = x[:, self._cond]
        s, t, mc = self._conditioner(cond)
        ems = np.exp(-s)
        z = np.empty_like(x)
        z1 = z[:, self._trans]
        np.subtract(x[:, self._trans], t, out=z1)
        z1 *= ems
        z[:, self._cond] = cond
        return z, -s.sum(axis=1), ((mc, ems, z1) if keep else None)

    def _forward_vjp(self, cache, gx, gld, grads):
        mc, es, z1 = cache
        gx1 = gx[:, self._trans]
        gz = np.empty_like(gx)
        np.multiply(gx1, es, out=gz[:, self._trans])
        gs = gz[:, self._trans] * z1  # d x1 / d s = z1 e^s
        if gld is not None:
            gs += gld[:, None]
        gz[:, self._cond] = gx[:, self._cond]
        gz[:, self._cond] += self._conditioner_vjp(mc, gs, gx1, grads)
        return gz

    def _inverse_vjp(self, cache, gz, gld, grads):
        mc, ems, z1 = cache
        gz1 = gz[:, self._trans]
        gx = np.empty_like(gz)
        gx1 = gx[:, self._trans]
        np.multiply(gz1, ems, out=gx1)  # d z1 / d x1 = e^{-s}
        gs = gz1 * z1  # d z1 / d s = -z1, and log-det = -sum s
        if gld is not None:
            gs += gld[:, None]
        np.negative(gs, out=gs)
        gt = -gx1  # d z1 / d t = -e^{-s}
        gx[:, self._cond] = gz[:, self._cond]
        gx[:, self._cond] += self._conditioner_vjp(mc, gs, gt, grads)
        return gx

    def _config(self):
        return {
            "n": self.n,
            "hidden": self.hidden,
            "flip": self.flip,
            "activation": self.activation,
            "clamp": self.clamp,
        }
