"""``lininv train-flow``: train the digits RealNVP, save it, report held-out bits/dim.

Wraps the public API only: :func:`lininv.datasets.reference_split` / ``split_digits``,
:func:`lininv.flows.realnvp`, :func:`lininv.flows.fit`, :meth:`Flow.save`, and
:meth:`lininv.LinearInvertiblePrior.fit` for the linear baseline.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
from typing import Any

import numpy as np

__all__ = ["add_parser", "run"]

#: Seed of the fixed dequantisation noise of the held-out images (the same for every run, so
#: held-out numbers of different flows are comparable).
TEST_NOISE_SEED = 12345


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train-flow",
        help="train the RealNVP on the 8x8 digits and save it",
        description=(
            "Train lininv.flows.realnvp by maximum likelihood on dequantised 8x8 digits (the "
            "reference 1400/397 split by default), save it, and print held-out bits/dim beside "
            "the best linear Gaussian fitted to the same training images. The default settings "
            "produced lininv/data/default_flow.npz."
        ),
    )
    p.add_argument("--output", "-o", default="flow.npz", help="output .npz (default: flow.npz)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and training (default 0)")
    p.add_argument("--layers", type=int, default=8, help="coupling steps (default 8)")
    p.add_argument("--hidden", type=int, default=128, help="conditioner width (default 128)")
    p.add_argument("--activation", default="elu", help="relu, tanh or elu (default elu)")
    p.add_argument("--mixing", default="permutation", help="permutation or rotation")
    p.add_argument(
        "--logit",
        type=float,
        default=None,
        metavar="ALPHA",
        help="add a Logit layer with this margin (default: none)",
    )
    p.add_argument("--epochs", type=int, default=200, help="maximum epochs (default 200)")
    p.add_argument("--batch-size", type=int, default=64, help="minibatch (default 64)")
    p.add_argument("--lr", type=float, default=3e-4, help="Adam step size (default 3e-4)")
    p.add_argument(
        "--weight-decay",
        type=float,
        default=1.0,
        help="decoupled weight decay per unit step (default 1.0)",
    )
    p.add_argument("--patience", type=int, default=20, help="early-stopping patience (default 20)")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="validation hold-out of the training images (default 0.1)",
    )
    p.add_argument(
        "--val-trim",
        type=float,
        default=0.02,
        help="fraction of worst validation images ignored by early stopping "
        "(default 0.02; see lininv.flows.fit)",
    )
    p.add_argument("--n-train", type=int, default=1400, help="training images (default 1400)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the split (default 0)")
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


def _exclude(text: str) -> tuple[int, ...]:
    from lininv.cli._common import UsageError

    if not text.strip():
        return ()
    try:
        classes = tuple(int(c) for c in text.split(","))
    except ValueError as exc:
        raise UsageError(f"--exclude must be comma-separated digits 0..9; got {text!r}") from exc
    if any(c < 0 or c > 9 for c in classes):
        raise UsageError(f"--exclude must be comma-separated digits 0..9; got {text!r}")
    return classes


def run(args: argparse.Namespace) -> int:
    import lininv
    from lininv import LinearInvertiblePrior, datasets, flows
    from lininv._threads import blas_description, one_blas_thread
    from lininv.cli._common import UsageError

    out = args.output
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UsageError(f"--output folder does not exist: {folder}")
    exclude = _exclude(args.exclude)
    try:
        split = datasets.split_digits(n_train=args.n_train, exclude=exclude, rng=args.split_seed)
        flow = flows.realnvp(
            64,
            args.layers,
            args.hidden,
            activation=args.activation,
            mixing=args.mixing,
            logit=args.logit,
            rng=args.seed,
        )
        X_test = datasets.dequantize(split.X_test, rng=TEST_NOISE_SEED)
        flow.metadata.update(
            {
                "command": _canonical(args),
                "lininv_version": lininv.__version__,
                "numpy_version": np.__version__,
                "machine": platform.machine(),
                "blas": blas_description(),
                "architecture": {
                    "n": 64,
                    "n_layers": args.layers,
                    "hidden": args.hidden,
                    "activation": args.activation,
                    "mixing": args.mixing,
                    "logit": args.logit,
                    "seed": args.seed,
                },
                "data": {
                    "dataset": "sklearn.datasets.load_digits",
                    "n_train": args.n_train,
                    "split_seed": args.split_seed,
                    "exclude": list(exclude),
                    "test_index": split.test_index.tolist(),
                    "dequantization": "(X + U[0,1)) / 17",
                    "test_noise_seed": TEST_NOISE_SEED,
                },
                "training": {
                    "method": "adam",
                    "lr": args.lr,
                    "batch_size": args.batch_size,
                    "epochs": args.epochs,
                    "patience": args.patience,
                    "val_fraction": args.val_fraction,
                    "val_trim": args.val_trim,
                    "weight_decay": args.weight_decay,
                    "seed": args.seed,
                },
            }
        )
        history = flows.fit(
            flow,
            split.X_train,
            val_fraction=args.val_fraction,
            val_trim=args.val_trim,
            dequantize=True,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            weight_decay=args.weight_decay,
            patience=args.patience,
            progress=args.progress,
            checkpoint=out,
            rng=args.seed,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from exc

    flow_bpd = datasets.bits_per_dim(-float(np.mean(flow.log_prob(X_test))))
    # The best linear Gaussian: maximum likelihood on the same training images, one fixed
    # dequantisation draw (its fit needs no early stopping, so it uses all of them).
    with one_blas_thread():  # see lininv._threads: ~20x faster on 2 cores for this SVD
        linear = LinearInvertiblePrior.fit(datasets.dequantize(split.X_train, rng=args.seed))
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
    print(
        f"trained {history.epochs} epochs in {history.seconds:.1f} s "
        f"({history.samples_per_second:.0f} samples/s); best epoch {history.best_epoch} "
        f"({history.message})"
    )
    print(
        f"held-out bits/dim on {X_test.shape[0]} test digits: flow {flow_bpd:.4f}, "
        f"best linear Gaussian {linear_bpd:.4f}"
    )
    print(f"saved {out}")
    return 0


def _canonical(args: argparse.Namespace) -> str:
    """The command with every training option spelled out (independent of future defaults)."""
    opts = [
        ("--output", args.output),
        ("--seed", args.seed),
        ("--layers", args.layers),
        ("--hidden", args.hidden),
        ("--activation", args.activation),
        ("--mixing", args.mixing),
        ("--epochs", args.epochs),
        ("--batch-size", args.batch_size),
        ("--lr", args.lr),
        ("--weight-decay", args.weight_decay),
        ("--patience", args.patience),
        ("--val-fraction", args.val_fraction),
        ("--val-trim", args.val_trim),
        ("--n-train", args.n_train),
        ("--split-seed", args.split_seed),
    ]
    if args.logit is not None:
        opts.append(("--logit", args.logit))
    if args.exclude.strip():
        opts.append(("--exclude", args.exclude))
    return "lininv train-flow " + " ".join(f"{k} {shlex.quote(str(v))}" for k, v in opts)
