r"""``lininv generators``: train the shipped generators, and report their representation error.

Commands (run from the repository root; ``python -m lininv.generators`` is the same)::

    lininv generators train --k 16 --output lininv/data/generator_k16.npz
    lininv generators train --k 32 --dataset mnist28 --output lininv/data/generator28_k32.npz
    lininv generators report [--k 8 16 32] [--exclude 0] [--json FILE]

``train`` trains the shipped recipe of ``--dataset`` (``Recipe(k=k)`` for the 8x8 digits,
:func:`lininv.generators.default_recipe` for the 28x28 ones) and evaluates it
(:func:`lininv.generators.build_pretrained`);
``report`` prints the held-out representation errors recorded in the shipped generators and, for
the dataset-bias comparison, trains a generator without class ``--exclude`` per ``k``
(:func:`lininv.generators.dataset_bias`, about a minute each), beside the linear rank-k
generator, with 95% Student-t intervals.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from lininv.cli._common import EXIT_CODES_HELP, EXIT_OK, UsageError

__all__ = ["add_parser"]


def _fmt(d: dict[str, Any]) -> str:
    lo, hi = d["ci95"]
    return f"{d['mean']:.4f} [{lo:.4f}, {hi:.4f}]"


def _rows(label: str, k: int, part: dict[str, Any]) -> str:
    rep = part["representation_error"]
    return (
        f"{label:<26} {k:>3} {part['n_test']:>5}  {_fmt(rep):<26} "
        f"{_fmt(part['linear_representation_error']):<26} {_fmt(part['reconstruction_error']):<26} "
        f"{rep['converged_fraction']:>6.0%}"
    )


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generators",
        help="train the nonlinear generators (VAE decoders) and report their representation error",
        description=(
            "Train the shipped nonlinear generators (VAE decoders, lininv.generators) and report "
            "their representation error in and out of distribution."
        ),
        epilog=EXIT_CODES_HELP,
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("train", help="train and evaluate a shipped generator's recipe, save it")
    p.add_argument(
        "--k", required=True, help="latent dimension: 8, 16 or 32 (digits), 32 (mnist28)"
    )
    p.add_argument(
        "--dataset",
        default="digits",
        help="digits (8x8, default) or mnist28 (28x28, needs the images extra)",
    )
    p.add_argument("--output", "-o", required=True, metavar="FILE")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=False)
    r = sub.add_parser("report", help="representation error in and out of distribution")
    r.add_argument("--k", nargs="+", default=["8", "16", "32"])
    r.add_argument("--exclude", default="0", help="class left out (default 0)")
    r.add_argument("--json", default=None, metavar="FILE", help="also write the numbers here")
    parser.set_defaults(func=run)


def _k(text: str, dataset: str = "digits") -> int:
    from lininv.cli._common import parse_int
    from lininv.generators import PRETRAINED

    k = parse_int("--k", text)
    if k not in PRETRAINED[dataset]:
        raise UsageError(
            f"--k must be one of {', '.join(map(str, PRETRAINED[dataset]))} for --dataset "
            f"{dataset}; got {k}"
        )
    return k


def _dataset(text: str) -> str:
    from lininv.generators import DATASETS

    if text not in DATASETS:
        raise UsageError(f"--dataset must be one of {', '.join(DATASETS)}; got {text!r}")
    return text


def run(args: argparse.Namespace) -> int:
    from lininv import generators
    from lininv._io import atomic_write, output_file
    from lininv.cli._common import parse_int

    if args.action == "train":
        dataset = _dataset(args.dataset)
        k = _k(args.k, dataset)
        try:
            out = output_file(args.output, "--output")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        gen = generators.build_pretrained(k, out, dataset=dataset, progress=args.progress)
        res, tr = gen.metadata["results"], gen.metadata["training"]
        print(
            f"trained k={k} ({dataset}): {tr['epochs_run']} epochs, best {tr['best_epoch']}, "
            f"{tr['seconds']} s ({tr['stopped']})"
        )
        print(
            f"held-out representation error ({res['n_test']} test images) "
            f"{_fmt(res['representation_error'])}, "
            f"linear rank-{k} {_fmt(res['linear_representation_error'])}"
        )
        print(f"saved {out}")
        return EXIT_OK
    ks = [_k(v) for v in args.k]
    exclude = parse_int("--exclude", args.exclude, low=0, high=9)
    json_path = None
    if args.json is not None:
        try:
            json_path = output_file(args.json, "--json")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    head = (
        f"{'signals':<26} {'k':>3} {'count':>5}  {'generator min ||D(z)-x||^2':<26} "
        f"{'linear rank-k':<26} {'encoder ||D(E(x))-x||^2':<26} {'conv.':>6}"
    )
    print(head)
    report: dict[str, Any] = {}
    for k in ks:
        res = generators.pretrained(k).metadata["results"]
        print(_rows("test digits (all classes)", k, res), flush=True)
        bias = generators.dataset_bias(k, exclude=exclude)
        print(_rows(f"trained w/o {exclude}: {exclude}s", k, bias["out_of_distribution"]))
        print(_rows(f"trained w/o {exclude}: others", k, bias["in_distribution"]), flush=True)
        report[str(k)] = {"held_out": res, "dataset_bias": bias}
    if json_path is not None:
        from lininv._provenance import provenance

        payload = {"results": report, "provenance": provenance()}
        atomic_write(json_path, json.dumps(payload, indent=1))
    return EXIT_OK
