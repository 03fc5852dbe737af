r"""The 28x28 experiments' data: the pretrained flow, dequantised digits, out-of-distribution images.

Every experiment at n = 784 starts from the same things: the pretrained Glow
(:func:`lininv.flows.pretrained_flow`), the digits of the split it was trained on, dequantised
once per seed (:class:`Stream28`), a seeded subset of test and validation images, and the best
linear Gaussian fitted to the training images. :func:`data28` builds them; the named streams keep
each experiment's draws apart and independent of which other cells run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from lininv._random import stream
from lininv._validation import describe

__all__ = [
    "Stream28",
    "Data28",
    "data28",
    "generator28",
    "pick",
    "gaussian_measure",
    "N28",
    "SHAPE28",
]

#: Pixels of a 28x28 image.
N28 = 784

#: Image shape.
SHAPE28 = (28, 28)


class Stream28(IntEnum):
    """Named random streams of the 28x28 experiments (numbered apart from :class:`Stream`'s)."""

    #: dequantisation noise of the training images (the linear Gaussian's fit)
    TRAIN_NOISE = 2800
    #: dequantisation noise of the validation images
    VAL_NOISE = 2801
    #: dequantisation noise of the test images
    TEST_NOISE = 2802
    #: the test images used (a subset of the split's test images)
    TEST_PICK = 2803
    #: the validation images used to choose weights
    VAL_PICK = 2804
    #: compressed sensing: the operators (and noise) of the test images, index m
    MEASUREMENTS = 2810
    #: compressed sensing: the operators (and noise) of the validation images, index m
    VAL_MEASUREMENTS = 2811
    #: compressed sensing: the bootstrap resamples of the measurement factor
    BOOTSTRAP = 2820
    #: denoising: the noise of the test images at noise level i (index i)
    DENOISING_NOISE = 2830
    #: denoising: the noise of the validation images at noise level i (index i)
    VAL_DENOISING_NOISE = 2831
    #: inpainting: the measurement noise of the test images (when noise_std > 0)
    INPAINTING_NOISE = 2835
    #: inpainting: the measurement noise of the validation images (when noise_std > 0)
    VAL_INPAINTING_NOISE = 2836
    #: out of distribution: the signals used (index: the signal set)
    OOD_PICK = 2840
    #: out of distribution: the operators of the signals (index: signal set, m)
    OOD_MEASUREMENTS = 2841
    #: out of distribution: the denoising noise (index: signal set)
    OOD_NOISE = 2842


@dataclass(frozen=True)
class Data28:
    """What every 28x28 experiment uses (pixels in [0, 1), dequantised; rows are images).

    Attributes
    ----------
    flow : lininv.flows.FlowPrior
        The flow on 28x28 images.
    prior : lininv.LinearInvertiblePrior
        The best linear Gaussian of ``X_train``.
    X_train, X_val, X_test : ndarray of shape (N, 784)
        Training images (all), validation images and test images (seeded subsets).
    """

    flow: Any
    prior: Any
    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray


def pick(X: np.ndarray, size: int, gen: np.random.Generator) -> np.ndarray:
    """A seeded random subset of ``size`` rows in their original order (all rows if fewer)."""
    return X if size >= X.shape[0] else X[np.sort(gen.permutation(X.shape[0])[:size])]


def gaussian_measure(
    X: np.ndarray, m: int, noise_std: float, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    r"""One Gaussian operator per image, :math:`A_{ij} \sim N(0, 1/m)`, and ``y = A x + noise``."""
    A = gen.standard_normal((X.shape[0], m, X.shape[1])) / np.sqrt(m)
    Y = np.einsum("kmn,kn->km", A, X) + noise_std * gen.standard_normal((X.shape[0], m))
    return A, Y


def data28(flow: Any, data: Any, n_test: int, n_val: int, seed: int) -> Data28:
    """The flow (default: the pretrained 28x28 one), its split dequantised, the linear Gaussian.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior or None
        A flow with ``n = 784``; None for ``lininv.flows.pretrained_flow("mnist28")``.
    data : lininv.datasets.Mnist28Split or None
        Integer images; None for the pretrained flow's split (or
        :func:`lininv.datasets.split_mnist28` with a given flow).
    n_test, n_val : int
        Test and validation images used (seeded subsets).
    seed : int
        The run's seed (streams :attr:`Stream28.TRAIN_NOISE` ... :attr:`Stream28.VAL_PICK`).
    """
    from lininv import datasets, flows
    from lininv._prior import LinearInvertiblePrior

    if flow is None:
        flow, split = flows.pretrained_flow("mnist28")
    else:
        flow = flows.check_flow_prior(flow)
        split = None
    if int(flow.n) != N28:
        raise ValueError(f"flow must act on 28x28 images (n = 784); got n = {flow.n}")
    if data is None:
        data = split if split is not None else datasets.split_mnist28()
    elif not isinstance(data, datasets.Mnist28Split):
        raise TypeError(
            f"data must be a lininv.datasets.Mnist28Split or None; got {describe(data)}"
        )
    levels = datasets.MNIST28_LEVELS

    def deq(X: np.ndarray, key: Stream28) -> np.ndarray:
        return datasets.dequantize(X, levels=levels, rng=stream(seed, key))

    X_train = deq(data.X_train, Stream28.TRAIN_NOISE)
    X_val = pick(deq(data.X_val, Stream28.VAL_NOISE), n_val, stream(seed, Stream28.VAL_PICK))
    X_test = pick(deq(data.X_test, Stream28.TEST_NOISE), n_test, stream(seed, Stream28.TEST_PICK))
    return Data28(flow, LinearInvertiblePrior.fit(X_train), X_train, X_val, X_test)


def generator28(generator: Any) -> Any:
    """The GAN-style baseline: ``generator`` checked, or the shipped 28x28 VAE decoder (k = 32)."""
    from lininv import generators

    if generator is None:
        return generators.pretrained(32, dataset="mnist28")
    if not isinstance(generator, generators.Generator) or int(generator.n) != N28:
        raise TypeError(
            "generator must be a lininv.generators.Generator on 28x28 images (n = 784) or None; "
            f"got {describe(generator)}"
            + (f" with n = {generator.n}" if isinstance(generator, generators.Generator) else "")
        )
    return generator
