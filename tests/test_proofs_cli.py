"""``python -m proofs_numeric`` and ``lininv proofs``: options, reports, exit codes."""

import json
import subprocess
import sys

import pytest

import proofs_numeric._runner as runner
from lininv.cli import main as lininv_main
from proofs_numeric import check_flat_spectrum
from proofs_numeric.__main__ import main as proofs_main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--step", "nope"], "step must be one of"),
        (["--precision", "0"], "precision must be > 0"),
        (["--precision", "nan"], "precision must be a finite number"),
        (["--seed", "-1"], "seed must be an integer in"),
        (["--output", " "], "output must be a non-empty path stem"),
        (["--step", "8c", "--precision", "1e12"], "precision = 1e+12 needs about"),
    ],
)
@pytest.mark.parametrize("entry", ["lininv", "module"])
def test_bad_input_exits_2_with_one_line(entry, argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if entry == "lininv":
        code = lininv_main(["proofs", *argv])
    else:
        code = proofs_main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing written


@pytest.mark.parametrize("entry", ["lininv", "module"])
def test_unparsable_option_exits_2(entry):
    with pytest.raises(SystemExit) as exc:
        if entry == "lininv":
            lininv_main(["proofs", "--precision", "lots"])
        else:
            proofs_main(["--precision", "lots"])
    assert exc.value.code == 2


def test_single_step_run_writes_reports_and_exits_0(tmp_path, capsys):
    stem = tmp_path / "out" / "report"
    code = lininv_main(["proofs", "--step", "8b", "--step", "flat_spectrum", "--output", str(stem)])
    out = capsys.readouterr().out
    assert code == 0
    assert "8b" in out and "1/1 steps pass" in out and "claimed" in out
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["passed"] is True and [s["step"] for s in data["steps"]] == ["8b"]
    assert data["steps"][0]["evidence"][0]["passed"] is True
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Step 8b" in md and "ALL STEPS PASS" in md


def test_a_failing_step_makes_the_exit_status_1(tmp_path, monkeypatch, capsys):
    def wrong(**kwargs):
        return check_flat_spectrum(claim=lambda n, m, s: (n - m + 1) * s**2, **kwargs)

    monkeypatch.setattr(runner, "STEPS", (runner.Step("8b", "flat_spectrum", wrong),))
    code = proofs_main(["--output", str(tmp_path / "r"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False


def test_a_step_alone_equals_the_same_step_in_a_longer_run():
    alone = runner.run_steps(seed=4, precision=0.1, steps=["8c"])
    longer = runner.run_steps(seed=4, precision=0.1, steps=["8b", "8c"])
    # bitwise: each step's seed depends on the run's seed and the step alone: the same computation
    assert alone.results[0] == longer.results[1]
    # bitwise: each step's seed depends on the run's seed and the step alone: the same computation
    assert runner.run_steps(seed=4, precision=0.1, steps=["8c"]).results == alone.results


def test_progress_is_saved_after_every_step(tmp_path):
    seen = []
    runner.run_steps(
        seed=0, precision=0.1, steps=["8b", "8c"], checkpoint=lambda r: seen.append(len(r.results))
    )
    assert seen == [1, 2]


def test_step_number_selects_all_sub_steps():
    assert [s.step for s in runner.select_steps(["4"])] == ["4a", "4b", "4c", "4d"]
    assert [s.name for s in runner.select_steps(["9", "posterior_sampling"])] == [
        "posterior_sampling"
    ]


def test_module_entry_point(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "proofs_numeric",
            "--step",
            "8c",
            "--precision",
            "0.1",
            "--quiet",
            "--output",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "two_dimensional" in proc.stdout
