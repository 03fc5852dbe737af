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
    "provenance",
    "environment",
    "measurements",
    "ENSEMBLES",
    "make_truth",
    "TRUTH_FORMS",
    "generator_expected_error",
    "crossover",
    "Crossover",
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


EXPERIMENTS_PUBLIC = {
    "run",
    "EXPERIMENTS",
    "SMALL",
    "register",
    "Experiment",
    "compressed_sensing",
    "denoising",
    "inpainting",
    "initialisation",
    "dataset_bias",
    "likelihood_proxy",
    "compressed_sensing_28",
    "out_of_distribution_28",
    "denoising_28",
    "inpainting_28",
    "prediction_accuracy",
    "ensembles",
    "generator_crossover",
    "claims",
    "claims_28",
    "measurement_factor",
    "MeasurementFactor",
    "PROTOCOLS",
    "Protocol",
    "ExperimentResult",
    "save_result",
    "load_result",
    "digits_data",
    "DigitsData",
    "centre_mask",
    "training_recipe",
    "Stream",
    "StartKey",
}

PLOTTING_PUBLIC = {
    "plot_bounds",
    "plot_prediction_error",
    "plot_prediction_accuracy",
    "plot_ensembles",
    "plot_crossover",
    "plot_comparison",
    "plot_denoising",
    "plot_inpainting",
    "plot_images",
    "plot_initialisation",
    "plot_likelihood_proxy",
    "plot_experiment",
    "plot_inpainting_examples",
    "plot_likelihood_scatter",
    "plot_measurement_factor",
}


def test_experiments_and_plotting_names_are_pinned_and_indexed():
    for module, public in (
        (lininv.experiments, EXPERIMENTS_PUBLIC),
        (lininv.plotting, PLOTTING_PUBLIC),
    ):
        assert set(module.__all__) == public and len(module.__all__) == len(public)
        for name in module.__all__:
            assert name in module.__doc__, f"{name} missing from the API index of {module.__name__}"
            obj = getattr(module, name)
            if callable(obj):
                assert obj.__doc__, name
