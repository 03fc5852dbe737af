"""The one comparison helper of the test suite (CONVENTIONS.md, item 7)."""

import numpy as np

EPS = np.finfo(float).eps


def assert_close(actual, desired, *, rtol=1e-12, atol=0.0, err_msg=""):
    """Assert equal shapes and ``|actual - desired| <= atol + rtol * |desired|`` elementwise.

    The default ``rtol = 1e-12`` is ~4500 ulps: room for the rounding of a few dozen float64
    operations on well-conditioned data. Any other tolerance is commented where it is used.
    """
    actual = np.asarray(actual, dtype=float)
    desired = np.asarray(desired, dtype=float)
    assert actual.shape == desired.shape, f"shape {actual.shape} != {desired.shape}. {err_msg}"
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol, err_msg=err_msg)


def numerically_full_row_rank(prior, A):
    """Whether ``A G`` has full row rank at the estimators' threshold (max(m, n) eps d_max).

    With cond(G) up to 1e12 and square Gaussian A (cond ~ n), cond(A G) can reach 1/(n eps): such
    draws are numerically rank deficient, and the estimators rightly refuse them.
    """
    d = np.linalg.svd(A @ prior.factor, compute_uv=False)
    return d.size == A.shape[0] and d[-1] > max(A.shape) * EPS * d[0]
