r"""Step 3: the Eckart-Young lower bound holds for every draw of ``A``, not only on average."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import lininv
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_cases, check_common, scaled
from proofs_numeric._kernels import residual_errors
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import (
    Z_SE,
    exact_equality,
    fp_tol,
    per_draw_inequality,
)

__all__ = ["check_lower_bound"]


def _default_cases() -> list[tuple[str, np.ndarray, int]]:
    n = 32
    return [
        ("power a=1, n=64, m=16", sp.power(64), 16),
        # Nearly flat: the bound is nearly attained by every draw, so a bound that is too large
        # by one term (s_m^2) is caught here.
        (
            "near-flat s^2 = 1 + i/(100 n), n=32, m=8",
            np.sqrt(1.0 + np.arange(n)[::-1] / (100 * n)),
            8,
        ),
        ("flat, n=16, m=4 (attained)", sp.flat(16), 4),
        ("geometric cond=1e12, n=40, m=10", sp.geometric_cond(40, 1e12), 10),
    ]


def check_lower_bound(
    *,
    cases: Sequence[tuple[str, Any, int]] | None = None,
    bound: Callable[[np.ndarray, int], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Check :math:`\|(I - P_Y)S\|_F^2 \ge \sum_{i>m} s_i^2` draw by draw.

    Parameters
    ----------
    cases : sequence of (label, s, m), optional
        Defaults include a flat spectrum (bound attained by every draw) and ``cond = 1e12``.
    bound : callable (s, m) -> float, optional
        The claimed per-draw lower bound; defaults to ``lininv.lower_bound``. A wrong claim such
        as ``lambda s, m: lininv.lower_bound(s, m - 1)`` (sum over ``i > m - 1``) fails.
    precision : float, default=1.0
        Multiplies the number of draws (base 1000).
    z : float, default=5.0
        Unused (the check is exact per draw); accepted for a uniform interface.
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Notes
    -----
    :math:`P_Y` has rank ``m``, and by Eckart-Young the best rank-``m`` approximation of ``S`` in
    Frobenius norm leaves :math:`\sum_{i>m} s_i^2`; :math:`P_Y S` is one rank-``m``
    approximation, so the inequality holds for every ``A``. Rounding tolerance
    ``8 n eps (err + bound)``: the per-draw error is accurate to a few ``n eps`` relative (see
    :mod:`proofs_numeric._kernels`) and the tail sum is exact to ``n eps``. Also checks
    ``lininv.lower_bound`` against ``math.fsum`` of the tail.

    Examples
    --------
    >>> from proofs_numeric import check_lower_bound
    >>> check_lower_bound(cases=[("flat", [1.0] * 4, 2)], precision=0.05, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    cases = check_cases(_default_cases() if cases is None else cases)
    bound = check_callable("bound", bound, lininv.lower_bound)
    draws = scaled(1000, precision)
    evidence: list[Evidence] = []
    for label, s, m in cases:
        n = s.size
        claimed = float(bound(s, m))
        errs = residual_errors(s, gen.standard_normal((draws, n, m)))
        tol = fp_tol(n, 1.0) * (errs + abs(claimed))
        evidence.append(
            per_draw_inequality(
                f"{label}: err(A) >= bound, every draw",
                errs,
                np.full(draws, claimed),
                ">=",
                tol,
                note=f"mean err / bound = {errs.mean() / claimed:.4g}",
            )
        )
        tail = math.fsum(s[m:] ** 2)
        core = lininv.lower_bound(s, m)
        evidence.append(
            exact_equality(
                f"{label}: lininv.lower_bound = fsum tail",
                core,
                tail,
                fp_tol(n, tail, factor=1.0),
                note="tolerance n eps relative (a sum of n positive terms)",
            )
        )
    return StepResult(
        step="3",
        name="lower_bound",
        title="Lower bound per draw (Eckart-Young)",
        statement=(
            "P_Y has rank m, so the error is at least the best rank-m approximation error of S: "
            "for every draw of A, not only on average."
        ),
        formula="||(I - P_Y) S||_F^2 >= sum_{i>m} s_i^2  for every A",
        method=(
            f"{draws} draws per case, errors by an independent QR kernel; pass if no draw "
            "falls below the bound by more than 8 n eps (err + bound)."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )
