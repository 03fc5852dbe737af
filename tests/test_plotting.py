"""Figures: what is drawn, axes handling, lazy import, bad input."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

import lininv
from lininv.plotting import _bin_edges, plot_bounds, plot_prediction_error

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
    # bitwise: the figure holds a copy of the table's column
    assert np.array_equal(
        _line(ax, r"lower bound $\sum_{i>m}s_i^2$").get_ydata(), clean.column("lower")
    )
    hmt = _line(ax, "HMT upper bound (best $k$)")
    # bitwise: integer m; m = 1 has no upper bound
    assert np.array_equal(hmt.get_xdata(), [2, 4, 8, 16])
    # bitwise: the figure holds a copy of the table's column
    assert np.array_equal(hmt.get_ydata(), clean.column("hmt_upper")[1:])
    paper = _line(ax, r"paper upper bound $m\sum_{i>m-2}s_i^2$")
    # bitwise: the figure holds a copy of the table's column
    assert np.array_equal(paper.get_ydata(), clean.column("paper_upper")[1:])
    pred = _line(ax, r"prediction $\lambda m$, $\sigma$ = 0")
    # bitwise: the figure holds a copy of the table's column
    assert np.array_equal(pred.get_ydata(), clean.column("predicted"))
    noisy = _line(ax, r"prediction, $\sigma$ = 0.1")
    # bitwise: the figure holds a copy of the table's column
    assert np.array_equal(noisy.get_ydata(), table.select(noise=0.1).column("predicted"))
    assert len(ax.containers) == 2  # Monte-Carlo error bars, one per noise level
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert ax.get_title() == "power:1, n = 32"
    plt.close(fig)


def test_prediction_error_figure(table):
    ax = plot_prediction_error(table, "power:1", title="t")
    line = _line(ax, r"$\sigma$ = 0")
    # bitwise: the figure holds a copy of the table's column
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


def test_bridge_figures_live_in_plotting_and_their_old_names_warn():
    import subprocess
    import sys

    import lininv.bridge
    import lininv.plotting
    from lininv.plotting import _bridge

    for name in lininv.plotting._BRIDGE_FIGURES:
        assert getattr(lininv.plotting, name) is getattr(_bridge, name)
        with pytest.warns(DeprecationWarning, match=f"use lininv.plotting.{name}"):
            assert getattr(lininv.bridge, name) is getattr(lininv.plotting, name)
    # Importing lininv.plotting alone does not import the flows.
    code = "import sys, lininv.plotting; print('lininv.flows' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# Degenerate data: no figure may fail on values equal up to rounding, a single value, or extreme
# magnitudes (a user's sweep or experiment can produce them). Values within a factor 10 of the
# largest double are left out: matplotlib's own tick locators overflow there.

DEGENERATE = {
    "all equal": np.array([4.0, 4.0, 4.0]),
    "equal up to a few ulps": 4.0 + np.spacing(4.0) * np.array([0.0, 3.0, -2.0]),
    "single value": np.array([4.0]),
    "huge": 1e300 * (1.0 + np.spacing(1.0) * np.array([0.0, 1.0, 2.0])),
    "tiny": 1e-300 * (1.0 + np.spacing(1.0) * np.array([0.0, 1.0, 2.0])),
    "subnormal": np.array([5e-324, 1e-323, 5e-324]),
    "zero": np.zeros(3),
}


def _quiet(test):
    """matplotlib says (UserWarning) when a log axis has no positive data, a legend nothing to
    show, or equal limits are widened: expected here."""
    for message in ("Data has no positive values", "No artists with labels", "Attempting to set"):
        test = pytest.mark.filterwarnings(f"ignore:{message}:UserWarning")(test)
    return test


def _drawn(ax):
    ax.figure.canvas.draw()  # tick locators and formatters run here
    assert np.all(np.isfinite(ax.get_xlim())) and np.all(np.isfinite(ax.get_ylim()))
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "values",
    [*DEGENERATE.values(), [], [np.nan, np.inf, 2.0], [-np.finfo(float).max, np.finfo(float).max]],
    ids=[*DEGENERATE, "empty", "non-finite", "whole double range"],
)
def test_histogram_edges_never_fail(values):
    values = np.asarray(values, dtype=float)
    edges = _bin_edges(values, 50)
    assert edges.shape == (51,) and np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(finite, bins=edges)
    assert counts.sum() == finite.size  # every finite value falls in a bin


@_quiet
@pytest.mark.parametrize("name", list(DEGENERATE))
def test_bridge_figures_take_degenerate_data(name):
    from lininv.bridge import Table
    from lininv.bridge._compare_cell import COMPARE_COLUMNS
    from lininv.plotting import plot_comparison, plot_denoising, plot_initialisation

    v = DEGENERATE[name]
    rows = [{c: float(x) for c in COMPARE_COLUMNS} | {"m": 4 + 4 * i} for i, x in enumerate(v)]
    _drawn(plot_comparison(Table(COMPARE_COLUMNS, rows)))
    cols = ["noise_std", "gamma", "flow_mean", "flow_lo", "flow_hi", "gauss_mean"]
    # degenerate errors over a grid of gammas, and over gamma = 0 alone
    for gamma in (0.01 * np.arange(v.size), np.zeros_like(v)):
        rows = [
            dict(zip(cols, [0.1, g, x, x, x, x], strict=True))
            for g, x in zip(gamma, v, strict=True)
        ]
        _drawn(plot_denoising(Table(cols, rows)))
    cols = ["init", "init_norm", "gamma", "mean", "lo", "hi"]
    rows = [dict(zip(cols, ["fixed_norm", x, 0.0, x, x, x], strict=True)) for x in v]
    _drawn(plot_initialisation(Table(cols, rows)))


@_quiet
@pytest.mark.parametrize("name", list(DEGENERATE))
def test_sweep_figures_take_degenerate_data(name):
    rows = []
    for i, x in enumerate(DEGENERATE[name]):
        for noise in (0.0, 0.1):
            row = dict.fromkeys(lininv._sweep.COLUMNS, float(x))
            row.update(spectrum="s", n=8, m=2 + i, noise=noise, trials=64, hmt_k=1, seed=0)
            rows.append(row)
    table = lininv.SweepTable(rows, {}, {"s": np.ones(8)})
    _drawn(plot_bounds(table))
    _drawn(plot_prediction_error(table))
