r"""Monte-Carlo estimation of the expected recovery error :math:`E(m)` (docs/theory.md, sections 5-7, 10).

The engine draws ``A`` in chunks of :data:`CHUNK_DRAWS`, each with its own random stream, and
averages the *exact* conditional error of each draw (the expectation over ``x0`` and the noise is
done in closed form). Two kinds of draws:

* the matched Gaussian case reduces to the spectrum alone, with certified kernels
  (:mod:`lininv._montecarlo_draws`);
* a mismatched truth, another measurement ensemble or the rank-k generator are reduced as far as
  the mathematics allows and computed by dense kernels (:mod:`lininv._montecarlo_dense`).

Statistics are merged in chunk order from correctly rounded sums (:func:`math.fsum`), and the
adaptive stopping rule is decided at chunk boundaries in chunk order, so the result depends on the
seed alone: not on the batch size, the executor or the number of workers.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._low_rank import LowRankPrior
from lininv._measurements import ROTATION_INVARIANT, _draw, check_ensemble
from lininv._mismatch import check_truth, truth_diagonal, truth_factor
from lininv._montecarlo_dense import DenseProblem, compute_dense_chunks
from lininv._montecarlo_draws import (
    _NUMBA_MAX_WORK,
    CHUNK_DRAWS,
    FAST_TOL,
    chunk_normals,
    compute_chunks,
    errors_for_draws,
)
from lininv._parallel import Workers, imap_unordered
from lininv._prior import LinearInvertiblePrior
from lininv._progress import check_progress, progress_sink
from lininv._random import seed_from
from lininv._stats import t_interval
from lininv._validation import as_spectrum, check_int, check_real
from lininv._workload import check_workload, default_batch, memory_estimate

__all__ = [
    "MonteCarloEstimate",
    "expected_error",
    "errors_for_draws",
    "chunk_normals",
    "memory_estimate",
    "check_workload",
    "CHUNK_DRAWS",
    "FAST_TOL",
    "_NUMBA_MAX_WORK",
]

#: Adaptive runs take at least this many chunks before the stopping rule is consulted.
_MIN_CHUNKS = 4

# Kept for callers of the former names.
_seed_from = seed_from
_default_batch = default_batch


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Monte-Carlo estimate of the expected error :math:`E(m)`.

    Attributes
    ----------
    mean : float
        Sample mean of the per-draw errors :math:`E_{x_0,\\eta}\\|\\hat x - x_0\\|^2`.
    stderr : float
        Standard error of the mean (sample standard deviation over ``sqrt(trials)``).
    ci : tuple of float
        95% confidence interval ``mean -/+ t stderr``, ``t`` the 97.5% quantile of Student's
        t with ``trials - 1`` degrees of freedom (1.96 for many trials; 12.7 for two).
    trials : int
        Number of draws of ``A``.
    seed : int
        Seed that reproduces the run: ``expected_error(..., rng=seed)`` gives identical numbers.
    rtol : float or None
        Target relative standard error of an adaptive run; ``None`` for a fixed number of trials.
    converged : bool
        Whether the run met its stopping rule: always True for a fixed number of trials; for an
        adaptive run, False when it stopped at ``max_trials`` before the standard error reached
        ``rtol * |mean|`` (the estimate is then less precise than asked; ``stderr`` says how
        precise it is). Callers decide on this field, never on the warning's text.
    """

    mean: float
    stderr: float
    ci: tuple[float, float]
    trials: int
    seed: int
    rtol: float | None
    converged: bool = True

    def __str__(self) -> str:
        lo, hi = self.ci
        return (
            f"{self.mean:.6g} +- {self.stderr:.2g} (95% CI [{lo:.6g}, {hi:.6g}], "
            f"{self.trials} trials, seed {self.seed})"
        )


def _chunk_stats(v: np.ndarray) -> tuple[int, float, float]:
    mean = math.fsum(v) / v.size
    return v.size, mean, math.fsum((v - mean) ** 2)


def _merge(a: tuple[int, float, float], b: tuple[int, float, float]) -> tuple[int, float, float]:
    """Chan et al.'s pairwise update of (count, mean, sum of squared deviations)."""
    na, ma, qa = a
    nb, mb, qb = b
    if na == 0:
        return b
    nn = na + nb
    delta = mb - ma
    return nn, ma + delta * nb / nn, qa + qb + delta * delta * na * nb / nn


def _converged(stats: tuple[int, float, float], rtol: float) -> bool:
    count, mean, q = stats
    stderr = math.sqrt(q / (count - 1) / count)
    return stderr <= rtol * abs(mean)


def _estimate(
    values: np.ndarray, seed: int, rtol: float | None, converged: bool, scale: float = 1.0
) -> MonteCarloEstimate:
    """Mean, standard error and Student-t 95% interval of ``scale * values``.

    The statistics are formed from ``values`` (of order one) and scaled afterwards, so that
    squared deviations cannot overflow for spectra of any representable size.
    """
    count = values.size
    mean = math.fsum(values) / count
    var = math.fsum((values - mean) ** 2) / (count - 1)
    stderr = math.sqrt(var / count)
    lo, hi = t_interval(mean, stderr, count)
    return MonteCarloEstimate(
        scale * mean, scale * stderr, (scale * lo, scale * hi), count, seed, rtol, converged
    )


def _tasks(trials: int, group: int) -> Iterator[tuple[list[tuple[int, int]]]]:
    """Tasks ``(chunks,)``: ``group`` consecutive ``(chunk, count)`` pairs, planned lazily.

    Nothing proportional to ``trials`` is built before the work starts: an adaptive run that
    stops early never plans the chunks it does not need.
    """
    full, rest = divmod(trials, CHUNK_DRAWS)
    chunks = full + (1 if rest else 0)
    for first in range(0, chunks, group):
        last = min(first + group, chunks)
        yield ([(c, CHUNK_DRAWS if c < full else rest) for c in range(first, last)],)


def _paired(
    compute: Callable[[list[tuple[int, int]]], list[np.ndarray]], chunks: list[tuple[int, int]]
) -> tuple[list[tuple[int, int]], list[np.ndarray]]:
    """``(chunks, compute(chunks))``: a result that says which chunks it holds (picklable)."""
    return chunks, compute(chunks)


def _run(
    compute: Callable[[list[tuple[int, int]]], list[np.ndarray]],
    *,
    total: int,
    rtol: float | None,
    workers: Workers,
    group: int,
    on_progress: Callable[[int], None],
) -> tuple[np.ndarray, bool]:
    """Per-draw errors of the run, in draw order; and whether the stopping rule was met.

    ``compute(chunks)`` (picklable) returns the values of a list of ``(chunk, count)`` pairs; it
    runs on ``workers`` in tasks of ``group`` chunks (:func:`lininv._parallel.imap_unordered`).
    Finished chunks are merged in chunk order, so the stopping decision does not depend on the
    order in which tasks finish.
    """
    n_chunks = -(-total // CHUNK_DRAWS)
    done: dict[int, np.ndarray] = {}  # chunk -> values
    prefix = 0  # chunks [0, prefix) are complete and merged
    stats: tuple[int, float, float] = (0, 0.0, 0.0)
    stop_at: int | None = None  # number of chunks of the result
    results = imap_unordered(workers, functools.partial(_paired, compute), _tasks(total, group))
    try:
        for _, (chunks, values) in results:
            for (chunk, _count), v in zip(chunks, values, strict=True):
                done[chunk] = v
            while stop_at is None and prefix in done:
                v = done[prefix]
                on_progress(v.size)
                prefix += 1
                if rtol is not None:
                    stats = _merge(stats, _chunk_stats(v))
                    if prefix >= _MIN_CHUNKS and _converged(stats, rtol):
                        stop_at = prefix
                if prefix == n_chunks:
                    stop_at = prefix
            if stop_at is not None:
                break
    finally:
        results.close()  # cancels the tasks not yet started
    assert stop_at is not None
    values = np.concatenate([done[c] for c in range(stop_at)])
    converged = rtol is None or (stop_at < n_chunks or _converged(stats, rtol))
    return values, converged


def expected_error(
    s: Any,
    m: int,
    noise_std: float = 0.0,
    *,
    truth: LinearInvertiblePrior | LowRankPrior | None = None,
    ensemble: Any = "gaussian",
    rtol: float | None = None,
    trials: int | None = None,
    max_trials: int = 100_000,
    rng: Any = None,
    executor: Any = None,
    progress: Any = False,
    batch_size: int | None = None,
) -> MonteCarloEstimate:
    r"""Monte-Carlo estimate of the expected error :math:`E(m) = E_A E_{x_0,\eta}\|\hat x - x_0\|^2`.

    ``x_hat`` is the constrained MLE (noiseless) or the posterior mean (noisy) of a prior, from
    ``m`` measurements of an ensemble (Gaussian :math:`A_{ij} \sim N(0, 1/m)` by default) and
    noise ``N(0, noise_std^2)`` per measurement; ``x0`` comes from the prior itself or from a
    ``truth`` (dataset bias). Each draw of ``A`` contributes its exact conditional error (the
    expectation over ``x0`` and noise is done in closed form, :func:`conditional_error`).

    Parameters
    ----------
    s : array_like of shape (n,), LinearInvertiblePrior or LowRankPrior
        The estimator's prior. Singular values (positive, any order) stand for the diagonal prior
        ``G = diag(s)``; a prior is needed when its singular vectors matter (see Notes), and a
        :class:`LowRankPrior` (the rank-k generator) needs ``truth``.
    m : int
        Number of measurements: ``1 <= m <= n`` without noise, any ``m >= 1`` with noise
        (``m <= n`` for the haar, dct and mask ensembles).
    noise_std : float, default=0.0
        Noise standard deviation :math:`\sigma \ge 0`.
    truth : LinearInvertiblePrior or LowRankPrior, optional
        The distribution of ``x0`` (its mean and covariance); ``None`` or the prior itself: the
        matched case.
    ensemble : {"gaussian", "rademacher", "haar", "dct", "mask"} or callable, default="gaussian"
        The measurement ensemble (:func:`measurements`), each normalised to
        :math:`E[A^TA] = I_n`; a callable ``(m, n, rng) -> A`` is used as it is.
    rtol : float, optional
        Adaptive run: draw chunks of :data:`CHUNK_DRAWS` until the standard error is at most
        ``rtol * |mean|`` (checked at chunk boundaries, from 4 chunks on), or ``max_trials``.
        The default, when neither ``rtol`` nor ``trials`` is given, is ``rtol = 1e-3``.
    trials : int, optional
        Fixed number of draws (``>= 2``); exclusive with ``rtol``.
    max_trials : int, default=100000
        Cap for adaptive runs; the result's ``converged`` is ``False`` (and a
        :class:`UserWarning` says so) when it stopped the run first.
    rng : None, int, SeedSequence or Generator, default=None
        Seed. An int is used as is; other inputs are turned into an int seed, reported in the
        result so that ``rng=result.seed`` reproduces the run exactly.
    executor : None, int, Executor, distributed.Client or str, optional
        Where to run chunks of draws (:class:`lininv._parallel.Workers`): in-process by default,
        an int for that many local processes, a Dask client or scheduler address.
    progress : bool or callable, default=False
        ``True`` shows a progress bar (draws); a callable receives a
        :class:`~lininv._progress.ProgressEvent` per chunk.
    batch_size : int, optional
        Draws per kernel call (memory and speed only; never changes the numbers). Default: as
        many as fit in about 16 MiB of normals and Gram matrices.

    Returns
    -------
    MonteCarloEstimate

    Raises
    ------
    ValueError
        For bad input, and, before any work, for a run that cannot fit in memory: its estimate
        (:func:`memory_estimate`: one batch of normals, one draw's kernel matrices, 24 bytes per
        stored draw for ``trials`` or ``max_trials``) above the machine's memory
        (:func:`lininv._validation.memory_limit`). The message names the argument responsible
        (``trials``, ``max_trials``, ``batch_size`` or ``m``) and the estimate. Chunks are planned
        lazily: an adaptive run holds nothing in proportion to ``max_trials`` until it draws.

    Notes
    -----
    The problem is reduced as far as the mathematics allows (docs/theory.md, sections 5 and 10):

    * **matched, Gaussian**: rotation invariance reduces it to ``G = diag(s)``; the per-draw
      error is :math:`\sum_i s_i^2 (1 - h_i)` with :math:`h_i` the (regularised) leverage scores
      of :math:`Y = S\Omega`, computed by Cholesky QR when a worst-case rounding bound certifies
      it and by a row-sorted Householder QR otherwise (:mod:`lininv._montecarlo_draws`);
    * **Gaussian or Haar with a truth**: rotation and sign invariance reduce it to ``diag(s)``
      with the truth's second moment replaced by its diagonal in the prior's left singular
      basis, :math:`q_i = u_i^T M u_i`;
    * **other ensembles**: the prior's left singular vectors ``U`` matter (its right ones never
      do); each draw forms ``A U`` and ``A F`` (:mod:`lininv._montecarlo_dense`).

    The same numbers come from the same seed, to the last bit, whatever ``batch_size``,
    ``executor`` or number of workers: chunks of :data:`CHUNK_DRAWS` draws have their own
    streams ``SeedSequence(seed, spawn_key=(chunk,))``; sums are correctly rounded
    (:func:`math.fsum`); adaptive stopping is decided at chunk boundaries in chunk order.

    References
    ----------
    .. [1] N. Halko, P.-G. Martinsson, J. A. Tropp, SIAM Review 53(2), 2011 (the reduction and the
       upper bound).
    .. [2] A. J. Cox, N. J. Higham, "Stability of Householder QR factorization for weighted least
       squares problems", 1998 (row-wise stability of the fallback kernel).

    Examples
    --------
    >>> from lininv import expected_error
    >>> est = expected_error([1.0] * 8, 3, trials=100, rng=0)  # flat: (n - m) s^2 per draw
    >>> round(est.mean, 12), est.stderr < 1e-12, est.trials, est.converged
    (5.0, True, 100, True)
    >>> s = [1.0 / (i + 1) ** 0.5 for i in range(64)]  # s_i^2 = 1/i
    >>> est = expected_error(s, 16, trials=2000, rng=1)
    >>> print(f"{est.mean:.3f} +- {est.stderr:.3f}")
    2.255 +- 0.002
    """
    ensemble = check_ensemble(ensemble)
    prior = s if isinstance(s, (LinearInvertiblePrior, LowRankPrior)) else None
    if prior is None:
        s = as_spectrum("s", s)
        if truth is not None:
            raise TypeError(
                "s must be a LinearInvertiblePrior or LowRankPrior when truth is given (the "
                "prior's singular vectors matter); got singular values"
            )
    else:
        truth = check_truth(prior, truth)
        if isinstance(prior, LowRankPrior) and truth is None:
            raise ValueError(
                "truth must be given for a LowRankPrior (its own signals are recovered exactly "
                "once m >= k); got None"
            )
        s = prior.singular_values
    n = prior.n if prior is not None else s.size
    noise_std = check_real("noise_std", noise_std, low=0.0)
    square_only = isinstance(ensemble, str) and ensemble in ("haar", "dct", "mask")
    if noise_std == 0.0 and not isinstance(prior, LowRankPrior):
        m = check_int("m", m, low=1, high=n, reason=f" (1 <= m <= n = {n} without noise)")
    elif square_only:
        m = check_int("m", m, low=1, high=n, reason=f" (m <= n = {n} for the {ensemble} ensemble)")
    else:
        m = check_int("m", m, low=1)
    if rtol is not None and trials is not None:
        raise ValueError(f"pass either rtol or trials, not both; got rtol={rtol}, trials={trials}")
    if trials is not None:
        trials = check_int("trials", trials, low=2)
    elif rtol is None:
        rtol = 1e-3
    if rtol is not None:
        rtol = check_real("rtol", rtol, low=0.0, low_open=True, high=1.0)
    max_trials = check_int("max_trials", max_trials, low=_MIN_CHUNKS * CHUNK_DRAWS)
    given_batch = batch_size is not None
    if batch_size is None:
        batch_size = default_batch(n, m)
    batch_size = check_int("batch_size", batch_size, low=1)
    progress = check_progress(progress)
    check_workload(
        n,
        float(s[0]),
        m,
        noise_std,
        stored=trials if trials is not None else max_trials,
        stored_name="trials" if trials is not None else "max_trials",
        batch=batch_size if given_batch else None,
    )
    if callable(ensemble):  # a user's ensemble: one probe draw checks its shape and values now
        _draw(ensemble, m, n, np.random.default_rng(0))
    seed = seed_from(rng)
    scale = float(s[0])
    matched_gaussian = (
        truth is None and ensemble == "gaussian" and not isinstance(prior, LowRankPrior)
    )
    if matched_gaussian:
        # E(m) is homogeneous of degree 2 in (s, noise_std): run in units of s_max so that the
        # statistics of the draws stay of order one (exactly the same numbers when s_max = 1).
        sigma2m = m * (noise_std / scale) ** 2
        compute = functools.partial(compute_chunks, s / scale, m, sigma2m, seed, batch=batch_size)
    else:
        problem = _reduce(prior, s, truth, ensemble, m, noise_std, scale)
        compute = functools.partial(compute_dense_chunks, problem, seed, batch=batch_size)
    total = trials if trials is not None else max_trials
    with (
        Workers(executor, tasks=-(-total // CHUNK_DRAWS)) as workers,
        progress_sink(progress, f"E(m={m})", total, "draw") as sink,
    ):
        values, converged = _run(
            compute,
            total=total,
            rtol=rtol,
            workers=workers,
            group=max(1, -(-batch_size // CHUNK_DRAWS)),
            on_progress=sink.update,
        )
    if not converged:
        warnings.warn(
            f"expected_error stopped at max_trials = {max_trials} before reaching rtol = {rtol}",
            UserWarning,
            stacklevel=2,
        )
    return _estimate(values, seed, rtol, converged, scale=scale**2)


def _reduce(
    prior: LinearInvertiblePrior | LowRankPrior | None,
    s: np.ndarray,
    truth: LinearInvertiblePrior | LowRankPrior | None,
    ensemble: Any,
    m: int,
    noise_std: float,
    scale: float,
) -> DenseProblem:
    """The reduced problem of the Notes of :func:`expected_error`, in units of ``scale``."""
    noise = noise_std / scale
    if isinstance(prior, LowRankPrior):
        F = truth_factor(prior, truth) / scale
        U = prior.factor / prior.singular_values  # U_k
        return DenseProblem(s / scale, U, F, None, m, noise, ensemble, True)
    rotation_invariant = isinstance(ensemble, str) and ensemble in ROTATION_INVARIANT
    if prior is None or rotation_invariant:
        # diag(s) with the truth's second moment reduced to its diagonal q (matched: q = s^2)
        q = (s**2 if prior is None else truth_diagonal(prior, truth)) / scale**2
        F = np.diag(np.sqrt(q))
        return DenseProblem(s / scale, None, F, q, m, noise, ensemble, False)
    U = prior.left_singular_vectors
    if truth is None:  # M = U S^2 U^T: in the prior's basis, F' = S
        q = (s / scale) ** 2
        return DenseProblem(s / scale, U, np.diag(s / scale), q, m, noise, ensemble, False)
    Fb = U.T @ truth_factor(prior, truth) / scale
    return DenseProblem(s / scale, U, Fb, Fb @ Fb.T, m, noise, ensemble, False)
