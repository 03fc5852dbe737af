"""Benchmark of converged flow recovery: solves per second at m = 32, three solvers, one run.

Run from the repository root::

    python benchmarks/recovery.py [--k 10] [--m 32] [--repeats 2]

For ``k`` test digits, each with its own Gaussian A (m rows, :math:`N(0, 1/m)`), noiseless,
``gamma = 0``, start ``z = 0``, the default flow's recovery :math:`\\min_z \\|A G(z) - y\\|^2` is
timed with

- ``lbfgs+gauss-newton``: the converged solver of the experiments' ``lininv`` protocol
  (``recover(solver="lbfgs+gauss-newton")``: 200 L-BFGS-B iterations, then scipy's
  ``least_squares`` with the flow's exact Jacobian);
- ``lbfgs``: the previous path (``recover(solver="lbfgs")``, scipy L-BFGS-B with the
  vector-Jacobian-product gradient, 1000 iterations at most, the lockstep batch);
- ``torch L-BFGS``: ``torch.optim.LBFGS`` (strong-Wolfe line search, history 10, up to 1000
  iterations, gradient tolerance 1e-9) on the same flow ported to PyTorch in float64, parameters
  copied from the numpy flow (checked to give the same ``G(z)`` to 1e-10 first), one problem at a
  time on one thread, as lininv runs on one BLAS thread.

The three alternate (one repeat of each, then the next repeat), so that load from other processes
affects them alike; the median over repeats is reported. Printed per solver: wall and CPU seconds,
solves per second, the fraction of solves whose final gradient has no component above 1e-6
(:data:`lininv.bridge.GN_GTOL`, one criterion for all three, computed by the numpy flow), the mean
error :math:`\\|\\hat x - x_0\\|^2`, and the ratio of its solves per second to the other two.
PyTorch is an optional benchmark dependency (``pip install -e ".[bench]"``); without it the peer
is skipped. The machine's load average is printed: timings under load are not representative.

Measured (2 shared cores, AMD EPYC, OpenBLAS SkylakeX, numpy 2.4.6, scipy 1.17.1, torch 2.13.0+cpu;
``PYTHONPATH=. python benchmarks/recovery.py``, load average 3.45 at the start)::

    lbfgs+gauss-newton   wall    1.08 s  cpu    1.06 s     9.25 solves/s  converged  100%  error 0.20767    1.13x vs lbfgs (previous)   32.65x vs torch L-BFGS
    lbfgs (previous)     wall    1.22 s  cpu    1.14 s     8.22 solves/s  converged  100%  error 0.20767    0.89x vs lbfgs+gauss-newton   29.01x vs torch L-BFGS
    torch L-BFGS         wall   35.30 s  cpu   24.99 s     0.28 solves/s  converged  100%  error 0.20544    0.03x vs lbfgs+gauss-newton    0.03x vs lbfgs (previous)

At m = 32 L-BFGS-B alone already converges on these digits; the Gauss-Newton polish after at
most 200 iterations is slightly faster and ends on the same latents (same error). The PyTorch
peer converges too but costs ~30x more per solve here: one problem of 64 unknowns is far below the
size where its per-operation overhead is amortised (it also ends on other zero-residual latents,
m < n, hence a different error).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from lininv import bridge, experiments, flows


def torch_generator(flow: flows.Flow):
    """``G`` of ``flow`` in PyTorch (float64): latent rows to signal rows."""
    import torch
    from torch import nn

    from lininv.flows import ActNorm, AffineCoupling, LULinear, Permutation

    def T(a):
        return torch.tensor(np.array(a), dtype=torch.float64)

    def layer(b):
        if isinstance(b, ActNorm):
            scale, bias = torch.exp(T(b.params["log_scale"])), T(b.params["bias"])
            return lambda z: z * scale + bias
        if isinstance(b, Permutation):
            perm = torch.tensor(np.asarray(b.perm))
            return lambda z: z[:, perm]
        if isinstance(b, LULinear):
            L, U = b.factors()
            W = T(L @ U)
            return lambda z: z @ W.T
        if isinstance(b, AffineCoupling):
            p = b.params
            W1, b1, W2, b2, W3, b3 = (T(p[k]) for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
            act = {"relu": torch.relu, "tanh": torch.tanh, "elu": nn.functional.elu}[b.activation]
            trans, cond, na, c = b._trans, b._cond, b._na, b.clamp

            def coupling(z):
                zc = z[:, cond]
                o = act(act(zc @ W1 + b1) @ W2 + b2) @ W3 + b3
                s = c * torch.tanh(o[:, :na] / c)
                x1 = z[:, trans] * torch.exp(s) + o[:, na:]
                parts = (zc, x1) if trans.start > 0 else (x1, zc)
                return torch.cat(parts, dim=1)

            return coupling
        raise TypeError(f"no PyTorch port of {type(b).__name__}")

    layers = [layer(b) for b in flow.bijectors]

    def G(z):
        for f in layers:
            z = f(z)
        return z

    return G


def torch_solves(G, A: np.ndarray, Y: np.ndarray, max_iter: int) -> np.ndarray:
    """``torch.optim.LBFGS`` per problem from ``z = 0``; the final latents (k, n)."""
    import torch

    out = np.empty((A.shape[0], A.shape[2]))
    for j in range(A.shape[0]):
        Aj, yj = torch.tensor(A[j]), torch.tensor(Y[j])
        z = torch.zeros(1, A.shape[2], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [z],
            lr=1.0,
            max_iter=max_iter,
            max_eval=int(1.25 * max_iter),
            tolerance_grad=1e-9,
            tolerance_change=0.0,
            history_size=10,
            line_search_fn="strong_wolfe",
        )

        def closure(Aj=Aj, yj=yj, z=z, opt=opt):
            opt.zero_grad()
            r = Aj @ G(z)[0] - yj
            loss = r @ r
            loss.backward()
            return loss

        opt.step(closure)
        out[j] = z.detach().numpy()[0]
    return out


def final_gradients(flow, A: np.ndarray, Y: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Largest gradient component of :math:`\\|A G(z) - y\\|^2` at each final latent (numpy)."""
    X, pullback = flow.forward_and_pullback(Z)
    R = np.einsum("kmn,kn->km", A, X) - Y
    return np.max(np.abs(2.0 * pullback(np.einsum("kmn,km->kn", A, R))), axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10, help="number of problems (default 10)")
    parser.add_argument("--m", type=int, default=32, help="measurements per problem (default 32)")
    parser.add_argument("--repeats", type=int, default=2, help="repeats of each (default 2)")
    args = parser.parse_args()
    flow, split = flows.default_flow()
    X = experiments.digits_data(split).X_test[: args.k]
    gen = np.random.default_rng(0)
    A = gen.standard_normal((args.k, args.m, 64)) / np.sqrt(args.m)
    Y = np.einsum("kmn,kn->km", A, X)

    runs = {
        "lbfgs+gauss-newton": lambda: (
            bridge.recover(flow, A, Y, solver="lbfgs+gauss-newton", max_iter=200).z
        ),
        "lbfgs (previous)": lambda: bridge.recover(flow, A, Y, solver="lbfgs", max_iter=1000).z,
    }
    try:
        import torch

        torch.set_num_threads(1)
        G = torch_generator(flow)
        Zc = gen.standard_normal((5, 64)) * 0.5
        gap = np.max(np.abs(G(torch.tensor(Zc)).numpy() - flow.forward(Zc)[0]))
        assert gap < 1e-10, f"the PyTorch port differs from the flow by {gap:.1e}"
        runs["torch L-BFGS"] = lambda: torch_solves(G, A, Y, 1000)
        peer = f"torch {torch.__version__} (G(z) agrees to {gap:.1e})"
    except ImportError:
        peer = "torch not installed: peer skipped"
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; k = {args.k} problems, "
        f"m = {args.m}, n = 64, repeats = {args.repeats}; {peer}"
    )
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    latents: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, solve in runs.items():
            c0, t0 = time.process_time(), time.perf_counter()
            latents[name] = solve()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    rate = {name: args.k / float(np.median(w)) for name, w in wall.items()}
    names = list(runs)
    for name in names:
        Z = latents[name]
        err = np.mean(np.sum((flow.forward(Z)[0] - X) ** 2, axis=1))
        conv = np.mean(final_gradients(flow, A, Y, Z) <= bridge.GN_GTOL)
        ratios = "  ".join(
            f"{rate[name] / rate[other]:6.2f}x vs {other}" for other in names if other != name
        )
        print(
            f"{name:20s} wall {np.median(wall[name]):7.2f} s  cpu {np.median(cpu[name]):7.2f} s  "
            f"{rate[name]:7.2f} solves/s  converged {conv:5.0%}  error {err:.5f}  {ratios}"
        )


if __name__ == "__main__":
    main()
