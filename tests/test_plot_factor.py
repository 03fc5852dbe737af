"""The measurement-factor figure: both scales drawn from the committed results, a clear error."""

import csv
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from lininv.plotting import plot_measurement_factor

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
CLAIM = "Lasso-DCT needs several times the flow's measurements for equal error"


def _csv(name):
    with open(FIGURES / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _line(ax, label):
    [line] = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def test_both_scales_are_drawn_from_the_committed_csvs():
    fig, ax = plt.subplots()
    assert plot_measurement_factor(FIGURES, ax=ax) is ax
    small = [r for r in _csv("claims.csv") if r["claim"] == CLAIM and r["protocol"] == "lininv"]
    assert len(small) == 8  # m = 4 .. 56 on the 8x8 digits
    cens = np.array(["censored" in r["setting"] for r in small])
    m = np.array([float(r["setting"].split("=")[1].split()[0]) for r in small])
    eff = np.array([float(r["effect"]) for r in small])
    line = _line(ax, "n = 64 (95% bootstrap CI)")
    # the JSON and the CSV hold the same floats (repr round-trips); m / 64 is exact
    np.testing.assert_array_equal(line.get_xdata(), m[~cens] / 64)  # bitwise: see above
    np.testing.assert_array_equal(line.get_ydata(), eff[~cens])  # bitwise: see above
    bound = _line(ax, "n = 64, bound")
    np.testing.assert_array_equal(bound.get_ydata(), eff[cens])  # bitwise: see above
    big = _csv("compressed-sensing-28.csv")
    ok = np.array([r["factor_bound"] == "=" for r in big])
    ratio = np.array([float(r["ratio"]) for r in big])
    fac = np.array([float(r["factor"]) for r in big])
    line = _line(ax, "n = 784 (95% bootstrap CI)")
    np.testing.assert_array_equal(line.get_xdata(), ratio[ok])  # bitwise: see above
    np.testing.assert_array_equal(line.get_ydata(), fac[ok])  # bitwise: see above
    lower = [r for r in big if r["factor_bound"] == ">"]
    assert lower, "the committed n = 784 run has censored ratios (32%, 64%)"
    np.testing.assert_array_equal(  # bitwise: see above
        _line(ax, "n = 784, bound").get_ydata(), [float(r["factor"]) for r in lower]
    )
    assert len(ax.containers) == 2  # one error-bar set (95% CI) per scale
    assert ax.get_xscale() == "log"
    plt.close(fig)


def test_a_folder_without_the_results_names_the_missing_file(tmp_path):
    before = len(plt.get_fignums())
    with pytest.raises(ValueError, match=r"claims\.json.*is not a saved experiment result"):
        plot_measurement_factor(tmp_path)
    shutil.copy(FIGURES / "claims.json", tmp_path)  # the n = 64 half alone is not enough
    with pytest.raises(
        ValueError, match=r"compressed-sensing-28\.json.*is not a saved experiment result"
    ):
        plot_measurement_factor(tmp_path)
    assert len(plt.get_fignums()) == before  # nothing drawn before the data are read
