"""lininv.bridge's public names are pinned and indexed in its docstring."""

import lininv
from lininv import bridge

PUBLIC = {
    "recover",
    "RecoveryResult",
    "INITS",
    "STALL_GTOL",
    "spectrum_predictions",
    "local_singular_values",
    "local_predictions",
    "global_predictions",
    "LinearPrediction",
    "dct_basis",
    "lasso_dct",
    "low_rank_recover",
    "DEFAULT_LASSO_LAMBDAS",
    "DEFAULT_RANK_K_GAMMAS",
    "compare",
    "Comparison",
    "mean_ci",
    "Table",
    "compressed_sensing",
    "denoising",
    "inpainting",
    "initialisation",
    "dataset_bias",
    "likelihood_proxy",
    "ExperimentResult",
    "EXPERIMENTS",
    "SMALL",
    "digits_data",
    "DigitsData",
    "centre_mask",
    "training_recipe",
    "plot_comparison",
    "plot_denoising",
    "plot_inpainting",
    "plot_images",
    "plot_initialisation",
    "plot_likelihood_proxy",
}


def test_public_names_are_pinned():
    assert set(bridge.__all__) == PUBLIC
    assert len(bridge.__all__) == len(PUBLIC)


def test_every_public_name_is_indexed_and_documented():
    for name in bridge.__all__:
        assert name in bridge.__doc__, f"{name} missing from the API index of lininv.bridge"
        obj = getattr(bridge, name)
        if callable(obj):
            assert obj.__doc__, name


def test_lazy_submodule():
    assert lininv.bridge is bridge
