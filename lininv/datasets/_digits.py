r"""The 8x8 digits (scikit-learn's bundled copy, n = 64): loading, splits, dequantisation."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._validation import as_matrix, check_int, check_rng, describe

__all__ = [
    "LEVELS",
    "REFERENCE_SEED",
    "REFERENCE_N_TRAIN",
    "DigitsSplit",
    "load_digits",
    "split_digits",
    "reference_split",
    "split_by_class",
    "dequantize",
    "bits_per_dim",
]

#: Grey levels of the digits: integers 0..16.
LEVELS = 17
#: Seed and size of the reference train/test split (1400 / 397).
REFERENCE_SEED = 0
REFERENCE_N_TRAIN = 1400


@dataclass(frozen=True)
class DigitsSplit:
    """A train/test split of the digits (integer pixels 0..16).

    Attributes
    ----------
    X_train, X_test : ndarray of shape (k, 64), int64
    y_train, y_test : ndarray of shape (k,), int64
        Class labels 0..9.
    train_index, test_index : ndarray of int
        Rows of :func:`load_digits` they came from.
    seed : int or None
        The ``rng`` seed when it was an int (reproduces the split), else None.
    excluded : tuple of int
        Classes removed from the training set (the test set keeps every class).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    test_index: np.ndarray
    seed: int | None
    excluded: tuple[int, ...]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits bundled with scikit-learn (no download).

    Returns
    -------
    X : ndarray of shape (1797, 64), int64
        Pixel intensities 0..16, rows are 8x8 images in row-major order.
    y : ndarray of shape (1797,), int64
        Labels 0..9.

    Examples
    --------
    >>> from lininv.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, int(X.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), 16, True)
    """
    X, y = _load_digits_cached()
    return X.copy(), y.copy()


@functools.lru_cache(maxsize=1)
def _load_digits_cached() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as _sk_load

    X, y = _sk_load(return_X_y=True)
    return X.astype(np.int64), y.astype(np.int64)


def _classes(exclude: Any) -> tuple[int, ...]:
    if isinstance(exclude, (int, np.integer)) and not isinstance(exclude, bool):
        exclude = (exclude,)
    if not isinstance(exclude, Iterable) or isinstance(exclude, (str, bytes)):
        raise TypeError(
            f"exclude must be a class label 0..9 or a sequence of them; got {exclude!r}"
        )
    out = tuple(check_int("exclude", c, low=0, high=9, reason=" (a digit class)") for c in exclude)
    return tuple(sorted(set(out)))


def split_digits(
    *, n_train: int = REFERENCE_N_TRAIN, exclude: Any = (), rng: Any = None
) -> DigitsSplit:
    """A random train/test split of the digits, optionally without some classes in training.

    Parameters
    ----------
    n_train : int, default=1400
        Training images drawn (before exclusion); the other ``1797 - n_train`` are the test set.
    exclude : int or sequence of int, default=()
        Classes dropped from the training set (the dataset-bias experiment); the test set is
        unchanged, so its images of these classes are out of distribution.
    rng : None, int, SeedSequence or Generator, default=None
        The split is the first ``n_train`` rows of ``rng.permutation(1797)``; with an int seed the
        same seed gives the same split with or without exclusions.

    Returns
    -------
    DigitsSplit
    """
    n_train = check_int("n_train", n_train, low=1, high=1796)
    excluded = _classes(exclude)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    X, y = load_digits()
    perm = check_rng(rng).permutation(X.shape[0])
    train, test = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    if excluded:
        train = train[~np.isin(y[train], excluded)]
    return DigitsSplit(X[train], y[train], X[test], y[test], train, test, seed, excluded)


def reference_split(*, exclude: Any = ()) -> DigitsSplit:
    """The reference 1400/397 split: :func:`split_digits` with ``rng=0``.

    Examples
    --------
    >>> from lininv.datasets import reference_split
    >>> s = reference_split()
    >>> s.X_train.shape, s.X_test.shape, s.seed
    ((1400, 64), (397, 64), 0)
    """
    return split_digits(n_train=REFERENCE_N_TRAIN, exclude=exclude, rng=REFERENCE_SEED)


def split_by_class(
    X: Any, y: Any, classes: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Separate rows whose label is in ``classes`` from the rest.

    Parameters
    ----------
    X : array_like of shape (k, n)
    y : array_like of int, shape (k,)
    classes : int or sequence of int

    Returns
    -------
    X_rest, y_rest, X_held, y_held : ndarray
        Rows with labels not in ``classes``, and rows with labels in ``classes``, order kept.
    """
    X = as_matrix("X", X)
    y_arr = np.asarray(y)
    if y_arr.shape != (X.shape[0],) or not np.issubdtype(y_arr.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape ({X.shape[0]},); got {describe(y)}")
    held = np.isin(y_arr, _classes(classes))
    return X[~held], y_arr[~held], X[held], y_arr[held]


def dequantize(X: Any, *, levels: int = LEVELS, rng: Any = None) -> np.ndarray:
    r"""Uniform dequantisation and scaling: :math:`(X + U) / \text{levels}`, :math:`U \sim U[0, 1)`.

    Parameters
    ----------
    X : array_like of shape (k, n)
        Integer-valued data in ``0 .. levels - 1`` (any numeric dtype).
    levels : int, default=17
        Number of grey levels (17 for the digits).
    rng : None, int, SeedSequence or Generator, default=None

    Returns
    -------
    ndarray of shape (k, n), values in [0, 1)

    Notes
    -----
    A density :math:`p` on the scaled cube gives the discrete model
    :math:`P(X) = \int_{[0,1)^n} p((X + u)/L)\, L^{-n}\, du`, and by Jensen
    :math:`-\log P(X) \le E_u[-\log p((X+u)/L)] + n \log L` (Theis, van den Oord, Bethge 2016).
    """
    X = as_matrix("X", X)
    levels = check_int("levels", levels, low=2)
    if np.any(X != np.round(X)) or X.min() < 0 or X.max() > levels - 1:
        raise ValueError(
            f"X must hold integers in 0..{levels - 1} to be dequantised; got values in "
            f"[{X.min():g}, {X.max():g}]"
        )
    return (X + check_rng(rng).random(X.shape)) / levels


def bits_per_dim(nll_nats: Any, n: int = 64, *, levels: int = LEVELS) -> np.ndarray | float:
    r"""Bits per dimension of integer data from an NLL (nats) of its dequantised, scaled version.

    Parameters
    ----------
    nll_nats : float or array_like
        Negative log-likelihood per image of data scaled by ``1/levels`` (e.g. a flow's mean NLL).
    n : int, default=64
        Dimension.
    levels : int, default=17

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math:: \text{bits/dim} = \frac{\text{NLL} + n \ln L}{n \ln 2},

    the scaling by ``1/L`` contributing :math:`n \ln L` nats.

    Examples
    --------
    >>> from lininv.datasets import bits_per_dim
    >>> round(bits_per_dim(0.0), 4)  # log2(17): a uniform density on [0, 1)^64
    4.0875
    """
    n = check_int("n", n, low=1)
    levels = check_int("levels", levels, low=2)
    arr = np.asarray(nll_nats, dtype=float)
    out = (arr + n * np.log(levels)) / (n * np.log(2.0))
    return float(out) if out.ndim == 0 else out
