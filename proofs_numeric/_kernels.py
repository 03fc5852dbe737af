r"""Per-draw quantities of the proof, computed directly (a second, independent implementation).

These do not call the Monte-Carlo engine: the proof checks compare them against it and against
the core's closed forms. Everything works for ``G = diag(s)`` (``s`` descending) and
``A = \Omega^T/\sqrt m`` with ``\Omega`` a stack of standard normals of shape ``(k, n, m)``.

Accuracy. :func:`residual_errors` takes a complete Householder QR of :math:`Y = S\Omega` and sums
:math:`\|Q_\perp^T S\|_F^2`, a sum of non-negative terms with no cancellation. Because the rows
of ``Y`` are sorted by decreasing scale (``s`` descending), the computed ``Q_perp`` is exactly
orthogonal to the range of a row-wise small perturbation of ``Y``, and the result has relative
accuracy of a few ``n * eps`` even when ``s`` spans twelve orders of magnitude (measured against
mpmath in ``tests/test_proofs_kernels.py``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

__all__ = [
    "residual_errors",
    "hmt_terms",
    "pinv_frobenius_sq",
    "inverse_wishart_trace_is",
    "tail_sums",
    "min_norm_solution",
    "posterior_gain",
]

_CHUNK_BYTES = 64 * 2**20  # memory per batch of complete Q factors


def tail_sums(s: np.ndarray) -> np.ndarray:
    """``t[k] = sum_{j >= k} s_j^2`` (0-based) for ``k = 0..n``, each by ``math.fsum``."""
    s2 = np.asarray(s, dtype=float) ** 2
    return np.array([math.fsum(s2[k:]) for k in range(s2.size + 1)])


def residual_errors(s: np.ndarray, omega: np.ndarray) -> np.ndarray:
    r"""Per-draw noiseless error :math:`\|(I - P_Y) S\|_F^2`, :math:`Y = S\Omega`.

    Parameters
    ----------
    s : ndarray of shape (n,)
        Singular values, descending.
    omega : ndarray of shape (k, n, m)
        Standard normal draws, ``m <= n``.

    Returns
    -------
    ndarray of shape (k,)
    """
    s = np.asarray(s, dtype=float)
    k, n, m = omega.shape
    out = np.empty(k)
    step = max(1, _CHUNK_BYTES // (8 * n * n))
    for lo in range(0, k, step):
        Y = s[None, :, None] * omega[lo : lo + step]
        Q, _ = np.linalg.qr(Y, mode="complete")
        Qp = Q[:, :, m:]
        out[lo : lo + step] = np.sum((s[None, :, None] * Qp) ** 2, axis=(1, 2))
    return out


def hmt_terms(
    s: np.ndarray, omega: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per-draw pieces of Halko-Martinsson-Tropp's deterministic bound at the split ``k``.

    Returns ``(tail, cross, cond)``: :math:`\|S_2\|_F^2` (a scalar broadcast to shape (draws,)),
    :math:`\|S_2\Omega_2\Omega_1^+\|_F^2` and the condition number of :math:`\Omega_1`
    (``k x m``, full row rank almost surely).

    Notes
    -----
    :math:`\Omega_1^+ = Q R^{-T}` from the thin QR :math:`\Omega_1^T = QR`, so
    :math:`S_2\Omega_2\Omega_1^+ = (R^{-1} (S_2\Omega_2 Q)^T)^T`, a batched solve with R.
    """
    draws, n, m = omega.shape
    s = np.asarray(s, dtype=float)
    om1 = omega[:, :k, :]
    om2 = omega[:, k:, :]
    Q, R = np.linalg.qr(np.swapaxes(om1, 1, 2))  # (draws, m, k), (draws, k, k)
    M = (s[k:, None] * om2) @ Q  # S2 Omega2 Q, (draws, n - k, k)
    X = np.linalg.solve(R, np.swapaxes(M, 1, 2))  # R^{-1} (S2 Omega2 Q)^T, batched
    cross = np.sum(X * X, axis=(1, 2))
    sv = np.linalg.svd(om1, compute_uv=False)
    cond = sv[:, 0] / sv[:, -1]
    tail = np.full(draws, tail_sums(s)[k])
    return tail, cross, cond


def pinv_frobenius_sq(omega1: np.ndarray) -> np.ndarray:
    r""":math:`\|\Omega_1^+\|_F^2 = \sum_i \sigma_i(\Omega_1)^{-2}` for a stack of shape (draws, k, l)."""
    sv = np.linalg.svd(omega1, compute_uv=False)
    return np.sum(sv**-2.0, axis=-1)


def inverse_wishart_trace_is(omega_prop: np.ndarray) -> np.ndarray:
    r"""Importance-sampling estimator of :math:`E\operatorname{tr}W^{-1}`, :math:`W \sim
    \mathcal W_k(I, \nu)`, from draws of the proposal :math:`W' \sim \mathcal W_k(I, \nu - 2)`.

    Parameters
    ----------
    omega_prop : ndarray of shape (draws, k, nu - 2)
        Standard normals; ``W' = omega_prop @ omega_prop.T`` (needs ``nu - 2 >= k``).

    Returns
    -------
    ndarray of shape (draws,)
        :math:`\operatorname{tr}(W'^{-1}) \cdot w(W')` with the likelihood ratio
        :math:`w = f_\nu/f_{\nu-2} = \det W' / \prod_{j=1}^k (\nu - 1 - j)`, i.e.
        :math:`e_{k-1}(\lambda(W'))/\prod_j(\nu - 1 - j)`.

    Notes
    -----
    The Wishart density is :math:`f_\nu(W) \propto \det(W)^{(\nu-k-1)/2} e^{-\operatorname{tr}W/2}
    / (2^{\nu k/2}\Gamma_k(\nu/2))`, so
    :math:`f_\nu/f_{\nu-2} = \det W\, 2^{-k}\Gamma_k(\nu/2-1)/\Gamma_k(\nu/2)
    = \det W / \prod_{j=1}^k(\nu - 1 - j)`. The product :math:`\operatorname{tr}(W^{-1})\det W` is
    the elementary symmetric polynomial :math:`e_{k-1}` of the eigenvalues, a polynomial in the
    Gaussian entries: every moment is finite, whereas :math:`\operatorname{tr} W^{-1}` itself has
    infinite variance when :math:`\nu - k < 4`. Sums of positive terms in log scale; no
    cancellation.
    """
    draws, k, nu_prop = omega_prop.shape
    lam = np.linalg.svd(omega_prop, compute_uv=False) ** 2  # eigenvalues of W'
    log_lam = np.log(lam)
    log_norm = float(np.sum(np.log(nu_prop + 1.0 - np.arange(1, k + 1))))
    total = np.sum(log_lam, axis=-1, keepdims=True)
    return np.sum(np.exp(total - log_lam - log_norm), axis=-1)


def min_norm_solution(B: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Minimum-norm solution of ``B z = y`` (``B`` of full row rank) and an orthonormal basis of
    the row space, from the thin QR :math:`B^T = QR`: :math:`z = Q R^{-T} y`.

    Returns ``(z, Q)``.
    """
    Q, R = linalg.qr(B.T, mode="economic")
    z = Q @ linalg.solve_triangular(R, y, trans="T", lower=False)
    return z, Q


def posterior_gain(Sigma: np.ndarray, A: np.ndarray, noise_var: float) -> np.ndarray:
    r"""Dense reference :math:`K = \Sigma A^T (A\Sigma A^T + \sigma^2 I)^{-1}` by Cholesky solve."""
    M = A @ Sigma @ A.T + noise_var * np.eye(A.shape[0])
    c = linalg.cho_factor(M)
    return linalg.cho_solve(c, A @ Sigma).T
