r"""Image bijectors: per-channel activation norm, invertible 1x1 convolution, multi-scale factoring.

Images are flat rows in channel-last order, as in :mod:`lininv.flows._conv`: the vector of
length ``n = H W C`` is the array of shape ``(H, W, C)`` flattened row-major. Squeezing (space to
depth) and the reordering that factors out channels are fixed :class:`Permutation` layers built
from :func:`squeeze_index` and :func:`split_index`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.linalg import lu as _lu

from lininv._prior import haar_orthogonal
from lininv._validation import check_int, check_rng
from lininv.flows._base import REGISTRY, Bijector, register
from lininv.flows._compose import Compose, _spec
from lininv.flows._conv import _from_image_config, check_image_shape

__all__ = ["ChannelActNorm", "Conv1x1", "Factor", "squeeze_index", "split_index"]


def squeeze_index(shape: Any) -> np.ndarray:
    r"""Space to depth: ``squeezed = flat[idx]`` maps ``(H, W, C)`` to ``(H/2, W/2, 4C)``.

    Channel ``(2a + b) C + c`` of squeezed pixel ``(y, x)`` is channel ``c`` of pixel
    ``(2y + a, 2x + b)``; ``H`` and ``W`` must be even.

    Examples
    --------
    >>> from lininv.flows._image import squeeze_index
    >>> squeeze_index((2, 2, 1)).tolist()  # one 2x2 block becomes one pixel with 4 channels
    [0, 1, 2, 3]
    >>> squeeze_index((2, 4, 1)).tolist()
    [0, 1, 4, 5, 2, 3, 6, 7]
    """
    H, W, C = check_image_shape(shape)
    if H % 2 or W % 2:
        raise ValueError(f"shape must have an even height and width to squeeze; got {(H, W, C)}")
    idx = np.arange(H * W * C).reshape(H // 2, 2, W // 2, 2, C)
    return idx.transpose(0, 2, 1, 3, 4).reshape(-1)


def split_index(shape: Any, keep: int, *, squeeze: bool = False) -> np.ndarray:
    r"""Reorder ``(H, W, C)`` as ``[first keep channels | the other channels]``, each channel-last.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W, C)``.
    keep : int
        Channels ``0 .. keep - 1`` come first (``1 <= keep < C``): the part that the next level of
        a multi-scale flow transforms; the rest goes to the base distribution.
    squeeze : bool, default=False
        Also squeeze the kept part (:func:`squeeze_index` of ``(H, W, keep)``).

    Returns
    -------
    ndarray of int, shape (H W C,)
        ``reordered = flat[idx]``.
    """
    H, W, C = check_image_shape(shape)
    keep = check_int("keep", keep, low=1, high=C - 1)
    idx = np.arange(H * W * C).reshape(H, W, C)
    kept = idx[..., :keep].reshape(-1)
    if squeeze:
        kept = kept[squeeze_index((H, W, keep))]
    return np.concatenate([kept, idx[..., keep:].reshape(-1)])


@register
class ChannelActNorm(Bijector):
    r"""Per-channel activation normalisation of images, :math:`x = e^{a_c} z + b_c` at every pixel.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(H, W, C)`` (channel-last flat rows of length ``n = H W C``).

    Trainable ``log_scale`` (``a``) and ``bias`` (``b``), shape (C,), shared by all pixels, zero
    until :meth:`Flow.initialize` sets them from data.

    Notes
    -----
    .. math:: \log\left|\det \frac{\partial x}{\partial z}\right| = H W \sum_c a_c.

    The data-dependent initialisation sets :math:`b_c` and :math:`e^{a_c}` to the mean and
    standard deviation of channel ``c`` over samples and pixels (floored at 1e-6), as in Glow.

    References
    ----------
    .. [1] D. P. Kingma, P. Dhariwal, "Glow: generative flow with invertible 1x1 convolutions",
       NeurIPS 2018, section 3.1.
    """

    def __init__(self, shape: Any) -> None:
        H, W, C = check_image_shape(shape)
        super().__init__(H * W * C)
        self.shape = (H, W, C)
        self.params = {"log_scale": np.zeros(C), "bias": np.zeros(C)}
        self.initialized = False

    def _rows(self, v: np.ndarray) -> np.ndarray:
        return v.reshape(-1, self.shape[2])

    def _initialize_from(self, x):
        if not self.initialized:
            r = self._rows(x)
            self.params["bias"][:] = r.mean(axis=0)
            self.params["log_scale"][:] = np.log(np.maximum(r.std(axis=0), 1e-6))
            self.initialized = True
        return self._inverse(x, False)[0]

    def _logdet(self, k: int, sign: float) -> np.ndarray:
        H, W, _ = self.shape
        return np.full(k, sign * H * W * float(np.sum(self.params["log_scale"])))

    def _forward(self, z, keep):
        a = self.params["log_scale"]
        x = self._rows(z) * np.exp(a)
        x += self.params["bias"]
        return x.reshape(z.shape), self._logdet(z.shape[0], 1.0), (z if keep else None)

    def _inverse(self, x, keep):
        a = self.params["log_scale"]
        z = self._rows(x) - self.params["bias"]
        z *= np.exp(-a)
        z = z.reshape(x.shape)
        return z, self._logdet(x.shape[0], -1.0), (z if keep else None)

    def _forward_vjp(self, cache, gx, gld, grads):
        s = np.exp(self.params["log_scale"])
        g = self._rows(gx)
        if grads is not None:
            H, W, _ = self.shape
            grads["bias"][:] = g.sum(axis=0)
            grads["log_scale"][:] = np.einsum("ki,ki->i", g, self._rows(cache)) * s + (
                0.0 if gld is None else H * W * float(np.sum(gld))
            )
        return (g * s).reshape(gx.shape)

    def _inverse_vjp(self, cache, gz, gld, grads):
        g = self._rows(gz) * np.exp(-self.params["log_scale"])
        if grads is not None:
            H, W, _ = self.shape
            grads["bias"][:] = -g.sum(axis=0)
            grads["log_scale"][:] = -np.einsum("ki,ki->i", self._rows(gz), self._rows(cache)) - (
                0.0 if gld is None else H * W * float(np.sum(gld))
            )
        return g.reshape(gz.shape)

    def _config(self):
        return {"n": self.n, "shape": list(self.shape)}

    def _buffers(self):
        return {"initialized": np.array(self.initialized)}

    def _set_buffers(self, buffers):
        self.initialized = bool(np.asarray(buffers["initialized"]))

    @classmethod
    def _from_config(cls, config, buffers):
        obj = _from_image_config(cls, config)
        obj._set_buffers(buffers)
        return obj

    def __repr__(self) -> str:
        return f"ChannelActNorm(shape={self.shape})"


@register
class Conv1x1(Bijector):
    r"""Invertible 1x1 convolution: the same matrix :math:`W = P L U` mixes the channels of every pixel.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(H, W, C)``.

    Starts at the identity; :meth:`random_rotation` starts at a Haar-random rotation, as Glow does.
    Trainable parameters as :class:`LULinear` (C x C): the strict triangles ``lower`` and
    ``upper`` and ``log_diag``; the permutation ``P`` (buffer ``perm``, :math:`(P v)_i =
    v_{\mathrm{perm}_i}`) and the diagonal's signs are fixed.

    Notes
    -----
    .. math:: \log\left|\det \frac{\partial x}{\partial z}\right| = H W \sum_i \texttt{log\_diag}_i.

    The inverse multiplies by :math:`W^{-1} = (L U)^{-1} P^T`, a C x C inverse (C is small).

    References
    ----------
    .. [1] D. P. Kingma, P. Dhariwal, "Glow: generative flow with invertible 1x1 convolutions",
       NeurIPS 2018, section 3.2.
    """

    def __init__(self, shape: Any) -> None:
        H, W, C = check_image_shape(shape)
        super().__init__(H * W * C)
        self.shape = (H, W, C)
        m = C * (C - 1) // 2
        self._il = np.tril_indices(C, -1)
        self._iu = np.triu_indices(C, 1)
        self.params = {"lower": np.zeros(m), "upper": np.zeros(m), "log_diag": np.zeros(C)}
        self.perm = np.arange(C)
        self.sign = np.ones(C)

    @classmethod
    def random_rotation(cls, shape: Any, *, rng: Any = None) -> Conv1x1:
        """A layer starting at a Haar-random rotation of the channels (pivoted LU of it)."""
        obj = cls(shape)
        C = obj.shape[2]
        Pm, L, U = _lu(haar_orthogonal(C, check_rng(rng)))
        d = np.diag(U)
        obj.params["lower"][:] = L[obj._il]
        obj.params["upper"][:] = U[obj._iu]
        obj.params["log_diag"][:] = np.log(np.abs(d))
        obj.sign = np.sign(d)
        obj.perm = np.argmax(Pm, axis=1).astype(np.intp)
        return obj

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        """The current ``(L, U)``."""
        C = self.shape[2]
        L = np.eye(C)
        L[self._il] = self.params["lower"]
        U = np.zeros((C, C))
        U[self._iu] = self.params["upper"]
        U[np.diag_indices(C)] = self.sign * np.exp(self.params["log_diag"])
        return L, U

    def matrix(self) -> np.ndarray:
        """The channel-mixing matrix ``W = P L U`` (x = W z at every pixel)."""
        L, U = self.factors()
        return (L @ U)[self.perm, :]

    def _inverse_matrix(self, L: np.ndarray, U: np.ndarray) -> np.ndarray:
        # W^{-1} = (L U)^{-1} P^T: a C x C inverse (LAPACK, microseconds; scipy's triangular
        # solver costs milliseconds here on a loaded multi-threaded BLAS)
        return np.linalg.inv(L @ U)[:, self.perm]

    def _logdet(self, k: int, sign: float) -> np.ndarray:
        H, W, _ = self.shape
        return np.full(k, sign * H * W * float(np.sum(self.params["log_diag"])))

    def _forward(self, z, keep):
        L, U = self.factors()
        Wm = (L @ U)[self.perm, :]
        C = self.shape[2]
        x = z.reshape(-1, C) @ Wm.T
        return x.reshape(z.shape), self._logdet(z.shape[0], 1.0), ((z, L, U) if keep else None)

    def _inverse(self, x, keep):
        L, U = self.factors()
        A = self._inverse_matrix(L, U)
        C = self.shape[2]
        z = (x.reshape(-1, C) @ A.T).reshape(x.shape)
        return z, self._logdet(x.shape[0], -1.0), ((x, z, A, L, U) if keep else None)

    def _write_grads(self, grads, gW, L, U, gld_sum):
        gM = np.empty_like(gW)
        gM[self.perm] = gW  # W = M[perm]
        gL = gM @ U.T
        gU = L.T @ gM
        H, W, _ = self.shape
        grads["lower"][:] = gL[self._il]
        grads["upper"][:] = gU[self._iu]
        grads["log_diag"][:] = np.diag(gU) * np.diag(U) + H * W * gld_sum

    def _forward_vjp(self, cache, gx, gld, grads):
        z, L, U = cache
        C = self.shape[2]
        g = gx.reshape(-1, C)
        if grads is not None:
            gW = g.T @ z.reshape(-1, C)
            self._write_grads(grads, gW, L, U, 0.0 if gld is None else float(np.sum(gld)))
        return (g @ (L @ U)[self.perm, :]).reshape(gx.shape)

    def _inverse_vjp(self, cache, gz, gld, grads):
        x, z, A, L, U = cache
        C = self.shape[2]
        g = gz.reshape(-1, C)
        if grads is not None:
            gA = g.T @ x.reshape(-1, C)  # z = A x
            gW = -(A.T @ gA @ A.T)  # dA = -A dW A
            self._write_grads(grads, gW, L, U, 0.0 if gld is None else -float(np.sum(gld)))
        return (g @ A).reshape(gz.shape)

    def _config(self):
        return {"n": self.n, "shape": list(self.shape)}

    def _buffers(self):
        return {"perm": self.perm, "sign": self.sign}

    def _set_buffers(self, buffers):
        C = self.shape[2]
        perm = np.asarray(buffers["perm"])
        sign = np.asarray(buffers["sign"], dtype=float)
        if perm.shape != (C,) or not np.array_equal(np.sort(perm), np.arange(C)):
            raise ValueError(f"Conv1x1 perm buffer must be a permutation of 0..{C - 1}")
        if sign.shape != (C,) or not np.all(np.abs(sign) == 1):
            raise ValueError(f"Conv1x1 sign buffer must be {C} entries of +-1")
        self.perm, self.sign = perm.astype(np.intp), sign

    @classmethod
    def _from_config(cls, config, buffers):
        obj = _from_image_config(cls, config)
        obj._set_buffers(buffers)
        return obj

    def __repr__(self) -> str:
        return f"Conv1x1(shape={self.shape})"


@register
class Factor(Bijector):
    r"""Multi-scale factoring: a bijector on the leading coordinates, the identity on the rest.

    Parameters
    ----------
    inner : Bijector or sequence of Bijector
        Acts on coordinates ``0 .. m - 1`` (``m = inner.n``); a sequence is composed
        (:class:`Compose`). Copied: the layer owns it.
    n : int
        Dimension, ``n > m``.

    Notes
    -----
    From the signal side, coordinates ``m .. n - 1`` leave the flow here for the standard normal
    base (RealNVP's and Glow's multi-scale architecture: after each level half of the
    dimensions are "factored out" and the following levels, which are deeper, act on the other
    half only). Glow's learned prior of a factored-out part given the kept part is an affine
    coupling of the factored channels given the kept ones, placed just before the split (the
    builder :func:`lininv.flows.glow` ends every level with such couplings), so the base stays
    standard normal. :math:`\log|\det|` is that of ``inner``.

    References
    ----------
    .. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real NVP", ICLR 2017,
       section 3.6.
    """

    def __init__(self, inner: Bijector | Sequence[Bijector], n: int) -> None:
        if isinstance(inner, Bijector) and not isinstance(inner, Compose):
            inner = [inner]
        if isinstance(inner, Compose):
            inner = inner.bijectors
        chain = Compose(inner)  # validates and copies
        if chain.support != (-np.inf, np.inf):
            raise ValueError("inner must not end with a Logit layer (a bounded support)")
        n = check_int("n", n, low=chain.n + 1, reason=f" (more than inner's n = {chain.n})")
        super().__init__(n)
        self.inner = chain
        self.m = chain.n
        self.params = chain.params

    def _bind(self, theta, grad):
        self.inner._bind(theta, grad)
        self.params = self.inner.params

    def _param_views(self, flat):
        return self.inner._param_views(flat)

    def _initialize_from(self, x):
        z = x.copy()
        z[:, : self.m] = self.inner._initialize_from(np.ascontiguousarray(x[:, : self.m]))
        return z

    def _forward(self, z, keep):
        m = self.m
        h, ld, cache = self.inner._forward(np.ascontiguousarray(z[:, :m]), keep)
        x = np.empty_like(z)
        x[:, :m] = h
        x[:, m:] = z[:, m:]
        return x, ld, cache

    def _inverse(self, x, keep):
        m = self.m
        h, ld, cache = self.inner._inverse(np.ascontiguousarray(x[:, :m]), keep)
        z = np.empty_like(x)
        z[:, :m] = h
        z[:, m:] = x[:, m:]
        return z, ld, cache

    def _forward_vjp(self, cache, gx, gld, grads):
        m = self.m
        g = np.empty_like(gx)
        g[:, :m] = self.inner._forward_vjp(cache, np.ascontiguousarray(gx[:, :m]), gld, grads)
        g[:, m:] = gx[:, m:]
        return g

    def _inverse_vjp(self, cache, gz, gld, grads):
        m = self.m
        g = np.empty_like(gz)
        g[:, :m] = self.inner._inverse_vjp(cache, np.ascontiguousarray(gz[:, :m]), gld, grads)
        g[:, m:] = gz[:, m:]
        return g

    def _config(self):
        return {"n": self.n, "inner": _spec(self.inner)}

    def _buffers(self):
        return {f"inner/{k}": v for k, v in self.inner._buffers().items()}

    @classmethod
    def _from_config(cls, config, buffers):
        spec = config["inner"]
        own = {k[len("inner/") :]: v for k, v in buffers.items() if k.startswith("inner/")}
        inner = REGISTRY[spec["type"]]._from_config(dict(spec["config"]), own)
        return cls(inner, config["n"])

    def __reduce__(self):
        return (Factor, (self.inner, self.n))

    def __repr__(self) -> str:
        return f"Factor(n={self.n}, inner={self.inner!r})"
