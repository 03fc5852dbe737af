"""Estimators against cvxpy, dense formulas, each other, and 50-digit arithmetic."""

import cvxpy as cp
import mpmath
import numpy as np
import pytest
from helpers import EPS, assert_close, nudge, numerically_full_row_rank
from hypothesis import given

import lininv as L
from lininv._prior import haar_orthogonal
from lininv.strategies import inverse_problems, spectra


# rtol=1e-10 against the dense references below: they form Sigma (cond(G)^2 = 100 for the default
# _problem) and solve with A Sigma A^T, accurate to ~ cond n eps ~ 1e-13; 1e-10 leaves a factor of
# a thousand for the Gaussian A's own conditioning. The closed forms are more accurate than that.
def _problem(n=8, m=3, seed=0, cond=10.0):
    gen = np.random.default_rng(seed)
    s = nudge(np.logspace(0, -np.log10(cond), n))
    prior = L.LinearInvertiblePrior.from_singular_values(s, rng=gen, mean=gen.standard_normal(n))
    A = nudge(L.gaussian_measurements(m, n, rng=gen))
    x0 = nudge(prior.sample(1, rng=gen)[0])
    return prior, A, x0


def _dense_posterior_mean(prior, A, y, sigma):
    # Textbook formula with an explicit solve (fine in a test on well-conditioned inputs).
    S, mu = prior.covariance, prior.mean
    K = A @ S @ A.T + sigma**2 * np.eye(A.shape[0])
    return mu + S @ A.T @ np.linalg.solve(K, y - A @ mu)


@pytest.mark.parametrize("seed", range(4))
def test_mle_matches_cvxpy_qp(seed):
    prior, A, x0 = _problem(n=10, m=4, seed=seed)
    y = A @ x0
    # Constrained MLE as a convex QP in the latent variable: min ||z||^2 s.t. A (mu + G z) = y.
    z = cp.Variable(prior.n)
    cp.Problem(cp.Minimize(cp.sum_squares(z)), [A @ (prior.mean + prior.G @ z) == y]).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12
    )
    x_cvx = prior.mean + prior.G @ z.value
    # The criterion: 1e-6 relative (interior-point solutions are accurate to ~1e-8).
    x = L.mle(prior, A, y)
    assert np.linalg.norm(x - x_cvx) <= 1e-6 * np.linalg.norm(x_cvx)


def test_mle_matches_cvxpy_in_signal_space():
    prior, A, x0 = _problem(n=6, m=2, seed=11)
    y = A @ x0
    # max log p(x) s.t. Ax = y, i.e. min (x - mu)^T Sigma^{-1} (x - mu); an explicit inverse is
    # acceptable in a test on a well-conditioned Sigma (cond 100).
    P = np.linalg.inv(prior.covariance)
    x = cp.Variable(prior.n)
    cp.Problem(cp.Minimize(cp.quad_form(x - prior.mean, cp.psd_wrap(P))), [A @ x == y]).solve(
        solver=cp.CLARABEL
    )
    assert np.linalg.norm(L.mle(prior, A, y) - x.value) <= 1e-6 * np.linalg.norm(x.value)


def test_mle_dense_formula_and_batch():
    prior, A, x0 = _problem(seed=1)
    Y = prior.sample(5, rng=3) @ A.T
    X = L.mle(prior, A, Y)
    assert X.shape == (5, prior.n)
    for x, y in zip(X, Y, strict=True):
        assert_close(x, _dense_posterior_mean(prior, A, y, 0.0), rtol=1e-10)
        assert_close(L.mle(prior, A, y), x)


@given(inverse_problems(with_mean=True))
def test_mle_satisfies_the_constraint(problem):
    prior, A = problem
    x0 = prior.sample(1, rng=0)[0]
    y = A @ x0
    if not numerically_full_row_rank(prior, A):
        with pytest.raises(ValueError, match="full row rank"):
            L.mle(prior, A, y)
        return
    x = L.mle(prior, A, y)
    # Backward-stable min-norm solve: ||A x - y|| <~ eps ||A G|| ||z_hat|| (+ rounding of mu);
    # the constant allows for m, n <= 64 and the product A @ mean.
    z_hat = prior.to_latent(x)
    scale = np.linalg.norm(A @ prior.G, 2) * np.linalg.norm(z_hat) + np.linalg.norm(A, 2) * (
        np.linalg.norm(prior.mean) + np.linalg.norm(x)
    )
    assert np.linalg.norm(A @ x - y) <= 100 * prior.n * EPS * scale


@pytest.mark.parametrize("seed", range(2))
def test_map_estimate_is_latent_ridge_with_gamma_sigma2(seed):
    prior, A, x0 = _problem(n=9, m=5, seed=seed)
    y = A @ x0 + 0.3 * np.random.default_rng(seed).standard_normal(5)
    sigma = 0.3
    a = L.map_estimate(prior, A, y, sigma)
    assert_close(a, L.latent_ridge(prior, A, y, sigma**2))
    assert_close(a, _dense_posterior_mean(prior, A, y, sigma), rtol=1e-10)
    assert_close(L.map_estimate(prior, A, y, 0.0), L.mle(prior, A, y))


def test_map_estimate_overdetermined():
    prior, A, x0 = _problem(n=4, m=7, seed=2)
    y = A @ x0 + 0.1
    assert_close(
        L.map_estimate(prior, A, y, 0.2), _dense_posterior_mean(prior, A, y, 0.2), rtol=1e-10
    )


def test_latent_ridge_matches_cvxpy():
    prior, A, x0 = _problem(n=7, m=3, seed=4)
    y = A @ x0
    z = cp.Variable(prior.n)
    gamma = 0.05
    resid = A @ (prior.mean + prior.G @ z) - y
    cp.Problem(cp.Minimize(cp.sum_squares(resid) + gamma * cp.sum_squares(z))).solve(
        solver=cp.CLARABEL
    )
    x_cvx = prior.mean + prior.G @ z.value
    assert np.linalg.norm(L.latent_ridge(prior, A, y, gamma) - x_cvx) <= 1e-6 * np.linalg.norm(
        x_cvx
    )


def test_latent_ridge_tends_to_mle():
    prior, A, x0 = _problem(n=8, m=3, seed=5)
    y = A @ x0
    x_mle = L.mle(prior, A, y)
    gaps = [np.linalg.norm(L.latent_ridge(prior, A, y, g) - x_mle) for g in (1e-2, 1e-4, 1e-6)]
    # Ridge bias is linear in gamma for small gamma: each factor-100 step shrinks the gap ~100x.
    assert gaps[0] > 0
    assert_close(np.array(gaps[1:]) / np.array(gaps[:-1]), [1e-2, 1e-2], rtol=0.05)


def test_gradient_descent_converges_to_init_dependent_limit():
    prior, A, x0 = _problem(n=6, m=3, seed=6, cond=3.0)
    y = A @ x0
    z_init = np.random.default_rng(1).standard_normal(6) * 5
    run = L.latent_gradient_descent(prior, A, y, z_init, steps=4000)
    limit = L.gradient_descent_limit(prior, A, y, z_init)
    # Convergence rate (1 - (d_min/d_max)^2)^t; 4000 steps drive the gap below 1e-10 here.
    assert np.linalg.norm(run.z - limit) <= 1e-9 * np.linalg.norm(limit)
    assert np.all(np.diff(run.loss) <= 1e-12 * run.loss[0])  # monotone descent
    # The limit is z_hat + (I - P) z_init: dense check with the pseudo-inverse.
    B = A @ prior.G
    Bp = np.linalg.pinv(B)
    ref = Bp @ (y - A @ prior.mean) + (np.eye(6) - Bp @ B) @ z_init
    assert_close(limit, ref, rtol=1e-10)
    # From z_init = 0 the limit is the MLE: regularisation by initialisation.
    assert_close(
        prior.to_signal(L.gradient_descent_limit(prior, A, y, np.zeros(6))),
        L.mle(prior, A, y),
        rtol=1e-10,
    )


def test_gradient_descent_with_gamma_finds_ridge():
    prior, A, x0 = _problem(n=5, m=2, seed=7, cond=2.0)
    y = A @ x0
    run = L.latent_gradient_descent(prior, A, y, np.full(5, 10.0), steps=3000, gamma=0.5)
    # Linear convergence at rate <= 1 - gamma / (||B||^2 + gamma) per step: 3000 steps are far
    # below 1e-12 here; 1e-9 is the iteration's rounding floor with margin.
    assert_close(run.x, L.latent_ridge(prior, A, y, 0.5), rtol=1e-9)


def test_error_grows_with_init_norm_at_gamma_zero():
    prior, A, x0 = _problem(n=10, m=4, seed=8)
    y = A @ x0
    direction = np.random.default_rng(3).standard_normal(10)
    errs = []
    for norm in (0.0, 1.0, 10.0, 100.0):
        z = L.gradient_descent_limit(prior, A, y, norm * direction / np.linalg.norm(direction))
        errs.append(np.sum((prior.to_signal(z) - x0) ** 2))
    assert np.all(np.diff(errs[1:]) > 0)


@pytest.mark.parametrize("formulation,factor", [("latent", 1.0), ("signal", 0.5)])
def test_denoise_formulations(formulation, factor):
    prior, _, x0 = _problem(n=6, seed=9)
    y = x0 + 0.2 * np.random.default_rng(0).standard_normal(6)
    gamma = 0.3
    S = prior.covariance
    ref = prior.mean + S @ np.linalg.solve(S + factor * gamma * np.eye(6), y - prior.mean)
    assert_close(L.denoise(prior, y, gamma, formulation=formulation), ref, rtol=1e-10)


def test_denoise_latent_is_latent_ridge_with_identity():
    prior, _, x0 = _problem(n=6, seed=10)
    assert_close(L.denoise(prior, x0, 0.4), L.latent_ridge(prior, np.eye(6), x0, 0.4), rtol=1e-10)


def test_denoise_signal_minimises_its_objective():
    prior, _, x0 = _problem(n=5, seed=12)
    y = x0 + 0.1
    gamma = 0.7
    x = L.denoise(prior, y, gamma, formulation="signal")
    # Gradient of ||x - y||^2 - gamma log p(x) is 2(x - y) + gamma Sigma^{-1}(x - mu).
    grad = 2 * (x - y) + gamma * np.linalg.solve(prior.covariance, x - prior.mean)
    assert np.linalg.norm(grad) <= 1e-10 * (np.linalg.norm(y) + 1)


def test_mle_at_condition_1e12_matches_mpmath_as_well_as_lstsq():
    """cond(G) = 1e12: mle against a 50-digit solution, compared with numpy.linalg.lstsq."""
    mpmath.mp.dps = 50
    n, m, instances = 12, 5, 24
    ours, theirs, cond_b = [], [], []
    for seed in range(instances):
        gen = np.random.default_rng(seed)
        s = np.logspace(0, -12, n)
        G = nudge((haar_orthogonal(n, gen) * s) @ haar_orthogonal(n, gen).T)
        A = nudge(L.gaussian_measurements(m, n, rng=gen))
        y = nudge(gen.standard_normal(m))
        Gm, Am = mpmath.matrix(G.tolist()), mpmath.matrix(A.tolist())
        B = Am * Gm
        ref = Gm * (B.T * mpmath.lu_solve(B * B.T, mpmath.matrix(y.tolist())))
        ref = np.array([float(v) for v in ref])
        x_ours = L.mle(L.LinearInvertiblePrior(G), A, y)
        z, *_ = np.linalg.lstsq(A @ G, y, rcond=None)
        ours.append(np.linalg.norm(x_ours - ref) / np.linalg.norm(ref))
        theirs.append(np.linalg.norm(G @ z - ref) / np.linalg.norm(ref))
        cond_b.append(np.linalg.cond(A @ G))
    ours, theirs, cond_b = np.array(ours), np.array(theirs), np.array(cond_b)
    # Both solve the consistent system (A G) z = y for its minimum-norm z through an SVD: backward
    # stable, so by first-order perturbation theory their relative errors are at most about
    # 2 cond(A G) times the backward error, ~ n eps (cond(A G) ~ 1e4-1e6 here; a normal-equations
    # solve would err by eps cond(A G)^2, ~1e-5). These are per-instance constants times rounding
    # that differs between CPUs, so they are judged in aggregate (never instance by instance):
    # the worst case against that bound, and the typical (geometric-mean) error against
    # eps cond(A G) itself, rounding errors adding up like a random walk rather than in the worst case.
    scaled = ours / (EPS * cond_b)
    assert scaled.max() <= 2 * n
    assert np.exp(np.mean(np.log(scaled))) <= 1.0
    # "As well as lstsq": the mean log-ratio of the two errors is not above zero by more than
    # 3 of its standard errors over the instances (it is ~ -1 here: mle is usually better).
    log_ratio = np.log(ours / theirs)
    assert log_ratio.mean() <= 3 * log_ratio.std(ddof=1) / np.sqrt(instances)


@given(spectra(max_n=16))
def test_estimators_are_invariant_to_V(s):
    # p_G depends on G only through Sigma: priors differing in V give the same estimates.
    a = L.LinearInvertiblePrior.from_singular_values(s, rng=1)
    b = L.LinearInvertiblePrior._from_factors(
        a.left_singular_vectors, a.singular_values, np.eye(s.size), a.mean
    )
    A = L.gaussian_measurements(max(1, s.size // 2), s.size, rng=2)
    y = A @ a.sample(1, rng=3)[0]
    xa, xb = L.latent_ridge(a, A, y, 1e-3 * s[0] ** 2), L.latent_ridge(b, A, y, 1e-3 * s[0] ** 2)
    # Both use the same factor U diag(s): identical arithmetic.
    assert_close(xa, xb)


def test_low_rank_mle_is_least_squares_latent_fit():
    gen = np.random.default_rng(13)
    Gk = gen.standard_normal((8, 3))
    lr = L.LowRankPrior(Gk, mean=np.ones(8))
    A = L.gaussian_measurements(5, 8, rng=gen)
    x0 = gen.standard_normal(8)
    y = A @ x0
    z, *_ = np.linalg.lstsq(A @ Gk, y - A @ np.ones(8), rcond=None)
    # Two backward-stable least-squares solves of a well-conditioned 5 x 3 problem: ~1e-14 apart.
    assert_close(L.mle(lr, A, y), np.ones(8) + Gk @ z, rtol=1e-10)
    # Signals in the range are recovered exactly once m >= k.
    xr = lr.sample(1, rng=1)[0]
    assert_close(L.mle(lr, A, A @ xr), xr, rtol=1e-10)
