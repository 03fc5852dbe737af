r"""The multi-scale image flow builder (Glow / RealNVP for images)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._validation import check_choice, check_int, check_real, check_rng, describe
from lininv.flows._base import Bijector
from lininv.flows._conv import ConvAffineCoupling, check_image_shape
from lininv.flows._coupling import ACTIVATIONS
from lininv.flows._flow import Flow
from lininv.flows._image import ChannelActNorm, Conv1x1, Factor, split_index, squeeze_index
from lininv.flows._linear import ActNorm, Permutation
from lininv.flows._logit import Logit

__all__ = ["glow", "glow_shapes"]


def _per_level(name: str, value: Any, levels: int) -> tuple[int, ...]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != levels:
            raise ValueError(
                f"{name} must be an int or a sequence of {levels} ints (one per level); "
                f"got {describe(value)}"
            )
        return tuple(check_int(f"{name}[{i}]", v, low=1) for i, v in enumerate(value))
    return (check_int(name, value, low=1),) * levels


def glow_shapes(shape: Any, levels: int) -> list[tuple[int, int, int]]:
    """The image shape each level of :func:`glow` works on (after its squeeze, if any).

    Level 0 squeezes ``(H, W, C)`` when ``H`` and ``W`` are even; each further level keeps half
    the channels (``C // 2``) of the previous one and squeezes them when it can.

    Examples
    --------
    >>> from lininv.flows import glow_shapes
    >>> glow_shapes((28, 28, 1), 3)
    [(14, 14, 4), (7, 7, 8), (7, 7, 4)]
    """
    H, W, C = check_image_shape(shape)
    levels = check_int("levels", levels, low=1)
    out = []
    for level in range(levels):
        if level > 0:
            C //= 2
        if H % 2 == 0 and W % 2 == 0:
            H, W, C = H // 2, W // 2, 4 * C
        if C < 2:
            raise ValueError(
                f"shape {tuple(shape)} with levels = {levels}: level {level} has {C} channel(s), "
                "and a coupling needs at least 2 (use fewer levels or an image with even sides)"
            )
        out.append((H, W, C))
    return out


def glow(
    shape: Any = (28, 28, 1),
    *,
    levels: int = 3,
    steps: int | Sequence[int] = 4,
    hidden: int | Sequence[int] = 64,
    activation: str = "relu",
    clamp: float = 3.0,
    actnorm: str = "channel",
    logit: float | None = 0.01,
    rng: Any = None,
) -> Flow:
    r"""A multi-scale Glow flow for images: squeeze, steps of actnorm, 1x1 conv and coupling, split.

    Parameters
    ----------
    shape : tuple of int, default=(28, 28, 1)
        Image shape ``(H, W, C)``; the flow acts on flat rows of length ``n = H W C`` in
        channel-last order (for one channel, the row-major image, as
        :func:`lininv.datasets.load_mnist28` returns it).
    levels : int, default=3
        Scales; the shapes they work on are :func:`glow_shapes` (for 28x28x1: 14x14x4, 7x7x8,
        7x7x4).
    steps : int or sequence of int, default=4
        Steps per level (one value for all, or one per level).
    hidden : int or sequence of int, default=64
        Hidden channels of the couplings' conditioners, per level or for all.
    activation : {"relu", "tanh", "elu"}, default="relu"
        Conditioner nonlinearity.
    clamp : float, default=3.0
        Bound on the couplings' log-scales (:class:`ConvAffineCoupling`).
    actnorm : {"channel", "pixel"}, default="channel"
        The steps' activation normalisation: Glow's :class:`ChannelActNorm` (a scale and a bias
        per channel, shared by the pixels), or :class:`ActNorm` (one per pixel and channel, a way
        to give position-dependent statistics to weight-shared couplings; on the 28x28 digits it
        trained more slowly than ``"channel"``: 0.07 bits/dim worse after 13 epochs).
    logit : float or None, default=0.01
        If given, a :class:`Logit` layer with this ``alpha`` is the signal-side end (data in
        [0, 1], e.g. :func:`lininv.datasets.dequantize` of 256-level pixels).
    rng : None, int, SeedSequence or Generator, default=None
        Draws the conditioners' weights and the 1x1 convolutions' starting rotations.

    Returns
    -------
    Flow

    Notes
    -----
    From the signal side: the Logit, then per level ``l``

    1. squeeze (space to depth, a fixed :class:`Permutation`; at level 0 a layer of its own,
       later folded into the previous level's split), when the sides are even;
    2. ``steps[l]`` steps, each :class:`ChannelActNorm` (or :class:`ActNorm`, see ``actnorm``),
       :class:`Conv1x1` (Haar-random start),
       :class:`ConvAffineCoupling` (alternating which half of the channels it transforms; the
       last one of a level transforms the channels about to be factored out, Glow's learned
       split prior);
    3. except at the last level: a :class:`Permutation` putting the first ``C // 2`` channels
       (squeezed for the next level) ahead of the others, and a :class:`Factor` applying the
       next levels to them; the others go to the standard normal base.

    The generator is this in reverse order, latent to signal. With the defaults the flow has
    106,560 parameters.

    References
    ----------
    .. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real NVP", ICLR 2017.
    .. [2] D. P. Kingma, P. Dhariwal, "Glow: generative flow with invertible 1x1 convolutions",
       NeurIPS 2018.

    Examples
    --------
    >>> from lininv.flows import glow
    >>> flow = glow((8, 8, 1), levels=2, steps=2, hidden=8, rng=0)
    >>> flow.n, flow.n_params
    (64, 3144)
    """
    shapes = glow_shapes(shape, levels)
    steps = _per_level("steps", steps, levels)
    hidden = _per_level("hidden", hidden, levels)
    activation = check_choice("activation", activation, ACTIVATIONS)
    actnorm = check_choice("actnorm", actnorm, ("channel", "pixel"))
    clamp = check_real("clamp", clamp, low=0.0, low_open=True)
    if logit is not None:
        logit = check_real("logit", logit, low=0.0, low_open=True)
    gen = check_rng(rng)
    H, W, C = check_image_shape(shape)

    def level(l: int) -> list[Bijector]:
        """Layers of levels l, l+1, ... in forward (latent-to-signal) order."""
        s = shapes[l]
        n_l = s[0] * s[1] * s[2]
        sig: list[Bijector] = []  # signal-to-latent order
        for i in range(steps[l]):
            sig.append(ChannelActNorm(s) if actnorm == "channel" else ActNorm(n_l))
            sig.append(Conv1x1.random_rotation(s, rng=gen))
            sig.append(
                ConvAffineCoupling(
                    s,
                    hidden[l],
                    flip=(steps[l] - 1 - i) % 2 == 0,  # the last one transforms channels C//2..
                    activation=activation,
                    clamp=clamp,
                    rng=gen,
                )
            )
        if l + 1 < levels:
            nxt = shapes[l + 1]
            idx = split_index(s, s[2] // 2, squeeze=nxt[:2] != s[:2])
            sig.append(Permutation(np.argsort(idx)))
            sig.append(Factor(level(l + 1), n_l))
        return sig[::-1]

    layers = level(0)
    if shapes[0][:2] != (H, W):
        layers.append(Permutation(np.argsort(squeeze_index((H, W, C)))))
    if logit is not None:
        layers.append(Logit(H * W * C, logit))
    return Flow(layers)
