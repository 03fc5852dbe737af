"""``lininv experiments``: bad input exits 2 before any work; a run writes CSV, JSON and PNG."""

import json

import pytest

from lininv.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["experiments", "no-such"], "NAME must be one of"),
        (["experiments", "denoising", "--seed", "x"], "--seed must be an integer"),
        (["experiments", "denoising", "--seed", "-2"], "--seed must be an integer >= 0"),
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
    assert "--output must be a folder" in capsys.readouterr().err


def test_run_writes_and_resumes(capsys, tmp_path):
    argv = ["experiments", "likelihood-proxy", "--small", "--quiet", "--output", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "spearman_rho" in out
    for ext in ("csv", "json", "png"):
        assert (tmp_path / f"likelihood-proxy.{ext}").stat().st_size > 0
    payload = json.loads((tmp_path / "likelihood-proxy.json").read_text())
    assert payload["params"] == {"n_samples": 300, "seed": 0}
    rows = payload["table"]["rows"]
    assert [r["flow"] for r in rows] == ["trained flow"] * 2 + ["best linear Gaussian"] * 2
    assert main(argv) == 0  # rerun into the same folder
    again = json.loads((tmp_path / "likelihood-proxy.json").read_text())
    assert again["table"] == payload["table"]


def test_help_lists_experiments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["experiments", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "compressed-sensing" in out and "--small" in out
