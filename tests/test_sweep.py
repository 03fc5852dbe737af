"""Sweeps: the table, cell seeds, persistence and resume (also after a kill), executors, Dask."""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest
from helpers import EPS
from threadpoolctl import threadpool_limits

import lininv
from lininv import _sweep
from lininv._sweep import COLUMNS, SweepTable, sweep

U = EPS / 2


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):  # small BLAS calls; avoid OpenBLAS wake-ups on a loaded machine
        yield


S = {"power:1": lininv.make_spectrum("power:1", 40)}


def small(**kw):
    args = dict(trials=200, rng=3)
    args.update(kw)
    return sweep(S, [2, 5, 20], **args)


def test_rows_hold_the_bounds_prediction_and_estimate():
    table = sweep(S, [1, 5, 20], [0.0, 0.1], trials=300, rng=1)
    s = S["power:1"]
    assert [(r["m"], r["noise"]) for r in table] == [
        (1, 0.0),
        (1, 0.1),
        (5, 0.0),
        (5, 0.1),
        (20, 0.0),
        (20, 0.1),
    ]
    for r in table:
        assert list(r) == list(COLUMNS)
        est = lininv.expected_error(s, r["m"], r["noise"], trials=300, rng=r["seed"])
        assert (r["mc_mean"], r["mc_stderr"], (r["ci_low"], r["ci_high"])) == (
            est.mean,
            est.stderr,
            est.ci,
        )
        assert r["lower"] == lininv.lower_bound(s, r["m"])
        assert r["predicted"] == lininv.predicted_error(s, r["m"], r["noise"])
        assert r["predicted_rel_error"] == (r["predicted"] - r["mc_mean"]) / r["mc_mean"]
        assert r["lower_holds"] is True
        if r["m"] >= 2 and r["noise"] == 0.0:
            hmt = lininv.hmt_upper_bound(s, r["m"])
            assert (r["hmt_upper"], r["hmt_k"]) == (hmt.value, hmt.k)
            assert r["paper_upper"] == lininv.paper_upper_bound(s, r["m"])
            assert r["hmt_holds"] is True and r["paper_holds"] is True
        else:  # the theorem's upper bounds are for m >= 2 and no noise
            assert r["hmt_upper"] is r["paper_upper"] is r["hmt_holds"] is None
    assert table.all_hold and table.violations() == []


def test_flat_spectrum_rows_are_exact():
    table = sweep({"flat": np.ones(12)}, [2, 6, 11], trials=64, rng=0)
    for r in table:
        # per draw n - m up to the kernels' rounding (test_montecarlo bounds it per draw)
        assert r["mc_mean"] == pytest.approx(12 - r["m"], rel=1e-12)
        assert r["lower"] == 12 - r["m"]


def test_cell_seeds_depend_on_parameters_not_on_position():
    a = sweep(S, [2, 5, 20], trials=100, rng=7)
    b = sweep(S, [20], trials=100, rng=7)
    assert b.rows[0] == a.rows[2]
    c = sweep({"renamed": S["power:1"]}, [20], trials=100, rng=7)
    assert {k: v for k, v in c.rows[0].items() if k != "spectrum"} == {
        k: v for k, v in a.rows[2].items() if k != "spectrum"
    }
    assert sweep(S, [20], trials=100, rng=8).rows[0]["mc_mean"] != a.rows[2]["mc_mean"]


def test_cell_seed_ignores_last_bit_differences_but_not_real_ones():
    rng = np.random.default_rng(0)
    s = np.sort(rng.uniform(1e-6, 1.0, 512))[::-1]
    base = _sweep.cell_seed(5, s, 10, 0.25)
    # up to 4 ulps in random directions: a 24-bit rounding boundary is straddled with
    # probability about 4 * 2^-29 per value, 4e-6 for all 512, and this fixed draw does not
    nudged = s * (1 + rng.integers(-4, 5, s.size) * U)
    assert np.any(nudged != s)
    assert _sweep.cell_seed(5, nudged, 10, 0.25) == base
    assert _sweep.cell_seed(5, s, 10, 0.25 * (1 + 2 * U)) == base
    # a relative change of 1e-6 in one value (16 units of the 24th bit) is another spectrum
    other = s.copy()
    other[100] *= 1 + 1e-6
    assert _sweep.cell_seed(5, other, 10, 0.25) != base
    assert _sweep.cell_seed(5, s, 11, 0.25) != base
    assert _sweep.cell_seed(6, s, 10, 0.25) != base
    assert _sweep.cell_seed(5, s, 10, 0.2500001) != base


def test_negative_zero_noise_is_the_same_cell_as_zero():
    s = lininv.make_spectrum("power:1", 16)
    assert _sweep.cell_seed(0, s, 4, -0.0) == _sweep.cell_seed(0, s, 4, 0.0)
    a = sweep({"p": s}, [4], [-0.0], trials=64, rng=1)
    b = sweep({"p": s}, [4], [0.0], trials=64, rng=1)
    assert a.rows[0]["mc_mean"] == b.rows[0]["mc_mean"]  # bitwise: the same cell, the same draws


def test_output_is_written_and_resumed_without_recomputation(tmp_path, monkeypatch):
    out = tmp_path / "res.json"
    first = small(output=out)
    data = json.loads(out.read_text())
    assert data["params"] == {"seed": 3, "rtol": None, "trials": 200, "max_trials": 100000}
    assert _rows(out) == 3 and data["runs"][0]["seed"] == 3  # provenance of the run
    assert os.listdir(tmp_path) == ["res.json"]  # no temporary or lock file left

    def boom(*args):
        raise AssertionError("a finished cell was recomputed")

    monkeypatch.setattr(_sweep, "_compute_cell", boom)
    assert small(output=out) == first
    assert small(output=out, rng=None) == first  # the file's seed


def test_extending_the_grid_computes_only_new_cells(tmp_path, monkeypatch):
    out = tmp_path / "res.json"
    sweep(S, [5], trials=200, rng=3, output=out)
    calls = []
    real = _sweep._compute_cell
    monkeypatch.setattr(_sweep, "_compute_cell", lambda *a: calls.append(a[2]) or real(*a))
    resumed = small(output=out)
    assert calls == [2, 20]
    assert resumed == small()


KILL_N, KILL_MS, KILL_TRIALS, KILL_SEED = 80, list(range(4, 76, 6)), 800, 11
_KILL_SCRIPT = f"""
import sys, lininv
s = lininv.make_spectrum("power:1", {KILL_N})
lininv.sweep({{"p": s}}, {KILL_MS}, trials={KILL_TRIALS}, rng={KILL_SEED}, output=sys.argv[1])
"""


def _kill_sweep(**kw):
    s = lininv.make_spectrum("power:1", KILL_N)
    return sweep({"p": s}, KILL_MS, trials=KILL_TRIALS, rng=KILL_SEED, **kw)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The uninterrupted sweep and its results file."""
    path = tmp_path_factory.mktemp("clean") / "clean.json"
    return _kill_sweep(output=path), _cells(path)


def _cells(path):
    """The stored rows by cell (values only: which run stored them is provenance)."""
    cells = json.loads(path.read_text())["cells"]
    return {k: c["value"] for k, c in cells.items() if not k.startswith("spectrum:")}


def _rows(path):
    try:
        return len(_cells(path))
    except (OSError, ValueError, KeyError):
        return 0


def _wait_for_rows(path, alive, count=2, timeout=60.0):
    deadline = time.monotonic() + timeout
    while _rows(path) < count and alive() and time.monotonic() < deadline:
        time.sleep(0.002)


def test_killed_sweep_resumes_to_exactly_the_uninterrupted_table(tmp_path, clean_run):
    out = tmp_path / "killed.json"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(out)])
    try:
        _wait_for_rows(out, lambda: proc.poll() is None)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    done = _rows(out)
    assert 2 <= done < len(KILL_MS), f"not interrupted mid-run ({done} of {len(KILL_MS)} cells)"
    assert _kill_sweep(output=out) == clean_run[0]
    assert _cells(out) == clean_run[1]


def test_killed_pool_worker_loses_nothing(tmp_path, clean_run):
    # Kill a worker process of the executor mid-run: the sweep fails, the finished cells are on
    # disk, and the rerun completes them to the uninterrupted table.
    out = tmp_path / "pool.json"
    pool = ProcessPoolExecutor(2)
    error = []

    def run():
        try:
            _kill_sweep(output=out, executor=pool)
        except BrokenProcessPool as exc:
            error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    _wait_for_rows(out, thread.is_alive)
    os.kill(next(iter(pool._processes)), signal.SIGKILL)
    thread.join()
    pool.shutdown()
    assert error and 1 <= _rows(out) < len(KILL_MS)
    assert _kill_sweep(output=out) == clean_run[0]
    assert _cells(out) == clean_run[1]


def test_other_settings_are_refused_and_the_file_is_untouched(tmp_path):
    out = tmp_path / "res.json"
    small(output=out)
    before = out.read_bytes()
    with pytest.raises(ValueError, match="holds cells of a run with other parameters"):
        small(output=out, trials=300)
    with pytest.raises(ValueError, match="holds cells of a run with other parameters"):
        small(output=out, rng=4)
    with pytest.raises(ValueError, match="different spectrum named 'power:1'"):
        sweep({"power:1": np.ones(40)}, [2], trials=200, rng=3, output=out)
    assert out.read_bytes() == before
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read as a cell store"):
        small(output=bad)
    other = tmp_path / "other.json"
    other.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="is not a lininv cell store"):
        small(output=other)
    assert bad.read_text() == "{not json"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_unwritable_folder_is_refused():
    # /proc refuses new files even to root (chmod-based tests do not bind root).
    with pytest.raises(ValueError, match="not a writable folder|cannot be created"):
        small(output="/proc/self/res.json")


def test_missing_folder_is_created(tmp_path):
    assert small(output=tmp_path / "new" / "res.json") == small()
    assert _rows(tmp_path / "new" / "res.json") == 3


def test_executors_give_the_serial_table():
    serial = small()
    with ThreadPoolExecutor(2) as threads:
        assert small(executor=threads) == serial
    with ProcessPoolExecutor(2) as procs:
        assert small(executor=procs) == serial


def test_dask_local_cluster_gives_the_serial_table():
    distributed = pytest.importorskip("distributed")
    serial = small()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert small(executor=client) == serial
        assert small(executor=cluster.scheduler_address) == serial
        s = S["power:1"]  # the engine itself on the cluster, chunk by chunk
        kw = dict(rtol=5e-3, rng=5, batch_size=64)
        assert lininv.expected_error(s, 5, executor=client, **kw) == lininv.expected_error(
            s, 5, **kw
        )


def test_table_views_and_files(tmp_path):
    table = sweep(S, [2, 5], [0.0, 0.2], trials=100, rng=2)
    assert table.column("m").tolist() == [2, 2, 5, 5]
    assert np.isnan(table.column("hmt_upper")[1])
    assert len(table.select(noise=0.0)) == 2
    assert len(table.select(spectrum="power:1")) == 4
    text = table.format()
    assert "power:1" in text and "hold" in text and "VIOLATED" not in text
    table.to_csv(tmp_path / "t.csv")
    lines = [x for x in (tmp_path / "t.csv").read_text().splitlines() if not x.startswith("#")]
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 5
    assert "# settings: " in (tmp_path / "t.csv").read_text()  # with its provenance
    fields = lines[2].split(",")
    assert fields[COLUMNS.index("hmt_upper")] == ""  # None
    assert float(fields[COLUMNS.index("mc_mean")]) == table[1]["mc_mean"]  # repr round-trips
    table.to_json(tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["rows"] == table.rows and data["settings"]["seed"] == 2
    with pytest.raises(ValueError, match="name must be one of"):
        table.column("nope")


def test_violations_are_reported(monkeypatch):
    monkeypatch.setattr(_sweep, "lower_bound", lambda s, m: 1e9)
    table = small()
    assert not table.all_hold
    assert len(table.violations()) == 3
    assert "VIOLATED" in table.format()


def test_adaptive_cells_reach_their_rtol():
    table = sweep(S, [5], rtol=5e-3, rng=1)
    r = table[0]
    assert r["converged"] and r["mc_stderr"] <= 5e-3 * r["mc_mean"]
    assert r["trials"] % 64 == 0


BAD = [
    (dict(spectra=[1.0, -1.0], ms=[1]), ValueError, "s must be strictly positive"),
    (dict(spectra={}, ms=[1]), ValueError, "spectra must not be empty"),
    (dict(spectra={3: [1.0]}, ms=[1]), TypeError, "spectra keys must be non-empty strings"),
    (dict(spectra=[1.0, 1.0], ms=[]), ValueError, "ms must not be empty"),
    (dict(spectra=[1.0, 1.0], ms=[3]), ValueError, "ms must be at most n = 2"),
    (dict(spectra=[1.0, 1.0], ms=[0]), ValueError, r"ms must be an integer in \[1, inf\]"),
    (dict(spectra=[1.0, 1.0], ms=[1.5]), TypeError, "ms must be an integer"),
    (dict(spectra=[1.0, 1.0], ms=[1, 1]), ValueError, "ms must not repeat a value; got 1 twice"),
    (dict(spectra=[1.0, 1.0], ms=[1], noise_stds=[0.0, -0.0]), ValueError, "noise_stds must not"),
    (dict(spectra=[1.0, 1.0], ms=[1], ensembles=["gauss"]), ValueError, "ensembles must be among"),
    (dict(spectra=[1.0, 1.0], ms=[1], truths=["power:x"]), ValueError, "truth .power:x. is not"),
    (dict(spectra=[1.0, 1.0], ms=[1], truths=[3]), TypeError, "truth must be a non-empty string"),
    (dict(spectra=[1.0, 1.0], ms=[1], noise_stds=[-1.0]), ValueError, "noise_stds must be >= 0"),
    (dict(spectra=[1.0, 1.0], ms=[1], rtol=0.1, trials=5), ValueError, "either rtol or trials"),
    (dict(spectra=[1.0, 1.0], ms=[1], trials=1), ValueError, "trials must be an integer"),
    (dict(spectra=[1.0, 1.0], ms=[1], max_trials=3), ValueError, "max_trials must be an integer"),
    (dict(spectra=[1.0, 1.0], ms=[1], rng="x"), TypeError, "rng must be None"),
    (dict(spectra=[1.0, 1.0], ms=[1], executor=1.5), TypeError, "executor must be None"),
    # What expected_error would refuse in a cell is refused before the first cell.
    (dict(spectra=[1.0, 1.0], ms=[1], noise_stds=[1e300]), ValueError, "noise_stds must be at"),
    (dict(spectra=[1.0, 1.0], ms=[1], trials=10**12), ValueError, "trials = 1000000000000 needs"),
    (dict(spectra=[1.0, 1.0], ms=[1], max_trials=10**12), ValueError, "max_trials = 10+ needs"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_sweep_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sweep(**kwargs)


def test_equality_and_repr():
    table = small()
    assert table == SweepTable(list(table.rows), dict(table.settings), dict(table.spectra))
    assert table != small(rng=4)
    assert "3 rows" in repr(table)
    assert not math.isnan(table.column("mc_mean").sum())
