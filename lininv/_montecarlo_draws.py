r"""The matched Gaussian draws: each draw's exact error from the spectrum alone (docs/theory.md, section 5).

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
from typing import Any

import numpy as np
from scipy.linalg import blas, lapack, solve_triangular

from lininv._threads import one_blas_thread
from lininv._validation import _as_real_array, as_spectrum, check_real
from lininv._workload import check_workload, default_batch

__all__ = [
    "errors_for_draws",
    "chunk_normals",
    "compute_chunks",
    "default_batch",
    "CHUNK_DRAWS",
    "FAST_TOL",
]

#: Draws per independent random stream (the unit of reproducibility and of adaptive stopping).
CHUNK_DRAWS = 64
#: Relative accuracy certified (worst case, first order) for a draw kept from the fast kernel.
FAST_TOL = 1e-6
#: Problems with n m^2 at most this use the numba kernel, larger ones BLAS/LAPACK (measured by
#: ``benchmarks/montecarlo.py --crossover``: per-call overhead dominates below, BLAS wins above).
_NUMBA_MAX_WORK = 2**15


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
    step = default_batch(n, m)  # bounds the scaled copy held in memory
    for lo in range(0, omega.shape[0], step):
        Y = np.ascontiguousarray(omega[lo : lo + step, order, :] * s_in[:, None])
        out[lo : lo + step] = _errors_from_y(s_in, Y, m * noise_std**2)
    return out


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


def compute_chunks(
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
