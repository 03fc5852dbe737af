r"""The flow's empirical recovery error beside the linear theory and the baselines, over ``m``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lininv._io import CellStore
from lininv._low_rank import LowRankPrior
from lininv._prior import LinearInvertiblePrior
from lininv._progress import Progress, check_progress, progress_sink
from lininv._random import seed_from, stream
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import as_matrix, check_choice, check_int, check_real, describe
from lininv.bridge._baselines import DEFAULT_LASSO_LAMBDAS, DEFAULT_RANK_K_GAMMAS
from lininv.bridge._compare_cell import (
    COMPARE_COLUMNS,
    METHODS,
    CompareStream,
    ComparisonSettings,
    compare_cell,
    squared_errors,
    table_row,
)
from lininv.bridge._predictions import (
    LOCAL_NEEDS,
    check_ms,
    global_predictions,
    predictions_at,
)
from lininv.bridge._recovery import INITS, RECOVERY_NEEDS
from lininv.flows._protocol import FlowPrior, check_flow_prior

__all__ = [
    "Comparison",
    "ComparisonSettings",
    "CompareStream",
    "compare",
    "compare_validated",
    "comparison_settings",
    "COMPARE_COLUMNS",
    "COMPARE_NEEDS",
    "squared_errors",
]

#: The members of :class:`lininv.flows.FlowPrior` that :func:`compare` uses.
COMPARE_NEEDS = tuple(dict.fromkeys(RECOVERY_NEEDS + LOCAL_NEEDS))


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` returns.

    Attributes
    ----------
    table : Table
        One row per ``m`` (columns :data:`COMPARE_COLUMNS`): for each method ``flow``, ``lasso``,
        ``rank_k`` (the rank-k linear generator) and ``gauss`` (the best linear Gaussian's Bayes
        estimator) the mean squared error :math:`\\|\\hat x - x_0\\|^2` over test signals and draws
        of ``A`` with a 95% CI; paired CIs of the differences flow - lasso and flow - rank_k; the
        rank-k floor (mean representation error); the local and global linear predictions
        (means over signals); the Lasso weight chosen on held-out data.
    errors : dict of str to ndarray of shape (p, N)
        Per-signal errors (averaged over the draws of ``A``) for each method, row ``i`` for
        ``ms[i]``.
    ms : ndarray of int
    params : dict
        The settings used.
    seconds : dict of str to float
        Wall-clock time per method summed over the cells computed in this call (0 for resumed
        cells).
    compute_seconds : float
        Wall-clock time of all cells when they were computed (resumed cells included).
    """

    table: Table
    errors: dict[str, np.ndarray]
    ms: np.ndarray
    params: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    compute_seconds: float = 0.0


@single_blas_thread
def compare(
    flow: FlowPrior,
    X_test: Any,
    ms: Sequence[int],
    *,
    X_train: Any,
    X_val: Any = None,
    noise_std: float = 0.0,
    gamma: float = 0.0,
    draws: int = 1,
    k: int = 16,
    init: str = "zeros",
    lasso_lambdas: Sequence[float] = DEFAULT_LASSO_LAMBDAS,
    rank_k_gammas: Sequence[float] = DEFAULT_RANK_K_GAMMAS,
    image_shape: Sequence[int] | None = None,
    reg: float = 0.0,
    max_iter: int = 1000,
    batch: str = "lockstep",
    chunk: int | None = None,
    rng: Any = None,
    store: CellStore | None = None,
    progress: Progress = False,
) -> Comparison:
    r"""Flow recovery error against the linear predictions, Lasso and a rank-k generator, per ``m``.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior
        The trained flow prior ``G`` (members ``n``, ``inverse``, ``forward_and_pullback`` and
        ``jacobian`` are used).
    X_test : array_like of shape (N, n)
        Test signals :math:`x_0` (``N >= 2``), in the flow's signal units.
    ms : sequence of int
        Numbers of Gaussian measurements, ``2 <= m <= n``.
    X_train : array_like of shape (N_train, n)
        Training signals: the best linear Gaussian (:meth:`lininv.LinearInvertiblePrior.fit` with
        ``reg``) and the rank-``k`` generator (:meth:`lininv.LowRankPrior.fit`) are fitted to them.
    X_val : array_like of shape (N_val, n), optional
        Held-out signals on which the Lasso weight is chosen, per ``m``, as the one in
        ``lasso_lambdas`` with the least mean error (one draw of ``A`` and noise per signal).
        Default: 50 rows of ``X_train`` chosen with ``rng``.
    noise_std : float, default=0.0
        Measurement noise :math:`\sigma`: :math:`y = A x_0 + \eta`, :math:`\eta \sim N(0, \sigma^2
        I_m)`, the same ``y`` for every method.
    gamma : float, default=0.0
        The flow's latent regularisation (:func:`recover`).
    draws : int, default=1
        Independent draws of ``A`` (and noise) per test signal.
    k : int, default=16
        Rank of the linear generator: ``n / 4`` for the 8x8 digits, where it explains 85% of the
        training variance. Like a GAN's latent size it is far below ``n`` yet large enough to
        produce recognisable samples; its floor is what "representation error" means.
    init : str, default="zeros"
        The flow's initialisation (see :func:`recover`).
    lasso_lambdas : sequence of float, default=DEFAULT_LASSO_LAMBDAS
        Candidate Lasso weights.
    rank_k_gammas : sequence of float, default=DEFAULT_RANK_K_GAMMAS
        Candidate latent ridge weights of the rank-k generator (:func:`low_rank_recover`), chosen
        on the same held-out signals and draws as the Lasso weight.
    image_shape : tuple of int, optional
        Image shape for the DCT (default: square, ``sqrt(n) x sqrt(n)``).
    reg : float, default=0.0
        Regularisation of the Gaussian fit.
    max_iter : int, default=1000
        L-BFGS-B iteration limit for the flow.
    batch : {"lockstep", "loop", "joint"}, default="lockstep"
        How :func:`recover` batches the flow's problems (see there).
    chunk : int, optional
        Passed to :func:`recover` (problems are ordered signal by signal, draw by draw).
    rng : None, int, SeedSequence or Generator, default=None
        Seed (an int is used as is; anything else gives one, recorded as ``params["seed"]``).
        Each ``m`` draws from its own named streams (:class:`CompareStream`,
        ``SeedSequence(seed, spawn_key=(stream, m))``), so a cell's result depends on the seed
        and ``m`` alone.
    store : lininv._io.CellStore, optional
        An open store: finished cells are saved there and reused on the next call (resume).
    progress : bool or callable, default=False
        ``True`` for a progress bar, or a callback receiving a
        :class:`lininv._progress.ProgressEvent` per finished ``m`` (label ``"m = 16"``, info the
        four mean errors).

    Returns
    -------
    Comparison

    Notes
    -----
    Every signal gets its own ``A`` with :math:`A_{ij} \sim N(0, 1/m)` per draw, shared by all
    methods (paired comparison), so per-signal errors are i.i.d. and the CIs are Student-t
    intervals over signals. The linear predictions are those of :func:`local_predictions` and
    :func:`global_predictions`, averaged over the test signals.
    """
    flow = check_flow_prior(flow, needs=COMPARE_NEEDS)
    n = int(flow.n)
    X_test = as_matrix(
        "X_test", X_test, shape=(None, n), shape_hint=f" to match the flow's n = {n}"
    )
    if X_test.shape[0] < 2:
        raise ValueError(
            f"X_test must have at least 2 rows for confidence intervals; got {X_test.shape[0]}"
        )
    X_train = as_matrix(
        "X_train", X_train, shape=(None, n), shape_hint=f" to match the flow's n = {n}"
    )
    m_values = check_ms(ms, n)
    settings = comparison_settings(
        n,
        noise_std=noise_std,
        gamma=gamma,
        draws=draws,
        k=k,
        init=init,
        lasso_lambdas=lasso_lambdas,
        rank_k_gammas=rank_k_gammas,
        image_shape=image_shape,
        reg=reg,
        max_iter=max_iter,
        batch=batch,
        chunk=chunk,
    )
    if store is not None and not isinstance(store, CellStore):
        raise TypeError(f"store must be a CellStore or None; got {describe(store)}")
    progress = check_progress(progress)
    seed = seed_from(rng)
    if X_val is None:
        pick = stream(seed, CompareStream.VALIDATION_PICK).permutation(X_train.shape[0])
        X_val = X_train[np.sort(pick[: min(50, X_train.shape[0])])]
    else:
        X_val = as_matrix(
            "X_val", X_val, shape=(None, n), shape_hint=f" to match the flow's n = {n}"
        )
    return compare_validated(
        flow, X_test, m_values, X_train, X_val, settings, seed, store=store, progress=progress
    )


def comparison_settings(
    n: int,
    *,
    noise_std: float = 0.0,
    gamma: float = 0.0,
    draws: int = 1,
    k: int = 16,
    init: str = "zeros",
    lasso_lambdas: Sequence[float] = DEFAULT_LASSO_LAMBDAS,
    rank_k_gammas: Sequence[float] = DEFAULT_RANK_K_GAMMAS,
    image_shape: Sequence[int] | None = None,
    reg: float = 0.0,
    max_iter: int = 1000,
    batch: str = "lockstep",
    chunk: int | None = None,
) -> ComparisonSettings:
    """Validate :func:`compare`'s settings for signals of dimension ``n`` (same meanings)."""
    noise_std = check_real("noise_std", noise_std, low=0.0)
    gamma = check_real("gamma", gamma, low=0.0)
    draws = check_int("draws", draws, low=1)
    k = check_int("k", k, low=1, high=n - 1, reason=f" (1 <= k < n = {n})")
    init = check_choice("init", init, INITS)
    if init in ("fixed_norm", "null_space"):
        raise ValueError(f"init must be one needing no scale or truth here; got {init!r}")
    return ComparisonSettings(
        noise_std=noise_std,
        gamma=gamma,
        draws=draws,
        k=k,
        init=init,
        lasso_lambdas=_weights("lasso_lambdas", lasso_lambdas),
        rank_k_gammas=_weights("rank_k_gammas", rank_k_gammas),
        image_shape=_image_shape(image_shape, n),
        reg=reg,
        max_iter=check_int("max_iter", max_iter, low=1),
        batch=check_choice("batch", batch, ("lockstep", "loop", "joint")),
        chunk=None if chunk is None else check_int("chunk", chunk, low=1),
    )


def compare_validated(
    flow: FlowPrior,
    X_test: np.ndarray,
    m_values: np.ndarray,
    X_train: np.ndarray,
    X_val: np.ndarray,
    settings: ComparisonSettings,
    seed: int,
    *,
    store: CellStore | None = None,
    progress: Progress = False,
    task: str = "compare",
) -> Comparison:
    """:func:`compare` for validated arguments (the experiments call it after their checks).

    ``task`` names the computation in the progress events.
    """
    prior = LinearInvertiblePrior.fit(X_train, reg=settings.reg)
    generator = LowRankPrior.fit(X_train, settings.k)
    floor = np.asarray(generator.representation_error(X_test))
    glob = global_predictions(prior, m_values, settings.noise_std)
    params = {
        **settings.params(),
        "seed": seed,
        "n_test": X_test.shape[0],
        "n_val": X_val.shape[0],
    }
    seconds = dict.fromkeys(["flow", "lasso", "rank_k", "gauss", "local"], 0.0)
    table = Table(COMPARE_COLUMNS, title="Recovery error ||x_hat - x0||^2 vs m")
    errors: dict[str, list[np.ndarray]] = {meth: [] for meth in METHODS}
    local = None
    compute_seconds = 0.0
    with progress_sink(progress, task, len(m_values), "cell") as sink:
        for i, m in enumerate(m_values):
            key = f"m={m}"
            cell = store.get(key) if store is not None else None
            if cell is None:
                t_cell = time.perf_counter()
                if local is None:
                    t0 = time.perf_counter()
                    local = predictions_at(flow, X_test, m_values, settings.noise_std).mean()
                    seconds["local"] += time.perf_counter() - t0
                cell = compare_cell(
                    flow, X_test, X_val, int(m), prior, generator, seed, settings, seconds
                )
                cell["local"] = [
                    float(local.lower[i]),
                    float(local.predicted[i]),
                    float(local.upper[i]),
                ]
                cell["seconds"] = time.perf_counter() - t_cell
                if store is not None:
                    store.put(key, cell)
            compute_seconds += float(cell.get("seconds") or 0.0)
            row = table_row(cell, int(m), i, floor, glob, X_test.shape[0], settings)
            for meth in METHODS:
                errors[meth].append(np.asarray(cell["errors"][meth], dtype=float))
            table.append(row)
            sink.update(
                label=f"m = {m}",
                info=(
                    f"flow {row['flow_mean']:.4g}, lasso {row['lasso_mean']:.4g}, "
                    f"rank-k {row['rank_k_mean']:.4g}, gauss {row['gauss_mean']:.4g}"
                ),
            )
    return Comparison(
        table,
        {meth: np.array(v) for meth, v in errors.items()},
        m_values,
        params,
        seconds,
        compute_seconds,
    )


def _image_shape(image_shape: Any, n: int) -> tuple[int, int]:
    if image_shape is None:
        side = int(round(np.sqrt(n)))
        if side * side != n:
            raise ValueError(f"image_shape must be given when n = {n} is not a square; got None")
        return side, side
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 2
        or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in image_shape)
        or int(image_shape[0]) * int(image_shape[1]) != n
    ):
        raise ValueError(
            f"image_shape must be a pair of positive integers with product n = {n}; "
            f"got {describe(image_shape)}"
        )
    return int(image_shape[0]), int(image_shape[1])


def _weights(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sequence of numbers; got {describe(values)}") from exc
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            f"{name} must be a non-empty 1-D sequence of non-negative numbers; got {describe(values)}"
        )
    return arr
