"""Figures: what is drawn, axes handling, lazy import, bad input."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

import lininv
from lininv.plotting import plot_bounds, plot_prediction_error

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def table():
    s = lininv.make_spectrum("power:1", 32)
    return lininv.sweep({"power:1": s}, [1, 2, 4, 8, 16], [0.0, 0.1], trials=64, rng=0)


def _line(ax, label):
    [line] = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def test_bounds_figure_draws_every_curve(table):
    fig, ax = plt.subplots()
    assert plot_bounds(table, ax=ax) is ax
    clean = table.select(noise=0.0)
    assert np.array_equal(
        _line(ax, r"lower bound $\sum_{i>m}s_i^2$").get_ydata(), clean.column("lower")
    )
    hmt = _line(ax, "HMT upper bound (best $k$)")
    assert np.array_equal(hmt.get_xdata(), [2, 4, 8, 16])  # m = 1 has no upper bound
    assert np.array_equal(hmt.get_ydata(), clean.column("hmt_upper")[1:])
    paper = _line(ax, r"paper upper bound $m\sum_{i>m-2}s_i^2$")
    assert np.array_equal(paper.get_ydata(), clean.column("paper_upper")[1:])
    pred = _line(ax, r"prediction $\lambda m$, $\sigma$ = 0")
    assert np.array_equal(pred.get_ydata(), clean.column("predicted"))
    noisy = _line(ax, r"prediction, $\sigma$ = 0.1")
    assert np.array_equal(noisy.get_ydata(), table.select(noise=0.1).column("predicted"))
    assert len(ax.containers) == 2  # Monte-Carlo error bars, one per noise level
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert ax.get_title() == "power:1, n = 32"
    plt.close(fig)


def test_prediction_error_figure(table):
    ax = plot_prediction_error(table, "power:1", title="t")
    line = _line(ax, r"$\sigma$ = 0")
    assert np.array_equal(line.get_ydata(), table.select(noise=0.0).column("predicted_rel_error"))
    assert ax.get_title() == "t"
    plt.close(ax.figure)


def test_new_axes_when_none(table):
    ax = plot_bounds(table)
    assert ax.figure is not None
    plt.close(ax.figure)


def test_plotting_imports_matplotlib_lazily():
    code = "import sys, lininv.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bad_input(table):
    two = lininv.sweep({"a": np.ones(4), "b": np.ones(4)}, [2], trials=64, rng=0)
    with pytest.raises(TypeError, match="table must be a SweepTable"):
        plot_bounds([1, 2])
    with pytest.raises(ValueError, match="spectrum must be given"):
        plot_bounds(two)
    with pytest.raises(ValueError, match="spectrum must be one of"):
        plot_prediction_error(table, "nope")
    with pytest.raises(ValueError, match="at least one row"):
        plot_bounds(table.select(spectrum="nope"))


def test_bridge_figures_are_reexported_lazily():
    import subprocess
    import sys

    import lininv.bridge
    import lininv.plotting

    for name in lininv.plotting._BRIDGE_FIGURES:
        assert getattr(lininv.plotting, name) is getattr(lininv.bridge, name)
    # Importing lininv.plotting alone does not import the flows.
    code = "import sys, lininv.plotting; print('lininv.flows' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
