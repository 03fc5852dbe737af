r"""Dataset bias: signals drawn from a *truth* other than the prior the estimator uses.

The estimators keep the prior :math:`x = \mu + Gz`; the signal comes from a truth with mean
:math:`\mu_t` and covariance :math:`\Sigma_t` (a :class:`LinearInvertiblePrior`: data of full
rank; a :class:`LowRankPrior`: data on a subspace). Every expected error is a quadratic form in
:math:`x_0 - \mu`, so the truth enters only through its second moment about the prior's mean,

.. math:: M = \Sigma_t + (\mu_t - \mu)(\mu_t - \mu)^T = F F^T, \qquad
          F = [\,G_t \;\; \mu_t - \mu\,],

and, for rotation-invariant measurements, only through the diagonal of ``M`` in the prior's left
singular basis, :math:`q_i = u_i^T M u_i` (:func:`truth_diagonal`; docs/theory.md, section 10).
This module holds the truth's validation and these two reductions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._low_rank import LowRankPrior
from lininv._prior import LinearInvertiblePrior
from lininv._validation import describe

__all__ = [
    "check_truth",
    "truth_factor",
    "truth_diagonal",
    "make_truth",
    "crossover",
    "Crossover",
    "Truth",
    "TRUTH_FORMS",
]

#: What a truth may be.
Truth = LinearInvertiblePrior | LowRankPrior


def check_truth(prior: Any, truth: Any, name: str = "truth") -> Truth | None:
    """Validate ``truth`` against ``prior``: ``None`` (the prior itself) or a linear prior of n.

    Returns ``None`` for ``truth=None`` and for ``truth is prior`` (the matched case, computed by
    the matched formulas to the last bit).
    """
    if truth is None or truth is prior:
        return None
    if not isinstance(truth, (LinearInvertiblePrior, LowRankPrior)):
        raise TypeError(
            f"{name} must be None, a LinearInvertiblePrior or a LowRankPrior; got {describe(truth)}"
        )
    if truth.n != prior.n:
        raise ValueError(
            f"{name} must have the prior's dimension n = {prior.n}; got a truth of n = {truth.n}"
        )
    return truth


def truth_factor(prior: Any, truth: Truth) -> np.ndarray:
    r"""``F`` with :math:`FF^T = M`, the truth's second moment about the prior's mean.

    Shape ``(n, r + 1)``: the truth's factor (``r = n`` or its rank ``k``) and the mean offset.
    In signal coordinates.
    """
    return np.column_stack([truth.factor, truth.mean - prior.mean])


def truth_diagonal(prior: LinearInvertiblePrior, truth: Truth | None) -> np.ndarray:
    r""":math:`q_i = u_i^T M u_i`, the truth's second moment along the prior's left singular vectors.

    For the matched truth ``q = s**2``. Each :math:`q_i` is the squared norm of row ``i`` of
    :math:`U^T F`, a sum of squares.
    """
    if truth is None:
        return prior.singular_values**2
    UF = prior.left_singular_vectors.T @ truth_factor(prior, truth)
    return np.sum(UF * UF, axis=1)


#: The forms of a truth specification, for messages and help texts.
TRUTH_FORMS = (
    "'prior' (the prior itself), a spectrum ('power:a', 'exp:r', 'flat' or a file) for a truth "
    "diagonal in the prior's basis, or 'rotated:' followed by a spectrum for one in a random basis"
)


def make_truth(spec: str, s: np.ndarray, *, seed: int) -> LinearInvertiblePrior | None:
    """The truth for the diagonal prior ``G = diag(s)`` described by ``spec`` (:data:`TRUTH_FORMS`).

    ``"prior"`` gives ``None`` (matched). A spectrum ``t`` gives the truth ``diag(t)``: its
    covariance commutes with the prior's (both sorted descending). ``"rotated:" + spectrum``
    gives ``R diag(t)`` with ``R`` Haar-random from ``seed``: a truth whose principal directions
    are unrelated to the prior's. Both have the prior's mean.
    """
    from lininv._spectra import make_spectrum

    if not isinstance(spec, str) or not spec:
        raise TypeError(f"truth must be a non-empty string ({TRUTH_FORMS}); got {describe(spec)}")
    if spec == "prior":
        return None
    rotated = spec.startswith("rotated:")
    try:
        t = make_spectrum(spec.removeprefix("rotated:"), s.size)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"truth {spec!r} is not {TRUTH_FORMS}: {exc}") from None
    if t.size != s.size:
        raise ValueError(f"truth {spec!r} has {t.size} values; the prior has n = {s.size}")
    if rotated:
        return LinearInvertiblePrior.from_singular_values(t, rng=seed)
    return LinearInvertiblePrior.from_singular_values(t)


@dataclass(frozen=True)
class Crossover:
    """Where the invertible prior starts to beat the rank-k generator (:func:`crossover`).

    Attributes
    ----------
    m : int or None
        The smallest ``m`` from which on (at every larger ``m`` of ``ms``) the invertible prior's
        predicted error is below the generator's error (``None``: not even at the last ``m``).
    ms : ndarray of shape (p,)
    invertible : ndarray of shape (p,)
        The invertible prior's predicted expected error (:func:`lininv.predicted_error` with the
        truth).
    generator : ndarray of shape (p,)
        The generator's exact expected error where ``m >= k + 2``
        (:func:`lininv.generator_expected_error`), its representation error ``R`` (a lower
        bound) below.
    representation_error : float
        ``R``, the generator's floor.
    """

    m: int | None
    ms: np.ndarray
    invertible: np.ndarray
    generator: np.ndarray
    representation_error: float


def crossover(
    prior: LinearInvertiblePrior, generator: Any, truth: Truth | None = None, *, ms: Any = None
) -> Crossover:
    r"""The number of measurements ``m*`` from which the invertible prior beats the rank-k one.

    Noiseless Gaussian measurements; signals from ``truth`` (default: ``prior``). The invertible
    prior's error goes to 0 as ``m -> n`` for every truth of full rank (zero representation
    error); the generator's stays above its representation error ``R``. ``m*`` is the smallest
    ``m`` from which on the invertible prior's deterministic-equivalent prediction stays below
    the generator's error: its exact error where ``m >= k + 2``, and ``R`` below (a lower bound:
    the generator never does better than ``R``, so the comparison there is certified).

    Parameters
    ----------
    prior : LinearInvertiblePrior
    generator : LowRankPrior
    truth : LinearInvertiblePrior or LowRankPrior, optional
    ms : iterable of int, optional
        Measurement counts to scan (default ``1, ..., n``).

    Returns
    -------
    Crossover
    """
    from lininv._low_rank import LowRankPrior, generator_expected_error
    from lininv._theory import predicted_error
    from lininv._validation import check_int

    if not isinstance(prior, LinearInvertiblePrior):
        raise TypeError(f"prior must be a LinearInvertiblePrior; got {describe(prior)}")
    if not isinstance(generator, LowRankPrior) or generator.n != prior.n:
        raise TypeError(
            f"generator must be a LowRankPrior of n = {prior.n}; got {describe(generator)}"
        )
    given = check_truth(prior, truth)
    n = prior.n
    grid = range(1, n + 1) if ms is None else ms
    ms_arr = np.array([check_int("ms", m, low=1, high=n) for m in grid], dtype=int)
    reference = prior if given is None else given
    R = generator.expected_representation_error(reference)
    inv = np.array([predicted_error(prior, int(m), truth=given) for m in ms_arr])
    gen = np.array(
        [
            generator_expected_error(generator, int(m), truth=reference)
            if m >= generator.k + 2
            else R
            for m in ms_arr
        ]
    )
    order = np.argsort(ms_arr, kind="stable")
    ms_arr, inv, gen = ms_arr[order], inv[order], gen[order]
    losing = np.flatnonzero(inv >= gen)
    if losing.size == 0:
        star: int | None = int(ms_arr[0])
    elif losing[-1] == ms_arr.size - 1:
        star = None
    else:
        star = int(ms_arr[losing[-1] + 1])
    return Crossover(star, ms_arr, inv, gen, R)
