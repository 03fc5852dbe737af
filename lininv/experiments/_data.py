"""The experiments' data: the default flow, dequantised digits split three ways, the inpainting mask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._validation import check_int, describe
from lininv.experiments._cells import Stream, stream
from lininv.flows._protocol import FlowPrior, check_flow_prior

__all__ = ["DigitsData", "digits_data", "centre_mask", "flow_and_data", "subset"]


@dataclass(frozen=True)
class DigitsData:
    """Dequantised digits in the flow's units (pixels in [0, 1)), split for the experiments.

    Attributes
    ----------
    X_train : ndarray of shape (N_train, 64)
        The flow's training images, dequantised once: the best linear Gaussian and the rank-k
        generator are fitted to them.
    X_val : ndarray of shape (N_val, 64)
        A random subset of the training images on which Lasso weights, ridge weights and the flow's
        ``gamma`` are chosen (never the test images).
    X_test : ndarray of shape (N_test, 64)
        Held-out test images, dequantised once.
    y_train, y_test : ndarray of int
        Labels.
    """

    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def digits_data(split: Any = None, *, n_val: int = 100, rng: int = 0) -> DigitsData:
    """Dequantise a digits split (default: the one the default flow was trained on).

    Parameters
    ----------
    split : lininv.datasets.DigitsSplit, optional
        Integer images; default ``lininv.datasets.reference_split()``.
    n_val : int, default=100
        Training images drawn as the validation subset, ``2 <= n_val <= N_train``.
    rng : int, default=0
        Seed of the dequantisation noise and of the validation subset (named streams
        :attr:`Stream.TRAIN_NOISE`, :attr:`Stream.TEST_NOISE`, :attr:`Stream.VALIDATION_PICK`).

    Returns
    -------
    DigitsData

    Examples
    --------
    >>> from lininv.experiments import digits_data
    >>> data = digits_data(n_val=20)
    >>> data.X_train.shape, data.X_val.shape, data.X_test.shape
    ((1400, 64), (20, 64), (397, 64))
    """
    from lininv import datasets

    if split is None:
        split = datasets.reference_split()
    elif not isinstance(split, datasets.DigitsSplit):
        raise TypeError(
            f"split must be a lininv.datasets.DigitsSplit or None; got {describe(split)}"
        )
    n_val = check_int("n_val", n_val, low=2, high=split.X_train.shape[0])
    seed = check_int("rng", rng, low=0, reason=" (an integer seed)")
    X_train = datasets.dequantize(split.X_train, rng=stream(seed, Stream.TRAIN_NOISE))
    X_test = datasets.dequantize(split.X_test, rng=stream(seed, Stream.TEST_NOISE))
    pick = np.sort(stream(seed, Stream.VALIDATION_PICK).permutation(X_train.shape[0])[:n_val])
    return DigitsData(
        X_train, X_train[pick], X_test, np.asarray(split.y_train), np.asarray(split.y_test)
    )


def centre_mask(shape: tuple[int, int] = (8, 8), hole: int = 4) -> np.ndarray:
    """Boolean mask of the observed pixels: all but a centred ``hole x hole`` block.

    Parameters
    ----------
    shape : tuple of int, default=(8, 8)
        Image shape (rows, columns).
    hole : int, default=4
        Side of the unobserved square, ``1 <= hole <= min(shape)``.

    Returns
    -------
    ndarray of bool, shape (rows * columns,)
        True where a pixel is observed, in row-major order.

    Examples
    --------
    >>> from lininv.experiments import centre_mask
    >>> int(centre_mask().sum())
    48
    """
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape)
    ):
        raise ValueError(f"shape must be a pair of positive integers; got {describe(shape)}")
    rows, cols = int(shape[0]), int(shape[1])
    hole = check_int("hole", hole, low=1, high=min(rows, cols))
    obs = np.ones((rows, cols), dtype=bool)
    r0, c0 = (rows - hole) // 2, (cols - hole) // 2
    obs[r0 : r0 + hole, c0 : c0 + hole] = False
    return obs.ravel()


def flow_and_data(
    flow: Any, data: Any, needs: Sequence[str] | None = None
) -> tuple[FlowPrior, DigitsData]:
    """The flow (default: the pretrained one, validated against ``needs``) and its data."""
    from lininv import flows

    split = None
    if flow is None:
        flow, split = flows.default_flow()
    else:
        flow = check_flow_prior(flow, needs=needs)
    if data is None:
        data = digits_data(split)
    elif not isinstance(data, DigitsData):
        raise TypeError(f"data must be a DigitsData or None; got {describe(data)}")
    return flow, data


def subset(
    X: np.ndarray, size: int | None, rng: np.random.Generator, name: str = "n_test"
) -> np.ndarray:
    """A seeded random subset of ``size`` rows in their original order (all rows for None)."""
    if size is not None:
        size = check_int(name, size, low=2)
    if size is None or size >= X.shape[0]:
        return X
    return X[np.sort(rng.permutation(X.shape[0])[:size])]
