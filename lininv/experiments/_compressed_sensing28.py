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
from lininv._parallel import check_executor
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._stats import mean_ci
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.bridge import recover
from lininv.bridge._compare_cell import gan_cell, psnr_floored, squared_errors
from lininv.bridge._lasso_fista import DEFAULT_GAP_TOL, check_fractions, lasso_dct_fista
from lininv.bridge._predictions import spectrum_predictions
from lininv.experiments._cells import ci_fields, open_cells, require_keys, run_cells, stream
from lininv.experiments._data28 import Stream28, data28, gaussian_measure, generator28
from lininv.experiments._factor import measurement_factor
from lininv.experiments._protocols import protocol as get_protocol
from lininv.experiments._protocols import stem
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult

__all__ = ["compressed_sensing_28", "RATIOS", "LASSO_FRACTIONS"]

#: The paper's undersampling ratios m/n.
RATIOS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)

#: Lasso weights tried on validation images, as fractions of lambda_max (a warm-started path).
LASSO_FRACTIONS = (0.3, 0.1, 0.03, 0.01, 0.003)

NAME = "compressed-sensing-28"

CELL = require_keys("m", "errors", "psnr", "flow_converged", "lasso_converged", "lasso_fraction")


def _cell(
    flow: Any,
    prior: Any,
    generator: Any,
    X: np.ndarray,
    V: np.ndarray,
    m: int,
    s: dict[str, Any],
) -> dict[str, Any]:
    """Every method's per-image squared errors and PSNRs at one ``m``."""
    std = s["noise"] / np.sqrt(m)  # E||eta||^2 = noise^2
    A, Y = gaussian_measure(X, m, std, stream(s["seed"], Stream28.MEASUREMENTS, m))
    Av, Yv = gaussian_measure(V, m, std, stream(s["seed"], Stream28.VAL_MEASUREMENTS, m))
    res = recover(flow, A, Y, 0.0, init="zeros", max_iter=s["max_iter"])
    x_gan, gan = gan_cell(generator, A, Y, Av, Yv, V, m, s["seed"], get_protocol(s["protocol"]))

    fr = np.asarray(s["lasso_fractions"])
    if s["lasso_weight"] == "fixed":  # the paper's lambda, no choice
        val, best, path_converged = [], 0, float("nan")
        lasso = lasso_dct_fista(
            A, Y, fr, shape=(28, 28), max_iter=s["lasso_max_iter"], absolute=True
        )[-1]
    else:
        path = lasso_dct_fista(Av, Yv, fr, shape=(28, 28), max_iter=s["lasso_max_iter"])
        val = [float(np.mean(squared_errors(r.x, V))) for r in path]
        best = int(np.argmin(val))
        path_converged = float(np.mean([r.converged.mean() for r in path]))
        lasso = lasso_dct_fista(A, Y, fr[: best + 1], shape=(28, 28), max_iter=s["lasso_max_iter"])[
            -1
        ]
    X_gauss = np.stack([map_estimate(prior, Aj, yj, std) for Aj, yj in zip(A, Y, strict=True)])
    X_hat = {"flow": res.x, "lasso": lasso.x, "gauss": X_gauss, "gan": x_gan}
    return {
        "m": m,
        "errors": {k: squared_errors(v, X) for k, v in X_hat.items()},
        "psnr": {k: psnr_floored(v, X) for k, v in X_hat.items()},
        "flow_converged": res.success,
        "flow_iterations": res.iterations,
        "lasso_converged": lasso.converged,
        "lasso_gap": lasso.gap,
        "lasso_fraction": float(fr[best]),
        "lasso_validation_errors": val,
        "lasso_validation_converged": path_converged,
        "gan": gan,
    }


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
    protocols=("lininv", "paper"),
)
@single_blas_thread
def compressed_sensing_28(
    flow: Any = None,
    data: Any = None,
    *,
    generator: Any = None,
    ratios: Sequence[float] = RATIOS,
    n_test: int = 20,
    n_val: int = 8,
    noise: float | None = None,
    max_iter: int | None = None,
    lasso_fractions: Sequence[float] = LASSO_FRACTIONS,
    lasso_max_iter: int = 5000,
    n_boot: int = 2000,
    protocol: str = "lininv",
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
    generator : lininv.generators.Generator, optional
        The GAN-style baseline, recovered by CSGM (:func:`lininv.generators.csgm`) with the
        protocol's settings (``lininv``: 3 restarts, latent weight chosen on the validation
        images; ``paper``: one start, ``gamma = 0``). Default:
        ``lininv.generators.pretrained(32, dataset="mnist28")``.
    ratios : sequence of float, default=(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)
        m/n; ``m = round(784 * ratio)``, at least 2.
    n_test : int, default=20
        Test images (a seeded subset).
    n_val : int, default=8
        Validation images for Lasso's weight.
    noise : float, optional
        Measurement noise of expected norm ``noise`` (standard deviation ``noise / sqrt(m)`` per
        measurement). Default: the protocol's, 0 (``lininv``) or 0.1 (``paper``).
    max_iter : int, optional
        The flow's L-BFGS-B iteration limit; a solve stopped by it counts as not converged.
        Default: 1000 (``lininv``), 600 (``paper``, GlowIP's budget).
    lasso_fractions : sequence of float, default=(0.3, 0.1, 0.03, 0.01, 0.003)
        Decreasing Lasso weights as fractions of :math:`\lambda_{\max}`, one chosen per ratio
        on the validation images (``lininv``). Under ``paper`` Lasso's weight is GlowIP's fixed
        :math:`\lambda = 0.01` (absolute) and this is ignored.
    lasso_max_iter : int, default=5000
        FISTA iterations per weight (convergence: relative duality gap ``<= 1e-6``).
    n_boot : int, default=2000
        Bootstrap resamples for the measurement factor's interval.
    protocol : {"lininv", "paper"}, default="lininv"
        :mod:`lininv.experiments._protocols`; the result's files are ``NAME.paper.*`` under
        ``paper``.
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
        stall far away), the median errors (``*_median``), the mean PSNRs (``*_psnr``) and
        the paired flow-minus-Lasso and flow-minus-generator PSNR differences with 95%
        Student-t intervals (``diff_psnr*``, ``diff_gan_psnr*``). ``data`` holds ``ms`` and the
        per-image ``errors`` and ``psnr`` of every method (``[i][j]``: ``ms[i]``, image ``j``),
        which :func:`lininv.experiments.claims_28` reads.
    """
    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    n_test = check_int("n_test", n_test, low=2)
    n_val = check_int("n_val", n_val, low=1)
    proto = get_protocol(protocol)
    noise = proto.cs_noise if noise is None else check_real("noise", noise, low=0.0)
    if max_iter is None:
        max_iter = 1000 if proto.name == "lininv" else proto.max_iter
    max_iter = check_int("max_iter", max_iter, low=1)
    lasso_max_iter = check_int("lasso_max_iter", lasso_max_iter, low=1)
    n_boot = check_int("n_boot", n_boot, low=10)
    progress = check_progress(progress)
    executor = check_executor(executor)
    rs = [check_real("ratios", r, low=0.0, high=1.0, low_open=True) for r in ratios]
    ms = sorted({max(2, int(round(784 * r))) for r in rs})
    if len(ms) != len(rs) or len(ms) < 2:
        raise ValueError(f"ratios must give at least 2 distinct m; got {list(ratios)}")
    fr = check_fractions(lasso_fractions)
    d = data28(flow, data, n_test, n_val, seed)
    flow, prior, X_val, X_test = d.flow, d.prior, d.X_val, d.X_test
    generator = generator28(generator)
    settings = {
        "ms": ms,
        "n": 784,
        "n_test": int(X_test.shape[0]),
        "n_val": int(X_val.shape[0]),
        "noise": noise,
        "max_iter": max_iter,
        "lasso_weight": "fixed" if proto.name == "paper" else "validation",
        "lasso_fractions": list(proto.lasso_lambdas) if proto.name == "paper" else fr,
        "lasso_max_iter": lasso_max_iter,
        "lasso_gap_tol": DEFAULT_GAP_TOL,
        "seed": seed,
        "init": "zeros",
        "gamma": 0.0,
        "protocol": proto.name,
    }
    name = stem(NAME, proto.name)
    prov = provenance(seed=seed, command=command)
    done: dict[int, dict[str, Any]] = {}
    with open_cells(output, name, settings, provenance=prov, validate=CELL) as store:
        with progress_sink(progress, name, len(ms), "cell") as sink:

            def finish(m: int, cell: dict[str, Any]) -> None:
                done[m] = cell
                info = ", ".join(
                    f"{k} {np.mean(cell['errors'][k]):.3g}" for k in ("flow", "lasso", "gauss")
                )
                sink.update(label=f"m={m}", info=info)

            jobs = {f"m={m}": (flow, prior, generator, X_test, X_val, m, settings) for m in ms}
            run_cells(store, jobs, _cell, executor, lambda key, cell: finish(int(key[2:]), cell))
    cells = [done[m] for m in ms]
    clock = [float(c.get("_seconds") or 0.0) for c in cells]
    E = {
        k: np.array([c["errors"][k] for c in cells], dtype=float)
        for k in ("flow", "lasso", "gauss", "gan")
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
    pred = [
        float(spectrum_predictions(prior.singular_values, [m], noise / np.sqrt(m)).predicted[0])
        for m in ms
    ]
    rows = []
    for i, (m, c) in enumerate(zip(ms, cells, strict=True)):
        row: dict[str, Any] = {"ratio": m / 784, "m": m}
        for k in ("flow", "lasso", "gauss", "gan"):
            row.update(ci_fields(f"{k}_", E[k][i]))
        for k in ("flow", "lasso", "gauss", "gan"):
            row[f"{k}_median"] = float(np.median(E[k][i]))
        for k in ("flow", "lasso", "gauss", "gan"):
            row[f"{k}_psnr"] = float(np.mean(c["psnr"][k]))
        flow_psnr = np.asarray(c["psnr"]["flow"], float)
        for other, key in (("lasso", "diff_psnr"), ("gan", "diff_gan_psnr")):
            diff = flow_psnr - np.asarray(c["psnr"][other], float)
            row.update(zip((key, f"{key}_lo", f"{key}_hi"), mean_ci(diff), strict=True))
        row["gan_converged"] = c["gan"]["converged"]
        row["gan_gamma"] = c["gan"]["gamma"]
        row["gauss_predicted"] = pred[i]
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
        {
            "signal_energy": float(np.mean(np.sum(X_test**2, axis=1))),
            "ms": ms,
            "errors": {k: v.tolist() for k, v in E.items()},
            "psnr": {k: [c["psnr"][k] for c in cells] for k in E},
            "protocol": proto.name,
        },
        figure_data={"ms": ms, "signal_energy": float(np.mean(np.sum(X_test**2, axis=1)))},
        seconds=time.perf_counter() - t0,
        compute_seconds=float(sum(clock)),
        protocol=proto.name,
    )
