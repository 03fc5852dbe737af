"""Plotting helpers: each draws on the given Axes (or a new one) and returns it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

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
    ax = pn.plot_lower_bound_draws(sp.flat(6), 2, draws=10, rng=0)
    xs = [line.get_xdata()[0] for line in ax.get_lines()]
    assert 4.0 in xs  # flat: the bound (n - m) s^2 is drawn


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
