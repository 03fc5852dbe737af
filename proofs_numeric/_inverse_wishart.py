r"""Step 4c: the inverse-Wishart mean :math:`E\|\Omega_1^+\|_F^2 = k/(p-1)`, ``p >= 2``.

For ``p < 4`` the plain sample mean has infinite variance; the check uses an exact
importance-sampling change of measure with finite variance instead.

References
----------
.. [1] N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
   53(2), 2011, Theorems 9.1 and 10.5, Proposition 10.1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lininv.validation import check_int, describe
from proofs_numeric._common import check_callable, check_common, scaled
from proofs_numeric._kernels import inverse_wishart_trace_is, pinv_frobenius_sq
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import Z_SE, fp_tol, mc_equality, mc_summary

__all__ = ["check_inverse_wishart_mean", "inverse_wishart_mean"]


def inverse_wishart_mean(k: int, p: int) -> float:
    r"""The claim :math:`E\|\Omega_1^+\|_F^2 = k/(p-1)` for a ``k x (k+p)`` Gaussian."""
    return k / (p - 1.0)


def _check_kp(kp: Any) -> list[tuple[int, int]]:
    if isinstance(kp, (str, bytes)) or not isinstance(kp, Sequence) or len(kp) == 0:
        raise TypeError(f"shapes must be a non-empty sequence of (k, p) pairs; got {describe(kp)}")
    out = []
    for i, item in enumerate(kp):
        if not isinstance(item, Sequence) or len(item) != 2:
            raise TypeError(f"shapes[{i}] must be a (k, p) pair; got {describe(item)}")
        out.append(
            (
                check_int(f"shapes[{i}] k", item[0], low=1),
                check_int(f"shapes[{i}] p", item[1], low=2),
            )
        )
    return out


def check_inverse_wishart_mean(
    *,
    shapes: Sequence[tuple[int, int]] | None = None,
    claim: Callable[[int, int], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 4c: :math:`E\|\Omega_1^+\|_F^2 = E\operatorname{tr}W^{-1} = k/(p-1)`,
    :math:`W = \Omega_1\Omega_1^T \sim \mathcal W_k(I, k+p)`.

    Parameters
    ----------
    shapes : sequence of (k, p), optional
        Defaults to ``(3, 2), (6, 2), (14, 2), (4, 3), (6, 5), (10, 8)``: ``p = 2`` is the proof's
        choice (``k = m - 2``; ``(14, 2)`` is ``m = 16``).
    claim : callable (k, p) -> float, optional
        Defaults to :func:`inverse_wishart_mean`. ``lambda k, p: k / p`` is false and fails.
    precision : float, default=1.0
        Multiplies the draws (base 40000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Notes
    -----
    :math:`\operatorname{tr}W^{-1}` has finite variance only when ``p >= 4`` (inverse-Wishart second
    moments need :math:`\nu - k - 3 > 0`); for ``p = 2, 3`` its sample mean obeys no central
    limit theorem and a standard error would be meaningless. So:

    - ``p >= 4``: plain Monte Carlo of :math:`\sum_i \sigma_i(\Omega_1)^{-2}`, ``z`` standard errors;
    - ``p < 4``: importance sampling from :math:`\mathcal W_k(I, \nu - 2)` (an exact change of
      measure, :func:`proofs_numeric._kernels.inverse_wishart_trace_is`): the weighted quantity
      :math:`e_{k-1}(\lambda(W'))/\prod_j(\nu - 1 - j)` is a polynomial in Gaussians with every
      moment finite, so its standard error is valid. The plain sample mean is reported in the
      note for comparison.

    Examples
    --------
    >>> from proofs_numeric import check_inverse_wishart_mean
    >>> check_inverse_wishart_mean(shapes=[(2, 2), (2, 5)], precision=0.05, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    shapes = _check_kp(
        [(3, 2), (6, 2), (14, 2), (4, 3), (6, 5), (10, 8)] if shapes is None else shapes
    )
    claim = check_callable("claim", claim, inverse_wishart_mean)
    draws = scaled(40000, precision)
    evidence: list[Evidence] = []
    for k, p in shapes:
        claimed = float(claim(k, p))
        plain = pinv_frobenius_sq(gen.standard_normal((draws, k, k + p)))
        if p >= 4:
            mean, se, t = mc_summary(plain)
            how = "plain Monte Carlo (finite variance since p >= 4)"
        else:
            mean, se, t = mc_summary(
                inverse_wishart_trace_is(gen.standard_normal((draws, k, k + p - 2)))
            )
            how = (
                f"importance sampling from Wishart(k, nu - 2) (plain mean {plain.mean():.4g} "
                "has infinite variance, shown for comparison only)"
            )
        evidence.append(
            mc_equality(f"k={k}, p={p}", mean, se, t, claimed, z=z, fp=fp_tol(k, claimed), note=how)
        )
    return StepResult(
        step="4c",
        name="inverse_wishart_mean",
        title="Inverse-Wishart mean",
        statement=(
            "For a k x (k + p) standard Gaussian Omega1 with p >= 2, the mean squared Frobenius "
            "norm of its pseudo-inverse is k / (p - 1)."
        ),
        formula="E ||Omega1^+||_F^2 = E tr (Omega1 Omega1^T)^{-1} = k / (p - 1)",
        method=(
            f"{draws} draws per shape; p >= 4 plain Monte Carlo, p < 4 importance sampling "
            f"(finite variance); pass if within {z:g} SE."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )
