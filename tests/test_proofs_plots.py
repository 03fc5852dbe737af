"""Plotting helpers: each draws on the given Axes (or a new one) and returns it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from helpers import EPS, assert_close, nudge  # noqa: E402

import lininv  # noqa: E402
import proofs_numeric as pn  # noqa: E402
from proofs_numeric import _spectra as sp  # noqa: E402
from proofs_numeric import tightness  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_every_plot_returns_the_axes_it_drew_on():
    r = pn.check_flat_spectrum(sizes=[(6, 2)], precision=0.05, rng=0)
    r7 = pn.check_deterministic_equivalent(
        spectra=[("power a=1", sp.power)],
        sizes=(8,),
        m_fractions=(0.5,),
        noise_stds=(0.0, 0.1),
        rtol=0.05,
        rng=0,
    )
    found = [tightness.search("conjecture", family="power", n=3, m=1, maxiter=2, popsize=4, rng=0)]
    calls = [
        lambda ax: pn.plot_evidence(r, ax=ax),
        lambda ax: pn.plot_lower_bound_draws(sp.power(8), 2, draws=20, rng=0, ax=ax),
        lambda ax: pn.plot_hmt_draws(sp.power(8), 4, 2, draws=20, rng=0, ax=ax),
        lambda ax: pn.plot_inverse_wishart_mean(3, 2, draws=50, rng=0, ax=ax),
        lambda ax: pn.plot_descent(sp.power(6), 2, steps=10, rng=0, ax=ax),
        lambda ax: pn.plot_denoising_curve(sp.power(6), 0.3, ax=ax),
        lambda ax: pn.plot_equivalent(r7, ax=ax),
        lambda ax: pn.plot_tightness(found, ax=ax),
    ]
    for call in calls:
        _, ax = plt.subplots()
        assert call(ax) is ax
        assert ax.has_data()
    assert pn.plot_evidence(r) is not None  # ax=None makes a figure


def test_lower_bound_figure_marks_the_bound():
    s = nudge(sp.flat(6))
    ax = pn.plot_lower_bound_draws(s, 2, draws=10, rng=0)
    xs = [line.get_xdata()[0] for line in ax.get_lines()]
    assert lininv.lower_bound(s, 2) in xs  # bitwise: the figure draws lower_bound(s, m) itself
    # flat: the bound is (n - m) s^2 = 4, up to the rounding of 4 squares and 3 additions
    assert_close(lininv.lower_bound(s, 2), 4.0, rtol=8 * EPS)
    # every draw's error is 4 too, up to rounding: a histogram of all of them, not an error
    assert sum(p.get_height() for p in ax.patches) == 10


# Spectra whose per-draw errors are equal up to rounding (flat: (n - m) s^2 for every draw), at
# magnitudes from 1e-300 to 1e300, and a flat spectrum perturbed at the last bit.
DEGENERATE_SPECTRA = {
    "flat": sp.flat(6),
    "flat, last bits perturbed": sp.flat(6) + np.spacing(1.0) * np.array([0, 1, -1, 2, 0, -2]),
    "flat 1e150": 1e150 * sp.flat(6),
    "flat 1e-150": 1e-150 * sp.flat(6),
}


@pytest.mark.parametrize("name", list(DEGENERATE_SPECTRA))
def test_figures_of_draws_take_errors_equal_up_to_rounding(name):
    s = DEGENERATE_SPECTRA[name]
    ax = pn.plot_lower_bound_draws(s, 2, draws=40, rng=0)
    assert sum(p.get_height() for p in ax.patches) == 40
    ax.figure.canvas.draw()  # tick locators and formatters run here
    assert np.all(np.isfinite(ax.get_xlim()))
    ax = pn.plot_hmt_draws(s, 4, 2, draws=40, rng=0)
    ax.figure.canvas.draw()
    assert np.all(np.isfinite(ax.get_xlim()))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: pn.plot_evidence("r"), TypeError, "result must be a StepResult"),
        (
            lambda: pn.plot_equivalent(pn.check_flat_spectrum(sizes=[(4, 1)], rng=0)),
            TypeError,
            "check_deterministic_equivalent",
        ),
        (lambda: pn.plot_tightness([]), TypeError, "non-empty sequence of SearchResult"),
        (lambda: pn.plot_hmt_draws(sp.power(8), 4, 3), ValueError, "k must be an integer in"),
        (lambda: pn.plot_denoising_curve(sp.power(4), 0.0), ValueError, "noise_std must be > 0"),
    ],
)
def test_bad_plot_calls(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
