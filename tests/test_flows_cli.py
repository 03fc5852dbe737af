"""``lininv train-flow``: a reduced run end to end, and usage errors."""

import re
import time

import numpy as np
import pytest

from lininv._io import Lock
from lininv.cli import main
from lininv.datasets import bits_per_dim, dequantize, reference_split
from lininv.flows import load


def test_train_flow_trains_saves_and_reports(tmp_path, capsys):
    out = tmp_path / "small.npz"
    code = main(
        [
            "train-flow",
            "--output",
            str(out),
            "--layers",
            "1",
            "--hidden",
            "16",
            "--epochs",
            "3",
            "--no-progress",
            "--seed",
            "4",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "held-out bits/dim on 397 test digits" in text and str(out) in text
    flow = load(out)
    meta = flow.metadata
    assert meta["command"].startswith("lininv train-flow --output ")
    assert "--layers 1 --hidden 16" in meta["command"] and "--seed 4" in meta["command"]
    assert meta["training"]["epochs_run"] == 3
    # bitwise: lr is the parsed command-line value, stored in JSON (exact round trip)
    assert meta["training"]["lr"] == 3e-4 and meta["training"]["batch_size"] == 64
    assert meta["checkpoint"]["epoch"] == meta["training"]["best_epoch"]
    # the reported number is the saved flow's held-out bits/dim on the fixed test noise
    split = reference_split()
    X_test = dequantize(split.X_test, rng=meta["data"]["test_noise_seed"])
    bpd = bits_per_dim(-np.mean(flow.log_prob(X_test)))
    assert abs(bpd - meta["results"]["test_bits_per_dim"]) <= 1e-12
    assert f"flow {bpd:.4f}" in text
    assert meta["data"]["test_index"] == split.test_index.tolist()
    # provenance: the environment, the seed and the command generated from the recipe
    assert meta["provenance"]["command"] == meta["command"] and meta["provenance"]["seed"] == 4
    assert meta["provenance"]["numpy"] == meta["numpy_version"]


def test_train_flow_excluding_a_class(tmp_path, capsys):
    out = tmp_path / "biased.npz"
    assert (
        main(
            [
                "train-flow",
                "-o",
                str(out),
                "--layers",
                "1",
                "--hidden",
                "8",
                "--epochs",
                "1",
                "--exclude",
                "3,8",
                "--no-progress",
            ]
        )
        == 0
    )
    meta = load(out).metadata
    assert meta["data"]["exclude"] == [3, 8] and "--exclude 3,8" in meta["command"]


@pytest.mark.parametrize(
    "args, match",
    [
        (["--exclude", "x"], "--exclude must be comma-separated digits"),
        (["--exclude", "12"], "--exclude must be comma-separated digits"),
        (["--layers", "0"], "--layers must be >= 1"),
        (["--layers", "two"], "--layers must be an integer; got 'two'"),
        (["--lr", "-1"], "--lr must be > 0"),
        (["--activation", "sigmoid"], "--activation must be one of"),
        (["--mixing", "shuffle"], "--mixing must be one of"),
        (["--n-train", "5000"], "--n-train must be <= 1796"),
        (["--val-fraction", "0.95"], "--val-fraction must be <= 0.9"),
        # messages name the flags, never the library's arguments (rng, alpha, X_val)
        (["--seed", "-1"], "--seed must be >= 0; got -1"),
        (["--logit", "0.7"], "--logit must be < 0.5; got 0.7"),
        (["--val-fraction", "0.0001"], "--val-fraction 0.0001 of the 1400 training images"),
        (["--batch-size", "5000"], "--batch-size must be at most the 1260 images trained on"),
        # the output is checked before the data are loaded (it used to train for minutes first)
        (["--output", "/proc/lininv-flow.npz"], "--output.* is not a writable folder"),
    ],
)
def test_usage_errors_exit_2(tmp_path, capsys, args, match):
    argv = ["train-flow", "--epochs", "1", "--layers", "1", "--hidden", "4", "--no-progress"]
    # a folder that surely does not exist: under this test's own tmp_path (an absolute path such
    # as /no/such/folder can exist on a shared machine)
    args = [a.replace("{missing}", str(tmp_path / "missing")) for a in args]
    if "--output" not in args:
        argv += ["--output", str(tmp_path / "f.npz")]
    assert main(argv + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("lininv train-flow: error: ") and err.count("\n") == 1
    assert re.search(match, err), err
    for api in ("rng must", "alpha must", "X_val", "n_layers", "val_fraction", "batch_size"):
        assert api not in err


def test_a_folder_as_output_exits_2_before_training(tmp_path, capsys):
    folder = tmp_path / "adir"
    folder.mkdir()
    t0 = time.perf_counter()
    assert main(["train-flow", "--output", str(folder), "--no-progress"]) == 2
    assert time.perf_counter() - t0 < 10.0  # the default recipe trains for minutes
    assert "is a folder; a file path is expected" in capsys.readouterr().err


def test_a_second_run_on_the_same_output_fails_at_once(tmp_path, capsys):
    out = tmp_path / "f.npz"
    with Lock(tmp_path / "f.npz"):  # what a first run holds while it trains
        assert main(["train-flow", "--output", str(out), "--no-progress"]) == 2
    assert f"--output {str(out)!r} is in use by another lininv run" in capsys.readouterr().err
    assert not out.exists()


def test_divergence_is_one_line_and_exit_4(tmp_path, capsys):
    argv = ["train-flow", "--output", str(tmp_path / "f.npz"), "--lr", "1e6", "--layers", "1"]
    assert main(argv + ["--hidden", "8", "--epochs", "3", "--no-progress"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("lininv train-flow: failed: ") and err.count("\n") == 1
    assert "training diverged" in err and "try a smaller --lr" in err
    assert "no flow was saved" in err and "max_grad_norm" not in err and "Traceback" not in err
