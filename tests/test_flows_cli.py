"""``lininv train-flow``: a reduced run end to end, and usage errors."""

import re

import numpy as np
import pytest

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
        (["--layers", "0"], "n_layers must be an integer in \\[1, inf\\]"),
        (["--lr", "-1"], "lr must be > 0"),
        (["--activation", "sigmoid"], "activation must be one of"),
        (["--mixing", "shuffle"], "mixing must be one of"),
        (["--n-train", "5000"], "n_train must be an integer in \\[1, 1796\\]"),
        (["--val-fraction", "0.95"], "val_fraction must be <= 0.9"),
        (["--output", "{missing}/f.npz"], "--output folder does not exist"),
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
    assert err.startswith("lininv train-flow: error: ")
    assert re.search(match, err), err
