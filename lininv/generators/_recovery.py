r"""CSGM recovery with a low-dimensional generator, and its representation error.

Compressed sensing with a generative model (Bora, Jalal, Price, Dimakis, ICML 2017):

.. math:: \hat z = \arg\min_z \|A\, D(z) - y\|^2 + \gamma \|z\|^2, \qquad \hat x = D(\hat z),

a non-convex problem in ``k`` unknowns, solved from several starting latents (restarts), keeping
the solve with the lowest objective. The representation error of a signal is the same problem
with ``A = I``, ``y = x0`` and ``gamma = 0``: :math:`\min_z \|D(z) - x_0\|^2`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
from scipy import optimize

from lininv._progress import check_progress, progress_sink
from lininv._random import seed_from, stream
from lininv._threads import one_blas_thread
from lininv._validation import (
    _as_real_array,
    as_vector_or_batch,
    check_choice,
    check_int,
    check_real,
    describe,
)

__all__ = ["SOLVERS", "STALL_GTOL", "CSGMResult", "csgm", "representation_error"]

#: Solvers of :func:`csgm`: ``"auto"`` (``"lm"`` when the residual has at least ``k`` entries,
#: else ``"trf"``), scipy's Levenberg-Marquardt and trust-region reflective on the residual, and
#: L-BFGS-B on the objective.
SOLVERS = ("auto", "lm", "trf", "lbfgs")

#: L-BFGS-B's line-search stall ("ABNORMAL") counts as convergence when the largest gradient
#: component is at most this: near a minimiser a step can decrease f by ~||g||^2 / L, below the
#: rounding of f (eps f) once ||g|| ~ sqrt(eps f L), about 1e-7 for f and L of order 1 to 100.
STALL_GTOL = 1e-6


class _Stream(IntEnum):
    """Named random streams (keys of :func:`lininv._random.stream`), then the problem index."""

    CSGM_STARTS = 20
    REPRESENTATION_STARTS = 21


@dataclass(frozen=True)
class CSGMResult:
    r"""Outcome of :func:`csgm` or :func:`representation_error` for one problem or a batch of ``B``.

    The first group describes the selected solve (the restart with the lowest objective); the
    ``restart_*`` arrays describe every solve, restarts along the last axis.

    Attributes
    ----------
    x : ndarray of shape (n,) or (B, n)
        :math:`D(\hat z)`.
    z : ndarray of shape (k,) or (B, k)
    objective : float or ndarray of shape (B,)
        :math:`\|A D(\hat z) - y\|^2 + \gamma\|\hat z\|^2` (the representation error
        :math:`\|D(\hat z) - x_0\|^2` for :func:`representation_error`).
    converged : bool or ndarray of bool
        Whether the selected solve met its tolerance (see :func:`csgm`, Notes).
    iterations : int or ndarray of int
        Iterations of the selected solve (Jacobian evaluations for ``trf`` / ``lm``).
    grad_norm : float or ndarray
        Euclidean norm of the objective's gradient at :math:`\hat z`.
    message : str or tuple of str
        The solver's message for the selected solve.
    restart : int or ndarray of int
        Index of the selected restart.
    restart_objective, restart_grad_norm : ndarray of shape (R,) or (B, R)
    restart_converged : ndarray of bool, shape (R,) or (B, R)
    restart_iterations : ndarray of int, shape (R,) or (B, R)
    z_init : ndarray of shape (R, k) or (B, R, k)
        The starting latents.
    solver : str
        The solver used (``"auto"`` resolved to ``"lm"`` or ``"trf"``).
    seconds : float
        Wall-clock time of the whole call.
    """

    x: np.ndarray
    z: np.ndarray
    objective: Any
    converged: Any
    iterations: Any
    grad_norm: Any
    message: Any
    restart: Any
    restart_objective: np.ndarray
    restart_converged: np.ndarray
    restart_iterations: np.ndarray
    restart_grad_norm: np.ndarray
    z_init: np.ndarray
    solver: str
    seconds: float

    @property
    def converged_fraction(self) -> float:
        """Fraction of problems whose selected solve converged."""
        return float(np.mean(self.converged))

    @property
    def restart_converged_fraction(self) -> float:
        """Fraction of all solves (every restart of every problem) that converged."""
        return float(np.mean(self.restart_converged))


# -- validation -------------------------------------------------------------------------------------


def _check_generator(generator: Any) -> Any:
    missing = [m for m in ("k", "n", "forward", "jacobian") if not hasattr(generator, m)]
    if missing:
        raise TypeError(
            "generator must be a lininv.generators.Generator (with k, n, forward and jacobian); "
            f"got {describe(generator)}, which lacks {', '.join(missing)}"
        )
    return generator


def _check_problems(A: Any, y: Any, n: int) -> tuple[np.ndarray, np.ndarray, bool]:
    A = _as_real_array("A", A)
    if A.ndim not in (2, 3) or A.shape[-1] != n or A.size == 0:
        raise ValueError(
            f"A must have shape (m, {n}) or (B, m, {n}) to match the generator's n = {n}; "
            f"got {A.shape}"
        )
    m = A.shape[-2]
    y = as_vector_or_batch("y", y, m, length_hint=f" to match A's m = {m}")
    if A.ndim == 3:
        if y.shape != (A.shape[0], m):
            raise ValueError(
                f"y must have shape ({A.shape[0]}, {m}) to match a batch of {A.shape[0]} "
                f"operators A; got {y.shape}"
            )
        return A, y, False
    return A, np.atleast_2d(y), y.ndim == 1


def _check_z_init(z_init: Any, B: int, k: int, single: bool) -> np.ndarray:
    Z = _as_real_array("z_init", z_init)
    if single and Z.ndim == 2:
        Z = Z[None]
    if Z.ndim != 3 or Z.shape[0] != B or Z.shape[2] != k or Z.shape[1] < 1:
        want = f"(R, {k})" if single else f"({B}, R, {k})"
        raise ValueError(f"z_init must have shape {want} (R restarts of k = {k}); got {Z.shape}")
    return Z


# -- one solve --------------------------------------------------------------------------------------


class _Problem:
    """Residual :math:`r(z) = [A D(z) - y; \\sqrt\\gamma z]` of one problem and its Jacobian.

    ``A = None`` is the identity (the representation error), without an ``n x n`` product.
    """

    def __init__(self, generator: Any, A: np.ndarray | None, y: np.ndarray, gamma: float) -> None:
        self.g, self.A, self.y, self.gamma = generator, A, y, gamma
        self.root = math.sqrt(gamma)
        self.k = int(generator.k)

    def residual(self, z: np.ndarray) -> np.ndarray:
        x = self.g.forward(z)
        r = (x if self.A is None else self.A @ x) - self.y
        return np.concatenate([r, self.root * z]) if self.gamma > 0 else r

    def jac(self, z: np.ndarray) -> np.ndarray:
        J = self.g.jacobian(z)
        J = J if self.A is None else self.A @ J
        return np.vstack([J, self.root * np.eye(self.k)]) if self.gamma > 0 else J

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        r = self.residual(z)
        return float(r @ r), 2.0 * (self.jac(z).T @ r)


def _solve(prob: _Problem, z0: np.ndarray, solver: str, max_iter: int, tol: float):
    """One solve from ``z0``: ``(z, objective, grad_norm, converged, iterations, message)``."""
    if solver == "lbfgs":
        res = optimize.minimize(
            prob.value_and_grad,
            z0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": tol, "ftol": tol, "maxcor": 20},
        )
        z, ok, it = res.x, bool(res.success), int(res.nit)
        msg = res.message if isinstance(res.message, str) else str(res.message)
    else:
        res = optimize.least_squares(
            prob.residual,
            z0,
            jac=prob.jac,
            method=solver,
            ftol=tol,
            xtol=tol,
            gtol=tol,
            max_nfev=max_iter,
        )
        # status 0: the evaluation limit; -1: LM's bad input (refused before); > 0: a tolerance
        z, ok, it, msg = res.x, bool(res.status > 0), int(res.njev), str(res.message)
    f, g = prob.value_and_grad(z)
    gn = float(np.linalg.norm(g))
    if (
        solver == "lbfgs"
        and not ok
        and msg.startswith("ABNORMAL")
        and np.max(np.abs(g)) <= STALL_GTOL
    ):
        ok = True
        msg += f" (accepted: line search stalled at rounding level, |grad| = {gn:.1e})"
    return z, f, gn, ok, it, msg


def _run(
    generator: Any,
    A: np.ndarray | None,
    Y: np.ndarray,
    gamma: float,
    Z0: np.ndarray,
    solver: str,
    max_iter: int,
    tol: float,
    single: bool,
    progress: Any,
    task: str,
) -> CSGMResult:
    t0 = time.perf_counter()
    B, R, k = Z0.shape
    Z = np.empty((B, R, k))
    F, G = np.empty((B, R)), np.empty((B, R))
    OK, IT = np.zeros((B, R), bool), np.zeros((B, R), int)
    MSG = [[""] * R for _ in range(B)]
    with one_blas_thread(), progress_sink(progress, task, B, "problem") as sink:
        for j in range(B):
            prob = _Problem(generator, A if A is None or A.ndim == 2 else A[j], Y[j], gamma)
            for r in range(R):
                Z[j, r], F[j, r], G[j, r], OK[j, r], IT[j, r], MSG[j][r] = _solve(
                    prob, Z0[j, r], solver, max_iter, tol
                )
            sink.update(label=f"problem {j}", info=f"objective {F[j].min():.4g}")
    best = np.argmin(F, axis=1)  # the first of equal objectives
    rows = np.arange(B)
    z = Z[rows, best]
    x = np.asarray(generator.forward(z), dtype=float).reshape(B, -1)
    out = dict(
        x=x,
        z=z,
        objective=F[rows, best],
        converged=OK[rows, best],
        iterations=IT[rows, best],
        grad_norm=G[rows, best],
        message=tuple(MSG[j][best[j]] for j in range(B)),
        restart=best,
        restart_objective=F,
        restart_converged=OK,
        restart_iterations=IT,
        restart_grad_norm=G,
        z_init=Z0,
    )
    if single:
        out = {key: (v[0] if isinstance(v, (np.ndarray, tuple)) else v) for key, v in out.items()}
        for key in ("objective", "grad_norm"):
            out[key] = float(out[key])
        out["converged"], out["iterations"] = bool(out["converged"]), int(out["iterations"])
        out["restart"] = int(out["restart"])
    return CSGMResult(**out, solver=solver, seconds=time.perf_counter() - t0)


def _check_options(restarts: Any, solver: Any, max_iter: Any, tol: Any) -> tuple:
    return (
        check_int("restarts", restarts, low=1),
        check_choice("solver", solver, SOLVERS),
        check_int("max_iter", max_iter, low=1),
        check_real("tol", tol, low=0.0, low_open=True),
    )


# -- public ------------------------------------------------------------------------------------------


def csgm(
    generator: Any,
    A: Any,
    y: Any,
    gamma: float = 0.0,
    *,
    restarts: int = 5,
    init_scale: float = 1.0,
    z_init: Any = None,
    solver: str = "auto",
    max_iter: int = 1000,
    tol: float = 1e-10,
    progress: Any = False,
    rng: Any = None,
) -> CSGMResult:
    r"""Recover signals with a generator prior: :math:`\min_z \|A D(z) - y\|^2 + \gamma\|z\|^2`.

    Parameters
    ----------
    generator : Generator
        ``D`` (anything with ``k``, ``n``, ``forward`` and an exact ``jacobian``).
    A : array_like of shape (m, n) or (B, m, n)
        Measurement operator, shared by all problems or one per problem.
    y : array_like of shape (m,) or (B, m)
        Measurements; ``B`` problems are solved in one call.
    gamma : float, default=0.0
        Latent penalty :math:`\gamma \ge 0` (the negative log-prior of :math:`z \sim N(0, I)`
        up to scale: MAP estimation for Gaussian noise of variance :math:`\gamma / 2`).
    restarts : int, default=5
        Starts per problem, ``R``.
    init_scale : float, default=1.0
        Random starts are :math:`N(0, s^2 I_k)` with this ``s`` (1: the latent prior).
    z_init : array_like of shape (R, k) or (B, R, k), optional
        Explicit starts (then ``restarts`` and ``rng`` are not used).
    solver : {"auto", "lm", "trf", "lbfgs"}, default="auto"
        ``"auto"`` is ``"lm"`` when it applies (``m >= k`` or ``gamma > 0``), else ``"trf"``.
        :func:`scipy.optimize.least_squares` (Levenberg-Marquardt or trust-region reflective) on
        the residual :math:`[A D(z) - y;\ \sqrt\gamma z]` with its exact Jacobian, or L-BFGS-B
        (:func:`scipy.optimize.minimize`) on the objective with its exact gradient. ``"lm"`` needs at
        least ``k`` residuals: ``m >= k`` when ``gamma = 0``.
    max_iter : int, default=1000
        Per solve: residual evaluations (``max_nfev``) for ``trf`` / ``lm``, iterations for
        ``lbfgs``.
    tol : float, default=1e-10
        ``ftol = xtol = gtol`` of ``least_squares``; ``gtol`` and ``ftol`` of L-BFGS-B.
    progress : bool or callable, default=False
        Reported once per problem.
    rng : None, int, SeedSequence or Generator, default=None
        The random starts. Problem ``j`` draws its starts from its own stream (the run's seed and
        ``j``), so they do not depend on how many problems are solved together, and restart
        ``r`` is the same whatever ``restarts`` is.

    Returns
    -------
    CSGMResult

    Notes
    -----
    *Selection rule*: of a problem's ``R`` solves, the one with the lowest objective is returned
    (the first of equal ones); every solve is reported in the ``restart_*`` arrays.

    *Convergence*: a ``trf`` / ``lm`` solve converged when ``least_squares`` stopped on one of its
    tolerances (``status > 0``: the relative decrease of the cost, the relative step or the scaled
    gradient fell below ``tol``), not on ``max_iter``; an ``lbfgs`` solve when L-BFGS-B reported
    success, or its line search stalled at a point whose largest gradient component is at most
    :data:`STALL_GTOL`.

    The default was chosen on the pretrained digits generators (``benchmarks/generator_solvers.py``
    and the ``lininv.generators`` docstring): the three solvers converge equally often to equal
    objectives; ``lm`` takes 25-40% less CPU time than ``trf``, and L-BFGS-B ends a zero-residual
    (noiseless, ``m >= k``) problem at an objective of ~``tol`` where the Gauss-Newton solvers
    reach rounding level.

    References
    ----------
    .. [1] A. Bora, A. Jalal, E. Price, A. G. Dimakis, "Compressed sensing using generative
       models", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.generators import Generator, csgm
    >>> gen = Generator(2, n=8, hidden=16, rng=0)
    >>> x0 = gen.forward(np.array([0.3, -0.5]))
    >>> A = np.random.default_rng(1).standard_normal((4, 8))
    >>> res = csgm(gen, A, A @ x0, restarts=3, rng=0)
    >>> res.converged, bool(np.sum((res.x - x0) ** 2) < 1e-16)
    (True, True)
    """
    _check_generator(generator)
    k, n = int(generator.k), int(generator.n)
    A, Y, single = _check_problems(A, y, n)
    gamma = check_real("gamma", gamma, low=0.0)
    restarts, solver, max_iter, tol = _check_options(restarts, solver, max_iter, tol)
    init_scale = check_real("init_scale", init_scale, low=0.0, low_open=True)
    progress = check_progress(progress)
    if solver == "auto":
        solver = "lm" if gamma > 0.0 or A.shape[-2] >= k else "trf"
    elif solver == "lm" and gamma == 0.0 and A.shape[-2] < k:
        raise ValueError(
            f"solver='lm' needs at least k = {k} residuals: m = {A.shape[-2]} measurements with "
            "gamma = 0; use solver='trf' or gamma > 0"
        )
    B = Y.shape[0]
    if z_init is not None:
        Z0 = _check_z_init(z_init, B, k, single)
    else:
        seed = seed_from(rng)
        Z0 = np.stack(
            [
                init_scale * stream(seed, _Stream.CSGM_STARTS, j).standard_normal((restarts, k))
                for j in range(B)
            ]
        )
    return _run(generator, A, Y, gamma, Z0, solver, max_iter, tol, single, progress, "csgm")


def representation_error(
    generator: Any,
    x0: Any,
    *,
    restarts: int = 4,
    encoder_start: bool = True,
    solver: str = "auto",
    max_iter: int = 1000,
    tol: float = 1e-10,
    progress: Any = False,
    rng: Any = None,
) -> CSGMResult:
    r"""The representation error :math:`\min_z \|D(z) - x_0\|^2` of each signal, by restarts.

    Parameters
    ----------
    generator : Generator
    x0 : array_like of shape (n,) or (B, n)
    restarts : int, default=4
        Starts per signal.
    encoder_start : bool, default=True
        Make the first start the generator's encoding of ``x0`` (:meth:`Generator.encode`, an
        amortised estimate of the minimiser); the others are :math:`N(0, I_k)` draws. Ignored
        for a generator without ``encode``.
    solver, max_iter, tol, progress
        As in :func:`csgm`.
    rng : None, int, SeedSequence or Generator, default=None
        Random starts, one stream per signal (independent of the batch size).

    Returns
    -------
    CSGMResult
        ``objective`` is the representation error per signal (an upper bound on the true
        minimum: a non-convex fit; ``converged`` and ``restart_objective`` tell how sure it is).

    Notes
    -----
    :func:`csgm` with ``A = I_n``, ``y = x0``, ``gamma = 0``. It is the floor of CSGM's error:
    whatever ``A``, a recovered :math:`D(\hat z)` is at least this far from ``x0``, the nonlinear
    counterpart of :meth:`lininv.LowRankPrior.representation_error`.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.generators import Generator, representation_error
    >>> gen = Generator(2, n=8, hidden=16, rng=0)
    >>> res = representation_error(gen, gen.forward(np.array([0.3, -0.5])), rng=0)
    >>> bool(res.objective < 1e-20)
    True
    """
    _check_generator(generator)
    k, n = int(generator.k), int(generator.n)
    X = as_vector_or_batch("x0", x0, n, length_hint=f" to match the generator's n = {n}")
    single = X.ndim == 1
    X = np.atleast_2d(X)
    restarts, solver, max_iter, tol = _check_options(restarts, solver, max_iter, tol)
    solver = "lm" if solver == "auto" else solver  # n >= k residuals
    if not isinstance(encoder_start, (bool, np.bool_)):
        raise TypeError(f"encoder_start must be a bool; got {describe(encoder_start)}")
    progress = check_progress(progress)
    seed = seed_from(rng)
    B = X.shape[0]
    use_encoder = bool(encoder_start) and hasattr(generator, "encode")
    n_random = restarts - 1 if use_encoder else restarts
    Z0 = np.empty((B, restarts, k))
    for j in range(B):
        Z0[j, restarts - n_random :] = stream(
            seed, _Stream.REPRESENTATION_STARTS, j
        ).standard_normal((n_random, k))
    if use_encoder:
        Z0[:, 0] = np.asarray(generator.encode(X), dtype=float).reshape(B, k)
    return _run(
        generator,
        None,  # the identity
        X,
        0.0,
        Z0,
        solver,
        max_iter,
        tol,
        single,
        progress,
        "representation error",
    )
