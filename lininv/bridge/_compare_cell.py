r"""One cell of :func:`lininv.bridge.compare`: every method's errors at one ``m``.

Every function here takes validated arguments (:func:`lininv.bridge.compare` checks them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from lininv._estimators import map_estimate
from lininv._low_rank import LowRankPrior
from lininv._prior import LinearInvertiblePrior
from lininv._random import stream
from lininv._stats import mean_ci
from lininv.bridge._baselines import lasso_dct, low_rank_recover
from lininv.bridge._images import psnr_rows
from lininv.bridge._recovery import DEFAULT_INIT_SCALE, recover_batch
from lininv.flows._protocol import FlowPrior

__all__ = [
    "METHODS",
    "COMPARE_COLUMNS",
    "CompareStream",
    "ComparisonSettings",
    "squared_errors",
    "compare_cell",
    "table_row",
]


class CompareStream(IntEnum):
    """Named random streams of :func:`compare`: ``stream(seed, CompareStream.X, m)``."""

    #: the held-out rows of ``X_train`` used when ``X_val`` is not given
    VALIDATION_PICK = 0
    #: per ``m``: the operators ``A`` and the measurement noise of the test signals
    MEASUREMENTS = 1
    #: per ``m``: the flow's random starting latents
    INIT = 2
    #: per ``m``: the operators and noise of the held-out signals (weight selection)
    VALIDATION_MEASUREMENTS = 3
    #: per ``m``: the generator's (CSGM) random starts
    GAN_STARTS = 4
    #: the generator's representation-error starts (one cell)
    GAN_FLOOR = 5


METHODS = ("flow", "lasso", "rank_k", "gauss", "gan")

#: Held-out signals on which the generator's latent weight is chosen (CSGM with restarts is the
#: costliest baseline).
GAN_VALIDATION = 20

#: PSNRs are computed from a per-pixel MSE of at least this (rounding level of exact recovery,
#: e.g. m = n): 300 dB at most, so that a mean over images stays finite.
MSE_FLOOR = 1e-30

COMPARE_COLUMNS = [
    "m",
    *[f"{meth}_{stat}" for meth in METHODS for stat in ("mean", "lo", "hi")],
    "flow_converged",
    "flow_unconverged",
    "gan_converged",
    "flow_minus_lasso_lo",
    "flow_minus_lasso_hi",
    "flow_minus_rank_k_lo",
    "flow_minus_rank_k_hi",
    "flow_minus_gan_lo",
    "flow_minus_gan_hi",
    "rank_k_floor",
    "gan_floor",
    *[f"{meth}_psnr" for meth in METHODS],
    "noise_std",
    "local_lower",
    "local_predicted",
    "local_upper",
    "global_lower",
    "global_predicted",
    "global_upper",
    "lasso_lambda",
    "rank_k_gamma",
    "gan_gamma",
    "n_signals",
    "draws",
]


def squared_errors(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Row-wise :math:`\\|\\hat x - x\\|^2`."""
    D = X_hat - X
    return np.einsum("kn,kn->k", D, D)


@dataclass(frozen=True)
class ComparisonSettings:
    """The validated settings of one :func:`compare` run (see its parameters)."""

    noise_std: float
    gamma: float
    draws: int
    k: int
    init: str
    lasso_lambdas: np.ndarray
    rank_k_gammas: np.ndarray
    image_shape: tuple[int, int]
    reg: float
    max_iter: int
    batch: str
    chunk: int | None
    solver: str = "lbfgs"
    noise_scale: str = "fixed"
    gan_gammas: tuple[float, ...] = (0.0,)
    gan_restarts: int = 3
    gan_solver: str = "auto"
    gan_init_scale: float = 1.0
    gan_max_iter: int = 1000

    def noise_at(self, m: int) -> float:
        """The noise standard deviation per measurement at ``m``: ``noise_std``, or
        ``noise_std / sqrt(m)`` (``noise_scale="per-sqrt-m"``: ``E||eta||^2 = noise_std^2``)."""
        if self.noise_scale == "per-sqrt-m":
            return self.noise_std / float(np.sqrt(m))
        return self.noise_std

    def params(self) -> dict[str, Any]:
        """The settings as JSON-ready parameters."""
        return {
            "solver": self.solver,
            "noise_scale": self.noise_scale,
            "gan_gammas": list(self.gan_gammas),
            "gan_restarts": self.gan_restarts,
            "gan_solver": self.gan_solver,
            "gan_init_scale": self.gan_init_scale,
            "gan_max_iter": self.gan_max_iter,
            "noise_std": self.noise_std,
            "gamma": self.gamma,
            "draws": self.draws,
            "k": self.k,
            "init": self.init,
            "lasso_lambdas": self.lasso_lambdas.tolist(),
            "rank_k_gammas": self.rank_k_gammas.tolist(),
            "reg": self.reg,
            "max_iter": self.max_iter,
            "batch": self.batch,
            "chunk": self.chunk,
        }


def compare_cell(
    flow: FlowPrior,
    X_test: np.ndarray,
    X_val: np.ndarray,
    m: int,
    prior: LinearInvertiblePrior,
    linear: LowRankPrior,
    seed: int,
    settings: ComparisonSettings,
    seconds: dict[str, float],
    generator: Any = None,
) -> dict[str, Any]:
    """Errors of every method for one ``m``; per-signal arrays averaged over the draws."""
    noise_std, gamma, draws = settings.noise_at(m), settings.gamma, settings.draws
    lams, rgams, shape = settings.lasso_lambdas, settings.rank_k_gammas, settings.image_shape
    N, n = X_test.shape
    gen = stream(seed, CompareStream.MEASUREMENTS, m)
    X = np.repeat(X_test, draws, axis=0)  # signal i, draw d at row i * draws + d
    A = gen.standard_normal((N * draws, m, n)) / np.sqrt(m)
    Y = np.einsum("kmn,kn->km", A, X) + noise_std * gen.standard_normal((N * draws, m))

    def per_signal(e: np.ndarray) -> np.ndarray:
        return e.reshape(N, draws).mean(axis=1)

    t0 = time.perf_counter()
    res = recover_batch(
        flow,
        A,
        Y,
        gamma,
        init=settings.init,
        init_scale=DEFAULT_INIT_SCALE.get(settings.init),
        gen=stream(seed, CompareStream.INIT, m),
        max_iter=settings.max_iter,
        batch=settings.batch,
        chunk=settings.chunk,
        solver=settings.solver,
    )
    e_flow = per_signal(squared_errors(res.x, X))
    seconds["flow"] += time.perf_counter() - t0
    recon = {"flow": res.x}

    t0 = time.perf_counter()
    vgen = stream(seed, CompareStream.VALIDATION_MEASUREMENTS, m)
    Av = vgen.standard_normal((X_val.shape[0], m, n)) / np.sqrt(m)
    Yv = np.einsum("kmn,kn->km", Av, X_val) + noise_std * vgen.standard_normal((X_val.shape[0], m))
    if len(lams) > 1:
        val_err = [
            float(np.mean(squared_errors(Xh, X_val)))
            for Xh in lasso_dct(Av, Yv, list(lams), shape=shape)
        ]
        lam = float(lams[int(np.argmin(val_err))])
    else:  # a fixed weight (the paper's protocol): nothing to choose
        val_err, lam = [], float(lams[0])
    recon["lasso"] = lasso_dct(A, Y, lam, shape=shape)
    e_lasso = per_signal(squared_errors(recon["lasso"], X))
    seconds["lasso"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    val_rank = [
        float(np.mean(squared_errors(low_rank_recover(linear, Av, Yv, g), X_val))) for g in rgams
    ]
    rank_gamma = float(rgams[int(np.argmin(val_rank))])
    recon["rank_k"] = low_rank_recover(linear, A, Y, rank_gamma)
    e_rank = per_signal(squared_errors(recon["rank_k"], X))
    seconds["rank_k"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    X_gauss = np.stack(
        [map_estimate(prior, Aj, yj, noise_std) for Aj, yj in zip(A, Y, strict=True)]
    )
    e_gauss = per_signal(squared_errors(X_gauss, X))
    recon["gauss"] = X_gauss
    seconds["gauss"] += time.perf_counter() - t0
    errors = {"flow": e_flow, "lasso": e_lasso, "rank_k": e_rank, "gauss": e_gauss}
    cell: dict[str, Any] = {
        "m": m,
        "noise_std": noise_std,
        "converged": float(np.mean(res.success)),
        "flow_unconverged": int(np.sum(~np.asarray(res.success))),
        "lasso_lambda": lam,
        "lasso_validation_errors": val_err,
        "rank_k_gamma": rank_gamma,
        "rank_k_validation_errors": val_rank,
    }
    if generator is not None:
        t0 = time.perf_counter()
        recon["gan"], cell["gan"] = gan_cell(generator, A, Y, Av, Yv, X_val, m, seed, settings)
        errors["gan"] = per_signal(squared_errors(recon["gan"], X))
        seconds["gan"] = seconds.get("gan", 0.0) + time.perf_counter() - t0
    cell["errors"] = errors
    cell["psnr"] = {
        meth: per_signal(psnr_floored(Xh, X)) for meth, Xh in recon.items() if meth in errors
    }
    return cell


def psnr_floored(X_hat: np.ndarray, X: np.ndarray) -> np.ndarray:
    """:func:`lininv.bridge.psnr` per row (clipped to [0, 1], peak 1) with the MSE floored at :data:`MSE_FLOOR`."""
    return psnr_rows(X_hat, X, mse_floor=MSE_FLOOR)


def gan_cell(
    generator: Any,
    A: np.ndarray,
    Y: np.ndarray,
    Av: np.ndarray,
    Yv: np.ndarray,
    X_val: np.ndarray,
    m: int,
    seed: int,
    settings: ComparisonSettings,
) -> tuple[np.ndarray, dict[str, Any]]:
    """CSGM with the generator: the latent weight chosen on held-out signals, then the test ones."""
    from lininv.generators import csgm

    def solve(A_: np.ndarray, Y_: np.ndarray, g: float, key: int) -> Any:
        start = int(stream(seed, CompareStream.GAN_STARTS, m, key).integers(2**62))
        return csgm(
            generator,
            A_,
            Y_,
            g,
            restarts=settings.gan_restarts,
            init_scale=settings.gan_init_scale,
            solver=settings.gan_solver,
            max_iter=settings.gan_max_iter,
            rng=start,
        )

    gams = settings.gan_gammas
    val = []
    if len(gams) > 1:
        v = min(GAN_VALIDATION, X_val.shape[0])
        val = [
            float(np.mean(squared_errors(solve(Av[:v], Yv[:v], g, 0).x, X_val[:v]))) for g in gams
        ]
    g_best = float(gams[int(np.argmin(val))]) if val else float(gams[0])
    res = solve(A, Y, g_best, 1)
    info = {
        "gamma": g_best,
        "validation_errors": val,
        "converged": float(np.mean(res.converged)),
        "restart_converged": float(np.mean(res.restart_converged)),
        "solver": res.solver,
    }
    return res.x, info


def table_row(
    cell: dict[str, Any],
    m: int,
    i: int,
    floor: np.ndarray,
    glob: Any,
    n_signals: int,
    settings: ComparisonSettings,
    gan_floor: Any = None,
) -> dict[str, Any]:
    """The table row of one finished cell (``i``: the index of ``m`` in the grid)."""
    per = {meth: np.asarray(v, dtype=float) for meth, v in cell["errors"].items()}
    row: dict[str, Any] = {"m": m}
    for meth in METHODS:
        if meth not in per:
            continue
        row[f"{meth}_mean"], row[f"{meth}_lo"], row[f"{meth}_hi"] = mean_ci(per[meth])
        if "psnr" in cell and meth in cell["psnr"]:
            row[f"{meth}_psnr"] = float(np.mean(cell["psnr"][meth]))
    if "gan" in per:
        _, row["flow_minus_gan_lo"], row["flow_minus_gan_hi"] = mean_ci(per["flow"] - per["gan"])
        row["gan_converged"] = cell["gan"]["converged"]
        row["gan_gamma"] = cell["gan"]["gamma"]
        row["gan_floor"] = None if gan_floor is None else float(np.mean(gan_floor))
    row["noise_std"] = cell.get("noise_std", settings.noise_std)
    _, row["flow_minus_lasso_lo"], row["flow_minus_lasso_hi"] = mean_ci(per["flow"] - per["lasso"])
    _, row["flow_minus_rank_k_lo"], row["flow_minus_rank_k_hi"] = mean_ci(
        per["flow"] - per["rank_k"]
    )
    row["flow_converged"] = cell["converged"]
    # solves that missed the tolerance: in the means above, and counted here (cells stored before
    # the count existed give it from the fraction)
    row["flow_unconverged"] = int(
        cell.get("flow_unconverged", round((1.0 - cell["converged"]) * n_signals * settings.draws))
    )
    row["rank_k_floor"] = float(floor.mean())
    # a bound that does not exist (HMT's upper bound with noise) is NaN in the cell, None here
    row["local_lower"], row["local_predicted"], row["local_upper"] = (
        None if v is None or not np.isfinite(v) else v for v in cell["local"]
    )
    row["global_lower"] = float(glob.lower[i])
    row["global_predicted"] = float(glob.predicted[i])
    row["global_upper"] = None if settings.noise_std > 0 else float(glob.upper[i])
    if "global" in cell:  # computed in the cell (noise that depends on m)
        row["global_lower"], row["global_predicted"], row["global_upper"] = cell["global"]
    row["lasso_lambda"] = cell["lasso_lambda"]
    row["rank_k_gamma"] = cell["rank_k_gamma"]
    row["n_signals"] = n_signals
    row["draws"] = settings.draws
    return row
