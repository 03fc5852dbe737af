r"""Monte-Carlo draws for a mismatched truth, any measurement ensemble, or the rank-k generator.

The matched Gaussian case reduces to the spectrum alone and has its own certified kernels
(:mod:`lininv._montecarlo`). Everything else is computed here, one exact conditional error per
draw of ``A`` (:func:`lininv.conditional_error`'s formulas), after reducing the problem as far
as the mathematics allows (:func:`reduce`):

* **Gaussian or Haar A** (rotation invariant): :math:`AU` has the law of ``A``, and so has
  :math:`AUD` for every sign matrix ``D``. The expected error is therefore that of the diagonal
  prior ``S`` with the truth's second moment replaced by its diagonal in the prior's basis,
  :math:`q_i = u_i^T M u_i` (averaging over signs kills the off-diagonal terms). Per draw:
  ``A`` and its products with two diagonal matrices.
* **Other ensembles** (Rademacher, DCT, mask, a callable): the prior's left singular vectors
  ``U`` matter (the right ones never do: the estimator is equivariant under latent rotations).
  Per draw: ``A U`` and ``A F`` in one product with ``[U, F]``, unless the prior is diagonal.
* A matched truth enters as :math:`F = US` (its second moment is the prior's covariance).

Per draw, for the invertible prior, with :math:`B = AUS` and the Cholesky factor
:math:`BB^T + \sigma^2 I = CC^T`, the estimator's map in the prior's basis is
:math:`\Pi = L K^T` with :math:`K^T = C^{-1}AU` and :math:`L = S^2 K`, and

.. math:: e = \|F' - \Pi F'\|_F^2 + \sigma^2 \|S Q_1 R^{-T}\|_F^2 ,

:math:`F' = U^T F` (signal space in the prior's basis): the bias and the noise terms of the
posterior mean. The bias is evaluated as :math:`\operatorname{tr}M' - 2\operatorname{tr}(\Pi
M') + \operatorname{tr}((L^TL)(K^TM'K))` with :math:`M' = F'F'^T` precomputed: besides ``A U``,
one ``m x n`` by ``n x n`` product per draw (none for a diagonal ``M'``). Two checks guard it:
the Cholesky factor's condition number (LAPACK's ``dtrcon`` estimate; the solves lose about
:math:`\kappa(C)^2 m u`) and the traces' rounding (about ``4 n (m + 1) u`` times their sizes),
each at most ``1e-8`` of the value; a draw failing either is recomputed from a QR factorisation
:math:`[B^T; \sigma I_m] = [Q_1; Q_2] R` as the sum of squares
:math:`\|F' - S Q_1 R^{-T} AF\|_F^2` (or from the SVD of ``B`` without noise). Without noise the thin SVD :math:`B = W D Z^T` gives
:math:`e = \|F' - S Z D^{-1} W^T A F\|_F^2` over the nonzero singular values: a draw whose rows
are linearly dependent (a Rademacher or DCT draw can be) is handled by its row space, which is
all the noiseless MLE depends on. For the rank-k generator :math:`x = \mu + U_k S_k z`, with
:math:`B = AU_kS_k` and :math:`K B^T` its (ridge) pseudo-inverse,
:math:`e = \|U_kS_k K B^T AF - F\|_F^2 + \sigma^2\|S_k K B^T\|_F^2`.

Reproducibility: chunk ``c`` draws from ``Generator(SFC64(SeedSequence(seed, spawn_key=(c,))))``
and draw ``j`` of a chunk uses the ``j``-th ``A`` of that stream, so a draw's value does not
depend on the batch size, the executor or the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import lapack, solve_triangular

from lininv._measurements import _draw, _mask_rows

__all__ = ["DenseProblem", "compute_dense_chunks"]


@dataclass(frozen=True)
class DenseProblem:
    """One reduced expected-error problem (all arrays in units of the prior's ``s_max``).

    Attributes
    ----------
    s : ndarray of shape (r,)
        Singular values of the prior's factor (``r = n`` invertible, ``k`` for a generator).
    U : ndarray of shape (n, r) or None
        Left singular vectors; ``None`` is the identity (a diagonal prior, or a reduced one).
    F : ndarray of shape (n, p)
        The truth's second-moment factor (``M = F F^T``): in signal coordinates for the
        generator, in the prior's basis (``U^T F``) for the invertible prior.
    M : ndarray of shape (n, n) or (n,)
        ``F F^T`` in the prior's basis (invertible prior), or its diagonal when that is all
        there is (a reduced problem); unused for the generator.
    m : int
    noise : float
        Noise standard deviation in the same units.
    ensemble : str or callable
    generator : bool
        Whether the estimator's prior is the rank-k generator.
    """

    s: np.ndarray
    U: np.ndarray | None
    F: np.ndarray
    M: np.ndarray | None
    m: int
    noise: float
    ensemble: str | Callable[..., Any]
    generator: bool


#: The trace form is kept when its worst-case rounding is below this fraction of the error.
_TRACE_TOL = 1e-8


def _invertible_error(p: DenseProblem, A: np.ndarray, AU: np.ndarray | None = None) -> float:
    """One draw's error: the trace form on a Cholesky factor (two products), else stable forms.

    ``AU`` may be given when the draw's structure makes it cheap (a mask's rows of ``U``).
    """
    m, n = A.shape
    if AU is None:
        AU = A if p.U is None else A @ p.U
    B = AU * p.s  # A U S
    eps = np.finfo(float).eps
    G = B @ B.T
    if p.noise > 0.0:
        G[np.diag_indices(m)] += p.noise**2
    C, info = lapack.dpotrf(G, lower=1, clean=1, overwrite_a=1)  # B B^T + s^2 I = C C^T
    if info == 0:
        rcond, info = lapack.dtrcon(C, norm="1", uplo="L")
    # the solves with C lose about cond(C)^2 m u relative: keep the fast path far from that
    if info != 0 or not rcond > 0.0 or m * eps / rcond**2 > _TRACE_TOL:
        return _residual_error(p, AU, B)
    Kt = solve_triangular(C, AU, lower=True, check_finite=False)  # C^-1 A U
    # Pi = S B^T (B B^T + s^2)^-1 A U = L Kt with L = S B^T C^-T = S^2 Kt^T
    s2 = p.s * p.s
    P = Kt * p.M if p.M.ndim == 1 else Kt @ p.M  # Kt M
    trace_m = float(np.sum(p.M)) if p.M.ndim == 1 else float(np.trace(p.M))
    cross = float(np.sum(P * (Kt * s2)))  # tr(Pi M) = tr(Kt M L) = sum(P * L^T)
    LtL = (Kt * (s2 * s2)) @ Kt.T  # L^T L = Kt S^4 Kt^T
    quad = float(np.sum(LtL * (P @ Kt.T)))  # tr(Pi M Pi^T) = tr(L^T L Kt M Kt^T)
    bias = trace_m - 2.0 * cross + quad  # tr((I - Pi) M (I - Pi)^T)
    # rounding of the three traces, each a sum of about n (m + 1) products of this size
    rounding = 4 * n * (m + 1) * eps * (trace_m + 2 * abs(cross) + quad)
    if not rounding <= _TRACE_TOL * bias:
        return _residual_error(p, AU, B)
    if p.noise == 0.0:
        return bias
    # sigma^2 ||S B^T (B B^T + s^2)^-1||_F^2 = sigma^2 ||S^2 Kt^T C^-1||_F^2
    Ci = solve_triangular(C, np.eye(m), lower=True, check_finite=False)
    return bias + p.noise**2 * float(np.sum(((Ci.T @ Kt) * s2) ** 2))


def _residual_error(p: DenseProblem, AU: np.ndarray, B: np.ndarray) -> float:
    r"""The error as sums of squares (module docstring): no cancellation, one more product."""
    m, n = B.shape
    AF = AU @ p.F  # A F = A U (U^T F)
    if p.noise == 0.0:
        # The MLE depends on A only through its row space: a draw with dependent rows (possible
        # for discrete ensembles) is handled by that space, through the thin SVD of B.
        W, d, Zt = np.linalg.svd(B, full_matrices=False)
        keep = d > max(m, n) * np.finfo(float).eps * d[0]
        SZ = Zt[keep].T * p.s[:, None]  # S Z_r
        resid = p.F - SZ @ ((W[:, keep].T @ AF) / d[keep, None])  # F' - S B^+ A F
        return float(np.sum(resid * resid))
    Q, R = np.linalg.qr(np.vstack([B.T, p.noise * np.eye(m)]))  # R^T R = B B^T + sigma^2 I
    SQ1 = Q[:n] * p.s[:, None]  # S Q_1
    X = solve_triangular(R, AF, trans="T", check_finite=False)  # R^-T A F
    resid = p.F - SQ1 @ X
    Rinv_t = solve_triangular(R, np.eye(m), trans="T", check_finite=False)  # R^-T
    return float(np.sum(resid * resid)) + p.noise**2 * float(np.sum((SQ1 @ Rinv_t) ** 2))


def _generator_error(p: DenseProblem, A: np.ndarray) -> float:
    m = A.shape[0]
    k = p.s.size
    prod = A @ np.hstack([p.U, p.F])
    B, AF = prod[:, :k] * p.s, prod[:, k:]
    if p.noise > 0.0:
        Q, R = np.linalg.qr(np.vstack([B, p.noise * np.eye(k)]))  # R^T R = B^T B + sigma^2
        Q1 = Q[:m]
        coef = solve_triangular(R, Q1.T @ AF, check_finite=False)  # (B^T B + s^2)^-1 B^T A F
        Kb = solve_triangular(R, Q1.T, check_finite=False)
        noise_term = p.noise**2 * float(np.sum((p.s[:, None] * Kb) ** 2))
    else:
        coef = np.linalg.lstsq(B, AF, rcond=None)[0]  # min-norm when m < k
        noise_term = 0.0
    resid = (p.U * p.s) @ coef - p.F
    return float(np.sum(resid * resid)) + noise_term


def compute_dense_chunks(
    problem: DenseProblem, seed: int, chunks: list[tuple[int, int]], batch: int
) -> list[np.ndarray]:
    """Per-draw errors of the given ``(chunk, count)`` pairs (``batch`` only bounds memory here).

    Top-level (picklable) so that executors and Dask workers can run it.
    """
    n = problem.F.shape[0]
    kernel = _generator_error if problem.generator else _invertible_error
    gather = problem.ensemble == "mask" and not problem.generator and problem.U is not None
    scale = np.sqrt(n / problem.m)
    out = []
    for chunk, count in chunks:
        gen = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(chunk,))))
        values = np.empty(count)
        for j in range(count):
            if gather:  # a mask's A U is a scaled row subset of U: the same draw, no product
                rows = _mask_rows(problem.m, n, gen)
                A = np.zeros((problem.m, n))
                A[np.arange(problem.m), rows] = scale
                values[j] = _invertible_error(problem, A, scale * problem.U[rows])
            else:
                values[j] = kernel(problem, _draw(problem.ensemble, problem.m, n, gen))
        out.append(values)
    return out
