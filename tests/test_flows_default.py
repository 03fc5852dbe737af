"""The pretrained default flow: provenance, held-out quality, and (slow) reproduction."""

import argparse

import numpy as np
import pytest
from helpers import assert_close

from lininv import LinearInvertiblePrior
from lininv.cli.train_flow import _canonical, add_parser
from lininv._threads import one_blas_thread
from lininv.datasets import bits_per_dim, dequantize, reference_split
from lininv.flows import default_flow, load
from lininv.flows._pretrained import DEFAULT_FLOW_COMMAND, DEFAULT_FLOW_PATH


def _parse(command):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(command.split()[1:])


def test_default_flow_records_the_command_that_made_it():
    flow, split = default_flow()
    meta = flow.metadata
    # the docstring's short command, with every default spelled out, is the recorded command
    assert meta["command"] == _canonical(_parse(DEFAULT_FLOW_COMMAND))
    assert DEFAULT_FLOW_COMMAND in default_flow.__doc__
    ref = reference_split()
    assert np.array_equal(split.train_index, ref.train_index)
    assert np.array_equal(split.X_test, ref.X_test)
    assert flow.n == 64 and len(flow.bijectors) == 8 * 4


def test_default_flow_beats_the_linear_gaussian_and_the_target_on_held_out_digits():
    flow, split = default_flow()
    meta = flow.metadata
    X_test = dequantize(split.X_test, rng=meta["data"]["test_noise_seed"])
    lp = flow.log_prob(X_test)
    bpd = bits_per_dim(-lp.mean())
    assert_close(bpd, meta["results"]["test_bits_per_dim"], rtol=1e-12)
    assert bpd <= 2.65  # the target (a PyTorch RealNVP of this size reaches 2.65)
    with one_blas_thread():
        linear = LinearInvertiblePrior.fit(dequantize(split.X_train, rng=0))
    lin_lp = linear.log_prob(X_test)
    assert_close(bits_per_dim(-lin_lp.mean()), meta["results"]["linear_gaussian_test_bits_per_dim"])
    d = (lp - lin_lp) / (64 * np.log(2))  # per-image gain in bits/dim, paired
    assert d.mean() > 5 * d.std(ddof=1) / np.sqrt(d.size)


def test_default_flow_returns_independent_copies():
    a, _ = default_flow()
    b, _ = default_flow()
    a.set_params(np.zeros(a.n_params))
    assert np.any(b.get_params() != 0)
    assert_close(b.get_params(), load(DEFAULT_FLOW_PATH).get_params(), rtol=0)


@pytest.mark.slow
def test_the_recorded_command_reproduces_the_committed_flow(tmp_path, capsys):
    from lininv.cli import main

    flow, _ = default_flow()
    args = flow.metadata["command"].split()[1:]
    args[args.index("--output") + 1] = str(tmp_path / "again.npz")
    assert main(args + ["--no-progress"]) == 0
    again = load(tmp_path / "again.npz")
    same = all(again.metadata.get(k) == flow.metadata.get(k) for k in ("blas", "numpy_version"))
    if same:  # the same BLAS kernel and numpy: one-thread BLAS and fixed seeds make it bitwise
        assert np.array_equal(again.get_params(), flow.get_params())
    else:
        # other rounding changes the optimisation path as another seed would; across training
        # seeds the held-out result of this configuration spans 2.44-2.49 bits/dim (measured by
        # the 20-seed test in test_flows_training.py)
        assert (
            abs(
                again.metadata["results"]["test_bits_per_dim"]
                - flow.metadata["results"]["test_bits_per_dim"]
            )
            <= 0.1
        )
