r"""The low-dimensional generator :math:`x = D(z)`, :math:`z \in \mathbb R^k`, and its encoder."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lininv._threads import single_blas_thread
from lininv._validation import (
    _as_real_array,
    as_vector_or_batch,
    check_choice,
    check_int,
    check_rng,
    describe,
)
from lininv.generators._mlp import ACTIVATIONS, MLP, OUTPUTS

__all__ = ["Generator", "KINDS", "LOGVAR_CLAMP"]

#: How a generator is trained: the decoder of a variational autoencoder, or of a plain autoencoder.
KINDS = ("vae", "ae")

#: Bound c of the encoder's log-variance, :math:`\log\sigma^2 = c \tanh(r / c)` (VAE only).
LOGVAR_CLAMP = 8.0


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or not hidden:
        raise TypeError(f"hidden must be a non-empty sequence of widths; got {describe(hidden)}")
    return tuple(check_int("hidden", h, low=1) for h in hidden)


class Generator:
    r"""A nonlinear generator :math:`D: \mathbb R^k \to \mathbb R^n`, an MLP decoder, with its encoder.

    The low-dimensional prior of the paper's comparison (its DCGAN): signals are modelled as
    :math:`x = D(z)`, :math:`z \sim N(0, I_k)`, ``k < n``, so a signal off the ``k``-dimensional
    range of ``D`` carries a representation error (:func:`representation_error`).

    Parameters
    ----------
    k : int
        Latent dimension, ``1 <= k < n``.
    n : int, default=64
        Signal dimension.
    hidden : int or sequence of int, default=(128, 128)
        Hidden widths of the decoder ``k -> hidden -> n``; the encoder mirrors them,
        ``n -> reversed(hidden) -> k`` (``2k`` outputs for a VAE: mean and log-variance).
    activation : {"relu", "tanh", "elu"}, default="elu"
        Hidden nonlinearity of both networks.
    output : {"sigmoid", "linear"}, default="sigmoid"
        Decoder output: a sigmoid keeps every pixel in (0, 1), the range of the dequantised digits
        (as a DCGAN's tanh output keeps its images in (-1, 1)).
    kind : {"vae", "ae"}, default="vae"
        How it is (to be) trained (:func:`lininv.generators.train`); decides the encoder's outputs.
    rng : None, int, SeedSequence or Generator, default=None
        Initial weights (decoder first, then encoder, from one stream).
    metadata : dict, optional
        JSON-serialisable information saved with the generator (recipe, data, results, ...).

    Attributes
    ----------
    k, n : int
    decoder, encoder : MLP
    n_params : int
        Trainable scalars: the decoder's (the first ``decoder.n_params`` of :meth:`get_params`,
        all that ``D`` depends on) then the encoder's.
    metadata : dict

    Notes
    -----
    With row vectors and :math:`\phi` the hidden activation, :math:`\sigma` the sigmoid,

    .. math:: D(z) = \sigma\big(\phi(\cdots\phi(z W_0 + b_0)\cdots) W_L + b_L\big).

    :meth:`forward_and_pullback` gives :math:`v \mapsto v^T \partial D/\partial z` (reverse mode)
    and :meth:`jacobian` the exact :math:`\partial D/\partial z` (forward mode), as the flows of
    :mod:`lininv.flows` do, so recovery can use Gauss-Newton steps.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.generators import Generator
    >>> gen = Generator(4, n=16, hidden=32, rng=0)
    >>> x = gen.forward(np.zeros((3, 4)))
    >>> x.shape, gen.jacobian(np.zeros(4)).shape, bool(np.all((x > 0) & (x < 1)))
    ((3, 16), (16, 4), True)
    """

    def __init__(
        self,
        k: int,
        n: int = 64,
        *,
        hidden: Any = (128, 128),
        activation: str = "elu",
        output: str = "sigmoid",
        kind: str = "vae",
        rng: Any = None,
        metadata: dict | None = None,
    ) -> None:
        n = check_int("n", n, low=2)
        k = check_int("k", k, low=1, high=n - 1, reason=f" (a latent smaller than n = {n})")
        hidden = _check_hidden(hidden)
        activation = check_choice("activation", activation, ACTIVATIONS)
        output = check_choice("output", output, OUTPUTS)
        kind = check_choice("kind", kind, KINDS)
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict or None; got {describe(metadata)}")
        gen = check_rng(rng)
        self.k, self.n, self.hidden = k, n, hidden
        self.activation, self.output, self.kind = activation, output, kind
        self.decoder = MLP((k, *hidden, n), activation=activation, output=output, rng=gen)
        enc_out = 2 * k if kind == "vae" else k
        self.encoder = MLP((n, *hidden[::-1], enc_out), activation=activation, rng=gen)
        if kind == "vae":  # start with small posterior variances' log: the output block at zero
            self.encoder.W[-1][:, k:] = 0.0
        self.metadata: dict = dict(metadata or {})

    # -- parameters --------------------------------------------------------------------------------

    @property
    def n_params(self) -> int:
        """Number of trainable scalars (decoder then encoder)."""
        return self.decoder.n_params + self.encoder.n_params

    def architecture(self) -> dict[str, Any]:
        """The constructor's arguments (without ``rng`` and ``metadata``), JSON-ready."""
        return {
            "k": self.k,
            "n": self.n,
            "hidden": list(self.hidden),
            "activation": self.activation,
            "output": self.output,
            "kind": self.kind,
        }

    def get_params(self) -> np.ndarray:
        """A copy of all parameters, shape (n_params,): the decoder's, then the encoder's."""
        return np.concatenate([self.decoder.params, self.encoder.params])

    def set_params(self, theta: Any) -> None:
        """Set all parameters from a finite vector of shape (n_params,) (copied in)."""
        arr = _as_real_array("theta", theta)
        if arr.shape != (self.n_params,):
            raise ValueError(
                f"theta must have shape ({self.n_params},) to match the generator's n_params; "
                f"got {arr.shape}"
            )
        self._set_params(arr)

    def _set_params(self, theta: np.ndarray) -> None:
        nd = self.decoder.n_params
        self.decoder.set_params(theta[:nd])
        self.encoder.set_params(theta[nd:])

    def copy(self) -> Generator:
        """An independent deep copy (parameters and metadata)."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return (
            f"Generator(k={self.k}, n={self.n}, hidden={self.hidden}, kind={self.kind!r}, "
            f"n_params={self.n_params})"
        )

    # -- the map D ---------------------------------------------------------------------------------

    def _latents(self, z: Any) -> tuple[np.ndarray, bool]:
        arr = as_vector_or_batch("z", z, self.k, length_hint=" to match the generator's k")
        return np.atleast_2d(arr), arr.ndim == 1

    @single_blas_thread
    def forward(self, z: Any) -> np.ndarray:
        r"""Signals :math:`D(z)` for latents of shape (k,) or (B, k); shape (n,) or (B, n)."""
        Z, single = self._latents(z)
        X, _ = self.decoder.forward(Z, keep=False)
        return X[0] if single else X

    @single_blas_thread
    def forward_and_pullback(self, z: Any) -> tuple[np.ndarray, Callable[[Any], np.ndarray]]:
        r"""``D(z)`` and the pullback :math:`v \mapsto v^T \partial D/\partial z`.

        Parameters
        ----------
        z : array_like of shape (k,) or (B, k)

        Returns
        -------
        x : ndarray of shape (n,) or (B, n)
        pullback : callable
            Maps ``v`` of the shape of ``x`` to an array of the shape of ``z`` (row by row).
            May be called several times.
        """
        Z, single = self._latents(z)
        X, cache = self.decoder.forward(Z)
        assert cache is not None
        shape = X.shape

        def pullback(v: Any) -> np.ndarray:
            V = _as_real_array("v", v)
            if V.shape != (shape[1:] if single else shape):
                want = shape[1:] if single else shape
                raise ValueError(f"v must have shape {want} to match D(z); got {V.shape}")
            V = V.reshape(shape)
            g = self.decoder.vjp(cache, V.copy())
            return g[0] if single else g

        return (X[0] if single else X), pullback

    @single_blas_thread
    def jacobian(self, z: Any) -> np.ndarray:
        r"""Exact :math:`\partial D/\partial z`: shape (n, k) at one latent, (B, n, k) at a batch."""
        Z, single = self._latents(z)
        J = self.decoder.jacobian(Z)
        return J[0] if single else J

    def sample(self, size: int, *, rng: Any = None) -> np.ndarray:
        r"""``size`` signals :math:`D(z)`, :math:`z \sim N(0, I_k)`, shape (size, n).

        Row ``i`` depends on the seed and ``i`` alone: a larger sample extends a smaller one.
        """
        size = check_int("size", size, low=0)
        gen = check_rng(rng)
        Z = gen.standard_normal((size, self.k))
        if size == 0:
            return np.empty((0, self.n))
        return self.forward(Z)

    # -- the encoder -------------------------------------------------------------------------------

    @single_blas_thread
    def encode(self, x: Any) -> np.ndarray:
        r"""The encoder's latent for signals ``x`` (n,) or (B, n): the posterior mean for a VAE.

        An amortised estimate of :math:`\arg\min_z \|D(z) - x\|^2`: a good start for
        :func:`representation_error`, not its solution.
        """
        arr = as_vector_or_batch("x", x, self.n, length_hint=" to match the generator's n")
        out, _ = self.encoder.forward(np.atleast_2d(arr), keep=False)
        Z = out[:, : self.k]
        return Z[0] if arr.ndim == 1 else np.ascontiguousarray(Z)

    def reconstruct(self, x: Any) -> np.ndarray:
        """``D(encode(x))``: the autoencoder's reconstruction, same shape as ``x``."""
        return self.forward(self.encode(x))

    # -- persistence -------------------------------------------------------------------------------

    def save(self, path: Any) -> None:
        """Write the generator to ``path`` (versioned ``.npz``, :func:`lininv.generators.load`)."""
        from lininv.generators._serialization import save

        save(self, path)
