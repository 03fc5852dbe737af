"""lininv.spectrum_family: the one definition of the named spectrum families, and its callers
(make_spectrum, proofs_numeric's test spectra, the tightness search, lininv.strategies)."""

import numpy as np
import pytest

import lininv
from lininv import make_spectrum, spectrum_family
from lininv.strategies import spectrum_from_family
from proofs_numeric import _spectra as sp
from proofs_numeric import tightness as tt


def test_families():
    assert np.array_equal(
        spectrum_family("cliff", 4, 2, 0.25), [1.0, 1.0, 0.5, 0.5]
    )  # bitwise: sqrt(0.25) = 0.5 exactly
    assert np.array_equal(spectrum_family("flat", 3), np.ones(3))  # bitwise: ones
    assert np.array_equal(spectrum_family("flat", 3, 2.5), [2.5, 2.5, 2.5])  # bitwise: a copy
    assert np.array_equal(
        spectrum_family("cliff", 3, 3, 1e-6), np.ones(3)
    )  # bitwise: j = n is flat


@pytest.mark.parametrize(
    "spec, family, params", [("power:1.5", "power", (1.5,)), ("exp:0.3", "exp", (0.3,))]
)
def test_make_spectrum_uses_the_same_formulas(spec, family, params):
    # bitwise: the text form and the family call evaluate the same expression
    assert np.array_equal(make_spectrum(spec, 37), spectrum_family(family, 37, *params))


def test_callers_take_their_families_from_here():
    # proofs_numeric's test spectra
    assert np.array_equal(
        sp.cliff(48, 4, 0.01), spectrum_family("cliff", 48, 4, 0.01)
    )  # bitwise: the same call
    assert np.array_equal(
        sp.dominant(9, 1e-3), spectrum_family("cliff", 9, 1, 1e-3)
    )  # bitwise: the same call
    # the tightness search's cliff: the family with the floor applied to s_i^2
    s = tt.spectrum("cliff", [3.2, -10.0], 8, floor=1e-8)
    assert np.array_equal(s, spectrum_family("cliff", 8, 3, 1e-8))  # bitwise: the same call
    # lininv.strategies: a tail of exactly 1/condition (sqrt of a double's square is the double)
    s = spectrum_from_family("cliff", 10, 7.3e5, 0.4)
    assert np.array_equal(s[4:], np.full(6, 1 / 7.3e5))  # bitwise: sqrt(x * x) == x in binary
    assert np.array_equal(
        spectrum_from_family("flat", 5, 10.0), spectrum_family("flat", 5)
    )  # bitwise: ones


BAD = [
    (("gauss", 4), ValueError, "family must be one of"),
    (("cliff", 4, 2), ValueError, r"takes the parameters \(j, h\); got 1 values"),
    (("power", 4, 1.0, 2.0), ValueError, r"takes the parameters \(a\)"),
    (("cliff", 4, 5, 0.1), ValueError, r"j must be an integer in \[1, 4\]"),
    (("cliff", 4, 2, 0.0), ValueError, r"h must be > 0"),
    (("cliff", 4, 2, 1.5), ValueError, r"h must be <= 1"),
    (("exp", 4, 0.0), ValueError, r"r must be > 0"),
    (("power", 4, -1.0), ValueError, r"a must be >= 0"),
    (("flat", 0), ValueError, r"n must be an integer in \[1, inf\]"),
    (("exp", 200, 1e-10), ValueError, "underflows in double precision"),
    (("cliff", 4, 2.5, 0.1), TypeError, "j must be an integer"),
]


@pytest.mark.parametrize("args, exc, match", BAD)
def test_bad_calls(args, exc, match):
    with pytest.raises(exc, match=match):
        lininv.spectrum_family(*args)
