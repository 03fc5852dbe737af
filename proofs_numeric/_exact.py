r"""Step 8: exact results, m = 1 by quadrature, the flat spectrum, and n = 2.

- :math:`E(1) = \sum_i s_i^2(1 - \pi_i)`, :math:`\pi_i = \int_0^\infty s_i^2(1 + 2ts_i^2)^{-1}
  \prod_j(1 + 2ts_j^2)^{-1/2}\,dt = E[P_Y]_{ii}`;
- flat spectrum: every draw has error exactly :math:`(n - m)s^2`;
- ``n = 2, m = 1``: :math:`E(1) = s_1 s_2`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np

import lininv
from lininv.validation import as_spectrum, check_int, check_real, describe
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_common, scaled
from proofs_numeric._kernels import residual_errors
from proofs_numeric._mc import expectation
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import (
    Z_SE,
    exact_equality,
    fp_tol,
    mc_equality,
    mc_summary,
)

__all__ = [
    "check_exact_m1",
    "check_flat_spectrum",
    "check_two_dimensional",
    "exact_m1_mpmath",
    "flat_error",
    "two_dimensional_error",
]

#: Relative allowance for scipy-quad results: ``lininv.exact_error_m1`` integrates each of at
#: most ``n + 2`` pieces to ``epsrel = 1e-11``; 1e-9 leaves a factor > 5 for their sum.
QUAD_RTOL = 1e-9


def exact_m1_mpmath(s: Any, dps: int | None = None) -> float:
    r""":math:`E(1)` by mpmath quadrature of the :math:`\pi_i` form at ``dps`` digits.

    An implementation independent of ``lininv.exact_error_m1`` (which integrates a rearranged,
    cancellation-free form in ``log t`` with scipy). Intended for small ``n`` (it is slow).
    The form :math:`\sum_i s_i^2(1 - \pi_i)` cancels up to :math:`\log_{10}(s_1^2/s_n^2)` digits
    (when one value dominates), so the default precision is ``20`` digits plus that many.
    """
    s = as_spectrum("s", s)
    if dps is None:
        dps = 20 + math.ceil(2 * math.log10(s[0] / s[-1]))
    with mpmath.workdps(dps):
        s2 = [mpmath.mpf(float(v)) ** 2 for v in s]

        def weight(t: Any) -> Any:
            return mpmath.fprod([(1 + 2 * t * v) ** mpmath.mpf(-0.5) for v in s2])

        # Break the half-line at the scales 1/(2 s_j^2) where the integrand changes regime.
        points = sorted({1 / (2 * v) for v in s2})
        nodes = [mpmath.mpf(0), *points, mpmath.inf]
        total = mpmath.mpf(0)
        for v in s2:
            pi_i = mpmath.quad(lambda t, v=v: v / (1 + 2 * t * v) * weight(t), nodes)
            total += v * (1 - pi_i)
        return float(total)


def _default_m1() -> list[tuple[str, np.ndarray]]:
    return [
        ("dominant s^2=(1, 0.01 x 9), n=10", sp.dominant(10, 0.01)),
        ("power a=1, n=8", sp.power(8)),
        ("geometric cond=1e8, n=8", sp.geometric_cond(8, 1e8)),
    ]


def _check_spectra(spectra: Any) -> list[tuple[str, np.ndarray]]:
    if isinstance(spectra, (str, bytes)) or not isinstance(spectra, Sequence) or not spectra:
        raise TypeError(
            f"spectra must be a non-empty sequence of (label, s); got {describe(spectra)}"
        )
    out = []
    for i, item in enumerate(spectra):
        if not isinstance(item, Sequence) or len(item) != 2:
            raise TypeError(f"spectra[{i}] must be a (label, s) pair; got {describe(item)}")
        s = as_spectrum(f"spectra[{i}] s", item[1])
        if s.size < 2:
            raise ValueError(f"spectra[{i}] s must have n >= 2 values; got {s.size}")
        out.append((str(item[0]), s))
    return out


def check_exact_m1(
    *,
    spectra: Sequence[tuple[str, Any]] | None = None,
    claim: Callable[[np.ndarray], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 8a: the exact ``m = 1`` error by quadrature.

    ``claim(s)`` (default ``lininv.exact_error_m1``) must agree with ``lininv.expected_error`` at
    ``m = 1`` within ``z`` standard errors, and with an independent mpmath quadrature of the
    :math:`\pi_i` form (20 + log10(cond^2) digits) within ``QUAD_RTOL = 1e-9`` relative.

    Parameters
    ----------
    spectra : sequence of (label, s), optional
        Defaults include one dominant singular value (where :math:`E(1)/\lambda` is largest).
    claim : callable s -> float, optional
        The deterministic equivalent ``lambda s: lininv.predicted_error(s, 1)`` is *not* exact and
        fails on the dominant spectrum.
    precision : float, default=1.0
        Multiplies the Monte-Carlo trials (base 20000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Examples
    --------
    >>> from proofs_numeric import check_exact_m1
    >>> check_exact_m1(spectra=[("n=2", [2.0, 0.5])], precision=0.01, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    spectra = _check_spectra(_default_m1() if spectra is None else spectra)
    claim = check_callable("claim", claim, lininv.exact_error_m1)
    trials = scaled(20000, precision)
    evidence: list[Evidence] = []
    for label, s in spectra:
        claimed = float(claim(s))
        est = expectation(s, 1, rng=gen, trials=trials)
        evidence.append(
            mc_equality(
                f"{label}: lininv.expected_error(m=1)",
                est.mean,
                est.stderr,
                est.trials,
                claimed,
                z=z,
                note=f"E(1) / lambda = {claimed / lininv.predicted_error(s, 1):.5g}",
            )
        )
        ref = exact_m1_mpmath(s)
        evidence.append(
            exact_equality(
                f"{label}: mpmath quadrature (20+ digits)",
                ref,
                claimed,
                QUAD_RTOL * abs(ref),
                note="tolerance 1e-9 relative (scipy quad at epsrel 1e-11 per piece)",
            )
        )
    return StepResult(
        step="8a",
        name="exact_m1",
        title="Exact E(1) by quadrature",
        statement=(
            "For a single measurement, E[P_Y]_ii is a one-dimensional integral and "
            "E(1) = sum_i s_i^2 (1 - pi_i) exactly."
        ),
        formula="pi_i = int_0^inf s_i^2 (1 + 2 t s_i^2)^{-1} prod_j (1 + 2 t s_j^2)^{-1/2} dt;  E(1) = sum_i s_i^2 (1 - pi_i)",
        method=(
            f"Monte Carlo ({trials} trials, {z:g} SE) and an independent high-precision mpmath "
            "quadrature (1e-9 relative)."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )


def flat_error(n: int, m: int, level: float) -> float:
    """The claim for a flat spectrum: ``(n - m) level^2`` for every draw."""
    return (n - m) * level**2


def check_flat_spectrum(
    *,
    sizes: Sequence[tuple[int, int]] = ((16, 4), (40, 25)),
    level: float = 1.7,
    claim: Callable[[int, int, float], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 8b: a flat spectrum has error exactly :math:`(n-m)s^2` for *every* draw.

    With :math:`S = sI`, :math:`\|(I-P_Y)S\|_F^2 = s^2\operatorname{tr}(I - P_Y) = s^2(n-m)`.
    Checked per draw (worst of ``200 * precision`` draws, tolerance ``8 n eps``), and against
    ``lininv.predicted_error`` (the deterministic equivalent is exact here) and
    ``lininv.exact_error_m1`` (``m = 1``).

    Parameters
    ----------
    sizes : sequence of (n, m), default=((16, 4), (40, 25))
    level : float, default=1.7
    claim : callable (n, m, level) -> float, optional
        Defaults to :func:`flat_error`; ``lambda n, m, s: (n - m + 1) * s**2`` fails.
    precision : float, default=1.0
    z : float
        Unused.
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Examples
    --------
    >>> from proofs_numeric import check_flat_spectrum
    >>> check_flat_spectrum(sizes=[(5, 2)], precision=0.1, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    level = check_real("level", level, low=0.0, low_open=True)
    claim = check_callable("claim", claim, flat_error)
    checked = []
    for i, nm in enumerate(sizes):
        if not isinstance(nm, Sequence) or len(nm) != 2:
            raise TypeError(f"sizes[{i}] must be an (n, m) pair; got {describe(nm)}")
        n = check_int(f"sizes[{i}] n", nm[0], low=2)
        checked.append((n, check_int(f"sizes[{i}] m", nm[1], low=1, high=n - 1)))
    draws = scaled(200, precision)
    evidence: list[Evidence] = []
    for n, m in checked:
        s = sp.flat(n, level)
        claimed = float(claim(n, m, level))
        errs = residual_errors(s, gen.standard_normal((draws, n, m)))
        worst = int(np.argmax(np.abs(errs - claimed)))
        evidence.append(
            exact_equality(
                f"flat n={n}, m={m}: every draw",
                errs[worst],
                claimed,
                fp_tol(n, claimed),
                note=f"worst of {draws} draws; tolerance 8 n eps relative",
            )
        )
        pred = lininv.predicted_error(s, m)
        evidence.append(
            exact_equality(
                f"flat n={n}, m={m}: lininv.predicted_error (lambda m)",
                pred,
                claimed,
                fp_tol(n, claimed),
                note="the deterministic equivalent is exact for flat spectra",
            )
        )
        one = float(claim(n, 1, level))
        evidence.append(
            exact_equality(
                f"flat n={n}: lininv.exact_error_m1 = claim at m=1",
                lininv.exact_error_m1(s),
                one,
                QUAD_RTOL * abs(one),
                note="quadrature tolerance 1e-9 relative",
            )
        )
    return StepResult(
        step="8b",
        name="flat_spectrum",
        title="Flat spectrum",
        statement="With all singular values equal to s, every draw of A gives error (n - m) s^2.",
        formula="s_i = s for all i  =>  ||(I - P_Y) S||_F^2 = (n - m) s^2 for every A;  lambda m = (n - m) s^2",
        method=f"Worst of {draws} draws within 8 n eps; predicted_error and exact_error_m1 compared.",
        evidence=tuple(evidence),
        seed=seed,
    )


def two_dimensional_error(s1: float, s2: float) -> float:
    """The claim for ``n = 2, m = 1``: :math:`E(1) = s_1 s_2`."""
    return s1 * s2


def check_two_dimensional(
    *,
    pairs: Sequence[tuple[float, float]] = ((3.0, 1.0), (1.0, 0.1)),
    claim: Callable[[float, float], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 8c: for ``n = 2, m = 1``, :math:`E(1) = s_1 s_2`.

    Compared with a Monte-Carlo mean of the per-draw error (independent QR kernel, ``z``
    standard errors), with ``lininv.exact_error_m1`` (quadrature, 1e-9 relative) and with
    :math:`\lambda` from ``lininv.predicted_error`` (``df(lambda) = 1`` gives
    :math:`\lambda = s_1 s_2`: the equivalent is exact here; root-finder tolerance 64 eps).

    Parameters
    ----------
    pairs : sequence of (s1, s2), default=((3, 1), (1, 0.1))
    claim : callable (s1, s2) -> float, optional
        Defaults to :func:`two_dimensional_error`; the harmonic form
        ``lambda a, b: 2 a^2 b^2 / (a^2 + b^2)`` fails.
    precision : float, default=1.0
        Multiplies the draws (base 40000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Examples
    --------
    >>> from proofs_numeric import check_two_dimensional
    >>> check_two_dimensional(pairs=[(2.0, 1.0)], precision=0.05, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    claim = check_callable("claim", claim, two_dimensional_error)
    draws = scaled(40000, precision)
    evidence: list[Evidence] = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise TypeError(f"pairs[{i}] must be an (s1, s2) pair; got {describe(pair)}")
        s = as_spectrum(f"pairs[{i}]", pair)
        s1, s2 = float(s[0]), float(s[1])
        claimed = float(claim(s1, s2))
        mean, se, t = mc_summary(residual_errors(s, gen.standard_normal((draws, 2, 1))))
        label = f"s=({s1:g}, {s2:g})"
        evidence.append(mc_equality(f"{label}: Monte Carlo", mean, se, t, claimed, z=z))
        evidence.append(
            exact_equality(
                f"{label}: lininv.exact_error_m1",
                lininv.exact_error_m1(s),
                claimed,
                QUAD_RTOL * abs(claimed),
                note="quadrature tolerance 1e-9 relative",
            )
        )
        evidence.append(
            exact_equality(
                f"{label}: lambda m = lininv.predicted_error(s, 1)",
                lininv.predicted_error(s, 1),
                claimed,
                64 * fp_tol(1, claimed, factor=1.0),
                note="Brent root at rtol 4 eps, tolerance 64 eps relative",
            )
        )
    return StepResult(
        step="8c",
        name="two_dimensional",
        title="n = 2, m = 1",
        statement="In two dimensions with one measurement the expected error is s1 s2 (and equals lambda m).",
        formula="n = 2, m = 1:  E(1) = s_1 s_2",
        method=f"Monte Carlo ({draws} draws, {z:g} SE), quadrature (1e-9), deterministic equivalent (64 eps).",
        evidence=tuple(evidence),
        seed=seed,
    )
