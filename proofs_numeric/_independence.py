r"""Step 4b: the independence step of Halko, Martinsson and Tropp's upper bound.

:math:`E\|S_2\Omega_2\Omega_1^+\|_F^2 = \|S_2\|_F^2 E\|\Omega_1^+\|_F^2`, because
:math:`\Omega_2` is independent of :math:`\Omega_1`; checked conditionally on :math:`\Omega_1`.

References
----------
.. [1] N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
   53(2), 2011, Theorems 9.1 and 10.5, Proposition 10.1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lininv.validation import check_int
from proofs_numeric._common import check_callable, check_cases, check_common, scaled
from proofs_numeric._hmt import default_cases_4
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import Z_SE, mc_equality, mc_summary

__all__ = ["check_independence"]


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
    cases = check_cases(default_cases_4() if cases is None else cases, m_low=3)
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
