r"""The paper's four experiments in miniature, on scikit-learn's 8x8 digits (THEORY.md section 9).

Each experiment is a function returning an :class:`ExperimentResult` (a table, a figure, the
settings); ``lininv experiments NAME`` runs one and writes it to a folder. Every experiment takes
``out=None``: given a folder, each finished cell is saved there (atomically) and a rerun resumes.
"""

from __future__ import annotations

import functools
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lininv._errors import conditional_error, denoising_error, optimal_denoising_gamma
from lininv._estimators import denoise, mle
from lininv._io import atomic_write
from lininv._low_rank import LowRankPrior
from lininv._measurements import mask_measurements
from lininv._prior import LinearInvertiblePrior
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real, describe
from lininv.bridge._baselines import (
    DEFAULT_LASSO_LAMBDAS,
    DEFAULT_RANK_K_GAMMAS,
    lasso_dct,
    low_rank_recover,
)
from lininv.bridge._compare import compare, mean_ci, squared_errors
from lininv.bridge._figures import (
    plot_comparison,
    plot_denoising,
    plot_images,
    plot_initialisation,
    plot_inpainting,
    plot_likelihood_proxy,
)
from lininv.bridge._predictions import local_singular_values
from lininv.bridge._recovery import check_flow, recover
from lininv.bridge._store import CellStore, cell_rng, to_jsonable

__all__ = [
    "DigitsData",
    "ExperimentResult",
    "EXPERIMENTS",
    "SMALL",
    "digits_data",
    "compressed_sensing",
    "denoising",
    "inpainting",
    "initialisation",
    "dataset_bias",
    "likelihood_proxy",
    "centre_mask",
    "training_recipe",
]


# -- data -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsData:
    """Dequantised digits in the flow's units (pixels in [0, 1)), split for the experiments.

    Attributes
    ----------
    X_train : ndarray of shape (N_train, 64)
        The flow's training images, dequantised once: the best linear Gaussian and the rank-k
        generator are fitted to them.
    X_val : ndarray of shape (N_val, 64)
        A random subset of the training images on which Lasso weights, ridge weights and the flow's
        ``gamma`` are chosen (never the test images).
    X_test : ndarray of shape (N_test, 64)
        Held-out test images, dequantised once.
    y_train, y_test : ndarray of int
        Labels.
    """

    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def digits_data(split: Any = None, *, n_val: int = 100, rng: Any = 0) -> DigitsData:
    """Dequantise a digits split (default: the one the default flow was trained on).

    Parameters
    ----------
    split : lininv.datasets.DigitsSplit, optional
        Integer images; default ``lininv.datasets.reference_split()``.
    n_val : int, default=100
        Training images drawn as the validation subset.
    rng : int, default=0
        Seed of the dequantisation noise and of the validation subset.

    Returns
    -------
    DigitsData
    """
    from lininv import datasets

    if split is None:
        split = datasets.reference_split()
    n_val = check_int("n_val", n_val, low=2, high=split.X_train.shape[0])
    seed = check_int("rng", rng, low=0, reason=" (an integer seed)")
    X_train = datasets.dequantize(split.X_train, rng=cell_rng(seed, 10))
    X_test = datasets.dequantize(split.X_test, rng=cell_rng(seed, 11))
    pick = np.sort(cell_rng(seed, 12).permutation(X_train.shape[0])[:n_val])
    return DigitsData(
        X_train, X_train[pick], X_test, np.asarray(split.y_train), np.asarray(split.y_test)
    )


def _default_flow_and_data(flow: Any, data: Any) -> tuple[Any, DigitsData]:
    """The default flow and its split unless given."""
    from lininv import flows

    split = None
    if flow is None:
        out = flows.default_flow()
        flow, split = (out[0], out[1]) if isinstance(out, tuple) else (out, None)
    check_flow(flow)
    if data is None:
        data = digits_data(split)
    elif not isinstance(data, DigitsData):
        raise TypeError(f"data must be a DigitsData or None; got {describe(data)}")
    return flow, data


def _subset(
    X: np.ndarray, size: int | None, rng: np.random.Generator, name: str = "n_test"
) -> np.ndarray:
    """A seeded random subset of ``size`` rows in their original order (all rows for None)."""
    if size is not None:
        size = check_int(name, size, low=2)
    if size is None or size >= X.shape[0]:
        return X
    return X[np.sort(rng.permutation(X.shape[0])[:size])]


# -- results ----------------------------------------------------------------------------------------


@dataclass
class ExperimentResult:
    """What an experiment returns.

    Attributes
    ----------
    name : str
    table : Table
        The numbers.
    figure : matplotlib Figure
    params : dict
        Every setting, the seed included.
    data : dict
        Further results (JSON-serialisable), e.g. chosen weights or summaries.
    seconds : float
        Wall-clock time of this call (resumed cells cost nothing).
    compute_seconds : float
        Wall-clock time of computing every cell, summed, whichever run computed them (a
        resumed run reports the original cost).
    """

    name: str
    table: Table
    figure: Any
    params: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    compute_seconds: float = 0.0

    def save(self, folder: Any) -> list[str]:
        """Write ``NAME.csv``, ``NAME.json`` (table, settings, data, time) and ``NAME.png``."""
        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        base = os.path.join(folder, self.name)
        self.table.to_csv(base + ".csv")
        payload = {
            "name": self.name,
            "params": to_jsonable(self.params),
            "table": self.table.to_dict(),
            "data": to_jsonable(self.data),
            "seconds": self.seconds,
            "compute_seconds": self.compute_seconds,
        }
        atomic_write(base + ".json", json.dumps(payload, indent=1))
        png = io.BytesIO()
        self.figure.savefig(png, format="png", dpi=130, bbox_inches="tight")
        atomic_write(base + ".png", png.getvalue())
        return [base + ".csv", base + ".json", base + ".png"]


def _store(out: Any, name: str, params: dict[str, Any]) -> CellStore | None:
    if out is None:
        return None
    return CellStore(os.path.join(os.fspath(out), ".cells", name), params)


def _cached(
    store: CellStore | None,
    key: str,
    compute: Callable[[], dict[str, Any]],
    clock: list[float] | None = None,
) -> dict:
    """A cell's value from the store, or computed (and stored with its compute time).

    The compute time (``"_seconds"``) is appended to ``clock`` either way, so that a resumed run
    still reports what its cells cost when they were computed.
    """
    value = store.get(key) if store is not None else None
    if value is None:
        t0 = time.perf_counter()
        value = to_jsonable(compute())
        value["_seconds"] = time.perf_counter() - t0
        if store is not None:
            store.put(key, value)
    if clock is not None:
        clock.append(float(value.get("_seconds") or 0.0))
    return value


def _figure(ncols: int = 1, width: float = 6.4) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, 4.4), squeeze=False)
    return fig, axes[0]


def _stats(prefix: str, e: Any) -> dict[str, float]:
    mean, lo, hi = mean_ci(e)
    return {f"{prefix}mean": mean, f"{prefix}lo": lo, f"{prefix}hi": hi}


# -- 1. compressed sensing --------------------------------------------------------------------------


@single_blas_thread
def compressed_sensing(
    flow: Any = None,
    data: DigitsData | None = None,
    *,
    ms: Sequence[int] = (4, 8, 16, 24, 32, 40, 48, 56, 64),
    n_test: int | None = 100,
    draws: int = 1,
    noise_std: float = 0.0,
    k: int = 16,
    max_iter: int = 1000,
    seed: int = 0,
    out: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    r"""Experiment 1: recovery error vs ``m`` for the flow, Lasso, rank-k and the linear theory.

    Gaussian :math:`A` (:math:`A_{ij} \sim N(0, 1/m)`, one per test image and draw), noiseless by
    default, ``gamma = 0``, L-BFGS from ``z = 0`` as in the paper's main runs; see
    :func:`lininv.bridge.compare` for the columns.

    Parameters
    ----------
    flow : lininv.flows.Flow, optional
        Default: ``lininv.flows.default_flow()``.
    data : DigitsData, optional
        Default: :func:`digits_data` of the default flow's split.
    ms : sequence of int, default=(4, 8, ..., 64)
    n_test : int or None, default=100
        Test images used (a seeded random subset; None for all).
    draws : int, default=1
    noise_std : float, default=0.0
    k : int, default=16
        Rank of the linear generator (see :func:`lininv.bridge.compare`).
    max_iter : int, default=1000
    seed : int, default=0
    out : path-like, optional
        Folder for resumable progress.
    progress : bool, default=False

    Returns
    -------
    ExperimentResult
    """
    t0 = time.perf_counter()
    flow, data = _default_flow_and_data(flow, data)
    seed = check_int("seed", seed, low=0)
    X_test = _subset(data.X_test, n_test, cell_rng(seed, 20))
    params = {
        "ms": [int(m) for m in ms],
        "n_test": int(X_test.shape[0]),
        "draws": draws,
        "noise_std": noise_std,
        "k": k,
        "max_iter": max_iter,
        "seed": seed,
        "init": "zeros",
        "gamma": 0.0,
    }
    store = _store(out, "compressed-sensing", params)
    comp = compare(
        flow,
        X_test,
        list(ms),
        X_train=data.X_train,
        X_val=data.X_val,
        noise_std=noise_std,
        draws=draws,
        k=k,
        max_iter=max_iter,
        rng=seed,
        store=store,
        progress=progress,
    )
    fig, (ax,) = _figure(width=7.2)
    plot_comparison(comp, ax)
    ax.set_title(
        "Compressed sensing on 8x8 digits: flow prior vs linear theory and baselines", fontsize=9
    )
    return ExperimentResult(
        "compressed-sensing",
        comp.table,
        fig,
        params,
        {"compare_params": comp.params},
        time.perf_counter() - t0,
        comp.compute_seconds,
    )


# -- 2. denoising -----------------------------------------------------------------------------------


@single_blas_thread
def denoising(
    flow: Any = None,
    data: DigitsData | None = None,
    *,
    noise_stds: Sequence[float] = (0.05, 0.1, 0.2),
    gammas: Sequence[float] = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0),
    n_test: int | None = 60,
    max_iter: int = 1000,
    seed: int = 0,
    out: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    r"""Experiment 2: denoising error vs ``gamma`` at several noise levels.

    ``y = x0 + eta``, :math:`\eta \sim N(0, \sigma^2 I)`, the same noise for every ``gamma``;
    the flow solves :math:`\min_z \|G(z) - y\|^2 + \gamma\|z\|^2` from ``z = 0``. Beside it: the
    best linear Gaussian's latent denoiser (:func:`lininv.denoise`) on the same ``y`` and its
    expected error (:func:`lininv.denoising_error`), the latter also with the flow's Jacobian
    spectra at the truth (``local_expected``). The linear optimum is ``gamma = sigma^2``
    (:func:`lininv.optimal_denoising_gamma`).

    Returns
    -------
    ExperimentResult
        Columns ``noise_std, gamma, flow_mean, flow_lo, flow_hi, flow_converged, gauss_mean,
        gauss_lo, gauss_hi, gauss_expected, local_expected, linear_optimal_gamma``;
        ``data["best_gamma"]`` maps each noise level to the flow's best ``gamma`` on the test set.
    """
    t0 = time.perf_counter()
    flow, data = _default_flow_and_data(flow, data)
    seed = check_int("seed", seed, low=0)
    sigmas = [check_real("noise_stds", float(s), low=0.0, low_open=True) for s in noise_stds]
    gams = [check_real("gammas", float(g), low=0.0) for g in gammas]
    X = _subset(data.X_test, n_test, cell_rng(seed, 20))
    N, n = X.shape
    params = {"noise_stds": sigmas, "gammas": gams, "n_test": N, "max_iter": max_iter, "seed": seed}
    clock: list[float] = []
    store = _store(out, "denoising", params)
    prior = LinearInvertiblePrior.fit(data.X_train)
    s_fit = prior.singular_values
    S_local = None
    cols = [
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
    table = Table(cols, title="Denoising error ||x_hat - x0||^2 vs gamma")
    eye = np.eye(n)
    for si, sigma in enumerate(sigmas):
        Y = X + sigma * cell_rng(seed, 21, si).standard_normal(X.shape)
        for gi, gamma in enumerate(gams):

            def cell(sigma=sigma, gamma=gamma, Y=Y) -> dict[str, Any]:
                nonlocal S_local
                if S_local is None:
                    S_local = local_singular_values(flow, X)
                res = recover(flow, eye, Y, gamma, max_iter=max_iter)
                return {
                    "flow": squared_errors(res.x, X),
                    "converged": float(np.mean(res.success)),
                    "gauss": squared_errors(denoise(prior, Y, gamma), X),
                    "gauss_expected": denoising_error(s_fit, sigma, gamma),
                    "local_expected": float(
                        np.mean([denoising_error(s, sigma, gamma) for s in S_local])
                    ),
                }

            c = _cached(store, f"sigma{si}-gamma{gi}", cell, clock)
            row = {"noise_std": sigma, "gamma": gamma, "flow_converged": c["converged"]}
            row.update(_stats("flow_", c["flow"]))
            row.update(_stats("gauss_", c["gauss"]))
            row["gauss_expected"] = c["gauss_expected"]
            row["local_expected"] = c["local_expected"]
            row["linear_optimal_gamma"] = optimal_denoising_gamma(sigma)
            table.append(row)
            if progress:
                print(
                    f"sigma = {sigma:g}, gamma = {gamma:g}: flow {row['flow_mean']:.4g}, "
                    f"gauss {row['gauss_mean']:.4g}",
                    flush=True,
                )
    best = {}
    for sigma in sigmas:
        sub = table.where(noise_std=sigma)
        i = int(np.argmin(sub.column("flow_mean")))
        best[str(sigma)] = {"gamma": sub.rows[i]["gamma"], "flow_mean": sub.rows[i]["flow_mean"]}
    fig, (ax,) = _figure(width=7.2)
    plot_denoising(table, ax)
    ax.set_title("Denoising on 8x8 digits: error vs gamma", fontsize=9)
    return ExperimentResult(
        "denoising", table, fig, params, {"best_gamma": best}, time.perf_counter() - t0, sum(clock)
    )


# -- 3. inpainting ----------------------------------------------------------------------------------


def centre_mask(shape: tuple[int, int] = (8, 8), hole: int = 4) -> np.ndarray:
    """Boolean mask of the observed pixels: all but a centred ``hole x hole`` block.

    Examples
    --------
    >>> from lininv.bridge import centre_mask
    >>> int(centre_mask().sum())
    48
    """
    rows, cols = shape
    obs = np.ones(shape, dtype=bool)
    r0, c0 = (rows - hole) // 2, (cols - hole) // 2
    obs[r0 : r0 + hole, c0 : c0 + hole] = False
    return obs.ravel()


@single_blas_thread
def inpainting(
    flow: Any = None,
    data: DigitsData | None = None,
    *,
    hole: int = 4,
    n_test: int | None = 100,
    random_stds: Sequence[float] = (0.7, 1.0),
    k: int = 16,
    max_iter: int = 1000,
    seed: int = 0,
    out: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    r"""Experiment 3: inpainting a centred ``hole x hole`` block; flow from ``z = 0`` vs random starts.

    The operator is a row subset of the identity (:func:`centre_mask`, 48 of 64 pixels
    for the default hole), ``gamma = 0``, noiseless. Beside the flow: the best linear Gaussian's
    MLE (its conditional mean) with its exact expected error for this mask
    (:func:`lininv.conditional_error`), the same expected error for the linearised flow at each
    test image (local), the rank-k generator and Lasso-DCT (weights chosen on held-out images).

    Returns
    -------
    ExperimentResult
        Rows per method: ``method, mean, lo, hi, converged, linear_expected``.
    """
    t0 = time.perf_counter()
    flow, data = _default_flow_and_data(flow, data)
    seed = check_int("seed", seed, low=0)
    hole = check_int("hole", hole, low=1, high=7)
    X = _subset(data.X_test, n_test, cell_rng(seed, 20))
    N, n = X.shape
    stds = [check_real("random_stds", float(s), low=0.0, low_open=True) for s in random_stds]
    params = {
        "hole": hole,
        "n_test": N,
        "random_stds": stds,
        "k": k,
        "max_iter": max_iter,
        "seed": seed,
    }
    clock: list[float] = []
    store = _store(out, "inpainting", params)
    A = mask_measurements(centre_mask((8, 8), hole), n)
    Y = X @ A.T
    Yv = data.X_val @ A.T
    prior = LinearInvertiblePrior.fit(data.X_train)
    generator = LowRankPrior.fit(data.X_train, k)
    table = Table(
        ["method", "mean", "lo", "hi", "converged", "linear_expected"],
        title=f"Inpainting a centred {hole}x{hole} hole: ||x_hat - x0||^2",
    )
    examples: dict[str, np.ndarray] = {}

    def flow_cell(init: str, std: float | None, index: int) -> dict[str, Any]:
        res = recover(
            flow,
            A,
            Y,
            0.0,
            init=init,
            init_scale=std,
            rng=cell_rng(seed, 30, index),
            max_iter=max_iter,
        )
        return {
            "errors": squared_errors(res.x, X),
            "converged": float(np.mean(res.success)),
            "examples": res.x[:6],
        }

    runs: list[tuple[str, str, float | None]] = [("flow, z_init = 0", "zeros", None)]
    runs += [(f"flow, z_init ~ N(0, {s:g}^2 I)", "random", s) for s in stds]
    for index, (label, init, std) in enumerate(runs):
        c = _cached(store, label, functools.partial(flow_cell, init, std, index), clock)
        table.append({"method": label, **_stats("", c["errors"]), "converged": c["converged"]})
        examples[label] = np.asarray(c["examples"])
        if progress:
            print(f"{label}: {table.rows[-1]['mean']:.4g}", flush=True)

    def baselines() -> dict[str, Any]:
        Sj = local_singular_values(flow, X)
        Z = flow.inverse(X)[0]
        J = flow.jacobian(Z)
        local = [conditional_error(LinearInvertiblePrior(Jj), A) for Jj in J]
        lam_err = [
            float(np.mean(squared_errors(Xh, data.X_val)))
            for Xh in lasso_dct(A, Yv, DEFAULT_LASSO_LAMBDAS)
        ]
        lam = float(DEFAULT_LASSO_LAMBDAS[int(np.argmin(lam_err))])
        g_err = [
            float(np.mean(squared_errors(low_rank_recover(generator, A, Yv, g), data.X_val)))
            for g in DEFAULT_RANK_K_GAMMAS
        ]
        g_best = float(DEFAULT_RANK_K_GAMMAS[int(np.argmin(g_err))])
        X_gauss = mle(prior, A, Y)
        X_lasso = lasso_dct(A, Y, lam)
        X_rank = low_rank_recover(generator, A, Y, g_best)
        return {
            "gauss": squared_errors(X_gauss, X),
            "gauss_expected": conditional_error(prior, A),
            "local_expected": float(np.mean(local)),
            "local_min_s": float(Sj.min()),
            "lasso": squared_errors(X_lasso, X),
            "lasso_lambda": lam,
            "rank_k": squared_errors(X_rank, X),
            "rank_k_gamma": g_best,
            "rank_k_floor": generator.representation_error(X),
            "examples": {"gauss": X_gauss[:6], "lasso": X_lasso[:6], "rank_k": X_rank[:6]},
        }

    b = _cached(store, "baselines", baselines, clock)
    table.rows[0]["linear_expected"] = b["local_expected"]  # the flow from z = 0: local theory
    table.append(
        {
            "method": "best linear Gaussian (MLE)",
            **_stats("", b["gauss"]),
            "linear_expected": b["gauss_expected"],
        }
    )
    table.append({"method": f"rank-{k} generator", **_stats("", b["rank_k"])})
    table.append({"method": "Lasso, 2-D DCT", **_stats("", b["lasso"])})
    table.append({"method": f"rank-{k} floor", **_stats("", b["rank_k_floor"])})
    for name in ("gauss", "lasso", "rank_k"):
        examples[name] = np.asarray(b["examples"][name])

    fig, (ax1, ax2) = _figure(2, width=11.0)
    plot_inpainting(table, ax1)
    ax1.set_title(f"Inpainting a centred {hole}x{hole} hole (48 of 64 pixels seen)", fontsize=9)
    masked = np.where(centre_mask((8, 8), hole), X[:6], np.nan)
    rows = [X[:6], masked] + [examples[label] for label, _, _ in runs]
    rows += [examples["gauss"], examples["lasso"]]
    labels = ["truth", "observed"] + [label.replace("flow, ", "flow ") for label, _, _ in runs]
    labels += ["Gaussian MLE", "Lasso-DCT"]
    plot_images(np.stack(rows), ax2, row_labels=labels)
    data_out = {"lasso_lambda": b["lasso_lambda"], "rank_k_gamma": b["rank_k_gamma"]}
    return ExperimentResult(
        "inpainting", table, fig, params, data_out, time.perf_counter() - t0, sum(clock)
    )


# -- 4a. initialisation and regularisation ----------------------------------------------------------


@single_blas_thread
def initialisation(
    flow: Any = None,
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
    out: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    r"""Experiment 4a: error vs the norm of the initial latent, at ``gamma = 0`` and the best ``gamma``.

    At fixed ``m`` (Gaussian ``A`` per test image, noiseless) the flow starts from a latent of
    given norm in a uniformly random direction (``fixed_norm``; ``0`` is ``z = 0``), and from the
    paper's other starts: ``random`` (std 0.7), ``null_space`` (the truth plus ``null_space_std``
    times a null-space perturbation, a low-likelihood global minimiser at ``gamma = 0``) and
    ``pseudo_inverse``. The "best" ``gamma`` is the one of ``gamma_grid`` with the least mean
    error on ``n_val`` held-out images started at the largest norm, the low-likelihood start that
    regularisation is meant to rescue; it is then used at every start.

    Returns
    -------
    ExperimentResult
        Rows ``init, init_norm (mean ||z_init||), gamma, mean, lo, hi, converged``;
        ``data["best_gamma"]`` and the validation errors.
    """
    t0 = time.perf_counter()
    flow, data = _default_flow_and_data(flow, data)
    seed = check_int("seed", seed, low=0)
    n = int(flow.n)
    m = check_int("m", m, low=1, high=n)
    radii = [check_real("norms", float(r), low=0.0) for r in norms]
    grid = [check_real("gamma_grid", float(g), low=0.0, low_open=True) for g in gamma_grid]
    X = _subset(data.X_test, n_test, cell_rng(seed, 20))
    Xv = _subset(data.X_val, n_val, cell_rng(seed, 22), "n_val")
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
    store = _store(out, "initialisation", params)
    A = cell_rng(seed, 40).standard_normal((X.shape[0], m, n)) / np.sqrt(m)
    Y = np.einsum("kmn,kn->km", A, X)
    Av = cell_rng(seed, 41).standard_normal((Xv.shape[0], m, n)) / np.sqrt(m)
    Yv = np.einsum("kmn,kn->km", Av, Xv)

    def start(init: str, r: float | None) -> tuple[str, float | None]:
        if init == "fixed_norm" and r == 0.0:
            return "zeros", None
        return init, r

    def solve(A_, Y_, X_, gamma, init, scale, key) -> dict[str, Any]:
        init_, scale_ = start(init, scale)
        res = recover(
            flow,
            A_,
            Y_,
            gamma,
            init=init_,
            init_scale=scale_,
            x_true=X_ if init_ == "null_space" else None,
            rng=cell_rng(seed, 42, key),
            max_iter=max_iter,
        )
        return {
            "errors": squared_errors(res.x, X_),
            "converged": float(np.mean(res.success)),
            "init_norm": float(np.mean(np.linalg.norm(res.z_init, axis=1))),
        }

    val = []
    for gi, g in enumerate(grid):
        c = _cached(
            store,
            f"val-gamma{gi}",
            functools.partial(solve, Av, Yv, Xv, g, "fixed_norm", max(radii), 0),
            clock,
        )
        val.append(float(np.mean(c["errors"])))
    best_gamma = grid[int(np.argmin(val))]
    table = Table(
        ["init", "init_norm", "gamma", "mean", "lo", "hi", "converged"],
        title=f"Initialisation at m = {m}: ||x_hat - x0||^2",
    )
    starts: list[tuple[str, float | None]] = [("fixed_norm", r) for r in radii]
    starts += [("random", 0.7), ("null_space", null_space_std), ("pseudo_inverse", None)]
    for gamma_label, gamma in (("0", 0.0), ("best", best_gamma)):
        for si, (init, scale) in enumerate(starts):
            c = _cached(
                store,
                f"{init}-{si}-gamma-{gamma_label}",
                functools.partial(solve, A, Y, X, gamma, init, scale, 100 + si),
                clock,
            )
            table.append(
                {
                    "init": init,
                    "init_norm": c["init_norm"],
                    "gamma": gamma,
                    **_stats("", c["errors"]),
                    "converged": c["converged"],
                }
            )
            if progress:
                print(
                    f"gamma = {gamma:g}, {init} ({scale}): {table.rows[-1]['mean']:.4g}", flush=True
                )
    fig, (ax,) = _figure(width=7.2)
    plot_initialisation(table, ax)
    ax.set_title(f"Initialisation and regularisation, m = {m}, n = {n}", fontsize=9)
    data_out = {
        "best_gamma": best_gamma,
        "validation_errors": dict(zip(map(str, grid), val, strict=True)),
    }
    return ExperimentResult(
        "initialisation", table, fig, params, data_out, time.perf_counter() - t0, sum(clock)
    )


# -- 4b. dataset bias / out of distribution ---------------------------------------------------------


def training_recipe() -> dict[str, Any]:
    """The default flow's architecture, data split and training settings (from its metadata).

    :func:`dataset_bias` trains its flow with exactly these (class excluded, ``epochs`` and seed
    as given), so the biased flow differs from the default one only by its training data. Every
    keyword of :func:`lininv.flows.fit` recorded in ``metadata["training"]`` is taken from there,
    else from the canonical ``metadata["command"]`` (``lininv train-flow`` spells out every
    option), so options added to the recipe later are followed too.

    Returns
    -------
    dict
        ``{"architecture": {...}, "data": {...}, "training": {fit keyword: value}}``.
    """
    import inspect
    import shlex

    from lininv import flows

    meta = flows.default_flow().flow.metadata
    options: dict[str, str] = {}
    words = shlex.split(str(meta.get("command", "")))
    for key, value in zip(words, words[1:], strict=False):
        if key.startswith("--"):
            options[key[2:].replace("-", "_")] = value
    recorded = dict(meta.get("training", {}))
    skip = {"flow", "X", "X_val", "dequantize", "progress", "checkpoint", "rng"}
    training: dict[str, Any] = {}
    for name, par in inspect.signature(flows.fit).parameters.items():
        if name in skip or par.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        if name in recorded:
            training[name] = recorded[name]
        elif name in options:
            kind = float if par.default is None else type(par.default)
            training[name] = kind(options[name])
    missing = {"epochs", "lr", "batch_size", "patience", "val_fraction"} - set(training)
    if missing:
        raise ValueError(
            f"the default flow's metadata does not record its training {sorted(missing)}"
        )
    return {
        "architecture": dict(meta["architecture"]),
        "data": dict(meta["data"]),
        "training": training,
    }


def _train_flow_without(
    exclude: int, seed: int, epochs: int | None, train: Callable | None
) -> tuple[Any, Any]:
    """``(flow, split)``: a flow trained like the default one, on its split without ``exclude``."""
    from lininv import datasets, flows

    recipe = training_recipe()
    arch, data, opts = recipe["architecture"], recipe["data"], dict(recipe["training"])
    split = datasets.split_digits(n_train=data["n_train"], exclude=exclude, rng=data["split_seed"])
    if train is not None:
        return train(split), split
    flow = flows.realnvp(
        arch["n"],
        arch["n_layers"],
        arch["hidden"],
        activation=arch["activation"],
        mixing=arch["mixing"],
        logit=arch["logit"],
        rng=seed,
    )
    if epochs is not None:
        opts["epochs"] = epochs
    flows.fit(flow, split.X_train, dequantize=True, progress=False, rng=seed, **opts)
    return flow, split


def dataset_bias(
    flow: Any = None,
    *,
    exclude: int = 0,
    ms: Sequence[int] = (4, 8, 16, 32, 48, 56, 64),
    n_test: int | None = None,
    k: int = 16,
    max_iter: int = 1000,
    n_val: int = 100,
    epochs: int | None = None,
    seed: int = 0,
    train: Callable[[Any], Any] | None = None,
    out: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    r"""Experiment 4b: train without one digit class, recover that class (out of distribution).

    The flow (trained like the default flow on the reference split with class ``exclude``
    removed), the best linear Gaussian and the rank-k generator (both fitted to the same biased
    training set) recover the test images of the excluded class from ``m`` Gaussian measurements.
    An invertible prior has no representation error, so its error can fall to zero as ``m -> n``;
    the rank-k generator's cannot fall below its floor.

    Parameters
    ----------
    flow : lininv.flows.Flow, optional
        A flow already trained without the class (skips training).
    exclude : int, default=0
        The held-out class, fixed in advance (not chosen by results).
    n_val : int, default=100
        Training images on which the baselines' weights are chosen.
    epochs : int, optional
        Epoch limit of the training (default: the recipe's; early stopping usually ends it
        sooner).
    train : callable, optional
        ``train(split) -> flow`` replacing the default training recipe
        (:func:`training_recipe`: the default flow's architecture, split and optimiser settings,
        with seed ``seed``).

    Returns
    -------
    ExperimentResult
        The :func:`lininv.bridge.compare` table on the excluded class.
    """
    from lininv import datasets, flows

    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    exclude = check_int("exclude", exclude, low=0, high=9)
    params = {
        "exclude": exclude,
        "ms": [int(m) for m in ms],
        "n_test": n_test,
        "k": k,
        "max_iter": max_iter,
        "epochs": epochs,
        "n_val": n_val,
        "seed": seed,
        "custom_flow": flow is not None,
        "custom_train": train is not None,
        "recipe": training_recipe()["training"] if flow is None and train is None else None,
    }
    store = _store(out, "dataset-bias", params)
    path = (
        None if out is None else os.path.join(os.fspath(out), ".cells", "dataset-bias", "flow.npz")
    )
    train_seconds = 0.0
    split = None
    if flow is None:
        if path is not None and os.path.exists(path):
            flow = flows.load(path)
            assert store is not None
            train_seconds = float((store.get("training") or {}).get("_seconds") or 0.0)
        else:
            t1 = time.perf_counter()
            flow, split = _train_flow_without(exclude, seed, epochs, train)
            train_seconds = time.perf_counter() - t1
            if path is not None:
                flow.save(path)
                assert store is not None
                store.put("training", {"_seconds": train_seconds})
    if split is None:
        data_meta = training_recipe()["data"]
        split = datasets.split_digits(
            n_train=data_meta["n_train"], exclude=exclude, rng=data_meta["split_seed"]
        )
    check_flow(flow)
    data = digits_data(split, n_val=n_val)
    X_ood = data.X_test[data.y_test == exclude]
    X_ood = _subset(X_ood, n_test, cell_rng(seed, 20))
    comp = compare(
        flow,
        X_ood,
        list(ms),
        X_train=data.X_train,
        X_val=data.X_val,
        k=k,
        max_iter=max_iter,
        rng=seed,
        store=store,
        progress=progress,
    )
    fig, (ax,) = _figure(width=7.2)
    plot_comparison(comp, ax)
    ax.set_title(
        f"Out of distribution: trained without digit {exclude}, recovering {exclude}s", fontsize=9
    )
    return ExperimentResult(
        "dataset-bias",
        comp.table,
        fig,
        params,
        {"train_seconds": train_seconds, "n_ood": int(X_ood.shape[0])},
        time.perf_counter() - t0,
        train_seconds + comp.compute_seconds,
    )


# -- 4c. latent likelihood as a proxy ---------------------------------------------------------------


@single_blas_thread
def likelihood_proxy(
    flow: Any = None,
    data: DigitsData | None = None,
    *,
    n_samples: int = 2000,
    seed: int = 0,
    out: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    r"""Is :math:`\|z\|^2` a proxy for :math:`-\log p_G(x)`? Spearman rank correlation.

    For the flow: over samples :math:`x = G(z)`, :math:`z \sim N(0, I)`, and over the test images
    (:math:`z = G^{-1}(x)`). For the best linear Gaussian as a flow (control),
    :math:`-\log p_G(x) = \|z\|^2/2 + \text{const}`, an exact monotone transform: the rank
    correlation is exactly 1.

    Returns
    -------
    ExperimentResult
        Rows ``flow, signals, n, spearman_rho, p_value``.
    """
    from scipy import stats

    from lininv import flows

    t0 = time.perf_counter()
    flow, data = _default_flow_and_data(flow, data)
    seed = check_int("seed", seed, low=0)
    n_samples = check_int("n_samples", n_samples, low=3)
    params = {"n_samples": n_samples, "seed": seed}
    linear = flows.linear_flow(LinearInvertiblePrior.fit(data.X_train))
    table = Table(
        ["flow", "signals", "n", "spearman_rho", "p_value"],
        title="Rank correlation of ||z||^2 and -log p_G(x)",
    )
    scatter = {}
    for name, f in (("trained flow", flow), ("best linear Gaussian", linear)):
        for source in ("samples", "test images"):
            if source == "samples":
                x = f.sample(n_samples, rng=cell_rng(seed, 50))
            else:
                x = data.X_test
            z = np.asarray(f.inverse(x)[0])
            z_sq = np.einsum("kn,kn->k", z, z)
            nll = -np.asarray(f.log_prob(x))
            rho, p = stats.spearmanr(z_sq, nll)
            table.append(
                {
                    "flow": name,
                    "signals": source,
                    "n": int(x.shape[0]),
                    "spearman_rho": float(rho),
                    "p_value": float(p),
                }
            )
            scatter[(name, source)] = (z_sq, nll)
            if progress:
                print(f"{name}, {source}: rho = {rho:.4f}", flush=True)
    fig, (ax1, ax2) = _figure(2, width=10.0)
    plot_likelihood_proxy(*scatter[("trained flow", "samples")], ax1, label="trained flow, samples")
    plot_likelihood_proxy(
        *scatter[("trained flow", "test images")], ax1, label="trained flow, test images"
    )
    plot_likelihood_proxy(
        *scatter[("best linear Gaussian", "samples")], ax2, label="best linear Gaussian, samples"
    )
    ax1.set_title("Trained flow", fontsize=9)
    ax2.set_title("Linear flow: exactly monotone", fontsize=9)
    elapsed = time.perf_counter() - t0
    return ExperimentResult("likelihood-proxy", table, fig, params, {}, elapsed, elapsed)


#: Experiment functions by command-line name.
EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {
    "compressed-sensing": compressed_sensing,
    "denoising": denoising,
    "inpainting": inpainting,
    "initialisation": initialisation,
    "dataset-bias": dataset_bias,
    "likelihood-proxy": likelihood_proxy,
}

#: Reduced settings (``lininv experiments NAME --small``; the tests and notebooks use them).
SMALL: dict[str, dict[str, Any]] = {
    "compressed-sensing": {"ms": (8, 32, 64), "n_test": 8, "max_iter": 300},
    "denoising": {"noise_stds": (0.1,), "gammas": (0.0, 0.01, 0.1), "n_test": 8},
    "inpainting": {"n_test": 8, "random_stds": (0.7,), "max_iter": 300},
    "initialisation": {
        "norms": (0.0, 8.0),
        "gamma_grid": (0.01, 0.1),
        "n_test": 6,
        "n_val": 4,
        "max_iter": 300,
    },
    "dataset-bias": {"ms": (16, 64), "n_test": 6, "n_val": 20, "max_iter": 300, "epochs": 2},
    "likelihood-proxy": {"n_samples": 300},
}
