"""``lininv train-flow``: train the digits RealNVP, save it, report held-out bits/dim.

Every flag is checked first, in its own name, and so is the output file (a writable file path,
locked for the run), before the data are loaded. The flags make a
:class:`lininv.flows.TrainingRecipe`; the recipe builds the flow (:func:`lininv.flows.realnvp`),
trains it (:func:`lininv.flows.fit`) and is recorded in the saved flow's metadata with the
command line generated from it and the run's provenance. The best linear Gaussian fitted to the
same training images (:meth:`lininv.LinearInvertiblePrior.fit`) is the held-out baseline.
``--dataset mnist28`` trains the 28x28 Glow from its recipe instead (:mod:`._train_flow28`).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
from pathlib import Path
from typing import Any

from lininv.cli._common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    UsageError,
    parse_float,
    parse_int,
    parse_list,
    parse_seed,
    usage_error,
)

__all__ = ["add_parser", "run", "recipe_from_args", "TEST_NOISE_SEED"]

#: Seed of the fixed dequantisation noise of the held-out images (the same for every run, so
#: held-out numbers of different flows are comparable).
TEST_NOISE_SEED = 12345

#: Mixing layers (as :func:`lininv.flows.realnvp` accepts them).
MIXINGS = ("permutation", "rotation")

#: The data sets train-flow trains on.
DATASETS = ("digits", "mnist28")

#: Images in scikit-learn's digits.
N_DIGITS = 1797


#: Each recipe flag: (flag, the TrainingRecipe field it sets, its help). Flags left out take the
#: recipe's default, which the help shows ({default}); the values are defined once, in
#: lininv.flows.DEFAULT_RECIPE (imported only when the help is shown or the command runs).
_RECIPE_FLAGS = (
    ("--seed", "seed", "seed of weights and training"),
    ("--layers", "n_layers", "coupling steps"),
    ("--hidden", "hidden", "conditioner width"),
    ("--activation", "activation", "relu, tanh or elu"),
    ("--mixing", "mixing", "permutation or rotation"),
    ("--logit", "logit", "add a Logit layer with this margin ALPHA, 0 < ALPHA < 0.5"),
    ("--epochs", "epochs", "maximum epochs"),
    ("--batch-size", "batch_size", "minibatch"),
    ("--lr", "lr", "Adam step size"),
    ("--weight-decay", "weight_decay", "decoupled weight decay per unit step"),
    ("--patience", "patience", "early-stopping patience"),
    ("--val-fraction", "val_fraction", "validation hold-out of the training images, 0..0.9"),
    (
        "--val-trim",
        "val_trim",
        "fraction of worst validation images ignored by early stopping, 0..0.5 "
        "(see lininv.flows.fit)",
    ),
    ("--n-train", "n_train", f"training images, 1..{N_DIGITS - 1}"),
    ("--split-seed", "split_seed", "seed of the split"),
    ("--exclude", "exclude", "comma-separated digit classes left out of training, e.g. 3 or 3,8"),
)

_FIELD = {flag.lstrip("-").replace("-", "_"): field for flag, field, _ in _RECIPE_FLAGS}


class _Help(argparse.HelpFormatter):
    """Shows the recipe's defaults, read from lininv.flows.DEFAULT_RECIPE when help is asked."""

    def _expand_help(self, action: argparse.Action) -> str:
        text = super()._expand_help(action)
        if "{default}" in text:
            from lininv.flows._pretrained import DEFAULT_RECIPE

            value = getattr(DEFAULT_RECIPE, _FIELD[action.dest])
            shown = ",".join(map(str, value)) or "none" if isinstance(value, tuple) else value
            text = text.replace("{default}", "none" if value is None else str(shown))
        return text


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train-flow",
        help="train a digits flow (8x8 RealNVP or 28x28 Glow) and save it",
        description=(
            "Train lininv.flows.realnvp by maximum likelihood on dequantised 8x8 digits (the "
            "reference 1400/397 split by default), save it, and print held-out bits/dim beside "
            "the best linear Gaussian fitted to the same training images. The default settings "
            "produced lininv/data/default_flow.npz; with --dataset mnist28 the default settings "
            "train the 28x28 Glow of lininv/data/mnist28_flow.npz."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=_Help,
    )
    p.add_argument("--output", "-o", default="flow.npz", help="output .npz (default: flow.npz)")
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="digits: the 8x8 RealNVP (the defaults below); mnist28: the 28x28 Glow of "
        "lininv/data/mnist28_flow.npz, retrained bit for bit from its recorded recipe "
        "(lininv.flows.MNIST28_RECIPE, which gives the defaults; it accepts --seed, --hidden, "
        "--activation, --logit, --epochs, --batch-size, --lr, --weight-decay, --patience, "
        "--val-trim and --split-seed; needs the images extra) (default: digits)",
    )
    for flag, _, text in _RECIPE_FLAGS:
        metavar = "ALPHA" if flag == "--logit" else None
        p.add_argument(flag, default=None, metavar=metavar, help=f"{text} (default {{default}})")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: only on a terminal)",
    )
    p.set_defaults(func=run)


def _digits(flag: str, text: str) -> tuple[int, ...]:
    if not text.strip():
        return ()

    def digit(flag: str, item: str) -> int:
        if not item.isdigit() or int(item) > 9:
            raise UsageError(f"{flag} must be comma-separated digits 0..9; got {text!r}")
        return int(item)

    return tuple(sorted(parse_list(flag, text, digit)))


def _activations() -> tuple[str, ...]:
    from lininv.flows._coupling import ACTIVATIONS

    return tuple(ACTIVATIONS)


def _choice(choices: tuple[str, ...]) -> Any:
    def parse(flag: str, text: str) -> str:
        if text not in choices:
            raise UsageError(f"{flag} must be one of {', '.join(choices)}; got {text!r}")
        return text

    return parse


#: How each recipe flag is read (flag, text) -> value, with its bounds.
_PARSERS: dict[str, Any] = {
    "--seed": lambda f, t: parse_seed(t, f),
    "--layers": lambda f, t: parse_int(f, t, low=1),
    "--hidden": lambda f, t: parse_int(f, t, low=1),
    "--activation": lambda f, t: _choice(_activations())(f, t),
    "--mixing": _choice(MIXINGS),
    "--logit": lambda f, t: parse_float(f, t, 0.0, 0.5, low_open=True, high_open=True),
    "--epochs": lambda f, t: parse_int(f, t, low=1),
    "--batch-size": lambda f, t: parse_int(f, t, low=1),
    "--lr": lambda f, t: parse_float(f, t, 0.0, low_open=True),
    "--weight-decay": lambda f, t: parse_float(f, t, 0.0),
    "--patience": lambda f, t: parse_int(f, t, low=1),
    "--val-fraction": lambda f, t: parse_float(f, t, 0.0, 0.9),
    "--val-trim": lambda f, t: parse_float(f, t, 0.0, 0.5),
    "--n-train": lambda f, t: parse_int(f, t, low=1, high=N_DIGITS - 1),
    "--split-seed": lambda f, t: parse_seed(t, f),
    "--exclude": _digits,
}


def recipe_from_args(args: argparse.Namespace) -> Any:
    """The :class:`lininv.flows.TrainingRecipe` of the flags (``UsageError`` naming a bad one).

    Every flag given is parsed and checked in its own name; the others keep the default recipe's
    value.
    """
    from lininv.flows._pretrained import DEFAULT_RECIPE

    changes = {}
    for flag, field, _ in _RECIPE_FLAGS:
        text = getattr(args, flag.lstrip("-").replace("-", "_"))
        if text is not None:
            changes[field] = _PARSERS[flag](flag, text)
    return DEFAULT_RECIPE.replace(**changes)


def _check_sizes(recipe: Any, n_rows: int) -> None:
    """The training rows left after the exclusion and the hold-out fit the flags."""
    if n_rows < 2:
        raise UsageError(
            f"--exclude leaves {n_rows} of the --n-train {recipe.n_train} training images; "
            "at least 2 are needed"
        )
    n_val = int(round(recipe.val_fraction * n_rows))
    if recipe.val_fraction > 0 and not 1 <= n_val < n_rows:
        need = 0.5 / n_rows
        raise UsageError(
            f"--val-fraction {recipe.val_fraction:g} of the {n_rows} training images holds out "
            f"none; use 0 (no early stopping) or at least {need:.2g}"
        )
    if recipe.batch_size > n_rows - n_val:
        raise UsageError(
            f"--batch-size must be at most the {n_rows - n_val} images trained on "
            f"(--n-train, --exclude and --val-fraction); got {recipe.batch_size}"
        )


def _command(args: argparse.Namespace) -> str:
    """The command with every training option spelled out (independent of future defaults)."""
    return recipe_from_args(args).command(args.output)


#: Kept for callers of the former name.
_canonical = _command


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import lininv
    from lininv import LinearInvertiblePrior, datasets, flows
    from lininv._io import Lock, OutputInUseError, output_file
    from lininv._provenance import provenance
    from lininv._threads import blas_description, one_blas_thread

    if args.dataset == "mnist28":
        from lininv.cli._train_flow28 import run28

        return run28(args, _PARSERS)
    recipe = recipe_from_args(args)
    try:
        out = output_file(args.output, "--output")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    command = recipe.command(args.output)
    try:  # the lock file is hidden beside the output (.NAME.lock) and deleted on release
        lock = Lock(out, "--output").acquire()
    except OutputInUseError:
        raise UsageError(
            f"--output {os.fspath(out)!r} is in use by another lininv run; wait for it to finish "
            "or use another output"
        ) from None
    try:
        split = recipe.split()
        _check_sizes(recipe, int(split.X_train.shape[0]))
        flow = recipe.build()
        X_test = datasets.dequantize(split.X_test, rng=TEST_NOISE_SEED)
        meta = recipe.metadata()
        meta["data"].update(
            test_index=split.test_index.tolist(),
            dequantization="(X + U[0,1)) / 17",
            test_noise_seed=TEST_NOISE_SEED,
        )
        flow.metadata.update(
            {
                "command": command,
                "lininv_version": lininv.__version__,
                "numpy_version": np.__version__,
                "machine": platform.machine(),
                "blas": blas_description(),
                **meta,
                "provenance": provenance(seed=recipe.seed, command=command),
            }
        )
        before = out.stat().st_mtime_ns if out.exists() else None
        try:
            history = flows.fit(
                flow,
                split.X_train,
                dequantize=True,
                progress=args.progress,
                checkpoint=os.fspath(out),
                rng=recipe.seed,
                **{k: v for k, v in recipe.fit_options().items() if k != "method"},
            )
        except (ValueError, TypeError) as exc:  # a check the flags above did not anticipate
            raise usage_error(exc, _FLAGS) from exc
        except FloatingPointError as exc:
            saved = out.exists() and out.stat().st_mtime_ns != before
            where = (
                f"the best flow before it is saved in {os.fspath(out)}"
                if saved
                else "no flow was saved"
            )
            raise RuntimeError(f"{str(exc).split(';')[0]}; {where}; try a smaller --lr") from None

        flow_bpd = datasets.bits_per_dim(-float(np.mean(flow.log_prob(X_test))))
        # The best linear Gaussian: maximum likelihood on the same training images, one fixed
        # dequantisation draw (its fit needs no early stopping, so it uses all of them).
        with one_blas_thread():  # see lininv._threads: ~20x faster on 2 cores for this SVD
            X_lin = datasets.dequantize(split.X_train, rng=recipe.seed)
            linear = LinearInvertiblePrior.fit(X_lin)
        linear_bpd = datasets.bits_per_dim(-float(np.mean(linear.log_prob(X_test))))
        flow.metadata["training"].update(
            {
                "epochs_run": history.epochs,
                "best_epoch": history.best_epoch,
                "best_val_bits_per_dim": datasets.bits_per_dim(history.best_val_nll)
                if math.isfinite(history.best_val_nll)
                else None,
                "stopped": history.message,
                "seconds": round(history.seconds, 2),
                "samples_per_second": round(history.samples_per_second, 1),
            }
        )
        flow.metadata["results"] = {
            "test_bits_per_dim": flow_bpd,
            "linear_gaussian_test_bits_per_dim": linear_bpd,
            "n_test": int(X_test.shape[0]),
        }
        flow.save(out)
    finally:
        lock.release()
    print(
        f"trained {history.epochs} epochs in {history.seconds:.1f} s "
        f"({history.samples_per_second:.0f} samples/s); best epoch {history.best_epoch} "
        f"({history.message})"
    )
    print(
        f"held-out bits/dim on {X_test.shape[0]} test digits: flow {flow_bpd:.4f}, "
        f"best linear Gaussian {linear_bpd:.4f}"
    )
    print(f"saved {Path(out)}")
    return EXIT_OK


#: API argument names of the library calls -> the flags that set them.
_FLAGS = {
    "n_layers": "--layers",
    "hidden": "--hidden",
    "activation": "--activation",
    "mixing": "--mixing",
    "logit": "--logit",
    "alpha": "--logit",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "weight_decay": "--weight-decay",
    "patience": "--patience",
    "val_fraction": "--val-fraction",
    "val_trim": "--val-trim",
    "n_train": "--n-train",
    "exclude": "--exclude",
    "rng": "--seed",
    "checkpoint": "--output",
}
