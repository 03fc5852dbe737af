r"""Compressed sensing at n = 784: the 28x28 flow, Lasso and the linear Gaussian, m/n = 1% to 64%.

The setting of :func:`lininv.experiments.compressed_sensing` (Gaussian :math:`A`,
:math:`A_{ij} \sim N(0, 1/m)`, one per test image; noiseless by default; the flow's latent
recovery from :math:`z = 0` with :math:`\gamma = 0` by :func:`lininv.bridge.recover`) on the 28x28
digits with the pretrained Glow (:func:`lininv.flows.pretrained_flow`), at the paper's
undersampling ratios. Lasso in the 2-D DCT basis is solved by FISTA with a duality-gap
certificate (``lininv.bridge._lasso_fista``; cvxpy takes seconds per problem at this size), its
weight a fraction of :math:`\lambda_{\max}` chosen per ratio on validation images. The best linear
Gaussian of the (dequantised) training images gives the posterior-mean error and the linear
theory's prediction (:func:`lininv.bridge.spectrum_predictions`). The Lasso-to-flow measurement
factor at equal error, with a paired bootstrap interval, is :mod:`._factor`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._estimators import map_estimate
from lininv._io import to_jsonable
from lininv._parallel import Workers, check_executor, imap_unordered
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.bridge import recover
from lininv.bridge._compare_cell import squared_errors
from lininv.bridge._lasso_fista import DEFAULT_GAP_TOL, lasso_dct_fista
from lininv.bridge._predictions import spectrum_predictions
from lininv.experiments._cells import ci_fields, open_cells, require_keys, stream
from lininv.experiments._data28 import Stream28, data28, gaussian_measure
from lininv.experiments._factor import measurement_factor
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult

__all__ = ["compressed_sensing_28", "RATIOS", "LASSO_FRACTIONS"]

#: The paper's undersampling ratios m/n.
RATIOS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)

#: Lasso weights tried on validation images, as fractions of lambda_max (a warm-started path).
LASSO_FRACTIONS = (0.3, 0.1, 0.03, 0.01, 0.003)

NAME = "compressed-sensing-28"

CELL = require_keys("m", "errors", "flow_converged", "lasso_converged", "lasso_fraction")


def _cell(
    flow: Any,
    prior: Any,
    X: np.ndarray,
    V: np.ndarray,
    m: int,
    s: dict[str, Any],
) -> dict[str, Any]:
    """Every method's per-image squared errors at one ``m``."""
    A, Y = gaussian_measure(X, m, s["noise_std"], stream(s["seed"], Stream28.MEASUREMENTS, m))
    res = recover(flow, A, Y, 0.0, init="zeros", max_iter=s["max_iter"])
    e_flow = squared_errors(res.x, X)

    fr = np.asarray(s["lasso_fractions"])
    Av, Yv = gaussian_measure(V, m, s["noise_std"], stream(s["seed"], Stream28.VAL_MEASUREMENTS, m))
    path = lasso_dct_fista(Av, Yv, fr, shape=(28, 28), max_iter=s["lasso_max_iter"])
    val = [float(np.mean(squared_errors(r.x, V))) for r in path]
    best = int(np.argmin(val))
    lasso = lasso_dct_fista(A, Y, fr[: best + 1], shape=(28, 28), max_iter=s["lasso_max_iter"])[-1]
    e_lasso = squared_errors(lasso.x, X)

    X_gauss = np.stack(
        [map_estimate(prior, Aj, yj, s["noise_std"]) for Aj, yj in zip(A, Y, strict=True)]
    )
    e_gauss = squared_errors(X_gauss, X)
    return {
        "m": m,
        "errors": {"flow": e_flow, "lasso": e_lasso, "gauss": e_gauss},
        "flow_converged": res.success,
        "flow_iterations": res.iterations,
        "lasso_converged": lasso.converged,
        "lasso_gap": lasso.gap,
        "lasso_fraction": float(fr[best]),
        "lasso_validation_errors": val,
        "lasso_validation_converged": float(np.mean([r.converged.mean() for r in path])),
    }


@single_blas_thread  # one BLAS thread in whichever worker runs it, as in the caller
def _timed_cell(
    flow: Any, prior: Any, X: np.ndarray, V: np.ndarray, m: int, s: dict[str, Any]
) -> dict[str, Any]:
    """:func:`_cell` as stored: JSON-ready, with its compute time (``"_seconds"``)."""
    t0 = time.perf_counter()
    value = to_jsonable(_cell(flow, prior, X, V, m, s))
    value["_seconds"] = time.perf_counter() - t0
    return value


@register(
    NAME,
    order=7,
    dataset="mnist28",
    summary="n = 784: flow vs Lasso vs the linear Gaussian at m/n = 1..64%, measurement factor",
    small={
        "ratios": (0.04, 0.32),
        "n_test": 2,
        "n_val": 2,
        "max_iter": 15,
        "lasso_max_iter": 300,
        "n_boot": 200,
    },
)
@single_blas_thread
def compressed_sensing_28(
    flow: Any = None,
    data: Any = None,
    *,
    ratios: Sequence[float] = RATIOS,
    n_test: int = 20,
    n_val: int = 8,
    noise_std: float = 0.0,
    max_iter: int = 1000,
    lasso_fractions: Sequence[float] = LASSO_FRACTIONS,
    lasso_max_iter: int = 5000,
    n_boot: int = 2000,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
    executor: Any = None,
) -> ExperimentResult:
    r"""Recovery error vs m/n at n = 784 for the flow, Lasso and the linear Gaussian.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        A flow on 28x28 images. Default: ``lininv.flows.pretrained_flow("mnist28")``.
    data : lininv.datasets.Mnist28Split, optional
        Integer images (dequantised here). Default: the pretrained flow's split.
    ratios : sequence of float, default=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)
        m/n; ``m = round(784 * ratio)``, at least 2.
    n_test : int, default=20
        Test images (a seeded subset).
    n_val : int, default=8
        Validation images for Lasso's weight.
    noise_std : float, default=0.0
        Measurement noise.
    max_iter : int, default=1000
        The flow's L-BFGS-B iteration limit; a solve stopped by it counts as not converged.
    lasso_fractions : sequence of float, default=(0.3, 0.1, 0.03, 0.01, 0.003)
        Decreasing Lasso weights as fractions of :math:`\lambda_{\max}`.
    lasso_max_iter : int, default=5000
        FISTA iterations per weight (convergence: relative duality gap ``<= 1e-6``).
    n_boot : int, default=2000
        Bootstrap resamples for the measurement factor's interval.
    seed : int, default=0
    output : path-like, optional
        Folder for resumable progress (``output/.cells/compressed-sensing-28.json``).
    progress : bool or callable, default=False
    command : str, optional
        The command line recorded in the provenance.
    executor : None, int, Executor, distributed.Client or str, optional
        Where the cells (one per ratio) run: in-process by default; an int is that many worker
        processes; a Dask client or scheduler address runs them on the cluster. Each cell's
        randomness is keyed by the seed and its m alone, so the table does not depend on it.

    Returns
    -------
    ExperimentResult
        One row per ratio: mean squared errors :math:`\|\hat x - x\|^2` with 95% Student-t
        intervals (``flow_*``, ``lasso_*``, ``gauss_*``), the linear theory's prediction for the
        linear Gaussian (``gauss_predicted``), convergence fractions, Lasso's weight and the
        Lasso-to-flow measurement factor at equal mean error (``factor``, ``factor_lo``,
        ``factor_hi``, ``factor_bound``, ``factor_censored``) and at equal median error
        (``factor_median*``; the flow's errors are heavy-tailed: most recoveries succeed, a few
        stall far away), and the median errors (``*_median``).
    """
    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    n_test = check_int("n_test", n_test, low=2)
    n_val = check_int("n_val", n_val, low=1)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    max_iter = check_int("max_iter", max_iter, low=1)
    lasso_max_iter = check_int("lasso_max_iter", lasso_max_iter, low=1)
    n_boot = check_int("n_boot", n_boot, low=10)
    progress = check_progress(progress)
    executor = check_executor(executor)
    rs = [check_real("ratios", r, low=0.0, high=1.0, low_open=True) for r in ratios]
    ms = sorted({max(2, int(round(784 * r))) for r in rs})
    if len(ms) != len(rs) or len(ms) < 2:
        raise ValueError(f"ratios must give at least 2 distinct m; got {list(ratios)}")
    fr = [
        check_real("lasso_fractions", f, low=0.0, high=1.0, low_open=True) for f in lasso_fractions
    ]
    if not fr or any(b >= a for a, b in zip(fr, fr[1:], strict=False)):
        raise ValueError(f"lasso_fractions must be decreasing; got {list(lasso_fractions)}")
    d = data28(flow, data, n_test, n_val, seed)
    flow, prior, X_val, X_test = d.flow, d.prior, d.X_val, d.X_test
    settings = {
        "ms": ms,
        "n": 784,
        "n_test": int(X_test.shape[0]),
        "n_val": int(X_val.shape[0]),
        "noise_std": noise_std,
        "max_iter": max_iter,
        "lasso_fractions": fr,
        "lasso_max_iter": lasso_max_iter,
        "lasso_gap_tol": DEFAULT_GAP_TOL,
        "seed": seed,
        "init": "zeros",
        "gamma": 0.0,
    }
    prov = provenance(seed=seed, command=command)
    done: dict[int, dict[str, Any]] = {}
    with open_cells(output, NAME, settings, provenance=prov, validate=CELL) as store:
        with progress_sink(progress, NAME, len(ms), "cell") as sink:

            def finish(m: int, cell: dict[str, Any]) -> None:
                done[m] = cell
                info = ", ".join(
                    f"{k} {np.mean(cell['errors'][k]):.3g}" for k in ("flow", "lasso", "gauss")
                )
                sink.update(label=f"m={m}", info=info)

            todo = []
            for m in ms:
                saved = store.get(f"m={m}") if store is not None else None
                if saved is None:
                    todo.append(m)
                else:
                    finish(m, saved)
            with Workers(executor if todo else None, tasks=len(todo)) as workers:
                tasks = [(flow, prior, X_test, X_val, m, settings) for m in todo]
                for i, cell in imap_unordered(workers, _timed_cell, tasks):
                    if store is not None:
                        store.put(f"m={todo[i]}", cell)
                    finish(todo[i], cell)
    cells = [done[m] for m in ms]
    clock = [float(c.get("_seconds") or 0.0) for c in cells]
    E = {
        k: np.array([c["errors"][k] for c in cells], dtype=float)
        for k in ("flow", "lasso", "gauss")
    }
    mf, mf_med = (
        measurement_factor(
            np.array(ms),
            E["flow"],
            E["lasso"],
            n_boot=n_boot,
            rng=stream(seed, Stream28.BOOTSTRAP, i),
            statistic=stat,
        )
        for i, stat in enumerate(("mean", "median"))
    )
    pred = spectrum_predictions(prior.singular_values, ms, noise_std)
    rows = []
    for i, (m, c) in enumerate(zip(ms, cells, strict=True)):
        row: dict[str, Any] = {"ratio": m / 784, "m": m}
        for k in ("flow", "lasso", "gauss"):
            row.update(ci_fields(f"{k}_", E[k][i]))
        for k in ("flow", "lasso", "gauss"):
            row[f"{k}_median"] = float(np.median(E[k][i]))
        row["gauss_predicted"] = float(pred.predicted[i])
        row["flow_converged"] = float(np.mean(c["flow_converged"]))
        row["lasso_converged"] = float(np.mean(c["lasso_converged"]))
        row["lasso_fraction"] = c["lasso_fraction"]
        row.update(
            factor=float(mf.factor[i]),
            factor_lo=float(mf.lo[i]),
            factor_hi=float(mf.hi[i]),
            factor_bound=str(mf.bound[i]),
            factor_censored=float(mf.censored[i]),
            factor_median=float(mf_med.factor[i]),
            factor_median_lo=float(mf_med.lo[i]),
            factor_median_hi=float(mf_med.hi[i]),
            factor_median_bound=str(mf_med.bound[i]),
        )
        row["n_signals"] = int(X_test.shape[0])
        rows.append(row)
    table = Table(list(rows[0]), rows)
    table.meta.update(prov)
    return ExperimentResult(
        NAME,
        table,
        settings,
        {"signal_energy": float(np.mean(np.sum(X_test**2, axis=1)))},
        figure_data={"ms": ms, "signal_energy": float(np.mean(np.sum(X_test**2, axis=1)))},
        seconds=time.perf_counter() - t0,
        compute_seconds=float(sum(clock)),
    )
