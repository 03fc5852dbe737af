r"""Step 4d: the upper bound of Halko, Martinsson and Tropp (2011), Theorem 10.5, and the poster's form.

Taking expectations in 4a with 4b and 4c: :math:`E(m) \le (1 + k/(p-1))\sum_{j>k} s_j^2`;
``p = 2`` gives :math:`(m-1)\sum_{j>m-2} s_j^2 \le m \sum_{j>m-2} s_j^2`, the poster's form.

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
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_cases, check_common, scaled
from proofs_numeric._kernels import tail_sums
from proofs_numeric._mc import expectation
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import (
    Z_SE,
    exact_equality,
    exact_inequality,
    fp_tol,
    mc_inequality,
)

__all__ = ["check_upper_bound", "hmt_expectation_bound"]


def hmt_expectation_bound(s: np.ndarray, m: int, k: int) -> float:
    r""":math:`(1 + k/(p-1))\sum_{j>k} s_j^2` with ``p = m - k``."""
    return (1.0 + k / (m - k - 1.0)) * float(tail_sums(s)[k])


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
