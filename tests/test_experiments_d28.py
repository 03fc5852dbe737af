"""Denoising and inpainting at n = 784: the small runs, resume, validation, the linear theory."""

import numpy as np
import pytest
from helpers import assert_close

import lininv
from lininv._threads import single_blas_thread
from lininv.cli import main
from lininv.experiments import SMALL, denoising_28, inpainting_28, load_result, run, save_result

pytest.importorskip("mlxtend")

EPS = np.finfo(float).eps


def _rows_of(folder, name):
    path = folder / f"{name}.csv"
    return [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """Each experiment's ``--small`` run through the command line, with its output folder."""
    out = {}
    for name in ("denoising-28", "inpainting-28"):
        folder = tmp_path_factory.mktemp(name)
        argv = ["experiments", name, "--small", "--output", str(folder), "--quiet"]
        assert main([*argv, "--seed", "0"]) == 0
        out[name] = folder
    return out


def test_the_small_denoising_run_gives_finite_numbers_of_the_right_shape(small_runs):
    folder = small_runs["denoising-28"]
    res = load_result(folder, "denoising-28")
    assert (folder / "denoising-28.png").exists()
    small = SMALL["denoising-28"]
    rows = res.table.rows
    assert [r["noise_std"] for r in rows] == list(small["noise_stds"])
    for r in rows:
        for key in ("flow_map", "flow_paper", "bm3d", "gauss"):
            mean, lo, hi = r[f"{key}_mean"], r[f"{key}_lo"], r[f"{key}_hi"]
            assert np.isfinite([mean, lo, hi, r[f"{key}_psnr"]]).all() and lo <= mean <= hi
        for key in ("flow_map", "flow_paper"):
            assert 0.0 <= r[f"{key}_converged"] <= 1.0
            d = [r[f"{key}_minus_bm3d_psnr_{s}"] for s in ("lo", "mean", "hi")]
            assert np.isfinite(d).all() and d[0] <= d[1] <= d[2]
        assert 0.0 <= r["flow_map_above_truth"] <= 1.0 and np.isfinite(r["flow_map_median"])
        assert r["gauss_predicted"] > 0.0 and r["n_signals"] == small["n_test"]
        # the noisy input's error is ||sigma eta||^2, chi-square with 784 degrees of freedom
        # times sigma^2 per image: its mean over 2 images is within 30% of 784 sigma^2 unless the
        # noise is wrong (the relative sd of one chi-square(784) is sqrt(2/784) = 5%; 30% is 8 sd)
        assert_close(r["noisy_mean"], 784 * r["noise_std"] ** 2, rtol=0.3)
    per = res.data["per_image"]
    assert len(per) == len(rows)
    for level in per.values():
        assert {len(v["errors"]) for v in level.values()} == {small["n_test"]}


def test_the_small_inpainting_run_gives_finite_numbers_of_the_right_shape(small_runs):
    folder = small_runs["inpainting-28"]
    res = load_result(folder, "inpainting-28")
    assert (folder / "inpainting-28.png").exists()
    rows = res.table.rows
    gammas = res.params["gammas"]
    assert len(rows) == len(gammas) + 3 and [r["weight"] for r in rows[:3]] == gammas
    assert rows[-1]["method"].startswith("VAE decoder") and rows[-1]["weight"] in (
        0.0,
        0.01,
        0.1,
    )  # bitwise: one value chosen from the grid
    chosen = [r for r in rows if r["method"].endswith("(validated)")]
    assert len(chosen) == 1 and chosen[0]["weight"] == res.data["gamma"]
    # the validated gamma has the smallest mean error on the validation images
    assert chosen[0]["validation_mean"] == min(r["validation_mean"] for r in rows[:3])
    for r in rows:
        assert np.isfinite([r["mean"], r["hole_mean"], r["psnr"]]).all()
        assert r["lo"] <= r["mean"] <= r["hi"] and r["hole_lo"] <= r["hole_mean"] <= r["hole_hi"]
        # the hole's error is part of the image's: never larger (a sum over fewer squares)
        assert r["hole_mean"] <= r["mean"] * (1.0 + 784 * EPS)
    gauss = next(r for r in rows if r["method"].startswith("best linear Gaussian"))
    assert gauss["predicted"] > 0.0 and gauss["converged"] is None
    images = np.asarray(res.figure_data["images"], dtype=float)
    assert images.shape[1:] == (2, 784) and len(res.figure_data["labels"]) == images.shape[0]
    hole = res.params["hole"]
    assert np.isnan(images[1]).sum() == 2 * hole * hole  # the observed row: the hole is NaN


@pytest.mark.parametrize("name", ["denoising-28", "inpainting-28"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_csv(name, small_runs, tmp_path):
    def stop(event):  # Ctrl-C after the first finished cell
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(name, small=True, output=tmp_path, progress=stop)
    seen = []
    save_result(run(name, small=True, output=tmp_path, progress=seen.append), tmp_path)
    # bitwise: the resumed cell is read back from the store, the others computed alike
    assert _rows_of(tmp_path, name) == _rows_of(small_runs[name], name)
    # one event per cell: 5 methods per noise level; 3 gammas on validation and test images,
    # the linear Gaussian, Lasso and the generator
    assert len(seen) == (len(SMALL[name]["noise_stds"]) * 5 if name == "denoising-28" else 9)


BAD = [
    (lambda: denoising_28(noise_stds=(0.0,)), ValueError, "noise_stds must be > 0"),
    (lambda: denoising_28(noise_stds=(0.1, 0.1)), ValueError, "noise_stds must be distinct"),
    (lambda: denoising_28(noise_stds=()), ValueError, "noise_stds must be distinct"),
    (lambda: denoising_28(n_test=1), ValueError, "n_test must be an integer in"),
    (lambda: denoising_28(max_iter=0), ValueError, "max_iter must be an integer in"),
    (lambda: denoising_28(paper_max_iter=1.5), TypeError, "paper_max_iter must be an integer"),
    (lambda: inpainting_28(hole=28), ValueError, "hole must be an integer in"),
    (lambda: inpainting_28(noise_std=-0.1), ValueError, "noise_std must be >= 0"),
    (lambda: inpainting_28(gammas=(0.0, 0.0)), ValueError, "gammas must be distinct"),
    (lambda: inpainting_28(gammas=(-1.0,)), ValueError, "gammas must be >= 0"),
    (lambda: inpainting_28(lasso_fractions=(0.1, 0.3)), ValueError, "must be decreasing"),
    (lambda: inpainting_28(n_val=0), ValueError, "n_val must be an integer in"),
    (lambda: denoising_28(n_val=0), ValueError, "n_val must be an integer in"),
    (lambda: denoising_28(generator="vae"), TypeError, "generator must be a lininv.generators"),
]


@pytest.mark.parametrize("call, error, message", BAD)
def test_bad_settings_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_flow_of_the_wrong_size_or_data_of_the_wrong_kind_is_refused():
    from lininv.flows import realnvp

    tiny = realnvp(64, n_layers=1, hidden=4, rng=0)
    with pytest.raises(ValueError, match="flow must act on 28x28 images"):
        denoising_28(tiny, n_test=2)
    with pytest.raises(ValueError, match="flow must act on 28x28 images"):
        inpainting_28(tiny, n_test=2)
    with pytest.raises(TypeError, match="data must be a lininv.datasets.Mnist28Split"):
        denoising_28(None, "digits", n_test=2)


def test_the_linear_denoiser_measures_its_predicted_error_on_the_images_it_was_fitted_to():
    """lininv.denoising_error is the expectation over signals with the fitted covariance: on the
    training digits themselves (freshly dequantised, as the experiment's test images are) the
    experiment's measured mean error agrees with it, while the noisy input's 784 sigma^2, which
    a wrong estimator (no shrinkage) would give, is far outside the tolerance. (On held-out
    digits the measured error is 5-30% above the prediction, with a much wider spread: the
    covariance is in-sample, and held-out digits put ink where the training digits had almost
    none.)"""
    import dataclasses

    from lininv.flows import pretrained_flow

    flow, split = pretrained_flow("mnist28")
    as_test = dataclasses.replace(
        split, X_test=split.X_train, y_test=split.y_train, test_index=split.train_index
    )
    res = denoising_28(flow, as_test, noise_stds=(0.01,), n_test=30, max_iter=1, paper_max_iter=1)
    (row,) = res.table.rows
    se = (row["gauss_hi"] - row["gauss_lo"]) / (2.0 * lininv.t_quantile(30))  # half-width / t
    # 4 standard errors: under the t law with 29 degrees of freedom a miss has probability 4e-4
    assert abs(row["gauss_mean"] - row["gauss_predicted"]) <= 4.0 * se
    # discriminating: the identity's error (0.078 against a prediction of 0.056) is many
    # standard errors away
    assert abs(784 * 0.01**2 - row["gauss_predicted"]) > 10.0 * se


@single_blas_thread  # as the experiments: BLAS threads only contend on a shared machine
def test_the_linear_posterior_mean_keeps_the_observed_pixels_and_its_hole_prediction():
    """Noiseless, the posterior mean of the experiment interpolates: it equals y on the observed
    pixels; its hole-only prediction equals lininv.conditional_error (two formulas)."""
    from lininv.experiments import centre_mask
    from lininv.experiments._data28 import data28
    from lininv.experiments._inpainting28 import hole_prediction

    d = data28(None, None, 5, 1, 0)
    mask = centre_mask((28, 28), 12)
    A = lininv.mask_measurements(mask, 784)
    Y = d.X_test[:, mask]
    X_hat = lininv.map_estimate(d.prior, A, Y, 0.0)
    B = A @ d.prior.G
    cond = np.linalg.cond(B)  # 2.3e3 for these digits
    # the residual A x_hat - y = (B B^+ - I)(y - A mu) of a least-squares solve: rounding of
    # order n eps cond(B) relative to |y|
    assert_close(X_hat[:, mask], Y, atol=784 * EPS * cond * np.abs(Y).max())
    S = d.prior.covariance
    cond_oo = np.linalg.cond(S[np.ix_(mask, mask)])  # 5e6
    # two computations of tr(posterior covariance): eps cond(Sigma_oo) relative, n-fold sums
    assert_close(
        hole_prediction(d.prior, mask, 0.0),
        lininv.conditional_error(d.prior, A),
        rtol=784 * EPS * cond_oo,
    )
    # with noise the hole's share is smaller than the whole image's posterior variance
    assert hole_prediction(d.prior, mask, 0.1) < lininv.conditional_error(d.prior, A, 0.1)


@pytest.mark.parametrize("name", ["denoising-28", "inpainting-28"])
def test_the_cells_give_the_same_table_in_worker_processes_and_in_process(
    name, small_runs, tmp_path
):
    """The command line runs the cells in --jobs 2 worker processes (the fixture); in-process
    (--jobs 1) the table is the same: each cell's randomness is keyed by its own parameters."""
    argv = ["experiments", name, "--small", "--output", str(tmp_path), "--quiet", "--jobs", "1"]
    assert main([*argv, "--seed", "0"]) == 0
    # bitwise: the same cells computed in another process (one BLAS thread each)
    assert _rows_of(tmp_path, name) == _rows_of(small_runs[name], name)
