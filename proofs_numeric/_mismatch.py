r"""Steps 10a-10c: dataset bias and measurement ensembles (docs/theory.md, section 10).

* 10a, the mismatch identity: with :math:`x - \mu = Gw`, the noiseless MLE gives
  :math:`\hat x - x_0 = -G(I-P)w_0`, so for :math:`x_0 \sim N(\mu_t, \Sigma_t)`,
  :math:`E\|\hat x - x_0\|^2 = \operatorname{tr}(G^TG(I-P)C(I-P)) + \|G(I-P)d\|^2` with
  :math:`C = G^{-1}\Sigma_tG^{-T}`, :math:`d = G^{-1}(\mu_t - \mu)`.
* 10b, Haar = Gaussian: the noiseless MLE depends on ``A`` through its row space only, which is
  uniformly distributed for both ensembles, so their expected errors are equal for every prior.
* 10c, the mask formula: a random coordinate mask with a diagonal ``G`` has
  :math:`E(m) = (1 - m/n)\sum_i s_i^2` (each coordinate is seen with probability ``m/n`` and then
  recovered exactly; the unseen ones keep their prior variance).

Each check takes the claimed statement as an argument, so that a deliberately wrong one can be
shown to fail (the tests do).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import lininv
from lininv.validation import check_int
from proofs_numeric._common import check_callable, check_common, scaled
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import Z_SE, exact_equality, fp_tol, mc_equality, mc_summary

__all__ = [
    "check_mismatch_identity",
    "check_haar_equals_gaussian",
    "check_mask_formula",
    "mismatch_identity",
    "mask_formula",
]


def mismatch_identity(
    prior: lininv.LinearInvertiblePrior, A: np.ndarray, truth: lininv.LinearInvertiblePrior
) -> float:
    r"""The statement of 10a in its textbook form, from inverses (small, well-conditioned cases).

    :math:`\operatorname{tr}(G^TG(I-P)C(I-P)) + \|G(I-P)d\|^2`, ``P`` the orthogonal projector
    onto the row space of ``A G``.
    """
    G = prior.G
    Ginv = np.linalg.inv(G)
    B = A @ G
    P = B.T @ np.linalg.solve(B @ B.T, B)
    C = Ginv @ truth.covariance @ Ginv.T
    d = Ginv @ (truth.mean - prior.mean)
    Q = np.eye(prior.n) - P
    return float(np.trace(G.T @ G @ Q @ C @ Q) + np.sum((G @ Q @ d) ** 2))


def mask_formula(s: np.ndarray, m: int) -> float:
    r"""The statement of 10c: :math:`(1 - m/n)\sum_i s_i^2`."""
    return float((1.0 - m / s.size) * np.sum(s**2))


def _pair(n: int, seed: int) -> tuple[lininv.LinearInvertiblePrior, lininv.LinearInvertiblePrior]:
    gen = np.random.default_rng(seed)
    prior = lininv.LinearInvertiblePrior.from_singular_values(
        np.geomspace(1.0, 0.2, n), rng=gen, mean=gen.standard_normal(n)
    )
    truth = lininv.LinearInvertiblePrior(gen.standard_normal((n, n)), mean=gen.standard_normal(n))
    return prior, truth


def check_mismatch_identity(
    *,
    sizes: Sequence[tuple[int, int]] = ((6, 2), (10, 4)),
    identity: Callable[..., float] | None = None,
    draws: int = 2,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Check 10a by sampling signals from a truth, for fixed draws of ``A``.

    Signals :math:`x_0` from a random truth are measured and recovered with ``lininv.mle`` under
    the prior; their mean squared error is compared (``z`` standard errors) with
    ``identity(prior, A, truth)``, and ``lininv.conditional_error(..., truth=)`` (sums of
    squares) with it exactly (floating point).

    Parameters
    ----------
    sizes : sequence of (n, m)
    identity : callable (prior, A, truth) -> float, optional
        The claimed value; default :func:`mismatch_identity`. E.g. the matched formula
        ``lambda p, A, t: lininv.conditional_error(p, A)`` is false and must fail.
    draws : int, default=2
    precision : float, default=1.0
        Multiplies the signals sampled per ``A`` (base 20000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    identity = check_callable("identity", identity, mismatch_identity)
    draws = check_int("draws", draws, low=1)
    samples = scaled(20000, precision)
    evidence: list[Evidence] = []
    for n, m in sizes:
        n, m = check_int("n", n, low=2), check_int("m", m, low=1, high=n)
        prior, truth = _pair(n, int(gen.integers(2**31)))
        for d in range(draws):
            A = gen.standard_normal((m, n)) / math.sqrt(m)
            claimed = float(identity(prior, A, truth))
            x0 = truth.sample(samples, rng=gen)
            mean, se, t = mc_summary(np.sum((lininv.mle(prior, A, x0 @ A.T) - x0) ** 2, axis=1))
            label = f"n={n}, m={m}, A #{d + 1}"
            evidence.append(mc_equality(f"{label}: E ||x_hat - x0||^2", mean, se, t, claimed, z=z))
            exact = lininv.conditional_error(prior, A, truth=truth)
            # the textbook form inverts G and A G G^T A^T (condition numbers below 1e3 here)
            tol = fp_tol(n, max(abs(exact), abs(claimed)), factor=1e4)
            evidence.append(
                exact_equality(f"{label}: lininv.conditional_error(truth=)", exact, claimed, tol)
            )
    return StepResult(
        step="10a",
        name="mismatch_identity",
        title="Mismatch identity (dataset bias)",
        statement=(
            "For a fixed A, the MLE's error over signals from another Gaussian is a trace with "
            "the truth's covariance and mean whitened by the prior."
        ),
        formula="E ||x_hat - x0||^2 = tr(G^T G (I-P) C (I-P)) + ||G (I-P) d||^2",
        method=(
            f"{draws} draws of A per size; {samples} signals from a random truth each, pass if "
            f"within {z:g} SE; and lininv.conditional_error(truth=) equal within 1e4 n eps."
        ),
        evidence=tuple(evidence),
        seed=seed,
    )


def check_haar_equals_gaussian(
    *,
    sizes: Sequence[tuple[int, int]] = ((16, 4), (24, 10)),
    claimed_ratio: float = 1.0,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Check 10b: noiseless, Haar and Gaussian ``A`` give the same :math:`E(m)`.

    For a random dense prior and a random truth, two independent Monte-Carlo estimates
    (:func:`lininv.expected_error`, ``ensemble="gaussian"`` and ``"haar"``): their difference must
    be within ``z`` combined standard errors of ``(claimed_ratio - 1) * E_gaussian``. A
    ``claimed_ratio`` other than 1 is a false statement and must fail.

    Returns
    -------
    StepResult
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    trials = scaled(3000, precision, minimum=256)
    evidence: list[Evidence] = []
    for n, m in sizes:
        n, m = check_int("n", n, low=2), check_int("m", m, low=1, high=n)
        prior, truth = _pair(n, int(gen.integers(2**31)))
        for label, t in (("matched", None), ("mismatched truth", truth)):
            g = lininv.expected_error(
                prior, m, truth=t, trials=trials, rng=int(gen.integers(2**62))
            )
            h = lininv.expected_error(
                prior, m, truth=t, ensemble="haar", trials=trials, rng=int(gen.integers(2**62))
            )
            se = math.hypot(g.stderr, h.stderr)
            evidence.append(
                mc_equality(
                    f"n={n}, m={m}, {label}: E_haar - E_gaussian",
                    h.mean - g.mean,
                    se,
                    trials,
                    (claimed_ratio - 1.0) * g.mean,
                    z=z,
                    note="two independent estimates; combined standard error",
                )
            )
    return StepResult(
        step="10b",
        name="haar_equals_gaussian",
        title="Haar rows give the Gaussian expected error",
        statement=(
            "Without noise the MLE depends on A only through its row space, uniformly "
            "distributed for Gaussian and for Haar A: the expected errors are equal."
        ),
        formula="E_haar(m) = E_gaussian(m) (noiseless; any prior and truth)",
        method=f"{trials} draws per estimate; pass if within {z:g} combined SE.",
        evidence=tuple(evidence),
        seed=seed,
    )


def check_mask_formula(
    *,
    cases: Sequence[tuple[int, int]] = ((6, 2), (7, 3), (8, 5)),
    formula: Callable[[np.ndarray, int], float] | None = None,
    precision: float = 1.0,
    rng: Any = None,
) -> StepResult:
    r"""Check 10c exactly: the average over *all* masks of ``m`` coordinates, by enumeration.

    For a diagonal prior with random singular values, every subset of ``m`` coordinates is
    equally likely, so the mean of ``lininv.conditional_error`` over all :math:`\binom nm` masks
    is :math:`E(m)`; it must equal ``formula(s, m)`` (default :func:`mask_formula`) within
    floating point.

    Parameters
    ----------
    cases : sequence of (n, m)
        The sizes enumerated.
    formula : callable (s, m) -> float, optional
        The claimed closed form.
    precision : float, default=1.0
        Accepted (and validated) like every step's; the check is an exact enumeration, so it
        does not change the work.
    rng : None, int or numpy.random.Generator
        Draws the singular values.

    Returns
    -------
    StepResult
    """
    _, _, seed, gen = check_common(precision, Z_SE, rng)
    formula = check_callable("formula", formula, mask_formula)
    evidence: list[Evidence] = []
    for n, m in cases:
        n, m = check_int("n", n, low=2), check_int("m", m, low=1, high=n)
        s = np.sort(gen.uniform(0.2, 2.0, n))[::-1]
        prior = lininv.LinearInvertiblePrior.from_singular_values(s)  # G = diag(s)
        errors = [
            lininv.conditional_error(prior, lininv.mask_measurements(list(rows), n))
            for rows in itertools.combinations(range(n), m)
        ]
        value = math.fsum(errors) / len(errors)
        claimed = float(formula(s, m))
        evidence.append(
            exact_equality(
                f"n={n}, m={m}: mean over all {len(errors)} masks",
                value,
                claimed,
                fp_tol(n, max(abs(value), abs(claimed))),
                note="each error a sum of at most n squares; tolerance 8 n eps relative",
            )
        )
    return StepResult(
        step="10c",
        name="mask_formula",
        title="Random coordinate masks with a diagonal prior",
        statement=(
            "Each coordinate is observed with probability m/n and then recovered exactly; the "
            "unobserved ones keep their prior variance."
        ),
        formula="E(m) = (1 - m/n) sum_i s_i^2  (mask A, G = diag(s))",
        method="the exact mean over all C(n, m) masks; pass if equal within 8 n eps.",
        evidence=tuple(evidence),
        seed=seed,
    )
