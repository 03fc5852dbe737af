r"""Scale-invariant linear algebra shared by the estimators and the error formulas.

The estimators (:mod:`lininv._estimators`) and error formulas are homogeneous: of degree 0 in ``(A, y, noise_std)`` jointly (and
``gamma`` as a squared noise). They are evaluated scale-invariantly: ``A`` and then ``B`` are
scaled by powers of two before ``B`` is formed and factored (:func:`scaled_product`), the
residual ``y - A mu`` is scaled per row, the noise enters as a mantissa and a power of two, and
all exponents are applied once, at the end. Scaling by a power of two is exact, so the result
has the bits of the plain formula wherever that formula is representable, and is accurate
wherever the answer is: ``A`` may be of any size from subnormal to the largest double. An
answer beyond the double range is refused with a ValueError rather than returned as inf.

This module also holds the validation the two share (a prior, an operator of matching width,
measurements of matching length).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lininv._low_rank import LowRankPrior
from lininv._prior import LinearInvertiblePrior
from lininv._validation import as_matrix, as_vector_or_batch, describe

__all__ = [
    "Prior",
    "check_prior",
    "check_invertible_prior",
    "check_operator",
    "check_measurements",
    "scaled_product",
    "latent_svd",
]

Prior = LinearInvertiblePrior | LowRankPrior

#: Stands for the binary exponent of zero where the largest exponent of a row is wanted (below
#: every double's, so a zero never sets the scale).
_NO_EXPONENT = -4000
_TINY = float(np.finfo(np.float64).tiny)


# -- validation shared by the estimators and the error formulas -----------------------------------


def check_prior(prior: Any) -> Prior:
    """Check that ``prior`` is a LinearInvertiblePrior or a LowRankPrior."""
    if not isinstance(prior, (LinearInvertiblePrior, LowRankPrior)):
        raise TypeError(
            f"prior must be a LinearInvertiblePrior or LowRankPrior; got {describe(prior)}"
        )
    return prior


def check_invertible_prior(prior: Any) -> LinearInvertiblePrior:
    """Check that ``prior`` is a LinearInvertiblePrior."""
    if not isinstance(prior, LinearInvertiblePrior):
        raise TypeError(f"prior must be a LinearInvertiblePrior; got {describe(prior)}")
    return prior


def check_operator(prior: Prior, A: Any, *, max_rows: int | None = None) -> np.ndarray:
    """Validate a measurement matrix against the prior's dimension (and a row limit)."""
    n = prior.n
    A = as_matrix("A", A, shape=(None, n), shape_hint=f" to match the prior's n = {n}")
    if max_rows is not None and A.shape[0] > max_rows:
        raise ValueError(
            f"A must have at most {max_rows} rows (m <= n) for this estimator; got m = {A.shape[0]}"
        )
    return A


def check_measurements(A: np.ndarray, y: Any) -> np.ndarray:
    m = A.shape[0]
    return as_vector_or_batch("y", y, m, length_hint=f" to match A's m = {m}")


def _exponent(x: Any, axis: int | None = None) -> Any:
    """Binary exponent ``e`` of the largest magnitude: ``max|x| * 2**-e`` lies in [0.5, 1).

    0 for an all-zero ``x``; with ``axis``, one exponent per slice (dimension kept).
    """
    big = np.max(np.abs(x), axis=axis, keepdims=axis is not None)
    return np.frexp(big)[1]


def scaled_product(A: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, int]:
    r"""``(B, t)`` with :math:`A F = 2^t B` and :math:`\max|B|` in [0.5, 1) (``B = 0`` if ``A F = 0``).

    ``A`` is scaled by a power of two before the product and the product again after it, so
    neither can underflow or overflow; a power-of-two scaling is exact, so ``B`` has the very bits
    of ``2**-t (A @ F)`` whenever ``A @ F`` is itself representable.
    """
    a = int(_exponent(A))
    B = np.ldexp(A, -a) @ F
    b = int(_exponent(B))
    return np.ldexp(B, -b), a + b


def latent_svd(prior: Prior, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Thin SVD ``W, d, Zt`` of ``2**-t (A @ prior.factor)``, and ``t`` (see :func:`scaled_product`)."""
    B, t = scaled_product(A, prior.factor)
    W, d, Zt = np.linalg.svd(B, full_matrices=False)
    return W, d, Zt, t


def _rank_tol(d: np.ndarray, shape: tuple[int, int]) -> float:
    # The LAPACK/lstsq convention: singular values below max(shape) * eps * d_max are noise.
    return float(max(shape) * np.finfo(float).eps * (d[0] if d.size else 0.0))


def _quarter_power(value: float) -> tuple[float, int]:
    """``(g, k)`` with ``value = g * 4**k`` exactly and ``g`` in [0.25, 1) (``(0, 0)`` for 0)."""
    g, e = math.frexp(value)
    if e % 2:
        return g / 2.0, (e + 1) // 2
    return g, e // 2


def _square(x: float) -> tuple[float, int]:
    """``(p, e)`` with ``x**2 = p * 4**e``, ``p`` of order one, for any finite ``x``.

    Where ``x**2`` is a normal double, ``p`` is that value (Python's ``**``, which is not always
    ``x * x`` to the last bit) scaled by ``4**-e``, so formulas in these units keep its bits.
    """
    m, e = math.frexp(x)
    try:
        sq = x**2
    except OverflowError:
        sq = math.inf
    if _TINY <= sq < math.inf:
        return math.ldexp(sq, -2 * e), e
    return m * m, e


def _scaled_residual(
    A: np.ndarray, y: np.ndarray, mean: np.ndarray, extra: tuple[np.ndarray, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(r, g)``: rows of ``y - A mean (- extra)`` as ``2**g * r`` with ``|r|`` of order one.

    ``g`` has one entry per row of ``y`` (shape ``(k, 1)``, or ``(1,)`` for a vector). The terms
    are scaled by powers of two before they are combined, so nothing overflows; the result has
    the bits of ``2**-g (y - A @ mean)`` whenever that is representable. ``extra``, if given, is
    a pair ``(v, e)`` of a batch ``v`` and an exponent with ``2**e v`` to be subtracted too.
    """
    g = _exponent(y, axis=-1)
    a = int(_exponent(A))
    mu_e = int(_exponent(mean))
    Am = np.ldexp(A, -a) @ np.ldexp(mean, -mu_e)  # A @ mean = 2**(a + mu_e) Am
    if np.any(Am):
        g = np.maximum(g, a + mu_e + _exponent(Am))
    if extra is not None:
        v, e = extra
        g = np.maximum(g, e + _exponent(v, axis=-1))
    r = np.ldexp(y, -g) - np.ldexp(Am, a + mu_e - g)
    if extra is not None:
        r = r - np.ldexp(v, e - g)
    return r, g


def _unscale(x: np.ndarray, e: Any, what: str) -> np.ndarray:
    """``2**e x``, refusing a result beyond the double range (ValueError naming ``what``)."""
    with np.errstate(over="ignore"):
        out = np.ldexp(x, e)
    if not np.all(np.isfinite(out)):
        big = float(np.max(np.abs(x)))
        approx = float(np.max(np.asarray(e))) + np.log2(big) if big > 0 else np.inf
        raise ValueError(
            f"{what} is not representable in double precision: its entries reach about "
            f"2^{approx:.0f} > {np.finfo(float).max:.3g}"
        )
    return out


def _ridge_solution(
    prior: Prior,
    A: np.ndarray,
    y: np.ndarray,
    gamma: tuple[float, int] | None,
    *,
    require_full_row_rank: bool,
) -> np.ndarray:
    r"""``mu + C Z diag(d / (d^2 + gamma)) W^T (y - A mu)`` for ``gamma = g * 4**k`` (None: 0).

    Scale-invariant evaluation: the filter is formed in units of :math:`2^t` with
    :math:`AC = 2^t W \operatorname{diag}(d) Z^T` (:func:`scaled_product`), in which
    :math:`\gamma` becomes :math:`g\,4^{k-t}`; when that is huge, the common factor
    :math:`4^{k-t}` is taken out of the filter. The residual is scaled per row
    (:func:`_scaled_residual`) and all exponents are applied once, at the end. Every scaling is
    an exact power of two, so the result has the bits of the unscaled formula whenever that
    formula under- and overflows nowhere.
    """
    W, d, Zt, t = latent_svd(prior, A)
    tol = _rank_tol(d, A.shape)
    if require_full_row_rank and (d.size < A.shape[0] or d[-1] <= tol):
        smallest = d[-1] if d.size else 0.0
        raise ValueError(
            f"A G must have full row rank m = {A.shape[0]} for the constrained MLE; got smallest "
            f"singular value {np.ldexp(smallest, t):.3g} (tolerance {np.ldexp(tol, t):.3g})"
        )
    keep = d > tol
    filt = np.zeros_like(d)
    shift = 0
    if gamma is None:
        filt[keep] = d[keep] / (d[keep] ** 2 + 0.0)
    else:
        # gamma is g 4**(k - t) in these units; when that exceeds one, the filter is
        # 4**-shift d / (4**-shift d^2 + g 4**(k - t - shift)) with the 4**-shift kept aside.
        g, k = gamma
        shift = max(k - t, 0)
        dk = d[keep]
        filt[keep] = dk / (np.ldexp(dk**2, -2 * shift) + np.ldexp(g, 2 * (k - t - shift)))
    r, e = _scaled_residual(A, y, prior.mean)
    w = ((r @ W) * filt) @ Zt
    step = _unscale(w @ prior.factor.T, e - t - 2 * shift, "the estimate")
    return _unscale(prior.mean + step, 0, "the estimate")
