"""Linear predictions for a flow: local (Jacobian at the truth) and global (best linear Gaussian)."""

import numpy as np
import pytest

import lininv
from lininv.bridge import (
    global_predictions,
    local_predictions,
    local_singular_values,
    spectrum_predictions,
)
from lininv.flows import linear_flow, realnvp
from tests.helpers import assert_close


def test_spectrum_predictions_are_the_theory_functions():
    s = 1.0 / np.sqrt(np.arange(1, 17))
    p = spectrum_predictions(s, [2, 5, 16])
    assert p.ms.tolist() == [2, 5, 16]
    for i, m in enumerate([2, 5, 16]):
        assert p.lower[i] == lininv.lower_bound(s, m)
        assert p.predicted[i] == lininv.predicted_error(s, m)
        assert p.upper[i] == lininv.hmt_upper_bound(s, m).value
    assert np.all(p.lower <= p.predicted) and np.all(p.predicted <= p.upper)


def test_noisy_predictions_have_no_upper_bound():
    s = np.linspace(2.0, 0.1, 10)
    p = spectrum_predictions(s, [3, 6], noise_std=0.1)
    assert np.all(np.isnan(p.upper))
    assert p.predicted[0] == lininv.predicted_error(s, 3, 0.1)
    # noise only adds error: the noisy prediction exceeds the noiseless one
    assert np.all(p.predicted > spectrum_predictions(s, [3, 6]).predicted)


def test_local_predictions_of_a_linear_flow_equal_its_spectrum():
    """The Jacobian of x = mu + G z is G everywhere: local = global = the prior's spectrum."""
    prior = lininv.LinearInvertiblePrior.from_singular_values(
        np.geomspace(3.0, 0.01, 8), rng=1, mean=np.arange(8.0)
    )
    X = prior.sample(3, rng=2)
    S = local_singular_values(linear_flow(prior), X)
    # rtol 1e-12 * cond: the SVD of the Jacobian, assembled through the LU factors of G
    assert_close(S, np.tile(prior.singular_values, (3, 1)), rtol=1e-12 * 300)
    p = local_predictions(linear_flow(prior), X, [2, 4, 8])
    want = spectrum_predictions(prior.singular_values, [2, 4, 8])
    for field in ("lower", "predicted", "upper"):
        # rtol 1e-9: predictions are smooth in s (root of df(lambda) = m), s agrees to ~1e-13
        assert_close(
            getattr(p, field), np.tile(getattr(want, field), (3, 1)), rtol=1e-9, atol=1e-15
        )
    mean = p.mean()
    assert mean.lower.shape == (3,)
    assert_close(mean.predicted, want.predicted, rtol=1e-9, atol=1e-15)


def test_local_singular_values_match_finite_differences():
    """Second way: central differences of the flow's forward map."""
    flow = realnvp(6, n_layers=3, hidden=16, rng=3)
    # make the couplings non-trivial (their output layer starts at zero)
    theta = flow.get_params()
    flow.set_params(theta + 0.3 * np.random.default_rng(4).standard_normal(theta.size))
    X = flow.sample(2, rng=5)
    S = local_singular_values(flow, X)
    Z = flow.inverse(X)[0]
    h = 1e-6
    for j in range(2):
        J = np.empty((6, 6))
        for i in range(6):
            e = np.zeros(6)
            e[i] = h
            J[:, i] = (flow.forward(Z[j] + e)[0] - flow.forward(Z[j] - e)[0]) / (2 * h)
        # Weyl: |s_i - s_i'| <= ||J - J_fd||_2. Central differences err by ~h^2 |G'''| + eps |G| / h,
        # ~1e-10 |J| for smooth layers; atol 1e-7 s_max leaves room for the curvature of elu
        assert_close(S[j], np.linalg.svd(J, compute_uv=False), rtol=0.0, atol=1e-7 * S[j][0])


def test_global_predictions_use_the_fitted_gaussian():
    X = np.random.default_rng(0).standard_normal((200, 5)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.1])
    p = global_predictions(X, [2, 3])
    prior = lininv.LinearInvertiblePrior.fit(X)
    want = spectrum_predictions(prior.singular_values, [2, 3])
    assert_close(p.predicted, want.predicted)
    assert_close(global_predictions(prior, [2, 3]).lower, want.lower)


def test_global_prediction_matches_monte_carlo_of_the_gaussian_mle():
    """Second way for the global curve: the Gaussian's own MLE error, sampled, vs its bounds."""
    rng = np.random.default_rng(7)
    prior = lininv.LinearInvertiblePrior.from_singular_values(1 / np.sqrt(np.arange(1, 13)), rng=8)
    m = 4
    errs = [
        lininv.conditional_error(prior, lininv.gaussian_measurements(m, 12, rng=rng))
        for _ in range(400)
    ]
    p = global_predictions(prior, [m])
    mean, se = np.mean(errs), np.std(errs, ddof=1) / np.sqrt(len(errs))
    assert p.lower[0] <= mean + 5 * se and mean - 5 * se <= p.upper[0]


BAD = [
    (
        lambda: spectrum_predictions([1.0, 0.5], [1]),
        ValueError,
        r"ms must be an integer in \[2, 2\]",
    ),
    (lambda: spectrum_predictions([1.0, 0.5], [2, 2]), ValueError, "ms must be distinct"),
    (lambda: spectrum_predictions([1.0, 0.5], [2.5]), TypeError, "ms must be a non-empty 1-D"),
    (
        lambda: spectrum_predictions([1.0, 0.5], [2], noise_std=-1),
        ValueError,
        "noise_std must be >= 0",
    ),
    (lambda: local_predictions("flow", np.ones((2, 2)), [2]), TypeError, "flow must be"),
    (
        lambda: local_singular_values(linear_flow(np.eye(3)), np.ones((2, 4))),
        ValueError,
        r"X must have shape \(\?, 3\)",
    ),
    (lambda: global_predictions(np.ones(5), [2]), ValueError, "X_train must be a 2-D array"),
]


@pytest.mark.parametrize(("call", "exc", "match"), BAD)
def test_bad_calls(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
