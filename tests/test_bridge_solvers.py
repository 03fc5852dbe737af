"""The converged solver of recover (scipy least_squares with the flow's exact Jacobian): it reaches
the truth where the problem is exactly determined, and every solve says whether it converged."""

import numpy as np
import pytest

from lininv import flows
from lininv.bridge import GN_GTOL, SOLVERS, recover
from lininv.bridge._gauss_newton import polish_all
from lininv.experiments import compressed_sensing, digits_data


@pytest.fixture(scope="module")
def default():
    """The pretrained digits flow and its data (dequantised digits in [0, 1])."""
    flow = flows.default_flow()
    return flow.flow, digits_data(flow.split, n_val=10)


@pytest.fixture(scope="module")
def digits(default):
    """The pretrained digits flow and six test digits."""
    flow, data = default
    return flow, data.X_test[:6]


def _measure(X, m, seed):
    gen = np.random.default_rng(seed)
    A = gen.standard_normal((X.shape[0], m, X.shape[1])) / np.sqrt(m)
    return A, np.einsum("kmn,kn->km", A, X)


@pytest.mark.parametrize("solver", ["gauss-newton", "lbfgs+gauss-newton"])
def test_m_equals_n_reaches_the_truth_per_signal(digits, solver):
    """m = n, noiseless: x0 is the unique minimiser (A is invertible, G a bijection). The issue's
    criterion is an error of at most 1e-8 per signal; the solves reach rounding level (~1e-25)."""
    flow, X = digits
    A, Y = _measure(X, 64, seed=1)
    res = recover(flow, A, Y, solver=solver, max_iter=50)
    err = np.sum((res.x - X) ** 2, axis=1)
    assert np.all(res.success), res.message
    assert np.all(err <= 1e-8), err
    assert np.all(np.abs(res.grad_norm) <= np.sqrt(64) * GN_GTOL)


def test_lbfgs_alone_does_not_converge_at_m_equals_n_and_says_so(digits):
    """The previous path: L-BFGS-B within a small budget stops short, and reports it."""
    flow, X = digits
    A, Y = _measure(X, 64, seed=1)
    res = recover(flow, A, Y, solver="lbfgs", max_iter=20)
    assert not np.any(res.success)
    assert all("ITERATIONS REACHED LIMIT" in msg.upper() for msg in res.message), res.message
    # the polish from that end point converges
    polished = recover(flow, A, Y, solver="lbfgs+gauss-newton", max_iter=20)
    assert np.all(polished.success)
    assert np.all(polished.objective < res.objective)


def test_an_evaluation_limit_is_reported_not_hidden(digits):
    """A solve cut off by its evaluation limit is success=False with the solver's reason."""
    flow, X = digits
    A, Y = _measure(X[:2], 64, seed=2)
    out = polish_all(flow, A, Y, 0.0, np.zeros((2, 64)), max_nfev=1)
    assert not np.any(out.success)
    assert all(msg.startswith("lm: ") for msg in out.message), out.message
    assert np.all(out.evaluations <= 2)


def test_underdetermined_problems_use_the_trust_region_solver(digits):
    flow, X = digits
    A, Y = _measure(X[:2], 16, seed=3)
    res = recover(flow, A, Y, solver="gauss-newton")
    assert all(msg.startswith("trf: ") for msg in res.message), res.message
    assert np.all(res.success)
    # converged to a consistent latent: the residual is at rounding level (||y||^2 ~ 10)
    assert np.all(res.objective <= 1e-16)


def test_restarts_keep_the_lowest_objective(digits):
    """The first start is the one of restarts=1 (z = 0 is not random): restarts can only lower
    the objective, and the message names the restart kept."""
    flow, X = digits
    A, Y = _measure(X[:3], 24, seed=4)
    one = recover(flow, A, Y, gamma=0.1, solver="gauss-newton", rng=0)
    three = recover(flow, A, Y, gamma=0.1, solver="gauss-newton", restarts=3, rng=0)
    # 1e-12: RESTART_TIE, the relative margin within which the first start wins
    assert np.all(three.objective <= one.objective * (1 + 1e-12))
    assert all(msg.startswith("restart ") for msg in three.message)
    assert np.all(three.success)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"solver": "newton"}, "solver must be one of"),
        ({"restarts": 0}, "restarts must be"),
    ],
)
def test_bad_solver_settings(digits, kwargs, match):
    flow, X = digits
    with pytest.raises(ValueError, match=match):
        recover(flow, np.eye(64)[:8], X[:1, :8], **kwargs)
    assert set(SOLVERS) == {"lbfgs", "gauss-newton", "lbfgs+gauss-newton"}


def test_compressed_sensing_counts_unconverged_solves(default):
    """Under a budget that cannot converge, the table and the data count every unconverged solve
    (the mean still includes them: the count is what tells the reader)."""
    flow, data = default
    res = compressed_sensing(
        flow, data, ms=(64,), n_test=3, max_iter=5, gan_k=None, protocol="paper"
    )
    row = res.table.rows[0]
    # bitwise: the fraction of converged solves is a count over a count
    assert row["flow_converged"] == 0.0 and row["flow_unconverged"] == 3
    assert res.data["flow_unconverged"] == [3]
