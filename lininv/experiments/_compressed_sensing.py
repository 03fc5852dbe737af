r"""Experiment 1: compressed sensing, error against ``m`` (``docs/theory.md``, section 9)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from lininv._progress import Progress, check_progress
from lininv._provenance import provenance
from lininv._threads import single_blas_thread
from lininv._validation import check_int
from lininv.bridge._compare import COMPARE_NEEDS, compare_validated, comparison_settings
from lininv.bridge._predictions import check_ms
from lininv.experiments._cells import Stream, open_cells, require_keys, stream
from lininv.experiments._data import DigitsData, flow_and_data, subset
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult
from lininv.flows._protocol import FlowPrior

__all__ = ["compressed_sensing", "COMPARE_CELL"]

#: The keys of a stored cell of :func:`lininv.bridge.compare` (checked when a store is reopened).
COMPARE_CELL = require_keys("m", "errors", "converged", "lasso_lambda", "rank_k_gamma", "local")


@register(
    "compressed-sensing",
    order=1,
    summary="error vs m: flow vs Lasso vs rank-k vs the linear theory",
    small={"ms": (8, 32, 64), "n_test": 8, "max_iter": 300},
)
@single_blas_thread
def compressed_sensing(
    flow: FlowPrior | None = None,
    data: DigitsData | None = None,
    *,
    ms: Sequence[int] = (4, 8, 16, 24, 32, 40, 48, 56, 64),
    n_test: int | None = 100,
    draws: int = 1,
    noise_std: float = 0.0,
    k: int = 16,
    max_iter: int = 1000,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Experiment 1: recovery error vs ``m`` for the flow, Lasso, rank-k and the linear theory.

    Gaussian :math:`A` (:math:`A_{ij} \sim N(0, 1/m)`, one per test image and draw), noiseless by
    default, ``gamma = 0``, L-BFGS from ``z = 0`` as in the paper's main runs; see
    :func:`lininv.bridge.compare` for the columns.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        Default: ``lininv.flows.default_flow()``.
    data : DigitsData, optional
        Default: :func:`digits_data` of the default flow's split.
    ms : sequence of int, default=(4, 8, ..., 64)
        Numbers of measurements, ``2 <= m <= n``.
    n_test : int or None, default=100
        Test images used (a seeded random subset, :attr:`Stream.TEST_PICK`; None for all).
    draws : int, default=1
        Draws of ``A`` per test image.
    noise_std : float, default=0.0
        Measurement noise.
    k : int, default=16
        Rank of the linear generator (see :func:`lininv.bridge.compare`).
    max_iter : int, default=1000
        L-BFGS-B iteration limit.
    seed : int, default=0
        Seed of every random stream.
    output : path-like, optional
        Folder for resumable progress (``output/.cells/compressed-sensing.json``).
    progress : bool or callable, default=False
        A bar (``True``) or a callback per finished ``m`` (:mod:`lininv._progress`).
    command : str, optional
        The command line recorded in the provenance (default: this process's).

    Returns
    -------
    ExperimentResult
        The :func:`lininv.bridge.compare` table; ``data["compare_params"]`` its settings.
    """
    t0 = time.perf_counter()
    flow, data = flow_and_data(flow, data, COMPARE_NEEDS)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    n = int(flow.n)
    m_values = check_ms(ms, n)
    settings = comparison_settings(n, noise_std=noise_std, draws=draws, k=k, max_iter=max_iter)
    X_test = subset(data.X_test, n_test, stream(seed, Stream.TEST_PICK))
    params = {
        "ms": [int(m) for m in m_values],
        "n_test": int(X_test.shape[0]),
        "draws": settings.draws,
        "noise_std": settings.noise_std,
        "k": settings.k,
        "max_iter": settings.max_iter,
        "seed": seed,
        "init": "zeros",
        "gamma": 0.0,
    }
    prov = provenance(seed=seed, command=command)
    with open_cells(
        output, "compressed-sensing", params, provenance=prov, validate=COMPARE_CELL
    ) as store:
        comp = compare_validated(
            flow,
            X_test,
            m_values,
            data.X_train,
            data.X_val,
            settings,
            seed,
            store=store,
            progress=progress,
            task="compressed-sensing",
        )
    table = comp.table
    table.meta.update(prov)
    return ExperimentResult(
        "compressed-sensing",
        table,
        params,
        {"compare_params": comp.params},
        seconds=time.perf_counter() - t0,
        compute_seconds=comp.compute_seconds,
    )
