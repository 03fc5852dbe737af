"""CSGM recovery and the representation error: known solutions, convergence reports, seeds, bad input."""

import numpy as np
import pytest
from helpers import assert_close

from lininv.generators import Generator, csgm, representation_error

K, N = 3, 12


@pytest.fixture(scope="module")
def gen():
    return Generator(K, n=N, hidden=(16,), rng=0)


def _problems(gen, m, count, seed=1):
    rng = np.random.default_rng(seed)
    Z0 = rng.standard_normal((count, K))
    X0 = gen.forward(Z0)
    A = rng.standard_normal((count, m, N)) / np.sqrt(m)
    return A, np.einsum("bmn,bn->bm", A, X0), X0


# At a zero-residual minimiser Gauss-Newton converges quadratically, so the solve ends with
# ||z - z0|| at rounding level, eps cond(A J) ~ 1e-14 here, and ||x - x0||^2 ~ 1e-28; 1e-18
# leaves room for a conditioning a thousand times worse, while a wrong minimiser is O(0.01) away.
EXACT = 1e-18


@pytest.mark.parametrize("solver", ["trf", "lm", "lbfgs"])
def test_noiseless_recovery_with_m_at_least_k_finds_the_signal(gen, solver):
    A, Y, X0 = _problems(gen, m=2 * K, count=4)
    res = csgm(gen, A, Y, restarts=4, solver=solver, max_iter=2000, rng=0)
    assert res.x.shape == (4, N) and res.z.shape == (4, K) and res.restart_objective.shape == (4, 4)
    assert np.all(res.converged)
    # L-BFGS-B's ftol test stops once a step decreases f by less than tol * max(|f|, 1), an
    # absolute 1e-10 near a zero residual, so it ends at f ~ 1e-10 / (1 - rate) rather than at
    # rounding level; ||x - x0||^2 <= f / s_min(A)^2 with s_min(A)^2 ~ 0.1 for this 6 x 12 A
    bound = EXACT if solver != "lbfgs" else 1e-8
    assert np.all(np.sum((res.x - X0) ** 2, axis=1) < bound)
    assert np.all(res.objective < bound)


def test_the_pretrained_generator_recovers_its_own_signals():
    from lininv.generators import pretrained

    g = pretrained(8)
    z0 = np.random.default_rng(3).standard_normal((2, 8))
    x0 = g.forward(z0)
    A = np.random.default_rng(4).standard_normal((2, 16, 64)) / 4.0
    res = csgm(g, A, np.einsum("bmn,bn->bm", A, x0), restarts=3, rng=0)
    assert np.all(res.converged)
    assert np.all(np.sum((res.x - x0) ** 2, axis=1) < EXACT)


@pytest.mark.parametrize("solver", ["trf", "lm", "lbfgs"])
def test_a_capped_solve_reports_that_it_did_not_converge(gen, solver):
    A, Y, _ = _problems(gen, m=2 * K, count=2)
    res = csgm(gen, A, Y, restarts=2, solver=solver, max_iter=1, rng=0)
    assert not np.any(res.restart_converged)
    # bitwise: fractions of counts, exact
    assert res.converged_fraction == 0.0 and res.restart_converged_fraction == 0.0
    assert np.all(res.grad_norm > 0)
    full = csgm(gen, A, Y, restarts=2, solver=solver, max_iter=2000, rng=0)
    assert full.restart_converged_fraction == 1.0  # bitwise: a fraction of counts, exact


def test_selection_rule_is_the_lowest_objective_and_the_report_is_consistent(gen):
    A, Y, _ = _problems(gen, m=2, count=5, seed=7)  # m < k: many minimisers, restarts differ
    gamma = 0.05
    res = csgm(gen, A, Y, gamma, restarts=5, rng=2)
    rows = np.arange(5)
    # bitwise: integer indices
    assert np.array_equal(res.restart, np.argmin(res.restart_objective, axis=1))
    assert np.array_equal(
        res.objective, res.restart_objective[rows, res.restart]
    )  # bitwise: copied
    # the reported objective is the one of the returned latent and signal (same formula, rounding
    # of a dozen terms of order one)
    R = np.einsum("bmn,bn->bm", A, res.x) - Y
    assert_close(res.objective, np.sum(R**2, 1) + gamma * np.sum(res.z**2, 1), rtol=1e-12)
    assert_close(res.x, gen.forward(res.z), rtol=1e-13)  # one batch vs another: ulps of O(1)


def test_starts_depend_on_the_seed_and_problem_alone(gen):
    A, Y, _ = _problems(gen, m=4, count=3)
    big = csgm(gen, A, Y, restarts=4, rng=5)
    first = csgm(gen, A[:1], Y[:1], restarts=2, rng=5)
    single = csgm(gen, A[0], Y[0], restarts=2, rng=5)
    assert np.array_equal(big.z_init[:1, :2], first.z_init)  # bitwise: the same stream draws
    assert np.array_equal(single.z_init, first.z_init[0])  # bitwise: the same stream draws
    assert isinstance(single.objective, float) and isinstance(single.converged, bool)
    assert isinstance(single.restart, int) and single.x.shape == (N,)
    # each problem is solved alone, so its solve does not see the batch: the same start gives
    # the same result to rounding (gen.forward of one row vs three)
    assert_close(first.restart_objective[0], big.restart_objective[0, :2], rtol=1e-8, atol=1e-20)
    explicit = csgm(gen, A[0], Y[0], z_init=first.z_init[0])
    assert np.array_equal(explicit.z_init, first.z_init[0])  # bitwise: passed through
    # bitwise: another seed draws other starts (an inequality of independent draws)
    assert not np.array_equal(csgm(gen, A[0], Y[0], restarts=2, rng=6).z_init, single.z_init)


def test_a_shared_operator_and_a_batch_of_copies_agree(gen):
    A, Y, _ = _problems(gen, m=4, count=1)
    y = np.stack([Y[0], A[0] @ gen.forward(np.ones(K))])
    shared = csgm(gen, A[0], y, restarts=2, rng=0)
    batched = csgm(gen, np.stack([A[0], A[0]]), y, restarts=2, rng=0)
    assert shared.z.shape == (2, K)
    assert np.array_equal(shared.z, batched.z)  # bitwise: the same A, y and starts, one loop


def test_representation_error_is_zero_in_range_and_positive_off_it(gen):
    z0 = np.random.default_rng(8).standard_normal((2, K))
    x0 = gen.forward(z0)
    off = x0 + 0.2 * np.random.default_rng(9).standard_normal(x0.shape)
    res = representation_error(gen, np.vstack([x0, off]), restarts=3, rng=0)
    assert np.all(res.converged)
    assert np.all(res.objective[:2] < EXACT)
    assert np.all(res.objective >= 0.0)
    # off the range: at least the component of the perturbation normal to the range at the
    # nearest point is left, of squared norm ~ 0.04 (n - k) = 0.36 here
    assert np.all(res.objective[2:] > 1e-2)
    assert np.array_equal(res.z_init[:, 0], gen.encode(np.vstack([x0, off])))  # bitwise: same call
    no_enc = representation_error(gen, off[0], restarts=2, encoder_start=False, rng=0)
    assert no_enc.z_init.shape == (2, K) and no_enc.objective >= 0.0
    # restart 1 of the encoder run is restart 0 of a run without it: one stream per signal
    alone = representation_error(gen, off[0], restarts=1, encoder_start=False, rng=0)
    assert np.array_equal(alone.z_init[0], no_enc.z_init[0])  # bitwise: the same stream draw


def _A(m=4):
    return np.random.default_rng(0).standard_normal((m, N))


BAD = [
    (lambda g: csgm("G", _A(), np.zeros(4)), TypeError, "generator must be a lininv.generators"),
    (lambda g: csgm(g, np.zeros((4, 5)), np.zeros(4)), ValueError, r"A must have shape \(m, 12\)"),
    (lambda g: csgm(g, _A(), np.zeros(5)), ValueError, r"y must have shape \(4,\)"),
    (
        lambda g: csgm(g, np.stack([_A(), _A()]), np.zeros((3, 4))),
        ValueError,
        r"y must have shape \(2, 4\)",
    ),
    (lambda g: csgm(g, _A(), np.zeros(4), -1.0), ValueError, "gamma must be >= 0"),
    (
        lambda g: csgm(g, _A(), np.zeros(4), restarts=0),
        ValueError,
        "restarts must be an integer in",
    ),
    (lambda g: csgm(g, _A(), np.zeros(4), solver="bfgs"), ValueError, "solver must be one of"),
    (lambda g: csgm(g, _A(), np.zeros(4), max_iter=0), ValueError, "max_iter must be"),
    (lambda g: csgm(g, _A(), np.zeros(4), tol=0.0), ValueError, "tol must be > 0"),
    (lambda g: csgm(g, _A(), np.zeros(4), init_scale=0.0), ValueError, "init_scale must be > 0"),
    (lambda g: csgm(g, _A(), [np.nan] * 4), ValueError, "y must be finite"),
    (lambda g: csgm(g, _A(), np.zeros(4), rng=1.5), TypeError, "rng must be None"),
    (lambda g: csgm(g, _A(), np.zeros(4), progress="yes"), TypeError, "progress must be a bool"),
    (
        lambda g: csgm(g, _A(2), np.zeros(2), solver="lm"),
        ValueError,
        "solver='lm' needs at least k = 3",
    ),
    (
        lambda g: csgm(g, _A(), np.zeros(4), z_init=np.zeros((2, 4))),
        ValueError,
        r"z_init must have shape \(R, 3\)",
    ),
    (lambda g: representation_error(g, np.zeros(5)), ValueError, r"x0 must have shape \(12,\)"),
    (
        lambda g: representation_error(g, np.zeros(N), encoder_start=1),
        TypeError,
        "encoder_start must be a bool",
    ),
    (lambda g: representation_error(object(), np.zeros(N)), TypeError, "which lacks k, n, forward"),
]


@pytest.mark.parametrize("call, exc, match", BAD)
def test_bad_input_is_refused_with_a_clear_message(gen, call, exc, match):
    with pytest.raises(exc, match=match):
        call(gen)


def test_auto_picks_levenberg_marquardt_where_it_applies(gen):
    A, Y, _ = _problems(gen, m=2, count=1)
    assert csgm(gen, A[0], Y[0], restarts=1, rng=0).solver == "trf"  # m = 2 < k = 3, gamma = 0
    assert csgm(gen, A[0], Y[0], 0.1, restarts=1, rng=0).solver == "lm"  # k extra residuals
    A, Y, _ = _problems(gen, m=K, count=1)
    assert csgm(gen, A[0], Y[0], restarts=1, rng=0).solver == "lm"
    assert representation_error(gen, np.zeros(N), restarts=1, rng=0).solver == "lm"


def test_lm_is_allowed_with_few_measurements_when_gamma_adds_residuals(gen):
    A, Y, _ = _problems(gen, m=2, count=1)
    res = csgm(gen, A[0], Y[0], 0.1, restarts=1, solver="lm", rng=0)
    assert res.converged
