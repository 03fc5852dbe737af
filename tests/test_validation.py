"""Bad input: every public entry point rejects it with a message naming the argument.

Each call must fail during validation, before any computation: the spy below makes every numpy
linear-algebra factorisation raise, so a bad call that reached the numerics would fail with the
wrong error.
"""

import numpy as np
import pytest

import lininv as L

GOOD_S = np.array([2.0, 1.0, 0.5, 0.25])
PRIOR = L.LinearInvertiblePrior.from_singular_values(GOOD_S, rng=0)
A2 = L.gaussian_measurements(2, 4, rng=1)
Y2 = np.ones(2)
LOW = L.LowRankPrior(np.eye(4)[:, :2])


def _rank_deficient_psd():
    for seed in range(100):  # the first seed whose rounded zero eigenvalue comes out positive
        X = np.random.default_rng(seed).standard_normal((5, 6))
        if np.linalg.eigvalsh(X.T @ X)[0] > 0.0:
            return X.T @ X
    raise AssertionError("no rank-deficient draw rounded to a positive definite matrix")


BAD_CALLS = [
    # (description, callable, exception, message pattern)
    (
        "non-square G",
        lambda: L.LinearInvertiblePrior(np.ones((3, 4))),
        ValueError,
        r"G must be a square matrix .* got \(3, 4\)",
    ),
    (
        "singular G",
        lambda: L.LinearInvertiblePrior(np.ones((3, 3))),
        ValueError,
        "G must be invertible",
    ),
    (
        "NaN in G",
        lambda: L.LinearInvertiblePrior(np.array([[1.0, np.nan], [0, 1]])),
        ValueError,
        "G must be finite; got 1 NaN",
    ),
    (
        "inf in G",
        lambda: L.LinearInvertiblePrior(np.array([[np.inf, 0], [0, 1]])),
        ValueError,
        "G must be finite",
    ),
    ("1-D G", lambda: L.LinearInvertiblePrior(np.ones(3)), ValueError, r"G must be a 2-D array"),
    (
        "string G",
        lambda: L.LinearInvertiblePrior("eye"),
        TypeError,
        "G must be a real numeric array",
    ),
    ("complex G", lambda: L.LinearInvertiblePrior(np.eye(2) * 1j), TypeError, "dtype complex128"),
    (
        "boolean G",
        lambda: L.LinearInvertiblePrior(np.eye(2, dtype=bool)),
        TypeError,
        "G must be a real numeric array",
    ),
    (
        "mean of wrong length",
        lambda: L.LinearInvertiblePrior(np.eye(3), mean=np.ones(2)),
        ValueError,
        r"mean must have shape \(3,\)",
    ),
    (
        "zero singular value",
        lambda: L.LinearInvertiblePrior.from_singular_values([1.0, 0.0]),
        ValueError,
        "s must be strictly positive",
    ),
    (
        "negative singular value",
        lambda: L.lower_bound([1.0, -1.0], 1),
        ValueError,
        "s must be strictly positive",
    ),
    (
        # s^2 underflows to 0: predicted_error divided by zero inside brentq before this check.
        "spectrum whose squares underflow",
        lambda: L.predicted_error([1.0, 1e-160, 1e-170], 1),
        ValueError,
        r"s must have squares representable in double precision .* got values in \[1e-170, 1\]",
    ),
    (
        "spectrum whose squares overflow",
        lambda: L.lower_bound([1e200, 1.0], 1),
        ValueError,
        "s must have squares representable in double precision",
    ),
    (
        "spectrum whose condition number squared overflows",
        lambda: L.exact_error_m1([1e100, 1e-100]),
        ValueError,
        "s must have squares representable in double precision",
    ),
    (
        # X^T X with X of shape (5, 6): rank 5, its zero eigenvalue rounds to ~ +-1e-16; a
        # positive rounding was accepted as a prior with cond(G) ~ 1e8 made of rounding errors.
        "numerically singular covariance",
        lambda: L.LinearInvertiblePrior.from_covariance(_rank_deficient_psd()),
        ValueError,
        r"Sigma must be positive definite; got smallest eigenvalue .*\(numerically singular",
    ),
    (
        "empty spectrum",
        lambda: L.predicted_error([], 1),
        ValueError,
        "s must be a non-empty 1-D array",
    ),
    (
        "2-D spectrum",
        lambda: L.hmt_upper_bound(np.ones((2, 2)), 2),
        ValueError,
        "s must be a non-empty 1-D array",
    ),
    (
        "bad rng",
        lambda: L.LinearInvertiblePrior.from_singular_values(GOOD_S, rng="seed"),
        TypeError,
        "rng must be None, an int seed",
    ),
    (
        "asymmetric covariance",
        lambda: L.LinearInvertiblePrior.from_covariance([[1.0, 0.5], [0.0, 1.0]]),
        ValueError,
        "Sigma must be symmetric",
    ),
    (
        "indefinite covariance",
        lambda: L.LinearInvertiblePrior.from_covariance([[1.0, 2.0], [2.0, 1.0]]),
        ValueError,
        "Sigma must be positive definite",
    ),
    (
        "fit on one row",
        lambda: L.LinearInvertiblePrior.fit(np.ones((1, 3))),
        ValueError,
        "X must have at least 2 rows",
    ),
    (
        "negative reg",
        lambda: L.LinearInvertiblePrior.fit(np.eye(3), reg=-1.0),
        ValueError,
        r"reg must be >= 0",
    ),
    (
        "log_prob wrong length",
        lambda: PRIOR.log_prob(np.ones(3)),
        ValueError,
        r"x must have shape \(4,\) or \(k, 4\)",
    ),
    (
        "sample negative size",
        lambda: PRIOR.sample(-1),
        ValueError,
        r"size must be an integer in \[0, inf\]",
    ),
    ("sample float size", lambda: PRIOR.sample(2.5), TypeError, "size must be an integer; got 2.5"),
    (
        "A wrong width",
        lambda: L.mle(PRIOR, np.ones((2, 3)), Y2),
        ValueError,
        r"A must have shape \(\?, 4\) to match the prior's n = 4; got \(2, 3\)",
    ),
    (
        "m > n for the MLE",
        lambda: L.mle(PRIOR, np.ones((5, 4)), np.ones(5)),
        ValueError,
        "A must have at most 4 rows",
    ),
    (
        "rank-deficient A",
        lambda: L.mle(PRIOR, np.ones((2, 4)), Y2),
        ValueError,
        "A G must have full row rank m = 2",
    ),
    (
        "y wrong length",
        lambda: L.mle(PRIOR, A2, np.ones(3)),
        ValueError,
        r"y must have shape \(2,\) or \(k, 2\) to match A's m = 2",
    ),
    ("NaN in y", lambda: L.mle(PRIOR, A2, np.array([1.0, np.nan])), ValueError, "y must be finite"),
    (
        "prior not a prior",
        lambda: L.mle(np.eye(4), A2, Y2),
        TypeError,
        "prior must be a LinearInvertiblePrior or LowRankPrior",
    ),
    (
        "negative noise",
        lambda: L.map_estimate(PRIOR, A2, Y2, -0.1),
        ValueError,
        "noise_std must be >= 0",
    ),
    (
        "noise as string",
        lambda: L.map_estimate(PRIOR, A2, Y2, "0.1"),
        TypeError,
        "noise_std must be a real number",
    ),
    (
        "NaN noise",
        lambda: L.conditional_error(PRIOR, A2, float("nan")),
        ValueError,
        "noise_std must be finite",
    ),
    (
        "zero gamma for ridge",
        lambda: L.latent_ridge(PRIOR, A2, Y2, 0.0),
        ValueError,
        "gamma must be > 0",
    ),
    (
        "negative gamma for denoise",
        lambda: L.denoise(PRIOR, np.ones(4), -1.0),
        ValueError,
        "gamma must be >= 0",
    ),
    (
        "unknown formulation",
        lambda: L.denoise(PRIOR, np.ones(4), 1.0, formulation="x"),
        ValueError,
        "formulation must be one of 'latent', 'signal'",
    ),
    (
        "low-rank prior for denoise",
        lambda: L.denoise(LOW, np.ones(4), 1.0),
        TypeError,
        "prior must be a LinearInvertiblePrior",
    ),
    (
        "z_init wrong length",
        lambda: L.latent_gradient_descent(PRIOR, A2, Y2, np.ones(3), 10),
        ValueError,
        r"z_init must have shape \(4,\)",
    ),
    (
        "negative steps",
        lambda: L.latent_gradient_descent(PRIOR, A2, Y2, np.ones(4), -1),
        ValueError,
        "steps must be an integer",
    ),
    (
        "step size too large",
        lambda: L.latent_gradient_descent(PRIOR, A2, Y2, np.ones(4), 1, step_size=1e9),
        ValueError,
        "step_size must be <=",
    ),
    (
        "m > n in theory",
        lambda: L.lower_bound(GOOD_S, 5),
        ValueError,
        r"m must be an integer in \[1, 4\]",
    ),
    (
        "m < 2 for the theorem",
        lambda: L.paper_upper_bound(GOOD_S, 1),
        ValueError,
        r"m must be an integer in \[2, 4\] \(the theorem needs 2 <= m <= n\)",
    ),
    (
        "m < 2 for HMT",
        lambda: L.hmt_upper_bound(GOOD_S, 1),
        ValueError,
        r"m must be an integer in \[2, 4\]",
    ),
    (
        "m as float",
        lambda: L.predicted_error(GOOD_S, 2.0),
        TypeError,
        "m must be an integer; got 2.0",
    ),
    (
        "m as bool",
        lambda: L.predicted_error(GOOD_S, True),
        TypeError,
        "m must be an integer; got True",
    ),
    (
        "m > n noiseless prediction",
        lambda: L.predicted_error(GOOD_S, 6),
        ValueError,
        "without noise",
    ),
    (
        "signal_error x0 wrong length",
        lambda: L.signal_error(PRIOR, A2, np.ones(5)),
        ValueError,
        r"x0 must have shape \(4,\)",
    ),
    (
        "zero measurements",
        lambda: L.gaussian_measurements(0, 4),
        ValueError,
        r"m must be an integer in \[1, inf\]",
    ),
    (
        "mask index out of range",
        lambda: L.mask_measurements([0, 4], 4),
        ValueError,
        r"observed indices must lie in \[0, 4\)",
    ),
    (
        "mask repeated index",
        lambda: L.mask_measurements([1, 1], 4),
        ValueError,
        "observed indices must be distinct",
    ),
    (
        "mask of wrong length",
        lambda: L.mask_measurements(np.ones(3, dtype=bool), 4),
        ValueError,
        r"boolean mask must have shape \(4,\)",
    ),
    (
        "mask of floats",
        lambda: L.mask_measurements([0.5], 4),
        TypeError,
        "observed must be a 1-D array of integer indices",
    ),
    ("low rank with k >= n", lambda: L.LowRankPrior(np.eye(3)), ValueError, "k < n"),
    (
        "low rank from_prior k = n",
        lambda: L.LowRankPrior.from_prior(PRIOR, 4),
        ValueError,
        r"k must be an integer in \[1, 3\]",
    ),
    (
        "denoising error negative noise",
        lambda: L.denoising_error(GOOD_S, -1.0, 0.1),
        ValueError,
        "noise_std must be >= 0",
    ),
    (
        "ragged input",
        lambda: L.lower_bound([[1.0], [1.0, 2.0]], 1),
        TypeError,
        "s must be a real numeric array",
    ),
    # The range rule of from_singular_values, now applied by every constructor: these were
    # accepted, and mle then returned NaN and conditional_error inf.
    (
        "G whose singular values square to underflow",
        lambda: L.LinearInvertiblePrior(1e-200 * np.eye(2)),
        ValueError,
        r"G must have singular values with squares representable in double precision .* got "
        r"singular values in \[1e-200, 1e-200\]",
    ),
    (
        "G whose singular values square to overflow",
        lambda: L.LinearInvertiblePrior(1e200 * np.eye(2)),
        ValueError,
        r"G must have singular values with squares representable .* in \[1e\+200, 1e\+200\]",
    ),
    (
        "covariance whose eigenvalues are subnormal",
        lambda: L.LinearInvertiblePrior.from_covariance(1e-310 * np.eye(2)),
        ValueError,
        r"Sigma must have eigenvalue square roots \(the singular values of G\) with squares "
        "representable",
    ),
    (
        "data too small for a representable covariance",
        lambda: L.LinearInvertiblePrior.fit(1e-200 * np.vstack([np.eye(2), -np.eye(2)])),
        ValueError,
        r"X must have principal standard deviations .* with squares representable",
    ),
    (
        "low-rank G whose singular values square to underflow",
        lambda: L.LowRankPrior(1e-200 * np.eye(3)[:, :2]),
        ValueError,
        "G must have singular values with squares representable",
    ),
    (
        "estimate beyond the double range",
        lambda: L.mle(PRIOR, 1e-300 * A2, 1e300 * Y2),
        ValueError,
        "the estimate is not representable in double precision",
    ),
    (
        "trials that cannot fit in memory",
        lambda: L.expected_error(GOOD_S, 2, trials=10**12),
        ValueError,
        r"trials = 1000000000000 needs about 21.8 TiB of memory",
    ),
    (
        "max_trials that cannot fit in memory",
        lambda: L.expected_error(GOOD_S, 2, max_trials=10**12),
        ValueError,
        r"max_trials = 1000000000000 needs about 21.8 TiB of memory",
    ),
    (
        "m whose m x m matrices cannot fit in memory",
        lambda: L.expected_error(GOOD_S, 10**6, 0.1),
        ValueError,
        r"m = 1000000 needs about .* TiB of memory \(with n = 4",
    ),
    (
        "noise beyond the Monte-Carlo range",
        lambda: L.expected_error(GOOD_S, 2, 1e160),
        ValueError,
        "noise_std must be at most 1e150 times s_max = 2",
    ),
    (
        "sweep cell that cannot fit in memory",
        lambda: L.sweep(GOOD_S, [2], trials=10**12),
        ValueError,
        r"trials = 1000000000000 needs about 21.8 TiB of memory \(mostly the per-draw errors "
        "it holds for spectrum 's'\\)",
    ),
    (
        "sweep noise beyond the Monte-Carlo range",
        lambda: L.sweep(GOOD_S, [2], [1e300]),
        ValueError,
        "noise_stds must be at most 1e150 times s_max = 2 for spectrum 's'; got 1e\\+300",
    ),
]


@pytest.fixture
def no_linear_algebra(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("validation must fail before any factorisation")

    for name in ("svd", "qr", "eigh", "cholesky", "solve", "lstsq"):
        monkeypatch.setattr(np.linalg, name, refuse)


def test_there_are_at_least_25_bad_calls():
    assert len(BAD_CALLS) >= 25


# Errors raised after a factorisation by design: rank and singularity are properties of the factor.
NEEDS_FACTOR = {
    "singular G",
    "rank-deficient A",
    "indefinite covariance",
    "numerically singular covariance",
    # singular values are properties of the factor, as is the size of the estimate
    "G whose singular values square to underflow",
    "G whose singular values square to overflow",
    "covariance whose eigenvalues are subnormal",
    "data too small for a representable covariance",
    "low-rank G whose singular values square to underflow",
    "estimate beyond the double range",
}


@pytest.mark.parametrize("name,call,exc,pattern", BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_bad_call_raises_clear_error(name, call, exc, pattern, request):
    if name not in NEEDS_FACTOR:
        request.getfixturevalue("no_linear_algebra")
    with pytest.raises(exc, match=pattern):
        call()
