r"""Flow builders: the RealNVP/Glow stack, and exact or trainable linear flows."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from lininv._prior import LinearInvertiblePrior, haar_orthogonal
from lininv._threads import single_blas_thread
from lininv._validation import (
    as_matrix,
    as_vector_or_batch,
    check_choice,
    check_int,
    check_real,
    check_rng,
)
from lininv.flows._base import Bijector, check_dimension
from lininv.flows._coupling import ACTIVATIONS, AffineCoupling
from lininv.flows._flow import Flow
from lininv.flows._linear import ActNorm, LULinear, Permutation
from lininv.flows._logit import Logit

__all__ = ["realnvp", "linear_flow", "trainable_linear_flow", "linear_gaussian"]


def _lu_layers(W: np.ndarray) -> list[Bijector]:
    """``[LULinear(L, U), Permutation(P)]`` with ``W = P L U`` (partial pivoting), forward order.

    ``W`` is a valid invertible matrix: its factors need no second validation.
    """
    P, L, U = scipy.linalg.lu(W)
    return [LULinear._from_factors(L, U), Permutation(np.argmax(P, axis=1))]


def realnvp(
    n: int,
    n_layers: int = 8,
    hidden: int = 128,
    *,
    activation: str = "elu",
    clamp: float = 3.0,
    mixing: str = "permutation",
    logit: float | None = None,
    rng: Any = None,
) -> Flow:
    r"""A RealNVP flow with Glow-style steps: actnorm, invertible linear mixing, affine coupling.

    Parameters
    ----------
    n : int
        Dimension, ``n >= 2`` (64 for the 8x8 digits).
    n_layers : int, default=8
        Number of steps, each with one affine coupling.
    hidden : int, default=128
        Hidden width of every coupling's two-layer MLP conditioner.
    activation : {"relu", "tanh", "elu"}, default="elu"
        Conditioner nonlinearity.
    clamp : float, default=3.0
        Bound on every coupling's log-scale (see :class:`AffineCoupling`).
    mixing : {"permutation", "rotation"}, default="permutation"
        Start of each step's invertible linear map ``W = P L U``: a random permutation ``P`` with
        ``L U = I`` (the couplings first act on pixel coordinates, which suits image data whose
        dequantised pixels have sharp, axis-aligned edges), or Glow's Haar-random rotation.
    logit : float or None, default=None
        If given, a :class:`Logit` layer with this ``alpha`` is the signal-side end: the flow
        models data in (a margin around) [0, 1], such as :func:`lininv.datasets.dequantize` output.
    rng : None, int, SeedSequence or Generator, default=None
        Draws the initial weights and mixing matrices.

    Returns
    -------
    Flow

    Notes
    -----
    From the signal side, each step is :class:`ActNorm` (data-dependent initialisation), an
    invertible linear map :math:`W = P L U` (:class:`Permutation` ``P`` fixed, :class:`LULinear`
    ``L U`` trained; see ``mixing``) and an :class:`AffineCoupling` (alternating which half it
    transforms) started at the identity. The generator is the composition in the
    reverse order, latent to signal. With the defaults at ``n = 64`` it has 265,728 parameters.

    References
    ----------
    .. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real NVP", ICLR 2017.
    .. [2] D. P. Kingma, P. Dhariwal, "Glow: generative flow with invertible 1x1 convolutions",
       NeurIPS 2018.

    Examples
    --------
    >>> from lininv.flows import realnvp
    >>> flow = realnvp(64, rng=0)
    >>> flow.n, flow.n_params
    (64, 265728)
    """
    n = check_dimension(n, low=2)
    n_layers = check_int("n_layers", n_layers, low=1)
    hidden = check_int("hidden", hidden, low=1)
    activation = check_choice("activation", activation, ACTIVATIONS)
    clamp = check_real("clamp", clamp, low=0.0, low_open=True)
    mixing = check_choice("mixing", mixing, ("permutation", "rotation"))
    if logit is not None:
        logit = check_real("logit", logit, low=0.0, low_open=True)
    gen = check_rng(rng)
    steps: list[list[Bijector]] = []
    for i in range(n_layers):
        coupling = AffineCoupling(
            n, hidden, flip=bool(i % 2), activation=activation, clamp=clamp, rng=gen
        )
        if mixing == "rotation":
            mix = _lu_layers(haar_orthogonal(n, gen))
        else:
            mix = [LULinear(n), Permutation.random(n, rng=gen)]
        steps.append([coupling, *mix, ActNorm(n)])
    # steps[0] is nearest the signal; the generator runs from the latent side.
    layers = [b for step in reversed(steps) for b in step]
    if logit is not None:
        layers.append(Logit(n, logit))
    return Flow(layers)


def linear_flow(G: Any, mean: Any = None) -> Flow:
    r"""The exact linear flow :math:`x = \mu + G z` (no couplings).

    Parameters
    ----------
    G : array_like of shape (n, n) or LinearInvertiblePrior
        Invertible generator; a prior supplies both ``G`` and ``mean``.
    mean : array_like of shape (n,), optional
        :math:`\mu` (default 0; not allowed together with a prior).

    Returns
    -------
    Flow
        ``LULinear`` and ``Permutation`` holding the pivoted LU factors of ``G`` and an
        ``ActNorm`` with zero log-scale and bias ``mean``; its density is that of
        :class:`lininv.LinearInvertiblePrior` with the same ``G`` and ``mean`` (up to rounding).

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LinearInvertiblePrior
    >>> from lininv.flows import linear_flow
    >>> G = np.array([[2.0, 1.0], [0.0, 0.5]])
    >>> flow, prior = linear_flow(G, mean=[1.0, 0.0]), LinearInvertiblePrior(G, mean=[1.0, 0.0])
    >>> x = np.array([0.3, -0.2])
    >>> bool(np.isclose(flow.log_prob(x), prior.log_prob(x), rtol=1e-14, atol=0))
    True
    """
    if isinstance(G, LinearInvertiblePrior):
        if mean is not None:
            raise ValueError("mean must be None when G is a LinearInvertiblePrior (it has its own)")
        G, mean = G.G, G.mean
    G = as_matrix("G", G)
    n = G.shape[0]
    if G.shape != (n, n):
        raise ValueError(f"G must be a square matrix of shape (n, n); got {G.shape}")
    s = np.linalg.svd(G, compute_uv=False)
    # the same singularity threshold as LinearInvertiblePrior
    if s[-1] <= s[0] * n * np.finfo(float).eps:
        raise ValueError(
            f"G must be invertible; got smallest singular value {s[-1]:.3g} against largest {s[0]:.3g}"
        )
    mu = np.zeros(n)
    if mean is not None:
        mu = as_vector_or_batch("mean", mean, n, length_hint=f" to match G's n = {n}")
        if mu.ndim != 1:
            raise ValueError(f"mean must have shape ({n},); got {mu.shape}")
    shift = ActNorm(n)
    shift.params["bias"][:] = mu
    shift.initialized = True
    return Flow([*_lu_layers(G), shift])


def trainable_linear_flow(n: int, *, rng: Any = None) -> Flow:
    r"""A linear flow :math:`x = e^{a} \odot (P L U z) + b` with trainable ``L, U, a, b``.

    Parameters
    ----------
    n : int
        Dimension.
    rng : None, int, SeedSequence or Generator, default=None
        Draws the starting rotation ``P L U`` (Haar); ``a, b`` are set from data by
        :meth:`Flow.initialize` (called by :func:`fit`).

    Returns
    -------
    Flow

    Notes
    -----
    Every Gaussian :math:`N(\mu, \Sigma)` is reachable (:math:`e^{a} \odot PLU` can be any
    invertible matrix whose pivoted LU has the fixed ``P`` and signs), so maximum likelihood recovers
    the sample mean and covariance: the fitted flow's ``log_prob`` is that of
    :meth:`lininv.LinearInvertiblePrior.fit`.
    """
    n = check_dimension(n)
    gen = check_rng(rng)
    return Flow([*_lu_layers(haar_orthogonal(n, gen)), ActNorm(n)])


@single_blas_thread
def linear_gaussian(X: Any, *, logit: float | None = None, reg: float = 0.0) -> Flow:
    r"""The best linear Gaussian for data ``X`` as a flow, optionally behind a Logit layer.

    Parameters
    ----------
    X : array_like of shape (N, n)
        Training signals (e.g. dequantised images in [0, 1)).
    logit : float or None, default=None
        If given, the Gaussian is fitted to :math:`y = \operatorname{logit}(\alpha + (1 - 2\alpha)
        x)` with this :math:`\alpha` and the flow ends with the :class:`Logit` layer: its
        ``log_prob`` is a density of ``x``, the logit's Jacobian included, in the same unit as a
        flow built with the same ``logit`` (:func:`glow`, :func:`realnvp`).
    reg : float, default=0.0
        Passed to :meth:`lininv.LinearInvertiblePrior.fit`.

    Returns
    -------
    Flow
        :func:`linear_flow` of :meth:`lininv.LinearInvertiblePrior.fit` (on the logit side), and
        the Logit layer when ``logit`` is given.

    Notes
    -----
    Maximum likelihood over all Gaussians :math:`N(\mu, \Sigma)` of the (logit-transformed)
    data: :math:`\hat\mu` and :math:`\hat\Sigma` are the sample mean and covariance; the
    best *linear invertible prior* :math:`x = \mu + G z` of the paper.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import linear_gaussian
    >>> X = np.random.default_rng(0).uniform(0.1, 0.9, size=(200, 3))
    >>> flow = linear_gaussian(X, logit=0.05)
    >>> flow.n, flow.support == (-0.05 / 0.9, 0.95 / 0.9)
    (3, True)
    """
    X = as_matrix("X", X)
    n = X.shape[1]
    layers: list[Bijector] = []
    if logit is not None:
        logit = check_real("logit", logit, low=0.0, low_open=True)
        layer = Logit(n, logit)
        lo, hi = layer.support
        if np.any(X <= lo) or np.any(X >= hi):
            raise ValueError(
                f"X must lie inside the Logit's box ({lo:.6g}, {hi:.6g}) with logit = {logit:g}; "
                f"got values in [{X.min():g}, {X.max():g}]"
            )
        X = layer._inverse(np.ascontiguousarray(X), False)[0]
        layers.append(layer)
    prior = LinearInvertiblePrior.fit(X, reg=reg)
    return Flow([*linear_flow(prior).bijectors, *layers])
