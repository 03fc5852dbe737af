"""LinearInvertiblePrior and LowRankPrior: constructors, attributes, density, maps."""

import mpmath
import numpy as np
import pytest
from helpers import EPS, assert_close, nudge
from hypothesis import given
from scipy import integrate, stats

from lininv import LinearInvertiblePrior, LowRankPrior
from lininv.strategies import priors, spectra


def _random_G(n, seed):
    return np.random.default_rng(seed).standard_normal((n, n)) + 3 * np.eye(n)


def test_svd_factors_reproduce_G():
    G = _random_G(6, 0)
    prior = LinearInvertiblePrior(G)
    assert prior.n == 6
    assert np.all(np.diff(prior.singular_values) <= 0)
    # Factor reproduces the matrix: backward stable SVD, error ~ n eps ||G||.
    rebuilt = (prior.left_singular_vectors * prior.singular_values) @ prior._Vt
    assert_close(rebuilt, G, atol=50 * EPS * np.linalg.norm(G, 2), rtol=0)
    assert_close(prior.covariance, G @ G.T, atol=50 * EPS * np.linalg.norm(G, 2) ** 2, rtol=0)
    sign, logdet = np.linalg.slogdet(G)
    assert_close(prior.log_abs_det, logdet)


def test_from_singular_values_identity_and_random_factors():
    s = [0.5, 3.0, 1.0]
    plain = LinearInvertiblePrior.from_singular_values(s)
    assert_close(plain.G, np.diag([3.0, 1.0, 0.5]))
    rot = LinearInvertiblePrior.from_singular_values(s, rng=7)
    assert_close(np.linalg.svd(rot.G, compute_uv=False), [3.0, 1.0, 0.5])
    assert not np.allclose(rot.G, np.diag(rot.singular_values))
    # Same seed, same factors: results depend on the seed alone.
    assert_close(rot.G, LinearInvertiblePrior.from_singular_values(s, rng=7).G)


def test_haar_factors_are_orthogonal_and_unbiased():
    # E[U] = 0 for Haar U; average of 2000 draws of a 3x3 entry has sd 1/sqrt(3 * 2000) ~ 0.013.
    from lininv._prior import haar_orthogonal

    gen = np.random.default_rng(1)
    draws = np.array([haar_orthogonal(3, gen) for _ in range(2000)])
    assert_close(draws[0].T @ draws[0], np.eye(3), atol=10 * EPS)
    assert np.all(np.abs(draws.mean(axis=0)) < 5 * np.sqrt(1 / (3 * 2000)))


def test_from_covariance_round_trip():
    G = _random_G(5, 2)
    Sigma = G @ G.T
    prior = LinearInvertiblePrior.from_covariance(Sigma, mean=np.ones(5))
    # eigh is backward stable: error ~ n eps ||Sigma||.
    assert_close(prior.covariance, Sigma, atol=50 * EPS * np.linalg.norm(Sigma, 2), rtol=0)
    x = np.arange(5.0)
    assert_close(prior.log_prob(x), LinearInvertiblePrior(G, mean=np.ones(5)).log_prob(x))


def test_fit_is_the_maximum_likelihood_gaussian():
    gen = np.random.default_rng(3)
    X = gen.standard_normal((200, 4)) @ _random_G(4, 4).T + 5.0
    prior = LinearInvertiblePrior.fit(X)
    assert_close(prior.mean, X.mean(axis=0))
    cov = np.cov(X, rowvar=False, bias=True)
    assert_close(prior.covariance, cov, atol=100 * EPS * np.linalg.norm(cov, 2), rtol=0)
    # The MLE maximises the average log-likelihood: perturbing it lowers the value.
    best = prior.log_prob(X).mean()
    other = LinearInvertiblePrior.from_covariance(cov * 1.01, mean=X.mean(axis=0))
    assert other.log_prob(X).mean() < best
    shifted = LinearInvertiblePrior(prior.G, mean=prior.mean + 0.01)
    assert shifted.log_prob(X).mean() < best


def test_fit_with_reg_handles_rank_deficient_data():
    X = np.zeros((10, 3))
    X[:, 0] = np.arange(10.0)
    with pytest.raises(ValueError, match="does not span"):
        LinearInvertiblePrior.fit(X)
    prior = LinearInvertiblePrior.fit(X, reg=0.5)
    assert_close(np.sort(prior.singular_values**2), np.sort([np.var(X[:, 0]) + 0.5, 0.5, 0.5]))


# scipy treats eigenvalues below ~1e6 eps * max as zero, so the comparison is limited to
# cond(G) <= 1e4 ("where conditioning allows"); larger conditions are checked against mpmath.
@given(priors(with_mean=True, spectrum=spectra(max_n=12, max_condition=1e4)))
def test_log_prob_matches_scipy(prior):
    gen = np.random.default_rng(0)
    x = prior.sample(3, rng=gen)
    ref = stats.multivariate_normal(prior.mean, prior.covariance, allow_singular=False).logpdf(x)
    # scipy factors the formed covariance (condition number cond(G)^2 <= 1e12): its log-density
    # carries an absolute error ~ cond(Sigma) eps |quadratic form|, cond(Sigma) <= 1e8.
    quad = 0.5 * np.sum(prior.to_latent(x) ** 2, axis=-1)
    cond = (prior.singular_values[0] / prior.singular_values[-1]) ** 2
    assert_close(prior.log_prob(x), ref, rtol=0, atol=1e-9 + 100 * cond * EPS * (1 + np.max(quad)))


@given(priors(with_mean=True))
def test_log_prob_is_change_of_variables(prior):
    # log p(x) = log N(z; 0, I) - log|det G| with z = G^{-1}(x - mu); slogdet of the formed G is
    # an independent route to the log-determinant (its error ~ n eps cond(G)).
    x = prior.sample(2, rng=1)
    z = prior.to_latent(x)
    _, logdet = np.linalg.slogdet(prior.G)
    cond = prior.singular_values[0] / prior.singular_values[-1]
    ref = stats.norm.logpdf(z).sum(axis=-1) - logdet
    assert_close(prior.log_prob(x), ref, rtol=1e-10, atol=1e3 * prior.n * EPS * cond)


@given(priors(with_mean=True))
def test_latent_signal_round_trip(prior):
    z = np.random.default_rng(2).standard_normal((3, prior.n))
    x = prior.to_signal(z)
    cond = prior.singular_values[0] / prior.singular_values[-1]
    # Backward-stable solve: relative error in z ~ n eps cond(G).
    err = np.linalg.norm(prior.to_latent(x) - z) / np.linalg.norm(z)
    assert err <= 10 * prior.n * EPS * cond + 1e-13


def test_log_prob_integrates_to_one_in_2d():
    prior = LinearInvertiblePrior(np.array([[1.0, 0.5], [-0.3, 0.8]]), mean=[0.2, -0.1])
    total, abserr = integrate.dblquad(
        lambda y, x: np.exp(prior.log_prob(np.array([x, y]))), -12, 12, -12, 12, epsabs=1e-11
    )
    # Tails beyond 12 (over 10 standard deviations) are below 1e-20.
    assert abs(total - 1.0) <= 10 * abserr + 1e-10


def test_log_prob_at_condition_1e12_against_mpmath():
    s = nudge([1.0, 1e-4, 1e-8, 1e-12])
    prior = LinearInvertiblePrior.from_singular_values(s, rng=5)
    x = nudge(prior.sample(1, rng=6)[0])
    mpmath.mp.dps = 50
    G = mpmath.matrix(prior.G.tolist())
    z = mpmath.lu_solve(G, mpmath.matrix(x.tolist()))
    ref = (
        -0.5 * sum(v**2 for v in z) - mpmath.log(abs(mpmath.det(G))) - 2 * mpmath.log(2 * mpmath.pi)
    )
    # The density in float64 from the SVD: the whitened vector has relative error ~ n eps cond(G),
    # so log p has absolute error ~ |z|^2 n eps cond(G) (the exact SVD of the formed G differs from
    # s by the same relative amount).
    zz = float(sum(v**2 for v in z))
    assert abs(prior.log_prob(x) - float(ref)) <= 100 * 4 * EPS * 1e12 * (1 + zz)


def test_sample_moments():
    prior = LinearInvertiblePrior(_random_G(3, 8), mean=[1.0, -2.0, 0.5])
    x = prior.sample(20000, rng=9)
    se = np.sqrt(np.diag(prior.covariance) / 20000)
    assert np.all(np.abs(x.mean(axis=0) - prior.mean) < 5 * se)
    # Var of a sample variance ~ 2 sigma^4 / N for Gaussian data.
    var_se = np.sqrt(2 / 20000) * np.diag(prior.covariance)
    assert np.all(np.abs(x.var(axis=0) - np.diag(prior.covariance)) < 5 * var_se)


def test_log_prob_shapes():
    prior = LinearInvertiblePrior.from_singular_values([1.0, 2.0])
    assert isinstance(prior.log_prob([0.0, 0.0]), float)
    assert prior.log_prob(np.zeros((4, 2))).shape == (4,)
    assert prior.sample(0, rng=0).shape == (0, 2)


def test_low_rank_prior():
    prior = LinearInvertiblePrior(_random_G(5, 10), mean=np.arange(5.0))
    gen = LowRankPrior.from_prior(prior, 2)
    assert (gen.n, gen.k) == (5, 2)
    # Signals drawn from the generator have no representation error.
    x = gen.sample(3, rng=1)
    assert np.all(gen.representation_error(x) <= 1e-24 * np.sum(x**2))
    # The expected floor over the full prior is the PCA tail sum_{i>k} s_i^2.
    assert_close(gen.expected_representation_error(prior), np.sum(prior.singular_values[2:] ** 2))
    # Monte Carlo over prior samples agrees within 5 standard errors.
    xs = prior.sample(4000, rng=2)
    r = gen.representation_error(xs)
    assert abs(r.mean() - gen.expected_representation_error(prior)) < 5 * r.std() / np.sqrt(r.size)


def test_low_rank_fit_is_pca():
    gen = np.random.default_rng(4)
    X = gen.standard_normal((300, 6)) * np.array([5, 4, 3, 0.1, 0.1, 0.1])
    lr = LowRankPrior.fit(X, 3)
    full = LinearInvertiblePrior.fit(X)
    assert_close(lr.singular_values, full.singular_values[:3], rtol=1e-10)


def test_both_linear_priors_share_one_base_and_its_attributes():
    from lininv._linear_gaussian import LinearGaussian

    rng = np.random.default_rng(5)
    prior = LinearInvertiblePrior(rng.standard_normal((5, 5)), mean=rng.standard_normal(5))
    gen = LowRankPrior.from_prior(prior, 2)
    assert isinstance(prior, LinearGaussian) and isinstance(gen, LinearGaussian)
    assert (prior.latent_dim, gen.latent_dim, gen.k) == (5, 2, 2)
    # The rank-k generator keeps the prior's top-2 directions: its covariance is the truncation
    # (a few dozen flops per entry on O(1) numbers: the default 1e-12 relative).
    U, s = prior.left_singular_vectors, prior.singular_values
    assert_close(gen.covariance, (U[:, :2] * s[:2] ** 2) @ U[:, :2].T, rtol=1e-12, atol=1e-13)
    assert_close(gen.factor @ gen.factor.T, gen.covariance, rtol=1e-12, atol=1e-13)
    # Samples of both are x = mu + G z with z standard normal of the latent dimension.
    x = gen.sample(3, rng=0)
    z = np.random.default_rng(0).standard_normal((3, 2))
    assert_close(x, gen.mean + z @ gen.G.T)
