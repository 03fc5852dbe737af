"""Benchmark of lininv.generators.csgm: which solver for CSGM and the representation error.

Run from the repository root::

    python benchmarks/generator_solvers.py [--k 8 16 32] [--count 100] [--restarts 3]

For the first ``count`` held-out digits (dequantised as ``lininv.bridge.digits_data`` does) and
each shipped generator, three problems are solved with each solver of ``csgm`` (``trf``, ``lm``,
``lbfgs``), from the same starts:

- the representation error, min_z ||D(z) - x0||^2 (A = I, gamma = 0);
- CSGM from m = 16 and m = 32 Gaussian measurements (one A per digit), noiseless, gamma = 0.01.

Printed per solver: the converged fraction of all solves (every restart), the mean final
objective of the selected solves, the fraction of problems where this solver's objective is the
lowest of the three (within 1e-9 relative), the mean iterations per solve and the CPU time
(``time.process_time``: less sensitive to the machine's load than wall time).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from lininv import generators
from lininv.datasets import reference_split

SOLVERS = ("trf", "lm", "lbfgs")


def stream(seed: int, key: int) -> np.random.Generator:
    """An independent generator per key (numpy's SeedSequence spawning)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--k", type=int, nargs="+", default=[8, 16, 32])
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--restarts", type=int, default=3)
    args = p.parse_args()
    _, X = generators.digits_arrays(reference_split())
    X = X[: args.count]
    B = X.shape[0]
    print(f"load average {os.getloadavg()[0]:.1f}; {B} digits, {args.restarts} restarts")
    print(
        f"{'k':>3} {'problem':<14} {'solver':<6} {'conv.':>6} {'objective':>11} {'lowest':>7} "
        f"{'iter.':>6} {'CPU s':>8}"
    )
    for k in args.k:
        gen = generators.pretrained(k)
        problems = {"repr. error": (np.eye(64), X, 0.0)}
        for m in (16, 32):
            A = stream(7, m).standard_normal((B, m, 64)) / np.sqrt(m)
            problems[f"CSGM m={m}"] = (A, np.einsum("bmn,bn->bm", A, X), 0.01)
        for name, (A, Y, gamma) in problems.items():
            Z0 = np.stack([stream(9, j).standard_normal((args.restarts, k)) for j in range(B)])
            out = {}
            for solver in SOLVERS:
                t = time.process_time()
                res = generators.csgm(
                    gen,
                    A,
                    Y,
                    gamma,
                    z_init=Z0,
                    solver=solver,
                    max_iter=1000,
                )
                out[solver] = (res, time.process_time() - t)
            best = np.min([r.objective for r, _ in out.values()], axis=0)
            for solver, (res, sec) in out.items():
                lowest = np.mean(res.objective <= best * (1 + 1e-9) + 1e-300)
                print(
                    f"{k:>3} {name:<14} {solver:<6} {res.restart_converged_fraction:>6.1%} "
                    f"{np.mean(res.objective):>11.6g} {lowest:>7.0%} "
                    f"{np.mean(res.restart_iterations):>6.1f} {sec:>8.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
