"""Exact errors for a given A: dense formulas, Monte Carlo over x0, 60-digit arithmetic."""

import mpmath
import numpy as np
import pytest
from helpers import EPS, assert_close, nudge, numerically_full_row_rank
from hypothesis import assume, given
from scipy import optimize

import lininv as L
from lininv.strategies import inverse_problems, spectra


def _dense_error(prior, A, sigma):
    S = prior.covariance
    K = A @ S @ A.T + sigma**2 * np.eye(A.shape[0])
    return np.trace(S) - np.trace(S @ A.T @ np.linalg.solve(K, A @ S))


@pytest.mark.parametrize("sigma", [0.0, 0.05, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_conditional_error_matches_dense_formula(seed, sigma):
    gen = np.random.default_rng(seed)
    prior = L.LinearInvertiblePrior.from_singular_values(
        gen.uniform(0.5, 2, 7), rng=gen, mean=np.ones(7)
    )
    A = nudge(L.gaussian_measurements(3, 7, rng=gen))
    # Well-conditioned (cond(Sigma) <= 16): the dense trace difference is accurate to ~1e-13.
    assert_close(L.conditional_error(prior, A, sigma), _dense_error(prior, A, sigma), rtol=1e-11)


@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_conditional_error_matches_monte_carlo_over_x0(sigma):
    gen = np.random.default_rng(42)
    prior = L.LinearInvertiblePrior.from_singular_values(
        1 / np.arange(1, 11), rng=gen, mean=np.arange(10.0)
    )
    A = L.gaussian_measurements(4, 10, rng=gen)
    N = 20000
    x0 = prior.sample(N, rng=gen)
    y = x0 @ A.T + sigma * gen.standard_normal((N, 4))
    err = np.sum((L.map_estimate(prior, A, y, sigma) - x0) ** 2, axis=1)
    se = err.std(ddof=1) / np.sqrt(N)
    assert abs(err.mean() - L.conditional_error(prior, A, sigma)) < 5 * se


@pytest.mark.parametrize("seed", range(6))
def test_conditional_error_at_condition_1e12_against_mpmath(seed):
    gen = np.random.default_rng(seed)
    s = nudge(np.logspace(0, -12, 10))
    prior = L.LinearInvertiblePrior.from_singular_values(s, rng=gen)
    A = nudge(L.gaussian_measurements(4, 10, rng=gen))
    mpmath.mp.dps = 60
    C, Am = mpmath.matrix(prior.factor.tolist()), mpmath.matrix(A.tolist())
    S = C * C.T
    for sigma in (0.0, 1e-7):
        K = Am * S * Am.T + sigma**2 * mpmath.eye(4)
        M = S * Am.T * mpmath.inverse(K) * Am * S
        ref = float(sum(S[i, i] - M[i, i] for i in range(10)))
        # The error (~1e-10) is 1e-10 of tr(Sigma): a trace difference would lose ~10 digits;
        # the sum of non-negative terms keeps relative accuracy ~ n eps (seen: <= 5e-15).
        assert_close(L.conditional_error(prior, A, sigma), ref, rtol=1e-12)


@given(inverse_problems(min_m=1))
def test_lower_bound_holds_for_every_draw(problem):
    prior, A = problem
    m = A.shape[0]
    if not numerically_full_row_rank(prior, A):
        with pytest.raises(ValueError, match="full row rank"):
            L.conditional_error(prior, A)
        return
    # Eckart-Young holds per draw; the computed error is accurate to ~ n eps relative.
    exact = L.conditional_error(prior, A)
    assert exact >= L.lower_bound(prior.singular_values, m) * (1 - 100 * prior.n * EPS)


@given(inverse_problems(max_n=20, min_m=1))
def test_noise_increases_the_error(problem):
    prior, A = problem
    assume(numerically_full_row_rank(prior, A))
    e0 = L.conditional_error(prior, A)
    e1 = L.conditional_error(prior, A, 1e-3 * prior.singular_values[0])
    assert e1 >= e0 * (1 - 100 * prior.n * EPS)
    assert e1 <= np.sum(prior.singular_values**2) * (1 + 100 * prior.n * EPS)


def test_signal_error_matches_direct_computation_and_vanishes_at_m_equal_n():
    gen = np.random.default_rng(5)
    prior = L.LinearInvertiblePrior.from_singular_values(
        gen.uniform(0.1, 1, 8), rng=gen, mean=gen.standard_normal(8)
    )
    x0 = 10 * gen.standard_normal((3, 8))  # far from the prior: out of distribution
    A = L.gaussian_measurements(5, 8, rng=gen)
    direct = np.sum((L.mle(prior, A, x0 @ A.T) - x0) ** 2, axis=1)
    assert_close(L.signal_error(prior, A, x0), direct, rtol=1e-10)
    # m = n: zero representation error, any signal is recovered (to rounding, ~eps^2 |x0|^2).
    full = L.gaussian_measurements(8, 8, rng=gen)
    assert np.all(L.signal_error(prior, full, x0) <= 1e-24 * np.sum(x0**2, axis=1))


def test_signal_error_average_is_conditional_error():
    gen = np.random.default_rng(6)
    prior = L.LinearInvertiblePrior.from_singular_values([3.0, 2.0, 1.0, 0.5, 0.1], rng=gen)
    A = L.gaussian_measurements(2, 5, rng=gen)
    e = L.signal_error(prior, A, prior.sample(20000, rng=gen))
    assert abs(e.mean() - L.conditional_error(prior, A)) < 5 * e.std(ddof=1) / np.sqrt(e.size)


def test_low_rank_generator_has_a_floor():
    gen = np.random.default_rng(7)
    prior = L.LinearInvertiblePrior.from_singular_values(1 / np.arange(1, 13), rng=gen)
    lr = L.LowRankPrior.from_prior(prior, 4)
    x0 = prior.sample(50, rng=gen)
    floor = lr.representation_error(x0)
    for m in (4, 8, 12):
        A = L.gaussian_measurements(m, 12, rng=gen)
        err = L.signal_error(lr, A, x0)
        assert np.all(err >= floor * (1 - 1e-10))
        if m == 12:
            assert np.all(L.signal_error(prior, A, x0) <= 1e-20)
            assert np.mean(err) > 0.5 * np.mean(floor)


# The dense reference forms Sigma and solves with it, so its accuracy is ~ cond(Sigma) eps;
# cond(G) <= 1e4 keeps that below 1e-8.
@given(spectra(max_n=20, max_condition=1e4))
def test_denoising_error_against_dense_and_optimum(s):
    sigma = 0.3 * s[0]
    prior = L.LinearInvertiblePrior.from_singular_values(s, rng=0)
    S = prior.covariance
    for formulation, factor in (("latent", 1.0), ("signal", 0.5)):
        gamma = 0.7 * sigma**2
        g = factor * gamma
        # E||F y - x0||^2 with F = Sigma (Sigma + g I)^{-1}: tr((F - I) S (F - I)^T) + sigma^2 tr(F F^T).
        F = S @ np.linalg.solve(S + g * np.eye(s.size), np.eye(s.size))
        I = np.eye(s.size)
        dense = np.trace((F - I) @ S @ (F - I).T) + sigma**2 * np.trace(F @ F.T)
        ours = L.denoising_error(s, sigma, gamma, formulation=formulation)
        # The dense route's absolute error is ~ cond(Sigma) eps tr(Sigma) (factor 10 for n <= 20).
        cond = (s[0] / s[-1]) ** 2
        assert abs(ours - dense) <= 10 * cond * EPS * np.sum(s**2) + 1e-12 * ours
        best = L.optimal_denoising_gamma(sigma, formulation=formulation)
        res = optimize.minimize_scalar(
            lambda lg, f=formulation: L.denoising_error(s, sigma, np.exp(lg), formulation=f),
            bracket=(np.log(best) - 1, np.log(best) + 1),
            tol=1e-10,
        )
        assert L.denoising_error(s, sigma, best, formulation=formulation) <= res.fun * (1 + 1e-12)
        wiener = np.sum(sigma**2 * s**2 / (s**2 + sigma**2))
        assert_close(L.denoising_error(s, sigma, best, formulation=formulation), wiener, rtol=1e-12)


def test_denoising_error_by_monte_carlo():
    gen = np.random.default_rng(8)
    prior = L.LinearInvertiblePrior.from_singular_values(
        [2.0, 1.0, 0.3, 0.1], rng=gen, mean=np.ones(4)
    )
    sigma, gamma = 0.4, 0.5
    N = 40000
    x0 = prior.sample(N, rng=gen)
    y = x0 + sigma * gen.standard_normal(x0.shape)
    for formulation in ("latent", "signal"):
        err = np.sum((L.denoise(prior, y, gamma, formulation=formulation) - x0) ** 2, axis=1)
        exact = L.denoising_error(prior.singular_values, sigma, gamma, formulation=formulation)
        assert abs(err.mean() - exact) < 5 * err.std(ddof=1) / np.sqrt(N)
