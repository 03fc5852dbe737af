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
