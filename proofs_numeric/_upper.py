r"""Step 4: the upper bound via Halko, Martinsson and Tropp (2011), Theorem 10.5, step by step.

Split :math:`S = \operatorname{diag}(S_1, S_2)` after ``k = m - p`` rows and
:math:`\Omega = [\Omega_1; \Omega_2]` accordingly (:math:`\Omega_1` is ``k x m``).

- 4a (deterministic, HMT Thm 9.1): :math:`\|(I-P_Y)S\|_F^2 \le \|S_2\|_F^2 +
  \|S_2\Omega_2\Omega_1^+\|_F^2` for every draw.
- 4b (independence): :math:`E\|S_2\Omega_2\Omega_1^+\|_F^2 = \|S_2\|_F^2 E\|\Omega_1^+\|_F^2`,
  because :math:`\Omega_2` is independent of :math:`\Omega_1`; checked conditionally on
  :math:`\Omega_1`.
- 4c (inverse-Wishart mean): :math:`E\|\Omega_1^+\|_F^2 = k/(p-1)`, ``p >= 2``.
- 4d: hence :math:`E(m) \le (1 + k/(p-1))\sum_{j>k} s_j^2`; ``p = 2`` gives
  :math:`(m-1)\sum_{j>m-2} s_j^2 \le m \sum_{j>m-2} s_j^2`, the poster's form.

References
----------
.. [1] N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
   53(2), 2011, Theorems 9.1 and 10.5, Proposition 10.1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import lininv
from lininv._validation import check_int, describe
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_cases, check_common, scaled
from proofs_numeric._kernels import (
    hmt_terms,
    inverse_wishart_trace_is,
    pinv_frobenius_sq,
    residual_errors,
    tail_sums,
)
from proofs_numeric._mc import expectation
from proofs_numeric._result import (
    EPS,
    Z_SE,
    Evidence,
    StepResult,
    exact_equality,
    exact_inequality,
    fp_tol,
    mc_equality,
    mc_inequality,
    mc_summary,
    per_draw_inequality,
)

__all__ = [
    "check_hmt_deterministic",
    "check_independence",
    "check_inverse_wishart_mean",
    "check_upper_bound",
    "hmt_rhs",
    "inverse_wishart_mean",
    "hmt_expectation_bound",
]


# -- 4a ---------------------------------------------------------------------------------------


def hmt_rhs(s: np.ndarray, omega: np.ndarray, k: int) -> np.ndarray:
    r"""Right side of 4a per draw: :math:`\|S_2\|_F^2 + \|S_2\Omega_2\Omega_1^+\|_F^2`."""
    tail, cross, _ = hmt_terms(s, omega, k)
    return tail + cross


def _splits(m: int) -> list[int]:
    ks = sorted({m - 2, max(1, (m - 2) // 2), 1})
    return [k for k in ks if 1 <= k <= m - 2]


def check_hmt_deterministic(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    rhs: Callable[[np.ndarray, np.ndarray, int], Any] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 4a: HMT's deterministic inequality, draw by draw, at several splits ``k``.

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
        ``m >= 3``; for each, splits ``k`` in ``{1, (m-2)//2, m-2}`` are checked.
    rhs : callable (s, omega, k) -> ndarray of shape (draws,), optional
        The claimed per-draw upper bound; defaults to :func:`hmt_rhs`. Dropping the second term,
        ``lambda s, om, k: np.full(len(om), np.sum(s[k:]**2))``, is false and fails.
    precision : float, default=1.0
        Multiplies the draws (base 500).
    z : float, default=5.0
        Unused (exact per draw).
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Notes
    -----
    Rounding tolerance per draw: ``8 n eps`` relative on the error and on
    :math:`\|S_2\|_F^2`, and ``8 m eps cond(Omega_1)`` relative on the term with
    :math:`\Omega_1^+` (a triangular solve with a factor of :math:`\Omega_1`).

    Examples
    --------
    >>> from proofs_numeric import check_hmt_deterministic
    >>> check_hmt_deterministic(cases=[("p", [1.0, 0.7, 0.5, 0.2, 0.1], 3)], precision=0.05,
    ...                         rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(_default_cases_4() if cases is None else cases, m_low=3)
    rhs = check_callable("rhs", rhs, hmt_rhs)
    draws = scaled(500, precision)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        omega = gen.standard_normal((draws, n, m))
        errs = residual_errors(s, omega)
        for k in _splits(m):
            tail, cross, cond = hmt_terms(s, omega, k)
            claimed = np.asarray(rhs(s, omega, k), dtype=float)
            if claimed.shape != (draws,):
                raise ValueError(f"rhs must return shape ({draws},); got {describe(claimed)}")
            tol = 8 * n * EPS * (errs + tail) + 8 * m * EPS * cond * cross
            evidence.append(
                per_draw_inequality(
                    f"{label}, k={k} (p={m - k})",
                    errs,
                    claimed,
                    "<=",
                    tol,
                    note=f"mean bound / mean err = {claimed.mean() / errs.mean():.3g}",
                )
            )
    return StepResult(
        step="4a",
        name="hmt_deterministic",
        title="HMT deterministic bound per draw",
        statement=(
            "For every draw, the residual of projecting S onto range(S Omega) is at most the tail "
            "S2 plus the term S2 Omega2 Omega1^+ (HMT Theorem 9.1)."
        ),
        formula="||(I - P_Y) S||_F^2 <= ||S2||_F^2 + ||S2 Omega2 Omega1^+||_F^2   (every draw)",
        method=(
            f"{draws} draws per case at splits k in {{1, (m-2)//2, m-2}}; pass if no draw "
            "exceeds the bound beyond rounding (8 n eps, and 8 m eps cond(Omega1) on the "
            "pseudo-inverse term)."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )


# -- 4b ---------------------------------------------------------------------------------------


def _independence_claim(s2: np.ndarray, M: np.ndarray) -> float:
    r""":math:`\|S_2\|_F^2 \|M\|_F^2`: the conditional mean of :math:`\|S_2\Omega_2 M\|_F^2`."""
    return float(np.sum(s2**2) * np.sum(M**2))


def check_independence(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    claim: Callable[[np.ndarray, np.ndarray], float] | None = None,
    conditionings: int = 3,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 4b: :math:`E[\|S_2\Omega_2\Omega_1^+\|_F^2 \mid \Omega_1] =
    \|S_2\|_F^2\|\Omega_1^+\|_F^2`.

    For ``conditionings`` fixed draws of :math:`\Omega_1` (``k = m - 2``), fresh
    :math:`\Omega_2` are sampled and the mean compared with ``claim(s2, pinv(Omega_1))``. Averaging
    over :math:`\Omega_1` (tower property) gives the unconditional step
    :math:`E\|S_2\Omega_2\Omega_1^+\|_F^2 = \|S_2\|_F^2 E\|\Omega_1^+\|_F^2`. Conditioning is also
    what makes the check honest: unconditionally the quantity has infinite variance for
    ``p < 4`` (see :func:`check_inverse_wishart_mean`), while given :math:`\Omega_1` it is a
    Gaussian quadratic form with all moments finite.

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
    claim : callable (s2, M) -> float, optional
        Claimed :math:`E_{\Omega_2}\|S_2\Omega_2 M\|_F^2` for fixed ``M`` (shape ``(m, k)``);
        defaults to :math:`\|S_2\|_F^2\|M\|_F^2`. E.g. the spectral norm
        ``lambda s2, M: s2.max()**2 * np.sum(M**2)`` is false and fails.
    conditionings : int, default=3
    precision : float, default=1.0
        Multiplies the draws of :math:`\Omega_2` per conditioning (base 4000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Examples
    --------
    >>> from proofs_numeric import check_independence
    >>> check_independence(cases=[("p", [1.0, 0.7, 0.5, 0.2, 0.1], 4)], conditionings=1,
    ...                    precision=0.1, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(_default_cases_4() if cases is None else cases, m_low=3)
    claim = check_callable("claim", claim, _independence_claim)
    conditionings = check_int("conditionings", conditionings, low=1)
    draws = scaled(4000, precision)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        k = m - 2
        s2 = s[k:]
        for c in range(conditionings):
            om1 = gen.standard_normal((k, m))
            # M = Omega1^+ (m x k) from the thin QR of Omega1^T = Q R: M = Q R^{-T}.
            Q, R = np.linalg.qr(om1.T)
            M = np.linalg.solve(R, Q.T).T
            om2 = gen.standard_normal((draws, n - k, m))
            vals = np.sum(((s2[:, None] * om2) @ M) ** 2, axis=(1, 2))
            mean, se, t = mc_summary(vals)
            claimed = float(claim(s2, M))
            evidence.append(
                mc_equality(
                    f"{label}, k={k}, Omega1 #{c + 1}",
                    mean,
                    se,
                    t,
                    claimed,
                    z=z,
                    note=f"||Omega1^+||_F^2 = {np.sum(M**2):.4g} for this Omega1",
                )
            )
    return StepResult(
        step="4b",
        name="independence",
        title="Independence step",
        statement=(
            "Omega2 is independent of Omega1, so given Omega1 the expected cross term is "
            "||S2||_F^2 ||Omega1^+||_F^2; averaging over Omega1 gives the unconditional step."
        ),
        formula="E[ ||S2 Omega2 Omega1^+||_F^2 | Omega1 ] = ||S2||_F^2 ||Omega1^+||_F^2",
        method=(
            f"{conditionings} draws of Omega1 per case (k = m - 2), {draws} draws of Omega2 "
            f"each; pass if within {z:g} SE."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )


# -- 4c ---------------------------------------------------------------------------------------


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


# -- 4d ---------------------------------------------------------------------------------------


def hmt_expectation_bound(s: np.ndarray, m: int, k: int) -> float:
    r""":math:`(1 + k/(p-1))\sum_{j>k} s_j^2` with ``p = m - k``."""
    return (1.0 + k / (m - k - 1.0)) * float(tail_sums(s)[k])


def _default_cases_4() -> list[tuple[str, np.ndarray, int]]:
    return [
        ("power a=1, n=64, m=16", sp.power(64), 16),
        ("cliff j=4 h=0.01, n=48, m=8", sp.cliff(48, 4, 0.01), 8),
    ]


def _default_cases_4d() -> list[tuple[str, np.ndarray, int]]:
    return [
        ("power a=1, n=64, m=16", sp.power(64), 16),
        ("exponential r=0.8, n=64, m=12", sp.exponential(64, 0.8), 12),
        ("cliff j=4 h=0.01, n=48, m=8", sp.cliff(48, 4, 0.01), 8),
        ("flat, n=32, m=4", sp.flat(32), 4),
    ]


def check_upper_bound(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    bound: Callable[[np.ndarray, int], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 4d: the resulting bound and the poster's form.

    For each case: :math:`E(m)` from ``lininv.expected_error`` must lie below (beyond ``z``
    standard errors) (i) HMT's bound at ``k = m - 2``, (ii) the optimised
    ``lininv.hmt_upper_bound`` and (iii) the claimed bound ``bound(s, m)`` (default
    ``lininv.paper_upper_bound``, :math:`m\sum_{j>m-2}s_j^2`); and exactly: ``p = 2`` gives
    :math:`(m-1)\sum_{j>m-2} s_j^2 \le m\sum_{j>m-2}s_j^2`, ``lininv.paper_upper_bound`` equals
    ``m`` times the ``fsum`` tail, and the optimised bound is no larger than the ``k = m - 2`` one.

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
    bound : callable (s, m) -> float, optional
        Claimed upper bound on :math:`E(m)`. With the wrong constant,
        ``lambda s, m: float(np.sum(s[m - 2:]**2))`` (1 instead of ``m``), it fails on slowly
        decaying spectra.
    precision : float, default=1.0
        Scales the Monte-Carlo trials (base 2000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Examples
    --------
    >>> from proofs_numeric import check_upper_bound
    >>> check_upper_bound(cases=[("flat", [1.0] * 6, 3)], precision=0.05, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(_default_cases_4d() if cases is None else cases, m_low=2)
    bound = check_callable("bound", bound, lininv.paper_upper_bound)
    trials = scaled(2000, precision)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        est = expectation(s, m, rng=gen, trials=trials)
        tails = tail_sums(s)
        hmt_paper_k = hmt_expectation_bound(s, m, m - 2)
        opt = lininv.hmt_upper_bound(s, m)
        claimed = float(bound(s, m))
        for what, value in (
            ("E(m) <= HMT bound at k=m-2 = (m-1) sum_(j>m-2)", hmt_paper_k),
            (f"E(m) <= optimised HMT bound (k={opt.k})", opt.value),
            ("E(m) <= claimed bound (poster: m sum_(j>m-2))", claimed),
        ):
            evidence.append(
                mc_inequality(
                    f"{label}: {what}",
                    est.mean,
                    est.stderr,
                    est.trials,
                    value,
                    "<=",
                    z=z,
                    note=f"E(m) / bound = {est.mean / value:.3g}",
                )
            )
        paper = lininv.paper_upper_bound(s, m)
        evidence.append(
            exact_equality(
                f"{label}: lininv.paper_upper_bound = m fsum tail",
                paper,
                m * tails[m - 2],
                fp_tol(n, paper, factor=2.0),
                note="tolerance 2 n eps relative",
            )
        )
        evidence.append(
            exact_inequality(
                f"{label}: (m-1) sum_(j>m-2) <= poster's bound",
                hmt_paper_k,
                paper,
                "<=",
                fp_tol(n, paper, factor=2.0),
            )
        )
        evidence.append(
            exact_inequality(
                f"{label}: optimised HMT <= k=m-2 HMT",
                opt.value,
                hmt_paper_k,
                "<=",
                fp_tol(n, hmt_paper_k, factor=2.0),
            )
        )
    return StepResult(
        step="4d",
        name="upper_bound",
        title="Resulting bound and the poster's form",
        statement=(
            "Combining 4a-4c: E(m) <= (1 + k/(p-1)) sum_{j>k} s_j^2 for any split; p = 2 gives "
            "(m - 1) sum_{j>m-2} s_j^2, at most the poster's m sum_{j>m-2} s_j^2."
        ),
        formula="E(m) <= (1 + k/(p-1)) sum_{j>k} s_j^2 ;  k = m-2: (m-1) sum_{j>m-2} s_j^2 <= m sum_{j>m-2} s_j^2",
        method=(
            f"E(m) by lininv.expected_error ({trials} trials); inequalities pass if they hold "
            f"beyond {z:g} SE; algebra exact within 2 n eps."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )
