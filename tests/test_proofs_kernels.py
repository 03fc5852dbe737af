"""The independent per-draw kernels of proofs_numeric, against dense / high-precision references."""

import mpmath
import numpy as np
import pytest
from helpers import EPS, assert_close, nudge

from proofs_numeric import _spectra as sp
from proofs_numeric._kernels import (
    hmt_terms,
    inverse_wishart_trace_is,
    min_norm_solution,
    pinv_frobenius_sq,
    posterior_gain,
    residual_errors,
    tail_sums,
)


def _residual_mpmath(s, omega, dps=60):
    """||(I - P_Y) S||_F^2 at 60 digits: P = Y (Y^T Y)^{-1} Y^T (an inverse is fine here)."""
    n, m = omega.shape
    with mpmath.workdps(dps):
        Y = mpmath.matrix(
            [[mpmath.mpf(s[i]) * mpmath.mpf(omega[i, j]) for j in range(m)] for i in range(n)]
        )
        P = Y * mpmath.inverse(Y.T * Y) * Y.T
        R = (mpmath.eye(n) - P) * mpmath.diag([mpmath.mpf(v) for v in s])
        return float(mpmath.fsum(R[i, j] ** 2 for i in range(n) for j in range(n)))


@pytest.mark.parametrize("cond", [1.0e2, 1.0e8, 1.0e12])
def test_residual_errors_match_mpmath_up_to_cond_1e12(cond):
    rng = np.random.default_rng(0)
    n, m = 10, 3
    s = nudge(sp.geometric_cond(n, cond))
    omega = nudge(rng.standard_normal((5, n, m)))
    got = residual_errors(s, omega)
    ref = np.array([_residual_mpmath(s, o) for o in omega])
    # The module's claim: relative accuracy of a few n eps even at cond 1e12 (row-sorted
    # Householder QR); the proof checks allow 8 n eps, so test that allowance.
    assert_close(got, ref, rtol=8 * n * EPS)


def test_residual_errors_chunking_does_not_change_values(monkeypatch):
    import proofs_numeric._kernels as k

    rng = np.random.default_rng(1)
    s = sp.power(6)
    omega = rng.standard_normal((7, 6, 2))
    whole = residual_errors(s, omega)
    monkeypatch.setattr(k, "_CHUNK_BYTES", 8 * 6 * 6 * 2)  # two draws per chunk
    # bitwise: chunking only splits the stack of draws: each draw's QR and sum are the same
    # computation
    assert np.array_equal(k.residual_errors(s, omega), whole)


def test_hmt_terms_against_dense_pseudo_inverse():
    rng = np.random.default_rng(2)
    s = sp.power(9)
    omega = rng.standard_normal((4, 9, 5))
    k = 3
    tail, cross, cond = hmt_terms(s, omega, k)
    for d in range(4):
        om1, om2 = omega[d, :k], omega[d, k:]
        ref = np.sum((np.diag(s[k:]) @ om2 @ np.linalg.pinv(om1)) ** 2)
        # pinv by SVD vs QR solve: both backward stable; cond(Omega1) is O(10) here.
        assert_close(cross[d], ref, rtol=1e-12)
        assert_close(cond[d], np.linalg.cond(om1), rtol=1e-12)
    assert_close(tail, np.full(4, np.sum(s[k:] ** 2)))


def test_pinv_frobenius_sq_and_tail_sums():
    rng = np.random.default_rng(3)
    om = rng.standard_normal((3, 4, 7))
    assert_close(pinv_frobenius_sq(om), [np.sum(np.linalg.pinv(o) ** 2) for o in om], rtol=1e-12)
    s = np.array([3.0, 2.0, 1.0])
    assert_close(tail_sums(s), [14.0, 5.0, 1.0, 0.0])


def test_inverse_wishart_importance_weights_have_mean_one():
    """The likelihood ratio det W' / prod(nu - 1 - j) must average 1 under the proposal.

    Independent of the trace: E det W' for W' ~ Wishart_k(nu') is prod_{j=1..k} (nu' - j + 1).
    """
    rng = np.random.default_rng(4)
    k, p = 3, 2
    om = rng.standard_normal((40000, k, k + p - 2))
    lam = np.linalg.svd(om, compute_uv=False) ** 2
    w = np.prod(lam, axis=1) / np.prod(k + p - 1.0 - np.arange(1, k + 1))
    se = w.std(ddof=1) / np.sqrt(w.size)
    assert abs(w.mean() - 1.0) <= 5 * se  # 5 standard errors, fixed seed
    # And the estimator equals tr(W'^{-1}) times that weight, per draw.
    est = inverse_wishart_trace_is(om)
    direct = np.array([np.trace(np.linalg.inv(o @ o.T)) for o in om[:50]]) * w[:50]
    assert_close(est[:50], direct, rtol=1e-10)  # inverse of a Wishart with cond up to ~1e3


def test_min_norm_solution_and_posterior_gain_against_dense_formulas():
    rng = np.random.default_rng(5)
    B = rng.standard_normal((3, 6))
    y = rng.standard_normal(3)
    z, Q = min_norm_solution(B, y)
    assert_close(z, np.linalg.pinv(B) @ y, rtol=1e-12)
    assert_close(Q @ Q.T, np.linalg.pinv(B) @ B, rtol=0, atol=1e-14)
    G = rng.standard_normal((6, 6))
    Sigma = G @ G.T
    A = rng.standard_normal((3, 6))
    K = posterior_gain(Sigma, A, 0.3)
    assert_close(K, Sigma @ A.T @ np.linalg.inv(A @ Sigma @ A.T + 0.3 * np.eye(3)), rtol=1e-11)
