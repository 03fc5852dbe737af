"""Latent-space recovery: exact against the closed-form linear estimators, honest about failures."""

import numpy as np
import pytest

import lininv
from lininv.bridge import INITS, recover
from lininv.flows import linear_flow, realnvp
from tests.helpers import EPS, assert_close, nudge


def _problem(n=12, m=5, k=3, cond=1e2, seed=0, mean=True):
    rng = np.random.default_rng(seed)
    s = np.geomspace(1.0, 1.0 / cond, n)
    mu = rng.standard_normal(n) if mean else None
    prior = lininv.LinearInvertiblePrior.from_singular_values(s, rng=seed, mean=mu)
    A = nudge(lininv.gaussian_measurements(m, n, rng=seed + 1))
    X = nudge(prior.sample(k, rng=seed + 2))
    return prior, A, X


def _latent_bound(prior, A, res, gamma):
    """Distance bound ||x - x*|| <= ||G|| ||grad|| / (2 mu) from the final gradient.

    On the row space of B = A G the objective is strongly convex with modulus 2 (d_min^2 + gamma),
    d_min the smallest non-zero singular value of B; off it (gamma = 0) the iterates do not move
    except by rounding, bounded by (iterations + 1) * 64 eps * max ||z|| per step (64 eps: the
    rounding of the n-term inner products in one gradient, n <= 64).
    """
    d = np.linalg.svd(A @ prior.G, compute_uv=False)
    d = d[d > d[0] * 1e-12]
    g = np.atleast_1d(res.grad_norm)
    mu = 2.0 * (d[-1] ** 2 + gamma)
    z = np.atleast_2d(res.z)
    drift = (np.max(np.atleast_1d(res.iterations)) + 1) * 64 * EPS * np.linalg.norm(z, axis=-1)
    return np.linalg.norm(prior.G, 2) * (g / mu + drift)


@pytest.mark.parametrize("batch", ["lockstep", "loop", "joint"])
@pytest.mark.parametrize("cond", [1e1, 1e4])
def test_linear_flow_reproduces_mle(batch, cond):
    prior, A, X = _problem(cond=cond)
    Y = X @ A.T
    res = recover(linear_flow(prior), A, Y, batch=batch)
    assert res.all_success, res.message
    want = lininv.mle(prior, A, Y)
    err = np.linalg.norm(res.x - want, axis=1)
    assert np.all(err <= _latent_bound(prior, A, res, 0.0)), (
        err,
        _latent_bound(prior, A, res, 0.0),
    )
    # the bound is not vacuous: the solution is accurate to well below the signal's size
    assert np.all(err <= 1e-5 * np.linalg.norm(want, axis=1))


@pytest.mark.parametrize("batch", ["lockstep", "loop", "joint"])
def test_linear_flow_reproduces_latent_ridge(batch):
    prior, A, X = _problem(m=7, cond=1e3)
    rng = np.random.default_rng(5)
    Y = X @ A.T + 0.1 * rng.standard_normal((X.shape[0], A.shape[0]))
    gamma = 0.05
    res = recover(linear_flow(prior), A, Y, gamma, batch=batch)
    assert res.all_success
    want = lininv.latent_ridge(prior, A, Y, gamma)
    err = np.linalg.norm(res.x - want, axis=1)
    assert np.all(err <= _latent_bound(prior, A, res, gamma))


def test_random_start_converges_to_gradient_descent_limit():
    """gamma = 0: the start's null-space component survives (regularisation by initialisation)."""
    prior, A, X = _problem(m=4, cond=10.0)
    Y = X @ A.T
    res = recover(linear_flow(prior), A, Y, init="random", init_scale=2.0, rng=3)
    assert res.all_success
    for j in range(X.shape[0]):
        z_lim = lininv.gradient_descent_limit(prior, A, Y[j], res.z_init[j])
        x_lim = prior.to_signal(z_lim)
        assert np.linalg.norm(res.x[j] - x_lim) <= _latent_bound(prior, A, res, 0.0)[j]
    # and it is worse than the MLE, by the null-space part of the start
    e_mle = np.sum((lininv.mle(prior, A, Y) - X) ** 2, axis=1)
    e_rand = np.sum((res.x - X) ** 2, axis=1)
    assert np.mean(e_rand) > np.mean(e_mle)


def test_mask_and_identity_use_the_same_path():
    prior, _, X = _problem(n=10, mean=True)
    flow = linear_flow(prior)
    mask = lininv.mask_measurements([0, 2, 3, 7, 9], prior.n)
    res = recover(flow, mask, X @ mask.T)
    assert res.all_success
    err = np.linalg.norm(res.x - lininv.mle(prior, mask, X @ mask.T), axis=1)
    assert np.all(err <= _latent_bound(prior, mask, res, 0.0))
    # identity (denoising): the latent formulation of lininv.denoise
    Y = X + 0.2 * np.random.default_rng(1).standard_normal(X.shape)
    gamma = 0.04
    res = recover(flow, np.eye(prior.n), Y, gamma)
    err = np.linalg.norm(res.x - lininv.denoise(prior, Y, gamma), axis=1)
    assert np.all(err <= _latent_bound(prior, np.eye(prior.n), res, gamma))


def test_per_problem_operators_match_one_at_a_time():
    prior, _, X = _problem(n=8, m=3, k=4)
    A = np.stack([lininv.gaussian_measurements(3, 8, rng=10 + j) for j in range(4)])
    Y = np.einsum("kmn,kn->km", A, X)
    res = recover(linear_flow(prior), A, Y, batch="joint")
    for j in range(4):
        want = lininv.mle(prior, A[j], Y[j])
        assert np.linalg.norm(res.x[j] - want) <= _latent_bound(prior, A[j], res, 0.0)[j]


def test_single_problem_returns_scalars():
    prior, A, X = _problem()
    res = recover(linear_flow(prior), A, A @ X[0])
    assert res.x.shape == (prior.n,) and res.z.shape == (prior.n,)
    assert isinstance(res.success, bool) and isinstance(res.message, str)
    assert isinstance(res.iterations, int) and isinstance(res.objective, float)
    assert res.objective >= 0.0 and res.grad_norm >= 0.0


# -- initialisations ---------------------------------------------------------------------------


def test_initialisations():
    prior, A, X = _problem(n=10, m=4, k=3)
    flow = linear_flow(prior)
    Y = X @ A.T
    common = {"max_iter": 1}
    z = recover(flow, A, Y, init="zeros", **common).z_init
    # bitwise: the zeros start is an array of zeros, no arithmetic
    assert np.array_equal(z, np.zeros((3, 10)))
    z = recover(flow, A, Y, init="fixed_norm", init_scale=3.5, rng=0, **common).z_init
    assert_close(np.linalg.norm(z, axis=1), np.full(3, 3.5))
    # pseudo-inverse: G(z_init) = A^+ y
    z = recover(flow, A, Y, init="pseudo_inverse", **common).z_init
    want = np.linalg.lstsq(A, Y.T, rcond=None)[0].T
    # rtol 1e-9: G^{-1} through the LU factors of G, cond(G) = 100, loses ~cond * eps relative
    assert_close(prior.to_signal(z), want, rtol=1e-9, atol=1e-12)
    # null space: the truth moved invisibly to A
    z = recover(flow, A, Y, init="null_space", init_scale=0.5, x_true=X, rng=0, **common).z_init
    x0 = prior.to_signal(z)
    assert_close(x0 @ A.T, Y, rtol=1e-9, atol=1e-10)  # rtol: as above
    assert np.all(np.linalg.norm(x0 - X, axis=1) > 0.1)


def test_random_init_statistics_and_batch_independence():
    prior, A, X = _problem(n=10, m=4, k=3)
    flow = linear_flow(prior)
    Y = X @ A.T
    z3 = recover(flow, A, Y, init="random", init_scale=0.7, rng=42, max_iter=1).z_init
    z1 = recover(flow, A, Y[:1], init="random", init_scale=0.7, rng=42, max_iter=1).z_init
    # bitwise: one seed, identical draws: problem 0's start is the first row of the same stream
    # times the same scale; problem 0's start does not depend on the batch size
    assert np.array_equal(z3[:1], z1)
    big = recover(flow, A, np.zeros((2000, 4)), init="random", rng=1, max_iter=1).z_init
    # default std 0.7: sample variance of 20000 normals has relative sd sqrt(2/20000) = 1%; 5 sd
    assert abs(big.var() / 0.49 - 1.0) < 0.05


def test_null_space_start_is_a_minimiser_at_gamma_zero():
    """From the truth plus a null-space perturbation, gamma = 0 does not move: error = perturbation."""
    prior, A, X = _problem(n=10, m=4, k=2)
    flow = linear_flow(prior)
    Y = X @ A.T
    res = recover(flow, A, Y, init="null_space", init_scale=0.5, x_true=X, rng=0)
    x_init = prior.to_signal(res.z_init)
    # the start already has objective ~ 0 (rounding of A G z); 1e-9: cond(G) eps-level residuals
    assert np.all(np.linalg.norm(res.x - x_init, axis=1) <= 1e-9 * np.linalg.norm(x_init, axis=1))
    # gamma > 0 pulls it back towards the high-likelihood solution
    reg = recover(flow, A, Y, 1e-3, init="null_space", init_scale=0.5, x_true=X, rng=0)
    assert np.all(np.sum((reg.x - X) ** 2, axis=1) < np.sum((res.x - X) ** 2, axis=1))


# -- failures are reported, never hidden -------------------------------------------------------


class _Overflowing:
    """A test double: the identity flow that returns inf once ||z|| exceeds a threshold."""

    def __init__(self, n, limit):
        self.n, self.limit = n, limit

    def forward_and_pullback(self, z):
        z = np.atleast_2d(z)
        x = np.where(np.linalg.norm(z, axis=1, keepdims=True) > self.limit, np.inf, z)
        return x, lambda v: np.asarray(v, dtype=float)

    def inverse(self, x):
        return np.asarray(x, dtype=float), np.zeros(np.atleast_2d(x).shape[0])


def test_non_finite_evaluation_is_reported_not_returned():
    n = 4
    flow = _Overflowing(n, limit=3.0)
    A = np.eye(n)
    y = np.full(n, 10.0)  # the minimiser lies beyond the overflow
    res = recover(flow, A, y)
    assert res.success is False
    assert "non-finite" in res.message
    assert np.all(np.isfinite(res.x)) and np.all(np.isfinite(res.z))
    assert np.linalg.norm(res.z) <= 3.0


@pytest.mark.parametrize("batch", ["lockstep", "loop"])
def test_a_non_finite_problem_in_a_batch_fails_alone(batch):
    """Per-problem modes: the overflowing problems are reported, the others still converge."""
    Y = np.array([np.full(4, 10.0), np.full(4, 0.5), np.full(4, 10.0)])  # rows 0, 2 overflow
    res = recover(_Overflowing(4, limit=3.0), np.eye(4), Y, batch=batch)
    assert res.success.tolist() == [False, True, False]
    assert "non-finite" in res.message[0] and "non-finite" in res.message[2]
    assert np.all(np.isfinite(res.x)) and np.all(np.linalg.norm(res.z, axis=1) <= 3.0)
    assert_close(res.x[1], Y[1], rtol=0, atol=1e-9)  # the identity flow: x = y, gtol 1e-9


class _WrongGradient(_Overflowing):
    """A test double whose pullback returns the negated gradient (a broken VJP)."""

    def forward_and_pullback(self, z):
        x, _ = super().forward_and_pullback(z)
        return x, lambda v: -np.asarray(v, dtype=float)


def test_line_search_failure_away_from_a_minimum_is_a_failure():
    res = recover(_WrongGradient(4, limit=1e6), np.eye(4), np.ones(4))
    assert res.success is False
    assert res.message.startswith("ABNORMAL") and "accepted" not in res.message
    assert res.grad_norm > 1.0


def test_non_finite_start_raises():
    flow = _Overflowing(4, limit=1.0)
    with pytest.raises(ValueError, match="not finite at the starting latent"):
        recover(flow, np.eye(4), np.ones(4), init="fixed_norm", init_scale=2.0, rng=0)


def test_iteration_limit_is_reported():
    prior, A, X = _problem(cond=1e4)
    res = recover(linear_flow(prior), A, X @ A.T, max_iter=2)
    assert not np.any(res.success)
    assert all("ITERATIONS" in msg.upper() for msg in res.message)
    assert np.all(res.iterations <= 2)


def test_realnvp_recovery_is_finite_and_fits_the_measurements():
    flow = realnvp(8, n_layers=2, hidden=8, rng=0)
    rng = np.random.default_rng(0)
    x_true = flow.sample(3, rng=1)
    A = rng.standard_normal((8, 8)) / np.sqrt(8)  # m = n: the truth is the unique minimiser
    res = recover(flow, A, x_true @ A.T, init="random", rng=2)
    assert res.all_success, res.message
    assert np.all(np.isfinite(res.x))
    # the objective reached is ~0 and the gradient norm small: the truth is recovered to the
    # accuracy of a well-posed solve (A square, cond ~ 10; flow near the identity)
    assert np.all(res.objective < 1e-12)
    assert np.all(np.linalg.norm(res.x - x_true, axis=1) < 1e-4)


# -- bad input ---------------------------------------------------------------------------------

_PRIOR, _A, _X = _problem(n=6, m=3, k=2, mean=False)
_FLOW = linear_flow(_PRIOR)
_Y = _X @ _A.T

BAD_CALLS = [
    ({"flow": "not a flow"}, TypeError, r"flow must be a flow prior \(lininv.flows.FlowPrior\)"),
    ({"A": np.ones((3, 5))}, ValueError, r"A must have shape \(m, 6\) or \(k, m, 6\)"),
    ({"A": np.ones((4, 3, 6))}, ValueError, r"y must have shape \(4, 3\)"),
    ({"y": np.ones(4)}, ValueError, r"y must have shape \(3,\) or \(k, 3\)"),
    ({"y": np.array([1.0, np.nan, 0.0])}, ValueError, "y must be finite"),
    ({"gamma": -1.0}, ValueError, "gamma must be >= 0"),
    ({"init": "lasso"}, ValueError, "init must be one of"),
    ({"init": "fixed_norm"}, ValueError, "init_scale must be given"),
    ({"init": "zeros", "init_scale": 1.0}, ValueError, "init_scale must be None"),
    ({"init": "random", "init_scale": -1.0}, ValueError, "init_scale must be >= 0"),
    ({"init": "null_space"}, ValueError, "x_true must be given"),
    ({"x_true": np.ones((3, 6))}, ValueError, r"x_true must have shape \(2, 6\)"),
    ({"max_iter": 0}, ValueError, "max_iter must be an integer in"),
    ({"batch": "parallel"}, ValueError, "batch must be one of"),
    ({"chunk": 0}, ValueError, "chunk must be an integer in"),
    ({"rng": "seed"}, TypeError, "rng must be None"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), BAD_CALLS)
def test_bad_calls(kwargs, exc, match):
    call = {"flow": _FLOW, "A": _A, "y": _Y}
    call.update(kwargs)
    with pytest.raises(exc, match=match):
        recover(call.pop("flow"), call.pop("A"), call.pop("y"), **call)


def test_inits_constant():
    assert INITS == ("zeros", "random", "fixed_norm", "pseudo_inverse", "null_space")
