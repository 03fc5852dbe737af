r"""Held-out evaluation of a generator beside the linear rank-k generator, in and out of distribution."""

from __future__ import annotations

from typing import Any

import numpy as np

from lininv._low_rank import LowRankPrior
from lininv._random import stream
from lininv._stats import mean_ci
from lininv._threads import one_blas_thread
from lininv._validation import check_int, describe
from lininv.datasets._digits import dequantize
from lininv.generators._generator import Generator
from lininv.generators._recipe import Recipe, dataset_info
from lininv.generators._recovery import representation_error
from lininv.generators._training import train

__all__ = [
    "EVALUATION",
    "EVALUATION_MNIST28",
    "evaluation_settings",
    "digits_arrays",
    "held_out_results",
    "dataset_bias",
]

#: How held-out results are computed (recorded in the files' metadata).
EVALUATION = {
    "test_images": "dequantize(split.X_test, rng=stream(0, 11)), as lininv.bridge.digits_data",
    "linear_fit": "LowRankPrior.fit(dequantize(split.X_train, rng=stream(0, 10)), k)",
    "restarts": 4,
    "encoder_start": True,
    "solver": "lm",
    "max_iter": 1000,
    "tol": 1e-10,
    "rng": 0,
}

#: The same for a generator of the 28x28 digits (``Recipe(dataset="mnist28")``): 256 grey levels,
#: and the representation error (a solve per image and restart at n = 784) on the first
#: ``per_class`` test images of each class, 50 of the split's 500.
EVALUATION_MNIST28 = {
    **EVALUATION,
    "test_images": (
        "dequantize(split.X_test, levels=256, rng=stream(0, 11)), the first per_class of each "
        "class (rows in the split's order)"
    ),
    "linear_fit": "LowRankPrior.fit(dequantize(split.X_train, levels=256, rng=stream(0, 10)), k)",
    "per_class": 5,
}


def evaluation_settings(dataset: str) -> dict[str, Any]:
    """A copy of :data:`EVALUATION` (``"digits"``) or :data:`EVALUATION_MNIST28` (``"mnist28"``)."""
    from lininv._validation import check_choice
    from lininv.generators._recipe import DATASETS

    dataset = check_choice("dataset", dataset, DATASETS)
    return dict(EVALUATION if dataset == "digits" else EVALUATION_MNIST28)


def digits_arrays(split: Any, *, levels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(X_train, X_test)`` of a split dequantised as :func:`lininv.bridge.digits_data` does.

    Parameters
    ----------
    split : DigitsSplit or Mnist28Split
        With integer ``X_train`` and ``X_test``.
    levels : int, optional
        Grey levels: default 17 for a :class:`lininv.datasets.DigitsSplit`, 256
        (:data:`lininv.datasets.MNIST28_LEVELS`) for a :class:`lininv.datasets.Mnist28Split`.

    Returns
    -------
    X_train, X_test : ndarray
        ``dequantize(X, levels=levels, rng=stream(0, 10))`` and ``stream(0, 11)`` respectively.
    """
    from lininv.datasets._digits import LEVELS
    from lininv.datasets._mnist28 import MNIST28_LEVELS, Mnist28Split

    if not (hasattr(split, "X_train") and hasattr(split, "X_test")):
        raise TypeError(f"split must be a DigitsSplit or Mnist28Split; got {describe(split)}")
    if levels is None:
        levels = MNIST28_LEVELS if isinstance(split, Mnist28Split) else LEVELS
    levels = check_int("levels", levels, low=2)
    return (
        dequantize(split.X_train, levels=levels, rng=stream(0, 10)),
        dequantize(split.X_test, levels=levels, rng=stream(0, 11)),
    )


def _first_per_class(y: np.ndarray, per_class: int | None) -> np.ndarray:
    """Rows of the first ``per_class`` labels of each class (all rows for None), in order."""
    if per_class is None:
        return np.arange(y.size)
    keep = np.zeros(y.size, bool)
    for c in np.unique(y):
        keep[np.flatnonzero(y == c)[:per_class]] = True
    return np.flatnonzero(keep)


def _summary(values: np.ndarray) -> dict[str, Any]:
    mean, lo, hi = mean_ci(values)
    return {"mean": mean, "ci95": [lo, hi], "count": int(values.size)}


def _errors(gen: Generator, linear: LowRankPrior, X: np.ndarray, progress: Any) -> dict[str, Any]:
    e = EVALUATION
    res = representation_error(
        gen,
        X,
        restarts=e["restarts"],
        encoder_start=e["encoder_start"],
        solver=e["solver"],
        max_iter=e["max_iter"],
        tol=e["tol"],
        progress=progress,
        rng=e["rng"],
    )
    R = gen.reconstruct(X) - X
    with one_blas_thread():
        lin = np.asarray(linear.representation_error(X))
    return {
        "representation_error": {
            **_summary(res.objective),
            "per_signal": res.objective.tolist(),
            "converged_fraction": res.converged_fraction,
            "restart_converged_fraction": res.restart_converged_fraction,
            "seconds": round(res.seconds, 2),
        },
        "reconstruction_error": _summary(np.sum(R * R, axis=1)),
        "linear_representation_error": _summary(lin),
    }


def held_out_results(
    generator: Any, *, per_class: Any = "default", progress: Any = False
) -> dict[str, Any]:
    r"""Errors of ``generator`` on the held-out digits of its recipe's split, beside linear rank-k.

    Parameters
    ----------
    generator : Generator
        Trained by :func:`lininv.generators.train` (its ``metadata["recipe"]`` names the split
        and the dataset, 8x8 or 28x28 digits).
    per_class : int, None or "default", default="default"
        Evaluate the first ``per_class`` test images of each class only (None: all).
        ``"default"``: the dataset's setting, all 397 test digits for ``"digits"``
        (:data:`EVALUATION`), 5 per class (50 of 500) for ``"mnist28"``
        (:data:`EVALUATION_MNIST28`).
    progress : bool or callable, default=False

    Returns
    -------
    dict
        ``{"n_test", "representation_error", "reconstruction_error",
        "linear_representation_error"}`` (and ``"test_rows"``, the rows of ``split.X_test``
        evaluated, when not all are); each error has ``mean`` and a 95% Student-t
        ``ci95`` over the test images, the representation error also ``per_signal`` values and
        the ``converged_fraction`` of its selected solves. Computed as :data:`EVALUATION` says:
        representation error :math:`\min_z\|D(z) - x\|^2` (:func:`representation_error`),
        reconstruction error :math:`\|D(E(x)) - x\|^2` (the encoder's amortised fit), and the
        closed-form floor of the rank-k PCA generator fitted to the same training images.
    """
    gen, recipe = _with_recipe(generator)
    if isinstance(per_class, str) and per_class == "default":
        per_class = evaluation_settings(recipe.dataset).get("per_class")
    elif per_class is not None:
        per_class = check_int("per_class", per_class, low=1)
    split = recipe.split()
    X_train, X_test = digits_arrays(split)
    rows = _first_per_class(np.asarray(split.y_test), per_class)
    with one_blas_thread():
        linear = LowRankPrior.fit(X_train, gen.k)
    out: dict[str, Any] = {"n_test": int(rows.size)}
    if rows.size < X_test.shape[0]:
        out["test_rows"] = rows.tolist()
    return {**out, **_errors(gen, linear, X_test[rows], progress)}


def _with_recipe(generator: Any) -> tuple[Generator, Recipe]:
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a lininv.generators.Generator; got {describe(generator)}"
        )
    try:
        recipe = Recipe.from_dict(generator.metadata["recipe"])
    except (KeyError, TypeError) as exc:
        raise ValueError(
            "generator.metadata has no training recipe (train it with lininv.generators.train)"
        ) from exc
    if generator.n != dataset_info(recipe.dataset)["n"]:
        raise ValueError(
            f"generator has n = {generator.n} but its recipe's dataset {recipe.dataset!r} has "
            f"n = {dataset_info(recipe.dataset)['n']}"
        )
    return generator, recipe


def dataset_bias(
    k: int, *, exclude: int = 0, recipe: Any = None, progress: Any = False
) -> dict[str, Any]:
    r"""Representation error of the excluded class's test digits: generator vs linear rank-k.

    A generator is trained like the pretrained one of latent dimension ``k``, but without the
    digits of class ``exclude`` (the bridge's dataset-bias experiment); the linear rank-k
    generator is fitted to the same training images. Both are evaluated on the test images of
    ``exclude`` (out of distribution) and on the other test images (in distribution).

    Parameters
    ----------
    k : int
    exclude : int, default=0
        Digit class left out of training.
    recipe : Recipe or dict, optional
        Default: the pretrained generator's recipe for ``k``, with ``exclude`` set.
    progress : bool or callable, default=False

    Returns
    -------
    dict
        ``{"recipe", "training", "out_of_distribution": {...}, "in_distribution": {...}}``, the
        two parts as in :func:`held_out_results`.
    """
    from lininv.generators._pretrained import pretrained_recipe

    k = check_int("k", k, low=1, high=63)
    exclude = check_int("exclude", exclude, low=0, high=9, reason=" (a digit class)")
    base = pretrained_recipe(k) if recipe is None else recipe
    if isinstance(base, dict):
        base = Recipe.from_dict(base)
    if not isinstance(base, Recipe):
        raise TypeError(f"recipe must be a Recipe, a dict or None; got {describe(recipe)}")
    d = base.to_dict()
    d.update(k=k, exclude=[exclude])
    gen, _ = train(Recipe.from_dict(d), progress=progress)
    split = Recipe.from_dict(d).split()
    X_train, X_test = digits_arrays(split)
    with one_blas_thread():
        linear = LowRankPrior.fit(X_train, k)
    ood = np.asarray(split.y_test) == exclude
    return {
        "recipe": d,
        "training": gen.metadata["training"],
        "out_of_distribution": {
            "n_test": int(ood.sum()),
            **_errors(gen, linear, X_test[ood], progress),
        },
        "in_distribution": {
            "n_test": int((~ood).sum()),
            **_errors(gen, linear, X_test[~ood], progress),
        },
    }
