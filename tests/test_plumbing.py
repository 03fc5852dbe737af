"""The shared plumbing: atomic writes, output checks, the lock, the cell store, tables, seeds,
executors, intervals and provenance (lininv/_io.py, _table.py, _random.py, _parallel.py,
_stats.py, _provenance.py)."""

import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import EPS
from scipy import stats

from lininv import _io, _parallel, _provenance, _random, _stats
from lininv._table import Table

# --- atomic writes and output paths -----------------------------------------------------------


def test_atomic_write_replaces_whole_files_with_the_usual_permissions(tmp_path):
    path = tmp_path / "a.txt"
    _io.atomic_write(path, "first")
    _io.atomic_write(path, b"second")
    assert path.read_text() == "second"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["a.txt"]  # no temporary file left


def test_a_failed_atomic_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    _io.atomic_write(path, "old")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_io.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        _io.atomic_write(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize(
    "make, what, match",
    [
        (lambda p: "", "--output", "--output must be a folder path; got an empty string"),
        (lambda p: str(p / "file"), "--output", "exists and is not a folder"),
        (lambda p: "/proc/lininv-x", "--output", "cannot be created as a folder|not a writable"),
        (lambda p: str(p / "file" / "sub"), "--output", "cannot be created as a folder"),
    ],
)
def test_output_folder_is_checked_before_work(tmp_path, make, what, match):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=match):
        _io.output_folder(make(tmp_path), what)


def test_output_folder_is_created(tmp_path):
    assert _io.output_folder(tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: "", "must be a file path; got an empty string"),
        (lambda p: str(p) + "/adir/", "must be a file path, not a folder"),
        (lambda p: str(p), "is a folder"),
        (lambda p: "/proc/flow.npz", "not a writable folder|cannot be created"),
        (lambda p: str(p / "afile" / "report"), "afile' exists and is not a folder"),
    ],
)
def test_output_file_is_checked_before_work(tmp_path, make, match):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match=match):
        _io.output_file(make(tmp_path), "--output")


# --- the lock and the cell store --------------------------------------------------------------


def test_a_second_lock_on_one_output_fails_at_once_and_names_the_holder(tmp_path):
    with _io.Lock(tmp_path / "out", "--output"):
        with pytest.raises(
            _io.OutputInUseError, match=rf"in use by another lininv run \(pid {os.getpid()}\)"
        ):
            _io.Lock(tmp_path / "out", "--output").acquire()
    _io.Lock(tmp_path / "out").acquire().release()  # released on exit
    assert os.listdir(tmp_path) == []  # a clean release leaves no lock file behind


def test_a_lock_file_deleted_by_its_releaser_cannot_admit_two_runs(tmp_path, monkeypatch):
    # Run B opens the lock file, then run A releases (deleting it) before B's flock: B must not
    # hold a lock on the deleted file while run C locks a new one.
    first = _io.Lock(tmp_path / "out").acquire()
    real_flock = __import__("fcntl").flock
    calls = []

    def flock(fd, op):
        if not calls:
            calls.append(fd)
            first.release()  # A releases between B's open and B's flock
        return real_flock(fd, op)

    monkeypatch.setattr("fcntl.flock", flock)
    second = _io.Lock(tmp_path / "out").acquire()  # B retries on the live file
    monkeypatch.undo()
    with pytest.raises(_io.OutputInUseError):
        _io.Lock(tmp_path / "out").acquire()  # C is refused: B holds the file at the path
    second.release()


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    code = (
        "import sys, time; from lininv._io import Lock; "
        f"Lock({str(tmp_path / 'out')!r}).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(_io.OutputInUseError, match=f"pid {proc.pid}"):
            _io.Lock(tmp_path / "out").acquire()
    finally:
        proc.kill()
        proc.wait()
    _io.Lock(tmp_path / "out").acquire().release()


def _store(path, **kw):
    return _io.CellStore(path, {"seed": 1, "m": [2, 3]}, provenance={"host": "a"}, **kw)


def test_cell_store_resumes_with_checksums_and_provenance(tmp_path):
    path = tmp_path / "cells.json"
    with _store(path) as s:
        s.put("m=2", {"mean": 1.5, "ci": (1.0, 2.0), "n": np.int64(3)})
    with _io.CellStore(path, {"seed": 1, "m": [2, 3]}, provenance={"host": "b"}) as s:
        assert s.get("m=2") == {"mean": 1.5, "ci": [1.0, 2.0], "n": 3}
        assert "m=3" not in s and len(s) == 1
        s.put("m=3", {"mean": float("nan")})
        assert s.get("m=3") == {"mean": None}  # JSON has no NaN
        assert s.runs == [{"host": "a"}, {"host": "b"}]
    data = json.loads(path.read_text())
    assert [data["cells"][k]["run"] for k in ("m=2", "m=3")] == [0, 1]


def test_resuming_in_the_same_environment_writes_the_same_bytes(tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    with _store(one) as s:
        s.put("b", 2)
        s.put("a", 1)
    with _store(two) as s:
        s.put("a", 1)
    with _store(two) as s:  # interrupted after "a", resumed
        s.put("b", 2)
    assert one.read_bytes() == two.read_bytes()


def _tamper(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d["cells"]["m=2"]["value"].update(mean=999.0), "checksum does not match"),
        (lambda d: d["cells"]["m=2"].pop("sha256"), "damaged cell 'm=2'"),
        (lambda d: d["cells"]["m=2"].update(run=5), "damaged cell 'm=2'"),
        (lambda d: d.update(params={"seed": 2}), "holds cells of a run with other parameters"),
        (lambda d: d.update(format="other"), "is not a lininv cell store"),
        (lambda d: d.update(version=99), "cell-store version 99"),
        (lambda d: d.pop("runs"), "is damaged"),
    ],
)
def test_a_damaged_or_edited_store_is_refused_and_left_alone(tmp_path, edit, match):
    path = tmp_path / "cells.json"
    with _store(path) as s:
        s.put("m=2", {"mean": 1.5})
    _tamper(path, edit)
    before = path.read_bytes()
    with pytest.raises(_io.StoreError, match=match):
        _store(path).open()
    assert path.read_bytes() == before
    _io.Lock(path).acquire().release()  # a refused open does not keep the lock


def test_unreadable_store_and_validation_hook(tmp_path):
    path = tmp_path / "cells.json"
    path.write_text("{not json")
    with pytest.raises(_io.StoreError, match="cannot be read as a cell store"):
        _store(path).open()
    path.unlink()
    with _store(path) as s:
        s.put("m=2", {"mean": -1.0})

    def positive(key, value):
        if not value["mean"] > 0:
            raise ValueError(f"mean must be > 0; got {value['mean']}")

    with pytest.raises(_io.StoreError, match=r"invalid cell 'm=2': mean must be > 0; got -1.0"):
        _store(path, validate=positive).open()


def test_two_stores_on_one_file_conflict(tmp_path):
    with _store(tmp_path / "c.json"):
        with pytest.raises(_io.OutputInUseError):
            _store(tmp_path / "c.json").open()


def test_put_needs_an_open_store(tmp_path):
    with pytest.raises(RuntimeError, match="not open"):
        _store(tmp_path / "c.json").put("a", 1)


# --- tables -------------------------------------------------------------------------------------


def test_table_round_trips_through_csv_and_json_with_its_meta(tmp_path):
    meta = {"lininv": "0.2.0", "seed": 7, "settings": {"ms": [2, 4]}, "command": "lininv x"}
    rows = [{"m": 2, "err": 0.1 + 0.2, "ok": True, "name": "a,b"}, {"m": 4, "err": None}]
    t = Table(["m", "err", "ok", "name"], rows, meta=meta)
    t.to_csv(tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_text()
    assert text.startswith("# lininv: 0.2.0\n# seed: 7\n")
    back = Table.read_csv(tmp_path / "t.csv")
    assert back.rows[0] == rows[0]  # bitwise: floats are written with repr
    assert back.rows[1] == {"m": 4, "err": None, "ok": None, "name": None}
    assert back.meta["settings"] == {"ms": [2, 4]} and back.meta["seed"] == "7"
    again = Table.from_dict(json.loads(t.to_json(tmp_path / "t.json")))
    assert again.rows == t.rows and again.meta == meta


def test_table_refuses_unknown_columns():
    with pytest.raises(ValueError, match="not among the columns"):
        Table(["a"]).append({"b": 1})


# --- seeds and streams --------------------------------------------------------------------------


def test_stream_is_the_spawned_seed_sequence():
    a = _random.stream(5, 3, 1).standard_normal(4)
    b = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(3, 1))).standard_normal(4)
    assert np.array_equal(a, b)  # bitwise: the same generator


def test_seed_from():
    assert _random.seed_from(12) == 12
    assert _random.seed_from(np.random.SeedSequence(9)) == 9
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    assert _random.seed_from(g1) == _random.seed_from(g2)
    assert _random.seed_from(None) != _random.seed_from(None)
    with pytest.raises(ValueError, match="rng must be a non-negative int seed; got -1"):
        _random.seed_from(-1)
    with pytest.raises(TypeError, match="rng must be None, an int seed"):
        _random.seed_from(1.5)


def test_param_seed_keys_reals_to_single_precision_and_ints_exactly():
    s = np.linspace(1.0, 0.1, 50)
    base = _random.param_seed("ns", 0, s, 4, 0.5)
    assert _random.param_seed("ns", 0, s * (1 + 2 * EPS), 4, 0.5 * (1 - EPS / 2)) == base
    assert _random.parameter_key(0.5 * (1 - EPS / 2)) == _random.parameter_key(0.5)  # binade carry
    assert _random.param_seed("ns", 0, s, 5, 0.5) != base
    assert _random.param_seed("ns", 0, s, 4.0, 0.5) != base  # an int and a real differ
    assert _random.param_seed("other", 0, s, 4, 0.5) != base
    assert _random.param_seed("ns", 1, s, 4, 0.5) != base


def test_parameter_key_keeps_the_exponent_range():
    tiny, huge = np.array([1e-300, 2e-300]), np.array([1e300, 2e300])
    assert _random.parameter_key(tiny) != _random.parameter_key(tiny * 1.5)
    assert _random.parameter_key(huge) != _random.parameter_key(tiny)
    assert len({_random.parameter_key(x) for x in (tiny, huge, tiny * 2, huge / 2)}) == 4


# --- executors ----------------------------------------------------------------------------------


def _square(x):
    return x * x


@pytest.mark.parametrize("executor", [None, 1, 2, "threads"])
def test_imap_unordered_gives_every_result_whatever_the_executor(executor):
    pool = ThreadPoolExecutor(2) if executor == "threads" else None
    with _parallel.Workers(pool or executor, tasks=20) as w:
        out = dict(_parallel.imap_unordered(w, _square, [(i,) for i in range(20)]))
    if pool is not None:
        pool.shutdown()
    assert out == {i: i * i for i in range(20)}


def test_closing_imap_early_cancels_the_rest():
    started = []

    def slow(i):
        started.append(i)
        return i

    with ThreadPoolExecutor(1) as pool:
        with _parallel.Workers(pool) as w:
            w.capacity = 1  # window of 2
            it = _parallel.imap_unordered(w, slow, [(i,) for i in range(100)])
            next(it)
            it.close()
    assert len(started) <= 3


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (0, ValueError, "executor must be >= 1 worker processes; got 0"),
        (1.5, TypeError, r"executor must be None \(in-process\), an int number of local"),
        ("", ValueError, "executor must be a Dask scheduler address; got an empty string"),
    ],
)
def test_bad_executors_are_refused(bad, exc, match):
    with pytest.raises(exc, match=match):
        _parallel.Workers(bad)


def test_an_unreachable_dask_scheduler_is_one_clean_error():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="could not connect to the Dask scheduler"):
        with _parallel.Workers("tcp://127.0.0.1:9", name="--scheduler"):
            pass


# --- intervals and provenance -------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 3, 30, 1000])
def test_mean_ci_is_scipys_student_t_interval(size):
    v = np.random.default_rng(size).standard_normal(size)
    mean, lo, hi = _stats.mean_ci(v, 0.9)
    ref = stats.t.interval(0.9, size - 1, loc=v.mean(), scale=stats.sem(v))
    # one t quantile, one std and a division: a few ulps of the half-width
    assert math.isclose(lo, ref[0], rel_tol=8 * EPS, abs_tol=8 * EPS * (hi - lo))
    assert math.isclose(hi, ref[1], rel_tol=8 * EPS, abs_tol=8 * EPS * (hi - lo))
    assert mean == v.mean()  # bitwise: mean_ci returns numpy's mean of the same array


def test_t_quantile_is_not_the_normal_for_few_values():
    assert _stats.t_quantile(2) == pytest.approx(12.706, abs=1e-3)
    assert _stats.t_quantile(10**6) == pytest.approx(1.95996, abs=1e-5)


def test_provenance_names_versions_platform_cpu_seed_and_command():
    prov = _provenance.provenance(seed=3, command="lininv verify --seed 3")
    for key in (
        "lininv",
        "python",
        "numpy",
        "scipy",
        "numba",
        "matplotlib",
        "platform",
        "cpu",
        "blas",
    ):
        assert prov[key], key
    assert prov["seed"] == 3 and prov["command"] == "lininv verify --seed 3"
    header = _provenance.csv_header(prov)
    assert header.splitlines()[0].startswith("# lininv: ")
    assert all(line.startswith("# ") for line in header.splitlines())
