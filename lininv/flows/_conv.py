r"""Image couplings: an affine coupling whose conditioner is a small convolutional network.

Images are rows of a batch in channel-last order: a flat vector of length ``n = H W C`` is the
array of shape ``(H, W, C)`` flattened row-major (for ``C = 1``, the usual row-major image).
Convolutions are matrix products: a 3x3 convolution with few input channels gathers the 3x3
neighbourhoods (``im2col``) and multiplies them by the weights; one with few output channels
multiplies every pixel by the weights of all nine offsets at once and adds the nine shifted
results (its adjoint gathers). Either way one large ``(k H W, .) @ (., .)`` product does the work
and the small shifted copies are cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._validation import check_choice, check_int, check_real, check_rng, describe
from lininv.flows._base import Bijector, register
from lininv.flows._coupling import ACTIVATIONS, _act, _act_vjp

__all__ = ["ConvAffineCoupling", "check_image_shape", "im2col3", "col2im3", "OFFSETS"]

#: The nine offsets (di, dj) in 0..2 of a 3x3 kernel, row-major: tap ``j`` reads pixel
#: ``(y + di - 1, x + dj - 1)`` (cross-correlation, zero padding), as ``torch.nn.Conv2d`` does.
OFFSETS = tuple((di, dj) for di in range(3) for dj in range(3))


def check_image_shape(shape: Any, *, min_channels: int = 1) -> tuple[int, int, int]:
    """Validate an image shape ``(H, W, C)`` of positive integers with ``C >= min_channels``."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise TypeError(f"shape must be a tuple (H, W, C) of three integers; got {describe(shape)}")
    H = check_int("shape[0] (height)", shape[0], low=1)
    W = check_int("shape[1] (width)", shape[1], low=1)
    C = check_int(
        "shape[2] (channels)", shape[2], low=min_channels, reason=" (channels to split in two)"
    )
    return H, W, C


def _from_image_config(cls: type, config: dict[str, Any], **extra: Any) -> Any:
    """Rebuild an image bijector from its ``_config`` (``n`` is checked against the shape)."""
    config = dict(config)
    n = config.pop("n")
    config["shape"] = tuple(config["shape"])
    obj = cls(**config, **extra)
    if obj.n != n:
        raise ValueError(f"shape {obj.shape} does not match n = {n}")
    return obj


def _padded(a: np.ndarray) -> np.ndarray:
    """``a`` (k, H, W, C) inside a zero border of one pixel: (k, H + 2, W + 2, C)."""
    k, H, W, C = a.shape
    out = np.zeros((k, H + 2, W + 2, C))
    out[:, 1:-1, 1:-1, :] = a
    return out


def im2col3(a: np.ndarray) -> np.ndarray:
    """3x3 neighbourhoods: ``(k, H, W, C) -> (k, H, W, 9, C)``, tap ``j`` at :data:`OFFSETS` ``[j]``.

    Pixels outside the image read as zero.
    """
    k, H, W, C = a.shape
    p = _padded(a)
    out = np.empty((k, H, W, 9, C))
    for j, (di, dj) in enumerate(OFFSETS):
        out[:, :, :, j, :] = p[:, di : di + H, dj : dj + W, :]
    return out


def col2im3(g: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`im2col3`: ``(k, H, W, 9, C) -> (k, H, W, C)``."""
    k, H, W, _, C = g.shape
    p = np.zeros((k, H + 2, W + 2, C))
    for j, (di, dj) in enumerate(OFFSETS):
        p[:, di : di + H, dj : dj + W, :] += g[:, :, :, j, :]
    return p[:, 1:-1, 1:-1, :]


def _taps_sum(Y: np.ndarray) -> np.ndarray:
    """``out(y, x) = sum_j Y(y + di - 1, x + dj - 1, j)``: (k, H, W, 9, C) -> (k, H, W, C).

    A 3x3 convolution whose per-tap products ``Y[..., j, :] = h @ W_j`` were computed at every
    pixel at once: pixel ``q`` of tap ``j`` lands on ``q - (di - 1, dj - 1)`` (scattered into a
    zero border, which collects what falls outside).
    """
    k, H, W, _, C = Y.shape
    p = np.zeros((k, H + 2, W + 2, C))
    for j, (di, dj) in enumerate(OFFSETS):
        p[:, 2 - di : 2 - di + H, 2 - dj : 2 - dj + W, :] += Y[:, :, :, j, :]
    return p[:, 1:-1, 1:-1, :]


def _taps_sum_adjoint(g: np.ndarray) -> np.ndarray:
    """The adjoint of :func:`_taps_sum`: ``gY(y, x, j) = g(y - di + 1, x - dj + 1)`` (zero outside)."""
    k, H, W, C = g.shape
    p = _padded(g)
    out = np.empty((k, H, W, 9, C))
    for j, (di, dj) in enumerate(OFFSETS):
        out[:, :, :, j, :] = p[:, 2 - di : 2 - di + H, 2 - dj : 2 - dj + W, :]
    return out


@register
class ConvAffineCoupling(Bijector):
    r"""Affine coupling of image channels with a convolutional conditioner (Glow's coupling).

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(H, W, C)``, ``C >= 2``; the bijector acts on flat vectors of length
        ``n = H W C`` in channel-last order (module docstring).
    hidden : int, default=64
        Channels of the conditioner's two hidden layers.
    flip : bool, default=False
        ``False``: transform the first ``C // 2`` channels given the others; ``True``: transform
        the last ``C // 2`` given the first ``C - C // 2``.
    activation : {"relu", "tanh", "elu"}, default="relu"
        Hidden nonlinearity.
    clamp : float, default=3.0
        Bound ``c`` on the log-scale, as in :class:`AffineCoupling`.
    rng : None, int, SeedSequence or Generator, default=None
        Draws the hidden weights (He-normal); the output layer starts at zero, so the layer
        starts as the identity.

    Notes
    -----
    With the transformed channels :math:`z_1` and the conditioning channels :math:`z_2` of the
    image, the conditioner

    .. math:: (r, t) = \mathrm{conv}_{3\times3}\big(\phi(\mathrm{conv}_{1\times1}(
              \phi(\mathrm{conv}_{3\times3}(z_2) + b_1)) + b_2)\big) + b_3

    (zero padding, ``hidden`` channels, :math:`\phi` the activation) gives, at every pixel,

    .. math:: x_1 = e^{s} \odot z_1 + t, \quad x_2 = z_2, \quad s = c \tanh(r / c), \quad
              \log\left|\det \frac{\partial x}{\partial z}\right| = \sum_{\text{pixels}}
              \sum_i s_i.

    The weights are shared over pixels, so the parameter count does not grow with the image:
    ``9 C_2 h + h + h^2 + h + 9 h (2 C_1) + 2 C_1`` with :math:`C_1 = C // 2`,
    :math:`C_2 = C - C_1`. Parameter layout: ``W1`` is ``(9 C_2, h)`` with row ``j C_2 + c`` the
    weights of tap ``j`` (:data:`OFFSETS`) and input channel ``c``; ``W3`` is ``(h, 9 (2 C_1))``
    with column ``j (2 C_1) + o``; the first ``C_1`` outputs are ``r``, the others ``t``.

    References
    ----------
    .. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real NVP", ICLR 2017.
    .. [2] D. P. Kingma, P. Dhariwal, "Glow: generative flow with invertible 1x1 convolutions",
       NeurIPS 2018, section 3.3.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import ConvAffineCoupling
    >>> layer = ConvAffineCoupling((4, 4, 2), hidden=8, rng=0)
    >>> layer.n, layer.n_params
    (32, 298)
    >>> x, ld = layer.forward(np.ones(32))  # zero output layer: the identity at initialisation
    >>> bool(np.all(x == 1.0)), ld
    (True, 0.0)
    """

    def __init__(
        self,
        shape: Any,
        hidden: int = 64,
        *,
        flip: bool = False,
        activation: str = "relu",
        clamp: float = 3.0,
        rng: Any = None,
    ) -> None:
        H, W, C = check_image_shape(shape, min_channels=2)
        hidden = check_int("hidden", hidden, low=1)
        if not isinstance(flip, (bool, np.bool_)):
            raise TypeError(f"flip must be a bool; got {describe(flip)}")
        activation = check_choice("activation", activation, ACTIVATIONS)
        clamp = check_real("clamp", clamp, low=0.0, low_open=True)
        gen = check_rng(rng)
        super().__init__(H * W * C)
        self.shape = (H, W, C)
        self.hidden, self.flip, self.activation, self.clamp = hidden, bool(flip), activation, clamp
        ct = C // 2
        cc = C - ct
        self._ct, self._cc = ct, cc
        if flip:
            self._cond, self._trans = slice(0, cc), slice(cc, C)
        else:
            self._trans, self._cond = slice(0, ct), slice(ct, C)
        self.params = {
            "W1": gen.standard_normal((9 * cc, hidden)) * np.sqrt(2.0 / (9 * cc)),
            "b1": np.zeros(hidden),
            "W2": gen.standard_normal((hidden, hidden)) * np.sqrt(2.0 / hidden),
            "b2": np.zeros(hidden),
            "W3": np.zeros((hidden, 9 * 2 * ct)),
            "b3": np.zeros(2 * ct),
        }

    # -- conditioner ----------------------------------------------------------------------------

    def _conditioner(self, cond: np.ndarray):
        """``(s, t, cache)`` for conditioning channels ``cond`` (k, H, W, C_2)."""
        p, act, ct = self.params, self.activation, self._ct
        k, H, W, cc = cond.shape
        P = im2col3(cond).reshape(k * H * W, 9 * cc)
        h1 = P @ p["W1"]
        h1 += p["b1"]
        _act(act, h1)
        h2 = h1 @ p["W2"]
        h2 += p["b2"]
        _act(act, h2)
        Y = (h2 @ p["W3"]).reshape(k, H, W, 9, 2 * ct)
        o = _taps_sum(Y)
        o += p["b3"]
        th = np.tanh(o[..., :ct] * (1.0 / self.clamp))
        s = th * self.clamp
        t = o[..., ct:]
        return s, t, (P, h1, h2, th)

    def _conditioner_vjp(self, mcache, gs, gt, grads) -> np.ndarray:
        """Cotangent of the conditioning channels (k, H, W, C_2) from those of ``s`` and ``t``."""
        P, h1, h2, th = mcache
        p, act, ct, cc = self.params, self.activation, self._ct, self._cc
        k, H, W, _ = gs.shape
        go = np.empty((k, H, W, 2 * ct))
        np.multiply(gs, 1.0 - th * th, out=go[..., :ct])  # ds/dr = 1 - tanh^2(r / c)
        go[..., ct:] = gt
        gY = _taps_sum_adjoint(go).reshape(k * H * W, 9 * 2 * ct)
        if grads is not None:
            np.sum(go.reshape(-1, 2 * ct), axis=0, out=grads["b3"])
            np.matmul(h2.T, gY, out=grads["W3"])
        g = _act_vjp(act, h2, gY @ p["W3"].T)
        if grads is not None:
            np.matmul(h1.T, g, out=grads["W2"])
            np.sum(g, axis=0, out=grads["b2"])
        g = _act_vjp(act, h1, g @ p["W2"].T)
        if grads is not None:
            np.matmul(P.T, g, out=grads["W1"])
            np.sum(g, axis=0, out=grads["b1"])
        return col2im3((g @ p["W1"].T).reshape(k, H, W, 9, cc))

    # -- directions ---------------------------------------------------------------------------------

    def _image(self, v: np.ndarray) -> np.ndarray:
        return v.reshape(v.shape[0], *self.shape)

    def _forward(self, z, keep):
        zi = self._image(z)
        cond = np.ascontiguousarray(zi[..., self._cond])
        s, t, mc = self._conditioner(cond)
        es = np.exp(s)
        z1 = zi[..., self._trans]
        x = np.empty_like(z)
        xi = self._image(x)
        np.multiply(z1, es, out=xi[..., self._trans])
        xi[..., self._trans] += t
        xi[..., self._cond] = cond
        ld = s.reshape(s.shape[0], -1).sum(axis=1)
        return x, ld, ((mc, es, np.ascontiguousarray(z1)) if keep else None)

    def _inverse(self, x, keep):
        xi = self._image(x)
        cond = np.ascontiguousarray(xi[..., self._cond])
        s, t, mc = self._conditioner(cond)
        ems = np.exp(-s)
        z1 = xi[..., self._trans] - t
        z1 *= ems
        z = np.empty_like(x)
        zi = self._image(z)
        zi[..., self._trans] = z1
        zi[..., self._cond] = cond
        ld = -s.reshape(s.shape[0], -1).sum(axis=1)
        return z, ld, ((mc, ems, z1) if keep else None)

    def _forward_vjp(self, cache, gx, gld, grads):
        mc, es, z1 = cache
        gxi = self._image(gx)
        gx1 = np.ascontiguousarray(gxi[..., self._trans])
        gz = np.empty_like(gx)
        gzi = self._image(gz)
        gz1 = gx1 * es
        gzi[..., self._trans] = gz1
        gs = gz1 * z1  # d x1 / d s = z1 e^s
        if gld is not None:
            gs += gld[:, None, None, None]
        gzi[..., self._cond] = gxi[..., self._cond] + self._conditioner_vjp(mc, gs, gx1, grads)
        return gz

    def _inverse_vjp(self, cache, gz, gld, grads):
        mc, ems, z1 = cache
        gzi = self._image(gz)
        gz1 = gzi[..., self._trans]
        gx = np.empty_like(gz)
        gxi = self._image(gx)
        gx1 = gz1 * ems  # d z1 / d x1 = e^{-s}
        gxi[..., self._trans] = gx1
        gs = gz1 * z1  # d z1 / d s = -z1, and log-det = -sum s
        if gld is not None:
            gs += gld[:, None, None, None]
        np.negative(gs, out=gs)
        np.negative(gx1, out=gx1)  # d z1 / d t = -e^{-s}
        gxi[..., self._cond] = gzi[..., self._cond] + self._conditioner_vjp(mc, gs, gx1, grads)
        return gx

    def _config(self):
        return {
            "n": self.n,
            "shape": list(self.shape),
            "hidden": self.hidden,
            "flip": self.flip,
            "activation": self.activation,
            "clamp": self.clamp,
        }

    @classmethod
    def _from_config(cls, config, buffers):
        return _from_image_config(cls, config)

    def __repr__(self) -> str:
        return (
            f"ConvAffineCoupling(shape={self.shape}, hidden={self.hidden}, flip={self.flip}, "
            f"activation={self.activation!r}, clamp={self.clamp!r})"
        )
