r"""Baselines beside the flow: Lasso in a 2-D DCT basis (cvxpy) and the rank-k linear generator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._estimators import latent_ridge, mle
from lininv._low_rank import LowRankPrior
from lininv._validation import _as_real_array, as_vector_or_batch, check_real, describe

__all__ = [
    "dct_basis",
    "lasso_dct",
    "low_rank_recover",
    "DEFAULT_LASSO_LAMBDAS",
    "DEFAULT_RANK_K_GAMMAS",
]

#: Lasso weights tried on held-out data by :func:`lininv.bridge.compare` (objective
#: ``||A Psi c - y||^2 + lam ||c||_1`` on signals with pixel values in [0, 1]).
DEFAULT_LASSO_LAMBDAS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0)

#: Latent ridge weights tried on held-out data for the rank-k generator (0 is the plain
#: least-squares latent fit, :func:`lininv.mle`).
DEFAULT_RANK_K_GAMMAS = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)


def dct_basis(shape: Sequence[int] = (8, 8)) -> np.ndarray:
    r"""Orthonormal 2-D DCT-II synthesis matrix :math:`\Psi` for images of the given shape.

    Parameters
    ----------
    shape : tuple of int, default=(8, 8)
        Image shape; ``n = prod(shape)`` and images are flattened in row-major order.

    Returns
    -------
    Psi : ndarray of shape (n, n)
        Column ``j`` is the image of the ``j``-th DCT coefficient, so :math:`x = \Psi c` with
        :math:`c = \Psi^T x` = ``scipy.fft.dctn(x.reshape(shape), norm="ortho").ravel()``.
        :math:`\Psi^T \Psi = I`.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.bridge import dct_basis
    >>> Psi = dct_basis((8, 8))
    >>> bool(np.allclose(Psi.T @ Psi, np.eye(64), atol=1e-14))
    True
    """
    from scipy.fft import idctn

    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape)
    ):
        raise ValueError(f"shape must be a pair of positive integers; got {describe(shape)}")
    rows, cols = int(shape[0]), int(shape[1])
    n = rows * cols
    basis = np.eye(n).reshape(n, rows, cols)
    # Synthesis: the inverse orthonormal DCT of each coefficient's indicator, flattened.
    return idctn(basis, axes=(1, 2), norm="ortho").reshape(n, n).T.copy()


def _check_batch_operator(A: Any, n: int) -> np.ndarray:
    arr = _as_real_array("A", A)
    if arr.ndim not in (2, 3) or arr.shape[-1] != n or arr.size == 0:
        raise ValueError(f"A must have shape (m, {n}) or (k, m, {n}); got {arr.shape}")
    return arr


def _check_batch_y(A: np.ndarray, y: Any) -> tuple[np.ndarray, bool]:
    m = A.shape[-2]
    Y = as_vector_or_batch("y", y, m, length_hint=f" to match A's m = {m}")
    if A.ndim == 3 and Y.shape != (A.shape[0], m):
        raise ValueError(f"y must have shape ({A.shape[0]}, {m}) to match A; got {Y.shape}")
    return np.atleast_2d(Y), Y.ndim == 1


def lasso_dct(
    A: Any,
    y: Any,
    lam: float | Sequence[float],
    *,
    shape: Sequence[int] = (8, 8),
    solver: str = "CLARABEL",
) -> np.ndarray:
    r"""Lasso in the 2-D DCT basis, solved with cvxpy.

    .. math:: \hat c = \arg\min_c \|A \Psi c - y\|^2 + \lambda \|c\|_1,\qquad \hat x = \Psi \hat c.

    Parameters
    ----------
    A : array_like of shape (m, n) or (k, m, n)
        Measurement operator, shared or one per problem.
    y : array_like of shape (m,) or (k, m)
        Measurements.
    lam : float or sequence of float
        Regularisation weight(s) :math:`\lambda \ge 0`. A sequence solves every problem for each
        weight (the compiled problem is reused).
    shape : tuple of int, default=(8, 8)
        Image shape, ``prod(shape) == n``.
    solver : str, default="CLARABEL"
        A cvxpy solver name.

    Returns
    -------
    ndarray of shape (n,) or (k, n); with a sequence ``lam``, shape (len(lam), ...) prepended.

    Raises
    ------
    RuntimeError
        If the solver does not report an optimal solution.

    Notes
    -----
    The ``k`` independent problems are solved as one separable convex program (a block-diagonal
    operator), whose minimiser is the tuple of the individual minimisers. No mean is subtracted:
    this is the classical sparsity baseline, which knows nothing of the training data beyond the
    weight chosen on held-out signals.

    References
    ----------
    .. [1] R. Tibshirani, "Regression shrinkage and selection via the lasso", J. R. Statist. Soc.
       B 58 (1996).
    .. [2] S. Diamond, S. Boyd, "CVXPY: a Python-embedded modeling language for convex
       optimization", JMLR 17 (2016).

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.bridge import dct_basis, lasso_dct
    >>> x = dct_basis((2, 2))[:, 0]  # a constant image: one DCT coefficient
    >>> A = np.eye(4)[:3]  # observe 3 of the 4 pixels; the sparsest consistent image is x
    >>> x_hat = lasso_dct(A, A @ x, 1e-6, shape=(2, 2))
    >>> bool(np.allclose(x_hat, x, atol=1e-5))
    True
    """
    import cvxpy as cp
    import scipy.sparse as sps

    Psi = dct_basis(shape)
    n = Psi.shape[0]
    A = _check_batch_operator(A, n)
    Y, single = _check_batch_y(A, y)
    many = not np.isscalar(lam)
    lams = np.atleast_1d(_as_real_array("lam", lam))
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError(f"lam must be a number or a non-empty 1-D sequence; got {describe(lam)}")
    for value in lams:
        check_real("lam", float(value), low=0.0)
    k, m = Y.shape
    blocks = [A @ Psi] * k if A.ndim == 2 else [Aj @ Psi for Aj in A]
    M = sps.block_diag(blocks, format="csc")
    c = cp.Variable(k * n)
    weight = cp.Parameter(nonneg=True)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(M @ c - Y.ravel()) + weight * cp.norm1(c)))
    out = np.empty((lams.size, k, n))
    for i, value in enumerate(lams):
        weight.value = float(value)
        problem.solve(solver=solver)
        if problem.status != cp.OPTIMAL or c.value is None:
            raise RuntimeError(
                f"lasso_dct: the {solver} solver returned status {problem.status!r} for "
                f"lam = {value:g}; try another solver"
            )
        out[i] = c.value.reshape(k, n) @ Psi.T
    if single:
        out = out[:, 0]
    return out if many else out[0]


def low_rank_recover(generator: LowRankPrior, A: Any, y: Any, gamma: float = 0.0) -> np.ndarray:
    r"""Recover with a rank-k linear generator by a (ridge-regularised) least-squares latent fit.

    .. math:: \hat x = \mu + G_k \hat w, \quad
              \hat w = \arg\min_w \|A(\mu + G_k w) - y\|^2 + \gamma \|w\|^2,

    per problem: :func:`lininv.mle` for ``gamma = 0`` (the CSGM estimator with a linear generator;
    the minimum-norm fit when ``m < k``) and :func:`lininv.latent_ridge` otherwise. Its output lies in
    the generator's range, so its error is at least :meth:`~lininv.LowRankPrior.representation_error`
    for every ``m`` and every ``gamma``. Without ridge the fit interpolates at ``m = k`` and the part
    of ``y`` the generator cannot represent is amplified (a peak of the error at ``m = k``).

    Parameters
    ----------
    generator : LowRankPrior
    A : array_like of shape (m, n) or (k, m, n)
    y : array_like of shape (m,) or (k, m)
    gamma : float, default=0.0
        Latent ridge weight.

    Returns
    -------
    ndarray of shape (n,) or (k, n)

    Examples
    --------
    >>> import numpy as np
    >>> from lininv import LowRankPrior
    >>> from lininv.bridge import low_rank_recover
    >>> gen = LowRankPrior(np.eye(3)[:, :1])   # the first axis
    >>> low_rank_recover(gen, np.eye(3), np.array([1.0, 2.0, 3.0]))  # floor: 2^2 + 3^2
    array([1., 0., 0.])
    """
    if not isinstance(generator, LowRankPrior):
        raise TypeError(f"generator must be a LowRankPrior; got {describe(generator)}")
    A = _check_batch_operator(A, generator.n)
    Y, single = _check_batch_y(A, y)
    gamma = check_real("gamma", gamma, low=0.0)

    def solve(Aj: np.ndarray, Yj: np.ndarray) -> np.ndarray:
        return mle(generator, Aj, Yj) if gamma == 0.0 else latent_ridge(generator, Aj, Yj, gamma)

    if A.ndim == 2:
        out = np.atleast_2d(solve(A, Y))
    else:
        out = np.stack([solve(Aj, yj) for Aj, yj in zip(A, Y, strict=True)])
    return out[0] if single else out
