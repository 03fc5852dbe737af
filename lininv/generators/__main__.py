r"""``python -m lininv.generators``: train the shipped generators, and report their representation error.

Commands (run from the repository root)::

    python -m lininv.generators train --k 16 --output lininv/data/generator_k16.npz
    python -m lininv.generators report [--k 8 16 32] [--exclude 0] [--json FILE]

``train`` trains ``Recipe(k=k)`` and evaluates it (:func:`lininv.generators.build_pretrained`);
``report`` prints the held-out representation errors recorded in the shipped generators and, for
the dataset-bias comparison, trains a generator without class ``--exclude`` per ``k``
(:func:`lininv.generators.dataset_bias`, about a minute each), beside the linear rank-k
generator, with 95% Student-t intervals.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lininv.generators", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train and evaluate Recipe(k=k), save it")
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=False)
    r = sub.add_parser("report", help="representation error in and out of distribution")
    r.add_argument("--k", type=int, nargs="+", default=[8, 16, 32])
    r.add_argument("--exclude", type=int, default=0, help="class left out (default 0)")
    r.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    from lininv import generators
    from lininv._io import atomic_write

    if args.command == "train":
        gen = generators.build_pretrained(args.k, args.output, progress=args.progress)
        res, tr = gen.metadata["results"], gen.metadata["training"]
        print(
            f"trained k={args.k}: {tr['epochs_run']} epochs, best {tr['best_epoch']}, "
            f"{tr['seconds']} s ({tr['stopped']})"
        )
        print(
            f"held-out representation error {_fmt(res['representation_error'])}, "
            f"linear rank-{args.k} {_fmt(res['linear_representation_error'])}"
        )
        print(f"saved {args.output}")
        return 0

    head = (
        f"{'signals':<26} {'k':>3} {'count':>5}  {'generator min ||D(z)-x||^2':<26} "
        f"{'linear rank-k':<26} {'encoder ||D(E(x))-x||^2':<26} {'conv.':>6}"
    )
    print(head)
    report: dict[str, Any] = {}
    for k in args.k:
        res = generators.pretrained(k).metadata["results"]
        print(_rows("test digits (all classes)", k, res), flush=True)
        bias = generators.dataset_bias(k, exclude=args.exclude)
        print(_rows(f"trained w/o {args.exclude}: {args.exclude}s", k, bias["out_of_distribution"]))
        print(_rows(f"trained w/o {args.exclude}: others", k, bias["in_distribution"]), flush=True)
        report[str(k)] = {"held_out": res, "dataset_bias": bias}
    if args.json:
        atomic_write(args.json, json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
