r"""Step 7: the deterministic equivalent, measured (docs/theory.md section 7).

Noiseless: :math:`E(m) \approx \lambda m`, :math:`\mathrm{df}(\lambda) = m`. Noisy
(:math:`A = \Omega^T/\sqrt m`, noise variance :math:`\sigma^2`): :math:`E \approx
m(\kappa - \sigma^2)`, :math:`\kappa(1 - \mathrm{df}(\kappa)/m) = \sigma^2`. How accurate these
predictions are is an empirical claim: this step *measures* the relative error against Monte
Carlo over a family of spectra and sizes and reports it as a table, with confidence intervals,
without a pass/fail on a guessed tolerance. What it does pass or fail is the part that is a
theorem: the elementary sandwich

.. math:: \sum_{i>m} s_i^2 \le \lambda m \le \min_{0 \le l < m}\Big(1 + \frac{l}{m-l}\Big)
          \sum_{i>l} s_i^2 .
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import lininv
from lininv.validation import as_spectrum, check_int, check_real, describe
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_common
from proofs_numeric._kernels import tail_sums
from proofs_numeric._mc import expectation
from proofs_numeric._result import Evidence, StepResult, Table
from proofs_numeric._rules import (
    Z_SE,
    exact_inequality,
    fp_tol,
)

__all__ = ["check_deterministic_equivalent", "sandwich_upper", "EQUIVALENT_COLUMNS"]

EQUIVALENT_COLUMNS = (
    "spectrum",
    "n",
    "m",
    "sigma",
    "E (MC)",
    "stderr",
    "trials",
    "prediction",
    "pred/E - 1",
    "95% CI lo",
    "95% CI hi",
    "E / pred",
    "converged",
)


def sandwich_upper(s: np.ndarray, m: int) -> float:
    r""":math:`\min_{0\le l<m}(1 + l/(m-l))\sum_{i>l}s_i^2` (upper side of the sandwich)."""
    tails = tail_sums(s)
    return min((1.0 + l / (m - l)) * tails[l] for l in range(m))


def _default_spectra() -> list[tuple[str, Any]]:
    return [
        ("power a=1", lambda n: sp.power(n, 1.0)),
        ("power a=2", lambda n: sp.power(n, 2.0)),
        ("exponential r=0.9", lambda n: sp.exponential(n, 0.9)),
        ("cliff j=n/8 h=0.01", lambda n: sp.cliff(n, max(1, n // 8), 0.01)),
        ("dominant h=0.001", lambda n: sp.dominant(n, 1e-3)),
    ]


def check_deterministic_equivalent(
    *,
    spectra: Sequence[tuple[str, Any]] | None = None,
    sizes: Sequence[int] = (32, 128, 256),
    m_fractions: Sequence[float] = (0.125, 0.25, 0.5),
    noise_stds: Sequence[float] = (0.0, 0.1),
    rtol: float = 1e-3,
    predictor: Callable[[np.ndarray, int, float], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 7: measure the deterministic equivalent's relative error; check the sandwich.

    Parameters
    ----------
    spectra : sequence of (label, callable n -> s), optional
        Spectrum families; defaults to power laws ``a = 1, 2``, exponential ``r = 0.9``, a cliff
        and one dominant value.
    sizes : sequence of int, default=(32, 128, 256)
    m_fractions : sequence of float, default=(0.125, 0.25, 0.5)
        ``m = round(fraction * n)``.
    noise_stds : sequence of float, default=(0.0, 0.1)
    rtol : float, default=1e-3
        Target relative precision passed to ``lininv.expected_error`` (divided by
        ``sqrt(precision)``).
    predictor : callable (s, m, sigma) -> float, optional
        The prediction under measurement; defaults to ``lininv.predicted_error``. Only its
        noiseless values are judged (against the sandwich), e.g. ``lambda s, m, sig:
        0.5 * lininv.lower_bound(s, m)`` fails.
    precision : float, default=1.0
    z : float
        Unused (the table is measured, not judged).
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult
        ``table`` holds one row per (spectrum, n, m, sigma), columns :data:`EQUIVALENT_COLUMNS`
        (``converged``: whether the estimate reached ``rtol`` before the engine's trial cap; the
        interval is the engine's 95% Student-t interval either way); the evidence is the (exact)
        sandwich for each noiseless row.

    Examples
    --------
    >>> from proofs_numeric import check_deterministic_equivalent
    >>> r = check_deterministic_equivalent(sizes=[8], m_fractions=[0.5], noise_stds=[0.0],
    ...                                    rtol=0.05, rng=0)
    >>> r.passed, len(r.table.rows)
    (True, 5)
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    if spectra is None:
        spectra = _default_spectra()
    if isinstance(spectra, (str, bytes)) or not isinstance(spectra, Sequence) or not spectra:
        raise TypeError(
            f"spectra must be a non-empty sequence of (label, callable); got {describe(spectra)}"
        )
    sizes = [check_int(f"sizes[{i}]", n, low=2) for i, n in enumerate(sizes)]
    fracs = [
        check_real(f"m_fractions[{i}]", f, low=0.0, low_open=True, high=1.0)
        for i, f in enumerate(m_fractions)
    ]
    sigmas = [check_real(f"noise_stds[{i}]", v, low=0.0) for i, v in enumerate(noise_stds)]
    rtol = check_real("rtol", rtol, low=0.0, low_open=True) / math.sqrt(precision)
    predictor = check_callable("predictor", predictor, lininv.predicted_error)
    rows = []
    evidence: list[Evidence] = []
    for label, family in spectra:
        if not callable(family):
            raise TypeError(
                f"spectra entry {label!r} must map n to a spectrum; got {describe(family)}"
            )
        for n in sizes:
            s = as_spectrum(f"spectrum {label!r}", family(n))
            for frac in fracs:
                m = min(n - 1, max(1, round(frac * n)))
                for sigma in sigmas:
                    est = expectation(s, m, sigma, rng=gen, rtol=rtol)
                    pred = float(predictor(s, m, sigma))
                    lo, hi = est.ci  # the engine's 95% Student-t interval
                    rows.append(
                        (
                            label,
                            n,
                            m,
                            sigma,
                            est.mean,
                            est.stderr,
                            est.trials,
                            pred,
                            pred / est.mean - 1.0,
                            pred / hi - 1.0,
                            pred / lo - 1.0 if lo > 0 else None,
                            est.mean / pred,
                            est.converged,
                        )
                    )
                    if sigma == 0.0:
                        lower = float(tail_sums(s)[m])
                        upper = sandwich_upper(s, m)
                        tag = f"{label}, n={n}, m={m}"
                        evidence.append(
                            exact_inequality(
                                f"{tag}: sum_(i>m) s_i^2 <= lambda m",
                                pred,
                                lower,
                                ">=",
                                fp_tol(n, pred),
                            )
                        )
                        evidence.append(
                            exact_inequality(
                                f"{tag}: lambda m <= min_l (1 + l/(m-l)) sum_(i>l) s_i^2",
                                pred,
                                upper,
                                "<=",
                                fp_tol(n, upper),
                            )
                        )
    return StepResult(
        step="7",
        name="deterministic_equivalent",
        title="Deterministic equivalent (measured)",
        statement=(
            "E(m) is predicted by lambda m (noisy: m (kappa - sigma^2)); its accuracy is measured "
            "against Monte Carlo, not assumed. The elementary sandwich on lambda m is a theorem "
            "and is checked."
        ),
        formula="df(lambda) = m, E(m) ~ lambda m;  kappa (1 - df(kappa)/m) = sigma^2, E ~ m (kappa - sigma^2)",
        method=(
            f"lininv.expected_error at rtol {rtol:.3g} per row; relative error pred/E - 1 with the "
            "95% CI of E propagated; sandwich exact within 8 n eps."
        ),
        evidence=tuple(evidence),
        seed=seed,
        table=Table(EQUIVALENT_COLUMNS, tuple(rows)),
    )
