"""Bounds and predictions: hand values, high precision, Monte Carlo, and the sandwich."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from helpers import EPS, assert_close, assert_quoted, nudge
from hypothesis import given
from hypothesis import strategies as st

import lininv as L
from lininv.strategies import spectra


def test_hand_values():
    s = [3.0, 2.0, 1.0, 0.5]  # s^2 = 9, 4, 1, 0.25
    # bitwise: squares and sums of 3, 2, 1, 0.5 are exact in binary
    assert L.lower_bound(s, 2) == 1.25
    assert L.lower_bound(s[::-1], 4) == 0.0  # bitwise: a sum over no terms is 0; any order
    # bitwise: squares and sums of 3, 2, 1, 0.5 are exact in binary
    assert L.paper_upper_bound(s, 3) == 3 * (4 + 1 + 0.25)
    # k = 0: 14.25; k = 1: (1 + 1/1) * 5.25 = 10.5 -> minimum at k = 1.
    # bitwise: exact in binary: (1 + 1/1) * 5.25 and the sums of squares
    assert L.hmt_upper_bound(s, 3) == L.HMTBound(10.5, 1)
    # bitwise: exact in binary: sums of squares of 3, 2, 1, 0.5
    assert L.hmt_upper_bound(s, 2) == L.HMTBound(14.25, 0)


def test_lower_bound_is_exact_in_rationals():
    s = 1 / np.sqrt(np.arange(1, 257))
    exact = sum(Fraction(1, i) for i in range(65, 257))
    # Tail accumulated from the small end: relative error ~ n eps.
    assert_close(L.lower_bound(s, 64), float(exact), rtol=256 * EPS)


@given(spectra(), st.integers(2, 64))
def test_bound_ordering(s, m):
    m = min(m, s.size)
    lo, pred, hmt = L.lower_bound(s, m), L.predicted_error(s, m), L.hmt_upper_bound(s, m)
    paper = L.paper_upper_bound(s, m)
    tol = 1e-12  # all are sums of at most 64 positive terms; the root finder is accurate to 1e-15
    assert lo <= pred * (1 + tol)
    assert pred <= hmt.value * (1 + tol)
    assert hmt.value <= paper * (m - 1) / m * (1 + tol)
    # The elementary sandwich: lambda m <= min_l (1 + l/(m - l)) sum_{i>l} s_i^2.
    tails = np.cumsum((s**2)[::-1])[::-1]
    sandwich = min((1 + l / (m - l)) * tails[l] for l in range(m))
    assert pred <= sandwich * (1 + tol)


def _mp_lambda(s, m, sigma=0.0):
    mpmath.mp.dps = 50
    s2 = [mpmath.mpf(float(v)) ** 2 for v in s]

    def df(k):
        return sum(v / (v + k) for v in s2)

    if sigma == 0:
        f = lambda k: df(k) - m  # noqa: E731
        start = L.predicted_error(s, m) / m
    else:
        sig2 = mpmath.mpf(sigma) ** 2
        f = lambda k: k * (1 - df(k) / m) - sig2  # noqa: E731
        start = L.predicted_error(s, m, sigma) / m + sigma**2
    k = mpmath.findroot(f, mpmath.mpf(start))
    return float(sum(k * v / (v + k) for v in s2))


@pytest.mark.parametrize(
    "s,m,sigma",
    [
        (1 / np.sqrt(np.arange(1, 257)), 64, 0.0),
        (1 / np.sqrt(np.arange(1, 257)), 64, 0.1),
        (np.logspace(0, -12, 30), 5, 0.0),
        (np.logspace(0, -12, 30), 5, 1e-5),
        (np.array([5.0, 1.0, 1.0, 1.0, 1.0]), 1, 0.0),
        (np.array([1.0, 0.5]), 3, 0.2),  # noisy, m > n
    ],
)
def test_predicted_error_against_50_digit_root(s, m, sigma):
    s = nudge(s)
    # Brent's method to ~1e-15 on a well-conditioned scalar equation; the error formula has no
    # cancellation. 1e-12 leaves room for the sum's rounding.
    assert_close(L.predicted_error(s, m, sigma), _mp_lambda(s, m, sigma), rtol=1e-12)


def test_predicted_error_reference_numbers_from_theory_md():
    s = 1 / np.sqrt(np.arange(1, 257))
    # Reference values quoted to 4 decimals: lambda m = 2.3102 (docs/theory.md, the table of
    # section 6) and, at sigma = 0.1, m (kappa - sigma^2) = 2.6179 (pinned here; the same root at 50 digits
    # is checked by test_predicted_error_against_50_digit_root).
    # assert_quoted allows half a unit of the last quoted digit plus the computation's own
    # rounding (1e-12 relative, as in test_predicted_error_against_50_digit_root), so a value at
    # a rounding boundary does not hinge on its last bits as round(x, 4) == 2.3102 would.
    assert_quoted(L.predicted_error(s, 64), "2.3102")
    assert_quoted(L.predicted_error(s, 64, 0.1), "2.6179")
    assert_quoted(L.hmt_upper_bound(s, 64).value, "3.68")
    assert_quoted(L.paper_upper_bound(s, 64), "90.4")


def test_flat_spectrum_prediction_is_exact():
    for n, m in ((10, 1), (10, 9), (64, 16)):
        assert_close(L.predicted_error(np.full(n, 2.0), m), 4.0 * (n - m), rtol=1e-13)
    # bitwise: m = n sets lambda = 0, and 0 * t / (t + 0) sums to 0
    assert L.predicted_error(np.ones(5), 5) == 0.0


def test_noisy_prediction_tends_to_noiseless_and_grows_with_noise():
    s = np.logspace(0, -3, 40)
    base = L.predicted_error(s, 10)
    vals = [L.predicted_error(s, 10, sig) for sig in (1e-9, 1e-4, 1e-2, 1e-1)]
    assert_close(vals[0], base, rtol=1e-9)  # the first-order change in sigma^2 is ~1e-18
    assert np.all(np.diff(vals) > 0)


def test_degrees_of_freedom():
    assert_close(L.degrees_of_freedom([1.0, 2.0, 3.0], 0.0), 3.0)
    s = np.logspace(0, -2, 20)
    lam = L.predicted_error(s, 7) / 7
    assert_close(L.degrees_of_freedom(s, lam), 7.0, rtol=1e-12)


def test_exact_error_m1_closed_forms():
    for s1, s2 in ((2.0, 0.5), (1.0, 1.0), (1e6, 1e-6), (7.0, 3.0)):
        # n = 2: E(1) = s1 s2.
        assert_close(L.exact_error_m1([s1, s2]), s1 * s2, rtol=1e-9)
    for n in (2, 5, 30):
        assert_close(L.exact_error_m1(np.full(n, 3.0)), 9.0 * (n - 1), rtol=1e-9)
    assert L.exact_error_m1([4.0]) == 0.0  # bitwise: n = 1 returns 0.0 without arithmetic


@pytest.mark.parametrize(
    "s",
    [np.array([3.0, 1.0, 0.2]), np.logspace(0, -12, 6), np.array([1.0, 0.99, 0.5, 1e-3])],
)
def test_exact_error_m1_against_mpmath_quadrature(s):
    s = nudge(s)
    mpmath.mp.dps = 30
    s2 = [mpmath.mpf(float(v)) ** 2 for v in s]
    tr = sum(s2)

    def integrand(t):
        prod = mpmath.fprod(1 / mpmath.sqrt(1 + 2 * t * v) for v in s2)
        return sum((tr - v) * v / (1 + 2 * t * v) for v in s2) * prod

    breaks = sorted([mpmath.mpf(0)] + [1 / (2 * v) for v in s2] + [mpmath.inf])
    ref = float(mpmath.quad(integrand, breaks))
    # quad at relative tolerance 1e-11 per segment.
    assert_close(L.exact_error_m1(s), ref, rtol=1e-9)


def test_exact_error_m1_against_monte_carlo():
    gen = np.random.default_rng(0)
    s = np.array([2.0, 1.0, 0.7, 0.1, 0.05])
    N = 200000
    omega = gen.standard_normal((N, s.size))
    y = s * omega  # Y = S omega, one column
    # ||(I - P_Y) S||_F^2 = tr(S^2) - |S y|^2 / |y|^2.
    err = np.sum(s**2) - np.sum((s * y) ** 2, axis=1) / np.sum(y**2, axis=1)
    se = err.std(ddof=1) / np.sqrt(N)
    assert abs(err.mean() - L.exact_error_m1(s)) < 5 * se
