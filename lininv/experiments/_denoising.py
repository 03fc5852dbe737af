r"""Experiment 2: denoising, error against ``gamma`` at several noise levels."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._errors import denoising_error, optimal_denoising_gamma
from lininv._estimators import denoise
from lininv._prior import LinearInvertiblePrior
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.bridge._compare import COMPARE_NEEDS
from lininv.bridge._compare_cell import squared_errors
from lininv.bridge._predictions import singular_values_at
from lininv.bridge._recovery import recover_batch
from lininv.experiments._cells import (
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

__all__ = ["denoising", "DENOISING_COLUMNS"]

DENOISING_COLUMNS = [
    "noise_std",
    "gamma",
    "flow_mean",
    "flow_lo",
    "flow_hi",
    "flow_converged",
    "gauss_mean",
    "gauss_lo",
    "gauss_hi",
    "gauss_expected",
    "local_expected",
    "linear_optimal_gamma",
]

_CELL = require_keys("flow", "converged", "gauss", "gauss_expected", "local_expected")


@register(
    "denoising",
    order=2,
    summary="error vs gamma at several noise levels, the linear optimum marked",
    small={"noise_stds": (0.1,), "gammas": (0.0, 0.01, 0.1), "n_test": 8},
)
@single_blas_thread
def denoising(
    flow: FlowPrior | None = None,
    data: DigitsData | None = None,
    *,
    noise_stds: Sequence[float] = (0.05, 0.1, 0.2),
    gammas: Sequence[float] = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0),
    n_test: int | None = 60,
    max_iter: int = 1000,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Experiment 2: denoising error vs ``gamma`` at several noise levels.

    ``y = x0 + eta``, :math:`\eta \sim N(0, \sigma^2 I)` (:attr:`Stream.DENOISING_NOISE`), the
    same noise for every ``gamma``; the flow solves :math:`\min_z \|G(z) - y\|^2 +
    \gamma\|z\|^2` from ``z = 0``. Beside it: the best linear Gaussian's latent denoiser
    (:func:`lininv.denoise`) on the same ``y`` and its expected error
    (:func:`lininv.denoising_error`), the latter also with the flow's Jacobian spectra at the
    truth (``local_expected``). The linear optimum is ``gamma = sigma^2``
    (:func:`lininv.optimal_denoising_gamma`).

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        Default: ``lininv.flows.default_flow()``.
    data : DigitsData, optional
        Default: :func:`digits_data` of the default flow's split.
    noise_stds : sequence of float, default=(0.05, 0.1, 0.2)
        Noise levels :math:`\sigma > 0`.
    gammas : sequence of float, default=(0, 1e-3, ..., 1)
        Latent weights :math:`\gamma \ge 0`.
    n_test : int or None, default=60
        Test images used (a seeded random subset; None for all).
    max_iter : int, default=1000
        L-BFGS-B iteration limit.
    seed : int, default=0
    output : path-like, optional
        Folder for resumable progress (``output/.cells/denoising.json``).
    progress : bool or callable, default=False
    command : str, optional
        The command line recorded in the provenance (default: this process's).

    Returns
    -------
    ExperimentResult
        Columns ``noise_std, gamma, flow_mean, flow_lo, flow_hi, flow_converged, gauss_mean,
        gauss_lo, gauss_hi, gauss_expected, local_expected, linear_optimal_gamma``;
        ``data["best_gamma"]`` maps each noise level to the flow's best ``gamma`` on the test set.
    """
    t0 = time.perf_counter()
    flow, data = flow_and_data(flow, data, COMPARE_NEEDS)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    sigmas = [check_real("noise_stds", float(s), low=0.0, low_open=True) for s in noise_stds]
    gams = [check_real("gammas", float(g), low=0.0) for g in gammas]
    max_iter = check_int("max_iter", max_iter, low=1)
    X = subset(data.X_test, n_test, stream(seed, Stream.TEST_PICK))
    N, n = X.shape
    params = {"noise_stds": sigmas, "gammas": gams, "n_test": N, "max_iter": max_iter, "seed": seed}
    clock: list[float] = []
    prior = LinearInvertiblePrior.fit(data.X_train)
    s_fit = prior.singular_values
    S_local = None
    prov = provenance(seed=seed, command=command)
    table = Table(DENOISING_COLUMNS, title="Denoising error ||x_hat - x0||^2 vs gamma", meta=prov)
    eye = np.eye(n)
    with (
        open_cells(output, "denoising", params, provenance=prov, validate=_CELL) as store,
        progress_sink(progress, "denoising", len(sigmas) * len(gams), "cell") as sink,
    ):
        for si, sigma in enumerate(sigmas):
            Y = X + sigma * stream(seed, Stream.DENOISING_NOISE, si).standard_normal(X.shape)
            for gi, gamma in enumerate(gams):

                def cell(sigma: float = sigma, gamma: float = gamma, Y: Any = Y) -> dict[str, Any]:
                    nonlocal S_local
                    if S_local is None:
                        S_local = singular_values_at(flow, X)
                    res = recover_batch(flow, eye, Y, gamma, max_iter=max_iter)
                    return {
                        "flow": squared_errors(res.x, X),
                        "converged": float(np.mean(res.success)),
                        "gauss": squared_errors(denoise(prior, Y, gamma), X),
                        "gauss_expected": denoising_error(s_fit, sigma, gamma),
                        "local_expected": float(
                            np.mean([denoising_error(s, sigma, gamma) for s in S_local])
                        ),
                    }

                c = cached(store, f"sigma{si}-gamma{gi}", cell, clock)
                row = {"noise_std": sigma, "gamma": gamma, "flow_converged": c["converged"]}
                row.update(ci_fields("flow_", c["flow"]))
                row.update(ci_fields("gauss_", c["gauss"]))
                row["gauss_expected"] = c["gauss_expected"]
                row["local_expected"] = c["local_expected"]
                row["linear_optimal_gamma"] = optimal_denoising_gamma(sigma)
                table.append(row)
                sink.update(
                    label=f"sigma = {sigma:g}, gamma = {gamma:g}",
                    info=f"flow {row['flow_mean']:.4g}, gauss {row['gauss_mean']:.4g}",
                )
    best = {}
    for sigma in sigmas:
        sub = table.where(noise_std=sigma)
        i = int(np.argmin(sub.column("flow_mean")))
        best[str(sigma)] = {"gamma": sub.rows[i]["gamma"], "flow_mean": sub.rows[i]["flow_mean"]}
    return ExperimentResult(
        "denoising",
        table,
        params,
        {"best_gamma": best},
        seconds=time.perf_counter() - t0,
        compute_seconds=sum(clock),
    )
