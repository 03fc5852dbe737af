r"""The pretrained default digits flow shipped with lininv."""

from __future__ import annotations

import functools
import os
import shlex
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from lininv.datasets._digits import DigitsSplit, split_digits
from lininv.flows._flow import Flow
from lininv.flows._serialization import FlowFileError, load

__all__ = [
    "DefaultFlow",
    "DEFAULT_FLOW_PATH",
    "DEFAULT_FLOW_COMMAND",
    "TrainingRecipe",
    "DEFAULT_RECIPE",
    "RECIPE_FLAGS",
    "default_flow",
]

#: Where the committed default flow lives (package data).
DEFAULT_FLOW_PATH = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "data", "default_flow.npz"
)

#: The command that produced it, run from the repository root (also in the file's metadata).
DEFAULT_FLOW_COMMAND = "lininv train-flow --output lininv/data/default_flow.npz --no-progress"


#: The recipe's fields and the ``lininv train-flow`` flags that set them, in command-line order.
RECIPE_FLAGS = (
    ("seed", "--seed"),
    ("n_layers", "--layers"),
    ("hidden", "--hidden"),
    ("activation", "--activation"),
    ("mixing", "--mixing"),
    ("epochs", "--epochs"),
    ("batch_size", "--batch-size"),
    ("lr", "--lr"),
    ("weight_decay", "--weight-decay"),
    ("patience", "--patience"),
    ("val_fraction", "--val-fraction"),
    ("val_trim", "--val-trim"),
    ("n_train", "--n-train"),
    ("split_seed", "--split-seed"),
    ("logit", "--logit"),
    ("exclude", "--exclude"),
)


@dataclass(frozen=True)
class TrainingRecipe:
    """How a digits flow is built and trained: every setting of ``lininv train-flow``, as data.

    The default values are the recipe of the shipped default flow (:data:`DEFAULT_RECIPE`). The
    command line is generated from a recipe (:meth:`command`), and a trained flow records its
    recipe in its metadata (:meth:`metadata`, read back by :meth:`from_metadata`), so a recipe is
    never recovered by parsing a command.

    Attributes
    ----------
    seed : int, default=0
        Seed of the weights, the dequantisation noise and the minibatches.
    n_layers, hidden, activation, mixing, logit
        The architecture (:func:`lininv.flows.realnvp` with ``n = 64``).
    epochs, batch_size, lr, weight_decay, patience, val_fraction, val_trim
        The optimiser (:func:`lininv.flows.fit`, Adam).
    n_train, split_seed, exclude
        The data (:func:`lininv.datasets.split_digits`).

    Examples
    --------
    >>> from lininv.flows import DEFAULT_RECIPE
    >>> DEFAULT_RECIPE.fit_options()["lr"], DEFAULT_RECIPE.command("flow.npz").split()[:4]
    (0.0003, ['lininv', 'train-flow', '--output', 'flow.npz'])
    """

    seed: int = 0
    n_layers: int = 8
    hidden: int = 128
    activation: str = "elu"
    mixing: str = "permutation"
    logit: float | None = None
    epochs: int = 200
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1.0
    patience: int = 20
    val_fraction: float = 0.1
    val_trim: float = 0.02
    n_train: int = 1400
    split_seed: int = 0
    exclude: tuple[int, ...] = ()

    #: The digits' dimension.
    n = 64
    #: The optimiser of :func:`lininv.flows.fit`.
    method = "adam"

    def replace(self, **changes: Any) -> TrainingRecipe:
        """A copy with some settings changed."""
        return replace(self, **changes)

    def architecture(self) -> dict[str, Any]:
        """The keywords of :func:`lininv.flows.realnvp` besides ``n`` and ``rng``."""
        return {
            "n_layers": self.n_layers,
            "hidden": self.hidden,
            "activation": self.activation,
            "mixing": self.mixing,
            "logit": self.logit,
        }

    def fit_options(self) -> dict[str, Any]:
        """The keywords of :func:`lininv.flows.fit` besides the data, progress and seed."""
        return {
            "val_fraction": self.val_fraction,
            "val_trim": self.val_trim,
            "method": self.method,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "patience": self.patience,
        }

    def split(self, exclude: Any = None) -> DigitsSplit:
        """The recipe's digits split (``exclude`` overrides the recipe's excluded classes)."""
        classes = self.exclude if exclude is None else exclude
        return split_digits(n_train=self.n_train, exclude=classes, rng=self.split_seed)

    def build(self, rng: Any = None) -> Flow:
        """The untrained flow (seeded by ``rng``, default the recipe's ``seed``)."""
        from lininv.flows._realnvp import realnvp

        return realnvp(self.n, rng=self.seed if rng is None else rng, **self.architecture())

    def command(self, output: str) -> str:
        """``lininv train-flow`` with every option spelled out (independent of future defaults).

        ``--logit`` and ``--exclude`` appear only when set.
        """
        words = ["lininv", "train-flow", "--output", shlex.quote(str(output))]
        for name, flag in RECIPE_FLAGS:
            value = getattr(self, name)
            if name == "logit" and value is None or name == "exclude" and not value:
                continue
            text = ",".join(str(c) for c in value) if name == "exclude" else str(value)
            words += [flag, shlex.quote(text)]
        return " ".join(words)

    def metadata(self) -> dict[str, Any]:
        """``{"architecture", "data", "training"}`` as a trained flow's metadata records them."""
        return {
            "architecture": {"n": self.n, **self.architecture(), "seed": self.seed},
            "data": {
                "dataset": "sklearn.datasets.load_digits",
                "n_train": self.n_train,
                "split_seed": self.split_seed,
                "exclude": list(self.exclude),
            },
            "training": {
                "method": self.method,
                "lr": self.lr,
                "batch_size": self.batch_size,
                "epochs": self.epochs,
                "patience": self.patience,
                "val_fraction": self.val_fraction,
                "val_trim": self.val_trim,
                "weight_decay": self.weight_decay,
                "seed": self.seed,
            },
        }

    @classmethod
    def from_metadata(cls, metadata: Any) -> TrainingRecipe:
        """The recipe a flow's metadata records (``FlowFileError`` if it records none)."""
        try:
            arch, data, train = metadata["architecture"], metadata["data"], metadata["training"]
            fields = {
                "seed": arch["seed"],
                "n_layers": arch["n_layers"],
                "hidden": arch["hidden"],
                "activation": arch["activation"],
                "mixing": arch["mixing"],
                "logit": arch["logit"],
                "n_train": data["n_train"],
                "split_seed": data["split_seed"],
                "exclude": tuple(data["exclude"]),
            }
            fields.update({k: train[k] for k in cls().fit_options() if k != "method"})
        except (KeyError, TypeError) as exc:
            raise FlowFileError(
                f"the flow's metadata does not record its training recipe (missing {exc})"
            ) from None
        return cls(**fields)

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name."""
        out = asdict(self)
        out["exclude"] = list(self.exclude)
        return out


#: The recipe of the shipped default flow (``lininv train-flow`` with its defaults).
DEFAULT_RECIPE = TrainingRecipe()


class DefaultFlow(NamedTuple):
    """The pretrained flow and the digits split it was trained on."""

    flow: Flow
    split: DigitsSplit


@functools.lru_cache(maxsize=1)
def _load_default(path: str) -> tuple[Flow, DigitsSplit]:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the pretrained default flow is missing ({path}); regenerate it from the repository "
            f"root with: {DEFAULT_FLOW_COMMAND}"
        )
    flow = load(path)
    data = flow.metadata.get("data", {})
    try:
        split = split_digits(
            n_train=data["n_train"], exclude=tuple(data["exclude"]), rng=data["split_seed"]
        )
    except (KeyError, TypeError) as exc:
        raise FlowFileError(f"{path!r} lacks the metadata describing its training split") from exc
    if not np.array_equal(split.test_index, np.asarray(data.get("test_index"))):
        raise FlowFileError(
            f"{path!r}: the digits split rebuilt from its seed differs from the one it was trained "
            "on (has scikit-learn's bundled dataset changed?)"
        )
    return flow, split


def default_flow() -> DefaultFlow:
    r"""The pretrained RealNVP for the 8x8 digits and the split it was trained on.

    The file ``lininv/data/default_flow.npz`` was produced, from the repository root, by::

        lininv train-flow --output lininv/data/default_flow.npz --no-progress

    that is ``realnvp(64, n_layers=8, hidden=128, rng=0)`` (ELU conditioners, random-permutation
    mixing) fitted by :func:`fit` (Adam, lr 3e-4, decoupled weight decay 1.0, batch 64, at most 200
    epochs, early stopping with patience 20 on a 10% validation hold-out, seed 0) to the
    dequantised training images of :func:`lininv.datasets.reference_split`. The full command line
    with every option, the training summary and the held-out bits/dim of the flow and of the best
    linear Gaussian are in ``flow.metadata`` (``"command"``, ``"training"``, ``"results"``).
    Training is deterministic given the seed on a given machine (one-thread BLAS); on other
    hardware the command reproduces the result up to rounding-driven differences of the
    optimisation path.

    Returns
    -------
    DefaultFlow
        ``(flow, split)``: an independent copy of the flow (change it freely) and the
        :class:`lininv.datasets.DigitsSplit` (``split.X_test`` are the held-out images).

    Examples
    --------
    >>> from lininv.flows import default_flow
    >>> flow, split = default_flow()
    >>> flow.n, split.X_train.shape, split.X_test.shape
    (64, (1400, 64), (397, 64))
    """
    flow, split = _load_default(DEFAULT_FLOW_PATH)
    return DefaultFlow(flow.copy(), split)
