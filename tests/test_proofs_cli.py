"""``lininv proofs`` and ``python -m proofs_numeric``: flags, outputs checked before work, reports
with provenance, exit statuses, progress, and resuming an interrupted run."""

import json
import subprocess
import sys
import warnings

import pytest

import proofs_numeric
import proofs_numeric._steps as steps_module
from lininv._table import Table
from lininv.cli import main as lininv_main
from proofs_numeric import check_flat_spectrum, run_steps, select_steps
from proofs_numeric.__main__ import main as proofs_main


def _one_line(err):
    return len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--step", "nope"], "--step must be one of"),
        (["--precision", "0"], "--precision must be > 0"),
        (["--precision", "nan"], "--precision must be finite"),
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--output", " "], "--output must be a path stem"),
        (["--step", "8c", "--precision", "1e12"], "--precision = 1e+12 needs about"),
        (["--precision", "lots"], "--precision must be a number"),
    ],
)
@pytest.mark.parametrize("entry", ["lininv", "module"])
def test_bad_input_exits_2_with_one_line(entry, argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = lininv_main(["proofs", *argv]) if entry == "lininv" else proofs_main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and _one_line(err), err
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing written


def _no_work(monkeypatch):
    def refuse(**kwargs):
        raise AssertionError("a bad --output must be refused before any step runs")

    monkeypatch.setattr(proofs_numeric, "run_steps", refuse)


@pytest.mark.parametrize(
    "make, output, message",
    [
        # `afile/report` used to run a step, then end in a traceback when writing.
        (lambda d: (d / "afile").write_text("x"), "afile/report", "exists and is not a folder"),
        # `adir/` used to write `adir/.md` and `adir/.json` beside the folder's contents.
        (lambda d: (d / "adir").mkdir(), "adir/", "must be a file path, not a folder"),
        (lambda d: (d / "adir").mkdir(), "adir", "is a folder"),
        (lambda d: (d / "r.json").mkdir(), "r", "is a folder"),
    ],
)
def test_unusable_output_is_refused_before_any_work(
    make, output, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    _no_work(monkeypatch)
    code = lininv_main(["proofs", "--step", "8c", "--output", output])
    err = capsys.readouterr().err
    assert code == 2
    assert "--output" in err and message in err and _one_line(err), err


def test_single_step_run_writes_reports_with_provenance_and_exits_0(tmp_path, capsys):
    stem = tmp_path / "out" / "report"
    code = lininv_main(["proofs", "--step", "8b", "--step", "flat_spectrum", "--output", str(stem)])
    captured = capsys.readouterr()
    assert code == 0
    assert "8b" in captured.out and "1/1 steps pass" in captured.out and "claimed" in captured.out
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["passed"] is True and [s["step"] for s in data["steps"]] == ["8b"]
    assert data["steps"][0]["evidence"][0]["passed"] is True
    assert data["provenance"]["seed"] == 0 and "numpy" in data["provenance"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Step 8b" in md and "ALL STEPS PASS" in md and "Provenance:" in md
    table = Table.read_csv(tmp_path / "out" / "report.csv")
    # CSV meta lines come back as text (non-strings written as JSON)
    assert table.meta["seed"] == "0" and "command" in table.meta and table.meta["passed"] == "true"
    assert len(table) == len(data["steps"][0]["evidence"]) and set(table.column("step")) == {"8b"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "report.csv",
        "report.json",
        "report.md",
    ]  # the resume file and its lock are gone once the run is complete
    # off a terminal, one progress line per finished step, on stderr
    assert "proofs [1/1] step 8b flat_spectrum: pass" in captured.err


def test_default_output_goes_to_an_ignored_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lininv_main(["proofs", "--step", "8c", "--precision", "0.1", "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "lininv-results").iterdir()) == [
        "proofs_report.csv",
        "proofs_report.json",
        "proofs_report.md",
    ]


def _wrong_flat(**kwargs):
    return check_flat_spectrum(claim=lambda n, m, s: (n - m + 1) * s**2, **kwargs)


def test_a_failing_step_makes_the_exit_status_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        steps_module, "STEPS", (steps_module.Step("8b", "flat_spectrum", _wrong_flat),)
    )
    code = proofs_main(["--output", str(tmp_path / "r"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False


def test_a_crashing_step_exits_4_with_one_line(tmp_path, monkeypatch, capsys):
    def broken(**kwargs):
        raise FloatingPointError("the check broke")

    monkeypatch.setattr(steps_module, "STEPS", (steps_module.Step("8b", "flat_spectrum", broken),))
    monkeypatch.delenv("LININV_TRACEBACK", raising=False)
    code = lininv_main(["proofs", "--output", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 4 and "FloatingPointError: the check broke" in err and _one_line(err)


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, monkeypatch, capsys):
    stem = tmp_path / "r"
    argv = ["proofs", "--step", "8b", "--step", "8c", "--precision", "0.1", "--output", str(stem)]
    original = steps_module.STEPS

    def interrupt(**kwargs):
        raise KeyboardInterrupt

    patched = tuple(
        steps_module.Step(s.step, s.name, interrupt) if s.step == "8c" else s for s in original
    )
    monkeypatch.setattr(steps_module, "STEPS", patched)
    assert lininv_main(argv) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    partial = json.loads((tmp_path / "r.partial.json").read_text())
    assert list(partial["cells"]) == ["flat_spectrum"]  # the finished step was kept
    assert not (tmp_path / "r.json").exists()

    def recompute(**kwargs):
        raise AssertionError("a kept step must not be recomputed")

    patched = tuple(
        steps_module.Step(s.step, s.name, recompute) if s.step == "8b" else s for s in original
    )
    monkeypatch.setattr(steps_module, "STEPS", patched)
    assert lininv_main(argv) == 0
    assert "resuming: 1 finished steps" in capsys.readouterr().out
    resumed = json.loads((tmp_path / "r.json").read_text())
    assert not (tmp_path / "r.partial.json").exists()

    monkeypatch.setattr(steps_module, "STEPS", original)
    assert lininv_main([*argv[:-1], str(tmp_path / "fresh")]) == 0
    fresh = json.loads((tmp_path / "fresh.json").read_text())
    for a, b in zip(resumed["steps"], fresh["steps"], strict=True):
        a.pop("runtime_seconds"), b.pop("runtime_seconds")
        assert a == b  # bitwise: a kept step is the one the rerun would compute (same seed)


def test_a_damaged_resume_file_is_refused(tmp_path, capsys):
    (tmp_path / "r.partial.json").write_text("{not json")
    code = lininv_main(["proofs", "--step", "8c", "--output", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "--output" in err and "cannot be read" in err and _one_line(err)


def test_help_documents_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        lininv_main(["proofs", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0" in out and "130 interrupted" in out and "1 a step fails" in out


def test_a_step_alone_equals_the_same_step_in_a_longer_run():
    alone = run_steps(seed=4, precision=0.1, steps=["8c"])
    longer = run_steps(seed=4, precision=0.1, steps=["8b", "8c"])
    # bitwise: each step's seed depends on the run's seed and the step alone: the same computation
    assert alone.results[0] == longer.results[1]
    # bitwise: each step's seed depends on the run's seed and the step alone: the same computation
    assert run_steps(seed=4, precision=0.1, steps=["8c"]).results == alone.results


def test_run_steps_reports_each_step_and_reuses_done_steps():
    seen, events = [], []
    first = run_steps(
        seed=0,
        precision=0.1,
        steps=["8b", "8c"],
        on_step=lambda r, t: seen.append(r.name),
        progress=events.append,
    )
    assert seen == ["flat_spectrum", "two_dimensional"]
    assert [(e.task, e.done, e.total, e.unit) for e in events] == [
        ("proofs", 1, 2, "step"),
        ("proofs", 2, 2, "step"),
    ]
    assert events[0].label == "step 8b flat_spectrum" and events[0].info.startswith("pass")
    done = {r.name: (r, t) for r, t in zip(first.results, first.runtimes, strict=True)}
    again = run_steps(seed=0, precision=0.1, steps=["8b", "8c"], done=done, on_step=seen.append)
    assert again == first and len(seen) == 2  # bitwise: reused, not recomputed


def test_the_deprecated_checkpoint_and_write_reports_still_work(tmp_path):
    seen = []
    with pytest.warns(DeprecationWarning, match="on_step"):
        report = run_steps(
            seed=0, precision=0.1, steps=["8c"], checkpoint=lambda r: seen.append(len(r.results))
        )
    assert seen == [1]
    with pytest.warns(DeprecationWarning, match="lininv proofs"):
        paths = proofs_numeric.write_reports(report, tmp_path / "old")
    assert [p.name for p in paths] == ["old.md", "old.json", "old.csv"]


def test_step_number_selects_all_sub_steps():
    assert [s.step for s in select_steps(["4"])] == ["4a", "4b", "4c", "4d"]
    assert [s.name for s in select_steps(["9", "posterior_sampling"])] == ["posterior_sampling"]


def test_bad_run_steps_arguments():
    with pytest.raises(TypeError, match="progress must be a bool or a callable"):
        run_steps(steps=["8c"], progress="loud")
    with pytest.raises(TypeError, match="on_step must be callable"):
        run_steps(steps=["8c"], on_step=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="step must be one of"):
            run_steps(steps=["11"])


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
    provenance = json.loads((tmp_path / "r.json").read_text())["provenance"]
    assert provenance["command"].startswith("python -m proofs_numeric --step 8c")
