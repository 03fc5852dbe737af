"""Dataset bias and measurement ensembles: the exact mismatched error, its Monte-Carlo expectation
under every ensemble, the rank-k generator's exact error, the crossover, and the prediction.

References are independent: dense textbook formulas with explicit inverses on small cases,
averages over sampled signals, 60-digit mpmath, and a brute-force Monte Carlo that calls the
dense conditional error draw by draw.
"""

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from helpers import EPS, assert_close, nudge

import lininv as L
from lininv import _montecarlo, _montecarlo_dense
from lininv._low_rank import generator_expected_error
from lininv._mismatch import crossover, make_truth, truth_diagonal


def _dense_error(prior, A, sigma, truth):
    """E ||x_hat - x0||^2 from explicit inverses (the textbook formula, small cases only)."""
    S, mu = prior.covariance, prior.mean
    M = truth.factor @ truth.factor.T + np.outer(truth.mean - mu, truth.mean - mu)
    if sigma == 0.0:
        K = np.linalg.inv(A @ S @ A.T)
        noise = 0.0
    else:
        K = np.linalg.inv(A @ S @ A.T + sigma**2 * np.eye(A.shape[0]))
        noise = sigma**2 * np.sum((S @ A.T @ K) ** 2)
    T = np.eye(prior.n) - S @ A.T @ K @ A
    return float(np.trace(T @ M @ T.T) + noise)


def _problem(n=7, m=3, seed=0, cond=10.0):
    gen = np.random.default_rng(seed)
    s = nudge(np.geomspace(1.0, 1.0 / cond, n))
    prior = L.LinearInvertiblePrior.from_singular_values(s, rng=gen, mean=gen.standard_normal(n))
    truth = L.LinearInvertiblePrior(nudge(gen.standard_normal((n, n))), mean=gen.standard_normal(n))
    return prior, truth, gen.standard_normal((m, n)) / math.sqrt(m)


@pytest.mark.parametrize("sigma", [0.0, 0.3, 5.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mismatched_error_is_the_textbook_formula(sigma, seed):
    prior, truth, A = _problem(seed=seed)
    # the dense formula inverts A Sigma A^T (cond <= 1e4 here): eps cond^2 n, generously 1e-9
    assert_close(
        L.conditional_error(prior, A, sigma, truth=truth),
        _dense_error(prior, A, sigma, truth),
        rtol=1e-9,
    )


def test_a_low_rank_truth_and_a_mean_shift():
    prior, _, A = _problem(seed=3)
    data = L.LowRankPrior(np.random.default_rng(4).standard_normal((7, 2)), mean=np.ones(7))
    shift = L.LinearInvertiblePrior(prior.G, mean=prior.mean + 2.0)
    for truth in (data, shift):
        # same dense reference and tolerance as above
        assert_close(
            L.conditional_error(prior, A, truth=truth),
            _dense_error(prior, A, 0.0, truth),
            rtol=1e-9,
        )
    # a pure mean shift adds exactly its own error to the matched one (cross terms vanish)
    matched = L.conditional_error(prior, A)
    delta = L.signal_error(prior, A, prior.mean + 2.0)
    assert_close(L.conditional_error(prior, A, truth=shift), matched + delta, rtol=1e-12)


def test_truth_none_or_the_prior_itself_is_todays_number_to_the_last_bit():
    prior, _, A = _problem()
    for sigma in (0.0, 0.2):
        today = L.conditional_error(prior, A, sigma)
        # bitwise: truth=prior takes the matched path, the very same computation
        assert L.conditional_error(prior, A, sigma, truth=prior) == today
        # an equal but distinct truth goes through the mismatched formula: equal up to rounding
        copy = L.LinearInvertiblePrior(prior.G, mean=prior.mean)
        assert_close(L.conditional_error(prior, A, sigma, truth=copy), today, rtol=1e-12)


@pytest.mark.parametrize("sigma", [0.0, 0.4])
def test_mismatched_error_is_the_mean_over_sampled_signals(sigma):
    prior, truth, A = _problem(seed=5)
    gen = np.random.default_rng(6)
    x0 = truth.sample(40000, rng=gen)
    y = x0 @ A.T + sigma * gen.standard_normal((x0.shape[0], A.shape[0]))
    xhat = L.mle(prior, A, y) if sigma == 0.0 else L.map_estimate(prior, A, y, sigma)
    err = np.sum((xhat - x0) ** 2, axis=1)
    exact = L.conditional_error(prior, A, sigma, truth=truth)
    # 5 standard errors of the sample mean
    assert abs(err.mean() - exact) <= 5 * err.std(ddof=1) / math.sqrt(err.size)


def _mp_error(prior, A, truth, digits=60):
    """The noiseless mismatched error in mpmath, from G, A and the truth's factor."""
    mp.mp.dps = digits
    G, Gt = mp.matrix(prior.G.tolist()), mp.matrix(truth.factor.tolist())
    Am = mp.matrix(A.tolist())
    d = mp.matrix((truth.mean - prior.mean).tolist())
    Sig = G * G.T
    K = mp.inverse(Am * Sig * Am.T)
    T = mp.eye(prior.n) - Sig * Am.T * K * Am
    R, r = T * Gt, T * d
    return float(
        sum(R[i, j] ** 2 for i in range(R.rows) for j in range(R.cols)) + sum(v**2 for v in r)
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mismatched_error_at_condition_1e12_against_mpmath(seed):
    gen = np.random.default_rng(10 + seed)
    n, m = 6, 3
    prior = L.LinearInvertiblePrior.from_singular_values(np.geomspace(1, 1e-12, n), rng=gen)
    truth = L.LinearInvertiblePrior.from_singular_values(np.geomspace(1, 1e-3, n), rng=gen)
    A = gen.standard_normal((m, n))
    ours, ref = L.conditional_error(prior, A, truth=truth), _mp_error(prior, A, truth)
    # the error is a squared norm of S Z_perp (Z_perp^T W): rounding of size eps cond(G) in the
    # inner products, relative to the result; cond(G) = 1e12 gives a bound of about 1e-4, and the
    # measured agreement is far better (the textbook formula in doubles loses every digit here)
    assert abs(ours - ref) <= 1e12 * EPS * ref


def test_the_rank_k_generator_under_a_truth_is_the_textbook_formula():
    prior, truth, _ = _problem(seed=7)
    gen = L.LowRankPrior.from_prior(prior, 3)
    rng = np.random.default_rng(8)
    for m, sigma in ((2, 0.0), (5, 0.0), (5, 0.3)):
        A = rng.standard_normal((m, prior.n))
        Gk = gen.G
        B = A @ Gk
        KB = (
            np.linalg.pinv(B)
            if sigma == 0
            else np.linalg.solve(B.T @ B + sigma**2 * np.eye(3), B.T)
        )
        T = np.eye(prior.n) - Gk @ KB @ A
        M = truth.factor @ truth.factor.T + np.outer(truth.mean - gen.mean, truth.mean - gen.mean)
        ref = np.trace(T @ M @ T.T) + sigma**2 * np.sum((Gk @ KB) ** 2)
        # pinv / solve on a 3 x 3 system of moderate condition: 1e-10 relative
        assert_close(L.conditional_error(gen, A, sigma, truth=truth), ref, rtol=1e-10)
        # never below the generator's representation error of the truth
        assert L.conditional_error(gen, A, sigma, truth=truth) >= gen.expected_representation_error(
            truth
        ) * (1 - 1e-12)


# --- the expected error under truths and ensembles -------------------------------------------


def _brute_force(prior, m, sigma, truth, ensemble, draws, seed):
    """Mean and standard error of the dense conditional error over independent draws of A.

    Without noise the MLE depends on A only through its row space: a draw with dependent rows
    (Rademacher, DCT) is replaced by an orthonormal basis of its rows.
    """
    from scipy.linalg import orth

    gen = np.random.default_rng(seed)
    vals = []
    for _ in range(draws):
        A = L.measurements(ensemble, m, prior.n, rng=gen)
        if sigma == 0.0:
            A = orth(A.T, rcond=1e-10).T  # exact dependencies of +-1 rows: singular values ~ eps
        vals.append(L.conditional_error(prior, A, sigma, truth=truth))
    return np.mean(vals), np.std(vals, ddof=1) / math.sqrt(draws)


@pytest.mark.parametrize(
    "ensemble, sigma, with_truth",
    [
        ("gaussian", 0.0, True),
        ("haar", 0.1, True),
        ("rademacher", 0.0, True),
        ("rademacher", 0.2, False),
        ("dct", 0.0, True),
        ("mask", 0.1, True),
    ],
)
def test_expected_error_agrees_with_an_independent_brute_force(ensemble, sigma, with_truth):
    n, m = 12, 5
    gen = np.random.default_rng(20)
    prior = L.LinearInvertiblePrior.from_singular_values(np.linspace(1.5, 0.3, n), rng=gen)
    truth = (
        L.LinearInvertiblePrior.from_singular_values(np.linspace(1.0, 0.6, n), rng=gen)
        if with_truth
        else None
    )
    est = L.expected_error(prior, m, sigma, truth=truth, ensemble=ensemble, trials=1500, rng=21)
    ref, ref_se = _brute_force(prior, m, sigma, truth or prior, ensemble, 1500, 22)
    # independent draws: 4.5 combined standard errors
    assert abs(est.mean - ref) <= 4.5 * math.hypot(est.stderr, ref_se), (est.mean, ref)


def test_gaussian_and_haar_rows_give_the_same_noiseless_expected_error():
    """The MLE depends on A through its row space, uniformly distributed for both ensembles."""
    n, m = 20, 6
    prior = L.LinearInvertiblePrior.from_singular_values(np.arange(1, n + 1) ** -0.75, rng=0)
    truth = L.LinearInvertiblePrior.from_singular_values(np.arange(1, n + 1) ** -0.25, rng=1)
    for t in (None, truth):
        a = L.expected_error(prior, m, truth=t, ensemble="gaussian", trials=4000, rng=2)
        b = L.expected_error(prior, m, truth=t, ensemble="haar", trials=4000, rng=3)
        # independent estimates of one number: 4.5 combined standard errors
        assert abs(a.mean - b.mean) <= 4.5 * math.hypot(a.stderr, b.stderr)


def test_mask_on_a_diagonal_prior_is_one_minus_m_over_n_of_the_trace_exactly():
    """Each coordinate is observed with probability m/n and then recovered exactly."""
    n, m = 7, 3
    s = np.linspace(2.0, 0.2, n)
    prior = L.LinearInvertiblePrior.from_singular_values(s)  # G = diag(s)
    errors = [
        L.conditional_error(prior, L.mask_measurements(list(rows), n))
        for rows in itertools.combinations(range(n), m)
    ]
    # every subset equally likely: the average over all C(n, m) subsets is the expectation;
    # each error is a sum of at most n squares (rounding: n eps)
    assert_close(np.mean(errors), (1 - m / n) * np.sum(s**2), rtol=4 * n * EPS)
    est = L.expected_error(s, m, ensemble="mask", trials=2000, rng=0)
    assert abs(est.mean - (1 - m / n) * np.sum(s**2)) <= 4.5 * est.stderr


def test_rotation_invariant_ensembles_see_the_truth_only_through_its_diagonal():
    n, m = 10, 4
    prior = L.LinearInvertiblePrior.from_singular_values(np.linspace(2, 0.5, n), rng=0)
    truth = L.LinearInvertiblePrior.from_singular_values(np.linspace(1, 0.2, n), rng=1)
    q = truth_diagonal(prior, truth)
    # a truth with the same diagonal in the prior's basis but no off-diagonal part
    U = prior.left_singular_vectors
    diag_truth = L.LinearInvertiblePrior(U * np.sqrt(q), mean=prior.mean + 0.0)
    a = L.expected_error(prior, m, truth=truth, trials=3000, rng=4)
    b, b_se = _brute_force(prior, m, 0.0, diag_truth, "gaussian", 3000, 5)
    assert abs(a.mean - b) <= 4.5 * math.hypot(a.stderr, b_se)


def test_dense_draws_do_not_depend_on_batch_size_or_executor():
    prior = L.LinearInvertiblePrior.from_singular_values(np.linspace(1, 0.1, 16), rng=0)
    truth = L.LinearInvertiblePrior.from_singular_values(np.linspace(1, 0.5, 16), rng=1)
    kw = dict(truth=truth, ensemble="rademacher", trials=300, rng=7)
    base = L.expected_error(prior, 5, **kw)
    # bitwise: the same draws from the same chunk streams, regrouped (the engine's promise)
    assert L.expected_error(prior, 5, batch_size=1, **kw) == base
    # bitwise: the same computation on two worker processes
    assert L.expected_error(prior, 5, executor=2, **kw) == base


BAD = [
    (dict(ensemble="gauss"), ValueError, "ensemble must be one of gaussian, rademacher"),
    (dict(ensemble=3), TypeError, "ensemble must be one of"),
    (
        dict(ensemble=lambda m, n, rng: np.ones((m, n + 1))),
        ValueError,
        r"ensemble must return an array of shape \(3, 8\)",
    ),
    (
        dict(ensemble=lambda m, n, rng: np.full((m, n), np.nan)),
        ValueError,
        "ensemble must return finite entries",
    ),
    (
        dict(truth=L.LinearInvertiblePrior(np.eye(5))),
        ValueError,
        "truth must have the prior's dimension n = 8; got a truth of n = 5",
    ),
    (
        dict(truth="prior"),
        TypeError,
        "truth must be None, a LinearInvertiblePrior or a LowRankPrior",
    ),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_truths_and_ensembles_are_refused_before_any_work(kwargs, exc, match, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("refused too late: the run started")

    monkeypatch.setattr(_montecarlo_dense, "_invertible_error", refuse)
    monkeypatch.setattr(_montecarlo, "compute_chunks", refuse)
    prior = L.LinearInvertiblePrior.from_singular_values(np.linspace(1, 0.5, 8), rng=0)
    with pytest.raises(exc, match=match):  # a callable ensemble is probed once before the run
        L.expected_error(prior, 3, trials=64, rng=0, **kwargs)
    if "ensemble" not in kwargs or not callable(kwargs["ensemble"]):
        with pytest.raises(exc, match=match):
            L.measurements(
                kwargs.get("ensemble", "gaussian"), 3, 8
            ) if "ensemble" in kwargs else L.conditional_error(
                prior, np.ones((3, 8)), truth=kwargs["truth"]
            )


def test_a_spectrum_with_a_truth_is_refused():
    with pytest.raises(
        TypeError, match="s must be a LinearInvertiblePrior or LowRankPrior when truth is given"
    ):
        L.expected_error([1.0, 0.5], 1, truth=L.LinearInvertiblePrior(np.eye(2)))


# --- the rank-k generator, the crossover, the prediction ----------------------------------


def test_generator_expected_error_is_exact_against_monte_carlo():
    n = 40
    prior = L.LinearInvertiblePrior.from_singular_values(np.arange(1, n + 1) ** -0.5, rng=0)
    truth = L.LinearInvertiblePrior.from_singular_values(np.arange(1, n + 1) ** -0.2, rng=1)
    gen = L.LowRankPrior.from_prior(prior, 6)
    for m in (12, 20):
        est = L.expected_error(gen, m, truth=truth, trials=3000, rng=m)
        exact = generator_expected_error(gen, m, truth=truth)
        assert abs(est.mean - exact) <= 4.5 * est.stderr, (m, est.mean, exact)
    with pytest.raises(ValueError, match=r"m must be an integer in \[8, inf\]"):
        generator_expected_error(gen, 7, truth=truth)


def test_the_crossover_exists_for_a_full_rank_truth_and_the_generator_has_a_floor():
    n = 48
    prior = L.LinearInvertiblePrior.from_singular_values(np.arange(1, n + 1) ** -0.5, rng=0)
    truth = L.LinearInvertiblePrior.from_singular_values(np.arange(1, n + 1) ** -0.3, rng=1)
    gen = L.LowRankPrior.from_prior(prior, 8)
    c = crossover(prior, gen, truth)
    assert c.m is not None and 1 <= c.m < n
    # bitwise: at m = n the prediction is exactly 0 (noiseless, square A)
    assert c.invertible[-1] == 0.0 and np.all(c.generator >= c.representation_error)
    assert np.all(c.invertible[c.ms >= c.m][:1] < c.generator[c.ms >= c.m][:1])
    assert c.representation_error > 0.0


@pytest.mark.parametrize("rotated", [False, True])
def test_the_mismatched_prediction_is_within_two_percent_here(rotated):
    n, m = 192, 48
    s = np.arange(1, n + 1) ** -0.5
    prior = L.LinearInvertiblePrior.from_singular_values(s)
    truth = make_truth(("rotated:" if rotated else "") + "power:0.5", s, seed=3)
    est = L.expected_error(prior, m, truth=truth, rtol=2e-3, rng=4)
    pred = L.predicted_error(prior, m, truth=truth)
    # the deterministic equivalent's own error (measured ~0.1-1% for stable rank >> m) plus
    # 3 standard errors of the estimate
    assert abs(pred - est.mean) <= 0.02 * est.mean + 3 * est.stderr


def test_make_truth_forms():
    s = np.linspace(1, 0.5, 5)
    assert make_truth("prior", s, seed=0) is None
    aligned = make_truth("flat", s, seed=0)
    assert_close(aligned.covariance, np.eye(5), rtol=0, atol=4 * EPS)  # identity up to rounding
    rot = make_truth("rotated:power:1", s, seed=0)
    assert_close(
        np.sort(np.linalg.eigvalsh(rot.covariance))[::-1], np.arange(1, 6) ** -1.0, rtol=1e-12
    )
    with pytest.raises(ValueError, match="parameter must be"):
        make_truth("power:x", s, seed=0)
