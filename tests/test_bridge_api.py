"""lininv.bridge's public names are pinned and indexed in its docstring; moved names still work,
with a DeprecationWarning, for one release."""

import pytest

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
}

#: Names that moved out of lininv.bridge: name -> new home.
MOVED = {
    **dict.fromkeys(
        [
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
        ],
        "lininv.experiments",
    ),
    **dict.fromkeys(
        [
            "plot_comparison",
            "plot_denoising",
            "plot_inpainting",
            "plot_images",
            "plot_initialisation",
            "plot_likelihood_proxy",
        ],
        "lininv.plotting",
    ),
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


def test_mean_ci_is_the_one_interval():
    from lininv._stats import mean_ci

    assert bridge.mean_ci is mean_ci


@pytest.mark.parametrize("name", sorted(MOVED))
def test_moved_names_are_deprecated_aliases(name):
    from importlib import import_module

    home = import_module(MOVED[name])
    assert name in home.__all__
    with pytest.warns(
        DeprecationWarning, match=f"lininv.bridge.{name} is deprecated.*{MOVED[name]}"
    ):
        obj = getattr(bridge, name)
    assert obj is getattr(home, name)
    assert name in bridge.__doc__  # listed under "Deprecated"
    assert name not in bridge.__all__


def test_unknown_names_still_raise():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bridge.nope  # noqa: B018
