"""Measurement operators: Gaussian compressed sensing and masks (inpainting)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._validation import check_int, check_rng, describe

__all__ = ["gaussian_measurements", "mask_measurements"]


def gaussian_measurements(m: int, n: int, *, rng: Any = None) -> np.ndarray:
    r"""Gaussian measurement matrix with i.i.d. entries :math:`A_{ij} \sim N(0, 1/m)`.

    Parameters
    ----------
    m : int
        Number of measurements, ``m >= 1``.
    n : int
        Signal dimension, ``n >= 1``.
    rng : None, int, SeedSequence or Generator, default=None

    Returns
    -------
    A : ndarray of shape (m, n)

    Notes
    -----
    The scaling makes :math:`E\|Ax\|^2 = \|x\|^2`, as in the paper's compressed-sensing setup.

    Examples
    --------
    >>> from lininv import gaussian_measurements
    >>> gaussian_measurements(3, 5, rng=0).shape
    (3, 5)
    """
    m = check_int("m", m, low=1)
    n = check_int("n", n, low=1)
    gen = check_rng(rng)
    return gen.standard_normal((m, n)) / np.sqrt(m)


def mask_measurements(observed: Any, n: int) -> np.ndarray:
    """Row subset of the identity: observe the listed coordinates (inpainting).

    Parameters
    ----------
    observed : array_like of int of shape (m,), or array_like of bool of shape (n,)
        Indices of observed coordinates (distinct, in ``[0, n)``), or a boolean mask.
    n : int
        Signal dimension.

    Returns
    -------
    A : ndarray of shape (m, n)
        ``A[r, observed[r]] = 1``, zeros elsewhere.

    Examples
    --------
    >>> from lininv import mask_measurements
    >>> mask_measurements([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    n = check_int("n", n, low=1)
    arr = np.asarray(observed)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"observed as a boolean mask must have shape ({n},); got {arr.shape}")
        idx = np.flatnonzero(arr)
    elif np.issubdtype(arr.dtype, np.integer) and arr.ndim == 1:
        idx = arr.astype(np.intp)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(
                f"observed indices must lie in [0, {n}); got range [{idx.min()}, {idx.max()}]"
            )
        if np.unique(idx).size != idx.size:
            raise ValueError("observed indices must be distinct; got repeated indices")
    else:
        raise TypeError(
            "observed must be a 1-D array of integer indices or a boolean mask; "
            f"got {describe(observed)}"
        )
    if idx.size == 0:
        raise ValueError("observed must select at least one coordinate; got none")
    A = np.zeros((idx.size, n))
    A[np.arange(idx.size), idx] = 1.0
    return A
