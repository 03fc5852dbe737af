r"""Step 4a: Halko, Martinsson and Tropp's deterministic inequality, draw by draw.

Split :math:`S = \operatorname{diag}(S_1, S_2)` after ``k = m - p`` rows and
:math:`\Omega = [\Omega_1; \Omega_2]` accordingly (:math:`\Omega_1` is ``k x m``). For every
draw (HMT Thm 9.1): :math:`\|(I-P_Y)S\|_F^2 \le \|S_2\|_F^2 + \|S_2\Omega_2\Omega_1^+\|_F^2`.
Steps 4b-4d (:mod:`proofs_numeric._independence`, :mod:`proofs_numeric._inverse_wishart`,
:mod:`proofs_numeric._upper`) take its expectation.

References
----------
.. [1] N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
   53(2), 2011, Theorems 9.1 and 10.5, Proposition 10.1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lininv.validation import describe
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_cases, check_common, scaled
from proofs_numeric._kernels import hmt_terms, residual_errors
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import EPS, Z_SE, per_draw_inequality

__all__ = ["check_hmt_deterministic", "hmt_rhs", "default_cases_4"]


def default_cases_4() -> list[tuple[str, np.ndarray, int]]:
    """The default cases of steps 4a and 4b: a power law and a cliff."""
    return [
        ("power a=1, n=64, m=16", sp.power(64), 16),
        ("cliff j=4 h=0.01, n=48, m=8", sp.cliff(48, 4, 0.01), 8),
    ]


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
    cases = check_cases(default_cases_4() if cases is None else cases, m_low=3)
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
