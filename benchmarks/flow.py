"""Benchmark of lininv.flows: training throughput and one latent-space solve.

Run from the repository root::

    python benchmarks/flow.py                 # numpy only (lininv's own venv)
    /work/bench-venv/bin/python benchmarks/flow.py   # also PyTorch, if installed there

What is timed, in one run:

1. Training throughput (samples/s) of one epoch of Adam at the default size (RealNVP(64, 8, 128),
   float64, batch 64, 1260 dequantised training digits), for lininv's numpy flow and, where
   PyTorch is importable, the same architecture in PyTorch on the CPU (parameters copied from the
   numpy flow; the two log-densities are checked to agree to 1e-9 first, so the two really compute
   the same function). PyTorch runs with its default threads (all cores) and with one thread.
   The runs alternate (numpy epoch, torch epochs, numpy epoch, ...) so that load from other
   processes affects all alike; the load average is printed, and figures taken under load are not
   representative (multi-threaded runs suffer most). Printed: the rates and their ratios.
2. The hardware floor: the multiply-adds of the dense products per sample (forward + backward)
   divided by a measured dgemm rate, i.e. what a perfectly BLAS-bound implementation could reach:
   at the rate of one layer-shaped product (64x128 @ 128x128) on one thread, and at the rate of a
   large product on one and on all threads; printed as the fraction of it achieved.
3. One latent-space solve: scipy L-BFGS on ``||A G(z) - y||^2`` (A Gaussian, m = 32) from z = 0,
   gradient by ``Flow.forward_and_pullback``: wall time, iterations and relative error.

PyTorch is a benchmark-only peer, never a lininv dependency. Timings are medians of repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import lininv
from lininv import datasets, flows


def blas_threads(n: int | None):
    """Limit the BLAS to ``n`` threads inside a ``with`` block (``None``: leave it as it is)."""
    if n is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def blas_description() -> str:
    """The loaded BLAS libraries and the kernels they chose for this CPU (threadpoolctl)."""
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return (
        "; ".join(
            sorted(
                f"{i.get('internal_api', '?')} {i.get('version', '?')} {i.get('architecture', '?')}"
                for i in infos
            )
        )
        or "unknown"
    )


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def numpy_epoch(flow: flows.Flow, X: np.ndarray, batch_size: int, rng) -> float:
    """Seconds for one epoch of Adam steps (shuffle, NLL + gradient, update), as fit() runs it."""
    # fit()'s own optimiser step, timed without fit()'s bookkeeping; lininv.flows has no public
    # Adam (its owner decides whether to make one)
    from lininv.flows._training import _Adam  # white-box: fit()'s private optimiser step

    opt = _Adam(flow.n_params, 1e-3, 0.0)
    theta = flow.get_params()
    order = rng.permutation(X.shape[0])
    nb = X.shape[0] // batch_size
    t = time.perf_counter()
    with blas_threads(1):
        for b in range(nb):
            _, grad = flow._nll_and_grad(X[order[b * batch_size : (b + 1) * batch_size]])
            opt.step(theta, grad, 1e-3)
            flow._set_params(theta)
    return time.perf_counter() - t


# -- the PyTorch peer ---------------------------------------------------------------------------


def torch_model(flow: flows.Flow):
    """The same flow in PyTorch (float64), parameters copied from ``flow``."""
    import torch
    from torch import nn

    from lininv.flows import ActNorm, AffineCoupling, LULinear, Permutation

    def P(a):
        return nn.Parameter(torch.tensor(np.array(a), dtype=torch.float64))

    class TActNorm(nn.Module):
        def __init__(self, b):
            super().__init__()
            self.log_scale, self.bias = P(b.params["log_scale"]), P(b.params["bias"])

        def inverse(self, x):
            z = (x - self.bias) * torch.exp(-self.log_scale)
            return z, -self.log_scale.sum().expand(x.shape[0])

    class TPerm(nn.Module):
        def __init__(self, b):
            super().__init__()
            self.register_buffer("inv", torch.tensor(b.inv_perm))

        def inverse(self, x):
            return x[:, self.inv], torch.zeros(x.shape[0], dtype=x.dtype)

    class TLU(nn.Module):
        def __init__(self, b):
            super().__init__()
            L, U = b.factors()
            self.L, self.U = P(L), P(U)  # only the strict triangles are used
            self.log_diag = P(b.params["log_diag"])
            self.register_buffer("sign", torch.tensor(b.sign))
            self.register_buffer("eye", torch.eye(b.n, dtype=torch.float64))

        def inverse(self, x):
            L = torch.tril(self.L, -1) + self.eye
            U = torch.triu(self.U, 1) + torch.diag(self.sign * torch.exp(self.log_diag))
            a = torch.linalg.solve_triangular(L, x.T, upper=False, unitriangular=True)
            z = torch.linalg.solve_triangular(U, a, upper=True).T
            return z, -self.log_diag.sum().expand(x.shape[0])

    class TCoupling(nn.Module):
        def __init__(self, b):
            super().__init__()
            self.trans, self.cond, self.na, self.c = b._trans, b._cond, b._na, b.clamp
            p = b.params
            self.l1, self.l2, self.l3 = (
                nn.Linear(p["W1"].shape[0], b.hidden),
                nn.Linear(b.hidden, b.hidden),
                nn.Linear(b.hidden, 2 * b._na),
            )
            for lin, w, bias in (
                (self.l1, "W1", "b1"),
                (self.l2, "W2", "b2"),
                (self.l3, "W3", "b3"),
            ):
                lin.weight = P(p[w].T)
                lin.bias = P(p[bias])
            self.act = {"relu": nn.ReLU(), "tanh": nn.Tanh(), "elu": nn.ELU()}[b.activation]

        def inverse(self, x):
            cond = x[:, self.cond]
            o = self.l3(self.act(self.l2(self.act(self.l1(cond)))))
            s = self.c * torch.tanh(o[:, : self.na] / self.c)
            t = o[:, self.na :]
            z1 = (x[:, self.trans] - t) * torch.exp(-s)
            parts = (cond, z1) if self.trans.start > 0 else (z1, cond)
            return torch.cat(parts, dim=1), -s.sum(dim=1)

    kinds = {ActNorm: TActNorm, Permutation: TPerm, LULinear: TLU, AffineCoupling: TCoupling}

    class TFlow(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(kinds[type(b)](b) for b in flow.bijectors)
            self.n = flow.n

        def log_prob(self, x):
            ld = torch.zeros(x.shape[0], dtype=x.dtype)
            for layer in reversed(self.layers):
                x, l_ = layer.inverse(x)
                ld = ld + l_
            return -0.5 * (x * x).sum(dim=1) - 0.5 * self.n * np.log(2 * np.pi) + ld

    return TFlow()


def torch_epoch(model, X: np.ndarray, batch_size: int, rng) -> float:
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt = torch.tensor(X, dtype=torch.float64)
    order = torch.tensor(rng.permutation(X.shape[0]))
    nb = X.shape[0] // batch_size
    t = time.perf_counter()
    for b in range(nb):
        batch = Xt[order[b * batch_size : (b + 1) * batch_size]]
        opt.zero_grad()
        loss = -model.log_prob(batch).mean()
        loss.backward()
        opt.step()
    return time.perf_counter() - t


# -- floor and latent solve ---------------------------------------------------------------------


def dense_macs_per_sample(flow: flows.Flow) -> float:
    """Multiply-adds of the dense products per training sample: forward + two backward products."""
    from lininv.flows import AffineCoupling, LULinear

    macs = 0.0
    for b in flow.bijectors:
        if isinstance(b, AffineCoupling):
            macs += 3 * sum(b.params[w].size for w in ("W1", "W2", "W3"))
        elif isinstance(b, LULinear):
            macs += 3 * 2 * (b.n * b.n / 2)  # two triangular products, each n^2 / 2, x3 passes
    return macs


def dgemm_rate(size: int = 1024, threads: int | None = None) -> float:
    """Measured float64 GEMM rate (FLOP/s) for a large square product."""
    a = np.random.default_rng(0).standard_normal((size, size))
    with blas_threads(threads):
        a @ a
        t = _median_time(lambda: a @ a, 5)
    return 2 * size**3 / t


def gemm_rate_at(m: int, k: int, n: int) -> float:
    """Measured one-thread float64 GEMM rate (FLOP/s) for an (m x k) @ (k x n) product."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    with blas_threads(1):
        a @ b
        t = _median_time(lambda: [a @ b for _ in range(100)], 7) / 100
    return 2 * m * k * n / t


def latent_solve(flow: flows.Flow, m: int, rng) -> tuple[float, int, float]:
    """One L-BFGS recovery of a flow sample from m Gaussian measurements: (s, iterations, rel err)."""
    from scipy.optimize import minimize

    A = lininv.gaussian_measurements(m, flow.n, rng=rng)
    x0 = flow.sample(1, rng=rng)[0]
    y = A @ x0

    def fun(z):
        x, pullback = flow.forward_and_pullback(z)
        r = A @ x - y
        return float(r @ r), pullback(2.0 * (r @ A))

    t = time.perf_counter()
    with blas_threads(1):
        res = minimize(
            fun,
            np.zeros(flow.n),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 500, "gtol": 1e-10},
        )
    dt = time.perf_counter() - t
    x_hat = flow.forward(res.x)[0]
    return dt, int(res.nit), float(np.linalg.norm(x_hat - x0) / np.linalg.norm(x0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--solves", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    split = datasets.reference_split()
    X = datasets.dequantize(split.X_train[:1260], rng=1)
    flow = flows.realnvp(64, 8, 128, rng=0)
    flow.initialize(X)
    # move away from the identity start so that every product is exercised as in training
    flows.fit(flow, X, epochs=1, val_fraction=0.0, progress=False, rng=0)
    theta0 = flow.get_params()
    print(
        f"lininv {lininv.__version__}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"BLAS {blas_description()}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"model: RealNVP(64, n_layers=8, hidden=128), {flow.n_params} parameters, float64, "
        f"batch {args.batch_size}, {X.shape[0]} samples per epoch"
    )

    try:
        import torch
    except ImportError:
        torch = None
    model_check = ""
    if torch is not None:
        flow.set_params(theta0)
        model = torch_model(flow)
        check = datasets.dequantize(split.X_test[:50], rng=2)
        with torch.no_grad():
            lp_t = model.log_prob(torch.tensor(check)).numpy()
        lp_n = flow.log_prob(check)
        diff = float(np.max(np.abs(lp_t - lp_n)))
        assert diff < 1e-9 * max(1.0, float(np.max(np.abs(lp_n)))), f"torch model differs by {diff}"
        model_check = f"log_prob agrees to {diff:.1e}"

    # numpy and torch epochs interleaved, so that load from other processes hits both alike
    np_times, t_times, t1_times = [], [], []
    if torch is not None:
        default_threads = torch.get_num_threads()
    for _ in range(args.repeats):
        flow.set_params(theta0)
        np_times.append(numpy_epoch(flow, X, args.batch_size, rng))
        if torch is not None:
            torch.set_num_threads(default_threads)
            t_times.append(torch_epoch(torch_model(flow), X, args.batch_size, rng))
            torch.set_num_threads(1)
            t1_times.append(torch_epoch(torch_model(flow), X, args.batch_size, rng))
            torch.set_num_threads(default_threads)
    n_samples = (X.shape[0] // args.batch_size) * args.batch_size
    t_np = float(np.median(np_times))
    sps_np = n_samples / t_np
    print(
        f"numpy  : {sps_np:9.0f} samples/s  (epoch {t_np * 1e3:.0f} ms, median of {args.repeats})"
    )
    if torch is not None:
        for label, times in ((f"{default_threads} threads", t_times), ("1 thread", t1_times)):
            t_t = float(np.median(times))
            sps_t = n_samples / t_t
            ratios = np.array(times) / np.array(np_times)
            print(
                f"torch  : {sps_t:9.0f} samples/s  (epoch {t_t * 1e3:.0f} ms; torch "
                f"{torch.__version__}, {label}; {model_check})"
            )
            print(
                f"ratio  : numpy / torch ({label}) throughput = {sps_np / sps_t:.2f} (median of "
                f"per-pair ratios {np.median(ratios):.2f}, range {ratios.min():.2f}-"
                f"{ratios.max():.2f})"
            )
    else:
        print("torch  : not installed here; run with /work/bench-venv/bin/python for the ratio")

    macs = dense_macs_per_sample(flow)
    shape_rate = gemm_rate_at(args.batch_size, 128, 128)
    print(
        f"floor  : {shape_rate / (2 * macs):9.0f} samples/s  if every product ran at the dgemm "
        f"rate of this layer shape ({args.batch_size}x128 @ 128x128, 1 thread: "
        f"{shape_rate / 1e9:.1f} GFLOP/s; {macs / 1e6:.2f} M multiply-adds per sample); "
        f"numpy reaches {sps_np / (shape_rate / (2 * macs)):.0%}"
    )
    for threads in (1, None):
        rate = dgemm_rate(threads=threads)
        label = "1 thread" if threads == 1 else f"{os.cpu_count()} threads"
        floor = rate / (2 * macs)
        print(
            f"floor  : {floor:9.0f} samples/s  at the large-matrix dgemm rate "
            f"({rate / 1e9:.1f} GFLOP/s, {label}); numpy reaches {sps_np / floor:.0%}"
        )

    flow.set_params(theta0)
    sol = [latent_solve(flow, 32, rng) for _ in range(args.solves)]
    times = [s[0] for s in sol]
    print(
        f"solve  : {np.median(times) * 1e3:.1f} ms median per latent-space L-BFGS solve (m = 32, "
        f"n = 64; iterations {[s[1] for s in sol]}; relative errors "
        f"{', '.join(f'{s[2]:.2f}' for s in sol)})"
    )


if __name__ == "__main__":
    main()
