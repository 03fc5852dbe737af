"""The public API is pinned: adding or removing a name is a deliberate change made here."""

import lininv

PUBLIC = {
    "LinearInvertiblePrior",
    "LowRankPrior",
    "gaussian_measurements",
    "mask_measurements",
    "mle",
    "map_estimate",
    "latent_ridge",
    "latent_gradient_descent",
    "gradient_descent_limit",
    "LatentDescent",
    "denoise",
    "conditional_error",
    "signal_error",
    "denoising_error",
    "optimal_denoising_gamma",
    "lower_bound",
    "paper_upper_bound",
    "hmt_upper_bound",
    "HMTBound",
    "predicted_error",
    "degrees_of_freedom",
    "exact_error_m1",
    "expected_error",
    "MonteCarloEstimate",
    "errors_for_draws",
    "make_spectrum",
    "spectrum_family",
    "sweep",
    "SweepTable",
    "t_quantile",
    "t_interval",
    "mean_ci",
    "ProgressEvent",
    "progress_sink",
}


def test_public_names_are_pinned():
    assert set(lininv.__all__) == PUBLIC
    assert len(lininv.__all__) == len(PUBLIC)  # no duplicates


def test_every_public_name_is_documented_in_the_index():
    for name in lininv.__all__:
        assert getattr(lininv, name).__doc__, name
        assert name in lininv.__doc__, f"{name} missing from the API index in lininv/__init__.py"


def test_version_is_exposed():
    assert lininv.__version__ != "0+unknown"
