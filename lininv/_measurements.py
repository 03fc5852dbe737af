r"""Measurement operators: compressed-sensing ensembles and masks (inpainting).

Every random ensemble is normalised so that :math:`E[A^TA] = I_n`, as :math:`A_{ij} \sim
N(0, 1/m)` is; then :math:`E\|Ax\|^2 = \|x\|^2` for every signal and a noise level means the
same thing for every ensemble (docs/theory.md, section 10):

``"gaussian"``
    i.i.d. :math:`N(0, 1/m)` entries (rotation invariant).
``"rademacher"``
    i.i.d. :math:`\pm 1/\sqrt m` entries.
``"haar"``
    :math:`\sqrt{n/m}` times ``m`` orthonormal rows, uniformly distributed (rotation invariant;
    its row space is distributed as a Gaussian ``A``'s).
``"dct"``
    :math:`\sqrt{n/m}\,R\,C\,D`: random signs ``D``, the orthonormal DCT-II ``C``, ``m``
    distinct rows chosen uniformly (``R``); a structured, fast transform.
``"mask"``
    :math:`\sqrt{n/m}\,R`: ``m`` distinct coordinates chosen uniformly (random inpainting).

A callable ``ensemble(m, n, rng) -> ndarray of shape (m, n)`` is accepted too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from lininv._validation import check_int, check_rng, describe

__all__ = [
    "gaussian_measurements",
    "mask_measurements",
    "measurements",
    "ENSEMBLES",
    "ROTATION_INVARIANT",
    "check_ensemble",
]

#: The built-in measurement ensembles.
ENSEMBLES = ("gaussian", "rademacher", "haar", "dct", "mask")
#: Ensembles whose distribution is invariant under A -> A Q for every orthogonal Q.
ROTATION_INVARIANT = ("gaussian", "haar")


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


def check_ensemble(ensemble: Any, name: str = "ensemble") -> str | Callable[..., Any]:
    """Validate an ensemble: one of :data:`ENSEMBLES` or a callable ``(m, n, rng)``."""
    if isinstance(ensemble, str):
        if ensemble not in ENSEMBLES:
            raise ValueError(
                f"{name} must be one of {', '.join(ENSEMBLES)} or a callable (m, n, rng); "
                f"got {ensemble!r}"
            )
        return ensemble
    if callable(ensemble):
        return ensemble
    raise TypeError(
        f"{name} must be one of {', '.join(ENSEMBLES)} or a callable (m, n, rng); "
        f"got {describe(ensemble)}"
    )


@functools.lru_cache(maxsize=8)
def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix ``C`` (``C @ x == scipy.fft.dct(x, norm="ortho")``)."""
    from scipy.fft import dct

    C = dct(np.eye(n), type=2, norm="ortho", axis=0)
    C.flags.writeable = False
    return C


def _mask_rows(m: int, n: int, gen: np.random.Generator) -> np.ndarray:
    """The ``m`` distinct coordinates of a mask or DCT draw, ascending (one ``choice`` call)."""
    return np.sort(gen.choice(n, size=m, replace=False))


def _draw(ensemble: str | Callable[..., Any], m: int, n: int, gen: np.random.Generator):
    """One draw of a validated ensemble (no argument checks; the callable's output is checked)."""
    if callable(ensemble):
        A = np.asarray(ensemble(m, n, gen))
        if A.shape != (m, n):
            raise ValueError(
                f"ensemble must return an array of shape ({m}, {n}); got shape {A.shape}"
            )
        if not np.issubdtype(A.dtype, np.number) or np.iscomplexobj(A):
            raise TypeError(f"ensemble must return a real array; got dtype {A.dtype}")
        A = A.astype(np.float64, copy=False)
        if not np.all(np.isfinite(A)):
            raise ValueError("ensemble must return finite entries; got NaN or infinity")
        return A
    if ensemble == "gaussian":
        return gen.standard_normal((m, n)) / np.sqrt(m)
    if ensemble == "rademacher":
        return np.where(gen.integers(0, 2, size=(m, n)) == 1, 1.0, -1.0) / np.sqrt(m)
    scale = np.sqrt(n / m)
    if ensemble == "haar":
        if m > n:
            raise ValueError(f"m must be <= n = {n} for the haar ensemble; got m = {m}")
        Q, R = np.linalg.qr(gen.standard_normal((n, m)))
        Q *= np.sign(np.diag(R))  # Haar measure on the Stiefel manifold (Mezzadri 2007)
        return scale * Q.T
    if m > n:
        raise ValueError(f"m must be <= n = {n} for the {ensemble} ensemble; got m = {m}")
    rows = _mask_rows(m, n, gen)
    if ensemble == "mask":
        A = np.zeros((m, n))
        A[np.arange(m), rows] = scale
        return A
    signs = np.where(gen.integers(0, 2, size=n) == 1, 1.0, -1.0)
    return (scale * _dct_matrix(n)[rows]) * signs  # dct: R C D


def measurements(ensemble: Any, m: int, n: int, *, rng: Any = None) -> np.ndarray:
    r"""A measurement matrix from a named ensemble (module docstring), with :math:`E[A^TA] = I_n`.

    Parameters
    ----------
    ensemble : {"gaussian", "rademacher", "haar", "dct", "mask"} or callable
        A name, or ``ensemble(m, n, rng) -> ndarray of shape (m, n)`` (used as it is: its
        normalisation is the caller's).
    m : int
        Number of measurements, ``m >= 1`` (``m <= n`` for haar, dct and mask).
    n : int
        Signal dimension, ``n >= 1``.
    rng : None, int, SeedSequence or Generator, default=None

    Returns
    -------
    A : ndarray of shape (m, n)

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import measurements
    >>> A = measurements("mask", 2, 4, rng=0)
    >>> A.shape, bool(np.all((A == 0) | (A == np.sqrt(2))))
    ((2, 4), True)
    >>> A = measurements("haar", 3, 5, rng=0)
    >>> bool(np.allclose(A @ A.T, 5 / 3 * np.eye(3)))
    True
    """
    ensemble = check_ensemble(ensemble)
    m = check_int("m", m, low=1)
    n = check_int("n", n, low=1)
    if isinstance(ensemble, str) and ensemble not in ("gaussian", "rademacher") and m > n:
        raise ValueError(f"m must be <= n = {n} for the {ensemble} ensemble; got m = {m}")
    return _draw(ensemble, m, n, check_rng(rng))
