"""Restarts of :func:`lininv.bridge.recover`: several starts per problem, the lowest objective kept."""

from __future__ import annotations

import numpy as np

from lininv.bridge._recovery import DEFAULT_INIT_SCALE, RecoveryResult, recover_batch
from lininv.flows._protocol import FlowPrior

__all__ = ["RESTART_TIE", "with_restarts"]

#: Objectives within this (relative to ``max(1, f)``) of the lowest count as equal, and the first
#: of them is kept: a noiseless ``m < n`` problem has minimum 0, which every converged solve
#: reaches up to rounding (1e-30 to 1e-21 measured), so without a tie rule rounding would choose.
RESTART_TIE = 1e-12


def with_restarts(
    flow: FlowPrior,
    A: np.ndarray,
    Y: np.ndarray,
    gamma: float,
    init: str,
    init_scale: float | None,
    X_true: np.ndarray | None,
    gen: np.random.Generator,
    max_iter: int,
    gtol: float,
    ftol: float,
    batch: str,
    chunk: int | None,
    solver: str,
    restarts: int,
) -> RecoveryResult:
    """Every problem solved from ``init`` and ``restarts - 1`` random starts; lowest objective kept."""
    k = Y.shape[0]
    first, rest = gen.spawn(2)
    runs = [
        recover_batch(
            flow,
            A,
            Y,
            gamma,
            init=init,
            init_scale=init_scale,
            X_true=X_true,
            gen=first,
            max_iter=max_iter,
            gtol=gtol,
            ftol=ftol,
            batch=batch,
            chunk=chunk,
            solver=solver,
        )
    ]
    for child in rest.spawn(restarts - 1):
        runs.append(
            recover_batch(
                flow,
                A,
                Y,
                gamma,
                init="random",
                init_scale=DEFAULT_INIT_SCALE["random"],
                gen=child,
                max_iter=max_iter,
                gtol=gtol,
                ftol=ftol,
                batch=batch,
                chunk=chunk,
                solver=solver,
            )
        )
    F = np.stack([r.objective for r in runs], axis=1)  # (k, R)
    # the first start whose objective is within rounding (RESTART_TIE) of the lowest
    low = F.min(axis=1, keepdims=True)
    best = np.argmax(F <= low + RESTART_TIE * np.maximum(1.0, low), axis=1)
    pick = [runs[b] for b in best]
    rows = np.arange(k)
    return RecoveryResult(
        np.stack([p.x[j] for j, p in zip(rows, pick, strict=True)]),
        np.stack([p.z[j] for j, p in zip(rows, pick, strict=True)]),
        np.stack([p.z_init[j] for j, p in zip(rows, pick, strict=True)]),
        np.array([p.success[j] for j, p in zip(rows, pick, strict=True)]),
        tuple(f"restart {b}: {p.message[j]}" for j, b, p in zip(rows, best, pick, strict=True)),
        np.array([p.iterations[j] for j, p in zip(rows, pick, strict=True)]),
        np.array([p.evaluations[j] for j, p in zip(rows, pick, strict=True)]),
        F[rows, best],
        np.array([p.grad_norm[j] for j, p in zip(rows, pick, strict=True)]),
    )
