"""Bad calls to the public proofs_numeric API raise before any work, with a clear message."""

import numpy as np
import pytest

import proofs_numeric as pn
from proofs_numeric import _spectra as sp

GOOD = [("power", sp.power(6), 3)]

BAD_CALLS = [
    (pn.check_lower_bound, dict(precision=0.0), ValueError, "precision must be > 0"),
    (pn.check_lower_bound, dict(precision="a lot"), TypeError, "precision must be a real number"),
    (pn.check_lower_bound, dict(z=-1.0), ValueError, "z must be > 0"),
    (pn.check_lower_bound, dict(rng="seed"), TypeError, "rng must be None, an int seed"),
    (pn.check_lower_bound, dict(rng=-3), ValueError, "rng must be a non-negative int seed"),
    (pn.check_lower_bound, dict(cases="power"), TypeError, r"cases must be a non-empty sequence"),
    (pn.check_lower_bound, dict(cases=[]), TypeError, r"cases must be a non-empty sequence"),
    (
        pn.check_lower_bound,
        dict(cases=[("a", [1.0, 2.0])]),
        TypeError,
        r"cases\[0\] must be a \(label, s, m\)",
    ),
    (pn.check_lower_bound, dict(cases=[("a", [1.0, -2.0], 1)]), ValueError, "strictly positive"),
    (
        pn.check_lower_bound,
        dict(cases=[("a", [1.0, 2.0], 3)]),
        ValueError,
        r"cases\[0\] m must be an integer in \[1, 2\]",
    ),
    (
        pn.check_lower_bound,
        dict(cases=GOOD, bound=3.0),
        TypeError,
        "bound must be callable or None",
    ),
    (pn.check_hmt_deterministic, dict(cases=[("a", sp.power(6), 2)]), ValueError, r"3 <= m <= 6"),
    (
        pn.check_hmt_deterministic,
        dict(cases=GOOD, rhs=lambda s, om, k: 1.0),
        ValueError,
        "rhs must return shape",
    ),
    (
        pn.check_independence,
        dict(cases=GOOD, conditionings=0),
        ValueError,
        "conditionings must be an integer",
    ),
    (
        pn.check_inverse_wishart_mean,
        dict(shapes=[(3, 1)]),
        ValueError,
        r"shapes\[0\] p must be an integer in \[2, inf\]",
    ),
    (
        pn.check_inverse_wishart_mean,
        dict(shapes=[3]),
        TypeError,
        r"shapes\[0\] must be a \(k, p\) pair",
    ),
    (
        pn.check_rotation_invariance,
        dict(cases=GOOD, draws_exact=0),
        ValueError,
        "draws_exact must be an integer",
    ),
    (
        pn.check_rotation_invariance,
        dict(cases=GOOD, surrogate=lambda G: [1.0, 2.0]),
        ValueError,
        "surrogate\\(G\\) must return 6 values",
    ),
    (pn.check_error_identity, dict(cases=GOOD, draws=0), ValueError, "draws must be an integer"),
    (pn.check_ridge_limit, dict(cases=[("a", sp.power(4), 4)]), ValueError, r"1 <= m <= 3"),
    (pn.check_ridge_limit, dict(cases=GOOD, decades=0), ValueError, "decades must be an integer"),
    (
        pn.check_gradient_descent_limit,
        dict(cases=GOOD, max_steps=0),
        ValueError,
        "max_steps must be an integer",
    ),
    (
        pn.check_gradient_descent_limit,
        dict(cases=GOOD, init_norms=(-1.0,)),
        ValueError,
        r"init_norms\[0\] must be >= 0",
    ),
    (
        pn.check_gradient_descent_limit,
        dict(cases=GOOD, target=2.0),
        ValueError,
        "target must be <= ",
    ),
    (
        pn.check_posterior_mean,
        dict(cases=GOOD, noise_stds=(0.0,)),
        ValueError,
        r"noise_stds\[0\] must be > 0",
    ),
    (
        pn.check_denoising_error,
        dict(spectra=[("a",)]),
        TypeError,
        r"spectra\[0\] must be a \(label, s\) pair",
    ),
    (pn.check_denoising_error, dict(gammas=(-1.0,)), ValueError, r"gammas\[0\] must be >= 0"),
    (pn.check_optimal_gamma, dict(noise_stds=(0.0,)), ValueError, r"noise_stds\[0\] must be > 0"),
    (
        pn.check_deterministic_equivalent,
        dict(spectra=[("a", [1.0, 2.0])]),
        TypeError,
        "must map n to a spectrum",
    ),
    (
        pn.check_deterministic_equivalent,
        dict(m_fractions=(1.5,)),
        ValueError,
        r"m_fractions\[0\] must be <= 1",
    ),
    (pn.check_deterministic_equivalent, dict(rtol=0.0), ValueError, "rtol must be > 0"),
    (pn.check_exact_m1, dict(spectra=[("a", [1.0])]), ValueError, r"n >= 2"),
    (
        pn.check_flat_spectrum,
        dict(sizes=[(4, 4)]),
        ValueError,
        r"sizes\[0\] m must be an integer in \[1, 3\]",
    ),
    (pn.check_flat_spectrum, dict(level=0.0), ValueError, "level must be > 0"),
    (
        pn.check_two_dimensional,
        dict(pairs=[(1.0, 2.0, 3.0)]),
        TypeError,
        r"pairs\[0\] must be an \(s1, s2\) pair",
    ),
    (
        pn.check_posterior_sampling,
        dict(cases=GOOD, factor=np.nan),
        ValueError,
        "factor must be finite",
    ),
    (pn.run_steps, dict(steps=["4z"]), ValueError, "step must be one of"),
    (pn.run_steps, dict(seed=-1), ValueError, "seed must be an integer in"),
    # precision = 1e12 asked step 8c for 4e16 draws (568 PiB) before anything was refused
    (
        pn.check_two_dimensional,
        dict(precision=1e12),
        ValueError,
        r"precision = 1e\+12 needs about .* EiB of memory",
    ),
    (pn.run_steps, dict(precision=1e12), ValueError, r"precision = 1e\+12 needs about"),
]


@pytest.mark.parametrize(
    "func, kwargs, exc, match",
    BAD_CALLS,
    ids=[f"{i}-{c[0].__name__}" for i, c in enumerate(BAD_CALLS)],
)
def test_bad_calls_raise_with_a_clear_message(func, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        func(**kwargs)
