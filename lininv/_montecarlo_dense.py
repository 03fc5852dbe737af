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

Per draw, for the invertible prior, with :math:`B = AUS`, a QR factorisation
:math:`[B^T; \sigma I_m] = [Q_1; Q_2] R` (so :math:`R^TR = BB^T + \sigma^2 I`) gives

.. math:: e = \|F' - S Q_1 R^{-T} A F\|_F^2 + \sigma^2 \|S Q_1 R^{-T}\|_F^2 ,

:math:`F' = U^T F` (signal space in the prior's basis): the bias and the noise terms of the
posterior mean, as sums of squares. Without noise the thin SVD :math:`B = W D Z^T` gives
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
from scipy.linalg import solve_triangular

from lininv._measurements import _draw

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
        The truth's second-moment factor in signal coordinates (``M = F F^T``).
    F_basis : ndarray of shape (n, p) or None
        ``U^T F`` for an invertible prior with ``U`` (``None`` when ``U`` is ``None``).
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
    F_basis: np.ndarray | None
    m: int
    noise: float
    ensemble: str | Callable[..., Any]
    generator: bool


def _invertible_error(p: DenseProblem, A: np.ndarray) -> float:
    m, n = A.shape
    if p.U is None:
        AU, AF, Fb = A, A @ p.F, p.F
    else:
        prod = A @ np.hstack([p.U, p.F])  # one product: A U and A F
        AU, AF, Fb = prod[:, :n], prod[:, n:], p.F_basis
    B = AU * p.s  # A U S
    if p.noise == 0.0:
        # The MLE depends on A only through its row space: a draw with dependent rows (possible
        # for discrete ensembles) is handled by that space, through the thin SVD of B.
        W, d, Zt = np.linalg.svd(B, full_matrices=False)
        keep = d > max(m, n) * np.finfo(float).eps * d[0]
        SZ = Zt[keep].T * p.s[:, None]  # S Z_r
        resid = Fb - SZ @ ((W[:, keep].T @ AF) / d[keep, None])  # F' - S B^+ A F
        return float(np.sum(resid * resid))
    Q, R = np.linalg.qr(np.vstack([B.T, p.noise * np.eye(m)]))  # R^T R = B B^T + sigma^2 I
    SQ1 = Q[:n] * p.s[:, None]  # S Q_1
    X = solve_triangular(R, AF, trans="T", check_finite=False)  # R^-T A F
    resid = Fb - SQ1 @ X
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
    out = []
    for chunk, count in chunks:
        gen = np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(chunk,))))
        values = np.empty(count)
        for j in range(count):
            values[j] = kernel(problem, _draw(problem.ensemble, problem.m, n, gen))
        out.append(values)
    return out
