r"""Out-of-distribution recovery at n = 784: a digits prior asked to recover photographs and faces.

The paper's second claim (Asim et al. 2020, Sec. 5): an invertible prior, having no
representation error, can recover images unlike those it was trained on, given enough
measurements, where a low-dimensional generator cannot. Here every prior was fitted to 28x28
digits (the pretrained Glow, :func:`lininv.flows.pretrained_flow`; the best linear Gaussian of the
same training digits) and the signals are 28x28 crops of scikit-image's photographs
(:func:`lininv.datasets.load_photo_crops28`) and faces (:func:`lininv.datasets.load_faces28`).

Two tasks per signal set, as in the digits experiments:

compressed sensing
    Gaussian :math:`A`, :math:`A_{ij} \sim N(0, 1/m)`, noiseless, at several m/n; the flow's
    latent recovery from :math:`z = 0` with :math:`\gamma = 0` (:func:`lininv.bridge.recover`,
    L-BFGS-B, as ``compressed-sensing-28``), Lasso in the 2-D DCT basis (its weight chosen per m
    on held-out signals of the same set: the baseline is given the out-of-distribution data the
    priors never saw) and the linear Gaussian's posterior mean.
denoising
    :math:`y = x + \sigma\eta`; the flow's latent MAP (:math:`\gamma = \sigma^2`), BM3D (given the
    true :math:`\sigma`; 4x4 blocks, :data:`lininv.bridge.BM3D_SMALL_PROFILE`: on 10 photo crops
    its error is within 2% of the package's default profile (2.30 against 2.26 at sigma = 0.1),
    on digits it is lower (1.51 against 2.72), it takes a ninth of the time, and unlike the
    default profile it returns the same bits on every call, which resuming needs) and the linear
    Gaussian's posterior mean.

Both tasks also run the GAN-style baseline (:func:`lininv.generators.csgm` with the shipped 28x28
VAE decoder, trained on the same digits).

Errors are :math:`\|\hat x - x\|^2` per signal with 95% intervals, PSNR (peak 1), and paired
flow-minus-baseline PSNR differences with 95% Student-t intervals over the same signals.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._estimators import denoise, map_estimate
from lininv._parallel import check_executor
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._stats import mean_ci
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.bridge import recover
from lininv.bridge._compare_cell import gan_cell, psnr_floored, squared_errors
from lininv.bridge._images import bm3d_denoise
from lininv.bridge._lasso_fista import DEFAULT_GAP_TOL, check_fractions, lasso_dct_fista
from lininv.experiments._cells import ci_fields, open_cells, require_keys, run_cells, stream
from lininv.experiments._compressed_sensing28 import LASSO_FRACTIONS
from lininv.experiments._data28 import (
    N28,
    SHAPE28,
    Stream28,
    data28,
    gaussian_measure,
    generator28,
)
from lininv.experiments._protocols import PROTOCOLS
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult

__all__ = ["out_of_distribution_28", "OOD_SETS", "OOD_RATIOS"]

NAME = "out-of-distribution-28"

#: The signal sets: photograph crops and faces.
OOD_SETS = ("photos", "faces")

#: Default undersampling ratios of the compressed-sensing task.
OOD_RATIOS = (0.04, 0.16, 0.32, 0.64)

CELL = require_keys("errors", "psnr", "flow_converged")


def signals28(which: str, n_signals: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Test and held-out signals of one set (pixels in [0, 1), dequantised like the digits)."""
    from lininv import datasets

    raw = datasets.load_photo_crops28()[0] if which == "photos" else datasets.load_faces28()
    key = OOD_SETS.index(which)
    X = datasets.dequantize(raw, levels=256, rng=stream(seed, Stream28.OOD_PICK, key, 0))
    order = stream(seed, Stream28.OOD_PICK, key, 1).permutation(X.shape[0])
    test = np.sort(order[:n_signals])
    val = np.sort(order[n_signals : n_signals + n_val])
    return X[test], X[val]


def _cell(
    flow: Any,
    prior: Any,
    generator: Any,
    X: np.ndarray,
    V: np.ndarray,
    task: str,
    key: int,
    s: dict[str, Any],
) -> dict[str, Any]:
    """Per-signal squared errors and PSNRs of every method for one (set, task setting)."""
    seed = s["seed"]
    out: dict[str, Any] = {}
    if task == "cs":
        m = key
        A, Y = gaussian_measure(X, m, 0.0, stream(seed, Stream28.OOD_MEASUREMENTS, s["set"], m, 0))
        res = recover(flow, A, Y, 0.0, init="zeros", max_iter=s["max_iter"])
        fr = np.asarray(s["lasso_fractions"])
        Av, Yv = gaussian_measure(
            V, m, 0.0, stream(seed, Stream28.OOD_MEASUREMENTS, s["set"], m, 1)
        )
        path = lasso_dct_fista(Av, Yv, fr, shape=SHAPE28, max_iter=s["lasso_max_iter"])
        best = int(np.argmin([np.mean(squared_errors(r.x, V)) for r in path]))
        lasso = lasso_dct_fista(A, Y, fr[: best + 1], shape=SHAPE28, max_iter=s["lasso_max_iter"])
        X_hat = {
            "flow": res.x,
            "lasso": lasso[-1].x,
            "gauss": np.stack([map_estimate(prior, a, y, 0.0) for a, y in zip(A, Y, strict=True)]),
        }
        X_hat["gan"], gan = gan_cell(generator, A, Y, Av, Yv, V, m, seed, PROTOCOLS["lininv"])
        out["lasso_fraction"] = float(fr[best])
        out["lasso_converged"] = float(np.mean(lasso[-1].converged))
    else:
        sigma = s["noise_std"]
        Y = X + sigma * stream(seed, Stream28.OOD_NOISE, s["set"]).standard_normal(X.shape)
        Yv = V + sigma * stream(seed, Stream28.OOD_NOISE, s["set"], 1).standard_normal(V.shape)
        eye = np.eye(N28)
        res = recover(flow, eye, Y, sigma**2, init="zeros", max_iter=s["max_iter"])
        X_hat = {
            "flow": res.x,
            "bm3d": bm3d_denoise(Y, sigma, shape=SHAPE28),  # 4x4 blocks: module docstring
            "gauss": denoise(prior, Y, sigma**2),
        }
        eyes = np.broadcast_to(eye, (V.shape[0], N28, N28))  # gan_cell slices the held-out batch
        X_hat["gan"], gan = gan_cell(generator, eye, Y, eyes, Yv, V, N28, seed, PROTOCOLS["lininv"])
    out["errors"] = {k: squared_errors(v, X) for k, v in X_hat.items()}
    out["psnr"] = {k: psnr_floored(v, X) for k, v in X_hat.items()}
    out["flow_converged"] = np.asarray(res.success, dtype=float)
    out["gan"] = gan
    out["examples"] = {k: v[: s["n_examples"]] for k, v in X_hat.items()}
    return out


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of ``a - b`` over the same signals with its 95% Student-t interval."""
    return mean_ci(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))


@register(
    NAME,
    order=8.5,
    dataset="mnist28",
    summary="n = 784: a digits prior recovering photographs and faces, vs Lasso, BM3D, linear",
    small={
        "ratios": (0.32,),
        "n_signals": 2,
        "n_val": 2,
        "max_iter": 15,
        "lasso_max_iter": 300,
    },
)
@single_blas_thread
def out_of_distribution_28(
    flow: Any = None,
    data: Any = None,
    *,
    generator: Any = None,
    sets: Sequence[str] = OOD_SETS,
    ratios: Sequence[float] = OOD_RATIOS,
    noise_std: float = 0.1,
    n_signals: int = 10,
    n_val: int = 4,
    max_iter: int = 1000,
    lasso_fractions: Sequence[float] = LASSO_FRACTIONS,
    lasso_max_iter: int = 5000,
    n_examples: int = 3,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
    executor: Any = None,
) -> ExperimentResult:
    r"""Recover photographs and faces with priors fitted to 28x28 digits.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        A flow on 28x28 images. Default: ``lininv.flows.pretrained_flow("mnist28")``.
    data : lininv.datasets.Mnist28Split, optional
        The digits the linear Gaussian is fitted to. Default: the pretrained flow's split.
    generator : lininv.generators.Generator, optional
        The GAN-style baseline trained on the digits, recovered by CSGM with the ``lininv``
        protocol's settings (3 restarts, latent weight chosen on the held-out signals). Default:
        ``lininv.generators.pretrained(32, dataset="mnist28")``.
    sets : sequence of {"photos", "faces"}, default=("photos", "faces")
    ratios : sequence of float, default=(0.04, 0.16, 0.32, 0.64)
        m/n of the compressed-sensing task; ``m = round(784 * ratio)``.
    noise_std : float, default=0.1
        :math:`\sigma` of the denoising task (> 0).
    n_signals : int, default=10
        Test signals per set (a seeded subset).
    n_val : int, default=4
        Held-out signals per set on which Lasso's weight is chosen.
    max_iter : int, default=1000
        The flow's L-BFGS-B iteration limit; a solve stopped by it counts as not converged.
    lasso_fractions : sequence of float, default=(0.3, 0.1, 0.03, 0.01, 0.003)
        Decreasing Lasso weights, fractions of :math:`\lambda_{\max}`.
    lasso_max_iter : int, default=5000
        FISTA iterations per weight.
    n_examples : int, default=3
        Reconstructions kept per cell, in ``figure_data["examples"]`` (rounded to 3 decimals, for
        display) beside the signals (``figure_data["truth"]``).
    seed : int, default=0
    output : path-like, optional
        Folder for resumable progress (``output/.cells/out-of-distribution-28.json``).
    progress : bool or callable, default=False
    command : str, optional
        The command line recorded in the provenance.
    executor : None, int, Executor, distributed.Client or str, optional
        Where the cells run (as :func:`compressed_sensing_28`); the numbers do not depend on it.

    Returns
    -------
    ExperimentResult
        One row per (set, task, m): ``{flow,lasso,bm3d,gauss,gan}_{mean,lo,hi}`` (squared
        error, 95% CI; empty where a method does not apply), ``*_psnr``, the paired PSNR
        differences of the flow and the task's baseline (``diff_psnr``, ``diff_psnr_lo``,
        ``diff_psnr_hi``; Lasso for compressed sensing, BM3D for denoising), the linear Gaussian
        (``diff_gauss_psnr*``) and the generator (``diff_gan_psnr*``), ``flow_converged``,
        ``gan_converged``, ``gan_gamma`` and ``signal_energy``. ``data["per_image"]`` maps each
        cell (``"photos-m=125"``, ``"faces-denoise"``, ...) to its per-signal ``errors`` and
        ``psnr`` by method.
    """
    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    n_signals = check_int("n_signals", n_signals, low=2)
    n_val = check_int("n_val", n_val, low=1)
    noise_std = check_real("noise_std", noise_std, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    lasso_max_iter = check_int("lasso_max_iter", lasso_max_iter, low=1)
    n_examples = check_int("n_examples", n_examples, low=0)
    progress = check_progress(progress)
    executor = check_executor(executor)
    if isinstance(sets, str) or not sets or any(s not in OOD_SETS for s in sets):
        raise ValueError(f"sets must be a non-empty sequence of {OOD_SETS}; got {sets!r}")
    sets = list(dict.fromkeys(sets))
    rs = [check_real("ratios", r, low=0.0, high=1.0, low_open=True) for r in ratios]
    ms = sorted({max(2, int(round(N28 * r))) for r in rs})
    if not ms or len(ms) != len(rs):
        raise ValueError(f"ratios must give distinct m; got {list(ratios)}")
    fr = check_fractions(lasso_fractions)
    d = data28(flow, data, 2, 1, seed)
    generator = generator28(generator)
    signals = {name: signals28(name, n_signals, n_val, seed) for name in sets}
    settings = {
        "sets": sets,
        "ms": ms,
        "n": N28,
        "noise_std": noise_std,
        "n_signals": n_signals,
        "n_val": n_val,
        "max_iter": max_iter,
        "lasso_fractions": fr,
        "lasso_max_iter": lasso_max_iter,
        "lasso_gap_tol": DEFAULT_GAP_TOL,
        "n_examples": n_examples,
        "seed": seed,
        "init": "zeros",
    }
    jobs = [(name, "cs", m) for name in sets for m in ms] + [(name, "denoise", 0) for name in sets]

    def label(job: tuple[str, str, int]) -> str:
        name, task, key = job
        return f"{name}-m={key}" if task == "cs" else f"{name}-denoise"

    prov = provenance(seed=seed, command=command)
    done: dict[str, dict[str, Any]] = {}
    with open_cells(output, NAME, settings, provenance=prov, validate=CELL) as store:
        with progress_sink(progress, NAME, len(jobs), "cell") as sink:

            def finish(job: tuple[str, str, int], cell: dict[str, Any]) -> None:
                done[label(job)] = cell
                info = ", ".join(f"{k} {np.mean(v):.3g}" for k, v in cell["errors"].items())
                sink.update(label=label(job), info=info)

            args = {
                label(job): (
                    d.flow,
                    d.prior,
                    generator,
                    *signals[job[0]],
                    job[1],
                    job[2],
                    {**settings, "set": OOD_SETS.index(job[0])},
                )
                for job in jobs
            }
            by_label = {label(job): job for job in jobs}
            run_cells(store, args, _cell, executor, lambda key, cell: finish(by_label[key], cell))
    rows = []
    examples: dict[str, Any] = {}
    for job in jobs:
        name, task, key = job
        c = done[label(job)]
        X = signals[name][0]
        row: dict[str, Any] = {"set": name, "task": task, "m": key if task == "cs" else N28}
        row["ratio"] = row["m"] / N28
        row["noise_std"] = 0.0 if task == "cs" else noise_std
        for k in ("flow", "lasso", "bm3d", "gauss", "gan"):
            if k in c["errors"]:
                row.update(ci_fields(f"{k}_", c["errors"][k]))
                row[f"{k}_psnr"] = float(np.mean(c["psnr"][k]))
            else:
                row.update(dict.fromkeys((f"{k}_mean", f"{k}_lo", f"{k}_hi", f"{k}_psnr")))
        base = "lasso" if task == "cs" else "bm3d"
        row["baseline"] = base
        mean, lo, hi = _paired(c["psnr"]["flow"], c["psnr"][base])
        row.update(diff_psnr=mean, diff_psnr_lo=lo, diff_psnr_hi=hi)
        mean, lo, hi = _paired(c["psnr"]["flow"], c["psnr"]["gauss"])
        row.update(diff_gauss_psnr=mean, diff_gauss_psnr_lo=lo, diff_gauss_psnr_hi=hi)
        mean, lo, hi = _paired(c["psnr"]["flow"], c["psnr"]["gan"])
        row.update(diff_gan_psnr=mean, diff_gan_psnr_lo=lo, diff_gan_psnr_hi=hi)
        row["gan_converged"] = c["gan"]["converged"]
        row["gan_gamma"] = c["gan"]["gamma"]
        row["flow_converged"] = float(np.mean(c["flow_converged"]))
        row["lasso_fraction"] = c.get("lasso_fraction")
        row["signal_energy"] = float(np.mean(np.sum(X**2, axis=1)))
        row["n_signals"] = int(X.shape[0])
        rows.append(row)
        examples[label(job)] = c["examples"]
    clock = [float(done[label(j)].get("_seconds") or 0.0) for j in jobs]
    truth = {name: signals[name][0][:n_examples] for name in sets}
    table = Table(list(rows[0]), rows)
    table.meta.update(prov)
    per_image = {
        label(j): {"errors": done[label(j)]["errors"], "psnr": done[label(j)]["psnr"]} for j in jobs
    }
    return ExperimentResult(
        NAME,
        table,
        settings,
        {"per_image": per_image},
        # for display only: 3 decimals are below the 1/256 grey levels (and keep the JSON small)
        figure_data={
            "examples": {c: {k: np.round(v, 3) for k, v in e.items()} for c, e in examples.items()},
            "truth": {k: np.round(v, 3) for k, v in truth.items()},
        },
        seconds=time.perf_counter() - t0,
        compute_seconds=float(sum(clock)),
    )
