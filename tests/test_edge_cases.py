"""Inputs at the edges of double precision: extreme scales, huge noise, huge workloads.

Each test pins a defect found by fuzzing; the docstrings say which. References are computed with
mpmath, whose exponent range is unbounded, so they hold at any scale.
"""

import math

import numpy as np
import pytest

import lininv as L

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
