"""``lininv experiments``: bad input exits 2 before any work; a run writes CSV, JSON and PNG with
provenance, shows a line per finished cell off a terminal, locks its output and resumes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lininv._io import Lock
from lininv._table import Table
from lininv.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["experiments", "no-such"], "NAME must be one of"),
        (["experiments", "denoising", "--seed", "x"], "--seed must be an integer"),
        (["experiments", "denoising", "--seed", "-2"], "--seed must be >= 0"),
    ],
)
def test_bad_input_exits_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lininv experiments: error:") and message in err
    assert not (tmp_path / "out").exists()  # nothing was started


def test_output_must_be_a_folder(capsys, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["experiments", "denoising", "--output", str(target)]) == 2
    assert f"--output {str(target)!r} exists and is not a folder" in capsys.readouterr().err


def test_unwritable_output_exits_2_in_one_line(capsys):
    """It used to end in a traceback (PermissionError from os.makedirs)."""
    assert main(["experiments", "denoising", "--output", "/proc/lininv-experiments"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lininv experiments: error: --output ") and err.count("\n") == 1


def test_a_second_run_on_the_same_output_fails_at_once(capsys, tmp_path):
    with Lock(tmp_path / "experiments"):  # what a first run holds while it computes
        t0 = time.perf_counter()
        assert main(["experiments", "likelihood-proxy", "--small", "--output", str(tmp_path)]) == 2
        assert time.perf_counter() - t0 < 10.0
    err = capsys.readouterr().err
    assert "--output" in err and "in use by another lininv" in err
    assert not (tmp_path / "likelihood-proxy.csv").exists()


def test_run_writes_resumes_and_records_provenance(capsys, tmp_path):
    argv = ["experiments", "likelihood-proxy", "--small", "--output", str(tmp_path)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "spearman_rho" in captured.out
    # off a terminal: one line per finished cell on stderr
    lines = [line for line in captured.err.splitlines() if line.startswith("likelihood-proxy [")]
    assert len(lines) == 4 and lines[0].startswith("likelihood-proxy [1/4] trained flow, samples")
    for ext in ("csv", "json", "png"):
        assert (tmp_path / f"likelihood-proxy.{ext}").stat().st_size > 0
    payload = json.loads((tmp_path / "likelihood-proxy.json").read_text())
    assert payload["params"] == {"n_samples": 300, "seed": 0}
    rows = payload["table"]["rows"]
    assert [r["flow"] for r in rows] == ["trained flow"] * 2 + ["best linear Gaussian"] * 2
    # every file carries the provenance: the JSON, the CSV's # lines, the PNG's text chunks
    prov = payload["provenance"]
    command = f"lininv experiments likelihood-proxy --output {tmp_path} --seed 0 --small"
    assert prov["command"] == command and prov["seed"] == 0 and prov["numpy"]
    assert Table.read_csv(tmp_path / "likelihood-proxy.csv").meta["command"] == command
    from PIL import Image

    png = json.loads(Image.open(tmp_path / "likelihood-proxy.png").info["Description"])
    assert png["provenance"] == prov
    assert main(argv) == 0  # rerun into the same folder
    again = json.loads((tmp_path / "likelihood-proxy.json").read_text())
    assert again["table"] == payload["table"]


def test_cells_of_other_settings_are_refused_naming_the_flag(capsys, tmp_path):
    argv = ["experiments", "denoising", "--small", "--quiet", "--output", str(tmp_path)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lininv experiments: error: --output ") and "other parameters" in err


def test_help_lists_experiments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["experiments", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "compressed-sensing" in out and "likelihood-" in out and "--small" in out


def test_ctrl_c_exits_130_with_the_resume_message_and_the_rerun_resumes(tmp_path):
    """Interrupted after its first finished cell: no traceback, exit 130, the cell is kept."""
    argv = [sys.executable, "-m", "lininv", "experiments", "compressed-sensing", "--small"]
    argv += ["--output", str(tmp_path)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    # The interrupted run holds its second cell for a minute, so the interrupt always lands
    # inside a cell, however fast this machine finishes the remaining ones (a race otherwise).
    hold = (
        "import sys, time\n"
        "import lininv.bridge._compare as c\n"
        "real, calls = c.compare_cell, []\n"
        "def held(*a, **k):\n"
        "    calls.append(1)\n"
        "    if len(calls) > 1:\n"
        "        time.sleep(60)\n"
        "    return real(*a, **k)\n"
        "c.compare_cell = held\n"
        "from lininv.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    held_argv = [sys.executable, "-c", hold, *argv[3:]]
    # A test runner's worker may ignore SIGINT, and an ignored signal stays ignored in its
    # children; restore the default so that Python turns Ctrl-C into KeyboardInterrupt, as in a
    # terminal.
    proc = subprocess.Popen(
        held_argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = b""
    while b"compressed-sensing [1/3]" not in first:
        line = proc.stderr.readline()
        assert line, (first + proc.stderr.read()).decode()
        first += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = (first + err).decode()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command to resume" in err
    assert "Traceback" not in err
    store = json.loads((tmp_path / ".cells" / "compressed-sensing.json").read_text())
    assert "m=8" in store["cells"]
    done = subprocess.run(argv + ["--quiet"], cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    assert Table.read_csv(tmp_path / "compressed-sensing.csv").column("m") == [8, 32, 64]
