r"""The flow's empirical recovery error beside the linear theory and the baselines, over ``m``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lininv._estimators import map_estimate
from lininv._low_rank import LowRankPrior
from lininv._prior import LinearInvertiblePrior
from lininv._table import Table
from lininv._threads import single_blas_thread
from lininv._validation import as_matrix, check_choice, check_int, check_real, describe
from lininv.bridge._baselines import (
    DEFAULT_LASSO_LAMBDAS,
    DEFAULT_RANK_K_GAMMAS,
    lasso_dct,
    low_rank_recover,
)
from lininv.bridge._predictions import check_ms, global_predictions, local_predictions
from lininv.bridge._recovery import INITS, check_flow, recover
from lininv.bridge._store import CellStore, cell_rng, seed_entropy

__all__ = ["Comparison", "compare", "mean_ci", "COMPARE_COLUMNS", "squared_errors"]

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


def mean_ci(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    r"""Mean and a Student-t confidence interval for i.i.d. values.

    Parameters
    ----------
    values : array_like of shape (N,)
        At least 2 values.
    level : float, default=0.95

    Returns
    -------
    mean, lo, hi : float
        :math:`\bar v \pm t_{N-1, (1+\text{level})/2}\, s/\sqrt N`.

    Examples
    --------
    >>> from lininv.bridge import mean_ci
    >>> [round(v, 4) for v in mean_ci([1.0, 2.0, 3.0])]
    [2.0, -0.4841, 4.4841]
    """
    from scipy import stats

    level = check_real("level", level, low=0.0, low_open=True)
    if level >= 1.0:
        raise ValueError(f"level must be < 1 (a coverage probability); got {level:g}")
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2:
        raise ValueError(
            f"values must hold at least 2 numbers for a confidence interval; got {v.size}"
        )
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"values must be finite; got {int(np.sum(~np.isfinite(v)))} NaN or infinite entries"
        )
    mean = float(v.mean())
    half = float(stats.t.ppf(0.5 + level / 2.0, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half


@dataclass
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
    flow: Any,
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
    progress: bool = False,
) -> Comparison:
    r"""Flow recovery error against the linear predictions, Lasso and a rank-k generator, per ``m``.

    Parameters
    ----------
    flow : lininv.flows.Flow
        The trained flow prior ``G``.
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
        Seed. Each ``m`` draws from its own stream (``SeedSequence(seed, spawn_key=(m,))``), so a
        cell's result depends on the seed and ``m`` alone.
    store : CellStore, optional
        Finished cells are saved there and reused on the next call (resume).
    progress : bool, default=False
        Print one line per finished cell.

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
    flow = check_flow(flow)
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
    noise_std = check_real("noise_std", noise_std, low=0.0)
    gamma = check_real("gamma", gamma, low=0.0)
    draws = check_int("draws", draws, low=1)
    k = check_int("k", k, low=1, high=n - 1, reason=f" (1 <= k < n = {n})")
    init = check_choice("init", init, INITS)
    if init in ("fixed_norm", "null_space"):
        raise ValueError(f"init must be one needing no scale or truth here; got {init!r}")
    lams = _weights("lasso_lambdas", lasso_lambdas)
    rgams = _weights("rank_k_gammas", rank_k_gammas)
    shape = _image_shape(image_shape, n)
    max_iter = check_int("max_iter", max_iter, low=1)
    batch = check_choice("batch", batch, ("lockstep", "loop", "joint"))
    if chunk is not None:
        chunk = check_int("chunk", chunk, low=1)
    if store is not None and not isinstance(store, CellStore):
        raise TypeError(f"store must be a CellStore or None; got {describe(store)}")
    entropy = seed_entropy(rng)
    if X_val is None:
        pick = cell_rng(entropy, 0).permutation(X_train.shape[0])[: min(50, X_train.shape[0])]
        X_val = X_train[np.sort(pick)]
    else:
        X_val = as_matrix(
            "X_val", X_val, shape=(None, n), shape_hint=f" to match the flow's n = {n}"
        )

    prior = LinearInvertiblePrior.fit(X_train, reg=reg)
    generator = LowRankPrior.fit(X_train, k)
    floor = np.asarray(generator.representation_error(X_test))
    glob = global_predictions(prior, m_values, noise_std)
    params = {
        "noise_std": noise_std,
        "gamma": gamma,
        "draws": draws,
        "k": k,
        "init": init,
        "lasso_lambdas": lams.tolist(),
        "rank_k_gammas": rgams.tolist(),
        "reg": reg,
        "max_iter": max_iter,
        "batch": batch,
        "chunk": chunk,
        "seed": entropy,
        "n_test": X_test.shape[0],
        "n_val": X_val.shape[0],
    }
    settings = {
        "noise_std": noise_std,
        "gamma": gamma,
        "draws": draws,
        "init": init,
        "lams": lams,
        "rgams": rgams,
        "shape": shape,
        "max_iter": max_iter,
        "batch": batch,
        "chunk": chunk,
    }
    seconds = dict.fromkeys(["flow", "lasso", "rank_k", "gauss", "local"], 0.0)

    table = Table(COMPARE_COLUMNS, title="Recovery error ||x_hat - x0||^2 vs m")
    errors: dict[str, list[np.ndarray]] = {meth: [] for meth in METHODS}
    local = None
    compute_seconds = 0.0
    for i, m in enumerate(m_values):
        key = f"m={m}"
        cell = store.get(key) if store is not None else None
        if cell is None:
            t_cell = time.perf_counter()
            if local is None:
                t0 = time.perf_counter()
                local = local_predictions(flow, X_test, m_values, noise_std).mean()
                seconds["local"] += time.perf_counter() - t0
            cell = _compare_cell(
                flow, X_test, X_val, int(m), prior, generator, entropy, settings, seconds
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
        per = {meth: np.asarray(cell["errors"][meth], dtype=float) for meth in METHODS}
        for meth in METHODS:
            errors[meth].append(per[meth])
        row: dict[str, Any] = {"m": int(m)}
        for meth in METHODS:
            row[f"{meth}_mean"], row[f"{meth}_lo"], row[f"{meth}_hi"] = mean_ci(per[meth])
        _, row["flow_minus_lasso_lo"], row["flow_minus_lasso_hi"] = mean_ci(
            per["flow"] - per["lasso"]
        )
        _, row["flow_minus_rank_k_lo"], row["flow_minus_rank_k_hi"] = mean_ci(
            per["flow"] - per["rank_k"]
        )
        row["flow_converged"] = cell["converged"]
        row["rank_k_floor"] = float(floor.mean())
        row["local_lower"], row["local_predicted"], row["local_upper"] = cell["local"]
        row["global_lower"] = float(glob.lower[i])
        row["global_predicted"] = float(glob.predicted[i])
        row["global_upper"] = None if noise_std > 0 else float(glob.upper[i])
        row["lasso_lambda"] = cell["lasso_lambda"]
        row["rank_k_gamma"] = cell["rank_k_gamma"]
        row["n_signals"] = X_test.shape[0]
        row["draws"] = draws
        table.append(row)
        if progress:
            print(
                f"m = {m}: flow {row['flow_mean']:.4g}, lasso {row['lasso_mean']:.4g}, "
                f"rank-k {row['rank_k_mean']:.4g}, gauss {row['gauss_mean']:.4g}",
                flush=True,
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


def _compare_cell(
    flow: Any,
    X_test: np.ndarray,
    X_val: np.ndarray,
    m: int,
    prior: LinearInvertiblePrior,
    generator: LowRankPrior,
    entropy: int,
    settings: dict[str, Any],
    seconds: dict[str, float],
) -> dict[str, Any]:
    """Errors of every method for one ``m``; per-signal arrays averaged over the draws."""
    noise_std, gamma, draws = settings["noise_std"], settings["gamma"], settings["draws"]
    lams, rgams, shape = settings["lams"], settings["rgams"], settings["shape"]
    N, n = X_test.shape
    gen = cell_rng(entropy, 1, m)
    X = np.repeat(X_test, draws, axis=0)  # signal i, draw d at row i * draws + d
    A = gen.standard_normal((N * draws, m, n)) / np.sqrt(m)
    Y = np.einsum("kmn,kn->km", A, X) + noise_std * gen.standard_normal((N * draws, m))
    init_rng = cell_rng(entropy, 2, m)

    def per_signal(e: np.ndarray) -> np.ndarray:
        return e.reshape(N, draws).mean(axis=1)

    t0 = time.perf_counter()
    res = recover(
        flow,
        A,
        Y,
        gamma,
        init=settings["init"],
        rng=init_rng,
        max_iter=settings["max_iter"],
        batch=settings["batch"],
        chunk=settings["chunk"],
    )
    e_flow = per_signal(squared_errors(res.x, X))
    seconds["flow"] += time.perf_counter() - t0

    t0 = time.perf_counter()
    vgen = cell_rng(entropy, 3, m)
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
