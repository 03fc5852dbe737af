r"""Experiment 4b: dataset bias, a flow trained without one digit class recovering that class."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._validation import check_int, describe
from lininv.bridge._compare import COMPARE_NEEDS, compare_validated, comparison_settings
from lininv.bridge._predictions import check_ms
from lininv.experiments._cells import Stream, cells_path, open_cells, require_keys, stream
from lininv.experiments._compressed_sensing import COMPARE_CELL
from lininv.experiments._data import digits_data, subset
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult
from lininv.flows._pretrained import TrainingRecipe
from lininv.flows._protocol import FlowPrior, check_flow_prior

__all__ = ["dataset_bias", "training_recipe", "flow_path"]

_TRAINING = require_keys("_seconds")


def _validate(key: str, value: Any) -> None:
    (_TRAINING if key == "training" else COMPARE_CELL)(key, value)


def flow_path(output: Any) -> Path:
    """Where :func:`dataset_bias` keeps its trained flow under ``output``."""
    return cells_path(output, "dataset-bias").with_name("dataset-bias.flow.npz")


def training_recipe() -> TrainingRecipe:
    """The default flow's training recipe, as its file records it.

    :func:`dataset_bias` trains its flow with exactly this recipe (class excluded, ``epochs`` and
    seed as given), so the biased flow differs from the default one only by its training data.

    Returns
    -------
    lininv.flows.TrainingRecipe
        Architecture, data split and optimiser settings.

    Examples
    --------
    >>> from lininv.experiments import training_recipe
    >>> from lininv.flows import DEFAULT_RECIPE
    >>> training_recipe() == DEFAULT_RECIPE
    True
    """
    from lininv import flows

    return TrainingRecipe.from_metadata(flows.default_flow().flow.metadata)


def _train_without(
    recipe: TrainingRecipe, exclude: int, seed: int, epochs: int | None
) -> FlowPrior:
    """A flow trained like the default one on its split without ``exclude`` (seed ``seed``)."""
    from lininv import flows

    if epochs is not None:
        recipe = recipe.replace(epochs=epochs)
    recipe = recipe.replace(exclude=(exclude,))
    flow = recipe.build(rng=seed)
    flows.fit(
        flow,
        recipe.split().X_train,
        dequantize=True,
        progress=False,
        rng=seed,
        **recipe.fit_options(),
    )
    flow.metadata.update(recipe.metadata())
    return flow


@register(
    "dataset-bias",
    order=5,
    summary="trained without one digit class, recovering that class (out of distribution)",
    small={"ms": (16, 64), "n_test": 6, "n_val": 20, "max_iter": 300, "epochs": 2},
)
def dataset_bias(
    flow: FlowPrior | None = None,
    *,
    exclude: int = 0,
    ms: Sequence[int] = (4, 8, 16, 32, 48, 56, 64),
    n_test: int | None = None,
    k: int = 16,
    max_iter: int = 1000,
    n_val: int = 100,
    epochs: int | None = None,
    seed: int = 0,
    train: Callable[[Any], FlowPrior] | None = None,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Experiment 4b: train without one digit class, recover that class (out of distribution).

    The flow (trained like the default flow on the reference split with class ``exclude``
    removed), the best linear Gaussian and the rank-k generator (both fitted to the same biased
    training set) recover the test images of the excluded class from ``m`` Gaussian measurements.
    An invertible prior has no representation error, so its error can fall to zero as ``m -> n``;
    the rank-k generator's cannot fall below its floor.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        A flow already trained without the class (skips training).
    exclude : int, default=0
        The held-out class, fixed in advance (not chosen by results).
    ms : sequence of int, default=(4, 8, 16, 32, 48, 56, 64)
        Numbers of measurements.
    n_test : int or None, default=None
        Images of the excluded class used (a seeded random subset; None for all).
    k : int, default=16
        Rank of the linear generator.
    max_iter : int, default=1000
        L-BFGS-B iteration limit.
    n_val : int, default=100
        Training images on which the baselines' weights are chosen.
    epochs : int, optional
        Epoch limit of the training (default: the recipe's; early stopping usually ends it
        sooner).
    seed : int, default=0
        Seed of the training and of every random stream.
    train : callable, optional
        ``train(split) -> flow`` replacing the default training recipe
        (:func:`training_recipe`: the default flow's architecture, split and optimiser settings,
        with seed ``seed``).
    output : path-like, optional
        Folder for resumable progress: the cells in ``output/.cells/dataset-bias.json``, the
        trained flow in ``output/.cells/dataset-bias.flow.npz``.
    progress : bool or callable, default=False
    command : str, optional
        The command line recorded in the provenance (default: this process's).

    Returns
    -------
    ExperimentResult
        The :func:`lininv.bridge.compare` table on the excluded class; ``data`` the training
        time and the number of images of the class.
    """
    from lininv import flows

    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    exclude = check_int("exclude", exclude, low=0, high=9)
    progress = check_progress(progress)
    if epochs is not None:
        epochs = check_int("epochs", epochs, low=1)
    if train is not None and not callable(train):
        raise TypeError(f"train must be a callable(split) -> flow or None; got {describe(train)}")
    if flow is not None:
        flow = check_flow_prior(flow, needs=COMPARE_NEEDS)
    recipe = training_recipe()
    n = recipe.n if flow is None else int(flow.n)
    m_values = check_ms(ms, n)
    settings = comparison_settings(n, k=k, max_iter=max_iter)
    params = {
        "exclude": exclude,
        "ms": [int(m) for m in m_values],
        "n_test": n_test,
        "k": settings.k,
        "max_iter": settings.max_iter,
        "epochs": epochs,
        "n_val": n_val,
        "seed": seed,
        "custom_flow": flow is not None,
        "custom_train": train is not None,
        "recipe": recipe.fit_options() if flow is None and train is None else None,
    }
    prov = provenance(seed=seed, command=command)
    split = recipe.split(exclude=(exclude,))
    train_seconds = 0.0
    with open_cells(output, "dataset-bias", params, provenance=prov, validate=_validate) as store:
        saved = store is not None and "training" in store and flow_path(output).exists()
        if flow is None and store is not None and saved:
            # the flow of these settings, saved by an earlier run (its cell is written after it)
            flow = flows.load(flow_path(output))
            train_seconds = float(store.get("training")["_seconds"])
        elif flow is None:
            with progress_sink(progress, "dataset-bias: training", 1, "flow") as sink:
                t1 = time.perf_counter()
                if train is not None:
                    flow = check_flow_prior(train(split), name="train(split)", needs=COMPARE_NEEDS)
                else:
                    flow = _train_without(recipe, exclude, seed, epochs)
                train_seconds = time.perf_counter() - t1
                if store is not None and hasattr(flow, "save"):
                    metadata = getattr(flow, "metadata", None)
                    if isinstance(metadata, dict):
                        metadata["provenance"] = prov
                    flow.save(flow_path(output))
                    store.put("training", {"_seconds": train_seconds})
                sink.update(label=f"without digit {exclude}", info=f"{train_seconds:.1f} s")
        data = digits_data(split, n_val=n_val)
        X_ood = data.X_test[data.y_test == exclude]
        X_ood = subset(X_ood, n_test, stream(seed, Stream.TEST_PICK))
        comp = compare_validated(
            flow,
            X_ood,
            m_values,
            data.X_train,
            data.X_val,
            settings,
            seed,
            store=store,
            progress=progress,
            task="dataset-bias",
        )
    table = comp.table
    table.meta.update(prov)
    return ExperimentResult(
        "dataset-bias",
        table,
        params,
        {"train_seconds": train_seconds, "n_ood": int(X_ood.shape[0])},
        {"exclude": exclude},
        seconds=time.perf_counter() - t0,
        compute_seconds=train_seconds + comp.compute_seconds,
    )
