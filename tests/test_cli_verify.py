"""``lininv verify``: a run, resuming, the exit status on violations, bad input."""

import json
import os

import pytest
from threadpoolctl import threadpool_limits

from lininv import _sweep
from lininv.cli import main
from lininv.cli.verify import default_ms

SMALL = ["-n", "24", "--m", "2,4,8", "--trials", "64", "--workers", "1"]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def test_run_writes_table_csv_json_and_figure(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["verify", *SMALL, "--noise", "0,0.1", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "power:1" in text and "All bounds hold" in text
    assert sorted(os.listdir(out)) == ["verify.csv", "verify.json", "verify.png"]
    data = json.loads((out / "verify.json").read_text())
    assert data["settings"] == {"seed": 0, "rtol": None, "trials": 64, "max_trials": 100000}
    assert list(data["spectra"]) == ["power:1"] and len(data["spectra"]["power:1"]) == 24
    # bitwise: m and noise are copies of the command-line grid
    assert [(r["m"], r["noise"]) for r in data["rows"]] == [
        (2, 0.0),
        (2, 0.1),
        (4, 0.0),
        (4, 0.1),
        (8, 0.0),
        (8, 0.1),
    ]
    assert len((out / "verify.csv").read_text().splitlines()) == 7
    assert (out / "verify.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = (out / "verify.json").read_bytes()
    assert main(["verify", *SMALL, "--noise", "0,0.1", "--output", str(out)]) == 0  # resumes
    # bitwise: a resumed run recomputes nothing and rewrites the same file
    assert (out / "verify.json").read_bytes() == before
    assert capsys.readouterr().out == text


def test_several_spectra_and_a_file(tmp_path, capsys):
    spec = tmp_path / "s.txt"
    spec.write_text("\n".join(str(1.0 / (i + 1)) for i in range(24)))
    args = ["verify", *SMALL, "--spectrum", "exp:0.8", "--spectrum", str(spec)]
    assert main([*args, "--output", str(tmp_path / "o")]) == 0
    data = json.loads((tmp_path / "o" / "verify.json").read_text())
    assert list(data["spectra"]) == ["exp:0.8", str(spec)]
    capsys.readouterr()


def test_violated_bound_exits_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_sweep, "lower_bound", lambda s, m: 1e9)
    assert main(["verify", *SMALL, "--output", str(tmp_path / "v")]) == 1
    captured = capsys.readouterr()
    assert "VIOLATED: lower bound at spectrum power:1, m = 2" in captured.err


def test_dask_scheduler(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        args = ["verify", *SMALL[:-2], "--scheduler", cluster.scheduler_address]
        assert main([*args, "--output", str(tmp_path / "d")]) == 0
    assert main(["verify", *SMALL, "--output", str(tmp_path / "l")]) == 0
    d = json.loads((tmp_path / "d" / "verify.json").read_text())
    local = json.loads((tmp_path / "l" / "verify.json").read_text())
    # bitwise: the engine's results do not depend on the executor (fsum sums of per-chunk streams),
    # same process
    assert d == local
    capsys.readouterr()


def test_default_grid():
    assert default_ms(256) == [2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181]
    assert all(m < 5 for m in default_ms(5))


BAD = [
    (["--spectrum", "gauss:1"], "neither a known form nor an existing file"),
    (["--spectrum", "exp:2"], r"parameter must be in \(0, 1\]"),
    (["--spectrum", "/no/such/file.txt"], "neither a known form nor an existing file"),
    (["-n", "24", "--m", "2,24"], "--m values must be < n = 24"),
    (["-n", "24", "--m", "2,,4"], "--m must be a comma-separated list"),
    (["-n", "24", "--m", "0"], "--m must be >= 1"),
    (["-n", "1"], "-n must be >= 2"),
    (["-n", "ten"], "-n must be an integer"),
    (["--noise", "-0.1"], "--noise must be >= 0"),
    (["--noise", "nan"], "--noise must be finite"),
    (["--rtol", "0"], r"--rtol must be in \(0, 1\)"),
    (["--trials", "1"], "--trials must be >= 2"),
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--max-trials", "10"], "--max-trials must be >= 256"),
    # Refused by the library before the output folder is created (a traceback in a worker before)
    (["--noise", "1e300"], "noise_stds must be at most 1e150 times s_max = 1"),
    (["--trials", "1000000000000"], r"trials = 1000000000000 needs about 21.8 TiB of memory"),
    (["--max-trials", "1000000000000"], r"max_trials = 1000000000000 needs about 21.8 TiB"),
    (["-n", "24", "--m", "2", "--noise", "0.1,1e200"], "noise_stds must be at most"),
]


@pytest.mark.parametrize("args, match", BAD)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, args, match):
    out = tmp_path / "out"
    assert main(["verify", *args, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lininv verify: error: ")
    assert __import__("re").search(match, err), err
    assert not out.exists()


def test_unwritable_output_folder_exits_2(capsys):
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs Linux /proc")
    assert main(["verify", *SMALL, "--output", "/proc/self/lininv-out"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--output folder '/proc/self/lininv-out' is not usable" in err


def test_output_that_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["verify", *SMALL, "--output", str(target)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_other_settings_do_not_touch_existing_results(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["verify", *SMALL, "--output", str(out)]) == 0
    before = {p: (out / p).read_bytes() for p in os.listdir(out)}
    args = ["verify", "-n", "24", "--m", "2,4,8", "--trials", "65", "--output", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a sweep with settings" in err
    assert {p: (out / p).read_bytes() for p in os.listdir(out)} == before


def test_interrupt_keeps_finished_cells_and_the_rerun_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "res"
    grid = ",".join(map(str, range(4, 76, 6)))
    cmd = [
        sys.executable,
        "-m",
        "lininv",
        "verify",
        "-n",
        "80",
        "--m",
        grid,
        "--trials",
        "800",
        "--workers",
        "1",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def rows():
        try:
            return len(json.loads((out / "verify.json").read_text())["rows"])
        except (OSError, ValueError, KeyError):
            return 0

    deadline = time.monotonic() + 60
    while rows() < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted; finished cells are saved" in err
    assert 2 <= rows() < 12
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0 and rows() == 12
