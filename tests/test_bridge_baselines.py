"""Baselines: Lasso in a DCT basis (cvxpy vs scikit-learn) and the rank-k generator's floor."""

import numpy as np
import pytest
from scipy.fft import dctn

import lininv
from lininv.bridge import dct_basis, lasso_dct, low_rank_recover
from tests.helpers import assert_close


def test_dct_basis_is_orthonormal_and_is_scipys_dct():
    Psi = dct_basis((8, 8))
    # rtol: n = 64 terms of O(1/8) products per entry
    assert_close(Psi.T @ Psi, np.eye(64), atol=64 * 1e-16)
    x = np.random.default_rng(0).random(64)
    assert_close(Psi.T @ x, dctn(x.reshape(8, 8), norm="ortho").ravel(), atol=1e-14)
    assert dct_basis((2, 3)).shape == (6, 6)


def test_lasso_matches_scikit_learn():
    """Two solvers, two algorithms (interior point vs coordinate descent), one objective."""
    from sklearn.linear_model import Lasso

    rng = np.random.default_rng(1)
    m, n, lam = 20, 64, 0.05
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x = rng.random(n)
    y = A @ x
    x_cvx = lasso_dct(A, y, lam)
    # sklearn minimises ||y - D c||^2 / (2 m) + alpha ||c||_1: alpha = lam / (2 m)
    D = A @ dct_basis((8, 8))
    sk = Lasso(alpha=lam / (2 * m), fit_intercept=False, tol=1e-12, max_iter=200000).fit(D, y)
    # atol 1e-6: Clarabel stops at relative gap ~1e-8; the Lasso solution is Lipschitz in the
    # objective with constant ~ 1 / (smallest restricted singular value of D)^2 ~ 1e2 here
    assert_close(x_cvx, dct_basis((8, 8)) @ sk.coef_, atol=1e-6)


def test_lasso_batches_and_weight_grid_agree_with_single_solves():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3, 10, 16)) / np.sqrt(10)
    X = rng.random((3, 16))
    Y = np.einsum("kmn,kn->km", A, X)
    grid = lasso_dct(A, Y, [0.01, 0.1], shape=(4, 4))
    assert grid.shape == (2, 3, 16)
    for j in range(3):
        single = lasso_dct(A[j], Y[j], 0.1, shape=(4, 4))
        assert single.shape == (16,)
        assert_close(grid[1, j], single, atol=1e-6)  # atol: as in the scikit-learn comparison
    shared = lasso_dct(A[0], Y[:1] * 0 + Y[0], 0.1, shape=(4, 4))
    assert_close(shared[0], lasso_dct(A[0], Y[0], 0.1, shape=(4, 4)), atol=1e-6)


def test_lasso_with_zero_weight_and_full_measurements_is_exact():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((16, 16))
    x = rng.random(16)
    # atol 1e-6: solver tolerance (see above) times cond(A) ~ 1e2 / 1e2 scaling of the gap
    assert_close(lasso_dct(A, A @ x, 0.0, shape=(4, 4)), x, atol=1e-6)


def _rank_k_setup(seed=0):
    rng = np.random.default_rng(seed)
    X_train = rng.standard_normal((300, 12)) @ rng.standard_normal((12, 12))
    gen = lininv.LowRankPrior.fit(X_train, 4)
    X = rng.standard_normal((6, 12)) @ rng.standard_normal((12, 12))
    return gen, X


@pytest.mark.parametrize("gamma", [0.0, 0.1])
@pytest.mark.parametrize("m", [2, 4, 8, 12])
def test_rank_k_error_never_beats_its_floor(m, gamma):
    """Eckart-Young for the generator: its output lies in its range, whatever A, m and gamma."""
    gen, X = _rank_k_setup()
    A = np.stack([lininv.gaussian_measurements(m, 12, rng=j) for j in range(6)])
    X_hat = low_rank_recover(gen, A, np.einsum("kmn,kn->km", A, X), gamma)
    err = np.sum((X_hat - X) ** 2, axis=1)
    floor = gen.representation_error(X)
    assert np.all(err >= floor * (1 - 1e-12))  # rtol: the floor is a computed projection
    # and the output really is in the range: its own representation error is ~0
    assert np.all(gen.representation_error(X_hat) <= 1e-20 + 1e-12 * np.sum(X_hat**2, axis=1))


def test_rank_k_recover_is_mle_and_latent_ridge():
    gen, X = _rank_k_setup(1)
    A = lininv.gaussian_measurements(6, 12, rng=3)
    Y = X @ A.T
    assert_close(low_rank_recover(gen, A, Y), lininv.mle(gen, A, Y))
    assert_close(low_rank_recover(gen, A, Y, 0.3), lininv.latent_ridge(gen, A, Y, 0.3))
    assert low_rank_recover(gen, A, Y[0]).shape == (12,)


def test_rank_k_keeps_its_floor_as_m_reaches_n_while_the_invertible_prior_does_not():
    """The representation-error claim in its linear form (docs/theory.md, section 4)."""
    gen, X = _rank_k_setup(2)
    prior = lininv.LinearInvertiblePrior.fit(
        np.random.default_rng(5).standard_normal((300, 12)) @ np.diag(np.linspace(3, 0.1, 12))
    )
    A = lininv.gaussian_measurements(12, 12, rng=4)
    Y = X @ A.T
    e_rank = np.sum((low_rank_recover(gen, A, Y) - X) ** 2, axis=1)
    e_inv = np.sum((lininv.mle(prior, A, Y) - X) ** 2, axis=1)
    assert np.all(e_rank >= gen.representation_error(X) * (1 - 1e-12))
    # m = n: the invertible prior's MLE is A^{-1} y = x0 (rounding: cond(A) ~ 1e2 times eps)
    assert np.all(e_inv <= 1e-18 * np.sum(X**2, axis=1) * 1e4)


BAD = [
    (lambda: dct_basis((8,)), ValueError, "shape must be a pair of positive integers"),
    (
        lambda: lasso_dct(np.ones((3, 63)), np.ones(3), 0.1),
        ValueError,
        r"A must have shape \(m, 64\)",
    ),
    (lambda: lasso_dct(np.ones((3, 64)), np.ones(4), 0.1), ValueError, r"y must have shape \(3,\)"),
    (lambda: lasso_dct(np.ones((3, 64)), np.ones(3), -0.1), ValueError, "lam must be >= 0"),
    (lambda: lasso_dct(np.ones((3, 64)), np.ones(3), []), ValueError, "lam must be a number"),
    (
        lambda: low_rank_recover("gen", np.ones((3, 4)), np.ones(3)),
        TypeError,
        "generator must be a LowRankPrior",
    ),
    (
        lambda: low_rank_recover(
            lininv.LowRankPrior(np.eye(4)[:, :2]), np.ones((3, 4)), np.ones(3), -1.0
        ),
        ValueError,
        "gamma must be >= 0",
    ),
]


@pytest.mark.parametrize(("call", "exc", "match"), BAD)
def test_bad_calls(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
