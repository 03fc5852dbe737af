"""``lininv train-flow``: train the digits RealNVP, save it, report held-out bits/dim.

Every flag is checked first, in its own name, and so is the output file (a writable file path,
locked for the run), before the data are loaded. The flags make a
:class:`lininv.flows.TrainingRecipe`; the recipe builds the flow (:func:`lininv.flows.realnvp`),
trains it (:func:`lininv.flows.fit`) and is recorded in the saved flow's metadata with the
command line generated from it and the run's provenance. The best linear Gaussian fitted to the
same training images (:meth:`lininv.LinearInvertiblePrior.fit`) is the held-out baseline.
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

#: Conditioner nonlinearities and mixing layers (as :func:`lininv.flows.realnvp` accepts them).
ACTIVATIONS = ("relu", "tanh", "elu")
MIXINGS = ("permutation", "rotation")

#: Images in scikit-learn's digits.
N_DIGITS = 1797


def add_parser(subparsers: Any) -> None:
    from lininv.flows._pretrained import DEFAULT_RECIPE as D

    p = subparsers.add_parser(
        "train-flow",
        help="train the RealNVP on the 8x8 digits and save it",
        description=(
            "Train lininv.flows.realnvp by maximum likelihood on dequantised 8x8 digits (the "
            "reference 1400/397 split by default), save it, and print held-out bits/dim beside "
            "the best linear Gaussian fitted to the same training images. The default settings "
            "produced lininv/data/default_flow.npz."
        ),
        epilog=EXIT_CODES_HELP,
    )
    p.add_argument("--output", "-o", default="flow.npz", help="output .npz (default: flow.npz)")
    p.add_argument(
        "--seed", default=str(D.seed), help=f"seed of weights and training (default {D.seed})"
    )
    p.add_argument(
        "--layers", default=str(D.n_layers), help=f"coupling steps (default {D.n_layers})"
    )
    p.add_argument(
        "--hidden", default=str(D.hidden), help=f"conditioner width (default {D.hidden})"
    )
    p.add_argument(
        "--activation", default=D.activation, help=f"relu, tanh or elu (default {D.activation})"
    )
    p.add_argument(
        "--mixing", default=D.mixing, help=f"permutation or rotation (default {D.mixing})"
    )
    p.add_argument(
        "--logit",
        default=None,
        metavar="ALPHA",
        help="add a Logit layer with this margin, 0 < ALPHA < 0.5 (default: none)",
    )
    p.add_argument("--epochs", default=str(D.epochs), help=f"maximum epochs (default {D.epochs})")
    p.add_argument(
        "--batch-size", default=str(D.batch_size), help=f"minibatch (default {D.batch_size})"
    )
    p.add_argument("--lr", default=str(D.lr), help=f"Adam step size (default {D.lr:g})")
    p.add_argument(
        "--weight-decay",
        default=str(D.weight_decay),
        help=f"decoupled weight decay per unit step (default {D.weight_decay:g})",
    )
    p.add_argument(
        "--patience",
        default=str(D.patience),
        help=f"early-stopping patience (default {D.patience})",
    )
    p.add_argument(
        "--val-fraction",
        default=str(D.val_fraction),
        help=f"validation hold-out of the training images, 0..0.9 (default {D.val_fraction:g})",
    )
    p.add_argument(
        "--val-trim",
        default=str(D.val_trim),
        help="fraction of worst validation images ignored by early stopping, 0..0.5 "
        f"(default {D.val_trim:g}; see lininv.flows.fit)",
    )
    p.add_argument(
        "--n-train",
        default=str(D.n_train),
        help=f"training images, 1..{N_DIGITS - 1} (default {D.n_train})",
    )
    p.add_argument(
        "--split-seed",
        default=str(D.split_seed),
        help=f"seed of the split (default {D.split_seed})",
    )
    p.add_argument(
        "--exclude",
        default="",
        help="comma-separated digit classes left out of training, e.g. 3 or 3,8",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: only on a terminal)",
    )
    p.set_defaults(func=run)


def _digit(flag: str, text: str) -> int:
    if not text.isdigit() or int(text) > 9:
        raise UsageError(f"{flag} must be comma-separated digits 0..9; got {text!r}")
    return int(text)


def _choice(flag: str, text: str, choices: tuple[str, ...]) -> str:
    if text not in choices:
        raise UsageError(f"{flag} must be one of {', '.join(choices)}; got {text!r}")
    return text


def recipe_from_args(args: argparse.Namespace) -> Any:
    """The :class:`lininv.flows.TrainingRecipe` of the flags (``UsageError`` naming a bad one)."""
    from lininv.flows._pretrained import TrainingRecipe

    exclude = () if not args.exclude.strip() else parse_list("--exclude", args.exclude, _digit)
    logit = None
    if args.logit is not None:
        logit = parse_float("--logit", args.logit, 0.0, 0.5, low_open=True, high_open=True)
    return TrainingRecipe(
        seed=parse_seed(args.seed),
        n_layers=parse_int("--layers", args.layers, low=1),
        hidden=parse_int("--hidden", args.hidden, low=1),
        activation=_choice("--activation", args.activation, ACTIVATIONS),
        mixing=_choice("--mixing", args.mixing, MIXINGS),
        logit=logit,
        epochs=parse_int("--epochs", args.epochs, low=1),
        batch_size=parse_int("--batch-size", args.batch_size, low=1),
        lr=parse_float("--lr", args.lr, 0.0, low_open=True),
        weight_decay=parse_float("--weight-decay", args.weight_decay, 0.0),
        patience=parse_int("--patience", args.patience, low=1),
        val_fraction=parse_float("--val-fraction", args.val_fraction, 0.0, 0.9),
        val_trim=parse_float("--val-trim", args.val_trim, 0.0, 0.5),
        n_train=parse_int("--n-train", args.n_train, low=1, high=N_DIGITS - 1),
        split_seed=parse_seed(args.split_seed, "--split-seed"),
        exclude=tuple(sorted(exclude)),
    )


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

    recipe = recipe_from_args(args)
    try:
        out = output_file(args.output, "--output")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    command = recipe.command(args.output)
    try:  # the lock file is hidden beside the output: .NAME.lock
        lock = Lock(out.with_name(f".{out.name}"), "--output").acquire()
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
