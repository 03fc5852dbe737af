"""Speed of the Monte-Carlo engine (``lininv.expected_error``) against the floor and a dense baseline.

Usage::

    python benchmarks/montecarlo.py            # the three sizes of issue 3
    python benchmarks/montecarlo.py --quick    # fewer repetitions
    python benchmarks/montecarlo.py --reference  # also docs/theory.md section 7's 40,000-draw numbers
    python benchmarks/montecarlo.py --crossover  # also the numba/BLAS kernel switch point

Everything is measured in this one run, on this machine, with BLAS limited to one thread (a
per-core comparison: numpy's generator is single-threaded; parallelism comes from executors).
Each time is the minimum over repetitions, interleaved, to resist load from other processes.

(a) time per draw of ``expected_error`` (normals, kernel, reductions: the whole call) against
    the *floor*: drawing the ``n m`` normals with numpy's default Generator plus one ``n x m``
    Gram product, both batched over many draws (the faster of a batched ``matmul`` and a loop of
    2-D ``A.T @ A``, which numpy sends to BLAS ``syrk``).
(b) speed-up against a straightforward dense implementation built from lininv's public API:
    build ``G`` once (random singular vectors), then per draw ``A = gaussian_measurements``,
    ``x0 = prior.sample``, ``x_hat = mle(prior, A, A @ x0)``, error ``||x_hat - x0||^2``. It
    estimates the same ``E(m)``, but each draw also samples ``x0`` so its variance per draw is
    larger: we report the speed-up per draw and at equal standard error (time x variance).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from threadpoolctl import threadpool_limits

import lininv


def _engine() -> tuple[int, object]:
    """The engine's kernel switch point and its random-stream generator, for the two white-box
    measurements (the SFC64 share of a draw, the numba/BLAS crossover): neither has a public
    counterpart, and what they time is the engine's private machinery itself."""
    from lininv._montecarlo import _NUMBA_MAX_WORK, chunk_normals  # white-box: see _engine

    return _NUMBA_MAX_WORK, chunk_normals


SIZES = [(64, 16), (256, 64), (1024, 256)]
TARGET_FLOOR = {(64, 16): 2.0, (1024, 256): 1.5}
TARGET_DENSE = {(64, 16): 50.0, (1024, 256): 10.0}


def spectrum(n: int) -> np.ndarray:
    return np.arange(1, n + 1) ** -0.5  # s_i^2 = 1/i


def best_of(fn, reps: int) -> float:
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def floor_parts(n: int, m: int, k: int, reps: int) -> tuple[float, float]:
    """Per-draw seconds: numpy default-Generator normals, and the best batched Gram product."""
    gen = np.random.default_rng(0)
    buf = np.empty((k, n, m))
    gen.standard_normal(out=buf)
    t_norm = best_of(lambda: gen.standard_normal(out=buf), reps) / k
    out = np.empty((k, m, m))
    t_batched = best_of(lambda: np.matmul(buf.transpose(0, 2, 1), buf, out=out), reps) / k

    def loop() -> None:
        for j in range(k):
            a = buf[j]
            a.T @ a

    t_loop = best_of(loop, reps) / k
    return t_norm, min(t_batched, t_loop)


def dense_draws(s: np.ndarray, m: int, draws: int, seed: int) -> np.ndarray:
    gen = np.random.default_rng(seed)
    prior = lininv.LinearInvertiblePrior.from_singular_values(s, rng=gen)
    errs = np.empty(draws)
    for j in range(draws):
        A = lininv.gaussian_measurements(m, s.size, rng=gen)
        x0 = prior.sample(1, rng=gen)[0]
        x_hat = lininv.mle(prior, A, A @ x0)
        errs[j] = float(np.sum((x_hat - x0) ** 2))
    return errs


def measure(n: int, m: int, reps: int) -> dict[str, float]:
    s = spectrum(n)
    work = n * m
    k = int(max(4, min(4000, 2**23 // work)))  # batch for the floor (~64 MiB of normals)
    trials = int(max(64, min(40_000, 2**24 // work)))  # expected_error run, ~0.2-1 s
    dense_n = int(max(10, min(400, 2**22 // (n * n))))
    lininv.expected_error(s, m, trials=64, rng=1)  # warm up: numba cache, BLAS threads
    res: dict[str, float] = {"t_norm": math.inf, "t_gram": math.inf, "t_ours": math.inf}
    res.update(t_sfc=math.inf, t_dense=math.inf)
    est = None
    dense_all = []
    for rep in range(reps):  # interleaved repetitions; keep the minimum of each
        t_norm, t_gram = floor_parts(n, m, k, 1 if rep else 2)
        res["t_norm"] = min(res["t_norm"], t_norm)
        res["t_gram"] = min(res["t_gram"], t_gram)
        t0 = time.perf_counter()
        est = lininv.expected_error(s, m, trials=trials, rng=2)
        res["t_ours"] = min(res["t_ours"], (time.perf_counter() - t0) / trials)
        t0 = time.perf_counter()
        _engine()[1](3, 0, min(trials, k), n, m)
        res["t_sfc"] = min(res["t_sfc"], (time.perf_counter() - t0) / min(trials, k))
        t0 = time.perf_counter()
        dense_all.append(dense_draws(s, m, dense_n, seed=rep))
        res["t_dense"] = min(res["t_dense"], (time.perf_counter() - t0) / dense_n)
    assert est is not None
    dense = np.concatenate(dense_all)
    res["var_ours"] = est.stderr**2 * est.trials
    res["var_dense"] = float(np.var(dense, ddof=1))
    res["mean_ours"], res["mean_dense"] = est.mean, float(np.mean(dense))
    res["se_dense"] = math.sqrt(res["var_dense"] / dense.size)
    return res


def report(n: int, m: int, r: dict[str, float]) -> None:
    floor = r["t_norm"] + r["t_gram"]
    ratio = r["t_ours"] / floor
    per_draw = r["t_dense"] / r["t_ours"]
    equal_se = per_draw * r["var_dense"] / r["var_ours"]
    kernel = "numba" if n * m * m <= _engine()[0] else "BLAS"
    us = 1e6
    print(f"(n, m) = ({n}, {m})  [{kernel} kernel]")
    print(
        f"  floor: normals {r['t_norm'] * us:9.1f} us + Gram {r['t_gram'] * us:9.1f} us "
        f"= {floor * us:9.1f} us per draw"
    )
    print(
        f"  ours : {r['t_ours'] * us:9.1f} us per draw (of which SFC64 normals "
        f"{r['t_sfc'] * us:.1f} us)  ->  {ratio:.2f} x floor"
        + (f"   (target <= {TARGET_FLOOR[(n, m)]:.1f})" if (n, m) in TARGET_FLOOR else "")
    )
    print(
        f"  dense: {r['t_dense'] * us:9.1f} us per draw  (the floor is "
        f"{r['t_dense'] / floor:.1f} x faster than it per draw)"
    )
    print(
        f"         speed-up {per_draw:.1f} x per draw, "
        f"{equal_se:.0f} x at equal standard error"
        + (f"   (target >= {TARGET_DENSE[(n, m)]:.0f})" if (n, m) in TARGET_DENSE else "")
    )
    print(
        f"  check: E = {r['mean_ours']:.4f} (ours) vs {r['mean_dense']:.4f} +- "
        f"{r['se_dense']:.4f} (dense); per-draw variance {r['var_ours']:.3g} vs "
        f"{r['var_dense']:.3g}"
    )


def reference() -> None:
    """docs/theory.md section 7: s_i^2 = 1/i, n = 256, m = 64, 40,000 draws."""
    s = spectrum(256)
    for sigma, quoted in (
        (0.0, "2.3156 +- 0.0001, lambda m = 2.3102"),
        (0.1, "2.6242 +- 0.0001, m (kappa - sigma^2) = 2.6179"),
    ):
        t0 = time.perf_counter()
        est = lininv.expected_error(s, 64, sigma, trials=40_000, rng=20260101)
        pred = lininv.predicted_error(s, 64, sigma)
        print(
            f"sigma = {sigma}: MC {est.mean:.4f} +- {est.stderr:.4f}, prediction {pred:.4f} "
            f"({time.perf_counter() - t0:.1f} s); docs/theory.md: {quoted}"
        )


def crossover(reps: int) -> None:
    """Both fast kernels on the same draws, around the switch point ``n m^2 = 2^15``."""
    from lininv import _montecarlo as mc  # white-box: times both private kernels on one stack

    switch, chunk_normals = _engine()
    K = mc._kernels()
    print(f"kernel crossover (switch at n m^2 = {switch}), microseconds per draw")
    for n, m in [(32, 8), (64, 8), (64, 16), (128, 16), (96, 24), (64, 32), (128, 32), (256, 64)]:
        s = spectrum(n)
        k = max(8, min(512, 2**21 // (n * m * m)))
        Y = chunk_normals(0, 0, k, n, m) * s[:, None]
        a = (s, Y, 0.0, np.empty(k), np.zeros(k, dtype=bool))
        t_numba = best_of(lambda a=a: K.fast_errors(*a[:3], mc.FAST_TOL, *a[3:]), reps) / k
        t_blas = best_of(lambda a=a: mc._fast_blas(*a), reps) / k
        print(
            f"  ({n:4d}, {m:3d})  n m^2 = {n * m * m:8d}:  numba {t_numba * 1e6:8.1f}   "
            f"BLAS {t_blas * 1e6:8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--reference", action="store_true", help="docs/theory.md section 7 numbers")
    parser.add_argument("--crossover", action="store_true", help="numba vs BLAS kernel sizes")
    args = parser.parse_args()
    reps = 2 if args.quick else 5
    with threadpool_limits(1):
        for n, m in SIZES:
            report(n, m, measure(n, m, reps))
        if args.crossover:
            crossover(reps)
        if args.reference:
            reference()


if __name__ == "__main__":
    main()
