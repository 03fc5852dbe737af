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
    assert data["params"] == {"seed": 0, "rtol": None, "trials": 64, "max_trials": 100000}
    assert len(data["cells"]["spectrum:power:1"]["value"]) == 24
    assert data["runs"][0]["command"].startswith("lininv verify") or data["runs"][0]["command"]
    rows = sorted(
        (c["value"] for k, c in data["cells"].items() if not k.startswith("spectrum:")),
        key=lambda r: (r["m"], r["noise"]),
    )
    # bitwise: m and noise are copies of the command-line grid
    assert [(r["m"], r["noise"]) for r in rows] == [
        (2, 0.0),
        (2, 0.1),
        (4, 0.0),
        (4, 0.1),
        (8, 0.0),
        (8, 0.1),
    ]
    csv_lines = (out / "verify.csv").read_text().splitlines()
    assert len([x for x in csv_lines if not x.startswith("#")]) == 7
    assert any(x.startswith("# numpy: ") for x in csv_lines)  # provenance
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
    assert {k for k in data["cells"] if k.startswith("spectrum:")} == {
        "spectrum:exp:0.8",
        f"spectrum:{spec}",
    }
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
    (["--noise", "1e300"], "--noise must be at most 1e150 times s_max = 1"),
    (["--trials", "1000000000000"], r"trials = 1000000000000 needs about 21.8 TiB of memory"),
    (["--max-trials", "1000000000000"], r"--max-trials = 1000000000000 needs about 21.8 TiB"),
    (["-n", "24", "--m", "2", "--noise", "0.1,1e200"], "--noise must be at most"),
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
    assert (
        err.count("\n") == 1
        and "--output '/proc/self/lininv-out' cannot be created as a folder" in err
    )


def test_output_that_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["verify", *SMALL, "--output", str(target)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_other_settings_do_not_touch_existing_results(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["verify", *SMALL, "--output", str(out)]) == 0
    capsys.readouterr()
    before = {p: (out / p).read_bytes() for p in os.listdir(out)}
    args = ["verify", "-n", "24", "--m", "2,4,8", "--trials", "65", "--output", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds cells of a run with other parameters" in err
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
    # Default SIGINT handling in the child even where the test worker ignores SIGINT (an
    # ignored signal is inherited), so Ctrl-C arrives as in a terminal.
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def rows():
        try:
            cells = json.loads((out / "verify.json").read_text())["cells"]
        except (OSError, ValueError, KeyError):
            return 0
        return sum(not k.startswith("spectrum:") for k in cells)

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


# --- ensembles and truths (dataset bias) -----------------------------------------------------


def test_ensembles_and_truths_have_their_own_rows_and_columns(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["verify", *SMALL, "--ensemble", "gaussian", "--ensemble", "rademacher"]
    args += ["--truth", "prior", "--truth", "rotated:power:0.5", "--output", str(out)]
    assert main(args) == 0  # no theorem applies to the mismatched rows: no violation
    text = capsys.readouterr().out
    assert "ensemble" in text.splitlines()[0] and "rotated:power:0.5" in text
    from lininv._table import Table

    table = Table.read_csv(out / "verify.csv")
    cells = {(r["m"], r["ensemble"], r["truth"]) for r in table.rows}
    assert len(cells) == 3 * 2 * 2
    theorem = {(r["ensemble"], r["truth"], r["m"]): r["theorem"] for r in table.rows}
    assert theorem[("gaussian", "prior", 4)] == "lower and upper"
    assert theorem[("rademacher", "prior", 4)] == "lower"
    assert theorem[("gaussian", "rotated:power:0.5", 4)] == "none"


@pytest.mark.parametrize(
    "args, match",
    [
        (["--ensemble", "gauss"], "--ensemble must be among gaussian, rademacher"),
        (["--truth", "rotated:nope"], "--truth"),
        (["--m", "4,4"], "--m lists 4 twice"),
        (["--noise", "0,-0"], "--noise lists 0.0 twice"),
        (["--output", ""], "--output must be a folder path; got an empty string"),
        (["--workers", "2", "--scheduler", "tcp://x:1"], "--workers and --scheduler exclude"),
    ],
)
def test_more_bad_input_exits_2_before_any_work(tmp_path, capsys, args, match):
    base = ["verify", "-n", "24", "--m", "2,4", "--trials", "64"]
    if "--output" not in args:
        base += ["--output", str(tmp_path / "o")]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err, err
    assert not (tmp_path / "o" / "verify.json").exists()


def test_a_cell_short_of_its_precision_is_shown_and_exits_3(tmp_path, capsys):
    args = ["verify", "-n", "24", "--m", "4", "--rtol", "1e-9", "--max-trials", "256"]
    assert main([*args, "--output", str(tmp_path / "o"), "--workers", "1"]) == 3
    captured = capsys.readouterr()
    assert "NOT CONVERGED" in captured.out  # the table says so
    assert "NOT CONVERGED: spectrum power:1, m = 4" in captured.err
    assert "All bounds hold" not in captured.out


def test_progress_off_a_terminal_is_a_line_per_cell(tmp_path, capsys):
    assert main(["verify", *SMALL, "--output", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert [line.split("]")[0] for line in err.splitlines()] == [
        "sweep [1/3",
        "sweep [2/3",
        "sweep [3/3",
    ]


def _edit_row(path, edit, *, fix_checksum):
    import hashlib

    data = json.loads(path.read_text())
    key = next(k for k in data["cells"] if not k.startswith("spectrum:"))
    edit(data["cells"][key]["value"])
    if fix_checksum:  # a deliberate edit that also recomputes the checksum
        value = data["cells"][key]["value"]
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
        data["cells"][key]["sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "edit, fixed, match",
    [
        (lambda r: r.update(mc_mean=999.0), False, "checksum does not match"),
        (lambda r: r.update(mc_mean=None), True, "mc_mean must be a finite number"),
        (lambda r: r.update(lower_holds=False), True, "verdicts do not follow from its numbers"),
        (lambda r: r.pop("ci_low"), True, "must have the columns"),
        (lambda r: r.update(mc_mean=999.0), True, "does not contain the mean"),
        (lambda r: r.update(seed=1), True, "seed is not the cell's seed"),
        (lambda r: r.update(theorem="none"), True, "theorem must be 'lower and upper'"),
    ],
)
def test_a_damaged_or_edited_resume_file_is_refused_not_trusted(
    tmp_path, capsys, edit, fixed, match
):
    out = tmp_path / "res"
    assert main(["verify", *SMALL, "--output", str(out)]) == 0
    _edit_row(out / "verify.json", edit, fix_checksum=fixed)
    before = (out / "verify.json").read_bytes()
    capsys.readouterr()
    assert main(["verify", *SMALL, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err, err
    assert (out / "verify.json").read_bytes() == before


def test_a_second_run_on_one_output_fails_at_once(tmp_path, capsys):
    from lininv._io import Lock

    out = tmp_path / "res"
    out.mkdir()
    with Lock(out / "verify.json"):  # what a first run holds while it computes
        assert main(["verify", *SMALL, "--output", str(out)]) == 2
    assert "is in use by another lininv run" in capsys.readouterr().err


def test_an_unreachable_dask_scheduler_is_one_line_and_exit_2(tmp_path, capsys):
    pytest.importorskip("distributed")
    args = ["verify", *SMALL[:-2], "--scheduler", "tcp://127.0.0.1:9", "--output", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler: could not connect to the Dask scheduler" in err
