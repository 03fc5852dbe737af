r"""The L-BFGS-B machinery behind :func:`lininv.bridge.recover`, on validated arrays.

Problems are rows: latents ``Z`` of shape ``(k, n)``, operators ``A`` of shape ``(m, n)`` (shared)
or ``(k, m, n)``, measurements ``Y`` of shape ``(k, m)``. Every function here assumes its input
was validated by :func:`lininv.bridge.recover`; the flow is any :class:`lininv.flows.FlowPrior`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from lininv.flows._protocol import FlowPrior

__all__ = ["STALL_GTOL", "NonFinite", "Evaluation", "Solve", "Solutions", "solve_all"]

#: A line-search stall (L-BFGS-B's "ABNORMAL" stop: no decrease found along the search direction)
#: is accepted as convergence when the largest gradient component is at most this. Near a
#: minimiser the decrease a step can make, ~||g||^2 / L, falls below the rounding of f (~eps f)
#: for ||g|| ~ sqrt(eps f L) ~ 1e-8 here (f, L of order one to a hundred), above ``gtol = 1e-9``.
STALL_GTOL = 1e-6


class NonFinite(Exception):
    """Raised inside an objective evaluation that produced a non-finite value."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The objective at latents ``Z`` (k, n): per-problem values ``f`` (k,), gradients ``g``
    (k, n) and signals ``X = G(Z)`` (k, n)."""

    f: np.ndarray
    g: np.ndarray
    X: np.ndarray


@dataclass(frozen=True, slots=True)
class Solve:
    """One L-BFGS-B run on a block of problems (one problem, or a joint group)."""

    Z: np.ndarray
    X: np.ndarray
    f: np.ndarray
    g: np.ndarray
    success: bool
    message: str
    iterations: int
    evaluations: int


@dataclass(frozen=True, slots=True)
class Solutions:
    """Per-problem outcomes of all the runs: arrays with one row (or entry) per problem."""

    Z: np.ndarray
    X: np.ndarray
    f: np.ndarray
    g: np.ndarray
    success: np.ndarray
    message: list[str]
    iterations: np.ndarray
    evaluations: np.ndarray


Evaluate = Callable[[np.ndarray], Evaluation]


def _residuals(A: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    if A.ndim == 2:
        return X @ A.T - Y
    return np.einsum("kmn,kn->km", A, X) - Y


def _back(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    if A.ndim == 2:
        return R @ A
    return np.einsum("km,kmn->kn", R, A)


def evaluate(
    flow: FlowPrior, A: np.ndarray, Y: np.ndarray, gamma: float, Z: np.ndarray
) -> Evaluation:
    """The objective, its gradient and the signals at latents ``Z``; raises :class:`NonFinite`."""
    if not np.all(np.isfinite(Z)):
        raise NonFinite("the optimiser proposed a non-finite latent")
    with np.errstate(over="ignore", invalid="ignore"):
        X, pullback = flow.forward_and_pullback(Z)
        X = np.asarray(X, dtype=float).reshape(Z.shape)
        if not np.all(np.isfinite(X)):
            raise NonFinite("the flow returned a non-finite signal")
        R = _residuals(A, X, Y)
        f = np.einsum("km,km->k", R, R) + gamma * np.einsum("kn,kn->k", Z, Z)
        g = np.asarray(pullback(2.0 * _back(A, R)), dtype=float).reshape(Z.shape) + 2.0 * gamma * Z
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g))):
        raise NonFinite("the objective or its gradient is not finite")
    return Evaluation(f, g, X)


def _evaluate_rows(
    flow: FlowPrior, A: np.ndarray, Y: np.ndarray, gamma: float, Z: np.ndarray
) -> tuple[Evaluation, np.ndarray]:
    """Like :func:`evaluate` but row by row: also returns ``bad``, a mask of the rows whose
    latent, signal, objective or gradient is not finite (their other values are junk)."""
    bad = ~np.all(np.isfinite(Z), axis=1)
    Zs = np.where(bad[:, None], 0.0, Z)
    with np.errstate(over="ignore", invalid="ignore"):
        X, pullback = flow.forward_and_pullback(Zs)
        X = np.asarray(X, dtype=float).reshape(Z.shape)
        bad |= ~np.all(np.isfinite(X), axis=1)
        Xs = np.where(bad[:, None], 0.0, X)
        R = _residuals(A, Xs, Y)
        f = np.einsum("km,km->k", R, R) + gamma * np.einsum("kn,kn->k", Zs, Zs)
        g = np.asarray(pullback(2.0 * _back(A, R)), dtype=float).reshape(Z.shape) + 2.0 * gamma * Zs
    bad |= ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    return Evaluation(f, g, X), bad


class _Lockstep:
    """Batches the objective evaluations of concurrently running per-problem L-BFGS-B solves.

    Each solve runs scipy's L-BFGS-B in its own thread; its objective posts the latent here and
    waits. When every active solve has posted, one flow call evaluates the whole batch and wakes
    them. Each problem therefore follows exactly its own L-BFGS-B path (as in a loop), while the
    flow is evaluated on batches.
    """

    def __init__(
        self, flow: FlowPrior, A: np.ndarray, Y: np.ndarray, gamma: float, active: int
    ) -> None:
        self.flow, self.A, self.Y, self.gamma = flow, A, Y, gamma
        self.cond = threading.Condition()
        self.pending: dict[int, np.ndarray] = {}
        self.results: dict[int, Evaluation | NonFinite] = {}
        self.active = active
        self.error: BaseException | None = None

    def evaluate(self, j: int, z: np.ndarray) -> Evaluation:
        with self.cond:
            self.pending[j] = z
            self._flush()
            while j not in self.results:
                if self.error is not None:
                    raise RuntimeError("another solve of the batch failed") from self.error
                self.cond.wait()
            out = self.results.pop(j)
        if isinstance(out, NonFinite):
            raise out
        return out

    def leave(self) -> None:
        with self.cond:
            self.active -= 1
            self._flush()

    def _flush(self) -> None:
        """Evaluate the batch once every active solve waits (called with the lock held)."""
        if not self.pending or len(self.pending) < self.active:
            return
        idx = sorted(self.pending)
        Z = np.stack([self.pending[j] for j in idx])
        self.pending.clear()
        A = self.A if self.A.ndim == 2 else self.A[idx]
        try:
            ev, bad = _evaluate_rows(self.flow, A, self.Y[idx], self.gamma, Z)
        except BaseException as exc:  # a bug, not a numerical event: stop every solve
            self.error = exc
            self.cond.notify_all()
            return
        for r, j in enumerate(idx):
            if bad[r]:
                self.results[j] = NonFinite("the objective or its gradient is not finite")
            else:
                self.results[j] = Evaluation(ev.f[r : r + 1], ev.g[r : r + 1], ev.X[r : r + 1])
        self.cond.notify_all()


def _solve(evaluate: Evaluate, Z0: np.ndarray, options: dict[str, Any]) -> Solve:
    """One L-BFGS-B solve of the block objective sum_j f_j(z_j) over Z (k, n).

    ``evaluate(Z)`` returns the :class:`Evaluation` at ``Z`` or raises :class:`NonFinite`.
    """
    k, n = Z0.shape
    best: dict[str, Any] = {}

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        Z = flat.reshape(k, n)
        ev = evaluate(Z)
        total = float(np.sum(ev.f))
        if not best or total < best["total"]:
            best.update(total=total, Z=Z.copy(), ev=ev)
        best["evals"] = best.get("evals", 0) + 1
        return total, ev.g.ravel()

    iterations = [0]

    def count(_: np.ndarray) -> None:
        iterations[0] += 1

    try:
        res = optimize.minimize(
            fun, Z0.ravel(), jac=True, method="L-BFGS-B", options=options, callback=count
        )
    except NonFinite as exc:
        nfev = best.get("evals", 0)
        if not best:  # the starting point itself is not finite
            raise NonFinite(str(exc)) from None
        msg = (
            f"stopped at a non-finite evaluation ({exc}) after {nfev} evaluations; returning the "
            "best finite iterate"
        )
        ev = best["ev"]
        return Solve(best["Z"], ev.X, ev.f, ev.g, False, msg, iterations[0], nfev)
    Z = res.x.reshape(k, n)
    # The optimiser's final point is the last accepted iterate; evaluate there for the report.
    ev = evaluate(Z)
    msg = res.message if isinstance(res.message, str) else str(res.message)
    ok = bool(res.success)
    gmax = float(np.max(np.abs(ev.g)))
    if not ok and msg.startswith("ABNORMAL") and gmax <= STALL_GTOL:
        ok = True
        msg += f" (accepted: line search stalled at rounding level, max |grad| = {gmax:.1e})"
    return Solve(Z, ev.X, ev.f, ev.g, ok, msg, int(res.nit), int(res.nfev))


def solve_all(
    flow: FlowPrior,
    A: np.ndarray,
    Y: np.ndarray,
    gamma: float,
    Z0: np.ndarray,
    options: dict[str, Any],
    batch: str,
    chunk: int | None,
) -> Solutions:
    """Solve every problem from its start ``Z0`` (k, n) in the given batching mode."""
    k, n = Z0.shape
    Z, X, g = np.empty((k, n)), np.empty((k, n)), np.empty((k, n))
    f = np.empty(k)
    success, nit, nfev = np.zeros(k, bool), np.zeros(k, int), np.zeros(k, int)
    message = [""] * k

    def solve_slice(sl: slice, evaluate_slice: Evaluate) -> None:
        try:
            s = _solve(evaluate_slice, Z0[sl], options)
        except NonFinite as exc:
            raise ValueError(
                f"the objective is not finite at the starting latent of problem(s) "
                f"{sl.start}..{sl.stop - 1}: {exc}"
            ) from None
        Z[sl], X[sl], f[sl], g[sl] = s.Z, s.X, s.f, s.g
        success[sl], nit[sl], nfev[sl] = s.success, s.iterations, s.evaluations
        message[sl] = [s.message] * (sl.stop - sl.start)

    if batch == "lockstep" and k > 1:
        _run_lockstep(flow, A, Y, gamma, k, chunk, solve_slice)
    else:
        size = 1  # "loop": one problem per solve; "joint": groups of chunk (default all)
        if batch == "joint":
            size = k if chunk is None else chunk
        for start in range(0, k, size):
            sl = slice(start, min(start + size, k))
            Asl = A if A.ndim == 2 else A[sl]
            solve_slice(sl, functools.partial(evaluate, flow, Asl, Y[sl], gamma))
    return Solutions(Z, X, f, g, success, message, nit, nfev)


def _run_lockstep(
    flow: FlowPrior,
    A: np.ndarray,
    Y: np.ndarray,
    gamma: float,
    k: int,
    chunk: int | None,
    solve_slice: Callable[[slice, Evaluate], None],
) -> None:
    """Per-problem L-BFGS-B solves in ``min(k, chunk or 64)`` threads with batched evaluations."""
    workers = min(k, 64 if chunk is None else chunk)
    lock = threading.Lock()
    todo = iter(range(k))
    ev = _Lockstep(flow, A, Y, gamma, workers)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    j = next(todo, None)
                if j is None or errors:
                    return

                def evaluate_one(Z: np.ndarray, j: int = j) -> Evaluation:
                    return ev.evaluate(j, Z[0])

                solve_slice(slice(j, j + 1), evaluate_one)
        except BaseException as exc:
            errors.append(exc)
        finally:
            ev.leave()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if ev.error is not None:
        raise ev.error
    if errors:
        raise errors[0]
