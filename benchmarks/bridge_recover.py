"""Benchmark of lininv.bridge.recover: how to batch many latent-space solves.

Run from the repository root::

    python benchmarks/bridge_recover.py [--k 40] [--m 32]

For ``k`` test digits, each with its own Gaussian A (m rows), noiseless, gamma = 0, start z = 0,
the default flow's recovery is timed in one run with the three batching modes of ``recover``:

- ``loop``: one scipy L-BFGS-B run per problem, one after another (flow evaluated on 1 row);
- ``lockstep``: the same per-problem L-BFGS-B runs in threads, their objective evaluations
  gathered into one flow call per round (same paths as ``loop``, up to rounding);
- ``joint``: one L-BFGS-B run on the block objective sum_j f_j(z_j) (a different algorithm:
  shared curvature memory; its paths and, with many minimisers, its answers differ).

Printed per mode: wall and CPU time, mean iterations, converged fraction, mean error, and the
ratio to ``loop``; for ``lockstep`` and ``joint`` also the largest difference of the recovered
signals from ``loop``'s. The floor: the time of the flow evaluations alone that the per-problem
L-BFGS-B runs need (their total number of evaluations, evaluated in batches of ``k`` rows): no
batching scheme that keeps each problem's own L-BFGS path can beat it. The machine's load
average is printed; timings under load are not representative.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from lininv import bridge, experiments, flows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=40, help="number of problems (default 40)")
    parser.add_argument("--m", type=int, default=32, help="measurements per problem (default 32)")
    args = parser.parse_args()
    flow, split = flows.default_flow()
    data = experiments.digits_data(split)
    X = data.X_test[: args.k]
    rng = np.random.default_rng(0)
    A = rng.standard_normal((args.k, args.m, 64)) / np.sqrt(args.m)
    Y = np.einsum("kmn,kn->km", A, X)
    print(f"load average {os.getloadavg()[0]:.2f}; k = {args.k} problems, m = {args.m}, n = 64")

    results = {}
    for mode in ("loop", "lockstep", "joint"):
        c0, t0 = time.process_time(), time.perf_counter()
        res = bridge.recover(flow, A, Y, batch=mode, max_iter=1000)
        results[mode] = (time.perf_counter() - t0, time.process_time() - c0, res)
    base_wall = results["loop"][0]
    for mode, (wall, cpu, res) in results.items():
        err = np.mean(np.sum((res.x - X) ** 2, axis=1))
        line = (
            f"{mode:9s} wall {wall:7.2f} s  cpu {cpu:7.2f} s  iterations {np.mean(res.iterations):7.1f}"
            f"  converged {np.mean(res.success):.2f}  error {err:.5f}  loop/this {base_wall / wall:5.2f}"
        )
        if mode != "loop":
            line += f"  max|x - x_loop| {np.abs(res.x - results['loop'][2].x).max():.2e}"
        print(line)

    # floor: the loop's evaluations, done in batches of k rows
    total = int(np.sum(results["loop"][2].evaluations))
    rounds = int(np.ceil(total / args.k))
    Z = rng.standard_normal((args.k, 64)) * 0.5
    with threadpool_limits(limits=1, user_api="blas"):
        t0 = time.perf_counter()
        for _ in range(min(rounds, 200)):
            x, pullback = flow.forward_and_pullback(Z)
            pullback(x)
        per_round = (time.perf_counter() - t0) / min(rounds, 200)
    floor = per_round * rounds
    print(
        f"floor     {floor:7.2f} s  ({total} evaluations in {rounds} batches of {args.k}; "
        f"lockstep reaches {floor / results['lockstep'][0]:.0%} of it, loop {floor / base_wall:.0%})"
    )


if __name__ == "__main__":
    main()
