"""Steps 10a-10c pass on the true statements and fail on deliberately wrong ones."""

import numpy as np

import lininv
import proofs_numeric as pn


def test_the_mismatch_identity_holds_and_the_matched_formula_fails_under_a_truth():
    assert pn.check_mismatch_identity(rng=0, precision=0.5).passed
    wrong = pn.check_mismatch_identity(
        rng=0, precision=0.5, identity=lambda prior, A, truth: lininv.conditional_error(prior, A)
    )
    assert not wrong.passed and wrong.failures


def test_haar_equals_gaussian_and_a_two_percent_difference_is_refuted():
    assert pn.check_haar_equals_gaussian(rng=1, precision=0.5).passed
    assert not pn.check_haar_equals_gaussian(rng=1, precision=0.5, claimed_ratio=1.03).passed


def test_the_mask_formula_is_exact_and_a_wrong_factor_fails():
    assert pn.check_mask_formula(rng=2).passed
    # the formula with m/(n - 1) in place of m/n: wrong by O(1/n), far beyond floating point
    wrong = pn.check_mask_formula(rng=2, formula=lambda s, m: (1 - m / (s.size - 1)) * np.sum(s**2))
    assert not wrong.passed


def test_the_new_steps_are_registered_by_label_and_name():
    assert [s.step for s in pn.select_steps(["10"])] == ["10a", "10b", "10c"]
    assert [s.name for s in pn.select_steps(["mask_formula"])] == ["mask_formula"]
