r"""The pretrained digits generators (k = 8, 16, 32) shipped with lininv, and how to rebuild them."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from lininv._validation import check_int, describe
from lininv.generators._generator import Generator
from lininv.generators._serialization import GeneratorFileError, load
from lininv.generators._training import Recipe, train

__all__ = [
    "PRETRAINED_KS",
    "pretrained_path",
    "pretrained_command",
    "pretrained",
    "pretrained_recipe",
    "build_pretrained",
]

#: Latent dimensions of the shipped generators.
PRETRAINED_KS = (8, 16, 32)

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")


def _check_k(k: Any) -> int:
    k = check_int("k", k)
    if k not in PRETRAINED_KS:
        raise ValueError(f"k must be one of {PRETRAINED_KS} (a shipped generator); got {k}")
    return k


def pretrained_path(k: int) -> str:
    """Where the shipped generator of latent dimension ``k`` lives (package data)."""
    return os.path.join(_DATA, f"generator_k{_check_k(k)}.npz")


def pretrained_command(k: int) -> str:
    """The command that wrote the shipped file, run from the repository root."""
    return f"python -m lininv.generators train --k {_check_k(k)} --output lininv/data/generator_k{k}.npz"


@functools.lru_cache(maxsize=len(PRETRAINED_KS))
def _load(k: int) -> Generator:
    path = pretrained_path(k)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the pretrained generator k={k} is missing ({path}); regenerate it from the "
            f"repository root with: {pretrained_command(k)}"
        )
    gen = load(path)
    try:
        recipe = Recipe.from_dict(gen.metadata["recipe"])
        recorded = np.asarray(gen.metadata["data"]["test_index"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GeneratorFileError(f"{path!r} lacks the metadata describing its recipe") from exc
    if not np.array_equal(recipe.split().test_index, recorded):
        raise GeneratorFileError(
            f"{path!r}: the digits split rebuilt from its recipe differs from the one it was "
            "trained on (has scikit-learn's bundled dataset changed?)"
        )
    return gen


def pretrained(k: int) -> Generator:
    r"""The shipped VAE decoder of latent dimension ``k`` for the 8x8 digits (an independent copy).

    Each was trained by :func:`train` with ``Recipe(k=k)`` (the defaults: decoder
    ``k -> 128 -> 128 -> 64`` with ELU and a sigmoid output, Adam lr 1e-3, batch 64, early stopping
    with patience 50 on a 10% validation hold-out, seed 0) on the default flow's training digits
    (:func:`lininv.datasets.reference_split`), and written by :func:`pretrained_command`.
    ``metadata`` holds the ``"recipe"``, the ``"data"`` split, the ``"training"`` summary, the
    held-out ``"results"`` (:func:`held_out_results`) and the ``"provenance"``.

    Parameters
    ----------
    k : {8, 16, 32}

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
    return _load(_check_k(k)).copy()


def pretrained_recipe(k: int) -> Recipe:
    """The recipe recorded in the shipped generator of latent dimension ``k``."""
    return Recipe.from_dict(_load(_check_k(k)).metadata["recipe"])


def build_pretrained(
    k: int, path: Any = None, *, recipe: Any = None, progress: Any = False
) -> Generator:
    """Train and evaluate a generator as the shipped ones were, and save it if ``path`` is given.

    Parameters
    ----------
    k : int
        Latent dimension (any, not only the shipped ones).
    path : str or os.PathLike, optional
        Where to save it.
    recipe : Recipe or dict, optional
        Default ``Recipe(k=k)``.
    progress : bool or callable, default=False

    Returns
    -------
    Generator
        With ``metadata`` ``"results"`` (:func:`held_out_results`), ``"evaluation"`` (how they
        were computed), ``"provenance"`` and ``"command"`` added to what :func:`train` records.
    """
    from lininv._provenance import provenance
    from lininv._threads import blas_description
    from lininv.generators._evaluation import EVALUATION, held_out_results

    k = check_int("k", k, low=1, high=63)
    if recipe is None:
        recipe = Recipe(k=k)
    elif isinstance(recipe, dict):
        recipe = Recipe.from_dict(recipe)
    if not isinstance(recipe, Recipe) or recipe.k != k:
        raise ValueError(f"recipe must be a Recipe (or dict) with k = {k}; got {describe(recipe)}")
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be None, a str or os.PathLike; got {describe(path)}")
        folder = os.path.dirname(os.path.abspath(os.fspath(path)))
        if not os.path.isdir(folder):
            raise ValueError(f"path's folder does not exist: {folder}")
    gen, _ = train(recipe, progress=progress)
    gen.metadata["evaluation"] = dict(EVALUATION)
    gen.metadata["results"] = held_out_results(gen, progress=progress)
    gen.metadata["blas"] = blas_description()
    gen.metadata["numpy_version"] = np.__version__
    gen.metadata["provenance"] = provenance(seed=recipe.seed)
    if path is not None:
        gen.save(path)
    return gen
