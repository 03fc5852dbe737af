"""The public hypothesis strategies draw what they promise."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lininv as L
from lininv.strategies import (
    FAMILIES,
    inverse_problems,
    measurement_matrices,
    priors,
    spectra,
    spectrum_from_family,
)


@given(spectra(min_n=3, max_n=20, max_condition=1e8))
def test_spectra_are_valid(s):
    assert 3 <= s.size <= 20
    assert np.all(s > 0) and np.all(np.diff(s) <= 0)
    # Condition number at most 1e8 (up to rounding of exp/log, ~1e-13 relative).
    assert s[0] / s[-1] <= 1e8 * (1 + 1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_condition_number_is_exact(family):
    s = spectrum_from_family(family, 17, 1e12, 0.3)
    expected = 1.0 if family == "flat" else 1e12
    # bitwise: s_1 is exp(-0.0) or 1.0: C99 Annex F special values, log(1) = +0, exp(-0) = 1
    assert s[0] == 1.0
    assert abs(s[0] / s[-1] / expected - 1) < 1e-12


def test_extreme_conditions_are_drawn():
    # The strategy pins some examples at the maximal condition number: ill-conditioned inputs are
    # tested, not avoided.
    seen = []

    @given(spectra(max_condition=1e12, families=("exponential",), scale=False))
    def collect(s):
        seen.append(s[0] / s[-1])

    collect()
    assert max(seen) >= 1e12 * (1 - 1e-9)


@given(priors(with_mean=True, spectrum=spectra(max_n=8)))
def test_priors_are_priors(prior):
    assert isinstance(prior, L.LinearInvertiblePrior)
    assert np.any(prior.mean != 0)


@given(st.integers(2, 12).flatmap(lambda n: measurement_matrices(n, kind="mask")))
def test_mask_matrices_select_rows_of_the_identity(A):
    assert np.all(A.sum(axis=1) == 1) and np.all(A.sum(axis=0) <= 1)


@given(inverse_problems(max_n=10, min_m=2))
def test_inverse_problems_are_compatible(problem):
    prior, A = problem
    assert 2 <= A.shape[0] <= prior.n == A.shape[1]


from lininv.strategies import ensembles, truths  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(priors(spectrum=spectra(min_n=3, max_n=10, max_condition=1e3, scale=False)), st.data())
def test_truths_and_ensembles_give_problems_the_exact_error_answers(prior, data):
    truth = data.draw(truths(prior.n, max_condition=1e3))
    assert truth.n == prior.n
    A = data.draw(measurement_matrices(prior.n, kind=data.draw(ensembles()), max_m=prior.n - 1))
    assert A.shape[1] == prior.n and np.all(np.isfinite(A))
    B = A @ prior.G
    sv = np.linalg.svd(B, compute_uv=False)
    if sv[-1] < 1e-6 * sv[0]:
        return  # a dependent draw (Rademacher, DCT rows): the noiseless error is refused
    # the textbook formula with explicit inverses; cond(A Sigma A^T) <= (1e3 cond(A))^2, so the
    # dense reference is accurate to ~1e-16 * 1e6 * cond(A)^2, within 1e-6 relative here
    S = prior.covariance
    M = truth.factor @ truth.factor.T + np.outer(truth.mean - prior.mean, truth.mean - prior.mean)
    T = np.eye(prior.n) - S @ A.T @ np.linalg.solve(A @ S @ A.T, A)
    ref = float(np.trace(T @ M @ T.T))
    ours = L.conditional_error(prior, A, truth=truth)
    assert abs(ours - ref) <= 1e-6 * max(ref, 1e-300) * (sv[0] / sv[-1]) ** 2


@settings(max_examples=60, deadline=None)
@given(inverse_problems(max_n=32))
def test_inverse_problems_are_noiselessly_solvable_by_default(problem):
    # The README's property-test example relies on this: every default draw is accepted by the
    # noiseless error (A G numerically of full row rank, with the strategy's margin).
    prior, A = problem
    assert np.isfinite(L.conditional_error(prior, A))
