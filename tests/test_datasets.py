"""The datasets package: its API index, and the deprecated aliases left in lininv.flows.

The digits helpers themselves are tested in test_flows_digits.py.
"""

import subprocess
import sys
import warnings

import pytest

import lininv
from lininv import datasets

MOVED = [
    "load_digits",
    "split_digits",
    "reference_split",
    "split_by_class",
    "DigitsSplit",
    "dequantize",
    "bits_per_dim",
]


def test_api_index_documents_every_public_name():
    assert len(set(datasets.__all__)) == len(datasets.__all__)
    for name in datasets.__all__:
        assert name in datasets.__doc__, f"{name} missing from the API index of lininv/datasets"
        if name != "LEVELS":
            assert getattr(datasets, name).__doc__, name
    assert set(MOVED) <= set(datasets.__all__)


def test_datasets_is_a_lazy_submodule_that_does_not_import_the_flows():
    assert lininv.datasets is datasets
    code = "import sys, lininv.datasets; print('lininv.flows' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", MOVED)
def test_old_names_in_flows_warn_and_are_the_moved_objects(name):
    from lininv import flows

    with pytest.warns(
        DeprecationWarning, match=rf"lininv.flows.{name} is deprecated.*lininv.datasets.{name}"
    ):
        old = getattr(flows, name)
    assert old is getattr(datasets, name)
    assert name not in flows.__all__


def test_from_import_of_an_old_name_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from lininv.flows import dequantize  # noqa: F401
    # (the import system looks the name up twice: once to see whether it is a submodule)
    assert caught and all(w.category is DeprecationWarning for w in caught)
