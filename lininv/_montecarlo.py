r"""Monte-Carlo estimation of the expected recovery error :math:`E(m)` (docs/theory.md sections 5-7).

Reduction. A Gaussian ``A`` is rotation invariant, so :math:`E(m) = E_A E_{x_0}\|\hat x - x_0\|^2`
depends on the singular values ``s`` alone and ``G = diag(s)`` may be taken. With
:math:`A = \Omega^T/\sqrt m` (:math:`\Omega` of shape (n, m), i.i.d. N(0, 1)),
:math:`Y = S\Omega` and noise variance :math:`\sigma^2`, the error given ``A`` is the trace of the
posterior covariance

.. math:: e(\Omega) = \sum_i s_i^2 (1 - h_i), \qquad
          h_i = y_i^T (Y^T Y + m\sigma^2 I)^{-1} y_i ,

(:math:`y_i` the rows of ``Y``); with :math:`\sigma = 0` it is
:math:`\|(I - P_Y) S\|_F^2` and :math:`h_i` are the leverage scores of ``Y``.

Per-draw kernels
----------------
*Fast kernel* (Cholesky QR): the Gram :math:`M = Y^TY + m\sigma^2 I`, its Cholesky factor ``L``,
:math:`L^{-1}` and the rows of :math:`Y L^{-T}`, whose squared norms are :math:`h_i`. Cost per draw:
about :math:`2nm^2 + 2m^3/3` flops beside the :math:`nm` normals. Numba for small problems (per-call
overhead dominates), BLAS/LAPACK otherwise.

Its accuracy has two enemies: cancellation in :math:`\sum_i s_i^2 (1 - h_i)`, which subtracts
quantities of size :math:`\operatorname{tr} S^2` from each other, and the loss of orthogonality
of Cholesky QR when ``M`` is ill conditioned. Each draw therefore carries a worst-case,
first-order rounding-error bound computed from its own factors (``u`` is the unit roundoff,
:math:`W = Y^T S^2 Y`, :math:`z_i = L^{-1} y_i`, :math:`\psi = \operatorname{tr}(M)\operatorname
{tr}(M^{-1})`):

.. math:: \beta = u\,\big[\,2(n + m + 1)\operatorname{tr}(M)\,T_G
          + 4(m + 1)\sqrt{\psi} \textstyle\sum_i s_i^2 \hat h_i + (n + 1)\operatorname{tr}S^2\big],
          \qquad T_G \ge \operatorname{tr}(M^{-1} W M^{-1}).

* Gram product and Cholesky: the computed ``L`` is the exact factor of :math:`M + E_1` with
  :math:`|E_1| \le \gamma_n |Y|^T|Y| + \gamma_{m+1}|L||L|^T` (Higham 2002, Thms 3.5 and 10.3),
  so :math:`|E_1|_{ab} \le (n + m + 1)u\sqrt{M_{aa}M_{bb}}` by Cauchy-Schwarz. To first order
  :math:`\sum_i s_i^2 h_i = \operatorname{tr}(M^{-1}W)` moves by
  :math:`\operatorname{tr}(E_1 G)`, :math:`G = M^{-1} W M^{-1} \succeq 0`, at most
  :math:`(n + m + 1) u \operatorname{tr}(M)\operatorname{tr}(G)`.
* ``L^{-1}`` (LAPACK ``dtrtri``, or rows by substitution in the numba kernel) has the left
  residual :math:`|XL - I| \le c_m u |X||L|` (Du Croz & Higham 1992), and each product
  :math:`L^{-1}y_i` rounds by at most :math:`\gamma_m |L^{-1}||y_i|`: together at most
  :math:`2(m+1)u\,\|L\|_F\|L^{-1}\|_F\, \hat h_i` per row.
* The final sum adds at most :math:`(n+1)u\operatorname{tr}S^2`: the cancellation term.

The dimension constants are worst case and a factor 2 covers second-order terms. ``T_G`` comes
in two stages. Stage 1, free: :math:`\operatorname{tr}(G) \le \|M^{-1}\|_2
\operatorname{tr}(M^{-1/2}WM^{-1/2}) \le \operatorname{tr}(M^{-1}) \sum_i s_i^2 \hat h_i`. If
that does not certify the draw, stage 2 (:math:`m^2\min(m, n)` flops) takes the first
``h = min(m, n)`` rows exactly and bounds the rest through
:math:`\sum_{i>h} s_i^2 y_i y_i^T \preceq s_{h+1}^2 M`:
:math:`T_G = \sum_{i\le h} s_i^2 \|L^{-T} z_i\|^2 + s_{h+1}^2 \operatorname{tr}(M^{-1})`.
Stage 1 is pessimistic by a factor up to :math:`\kappa(M)`; stage 2 is not, for graded spectra
(in the steep limit :math:`G \to (\Omega_h^T\Omega_h)^{-1}`, independent of ``s``).

A draw's fast value :math:`\hat e` is accepted when :math:`(n + m + 1)u\psi \le 10^{-2}`
(first-order analysis applies, Cholesky is known to succeed) and
:math:`\beta \le \tau(\hat e - \beta)` with :math:`\tau = 10^{-6}`. The criterion is safe: every
ingredient is an upper bound computed from the data (none is an estimate that can fall short),
and the test is made against :math:`\hat e - \beta`, a lower bound for the true error, so an
accepted draw is accurate to a relative :math:`10^{-6}` in the worst case. Measured errors
against mpmath and the stable kernel are many orders of magnitude smaller (rounding errors
largely cancel); the bound only decides when the stable kernel is needed.

*Stable kernel* (every other draw): Householder QR of the augmented matrix
:math:`X = [\,Y' \;\; S'_{:,1:h}\,]`, :math:`Y' = [S\Omega; \sqrt m\sigma I_m]`,
:math:`S' = [S; 0]`, ``h = min(m, n)``, with the rows sorted by decreasing size. The trailing
:math:`h \times h` block of ``R`` has squared Frobenius norm
:math:`\|(I - P_{Y'}) S'_{:,1:h}\|_F^2 = \sum_{i \le h} s_i^2 (1 - h_i)`: the head of the error,
obtained as a sum of squares with no subtraction. Householder QR with sorted rows is row-wise
backward stable (Powell & Reid 1969; Cox & Higham 1998), so this is the exact value for a row-wise
relatively perturbed :math:`\Omega`, accurate to a few ``n u`` relatively however graded ``s``
is. The tail :math:`\sum_{i > h} s_i^2 (1 - h_i)` is formed from leverages obtained with the
triangular factor; its absolute error is :math:`O(u)\sum_{i>h} s_i^2`, which is at most
:math:`O(u)\,e` because :math:`e \ge \sum_{i>m} s_i^2` (Eckart-Young; noise only adds). Cost:
about four times the fast kernel.

Reproducibility
---------------
Draws are grouped in fixed chunks of :data:`CHUNK_DRAWS`; chunk ``c`` of a run with seed ``seed``
uses its own stream ``SFC64(SeedSequence(seed, spawn_key=(c,)))``, and draw ``j`` of a chunk uses
the ``j``-th block of ``n m`` normals of that stream. A draw's value depends only on its numbers
(each kernel processes draws independently, and the kernel is chosen from ``(n, m)`` alone), so
batching, workers and executors cannot change it (on one machine and library stack; another
BLAS may round the large-problem kernel differently, at the level of ``u``). Means and variances
are summed with
:func:`math.fsum` (correctly rounded, hence order-free); the adaptive stopping rule is evaluated
at chunk boundaries from per-chunk statistics merged in chunk order.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from scipy import special
from scipy.linalg import blas, lapack, solve_triangular

from lininv import _validation
from lininv._threads import one_blas_thread
from lininv._validation import (
    _as_real_array,
    as_spectrum,
    check_int,
    check_memory,
    check_real,
    check_rng,
    describe,
)

__all__ = [
    "MonteCarloEstimate",
    "expected_error",
    "errors_for_draws",
    "CHUNK_DRAWS",
]

#: Draws per independent random stream (the unit of reproducibility and of adaptive stopping).
CHUNK_DRAWS = 64
#: Relative accuracy certified (worst case, first order) for a draw kept from the fast kernel.
FAST_TOL = 1e-6
#: Problems with n m^2 at most this use the numba kernel, larger ones BLAS/LAPACK (measured by
#: ``benchmarks/montecarlo.py --crossover``: per-call overhead dominates below, BLAS wins above).
_NUMBA_MAX_WORK = 2**15
#: Target size of one batch of draws held in memory (bytes per buffer).
_BATCH_BYTES = 16 * 2**20
#: Adaptive runs take at least this many chunks before the stopping rule is consulted.
_MIN_CHUNKS = 4


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


# ---------------------------------------------------------------------------------------------
# Per-draw kernels


def _kernels():
    from lininv import _montecarlo_kernels

    return _montecarlo_kernels


def _stable_error(s: np.ndarray, Y: np.ndarray, sigma2m: float) -> float:
    """Row-sorted Householder QR of the augmented matrix (module docstring); one draw."""
    n, m = Y.shape
    h = min(m, n)
    Yp = np.vstack([Y, math.sqrt(sigma2m) * np.eye(m)]) if sigma2m > 0.0 else Y
    X = np.zeros((Yp.shape[0], m + h))
    X[:, :m] = Yp
    X[np.arange(h), m + np.arange(h)] = s[:h]
    order = np.argsort(-np.max(np.abs(X), axis=1), kind="stable")
    R = np.asarray(np.linalg.qr(X[order], mode="r"))
    R11 = R[:m, :m]
    if not np.all(np.abs(np.diag(R11)) > 0.0):
        raise ValueError(
            "omega must have full column rank for the noiseless error; got a rank-deficient draw"
        )
    head = math.fsum((R[m:, m:] ** 2).ravel())
    if h == n:
        return head
    Z = solve_triangular(R11, Y[h:].T, trans="T", lower=False, check_finite=False)
    lev = np.einsum("ij,ij->j", Z, Z)
    return head + math.fsum((s[h:] ** 2) * (1.0 - lev))


def _fast_blas(s: np.ndarray, Y: np.ndarray, sigma2m: float, out: np.ndarray, ok: np.ndarray):
    """Fast kernel with BLAS/LAPACK, for larger problems (one LAPACK call sequence per draw)."""
    K = _kernels()
    k, n, m = Y.shape
    h = min(m, n)
    d = s * s
    tr_d = math.fsum(d)
    M = np.matmul(Y.transpose(0, 2, 1), Y)  # syrk per draw
    for j in range(k):
        Mj = M[j]
        if sigma2m > 0.0:
            Mj[np.diag_indices(m)] += sigma2m
        diag_m = np.diag(Mj).copy()
        L, info = lapack.dpotrf(Mj, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            continue
        Li, info = lapack.dtrtri(L, lower=1)
        if info != 0:
            continue
        Z = blas.dtrmm(1.0, Li, Y[j].T, lower=1)  # L^{-1} Y^T, shape (m, n), Fortran order
        err, sdh, tr_m, fro, status = K.finish_draw(Z.T, Li, diag_m, d, tr_d, FAST_TOL)
        out[j] = err
        if status == 0:  # second stage: L^{-T} (L^{-1} Y_h^T) S_h with the head columns of Z
            T = blas.dtrmm(1.0, Li, Z[:, :h] * s[:h], lower=1, trans_a=1)
            status = 1 if K.second_stage(n, T, d, tr_m, fro, sdh, tr_d, err, FAST_TOL) else -1
        ok[j] = status == 1


def _errors_from_y(s: np.ndarray, Y: np.ndarray, sigma2m: float) -> np.ndarray:
    """Per-draw errors for ``Y = s[:, None] * omega`` (shape (k, n, m), ``s`` descending)."""
    k, n, m = Y.shape
    out = np.empty(k)
    if sigma2m == 0.0 and m == n:  # P_Y = I for a full-rank square draw
        out[:] = 0.0
        return out
    ok = np.zeros(k, dtype=bool)
    with one_blas_thread():
        if n * m * m <= _NUMBA_MAX_WORK:
            _kernels().fast_errors(s, Y, sigma2m, FAST_TOL, out, ok)
        else:
            _fast_blas(s, Y, sigma2m, out, ok)
        for j in np.flatnonzero(~ok):
            out[j] = _stable_error(s, Y[j], sigma2m)
    return out


def errors_for_draws(s: Any, omega: Any, noise_std: float = 0.0) -> np.ndarray:
    r"""Per-draw conditional error for ``G = diag(s)`` and ``A = omega[j].T / sqrt(m)``.

    .. math:: e_j = E_{x_0,\eta}\|\hat x - x_0\|^2
              = \operatorname{tr}\,\mathrm{Cov}(x_0 \mid A_j x_0 + \eta), \qquad
              \eta \sim N(0, \sigma^2 I_m),

    noiselessly :math:`\|(I - P_{Y_j}) S\|_F^2` with :math:`Y_j = S\Omega_j`.

    Parameters
    ----------
    s : array_like of shape (n,)
        Singular values of ``G``, positive. Any order: the rows of ``omega`` are matched to the
        entries of ``s`` as given.
    omega : array_like of shape (k, n, m)
        A stack of ``k`` matrices (standard normal draws; any full-column-rank matrices work).
        ``m <= n`` without noise.
    noise_std : float, default=0.0
        Noise standard deviation :math:`\sigma \ge 0` per measurement of ``A = omega.T/sqrt(m)``.

    Returns
    -------
    ndarray of shape (k,)

    Notes
    -----
    The kernels, their accuracy criterion and the stable fallback are described in the module
    docstring of :mod:`lininv._montecarlo`: relative accuracy of at least ``1e-6`` per draw in the
    worst case (about ``1e-15`` typically), for spectra with condition numbers up to ``1e12`` and
    beyond. The value of a draw does not depend on the other draws in the stack.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import errors_for_draws
    >>> omega = np.random.default_rng(0).standard_normal((3, 5, 2))
    >>> errors_for_draws(np.ones(5), omega)  # flat spectrum: exactly n - m per draw
    array([3., 3., 3.])
    """
    s_in = as_spectrum("s", s)  # validates; sorted copy
    raw = _as_real_array("s", s)
    n = s_in.size
    noise_std = check_real("noise_std", noise_std, low=0.0)
    omega = _as_real_array("omega", omega)
    if omega.ndim != 3 or omega.shape[1] != n or omega.shape[2] < 1 or omega.shape[0] < 1:
        raise ValueError(
            f"omega must have shape (k, {n}, m) with k, m >= 1 to match s of size n = {n}; "
            f"got {omega.shape}"
        )
    m = omega.shape[2]
    if noise_std == 0.0 and m > n:
        raise ValueError(f"omega must have m <= n = {n} columns without noise; got m = {m}")
    top = math.sqrt(float(np.finfo(np.float64).max) / m)
    if noise_std > top:  # the kernels' m noise_std^2 must be finite
        raise ValueError(
            f"noise_std must be at most sqrt(max double / m) = {top:.3g} for m = {m}; "
            f"got {noise_std:g}"
        )
    check_workload(n, math.inf, m, 0.0, stored=omega.shape[0], stored_name="omega draws")
    order = np.argsort(-raw, kind="stable")
    out = np.empty(omega.shape[0])
    step = _default_batch(n, m)  # bounds the scaled copy held in memory
    for lo in range(0, omega.shape[0], step):
        Y = np.ascontiguousarray(omega[lo : lo + step, order, :] * s_in[:, None])
        out[lo : lo + step] = _errors_from_y(s_in, Y, m * noise_std**2)
    return out


# ---------------------------------------------------------------------------------------------
# Random streams and chunks


def _seed_from(rng: Any) -> int:
    """An int seed that reproduces a run, from anything :func:`check_rng` accepts."""
    if rng is None:
        return int(cast(int, np.random.SeedSequence().entropy))
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if int(rng) < 0:
            raise ValueError(f"rng must be a non-negative int seed; got {int(rng)}")
        return int(rng)
    gen = check_rng(rng)
    if (
        isinstance(rng, np.random.SeedSequence)
        and isinstance(rng.entropy, numbers.Integral)
        and rng.spawn_key == ()
        and rng.pool_size == 4
    ):
        return int(rng.entropy)
    return int.from_bytes(gen.bytes(16), "little")


def _chunk_state(seed: int, chunk: int) -> np.ndarray:
    seq = np.random.SeedSequence(seed, spawn_key=(chunk,))
    return np.array(np.random.SFC64(seq).state["state"]["state"], dtype=np.uint64)


def chunk_normals(seed: int, chunk: int, count: int, n: int, m: int) -> np.ndarray:
    """The ``(count, n, m)`` standard normals of the first ``count`` draws of a chunk.

    Equal, bit for bit, to ``Generator(SFC64(SeedSequence(seed, spawn_key=(chunk,))))
    .standard_normal((count, n, m))``.
    """
    out = np.empty((count, n, m))
    _kernels().fill_normals(_chunk_state(seed, chunk), out)
    return out


def _default_batch(n: int, m: int) -> int:
    # A draw in a batch holds its n x m normals and, in the kernels, its m x m Gram matrix.
    return int(max(1, min(4096, _BATCH_BYTES // (8 * m * max(n, m)))))


def memory_estimate(n: int, m: int, batch: int, stored: int) -> dict[str, int]:
    """Bytes a run holds at once, about, by what holds them (float64 throughout).

    ``normals``: one batch of ``batch`` draws of ``n x m`` normals; ``kernel``: the larger of the
    fast kernel's batch of ``m x m`` Gram matrices with one draw's triangular factors and
    products (``batch m^2 + 2 m^2 + 2 n m`` doubles) and the stable kernel's augmented
    ``(n + m) x (m + min(m, n))`` matrix with its absolute values, row-sorted copy and QR copy,
    beside the noise block (``4 (n + m)(m + h) + (n + m) m + m^2``); ``spectrum``: a few copies of
    ``s``; ``values``: the ``stored`` per-draw errors (per-chunk arrays, their concatenation and
    the squared deviations of the statistics). Measured peaks (tracemalloc) are 0.5 to 0.9 times
    these figures.
    """
    h = min(m, n)
    fast = batch * m * m + 2 * m * m + 2 * n * m
    stable = 4 * (n + m) * (m + h) + (n + m) * m + m * m
    return {
        "normals": 8 * batch * n * m,
        "kernel": 8 * max(fast, stable),
        "spectrum": 8 * 6 * n,
        "values": 24 * stored,
    }


def check_workload(
    n: int,
    s_max: float,
    m: int,
    noise_std: float,
    *,
    stored: int,
    batch: int | None = None,
    stored_name: str = "trials",
    batch_name: str = "batch_size",
    noise_name: str = "noise_std",
    m_name: str = "m",
    context: str = "",
) -> None:
    """Refuse a run that cannot be done: noise beyond the range, or more memory than there is.

    The checks of :func:`expected_error` that depend on the sizes, shared with :func:`lininv.sweep`
    so that a sweep refuses such a cell before any work. ``stored`` is the number of per-draw
    values the run may hold (``trials``, or ``max_trials`` for an adaptive run) and
    ``stored_name`` its argument's name; ``batch`` is ``batch_size`` if the caller gave one.
    The ``*_name`` arguments name the caller's arguments in messages; ``context`` (e.g.
    ``" for spectrum 'flat'"``) is added to them.
    """
    if noise_std / s_max > 1e150:  # m (noise_std / s_max)^2 must stay finite
        raise ValueError(
            f"{noise_name} must be at most 1e150 times s_max = {s_max:.3g}{context}; "
            f"got {noise_std:g}"
        )
    size = _default_batch(n, m) if batch is None else batch
    parts = memory_estimate(n, m, size, stored)
    total = sum(parts.values())
    limit = _validation.memory_limit()
    if limit is None or total <= limit:
        return
    if parts["values"] >= total / 2:
        what = f"mostly the per-draw errors it holds{context}"
        check_memory(stored_name, stored, total, what)
    if batch is not None and sum(memory_estimate(n, m, 1, stored).values()) <= limit:
        what = f"{batch} draws of {n} x {m} normals and m x m Gram matrices at once{context}"
        check_memory(batch_name, batch, total, what)
    what = (
        f"with n = {n}{context}: one draw's normals and the kernels' m x m and "
        "(n + m) x (m + min(m, n)) matrices"
    )
    check_memory(m_name, m, total, what)


def _compute_chunks(
    s: np.ndarray, m: int, sigma2m: float, seed: int, chunks: list[tuple[int, int]], batch: int
) -> list[np.ndarray]:
    """Per-draw errors of the given ``(chunk, count)`` pairs, ``batch`` draws per kernel call.

    Top-level (picklable) so that executors and Dask workers can run it.
    """
    K = _kernels()
    n = s.size
    total = sum(count for _, count in chunks)
    buf = np.empty((min(batch, total), n, m))
    results = [np.empty(count) for _, count in chunks]
    pending: list[tuple[int, int, int, int]] = []  # (result index, offset, buffer start, count)
    fill = 0

    def flush() -> None:
        nonlocal fill
        if fill == 0:
            return
        Y = buf[:fill]
        Y *= s[:, None]
        vals = _errors_from_y(s, Y, sigma2m)
        for r, off, start, cnt in pending:
            results[r][off : off + cnt] = vals[start : start + cnt]
        pending.clear()
        fill = 0

    for r, (chunk, count) in enumerate(chunks):
        state = _chunk_state(seed, chunk)
        done = 0
        while done < count:
            take = min(count - done, buf.shape[0] - fill)
            K.fill_normals(state, buf[fill : fill + take])
            pending.append((r, done, fill, take))
            fill += take
            done += take
            if fill == buf.shape[0]:
                flush()
    flush()
    return results


# ---------------------------------------------------------------------------------------------
# Statistics


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
    values: np.ndarray, seed: int, rtol: float | None, scale: float = 1.0, converged: bool = True
) -> MonteCarloEstimate:
    """Mean, standard error and Student-t 95% interval of ``scale * values``.

    The statistics are formed from ``values`` (of order one) and scaled afterwards, so that
    squared deviations cannot overflow for spectra of any representable size.
    """
    count = values.size
    mean = math.fsum(values) / count
    var = math.fsum((values - mean) ** 2) / (count - 1)
    stderr = math.sqrt(var / count)
    half = float(special.stdtrit(count - 1, 0.975)) * stderr
    ci = (scale * (mean - half), scale * (mean + half))
    return MonteCarloEstimate(scale * mean, scale * stderr, ci, count, seed, rtol, converged)


# ---------------------------------------------------------------------------------------------
# Execution


def as_executor(executor: Any) -> Executor | None:
    """``None``, a :class:`concurrent.futures.Executor`, or a ``distributed.Client``."""
    if executor is None or isinstance(executor, Executor):
        return executor
    if type(executor).__module__.startswith("distributed") and hasattr(executor, "get_executor"):
        return executor.get_executor()
    raise TypeError(
        "executor must be None, a concurrent.futures.Executor or a distributed.Client; "
        f"got {describe(executor)}"
    )


def _tasks(trials: int, group: int) -> Iterator[list[tuple[int, int]]]:
    """Lists of ``group`` consecutive ``(chunk, count)`` pairs covering ``trials`` draws, lazily.

    Nothing proportional to ``trials`` is built before the work starts: an adaptive run that
    stops early never plans the chunks it does not need.
    """
    full, rest = divmod(trials, CHUNK_DRAWS)
    chunks = full + (1 if rest else 0)
    for first in range(0, chunks, group):
        yield [
            (c, CHUNK_DRAWS if c < full else rest) for c in range(first, min(first + group, chunks))
        ]


def _run(
    s: np.ndarray,
    m: int,
    sigma2m: float,
    seed: int,
    *,
    trials: int | None,
    rtol: float | None,
    max_trials: int,
    executor: Executor | None,
    batch: int,
    on_progress: Callable[[int], None],
) -> tuple[np.ndarray, bool]:
    """Per-draw errors of the run, in draw order; and whether the stopping rule was met."""
    total = trials if trials is not None else max_trials
    n_chunks = -(-total // CHUNK_DRAWS)
    group = max(1, -(-batch // CHUNK_DRAWS))
    tasks = _tasks(total, group)
    done: dict[int, np.ndarray] = {}  # chunk -> values
    prefix = 0  # chunks [0, prefix) are complete and merged
    stats: tuple[int, float, float] = (0, 0.0, 0.0)
    stop_at: int | None = None  # number of chunks of the result

    def advance() -> None:
        nonlocal prefix, stats, stop_at
        while stop_at is None and prefix in done:
            values = done[prefix]
            on_progress(values.size)
            prefix += 1
            if rtol is not None:
                stats = _merge(stats, _chunk_stats(values))
                if prefix >= _MIN_CHUNKS and _converged(stats, rtol):
                    stop_at = prefix
            if prefix == n_chunks:
                stop_at = prefix

    def store(task: list[tuple[int, int]], values: list[np.ndarray]) -> None:
        for (chunk, _), v in zip(task, values, strict=True):
            done[chunk] = v

    if executor is None:
        for task in tasks:
            store(task, _compute_chunks(s, m, sigma2m, seed, task, batch))
            advance()
            if stop_at is not None:
                break
    else:
        window = 2 * int(getattr(executor, "_max_workers", 2) or 2)
        queue = tasks
        running: dict[Future, list[tuple[int, int]]] = {}
        try:
            while stop_at is None:
                while len(running) < window:
                    nxt: list[tuple[int, int]] | None = next(queue, None)
                    if nxt is None:
                        break
                    running[executor.submit(_compute_chunks, s, m, sigma2m, seed, nxt, batch)] = nxt
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    store(running.pop(fut), fut.result())
                advance()
        finally:
            for fut in running:
                fut.cancel()
    assert stop_at is not None
    values = np.concatenate([done[c] for c in range(stop_at)])
    converged = rtol is None or (stop_at < n_chunks or _converged(stats, rtol))
    return values, converged


def expected_error(
    s: Any,
    m: int,
    noise_std: float = 0.0,
    *,
    rtol: float | None = None,
    trials: int | None = None,
    max_trials: int = 100_000,
    rng: Any = None,
    executor: Any = None,
    progress: bool = False,
    batch_size: int | None = None,
) -> MonteCarloEstimate:
    r"""Monte-Carlo estimate of the expected error :math:`E(m) = E_A E_{x_0,\eta}\|\hat x - x_0\|^2`.

    ``x_hat`` is the constrained MLE (noiseless) or the posterior mean (noisy) of the prior with
    singular values ``s``, from ``m`` Gaussian measurements ``A_ij ~ N(0, 1/m)`` and noise
    ``N(0, noise_std^2)`` per measurement. Each draw of ``A`` contributes its exact conditional
    error (the expectation over ``x0`` and noise is done in closed form).

    Parameters
    ----------
    s : array_like of shape (n,)
        Singular values of ``G``, positive, any order.
    m : int
        Number of measurements: ``1 <= m <= n`` without noise, any ``m >= 1`` with noise.
    noise_std : float, default=0.0
        Noise standard deviation :math:`\sigma \ge 0`.
    rtol : float, optional
        Adaptive run: draw chunks of :data:`CHUNK_DRAWS` until the standard error is at most
        ``rtol * |mean|`` (checked at chunk boundaries, from 4 chunks on), or ``max_trials``.
        The default, when neither ``rtol`` nor ``trials`` is given, is ``rtol = 1e-3``.
    trials : int, optional
        Fixed number of draws (``>= 2``); exclusive with ``rtol``.
    max_trials : int, default=100000
        Cap for adaptive runs. When it stops the run before ``rtol`` is reached, the result's
        ``converged`` is False (and a :class:`UserWarning` says so, for interactive use).
    rng : None, int, SeedSequence or Generator, default=None
        Seed. An int is used as is; other inputs are turned into an int seed, reported in the
        result so that ``rng=result.seed`` reproduces the run exactly.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Where to run chunks of draws; in-process by default.
    progress : bool, default=False
        Show a tqdm progress bar (draws).
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
    Rotation invariance (docs/theory.md section 5) reduces the problem to ``G = diag(s)``; the
    per-draw error is :math:`\sum_i s_i^2 (1 - h_i)` with :math:`h_i` the (regularised) leverage
    scores of :math:`Y = S\Omega`, computed by Cholesky QR when a worst-case rounding bound
    certifies it and by a row-sorted Householder QR otherwise (module :mod:`lininv._montecarlo`).

    Reproducibility: the same seed gives the same numbers, to the last bit, whatever
    ``batch_size``, ``executor`` or number of workers. Draws are organised in chunks of
    :data:`CHUNK_DRAWS`, each with its own stream ``SeedSequence(seed, spawn_key=(chunk,))``;
    sums are correctly rounded (:func:`math.fsum`); adaptive stopping is decided at chunk
    boundaries in chunk order.

    References
    ----------
    .. [1] N. Halko, P.-G. Martinsson, J. A. Tropp, SIAM Review 53(2), 2011 (the reduction and the
       upper bound).
    .. [2] C. G. Cox, N. J. Higham, "Stability of Householder QR factorization for weighted least
       squares problems", 1998 (row-wise stability of the fallback kernel).

    Examples
    --------
    >>> from lininv import expected_error
    >>> est = expected_error([1.0] * 8, 3, trials=100, rng=0)  # flat: (n - m) s^2 per draw
    >>> round(est.mean, 12), est.stderr < 1e-12, est.trials
    (5.0, True, 100)
    >>> s = [1.0 / (i + 1) ** 0.5 for i in range(64)]  # s_i^2 = 1/i
    >>> est = expected_error(s, 16, trials=2000, rng=1)
    >>> print(f"{est.mean:.3f} +- {est.stderr:.3f}")
    2.255 +- 0.002
    """
    s = as_spectrum("s", s)
    n = s.size
    noise_std = check_real("noise_std", noise_std, low=0.0)
    if noise_std == 0.0:
        m = check_int("m", m, low=1, high=n, reason=f" (1 <= m <= n = {n} without noise)")
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
        batch_size = _default_batch(n, m)
    batch_size = check_int("batch_size", batch_size, low=1)
    progress = bool(progress)
    check_workload(
        n,
        float(s[0]),
        m,
        noise_std,
        stored=trials if trials is not None else max_trials,
        stored_name="trials" if trials is not None else "max_trials",
        batch=batch_size if given_batch else None,
    )
    ratio = noise_std / float(s[0])
    sigma2m = m * ratio**2
    seed = _seed_from(rng)
    pool = as_executor(executor)

    from tqdm import tqdm

    bar = tqdm(
        total=trials if trials is not None else max_trials,
        unit="draw",
        disable=not progress,
        desc=f"E(m={m})",
        leave=False,
    )
    try:
        # E(m) is homogeneous of degree 2 in (s, noise_std): run in units of s_max so that the
        # statistics of the draws stay of order one (exactly the same numbers when s_max = 1).
        values, converged = _run(
            s / s[0],
            m,
            sigma2m,
            seed,
            trials=trials,
            rtol=rtol,
            max_trials=max_trials,
            executor=pool,
            batch=batch_size,
            on_progress=bar.update,
        )
    finally:
        bar.close()
    if not converged:
        warnings.warn(
            f"expected_error stopped at max_trials = {max_trials} before reaching rtol = {rtol}",
            UserWarning,
            stacklevel=2,
        )
    return _estimate(values, seed, rtol, scale=float(s[0]) ** 2, converged=converged)
