"""The miniature experiments at reduced size: finite, resumable, and right where the maths is sure.

A tiny flow trained for a few epochs stands in for the default flow: the assertions here are the
facts that hold for *any* invertible flow (every stationary point of ||A G(z) - y||^2 with A of
full row rank is a global minimum; at m = n the truth is the only one; the rank-k generator never
beats its floor; a linear flow's latent norm orders its likelihood exactly). The empirical
comparisons of the paper are measured by the full runs (``lininv experiments all``) and reported.
"""

import json
import os

import matplotlib
import numpy as np
import pytest
from helpers import EPS

import lininv
from lininv import datasets, flows
from lininv.experiments import (
    ExperimentResult,
    centre_mask,
    compressed_sensing,
    dataset_bias,
    denoising,
    digits_data,
    initialisation,
    inpainting,
    likelihood_proxy,
)

matplotlib.use("Agg")


def _tiny_flow(split, epochs=3):
    flow = flows.realnvp(64, n_layers=2, hidden=16, rng=0)
    flows.fit(flow, split.X_train, dequantize=True, epochs=epochs, lr=1e-3, rng=0, progress=False)
    return flow


@pytest.fixture(scope="module")
def setup():
    split = datasets.reference_split()
    return _tiny_flow(split), digits_data(split, n_val=10)


def test_compressed_sensing_reaches_the_truth_at_m_equals_n(setup, tmp_path):
    flow, data = setup
    res = compressed_sensing(flow, data, ms=(16, 64), n_test=4, max_iter=400, output=tmp_path)
    assert isinstance(res, ExperimentResult) and res.name == "compressed-sensing"
    t = res.table
    assert t.column("m") == [16, 64]
    for row in t.rows:
        for key, value in row.items():
            assert value is None or np.isfinite(value), key
    last = t.rows[-1]
    # m = n: x0 is the unique minimiser; the flow ends far below the rank-k floor, which the
    # rank-k generator never beats
    assert last["flow_mean"] < 0.05 * last["rank_k_floor"]
    assert last["rank_k_mean"] >= last["rank_k_floor"]
    paths = res.save(tmp_path)
    assert all(os.path.getsize(p) > 0 for p in paths)
    store = json.loads((tmp_path / ".cells" / "compressed-sensing.json").read_text())
    assert sorted(store["cells"]) == ["gan-floor", "m=16", "m=64"]
    # the converged solver (the lininv protocol): at m = n every solve converges and reaches the
    # truth, per signal, within the 1e-8 (it reaches rounding level, ~1e-25)
    # bitwise: the fraction of converged solves is a count over a count
    assert res.data["flow_unconverged"] == [0, 0] and last["flow_converged"] == 1.0
    assert np.all(np.asarray(res.data["errors"]["flow"][-1]) <= 1e-8)
    # the nonlinear generator's held-out representation error is positive, and its recovery
    # does not beat it
    assert np.all(res.data["gan_floor"] > 0) and last["gan_floor"] > 0
    assert last["gan_mean"] >= 0.5 * last["gan_floor"]


def test_resume_recomputes_nothing_and_matches(setup, tmp_path):
    flow, data = setup
    kw = {"noise_stds": (0.1,), "gammas": (0.0, 0.01), "n_test": 4, "output": tmp_path}
    first = denoising(flow, data, **kw)
    path = tmp_path / ".cells" / "denoising.json"
    # an interrupted run: one finished cell lost
    store = json.loads(path.read_text())
    del store["cells"]["sigma0-gamma1"]
    path.write_text(json.dumps(store))
    second = denoising(flow, data, **kw)
    # bitwise: cells read back from JSON (exact round trip); the lost cell is recomputed the same
    # way in this process
    assert second.table.rows == first.table.rows
    third = denoising(flow, data, **kw)  # everything cached now
    # bitwise: every cell read back from JSON (exact round trip)
    assert third.table.rows == first.table.rows
    # the cost of the cells is remembered, not the near-zero cost of reading them back
    # bitwise: the seconds are stored in the cell files and read back (exact round trip)
    assert third.compute_seconds == second.compute_seconds > 0.0


def test_denoising_at_gamma_zero_returns_the_noisy_signal(setup):
    """A = I, gamma = 0: every stationary point has G(z) = y (J invertible), so x_hat = y."""
    flow, data = setup
    res = denoising(flow, data, noise_stds=(0.1,), gammas=(0.0, 0.01), n_test=5)
    row0, row1 = res.table.rows
    assert row0["gamma"] == 0.0  # bitwise: gamma is copied from the gamma grid
    # the Gaussian denoiser at gamma = 0 is the identity too: both errors are ||eta||^2
    assert row0["flow_mean"] == pytest.approx(row0["gauss_mean"], rel=1e-6)  # L-BFGS tolerance
    # expected error of the identity: n sigma^2 (the theory function at gamma = 0)
    assert row0["gauss_expected"] == pytest.approx(64 * 0.01, rel=1e-12)
    assert row1["linear_optimal_gamma"] == pytest.approx(0.01)
    assert row1["gauss_expected"] < row0["gauss_expected"]


def test_inpainting(setup):
    flow, data = setup
    res = inpainting(flow, data, n_test=4, random_stds=(0.7,), max_iter=300)
    methods = res.table.column("method")
    assert methods[:2] == ["flow, z_init = 0", "flow, z_init ~ N(0, 0.7^2 I)"]
    gauss = res.table.where(method="best linear Gaussian (MLE)").rows[0]
    prior = lininv.LinearInvertiblePrior.fit(data.X_train)
    A = lininv.mask_measurements(centre_mask(), 64)
    assert gauss["linear_expected"] == pytest.approx(lininv.conditional_error(prior, A), rel=1e-12)
    rank = res.table.where(method="rank-16 generator").rows[0]
    floor = res.table.where(method="rank-16 floor").rows[0]
    assert rank["mean"] >= floor["mean"]
    assert centre_mask().reshape(8, 8)[2:6, 2:6].sum() == 0 and centre_mask().sum() == 48


def test_initialisation(setup):
    flow, data = setup
    res = initialisation(
        flow, data, m=16, norms=(0.0, 8.0), gamma_grid=(0.01,), n_test=3, n_val=2, max_iter=200
    )
    t = res.table
    assert res.data["best_gamma"] == 0.01  # bitwise: best_gamma is copied from the gamma grid
    assert sorted({r["gamma"] for r in t.rows}) == [0.0, 0.01]  # bitwise: copies of the grid values
    inits = t.where(gamma=0.0).column("init")
    assert inits == ["fixed_norm", "fixed_norm", "random", "null_space", "pseudo_inverse"]
    norms = t.where(gamma=0.0, init="fixed_norm").column("init_norm")
    # bitwise: the norm of an all-zero start is exactly 0
    assert norms[0] == 0.0 and norms[1] == pytest.approx(8.0, rel=1e-12)
    assert all(np.isfinite(r["mean"]) for r in t.rows)


def test_dataset_bias_trains_without_the_class(tmp_path):
    trained = []

    def train(split):
        trained.append(split.excluded)
        return _tiny_flow(split, epochs=2)

    kw = {"exclude": 3, "ms": (16, 64), "n_test": 3, "n_val": 10, "max_iter": 300, "train": train}
    res = dataset_bias(**kw, output=tmp_path)
    assert trained == [(3,)]
    assert res.data["n_ood"] == 3
    last = res.table.rows[-1]
    assert last["flow_mean"] < 0.05 * last["rank_k_floor"] <= 0.05 * last["rank_k_mean"]
    # resumed: the trained flow was saved and is reloaded, not retrained
    again = dataset_bias(**kw, output=tmp_path)
    assert trained == [(3,)]
    # bitwise: the resumed run reads the same cells back from JSON (exact round trip)
    assert again.table.rows == res.table.rows
    # the other protocol's run shares the flow of the same training settings...
    paper = dataset_bias(**kw, output=tmp_path, protocol="paper", gan_k=None)
    assert trained == [(3,)] and paper.protocol == "paper"
    assert (tmp_path / ".cells" / "dataset-bias.flow.3-0-recipe-custom.npz").exists()
    # ... and never picks up a flow trained without another class
    small = {**kw, "ms": (64,), "gan_k": None, "output": tmp_path / "other"}
    dataset_bias(**{**small, "exclude": 4})
    dataset_bias(**small, protocol="paper")
    assert trained == [(3,), (4,), (3,)]


def test_likelihood_proxy_is_exact_for_the_linear_flow(setup):
    flow, data = setup
    res = likelihood_proxy(flow, data, n_samples=50)
    lin = res.table.where(flow="best linear Gaussian")
    # Pearson's formula on identical rank vectors: 1 up to its rounding (a few ulps)
    assert all(abs(r - 1.0) <= 1e-14 for r in lin.column("spearman_rho"))
    assert all(-1.0 <= r <= 1.0 for r in res.table.column("spearman_rho"))
    # and the orders agree: -log p = ||z||^2 / 2 + c (c = log|det G| + const, the same float for
    # every row), so ordering the samples by -log p orders q = ||z||^2 up to rounding: np.sum and
    # einsum each err by <= n eps q, and -log p's two additions by <= 2 eps |log p| per sample,
    # doubled when halved q is compared. (Equal ranks, as before, would hinge on near-ties.)
    linear = flows.linear_flow(lininv.LinearInvertiblePrior.fit(data.X_train))
    x = linear.sample(500, rng=1)
    z = linear.inverse(x)[0]
    nll = -linear.log_prob(x)
    q = np.sum(z * z, axis=1)[np.argsort(nll)]
    tol = 2 * z.shape[1] * EPS * q.max() + 8 * EPS * np.abs(nll).max()
    assert np.all(np.diff(q) >= -tol)


BAD = [
    (lambda s: compressed_sensing(*s, ms=(1,), n_test=2), ValueError, "ms must be an integer in"),
    (lambda s: compressed_sensing(s[0], "data"), TypeError, "data must be a DigitsData"),
    (lambda s: denoising(*s, noise_stds=(0.0,)), ValueError, "noise_stds must be > 0"),
    (lambda s: inpainting(*s, hole=9), ValueError, "hole must be an integer in"),
    (lambda s: initialisation(*s, m=65), ValueError, "m must be an integer in"),
    (lambda s: dataset_bias(s[0], exclude=10), ValueError, "exclude must be an integer in"),
    (lambda s: likelihood_proxy(*s, n_samples=1), ValueError, "n_samples must be an integer in"),
    (lambda s: compressed_sensing(*s, seed=-1), ValueError, "seed must be an integer in"),
    # n_test = -1 used to select all but one image silently (permutation[:-1])
    (lambda s: compressed_sensing(*s, n_test=-1), ValueError, "n_test must be an integer in"),
    (lambda s: initialisation(*s, n_val=1), ValueError, "n_val must be an integer in"),
    (lambda s: digits_data(rng=np.random.default_rng(0)), TypeError, "rng must be an integer"),
]


@pytest.mark.parametrize(("call", "exc", "match"), BAD)
def test_bad_calls(setup, call, exc, match):
    with pytest.raises(exc, match=match):
        call(setup)


def test_training_recipe_is_the_default_flows():
    from lininv.experiments import training_recipe
    from lininv.flows import DEFAULT_RECIPE, TrainingRecipe

    recipe = training_recipe()
    meta = flows.default_flow().flow.metadata
    assert isinstance(recipe, TrainingRecipe) and recipe == DEFAULT_RECIPE
    # structured data: the recorded command is generated from the recipe, never parsed
    assert recipe.command("lininv/data/default_flow.npz") == meta["command"]
    for part in ("architecture", "data", "training"):
        for key, value in recipe.metadata()[part].items():
            assert meta[part][key] == value, (part, key)
    import inspect

    accepted = inspect.signature(flows.fit).parameters
    assert set(recipe.fit_options()) <= set(accepted)
