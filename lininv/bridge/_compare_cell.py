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


METHODS = ("flow", "lasso", "rank_k", "gauss")

COMPARE_COLUMNS = [
    "m",
    *[f"{meth}_{stat}" for meth in METHODS for stat in ("mean", "lo", "hi")],
    "flow_converged",
    "flow_minus_lasso_lo",
    "flow_minus_lasso_hi",
    "flow_minus_rank_k_lo",
    "flow_minus_rank_k_hi",
    "rank_k_floor",
    "local_lower",
    "local_predicted",
    "local_upper",
    "global_lower",
    "global_predicted",
    "global_upper",
    "lasso_lambda",
    "rank_k_gamma",
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

    def params(self) -> dict[str, Any]:
        """The settings as JSON-ready parameters."""
        return {
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
    generator: LowRankPrior,
    seed: int,
    settings: ComparisonSettings,
    seconds: dict[str, float],
) -> dict[str, Any]:
    """Errors of every method for one ``m``; per-signal arrays averaged over the draws."""
    noise_std, gamma, draws = settings.noise_std, settings.gamma, settings.draws
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
    )
    e_flow = per_signal(squared_errors(res.x, X))
    seconds["flow"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    vgen = stream(seed, CompareStream.VALIDATION_MEASUREMENTS, m)
    Av = vgen.standard_normal((X_val.shape[0], m, n)) / np.sqrt(m)
    Yv = np.einsum("kmn,kn->km", Av, X_val) + noise_std * vgen.standard_normal((X_val.shape[0], m))
    val_err = [
        float(np.mean(squared_errors(Xh, X_val))) for Xh in lasso_dct(Av, Yv, lams, shape=shape)
    ]
    lam = float(lams[int(np.argmin(val_err))])
    e_lasso = per_signal(squared_errors(lasso_dct(A, Y, lam, shape=shape), X))
    seconds["lasso"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    val_rank = [
        float(np.mean(squared_errors(low_rank_recover(generator, Av, Yv, g), X_val))) for g in rgams
    ]
    rank_gamma = float(rgams[int(np.argmin(val_rank))])
    e_rank = per_signal(squared_errors(low_rank_recover(generator, A, Y, rank_gamma), X))
    seconds["rank_k"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    X_gauss = np.stack(
        [map_estimate(prior, Aj, yj, noise_std) for Aj, yj in zip(A, Y, strict=True)]
    )
    e_gauss = per_signal(squared_errors(X_gauss, X))
    seconds["gauss"] += time.perf_counter() - t0
    return {
        "m": m,
        "errors": {"flow": e_flow, "lasso": e_lasso, "rank_k": e_rank, "gauss": e_gauss},
        "converged": float(np.mean(res.success)),
        "lasso_lambda": lam,
        "lasso_validation_errors": val_err,
        "rank_k_gamma": rank_gamma,
        "rank_k_validation_errors": val_rank,
    }


def table_row(
    cell: dict[str, Any],
    m: int,
    i: int,
    floor: np.ndarray,
    glob: Any,
    n_signals: int,
    settings: ComparisonSettings,
) -> dict[str, Any]:
    """The table row of one finished cell (``i``: the index of ``m`` in the grid)."""
    per = {meth: np.asarray(cell["errors"][meth], dtype=float) for meth in METHODS}
    row: dict[str, Any] = {"m": m}
    for meth in METHODS:
        row[f"{meth}_mean"], row[f"{meth}_lo"], row[f"{meth}_hi"] = mean_ci(per[meth])
    _, row["flow_minus_lasso_lo"], row["flow_minus_lasso_hi"] = mean_ci(per["flow"] - per["lasso"])
    _, row["flow_minus_rank_k_lo"], row["flow_minus_rank_k_hi"] = mean_ci(
        per["flow"] - per["rank_k"]
    )
    row["flow_converged"] = cell["converged"]
    row["rank_k_floor"] = float(floor.mean())
    row["local_lower"], row["local_predicted"], row["local_upper"] = cell["local"]
    row["global_lower"] = float(glob.lower[i])
    row["global_predicted"] = float(glob.predicted[i])
    row["global_upper"] = None if settings.noise_std > 0 else float(glob.upper[i])
    row["lasso_lambda"] = cell["lasso_lambda"]
    row["rank_k_gamma"] = cell["rank_k_gamma"]
    row["n_signals"] = n_signals
    row["draws"] = settings.draws
    return row
