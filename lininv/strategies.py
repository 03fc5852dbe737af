"""Hypothesis strategies for property-testing results about linear invertible priors.

They draw the objects the theory is about: spectra (from named decay families, with a chosen
range of sizes and condition numbers up to 1e12), priors with random orthogonal factors, and
measurement matrices. lininv's own property tests use them; import them to property-test a new
bound in a few lines.

Requires the ``hypothesis`` package (``pip install "lininv[test]"``).

Examples
--------
A new bound, tested against the exact error for every drawn spectrum and measurement matrix:

>>> from hypothesis import given, settings
>>> import lininv
>>> from lininv.strategies import inverse_problems
>>> @settings(max_examples=20, deadline=None)
... @given(inverse_problems(max_n=16))
... def test_error_is_at_least_eckart_young(problem):
...     prior, A = problem
...     m = A.shape[0]
...     exact = lininv.conditional_error(prior, A)
...     assert exact >= lininv.lower_bound(prior.singular_values, m) * (1 - 1e-9)
>>> test_error_is_at_least_eckart_young()
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from lininv._low_rank import LowRankPrior
from lininv._measurements import ENSEMBLES, gaussian_measurements, mask_measurements, measurements
from lininv._prior import LinearInvertiblePrior
from lininv._spectra import spectrum_family
from lininv._validation import check_int, check_real

__all__ = [
    "FAMILIES",
    "spectrum_from_family",
    "spectra",
    "priors",
    "measurement_matrices",
    "inverse_problems",
    "ensembles",
    "truths",
]

#: Decay families for :func:`spectra`, all normalised to ``s_1 = 1``.
FAMILIES = ("power", "exponential", "flat", "cliff", "random")


def spectrum_from_family(family: str, n: int, condition: float, u: float = 0.5) -> np.ndarray:
    """A descending spectrum of size ``n`` from a named family with ``s_1 / s_n = condition``.

    Parameters
    ----------
    family : {"power", "exponential", "flat", "cliff", "random"}
        ``power``: :math:`s_i = i^{-a}` with ``a`` set by the condition number;
        ``exponential``: geometric decay; ``flat``: all ones (``condition`` ignored);
        ``cliff``: a top block of ones and a bottom block at ``1/condition``, the block size set by
        ``u``; ``random``: log-uniform values between ``1/condition`` and 1 from a seed set by ``u``.
        ``flat`` and ``cliff`` are :func:`lininv.spectrum_family`'s; ``power`` and
        ``exponential`` are that function's power law and geometric decay parameterised by the
        condition number (``exp(-log(condition) t)`` on a grid ``t`` in [0, 1]), computed here.
    n : int
        Size, ``>= 1``.
    condition : float
        Condition number ``>= 1``.
    u : float, default=0.5
        Shape parameter in ``[0, 1]`` (cliff position, or seed for ``random``).

    Returns
    -------
    ndarray of shape (n,)

    Examples
    --------
    >>> spectrum_from_family("exponential", 3, 100.0)
    array([1.  , 0.1 , 0.01])
    """
    n = check_int("n", n, low=1)
    condition = check_real("condition", condition, low=1.0)
    u = check_real("u", u, low=0.0, high=1.0)
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}")
    i = np.arange(1, n + 1, dtype=float)
    if family == "flat" or n == 1:
        return spectrum_family("flat", n)
    log_c = np.log(condition)
    if family == "power":
        s = np.exp(-log_c * np.log(i) / np.log(n))
    elif family == "exponential":
        s = np.exp(-log_c * (i - 1) / (n - 1))
    elif family == "cliff":
        top = 1 + int(round(u * (n - 2)))  # 1 .. n-1 large values
        # s_i^2 = (1/condition)^2 after the top block: sqrt of a double's square is the double
        # itself in binary floating point, so the tail is exactly 1/condition.
        s = spectrum_family("cliff", n, top, (1.0 / condition) ** 2)
    else:  # random, log-uniform with the extremes pinned so the condition number is exact
        gen = np.random.default_rng(int(u * 2**32))
        s = np.exp(-log_c * np.sort(gen.uniform(size=n)))
        s[0], s[-1] = 1.0, 1.0 / condition
        s = np.sort(s)[::-1]
    return s


@st.composite
def spectra(
    draw: Any,
    *,
    min_n: int = 2,
    max_n: int = 64,
    families: tuple[str, ...] = FAMILIES,
    max_condition: float = 1e12,
    scale: bool = True,
) -> np.ndarray:
    """Strategy for descending positive spectra.

    Parameters
    ----------
    min_n, max_n : int, default=2, 64
        Size range (inclusive).
    families : tuple of str, default=FAMILIES
        Decay families to draw from (see :func:`spectrum_from_family`).
    max_condition : float, default=1e12
        Largest condition number ``s_1 / s_n``; the log of the condition number is drawn uniformly
        in ``[0, log(max_condition)]`` with the extremes (1 and ``max_condition``) favoured.
    scale : bool, default=True
        Multiply by a random overall scale in ``[1e-3, 1e3]`` (bounds should be scale covariant).
    """
    n = draw(st.integers(min_n, max_n))
    family = draw(st.sampled_from(families))
    log_max = float(np.log10(max_condition))
    log_cond = draw(st.one_of(st.just(0.0), st.just(log_max), st.floats(0.0, log_max)))
    u = draw(st.floats(0.0, 1.0))
    s = spectrum_from_family(family, n, 10.0**log_cond, u)
    if scale:
        s = s * 10.0 ** draw(st.floats(-3.0, 3.0))
    return s


@st.composite
def priors(
    draw: Any,
    *,
    spectrum: Any = None,
    with_mean: bool = False,
    random_factors: bool = True,
) -> LinearInvertiblePrior:
    """Strategy for :class:`~lininv.LinearInvertiblePrior` objects.

    Parameters
    ----------
    spectrum : SearchStrategy, optional
        Strategy for the singular values (default :func:`spectra()`).
    with_mean : bool, default=False
        Draw a non-zero mean as well.
    random_factors : bool, default=True
        Haar-random ``U`` and ``V`` (from a drawn seed); otherwise ``G = diag(s)``.
    """
    s = draw(spectrum if spectrum is not None else spectra())
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    mean = gen.standard_normal(s.size) * s[0] if with_mean else None
    rng = gen if random_factors else None
    return LinearInvertiblePrior.from_singular_values(s, rng=rng, mean=mean)


@st.composite
def measurement_matrices(
    draw: Any, n: int, *, min_m: int = 1, max_m: int | None = None, kind: str = "gaussian"
) -> np.ndarray:
    """Strategy for ``m x n`` measurement matrices, ``min_m <= m <= max_m`` (default ``n``).

    ``kind`` is ``"gaussian"`` (:func:`~lininv.gaussian_measurements`), ``"mask"``
    (:func:`~lininv.mask_measurements` of a random subset, unit rows), one of the other
    ensembles of :func:`~lininv.measurements` (``"rademacher"``, ``"haar"``, ``"dct"``,
    normalised to :math:`E[A^TA] = I`), or ``"any"`` (one of them).
    """
    max_m = n if max_m is None else min(max_m, n)
    m = draw(st.integers(min_m, max_m))
    seed = draw(st.integers(0, 2**32 - 1))
    if kind == "any":
        kind = draw(st.sampled_from(("gaussian", "mask", "rademacher", "haar", "dct")))
    if kind == "gaussian":
        return gaussian_measurements(m, n, rng=seed)
    if kind == "mask":
        observed = np.sort(np.random.default_rng(seed).choice(n, size=m, replace=False))
        return mask_measurements(observed, n)
    if kind in ENSEMBLES:
        return measurements(kind, m, n, rng=seed)
    raise ValueError(f"kind must be one of {', '.join(ENSEMBLES)} or 'any'; got {kind!r}")


def ensembles() -> Any:
    """Strategy for the names of the measurement ensembles (:data:`lininv.ENSEMBLES`)."""
    return st.sampled_from(ENSEMBLES)


@st.composite
def truths(
    draw: Any, n: int, *, low_rank: bool = True, with_mean: bool = True, max_condition: float = 1e6
) -> LinearInvertiblePrior | LowRankPrior:
    """Strategy for truths of dimension ``n`` (the distribution of the signals, dataset bias).

    A :class:`~lininv.LinearInvertiblePrior` with a drawn spectrum and Haar-random basis, or (if
    ``low_rank``) a :class:`~lininv.LowRankPrior` of rank ``1 .. n - 1`` (data on a subspace),
    with a non-zero mean if ``with_mean``.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    mean = gen.standard_normal(n) if with_mean and draw(st.booleans()) else None
    if low_rank and n >= 2 and draw(st.booleans()):
        k = draw(st.integers(1, n - 1))
        return LowRankPrior(gen.standard_normal((n, k)), mean=mean)
    s = draw(spectra(min_n=n, max_n=n, max_condition=max_condition))
    return LinearInvertiblePrior.from_singular_values(s, rng=gen, mean=mean)


@st.composite
def inverse_problems(
    draw: Any,
    *,
    min_n: int = 2,
    max_n: int = 64,
    min_m: int = 1,
    max_condition: float = 1e12,
    with_mean: bool = False,
    kind: str = "gaussian",
) -> tuple[LinearInvertiblePrior, np.ndarray]:
    """Strategy for ``(prior, A)`` pairs with ``min_m <= m <= n``."""
    prior = draw(
        priors(
            spectrum=spectra(min_n=max(min_n, min_m), max_n=max_n, max_condition=max_condition),
            with_mean=with_mean,
        )
    )
    A = draw(measurement_matrices(prior.n, min_m=min_m, kind=kind))
    return prior, A
