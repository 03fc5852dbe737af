"""Training throughput of the 28x28 flow: lininv against its PyTorch peer, in one run.

Run from the repository root (needs torch, ``pip install lininv[bench]``)::

    python benchmarks/flow28.py                 # 5 repeats of 1024 samples
    python benchmarks/flow28.py --float32       # also the peer in float32 (orientation only)

Times epochs of Adam steps (NLL, gradient, update; float64, batch 64, the shipped architecture
of :data:`lininv.flows.MNIST28_RECIPE`, parameters moved slightly off the start so that no
coupling is the identity) for lininv (one BLAS thread, as :func:`lininv.flows.fit` runs) and the
peer of ``benchmarks/flow28_torch.py`` (torch's default threads, and one thread). The runs
alternate (lininv epoch, peer epochs, lininv epoch, ...) so that load from other processes
affects all alike; printed: the environment and load average, samples/s per repeat, their
medians and the median of the per-repeat throughput ratios lininv / peer.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from flow28_torch import DTYPE, TGlow, _shipped_recipe, _started_flow, recipe_split
from threadpoolctl import threadpool_limits

from lininv import datasets, environment, provenance


def _plain(value):
    """JSON for numpy scalars and arrays (their Python equivalents)."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=1024, help="samples per timed epoch")
    parser.add_argument("--float32", action="store_true", help="also time the peer in float32")
    parser.add_argument("--results", default=None, help="write the timings and ratios as JSON")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    from lininv.flows._training import _Adam  # white-box: fit()'s private optimiser step

    recipe = _shipped_recipe(args)
    split = recipe_split(recipe)
    flow = _started_flow(recipe, split)
    rng = np.random.default_rng(0)
    flow.set_params(flow.get_params() + 1e-3 * rng.standard_normal(flow.n_params))
    theta0 = flow.get_params()
    bs = recipe["training"]["batch_size"]
    X = datasets.dequantize(split.X_train[: args.samples], levels=256, rng=1)
    nb = X.shape[0] // bs

    def ours() -> float:
        flow.set_params(theta0)
        opt = _Adam(flow.n_params, 1e-4, 0.0)
        theta = flow.get_params()
        t = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):  # one BLAS thread, as fit() trains
            for b in range(nb):
                _, grad = flow._nll_and_grad(X[b * bs : (b + 1) * bs])
                opt.step(theta, grad, 1e-4)
                flow._set_params(theta)
        return time.perf_counter() - t

    def peer(threads: int, dtype=DTYPE) -> float:
        torch.set_num_threads(threads)
        flow.set_params(theta0)
        model = TGlow(flow).to(dtype)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
        Xt = torch.tensor(X, dtype=dtype)
        t = time.perf_counter()
        for b in range(nb):
            opt.zero_grad()
            (-model.log_prob(Xt[b * bs : (b + 1) * bs]).mean()).backward()
            opt.step()
        return time.perf_counter() - t

    default = torch.get_num_threads()
    threads = sorted({default, 1}, reverse=True)
    env = environment()
    print(
        f"lininv {env['lininv']}, numpy {env['numpy']}, torch {env.get('torch')}, {env['cpu']} "
        f"({os.cpu_count()} cores, {env['simd']}), BLAS {env['blas']}; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(
        f"model: glow{tuple(recipe['architecture']['shape'])}, {flow.n_params} parameters, "
        f"float64, batch {bs}, {nb * bs} samples per timed epoch, {args.repeats} repeats"
    )
    times: dict[str, list[float]] = {"lininv": [], **{f"torch-{t}": [] for t in threads}}
    if args.float32:
        times["torch-float32-1"] = []
    ours()  # warm up both (first-call allocations, torch's thread pool)
    for t in threads:
        peer(t)
    for r in range(args.repeats):
        times["lininv"].append(ours())
        for t in threads:
            times[f"torch-{t}"].append(peer(t))
        if args.float32:
            times["torch-float32-1"].append(peer(1, torch.float32))
        print(
            f"repeat {r + 1}: "
            + ", ".join(f"{k} {nb * bs / v[-1]:.0f} samples/s" for k, v in times.items())
        )
    torch.set_num_threads(default)
    if args.results:
        samples = nb * bs
        record = {
            "what": "training samples/s of the 28x28 Glow: lininv (1 BLAS thread) vs the peer",
            "samples_per_epoch": samples,
            "batch_size": bs,
            "dtype": "float64",
            "n_params": flow.n_params,
            "load_average": os.getloadavg()[0],
            "samples_per_second": {k: [samples / t for t in v] for k, v in times.items()},
            "ratio_lininv_over_peer": {
                k: float(np.median(np.array(v) / np.array(times["lininv"])))
                for k, v in times.items()
                if k != "lininv"
            },
            "provenance": provenance(
                seed=0, command=shlex.join(["python", "benchmarks/flow28.py", *sys.argv[1:]])
            ),
        }
        Path(args.results).write_text(json.dumps(record, indent=1, default=_plain) + "\n")
    ours_t = np.array(times["lininv"])
    print(f"lininv (1 BLAS thread)   : {nb * bs / np.median(ours_t):7.1f} samples/s (median)")
    for t in threads:
        peer_t = np.array(times[f"torch-{t}"])
        ratio = peer_t / ours_t  # per-repeat throughput ratio, lininv / peer
        print(
            f"{f'torch ({t} thread' + ('s)' if t > 1 else ')'):25s}: {nb * bs / np.median(peer_t):7.1f} "
            f"samples/s; lininv / torch = {np.median(ratio):.2f} (median of per-repeat ratios, "
            f"range {ratio.min():.2f}-{ratio.max():.2f})"
        )
    if args.float32:  # not the same dtype: for orientation only (oneDNN kernels in float32)
        peer_t = np.array(times["torch-float32-1"])
        ratio = peer_t / ours_t
        print(
            f"{'torch float32 (1 thread)':25s}: {nb * bs / np.median(peer_t):7.1f} samples/s; "
            f"lininv float64 / torch float32 = {np.median(ratio):.2f} (another dtype: orientation)"
        )


if __name__ == "__main__":
    main()
