"""The Monte-Carlo engine: per-draw kernels against independent formulas, exact results in
expectation, the bounds, reproducibility, memory, and bad input."""

import math
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import mpmath as mp
import numpy as np
import pytest
from helpers import EPS, assert_close, nudge
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

import lininv
from lininv import _montecarlo_draws as mc
from lininv._montecarlo import chunk_normals, errors_for_draws, expected_error
from lininv.strategies import spectra

U = EPS / 2  # unit roundoff
K = mc._kernels()


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # The reference computations in these tests make many small BLAS calls; on a loaded
    # 2-core machine OpenBLAS's thread wake-ups dominate them.
    with threadpool_limits(1):
        yield


def power(n, a=1.0):
    return np.arange(1, n + 1) ** (-a / 2)


# ------------------------------------------------------------------------------------------------
# Random numbers


def test_normals_equal_numpy_sfc64_bit_for_bit():
    # 200,000 normals: ~50 reach the ziggurat's tail branch and ~2,400 its wedge branch.
    ours = chunk_normals(12345, 7, 500, 20, 20)
    ref = np.random.Generator(np.random.SFC64(np.random.SeedSequence(12345, spawn_key=(7,))))
    # bitwise: chunk_normals promises numpy's SFC64 ziggurat draws bit for bit (its docstring)
    assert np.array_equal(ours, ref.standard_normal((500, 20, 20)))


def test_normals_do_not_depend_on_how_a_stream_is_split():
    state = mc._chunk_state(3, 0)
    parts = []
    for size in (1, 7, 1000, 13):
        out = np.empty(size)
        K.fill_normals(state, out)
        parts.append(out)
    # bitwise: one stream filled in pieces draws the same numbers
    assert np.array_equal(np.concatenate(parts), chunk_normals(3, 0, 1, 1021, 1).ravel())


def test_chunks_are_independent_streams():
    a = chunk_normals(1, 0, 1, 4000, 1).ravel()
    b = chunk_normals(1, 1, 1, 4000, 1).ravel()
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 5 / math.sqrt(4000)  # 5 standard errors of a correlation under independence


# ------------------------------------------------------------------------------------------------
# Per-draw kernels


@pytest.mark.parametrize("n, m", [(8, 3), (64, 16), (96, 60), (80, 79)])
def test_flat_spectrum_is_exact_per_draw(n, m):
    # tr(I - P_Y) = n - m for every full-rank draw; (96, 60) and (80, 79) run the BLAS kernel.
    # Tolerance: the kernels' own worst-case bound beta for the draw (large for the nearly
    # square (80, 79), whose Gram matrix is ill conditioned) or the stable kernel's 100 n u.
    s = np.full(n, 3.0)
    omega = np.random.default_rng(n).standard_normal((5, n, m))
    exact = 9.0 * (n - m)
    for e, w in zip(errors_for_draws(s, omega), omega, strict=True):
        assert abs(e - exact) <= _beta(s, s[:, None] * w, exact) + 100 * n * U * exact


def test_square_noiseless_draw_has_zero_error():
    omega = np.random.default_rng(0).standard_normal((2, 6, 6))
    # bitwise: m = n without noise returns zeros by construction (P_Y = I), no arithmetic
    assert np.array_equal(errors_for_draws(power(6), omega), np.zeros(2))


def _dense_conditional(s, omega, noise):
    prior = lininv.LinearInvertiblePrior(np.diag(s))
    m = omega.shape[1]
    return lininv.conditional_error(prior, omega.T / np.sqrt(m), noise)


@pytest.mark.parametrize(
    "n, m, noise",
    [
        (12, 4, 0.0),
        (12, 4, 0.3),
        (40, 30, 0.0),
        (40, 30, 0.3),
        (90, 56, 0.0),
        (90, 56, 0.3),
        (7, 12, 0.3),
    ],
)
def test_each_draw_equals_conditional_error_of_the_dense_problem(n, m, noise):
    # G = diag(s), A = omega^T / sqrt(m): the core's SVD/null-space formula is an independent
    # implementation. (90, 56) runs the BLAS kernel; (7, 12) has more measurements than n.
    s = nudge(power(n))
    omega = nudge(np.random.default_rng(n + m).standard_normal((4, n, m)))
    ours = errors_for_draws(s, omega, noise)
    ref = [_dense_conditional(s, w, noise) for w in omega]
    assert_close(ours, ref, rtol=1e-11)  # both ~n u accurate; cond(S omega) <= 1e3 here


def test_rows_of_omega_follow_the_order_of_s():
    s = power(10)
    perm = np.random.default_rng(1).permutation(10)
    omega = np.random.default_rng(2).standard_normal((3, 10, 4))
    assert_close(errors_for_draws(s[perm], omega[:, perm, :]), errors_for_draws(s, omega))


def _mp_error(s, omega, noise):
    """tr(S^2) - tr((M + m sigma^2 I)^{-1} Y^T S^2 Y) in 80-digit arithmetic."""
    with mp.workdps(80):
        n, m = omega.shape
        S = [mp.mpf(float(x)) for x in s]
        Y = mp.matrix(n, m)
        for i in range(n):
            for a in range(m):
                Y[i, a] = S[i] * mp.mpf(float(omega[i, a]))
        M = Y.T * Y
        for a in range(m):
            M[a, a] += m * mp.mpf(float(noise)) ** 2
        W = Y.T * mp.diag([x**2 for x in S]) * Y
        T = mp.inverse(M) * W
        return float(sum(x**2 for x in S) - sum(T[a, a] for a in range(m)))


ILL = {
    "exp 1e12": np.geomspace(1.0, 1e-12, 10),
    "cliff 1e12": np.r_[np.ones(4), np.full(6, 1e-12)],
    "spike 1e6": np.r_[1e6, np.ones(9)],
    "power 1e12": np.arange(1, 11) ** -12.0,
}


@pytest.mark.parametrize("noise", [0.0, 1e-4])
@pytest.mark.parametrize("name", list(ILL))
def test_ill_conditioned_draws_against_mpmath(name, noise):
    # cond(s) up to 1e12 (cond(S^2) 1e24). The fast kernel is used only where its worst-case
    # bound certifies FAST_TOL, and the stable kernel is row-wise backward stable, accurate to a
    # few n u: 100 n u covers both (observed: <= 2e-14 relative).
    s = nudge(ILL[name])
    rng = np.random.default_rng(5)
    for m in (1, 3, 5):
        omega = nudge(rng.standard_normal((3, s.size, m)))
        ref = np.array([_mp_error(s, w, noise) for w in omega])
        assert_close(errors_for_draws(s, omega, noise), ref, rtol=FAST_OR_STABLE(s.size))
        stable = [mc._stable_error(s, s[:, None] * w, m * noise**2) for w in omega]
        assert_close(stable, ref, rtol=100 * s.size * U)


def FAST_OR_STABLE(n):
    return mc.FAST_TOL + 100 * n * U


def test_cancellation_sends_draws_to_the_stable_kernel():
    # Cliff spectrum: the error (~1e-23) is 1e-23 of tr(S^2); the fast kernel's value is garbage
    # and must be rejected.
    s = ILL["cliff 1e12"]
    Y = s[:, None] * np.random.default_rng(0).standard_normal((4, 10, 4))
    out = np.empty(4)
    ok = np.zeros(4, dtype=bool)
    K.fast_errors(s, Y, 0.0, mc.FAST_TOL, out, ok)
    assert not ok.any()


@settings(max_examples=40)
@given(
    spectra(min_n=2, max_n=12),
    st.integers(1, 11),
    st.sampled_from([0.0, 1e-3, 1.0]),
    st.integers(0, 2**32 - 1),
)
def test_fast_kernel_accepts_only_what_it_certifies(s, m, noise, seed):
    # Whenever the fast kernel accepts a draw, its value is within FAST_TOL of the stable kernel
    # (itself checked against mpmath above); spectra from lininv.strategies reach cond 1e12.
    m = min(m, s.size)
    Y = s[:, None] * np.random.default_rng(seed).standard_normal((3, s.size, m))
    sigma2m = m * noise**2
    out = np.empty(3)
    ok = np.zeros(3, dtype=bool)
    K.fast_errors(s, Y, sigma2m, mc.FAST_TOL, out, ok)
    for j in np.flatnonzero(ok):
        assert_close(out[j], mc._stable_error(s, Y[j], sigma2m), rtol=FAST_OR_STABLE(s.size))


def _beta(s, y, e):
    """The kernels' error bound (module docstring of lininv._montecarlo) with the exact tr(G)."""
    n, m = y.shape
    d = s**2
    M = y.T @ y
    L = np.linalg.cholesky(M)
    X = np.linalg.inv(L)
    Minv = X.T @ X
    tr_g = np.trace(Minv @ (y.T @ (d[:, None] * y)) @ Minv)
    sdh = d.sum() - e
    sqrt_psi = math.sqrt(np.sum(L**2) * np.sum(X**2))
    return U * (
        2 * (n + m + 1) * np.trace(M) * tr_g + 4 * (m + 1) * sqrt_psi * sdh + (n + 1) * d.sum()
    )


@pytest.mark.parametrize("n, m, a", [(64, 16, 1.0), (64, 16, 3.0), (120, 50, 1.0), (120, 50, 2.0)])
def test_numba_blas_and_stable_kernels_agree(n, m, a):
    # Tolerance: the fast kernels' worst-case bound beta, evaluated here independently (numpy,
    # exact tr(G)), plus the stable kernel's 100 n u.
    s = power(n, a)
    Y = s[:, None] * np.random.default_rng(m).standard_normal((6, n, m))
    fast = np.empty((2, 6))
    ok = np.zeros((2, 6), dtype=bool)
    K.fast_errors(s, Y.copy(), 0.0, mc.FAST_TOL, fast[0], ok[0])
    mc._fast_blas(s, Y.copy(), 0.0, fast[1], ok[1])
    assert ok.all()
    stable = np.array([mc._stable_error(s, y, 0.0) for y in Y])
    for j in range(6):
        tol = _beta(s, Y[j], stable[j]) + 100 * n * U * stable[j]
        assert np.all(np.abs(fast[:, j] - stable[j]) <= tol)


def test_lapack_triangular_inverse_has_a_small_left_residual():
    # The bound relies on |X L - I| <= c m u |X| |L| for X = dtrtri(L) (Du Croz & Higham 1992);
    # checked in 60-digit arithmetic on Cholesky factors of graded Gram matrices (cond(L) ~ 1e7).
    from scipy.linalg import lapack

    for a, seed in ((6.0, 1), (12.0, 2)):
        s = power(64, a)
        y = s[:, None] * np.random.default_rng(seed).standard_normal((64, 16))
        L = np.linalg.cholesky(y.T @ y)
        X = lapack.dtrtri(L, lower=1)[0]
        with mp.workdps(60):
            R = mp.matrix(X.tolist()) * mp.matrix(L.tolist()) - mp.eye(16)
            resid = np.array([[float(abs(R[i, j])) for j in range(16)] for i in range(16)])
        assert np.all(resid <= 2 * 16 * U * (np.abs(X) @ np.abs(L)))


@settings(max_examples=30)
@given(spectra(min_n=2, max_n=30), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_no_draw_falls_below_the_lower_bound(s, m, seed):
    # Eckart-Young holds for every A, not only on average (docs/theory.md section 6, step 3).
    m = min(m, s.size)
    omega = np.random.default_rng(seed).standard_normal((8, s.size, m))
    lower = lininv.lower_bound(s, m)
    assert np.all(errors_for_draws(s, omega) >= lower * (1 - FAST_OR_STABLE(s.size)))


# ------------------------------------------------------------------------------------------------
# The estimate against exact results


@pytest.mark.parametrize("n, m, s", [(9, 3, 2.0), (50, 49, 0.5), (200, 64, 1.0)])
def test_flat_spectrum_estimate_is_exact(n, m, s):
    est = expected_error(np.full(n, s), m, trials=200, rng=0)
    assert est.mean == pytest.approx((n - m) * s**2, rel=8 * (n + m) * U)
    assert est.stderr <= 8 * (n + m) * U * est.mean


@pytest.mark.parametrize(
    "s",
    [power(50), np.geomspace(1.0, 1e-3, 20), np.r_[10.0, np.ones(15)], np.array([2.0, 0.5])],
    ids=["power", "exp", "spike", "n=2"],
)
def test_single_measurement_matches_exact_error_m1(s):
    est = expected_error(s, 1, trials=6000, rng=11)
    exact = lininv.exact_error_m1(s)
    assert abs(est.mean - exact) <= 5 * est.stderr, (est, exact)


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_estimate_matches_dense_problems_with_random_rotations(noise):
    # Rotation invariance: average conditional_error over dense A and a G with random singular
    # vectors; compare with the engine within 5 combined standard errors.
    s = power(12, 1.5)
    rng = np.random.default_rng(3)
    prior = lininv.LinearInvertiblePrior.from_singular_values(s, rng=rng)
    dense = np.array(
        [
            lininv.conditional_error(prior, lininv.gaussian_measurements(5, 12, rng=rng), noise)
            for _ in range(3000)
        ]
    )
    est = expected_error(s, 5, noise, trials=3000, rng=4)
    se = math.hypot(est.stderr, dense.std(ddof=1) / math.sqrt(dense.size))
    assert abs(est.mean - dense.mean()) <= 5 * se


@settings(max_examples=25)
@given(spectra(min_n=4, max_n=24, max_condition=1e6), st.floats(0.0, 1.0))
def test_bounds_hold_for_random_spectra(s, u):
    # The theorem (both upper bounds) and Eckart-Young, within 5 standard errors.
    m = 2 + int(u * (s.size - 3))
    est = expected_error(s, m, trials=256, rng=int(u * 1e6))
    slack = 5 * est.stderr
    assert lininv.lower_bound(s, m) <= est.mean + slack + FAST_OR_STABLE(s.size) * est.mean
    assert est.mean - slack <= lininv.hmt_upper_bound(s, m).value
    assert est.mean - slack <= lininv.paper_upper_bound(s, m)


# ------------------------------------------------------------------------------------------------
# Reproducibility


BLAS_CASE = (power(80), 64)  # n m^2 above the numba threshold: the BLAS kernel
NUMBA_CASE = (power(40), 10)


@pytest.mark.parametrize("case", [NUMBA_CASE, BLAS_CASE], ids=["numba", "blas"])
def test_batch_size_does_not_change_a_bit(case):
    s, m = case
    runs = [expected_error(s, m, 0.1, trials=150, rng=9, batch_size=b) for b in (1, 7, 1000)]
    # bitwise: the engine promises results independent of batch size (per-chunk streams, fsum sums)
    assert runs[0] == runs[1] == runs[2]
    assert runs[0].trials == 150


def test_adaptive_runs_are_reproducible_across_batches():
    s, m = NUMBA_CASE
    runs = [expected_error(s, m, rtol=2e-3, rng=5, batch_size=b) for b in (1, 64, 999)]
    # bitwise: the engine promises results independent of batch size (per-chunk streams, fsum sums)
    assert runs[0] == runs[1] == runs[2]
    assert runs[0].trials % mc.CHUNK_DRAWS == 0
    assert runs[0].stderr <= 2e-3 * runs[0].mean


def test_workers_and_executors_do_not_change_a_bit():
    s, m = NUMBA_CASE
    kw = dict(rtol=2e-3, rng=77, batch_size=64)
    serial = expected_error(s, m, **kw)
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(2) as two:
        # bitwise: the engine promises results independent of executor and workers
        assert expected_error(s, m, executor=one, **kw) == serial
        # bitwise: the engine promises results independent of executor and workers
        assert expected_error(s, m, executor=two, **kw) == serial
    with ProcessPoolExecutor(2) as procs:
        # bitwise: the engine promises results independent of executor and workers
        assert expected_error(s, m, executor=procs, **kw) == serial
        fixed = expected_error(*BLAS_CASE, trials=70, rng=1, executor=procs, batch_size=8)
    # bitwise: the engine promises results independent of executor and batch size
    assert fixed == expected_error(*BLAS_CASE, trials=70, rng=1)


def test_draw_values_are_errors_for_draws_of_the_chunk_normals():
    s, m = power(30), 7
    [values] = mc.compute_chunks(s, m, 0.0, 21, [(3, 50)], batch=16)
    # bitwise: the engine's values are errors_for_draws of the same normals, batched
    assert np.array_equal(values, errors_for_draws(s, chunk_normals(21, 3, 50, 30, m)))


def test_seed_reproduces_the_run():
    s, m = NUMBA_CASE
    for rng in (None, 123, np.random.default_rng(4), np.random.SeedSequence(99)):
        est = expected_error(s, m, trials=64, rng=rng)
        # bitwise: the seed reproduces the run: the same computation in this process
        assert expected_error(s, m, trials=64, rng=est.seed) == est
    assert expected_error(s, m, trials=64, rng=123).seed == 123
    assert expected_error(s, m, trials=64, rng=np.random.SeedSequence(99)).seed == 99


def test_fixed_trials_need_not_fill_a_chunk():
    s, m = NUMBA_CASE
    short = expected_error(s, m, trials=70, rng=2)
    [values] = mc.compute_chunks(s, m, 0.0, 2, [(1, 64)], batch=64)
    head = mc.compute_chunks(s, m, 0.0, 2, [(0, 64)], batch=64)[0]
    full = np.concatenate([head, values[:6]])
    assert short.trials == 70
    # bitwise: the engine's mean is fsum of the same values over the count
    assert short.mean == math.fsum(full) / 70


def test_max_trials_stops_an_adaptive_run_with_a_warning():
    with pytest.warns(UserWarning, match="max_trials = 256"):
        est = expected_error(power(30), 5, rtol=1e-9, max_trials=256, rng=0)
    assert est.trials == 256
    assert est.converged is False  # the status is data: callers read it, not the warning


def test_converged_is_true_when_the_stopping_rule_is_met():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a converged run warns about nothing
        adaptive = expected_error(power(30), 5, rtol=0.05, max_trials=4096, rng=0)
    assert adaptive.converged is True and adaptive.trials < 4096
    assert expected_error(power(30), 5, trials=64, rng=0).converged is True  # fixed trials


def test_estimate_fields():
    from scipy import stats

    est = expected_error(power(20), 4, trials=100, rng=3)
    lo, hi = est.ci
    assert lo < est.mean < hi
    # Student t with trials - 1 = 99 degrees of freedom (1.984), not the normal 1.960; rel 1e-14
    # covers the rounding of mean +- half-width.
    assert hi - est.mean == pytest.approx(stats.t.ppf(0.975, 99) * est.stderr, rel=1e-14)
    assert est.mean - lo == pytest.approx(stats.t.ppf(0.975, 99) * est.stderr, rel=1e-14)
    assert est.rtol is None and est.trials == 100 and est.seed == 3
    assert "100 trials" in str(est)
    # bitwise: the default rtol, a copy; the default run is adaptive
    assert expected_error(power(20), 4, rng=3).rtol == 1e-3


def test_small_sample_interval_uses_student_t():
    # With 2 draws the 95% interval is mean +- 12.71 se; the normal 1.96 would cover ~70%.
    from scipy import stats

    est = expected_error(power(20), 4, trials=2, rng=3)
    assert est.ci[1] - est.mean == pytest.approx(stats.t.ppf(0.975, 1) * est.stderr, rel=1e-14)


@pytest.mark.parametrize("scale", [2.0**-500, 2.0**3, 2.0**300, 2.0**500])
@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_estimate_is_homogeneous_of_degree_two(scale, noise):
    # E(m) scales as s^2 (with noise_std scaled alike). Before, s ~ 1e77 overflowed in the
    # variance of the draws. The run is made in units of s_max; with power-of-two scales the
    # draws are bit-identical and only the final products scale * mean etc. round: 2 u relative.
    s, m = power(20), 4
    ref = expected_error(s, m, noise, trials=70, rng=5)
    est = expected_error(s * scale, m, noise * scale, trials=70, rng=5)
    c = scale**2
    assert_close(est.mean, c * ref.mean, rtol=2 * U)
    assert_close(est.stderr, c * ref.stderr, rtol=2 * U)
    assert_close(est.ci, (c * ref.ci[0], c * ref.ci[1]), rtol=4 * U)


def test_progress_bar_is_optional(capsys):
    expected_error(power(20), 4, trials=64, rng=3, progress=True)
    assert "draw" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# Memory


def test_peak_memory_is_bounded_for_n4096_m1024():
    # Batching keeps one draw of normals (32 MiB) and its products in memory at a time.
    # The child's own high-water mark: Linux's VmHWM belongs to the process's address space,
    # whereas ru_maxrss also counts the parent's at the fork (a pytest worker that has trained a
    # 28x28 flow holds more than 1 GiB), so it is the fallback only where /proc is missing.
    code = (
        "import os, resource, numpy as np, lininv\n"
        "s = np.arange(1, 4097) ** -0.5\n"
        "est = lininv.expected_error(s, 1024, trials=2, rng=0)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "if os.path.exists('/proc/self/status'):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            peak = int(line.split()[1]) * 1024\n"
        "print(peak, est.mean)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak, mean = out.stdout.split()
    assert int(peak) < 2**30, f"peak RSS {int(peak) / 2**20:.0f} MiB"
    assert lininv.lower_bound(np.arange(1, 4097) ** -0.5, 1024) < float(mean)


# ------------------------------------------------------------------------------------------------
# Bad input


BAD_EXPECTED = [
    (dict(s=[1.0, -1.0], m=1), ValueError, "s must be strictly positive"),
    (dict(s=[[1.0]], m=1), ValueError, "s must be a non-empty 1-D array"),
    (dict(s="abc", m=1), TypeError, "s must be a real numeric array"),
    (dict(s=[1.0, 1.0], m=3), ValueError, r"m must be an integer in \[1, 2\]"),
    (dict(s=[1.0, 1.0], m=0, noise_std=0.1), ValueError, r"m must be an integer in \[1, inf\]"),
    (dict(s=[1.0, 1.0], m=1.5), TypeError, "m must be an integer"),
    (dict(s=[1.0, 1.0], m=1, noise_std=-0.1), ValueError, "noise_std must be >= 0"),
    (dict(s=[1.0, 1.0], m=1, rtol=0.1, trials=10), ValueError, "either rtol or trials"),
    (dict(s=[1.0, 1.0], m=1, trials=1), ValueError, r"trials must be an integer in \[2, inf\]"),
    (dict(s=[1.0, 1.0], m=1, rtol=0.0), ValueError, "rtol must be > 0"),
    (dict(s=[1.0, 1.0], m=1, rtol=2.0), ValueError, "rtol must be <= 1"),
    (dict(s=[1.0, 1.0], m=1, max_trials=10), ValueError, "max_trials must be an integer in"),
    (dict(s=[1.0, 1.0], m=1, rng="seed"), TypeError, "rng must be None, an int seed"),
    (dict(s=[1.0, 1.0], m=1, rng=-3), ValueError, "rng must be a non-negative int seed"),
    (dict(s=[1.0, 1.0], m=1, executor=1.5), TypeError, "executor must be None"),
    (dict(s=[1.0, 1.0], m=1, batch_size=0), ValueError, r"batch_size must be an integer in"),
    (dict(s=[1e-100, 1e-100], m=1, noise_std=1e100), ValueError, "noise_std must be at most"),
    # Work that cannot fit: refused at once, naming the argument and the memory it needs.
    (
        dict(s=[1.0, 1.0], m=1, trials=10**12),
        ValueError,
        r"trials = 1000000000000 needs about 21.8 TiB",
    ),
    (
        dict(s=[1.0, 1.0], m=1, max_trials=10**12),
        ValueError,
        r"max_trials = 1000000000000 needs about",
    ),
    (dict(s=[1.0] * 4, m=10**6, noise_std=0.1), ValueError, r"m = 1000000 needs about .* TiB"),
    (
        dict(s=[1.0] * 4, m=2, trials=64, batch_size=10**12),
        ValueError,
        r"batch_size = 1000000000000",
    ),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD_EXPECTED)
def test_expected_error_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        expected_error(**kwargs)


BAD_DRAWS = [
    (dict(s=[1.0, 0.0], omega=np.ones((1, 2, 1))), ValueError, "s must be strictly positive"),
    (dict(s=[1.0, 1.0], omega=np.ones((2, 1))), ValueError, r"omega must have shape \(k, 2, m\)"),
    (dict(s=[1.0, 1.0], omega=np.ones((1, 3, 1))), ValueError, r"got \(1, 3, 1\)"),
    (dict(s=[1.0, 1.0], omega=np.ones((1, 2, 3))), ValueError, "m <= n = 2 columns without noise"),
    (dict(s=[1.0, 1.0], omega=np.full((1, 2, 1), np.nan)), ValueError, "omega must be finite"),
    (dict(s=[1.0, 1.0], omega=np.ones((1, 2, 1)), noise_std=-1.0), ValueError, "noise_std"),
    (
        dict(s=[1.0, 1.0], omega=np.ones((1, 2, 1)), noise_std=1e160),
        ValueError,
        r"noise_std must be at most sqrt\(max double / m\)",
    ),
    (
        dict(s=[1.0, 1.0], omega=np.zeros((1, 2, 10**6)), noise_std=0.1),
        ValueError,
        r"m = 1000000 needs about .* TiB",
    ),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD_DRAWS)
def test_errors_for_draws_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        errors_for_draws(**kwargs)


def test_rank_deficient_noiseless_draw_is_an_error():
    omega = np.zeros((1, 4, 2))
    omega[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="full column rank"):
        errors_for_draws(np.ones(4), omega)


# ------------------------------------------------------------------------------------------------
# docs/theory.md section 7's reference numbers (independent code, 40,000 draws)


@pytest.mark.slow
@pytest.mark.parametrize("noise, quoted", [(0.0, 2.3156), (0.1, 2.6242)])
def test_theory_reference_numbers(noise, quoted):
    est = expected_error(power(256), 64, noise, trials=40_000, rng=20260101)
    se = math.hypot(est.stderr, 1e-4)  # the quoted +- 0.0001 is a standard error
    assert abs(est.mean - quoted) <= 5 * se
