"""Named spectra: the formulas, files, and bad input."""

import numpy as np
import pytest
from helpers import assert_close

from lininv import make_spectrum


def test_power_law():
    s = make_spectrum("power:1", 5)
    assert_close(s**2, 1.0 / np.arange(1, 6))
    assert_close(make_spectrum("power:2.5", 4) ** 2, np.arange(1, 5) ** -2.5)


def test_geometric():
    assert_close(make_spectrum("exp:0.5", 4) ** 2, 0.5 ** np.arange(4))
    # bitwise: sqrt(1) ** k = 1 exactly (C99 Annex F: pow(1, y) = 1)
    assert np.array_equal(make_spectrum("exp:1", 3), np.ones(3))


def test_flat_and_power_zero_are_flat():
    assert np.array_equal(make_spectrum("flat", 4), np.ones(4))  # bitwise: flat is np.ones
    # bitwise: i ** -0.0 = 1 exactly (C99 Annex F: pow(x, 0) = 1)
    assert np.array_equal(make_spectrum("power:0", 4), np.ones(4))


def test_file_any_order_with_comments(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("# singular values\n0.5 2.0\n1.0\n")
    # bitwise: decimal to binary conversion is correctly rounded: the same bits everywhere
    assert np.array_equal(make_spectrum(str(path)), [2.0, 1.0, 0.5])
    # bitwise: decimal to binary conversion is correctly rounded: the same bits everywhere
    assert np.array_equal(make_spectrum(path, 3), [2.0, 1.0, 0.5])


def test_results_are_descending_and_positive():
    for spec in ("power:3", "exp:0.9", "flat"):
        s = make_spectrum(spec, 50)
        assert s.shape == (50,) and np.all(s > 0) and np.all(np.diff(s) <= 0)


BAD = [
    (("gauss:1", 4), ValueError, "neither a known form nor an existing file"),
    (("power", 4), ValueError, "parameter must be a number; got ''"),
    (("power:x", 4), ValueError, "parameter must be a number; got 'x'"),
    (("power:-1", 4), ValueError, r"parameter must be in \[0, inf\); got -1"),
    (("exp:0", 4), ValueError, r"parameter must be in \(0, 1\]; got 0"),
    (("exp:1.5", 4), ValueError, r"parameter must be in \(0, 1\]; got 1.5"),
    (("exp:nan", 4), ValueError, "parameter must be in"),
    (("flat:2", 4), ValueError, "'flat' takes no parameter"),
    (("power:1", None), ValueError, "n is required"),
    (("power:1", 0), ValueError, r"n must be an integer in \[1, inf\]"),
    (("power:1", 2.0), TypeError, "n must be an integer"),
    (("exp:1e-10", 200), ValueError, "underflows in double precision"),
    # s_i > 0 but s_i^2 = 1e-510 underflows: `lininv verify --spectrum exp:0.01` crashed in brentq.
    (("exp:0.01", 256), ValueError, r"underflows in double precision .* from index 155"),
    ((3, 4), TypeError, "spec must be a non-empty string or a path"),
    (("", 4), TypeError, "spec must be a non-empty string"),
]


@pytest.mark.parametrize("args, exc, match", BAD)
def test_bad_specifications(args, exc, match):
    with pytest.raises(exc, match=match):
        make_spectrum(*args)


def test_bad_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    words = tmp_path / "words.txt"
    words.write_text("1.0 two\n")
    negative = tmp_path / "neg.txt"
    negative.write_text("1.0 -2.0\n")
    good = tmp_path / "good.txt"
    good.write_text("1 2 3\n")
    with pytest.raises(ValueError, match="holds no values"):
        make_spectrum(str(empty))
    with pytest.raises(ValueError, match="could not be read as numbers"):
        make_spectrum(str(words))
    with pytest.raises(ValueError, match="must be strictly positive"):
        make_spectrum(str(negative))
    with pytest.raises(ValueError, match="holds 3 values; n = 4 was asked"):
        make_spectrum(str(good), 4)
