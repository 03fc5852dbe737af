"""What is reproducible across machines and library versions, tested exactly as the README states it.

1. The random draws of a seed are frozen: SeedSequence and SFC64 (numpy's stable bit generators,
   NEP 19) feed lininv's own ziggurat (numba), which uses integer arithmetic and one correctly
   rounded product per normal, except in its rare tail and wedge cases, which call the C library's exp
   and log1p. The draws below are far from the tail, so they are the same bits everywhere.
2. A cell's seed keys its parameters to single precision, so a spectrum computed on another CPU
   (equal up to the last bits) draws the same numbers.
3. Per-draw errors may differ between BLAS kernels and numba's code generation, within the
   engine's certified relative accuracy (tested in test_montecarlo against mpmath).
"""

import numpy as np
import pytest
from helpers import EPS

import lininv
from lininv import _sweep
from lininv._montecarlo import chunk_normals


def test_the_draws_of_a_seed_are_frozen():
    # Generated once by chunk_normals(2020, 3, 2, 3, 2); a change here changes every result.
    frozen = [
        -0.2542101650729996, -2.204574997750664, 1.3724566863294188, 1.226178503471475,
        -0.590105128098429, 1.0167208514117096, 0.08069968382495793, 0.4350711041395678,
        0.8741535991001289, 2.1864682151203967, 0.9307865216140758, 1.7471589388849835,
    ]  # fmt: skip
    draws = chunk_normals(2020, 3, 2, 3, 2).ravel()
    # bitwise: the ziggurat's main path is integer arithmetic and one correctly rounded product;
    # none of these values is in the tail (|x| > 3.44) where the C library's log1p enters
    assert np.max(np.abs(frozen)) < 3.44
    assert draws.tolist() == frozen


def _correctly_rounded(spec, n):
    """The named spectrum with every value correctly rounded (mpmath at 200 bits, then to double):
    what an exact ``pow`` gives, which numpy's vectorised kernels match only up to an ulp or two,
    differently per CPU (AVX-512 and AVX2 paths round differently)."""
    import mpmath

    mpmath.mp.prec = 200
    kind, _, param = spec.partition(":")
    p = mpmath.mpf(float(param))  # the parameter as every machine parses it
    if kind == "power":
        return np.array([float(mpmath.mpf(i) ** (-p / 2)) for i in range(1, n + 1)])
    return np.array([float(p ** (mpmath.mpf(i - 1) / 2)) for i in range(1, n + 1)])


@pytest.mark.parametrize("spec", ["power:1", "power:0.5", "power:2", "exp:0.9", "exp:0.97"])
def test_cell_seed_is_the_same_for_a_spectrum_computed_on_another_machine(spec):
    """The cause of a README row that differed between two x86-64 machines: numpy's pow rounds
    differently with and without AVX-512, and the cell seed hashed the spectrum's last bits.
    Here the correctly rounded spectrum stands in for another machine's."""
    n = 256
    ours, exact = lininv.make_spectrum(spec, n), _correctly_rounded(spec, n)
    assert np.all(np.abs(ours - exact) <= 4 * EPS * exact)  # numpy's pow is within a few ulps
    for m, noise in ((64, 0.0), (8, 0.1)):
        assert _sweep.cell_seed(0, ours, m, noise) == _sweep.cell_seed(0, exact, m, noise)
