"""``lininv train-flow --dataset mnist28``: retrain the 28x28 Glow from its recorded recipe.

With no other flag the run is the recipe of the shipped ``lininv/data/mnist28_flow.npz``
(:data:`lininv.flows.MNIST28_RECIPE`) and reproduces it bit for bit on the same machine and
library stack (:func:`lininv.flows.train_pretrained`). The flags that apply to the Glow change
the recipe's entries; the digits-only flags (``--layers``, ``--mixing``, ``--n-train``,
``--val-fraction``, ``--exclude``) are refused.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

from lininv.cli._common import EXIT_OK, UsageError, usage_error

__all__ = ["FLAGS28", "DIGITS_ONLY", "overrides_from_args", "command28", "run28"]

#: The train-flow flags that set an entry of the 28x28 recipe: flag -> ((section, key), ...).
#: ``--seed`` sets both the weights' and the training's seed, as it does for the 8x8 flow.
FLAGS28 = {
    "--seed": (("architecture", "seed"), ("training", "seed")),
    "--hidden": (("architecture", "hidden"),),
    "--activation": (("architecture", "activation"),),
    "--logit": (("architecture", "logit"),),
    "--epochs": (("training", "epochs"),),
    "--batch-size": (("training", "batch_size"),),
    "--lr": (("training", "lr"),),
    "--weight-decay": (("training", "weight_decay"),),
    "--patience": (("training", "patience"),),
    "--val-trim": (("training", "val_trim"),),
    "--split-seed": (("data", "split_seed"),),
}

#: Flags of the 8x8 RealNVP that have no meaning for the 28x28 Glow.
DIGITS_ONLY = ("--layers", "--mixing", "--n-train", "--val-fraction", "--exclude")


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def overrides_from_args(args: argparse.Namespace, parsers: dict[str, Any]) -> dict[str, dict]:
    """The changes to :data:`lininv.flows.MNIST28_RECIPE` the flags ask for, by section.

    ``parsers`` are the train-flow flag parsers ``(flag, text) -> value``; a digits-only flag is a
    :class:`UsageError`.
    """
    for flag in DIGITS_ONLY:
        if getattr(args, _dest(flag)) is not None:
            raise UsageError(
                f"{flag} applies to --dataset digits only; the 28x28 Glow's settings are "
                f"{', '.join(FLAGS28)}; got {flag} {getattr(args, _dest(flag))}"
            )
    changes: dict[str, dict] = {}
    for flag, targets in FLAGS28.items():
        text = getattr(args, _dest(flag))
        if text is None:
            continue
        value = parsers[flag](flag, text)
        for section, key in targets:
            changes.setdefault(section, {})[key] = value
    return changes


def command28(output: Any, recipe: dict[str, dict]) -> str:
    """``lininv train-flow --dataset mnist28`` with every recipe flag spelled out."""
    words = ["lininv", "train-flow", "--dataset", "mnist28", "--output", shlex.quote(str(output))]
    for flag, ((section, key), *_) in FLAGS28.items():
        value = recipe[section][key]
        words += [flag, shlex.quote("none" if value is None else str(value))]
    return " ".join(words)


#: API argument names -> flags, for library messages that reach the user.
_API_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "rng": "--seed"}


def run28(args: argparse.Namespace, parsers: dict[str, Any]) -> int:
    """Train the 28x28 Glow from the recipe and the flags, save it, print held-out bits/dim."""
    from lininv._io import Lock, OutputInUseError, output_file
    from lininv.flows import mnist28_recipe, train_pretrained

    overrides = overrides_from_args(args, parsers)
    recipe = mnist28_recipe(**overrides)
    try:
        out = output_file(args.output, "--output")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    command = command28(args.output, recipe)
    try:  # the lock file is hidden beside the output (.NAME.lock) and deleted on release
        lock = Lock(out, "--output").acquire()
    except OutputInUseError:
        raise UsageError(
            f"--output {os.fspath(out)!r} is in use by another lininv run; wait for it to finish "
            "or use another output"
        ) from None
    try:
        try:
            flow = train_pretrained(
                "mnist28",
                output=out,
                recipe=overrides,
                progress=args.progress,
                command=command,
            )
        except ValueError as exc:  # e.g. a batch larger than the training set
            raise usage_error(exc, _API_FLAGS) from exc
        except FloatingPointError as exc:
            raise RuntimeError(f"{str(exc).split(';')[0]}; try a smaller --lr") from None
    finally:
        lock.release()
    t, r = flow.metadata["training"], flow.metadata["results"]
    print(
        f"trained {t['epochs_run']} epochs in {t['seconds']:.1f} s "
        f"({t['samples_per_second']:.0f} samples/s); best epoch {t['best_epoch']} ({t['stopped']})"
    )
    print(
        f"held-out bits/dim on {r['n_test']} test digits: flow {r['test_bits_per_dim']:.4f}, "
        f"best linear Gaussian {r['linear_gaussian_test_bits_per_dim']:.4f}"
    )
    print(f"saved {Path(out)}")
    return EXIT_OK
