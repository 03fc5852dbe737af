r"""Experiment 3: inpainting a centred hole, the flow from ``z = 0`` against random starts."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._errors import conditional_error
from lininv._estimators import mle
from lininv._low_rank import LowRankPrior
from lininv._measurements import mask_measurements
from lininv._prior import LinearInvertiblePrior
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.bridge._baselines import (
    DEFAULT_LASSO_LAMBDAS,
    DEFAULT_RANK_K_GAMMAS,
    lasso_dct,
    low_rank_recover,
)
from lininv.bridge._compare import COMPARE_NEEDS
from lininv.bridge._compare_cell import squared_errors
from lininv.bridge._predictions import singular_values_at
from lininv.bridge._recovery import recover_batch
from lininv.experiments._cells import Stream, cached, ci_fields, open_cells, stream
from lininv.experiments._data import DigitsData, centre_mask, flow_and_data, subset
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult
from lininv.flows._protocol import FlowPrior

__all__ = ["inpainting"]

#: How many test images the figure shows.
N_EXAMPLES = 6


@register(
    "inpainting",
    order=3,
    summary="a centred 4x4 hole: the flow from z = 0 vs random starts, beside the baselines",
    small={"n_test": 8, "random_stds": (0.7,), "max_iter": 300},
)
@single_blas_thread
def inpainting(
    flow: FlowPrior | None = None,
    data: DigitsData | None = None,
    *,
    hole: int = 4,
    n_test: int | None = 100,
    random_stds: Sequence[float] = (0.7, 1.0),
    k: int = 16,
    max_iter: int = 1000,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Experiment 3: inpainting a centred ``hole x hole`` block; flow from ``z = 0`` vs random starts.

    The operator is a row subset of the identity (:func:`centre_mask`, 48 of 64 pixels
    for the default hole), ``gamma = 0``, noiseless. Beside the flow: the best linear Gaussian's
    MLE (its conditional mean) with its exact expected error for this mask
    (:func:`lininv.conditional_error`), the same expected error for the linearised flow at each
    test image (local), the rank-k generator and Lasso-DCT (weights chosen on held-out images).

    Parameters
    ----------
    flow : lininv.flows.FlowPrior, optional
        Default: ``lininv.flows.default_flow()``.
    data : DigitsData, optional
        Default: :func:`digits_data` of the default flow's split.
    hole : int, default=4
        Side of the missing square, ``1 <= hole <= 7``.
    n_test : int or None, default=100
        Test images used (a seeded random subset; None for all).
    random_stds : sequence of float, default=(0.7, 1.0)
        Standard deviations of the random starts :math:`z \sim N(0, s^2 I)`
        (:attr:`Stream.INPAINTING_STARTS`).
    k : int, default=16
        Rank of the linear generator.
    max_iter : int, default=1000
        L-BFGS-B iteration limit.
    seed : int, default=0
    output : path-like, optional
        Folder for resumable progress (``output/.cells/inpainting.json``).
    progress : bool or callable, default=False
    command : str, optional
        The command line recorded in the provenance (default: this process's).

    Returns
    -------
    ExperimentResult
        Rows per method: ``method, mean, lo, hi, converged, linear_expected``;
        ``data`` the chosen Lasso and ridge weights; ``figure_data["images"]`` the first test
        images (truth, observed, each method's reconstruction) with ``figure_data["labels"]``.
    """
    t0 = time.perf_counter()
    flow, data = flow_and_data(flow, data, COMPARE_NEEDS)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    hole = check_int("hole", hole, low=1, high=7)
    max_iter = check_int("max_iter", max_iter, low=1)
    X = subset(data.X_test, n_test, stream(seed, Stream.TEST_PICK))
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
    prov = provenance(seed=seed, command=command)
    mask = centre_mask((8, 8), hole)
    A = mask_measurements(mask, n)
    Y = X @ A.T
    Yv = data.X_val @ A.T
    prior = LinearInvertiblePrior.fit(data.X_train)
    generator = LowRankPrior.fit(data.X_train, k)
    table = Table(
        ["method", "mean", "lo", "hi", "converged", "linear_expected"],
        title=f"Inpainting a centred {hole}x{hole} hole: ||x_hat - x0||^2",
        meta=prov,
    )
    examples: dict[str, np.ndarray] = {}

    def flow_cell(init: str, std: float | None, index: int) -> dict[str, Any]:
        res = recover_batch(
            flow,
            A,
            Y,
            0.0,
            init=init,
            init_scale=std,
            gen=stream(seed, Stream.INPAINTING_STARTS, index),
            max_iter=max_iter,
        )
        return {
            "errors": squared_errors(res.x, X),
            "converged": float(np.mean(res.success)),
            "examples": res.x[:N_EXAMPLES],
        }

    def baselines() -> dict[str, Any]:
        Sj = singular_values_at(flow, X)
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
            "examples": {
                "gauss": X_gauss[:N_EXAMPLES],
                "lasso": X_lasso[:N_EXAMPLES],
                "rank_k": X_rank[:N_EXAMPLES],
            },
        }

    runs: list[tuple[str, str, float | None]] = [("flow, z_init = 0", "zeros", None)]
    runs += [(f"flow, z_init ~ N(0, {s:g}^2 I)", "random", s) for s in stds]
    with (
        open_cells(output, "inpainting", params, provenance=prov) as store,
        progress_sink(progress, "inpainting", len(runs) + 1, "cell") as sink,
    ):
        for index, (label, init, std) in enumerate(runs):
            c = cached(store, label, functools.partial(flow_cell, init, std, index), clock)
            table.append(
                {"method": label, **ci_fields("", c["errors"]), "converged": c["converged"]}
            )
            examples[label] = np.asarray(c["examples"])
            sink.update(label=label, info=f"{table.rows[-1]['mean']:.4g}")
        b = cached(store, "baselines", baselines, clock)
        sink.update(label="baselines", info=f"Gaussian MLE {np.mean(b['gauss']):.4g}")
    table.rows[0]["linear_expected"] = b["local_expected"]  # the flow from z = 0: local theory
    table.append(
        {
            "method": "best linear Gaussian (MLE)",
            **ci_fields("", b["gauss"]),
            "linear_expected": b["gauss_expected"],
        }
    )
    table.append({"method": f"rank-{k} generator", **ci_fields("", b["rank_k"])})
    table.append({"method": "Lasso, 2-D DCT", **ci_fields("", b["lasso"])})
    table.append({"method": f"rank-{k} floor", **ci_fields("", b["rank_k_floor"])})
    shown = X[:N_EXAMPLES]
    images = [shown, np.where(mask, shown, np.nan)] + [examples[label] for label, _, _ in runs]
    images += [np.asarray(b["examples"]["gauss"]), np.asarray(b["examples"]["lasso"])]
    labels = ["truth", "observed"] + [label.replace("flow, ", "flow ") for label, _, _ in runs]
    labels += ["Gaussian MLE", "Lasso-DCT"]
    return ExperimentResult(
        "inpainting",
        table,
        params,
        {"lasso_lambda": b["lasso_lambda"], "rank_k_gamma": b["rank_k_gamma"]},
        {"images": np.stack(images), "labels": labels, "hole": hole},
        seconds=time.perf_counter() - t0,
        compute_seconds=sum(clock),
    )
