"""Inputs at the edges of double precision: extreme scales, huge noise, huge workloads.

Each test pins a defect found by fuzzing; the docstrings say which. References are computed with
mpmath, whose exponent range is unbounded, so they hold at any scale.
"""

import math

import mpmath
import numpy as np
import pytest
from helpers import EPS
from hypothesis import given, settings
from hypothesis import strategies as st

import lininv as L
from lininv import _montecarlo, _montecarlo_draws, _validation
from lininv._montecarlo import CHUNK_DRAWS, FAST_TOL, errors_for_draws
from lininv.strategies import spectra

U = EPS / 2  # unit roundoff

# -------------------------------------------------------------------------------------------------
# mpmath references (50 digits: far below every tolerance here)


def _mp(x):
    return mpmath.matrix([[mpmath.mpf(float(v)) for v in row] for row in np.atleast_2d(x)])


def _mp_posterior_mean(prior, A, y, sigma):
    """mu + Sigma A^T (A Sigma A^T + sigma^2 I)^{-1} (y - A mu), in 50-digit arithmetic."""
    with mpmath.workdps(50):
        C, Am = _mp(prior.factor), _mp(A)
        S = C * C.T
        mu = _mp(prior.mean).T
        K = Am * S * Am.T + mpmath.mpf(sigma) ** 2 * mpmath.eye(A.shape[0])
        x = mu + S * Am.T * mpmath.lu_solve(K, _mp(y).T - Am * mu)
        return np.array([float(v) for v in x])


def _mp_conditional_error(prior, A, sigma):
    """tr Sigma - tr(Sigma A^T (A Sigma A^T + sigma^2 I)^{-1} A Sigma), in 80-digit arithmetic."""
    with mpmath.workdps(80):
        C, Am = _mp(prior.factor), _mp(A)
        S = C * C.T
        K = Am * S * Am.T + mpmath.mpf(sigma) ** 2 * mpmath.eye(A.shape[0])
        P = S * Am.T * mpmath.inverse(K) * Am * S
        return float(sum(S[i, i] - P[i, i] for i in range(S.rows)))


def _cond(M):
    d = np.linalg.svd(M, compute_uv=False)
    return d[0] / d[-1]


PRIOR2 = L.LinearInvertiblePrior.from_singular_values([1.0, 0.5], rng=3, mean=[0.25, -0.5])
A12 = np.array([[1.0, 2.0]])
SCALES = [1e-300, 1e-200, 1e-160, 2.0**-1000, 1.0, 1e155, 1e200, 1e300]


# -------------------------------------------------------------------------------------------------
# Defect 1: estimators at extreme scales of A (and y, noise with it)


def test_mle_example_from_the_report():
    """mle returned the prior mean [0, 0] here: (A G)(A G)^T = 5e310 overflowed."""
    prior = L.LinearInvertiblePrior.from_singular_values([1.0, 0.5])
    x = L.mle(prior, [[1e155, 2e155]], [3e155])
    # Sigma A^T (A Sigma A^T)^{-1} y = [1, 0.5] 1e155 * 3e155 / 2e310 = [1.5, 0.75]; a handful of
    # roundings of well-conditioned quantities: 8 ulps.
    np.testing.assert_allclose(x, [1.5, 0.75], rtol=8 * EPS, atol=0)


def _dyadic(gen, shape):
    """Random numbers with 20 significant bits: 2^k times them is exact down to k = -1054."""
    return np.ldexp(gen.integers(-(2**20), 2**20, shape).astype(float), -20)


@pytest.mark.parametrize("k", [-1054, -1000, -540, -200, 0, 200, 500, 1000])
def test_estimators_are_exactly_equivariant_under_powers_of_two(k):
    """Scaling A, y and the noise by 2^k changes no estimate and no error: not even a bit.

    Multiplying by a power of two is exact (inputs with 20 significant bits stay exact even as
    subnormals), and every formula is homogeneous: the MLE and the posterior mean of degree 0 in
    (A, y, noise), the latent ridge with gamma scaled by 4^k, the errors likewise. Before, such
    calls returned the prior mean, NaN, or values off in the fifth digit.
    """
    gen = np.random.default_rng(7)
    prior = L.LinearInvertiblePrior.from_singular_values(
        [2.0, 1.0, 0.5, 0.1], rng=gen, mean=[0.5, -0.25, 1.0, 0.0]
    )
    A, A3, y, y3 = _dyadic(gen, (2, 4)), _dyadic(gen, (6, 4)), _dyadic(gen, (3, 2)), _dyadic(gen, 6)
    x0, z0 = gen.standard_normal((2, 4)), gen.standard_normal(4)
    Ak, A3k, yk, y3k = (np.ldexp(v, k) for v in (A, A3, y, y3))
    # bitwise: scaling dyadic numbers by a power of two and back is exact in IEEE arithmetic
    assert all(np.array_equal(np.ldexp(v, -k), w) for v, w in ((Ak, A), (A3k, A3), (yk, y)))
    sigma, gamma = 0.3125, 0.1875  # dyadic, exact when scaled
    sk = math.ldexp(sigma, k)
    same = np.testing.assert_array_equal
    same(L.mle(prior, Ak, yk), L.mle(prior, A, y))
    same(L.map_estimate(prior, A3k, y3k, sk), L.map_estimate(prior, A3, y3, sigma))
    if abs(k) <= 500:  # gamma 4^k must be a normal double
        gk = math.ldexp(gamma, 2 * k)
        same(L.latent_ridge(prior, Ak, yk, gk), L.latent_ridge(prior, A, y, gamma))
    same(
        L.gradient_descent_limit(prior, Ak, yk[0], z0), L.gradient_descent_limit(prior, A, y[0], z0)
    )
    assert L.conditional_error(prior, Ak) == L.conditional_error(prior, A)
    assert L.conditional_error(prior, A3k, sk) == L.conditional_error(prior, A3, sigma)
    same(L.signal_error(prior, Ak, x0), L.signal_error(prior, A, x0))
    low = L.LowRankPrior(prior.factor[:, :3])
    same(L.signal_error(low, Ak, x0), L.signal_error(low, A, x0))


@pytest.mark.parametrize("c", SCALES)
def test_mle_and_posterior_mean_against_mpmath_at_extreme_scales(c):
    """1e-5 relative error at A ~ 1e-160, NaN at 1e-200, the prior mean at 1e155 before."""
    A0 = L.gaussian_measurements(2, 4, rng=1)
    prior = L.LinearInvertiblePrior.from_singular_values(
        [1.0, 0.7, 0.4, 0.2], rng=2, mean=np.ones(4)
    )
    A, y = c * A0, c * np.array([0.3, -1.1])
    B = A0 @ prior.factor  # cond(B) does not depend on c
    # The minimum-norm latent solution moves by at most ~cond(B) times the SVD's backward error
    # (max(m, n) eps relative); C maps it to the signal with a further cond(C) = 5. Factor 4 for
    # the remaining few roundings.
    tol = 4 * 4 * EPS * _cond(B) * 5
    for sigma in (0.0, 0.5 * c, 3.0 * c):
        x = L.map_estimate(prior, A, y, sigma)
        ref = _mp_posterior_mean(prior, A, y, sigma)
        assert np.linalg.norm(x - ref) <= tol * np.linalg.norm(ref - prior.mean), (c, sigma)


@pytest.mark.parametrize(
    "c, rel_noise",
    [
        (c, r)
        for c in SCALES
        for r in (0.0, 1e-200, 1e-3, 1.0, 1e200)
        if math.isfinite(c * r)  # the noise itself must be a double
    ],
)
def test_conditional_error_against_mpmath_at_extreme_scales(c, rel_noise):
    """conditional_error(prior, A * 5e-319) was 4.6e-5 off; 1e160 noise raised OverflowError."""
    prior = L.LinearInvertiblePrior.from_singular_values([3.0, 1.0, 0.2], rng=5)
    A = c * L.gaussian_measurements(2, 3, rng=6)
    sigma = rel_noise * c
    E = L.conditional_error(prior, A, sigma)
    ref = _mp_conditional_error(prior, A, sigma)
    # Sum of non-negative terms from one SVD of B: its backward error (3 n eps) moves the
    # subspaces by ~cond(B) 3 n eps, hence E by that times tr(Sigma); 4 ulps for the sums.
    B = (np.ldexp(A, -int(np.frexp(np.max(np.abs(A)))[1]))) @ prior.factor
    tol = 3 * 3 * EPS * _cond(B) * 10.04 + 4 * EPS * ref
    assert abs(E - ref) <= tol, (E, ref)


def test_conditional_error_of_a_subnormal_A_is_that_of_A_scaled_up():
    """The input A * 5e-319 is subnormal (about 17 bits); the error is exact for those bits."""
    A = L.gaussian_measurements(1, 2, rng=0) * 5e-319
    prior = L.LinearInvertiblePrior.from_singular_values([1.0, 0.5])
    assert L.conditional_error(prior, A) == L.conditional_error(prior, np.ldexp(A, 1070))


def test_estimate_beyond_the_double_range_is_refused():
    """x_hat = 1e600 cannot be returned: a clear error instead of inf."""
    with pytest.raises(ValueError, match="the estimate is not representable in double precision"):
        L.mle(PRIOR2, A12 * 1e-300, [1e300])
    with pytest.raises(ValueError, match="the squared error is not representable"):
        L.signal_error(PRIOR2, [[1.0, 0.0]], [1e200, 1e200])


@pytest.mark.parametrize(
    "s_scale, y_scale, mean_scale, gamma",
    [
        (1.0, 1.0, 1.0, 0.3),
        (1e-150, 1e300, 0.0, 1e300),  # shrinkage 1e-600: the estimate is about 1e-300
        (1e150, 1e-300, 0.0, 1e-300),
        (1e100, 1e308, -1e308, 1e150),  # y - mu = 2e308 overflowed
    ],
)
def test_denoise_against_mpmath_at_extreme_scales(s_scale, y_scale, mean_scale, gamma):
    """mu + U diag(s^2 / (s^2 + g)) U^T (y - mu): s^2 + g overflowed, the shrinkage underflowed."""
    prior = L.LinearInvertiblePrior.from_singular_values(
        s_scale * np.array([1.0, 0.3, 0.01]), rng=4, mean=mean_scale * np.array([0.5, 0.0, -1.0])
    )
    y = y_scale * np.array([1.0, -0.5, 0.5])
    x = L.denoise(prior, y, gamma)
    with mpmath.workdps(50):
        U = _mp(prior.left_singular_vectors)
        s2 = [mpmath.mpf(float(v)) ** 2 for v in prior.singular_values]
        shrink = [v / (v + mpmath.mpf(gamma)) for v in s2]
        mu = _mp(prior.mean).T
        r = _mp(y).T - mu
        step = U * mpmath.diag(shrink) * U.T * r
        ref = np.array([float(v) for v in mu + step])
        bound = float(max(shrink) * mpmath.norm(r))  # ||U D U^T r|| <= max(D) ||r||
    # Orthogonal U (n eps from orthogonality), a diagonal shrinkage and two products of n terms:
    # 4 n eps of the step's bound, plus the rounding of mu + step (one ulp of the result).
    tol = 4 * 3 * EPS * bound + EPS * np.abs(ref)
    assert np.all(np.abs(x - ref) <= tol), (x, ref)


@pytest.mark.parametrize(
    "s, sigma, gamma",
    [
        ([1.0, 2.0], 1e160, 1e300),  # sigma^2 and g^2 overflowed (OverflowError)
        ([1e-150], 0.0, 1e300),  # s^2 / (s^2 + g) = 1e-600: the error is s^2 = 1e-300
        ([1e-100, 1e50], 1e300, 1e300),
        ([1e150, 1e140], 1e-300, 1e-300),
        ([3.0, 1.0], 0.5, 0.25),
    ],
)
def test_denoising_error_against_mpmath_at_extreme_scales(s, sigma, gamma):
    with mpmath.workdps(50):
        g, sg = mpmath.mpf(gamma), mpmath.mpf(sigma)
        ref = sum(
            (g**2 * v**2 + v**4 * sg**2) / (v**2 + g) ** 2 for v in (mpmath.mpf(x) for x in s)
        )
    # Each term: under ten roundings, all on positive quantities; 16 ulps of the sum.
    assert abs(L.denoising_error(s, sigma, gamma) - float(ref)) <= 16 * EPS * float(ref)


# -------------------------------------------------------------------------------------------------
# Defect 2: one range rule for every constructor


@pytest.mark.parametrize(
    "s, accepted",
    [
        ([1e-200, 1e-200], False),
        ([1e200, 1e200], False),
        ([1e-154, 1e-154], False),  # just below sqrt(tiny) = 1.49e-154
        ([1.5e-154, 1.5e-154], True),
        ([9e153, 9e153], True),  # just below sqrt(max / 2) = 9.48e153
        ([1e154, 1e154], False),
        ([1e-150, 1e-150], True),
    ],
)
def test_every_constructor_applies_the_range_rule_of_from_singular_values(s, accepted):
    """LinearInvertiblePrior(1e-200 * eye(2)) was accepted, then mle gave NaN."""
    s = np.array(s)
    n = s.size
    X = np.vstack([np.diag(s), -np.diag(s)]) * math.sqrt(n)  # 2n rows with covariance diag(s^2)
    makers = {
        "from_singular_values": lambda: L.LinearInvertiblePrior.from_singular_values(s),
        "__init__": lambda: L.LinearInvertiblePrior(np.diag(s)),
        "fit": lambda: L.LinearInvertiblePrior.fit(X),
        "LowRankPrior": lambda: L.LowRankPrior(np.vstack([np.diag(s), np.zeros(n)])),
    }
    with np.errstate(over="ignore", under="ignore"):
        if np.all(np.isfinite(s**2)) and np.all(s**2 > 0):  # a covariance can express it
            makers["from_covariance"] = lambda: L.LinearInvertiblePrior.from_covariance(
                np.diag(s**2)
            )
    for name, make in makers.items():
        if accepted:
            make()
        else:
            with pytest.raises(ValueError, match="representable in double precision"):
                make()
            assert name


def test_the_range_rule_message_names_the_argument_and_the_values():
    pattern = (
        r"G must have singular values with squares representable in double precision "
        r"\(values in \[1.49e-154, 9.48e\+153\], .*\); got singular values in \[1e-200, 1e-200\]"
    )
    with pytest.raises(ValueError, match=pattern):
        L.LinearInvertiblePrior(1e-200 * np.eye(2))


# -------------------------------------------------------------------------------------------------
# Defects 3 and 4: predicted_error at any scale, with any noise


def _mp_prediction(s, m, sigma):
    """The deterministic equivalent, and the size S and slope D of its equation at the root.

    40 digits; bisection in log kappa on a rigorous bracket (no starting guess). The equation is
    G(kappa) = m - df(kappa) - m sigma^2 / kappa = 0, evaluated by lininv as an exact integer plus
    fractions below 1/2 (:func:`lininv._theory._excess`); S is the sum of the magnitudes of those
    terms and D = kappa G'(kappa).
    """
    with mpmath.workdps(40):
        t = [mpmath.mpf(float(v)) ** 2 for v in s]
        sg2 = mpmath.mpf(sigma) ** 2
        n = len(t)

        def G(k):  # m - df(k) - m sg2 / k, as an integer plus fractions (no cancellation)
            small = [v for v in t if v < k]
            big = [v for v in t if v >= k]
            fractions = sum(k / (v + k) for v in big) - sum(v / (v + k) for v in small)
            return (len(small) - (n - m)) + fractions - m * sg2 / k

        def bisect(lo, hi):
            a, b = mpmath.log(lo), mpmath.log(hi)
            for _ in range(200):
                mid = (a + b) / 2
                a, b = (mid, b) if G(mpmath.exp(mid)) < 0 else (a, mid)
            return mpmath.exp((a + b) / 2)

        if sigma == 0 and m == n:
            return 0.0, 0.0, 1.0
        hi = 4 * (sg2 + sum(t) / m)
        if sigma == 0:
            k = bisect(min(t) / (10 * n), hi)
        else:
            k = bisect(sg2 / 2, hi)  # G(sigma^2) = -df(sigma^2) < 0
        count = sum(1 for v in t if v < k) - (n - m)
        S = abs(count) + sum(min(v, k) / (v + k) for v in t) + m * sg2 / k
        D = sum(v * k / (v + k) ** 2 for v in t) + m * sg2 / k
        return float(sum(k * v / (v + k) for v in t)), float(S), float(D)


def _prediction_tolerance(n, S, D):
    """Relative tolerance for predicted_error, from the conditioning of its equation.

    Each term of G carries at most 5 u of rounding (t = (s/s_max)^2, a ratio, a sum and a
    quotient) and the sum of n + 2 of them n + 1 u more, all relative to S: |dG| <= (n + 6) u S,
    which moves the root by dG / D in log kappa. The bisection stops at adjacent doubles (2 u).
    The error sum_i kappa t_i / (t_i + kappa) has d log E / d log kappa in [0, 1] and adds
    (n + 6) u of its own (4 u per term, n - 1 in the sum, 2 u in kappa's conversion). A factor 2
    covers second order.
    """
    return 2 * ((n + 6) * U * S / D + 2 * U + (n + 6) * U)


@st.composite
def _prediction_problems(draw):
    s = draw(spectra(min_n=1, max_n=24, scale=False))
    s = s * 10.0 ** draw(st.floats(-150.0, 150.0))
    n = s.size
    noisy = draw(st.booleans())
    if noisy:
        sigma = 10.0 ** draw(st.floats(-300.0, 300.0))
        m = draw(st.integers(1, 3 * n))
    else:
        sigma, m = 0.0, draw(st.integers(1, n))
    return s, m, sigma


@settings(max_examples=150)
@given(_prediction_problems())
def test_predicted_error_against_mpmath_at_any_scale_and_noise(problem):
    """brentq with xtol=1e-300 failed to converge on such spectra; large noise overflowed."""
    s, m, sigma = problem
    pred = L.predicted_error(s, m, sigma)
    ref, S, D = _mp_prediction(s, m, sigma)
    if ref == 0.0:
        assert pred == 0.0  # bitwise: m = n without noise gives lambda = 0 exactly
        return
    tol = _prediction_tolerance(s.size, S, D)
    # A subnormal result (below 2.2e-308) is rounded to multiples of 2^-1074: one per term.
    assert abs(pred - ref) <= tol * ref + (s.size + 2) * 2.0**-1074, (pred, ref, tol)


@pytest.mark.parametrize(
    "s, m, sigma",
    [
        ([1.0, 1e-4], 1, 1e-12),
        ([1e20, 1e16], 1, 0.2),
        ([1.0, 0.5], 1, 1e160),
        ([1.0] * 6, 3, 1e300),
    ],
)
def test_predicted_error_examples_from_the_report(s, m, sigma):
    """RuntimeError: Failed to converge, and OverflowError for 1e160."""
    ref, S, D = _mp_prediction(np.array(s), m, sigma)
    tol = _prediction_tolerance(len(s), S, D)
    assert abs(L.predicted_error(s, m, sigma) - ref) <= tol * ref


@pytest.mark.parametrize("k", [-500, -100, 0, 100, 500])  # 2^k s within the range rule
@pytest.mark.parametrize("sigma", [0.0, 1e-3, 1.0, 1e100])
def test_predicted_error_is_exactly_homogeneous_of_degree_two(k, sigma):
    """E(m) scales by 4^k when s and the noise scale by 2^k: exactly, in units of s_max^2."""
    s = np.array([1.0, 0.6, 0.3, 0.01])
    sk, sigk = np.ldexp(s, k), math.ldexp(sigma, k)
    for m in (1, 2, 3) if sigma == 0 else (1, 3, 9):
        assert L.predicted_error(sk, m, sigk) == math.ldexp(L.predicted_error(s, m, sigma), 2 * k)


# -------------------------------------------------------------------------------------------------
# Defect 5: no unbounded work


@pytest.fixture
def no_work(monkeypatch):
    """Fail if a Monte-Carlo run starts computing."""

    def refuse(*args, **kwargs):
        raise AssertionError("the call must be refused before any work")

    monkeypatch.setattr(_montecarlo, "compute_chunks", refuse)
    monkeypatch.setattr(_montecarlo, "compute_dense_chunks", refuse)
    monkeypatch.setattr(_montecarlo_draws, "_errors_from_y", refuse)


def test_huge_trials_are_refused_at_once_with_the_memory_estimate(no_work):
    """trials=10**12 built 1.6e10 chunk tuples (MemoryError after 15 s)."""
    with pytest.raises(ValueError, match=r"trials = 1000000000000 needs about 21.8 TiB of memory"):
        L.expected_error([1.0] * 8, 2, trials=10**12)
    with pytest.raises(ValueError, match=r"max_trials = 1000000000000 needs about 21.8 TiB"):
        L.expected_error([1.0] * 8, 2, max_trials=10**12)


def test_huge_m_with_noise_is_refused_at_once(no_work):
    """m = 10**6 with noise asked for TiB of m x m matrices per draw."""
    with pytest.raises(
        ValueError, match=r"m = 1000000 needs about .* TiB of memory \(with n = 256"
    ):
        L.expected_error(np.ones(256), 10**6, 0.1)
    omega = np.zeros((1, 2, 10**6))
    with pytest.raises(ValueError, match=r"m = 1000000 needs about .* TiB of memory"):
        errors_for_draws([1.0, 1.0], omega, 0.1)


def test_memory_refusal_follows_the_machine(monkeypatch, no_work):
    # 24 bytes per stored value dominate a flat n = 4 run: 10**6 trials need ~23 MiB.
    monkeypatch.setattr(_validation, "memory_limit", lambda: 2**20)
    with pytest.raises(ValueError, match=r"trials = 1000000 needs about 2\d.\d MiB .* has 1 MiB"):
        L.expected_error([1.0] * 4, 2, trials=10**6)
    monkeypatch.setattr(_validation, "memory_limit", lambda: None)  # unknown: nothing refused
    _montecarlo.check_workload(4, 1.0, 2, 0.0, stored=10**15)


def test_adaptive_run_plans_its_chunks_lazily(monkeypatch):
    """An adaptive run must not allocate in proportion to max_trials before it starts.

    A flat spectrum has zero variance, so the run stops after the minimum of 4 chunks; planning
    all 10**11 / 64 chunks up front took tens of GiB.
    """
    import tracemalloc

    monkeypatch.setattr(_validation, "memory_limit", lambda: 2**80)
    L.expected_error([1.0] * 6, 2, rtol=1e-3, max_trials=256, rng=0)  # imports, compiled kernels
    tracemalloc.start()
    est = L.expected_error([1.0] * 6, 2, rtol=1e-3, max_trials=10**11, rng=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert est.trials == 4 * CHUNK_DRAWS
    # a flat spectrum's error is n - m = 4 per draw up to the kernels' certified accuracy
    assert abs(est.mean - 4.0) <= 4.0 * FAST_TOL
    # One batch of normals (4096 draws of 6 x 2: 384 KiB) and a few 64-draw chunks of values.
    assert peak < 2**21, f"peak {peak / 2**20:.1f} MiB"


def test_noise_beyond_the_kernels_range_is_refused_in_errors_for_draws():
    with pytest.raises(ValueError, match=r"noise_std must be at most sqrt\(max double / m\)"):
        errors_for_draws([1.0, 1.0], np.ones((1, 2, 1)), 1e160)
