r"""Experiment 4a: error against the norm of the initial latent, at ``gamma = 0`` and the best one."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.bridge._compare_cell import squared_errors
from lininv.bridge._recovery import RECOVERY_NEEDS, recover_batch
from lininv.experiments._cells import (
    StartKey,
    Stream,
    cached,
    ci_fields,
    open_cells,
    require_keys,
    stream,
)
from lininv.experiments._data import DigitsData, flow_and_data, subset
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult
from lininv.flows._protocol import FlowPrior

__all__ = ["initialisation"]

_CELL = require_keys("errors", "converged", "init_norm")


@register(
    "initialisation",
    order=4,
    summary="error vs ||z_init|| at gamma = 0 and at the best gamma",
    small={
        "norms": (0.0, 8.0),
        "gamma_grid": (0.01, 0.1),
        "n_test": 6,
        "n_val": 4,
        "max_iter": 300,
    },
)
@single_blas_thread
def initialisation(
    flow: FlowPrior | None = None,
    data: DigitsData | None = None,
    *,
    m: int = 32,
    norms: Sequence[float] = (0.0, 2.0, 4.0, 8.0, 12.0, 16.0),
    gamma_grid: Sequence[float] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    null_space_std: float = 0.1,
    n_test: int | None = 50,
    n_val: int = 25,
    max_iter: int = 1000,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Experiment 4a: error vs the norm of the initial latent, at ``gamma = 0`` and the best ``gamma``.

    At fixed ``m`` (Gaussian ``A`` per test image, noiseless) the flow starts from a latent of
    given norm in a uniformly random direction (``fixed_norm``; ``0`` is ``z = 0``), and from the
    paper's other starts: ``random`` (std 0.7), ``null_space`` (the truth plus ``null_space_std``
    times a null-space perturbation, a low-likelihood global minimiser at ``gamma = 0``) and
    ``pseudo_inverse``. The "best" ``gamma`` is the one of ``gamma_grid`` with the least mean
    error on ``n_val`` held-out images started at the largest norm, the low-likelihood start that
    regularisation is meant to rescue; it is then used at every start.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        Default: ``lininv.flows.default_flow()``.
    data : DigitsData, optional
        Default: :func:`digits_data` of the default flow's split.
    m : int, default=32
        Gaussian measurements per image, ``1 <= m <= n``.
    norms : sequence of float, default=(0, 2, 4, 8, 12, 16)
        Norms of the fixed-norm starts.
    gamma_grid : sequence of float, default=(1e-3, ..., 0.1)
        Candidate weights ``gamma > 0``.
    null_space_std : float, default=0.1
        Scale of the null-space perturbation.
    n_test : int or None, default=50
        Test images used (a seeded random subset; None for all).
    n_val : int, default=25
        Held-out images on which ``gamma`` is chosen.
    max_iter : int, default=1000
        L-BFGS-B iteration limit.
    seed : int, default=0
    output : path-like, optional
        Folder for resumable progress (``output/.cells/initialisation.json``).
    progress : bool or callable, default=False
    command : str, optional
        The command line recorded in the provenance (default: this process's).

    Returns
    -------
    ExperimentResult
        Rows ``init, init_norm (mean ||z_init||), gamma, mean, lo, hi, converged``;
        ``data["best_gamma"]`` and the validation errors.
    """
    t0 = time.perf_counter()
    flow, data = flow_and_data(flow, data, RECOVERY_NEEDS)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    n = int(flow.n)
    m = check_int("m", m, low=1, high=n)
    radii = [check_real("norms", float(r), low=0.0) for r in norms]
    grid = [check_real("gamma_grid", float(g), low=0.0, low_open=True) for g in gamma_grid]
    null_space_std = check_real("null_space_std", null_space_std, low=0.0)
    max_iter = check_int("max_iter", max_iter, low=1)
    X = subset(data.X_test, n_test, stream(seed, Stream.TEST_PICK))
    Xv = subset(data.X_val, n_val, stream(seed, Stream.INIT_VALIDATION_PICK), "n_val")
    params = {
        "m": m,
        "norms": radii,
        "gamma_grid": grid,
        "null_space_std": null_space_std,
        "n_test": int(X.shape[0]),
        "n_val": int(Xv.shape[0]),
        "max_iter": max_iter,
        "seed": seed,
    }
    clock: list[float] = []
    prov = provenance(seed=seed, command=command)
    A = stream(seed, Stream.INIT_OPERATORS).standard_normal((X.shape[0], m, n)) / np.sqrt(m)
    Y = np.einsum("kmn,kn->km", A, X)
    Av = stream(seed, Stream.INIT_VALIDATION_OPERATORS).standard_normal((Xv.shape[0], m, n))
    Av = Av / np.sqrt(m)
    Yv = np.einsum("kmn,kn->km", Av, Xv)

    def solve(A_, Y_, X_, gamma, init, scale, key) -> dict[str, Any]:
        if init == "fixed_norm" and scale == 0.0:
            init, scale = "zeros", None
        res = recover_batch(
            flow,
            A_,
            Y_,
            gamma,
            init=init,
            init_scale=scale,
            X_true=X_ if init == "null_space" else None,
            gen=stream(seed, Stream.INIT_STARTS, key),
            max_iter=max_iter,
        )
        return {
            "errors": squared_errors(res.x, X_),
            "converged": float(np.mean(res.success)),
            "init_norm": float(np.mean(np.linalg.norm(res.z_init, axis=1))),
        }

    starts: list[tuple[str, float | None]] = [("fixed_norm", r) for r in radii]
    starts += [("random", 0.7), ("null_space", null_space_std), ("pseudo_inverse", None)]
    table = Table(
        ["init", "init_norm", "gamma", "mean", "lo", "hi", "converged"],
        title=f"Initialisation at m = {m}: ||x_hat - x0||^2",
        meta=prov,
    )
    val = []
    with (
        open_cells(output, "initialisation", params, provenance=prov, validate=_CELL) as store,
        progress_sink(progress, "initialisation", len(grid) + 2 * len(starts), "cell") as sink,
    ):
        for gi, g in enumerate(grid):
            c = cached(
                store,
                f"val-gamma{gi}",
                functools.partial(
                    solve, Av, Yv, Xv, g, "fixed_norm", max(radii), StartKey.VALIDATION
                ),
                clock,
            )
            val.append(float(np.mean(c["errors"])))
            sink.update(label=f"validation, gamma = {g:g}", info=f"{val[-1]:.4g}")
        best_gamma = grid[int(np.argmin(val))]
        for gamma_label, gamma in (("0", 0.0), ("best", best_gamma)):
            for si, (init, scale) in enumerate(starts):
                c = cached(
                    store,
                    f"{init}-{si}-gamma-{gamma_label}",
                    functools.partial(solve, A, Y, X, gamma, init, scale, StartKey.TEST + si),
                    clock,
                )
                table.append(
                    {
                        "init": init,
                        "init_norm": c["init_norm"],
                        "gamma": gamma,
                        **ci_fields("", c["errors"]),
                        "converged": c["converged"],
                    }
                )
                sink.update(
                    label=f"gamma = {gamma:g}, {init} ({scale})",
                    info=f"{table.rows[-1]['mean']:.4g}",
                )
    data_out = {
        "best_gamma": best_gamma,
        "validation_errors": dict(zip(map(str, grid), val, strict=True)),
    }
    return ExperimentResult(
        "initialisation",
        table,
        params,
        data_out,
        {"m": m, "n": n},
        seconds=time.perf_counter() - t0,
        compute_seconds=sum(clock),
    )
