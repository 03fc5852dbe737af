r"""Latent-space recovery with a flow prior: :math:`\min_z \|A G(z) - y\|^2 + \gamma \|z\|^2`."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from lininv._threads import one_blas_thread
from lininv._validation import (
    _as_real_array,
    as_vector_or_batch,
    check_choice,
    check_int,
    check_real,
    check_rng,
    describe,
)

__all__ = [
    "INITS",
    "STALL_GTOL",
    "RecoveryResult",
    "recover",
    "check_flow",
    "initial_latents",
]

#: Initialisations understood by :func:`recover`.
INITS = ("zeros", "random", "fixed_norm", "pseudo_inverse", "null_space")

#: A line-search stall (L-BFGS-B's "ABNORMAL" stop: no decrease found along the search direction)
#: is accepted as convergence when the largest gradient component is at most this. Near a
#: minimiser the decrease a step can make, ~||g||^2 / L, falls below the rounding of f (~eps f)
#: for ||g|| ~ sqrt(eps f L) ~ 1e-8 here (f, L of order one to a hundred), above ``gtol = 1e-9``.
STALL_GTOL = 1e-6

#: Default ``init_scale`` per initialisation (``None``: the initialisation takes no scale or needs one).
_DEFAULT_SCALE = {"random": 0.7, "null_space": 0.1}


class _NonFinite(Exception):
    """Raised inside an objective evaluation that produced a non-finite value."""


def check_flow(flow: Any) -> Any:
    """Check that ``flow`` has the flow interface used here (``n``, ``forward_and_pullback``, ``inverse``)."""
    for attr in ("n", "forward_and_pullback", "inverse"):
        if not hasattr(flow, attr):
            raise TypeError(
                "flow must be a lininv.flows.Flow (with n, forward_and_pullback and inverse); "
                f"got {describe(flow)}"
            )
    return flow


@dataclass(frozen=True)
class RecoveryResult:
    """Outcome of :func:`recover` for one problem or a batch of ``k`` problems.

    Attributes
    ----------
    x : ndarray of shape (n,) or (k, n)
        Recovered signals :math:`G(\\hat z)`. Always finite: if the solve met a non-finite value
        it stops, keeps the best finite iterate and says so in ``success`` and ``message``.
    z : ndarray of shape (n,) or (k, n)
        Final latents :math:`\\hat z`.
    z_init : ndarray of shape (n,) or (k, n)
        The starting latents.
    success : bool or ndarray of bool, shape (k,)
        True when L-BFGS-B reported convergence (gradient or relative-decrease test), or when its
        line search could no longer decrease the objective (its rounding level) at a point whose
        largest gradient component is at most :data:`STALL_GTOL`; and every value was finite.
        False after an iteration limit, a line-search failure elsewhere or a non-finite
        evaluation.
    message : str or tuple of str
        The optimiser's message per problem (or why the solve was stopped).
    iterations : int or ndarray of int
        L-BFGS-B iterations (in ``batch="joint"`` mode, those of the joint solve).
    evaluations : int or ndarray of int
        Objective-and-gradient evaluations.
    objective : float or ndarray
        Final value of :math:`\\|A G(\\hat z) - y\\|^2 + \\gamma\\|\\hat z\\|^2` per problem.
    grad_norm : float or ndarray
        Euclidean norm of its gradient at :math:`\\hat z` per problem.
    """

    x: np.ndarray
    z: np.ndarray
    z_init: np.ndarray
    success: Any
    message: Any
    iterations: Any
    evaluations: Any
    objective: Any
    grad_norm: Any

    @property
    def all_success(self) -> bool:
        """True when every problem converged."""
        return bool(np.all(self.success))


# -- validation -------------------------------------------------------------------------------------


def _check_operator(A: Any, n: int) -> np.ndarray:
    arr = _as_real_array("A", A)
    if arr.ndim not in (2, 3) or arr.shape[-1] != n or arr.size == 0:
        raise ValueError(
            f"A must have shape (m, {n}) or (k, m, {n}) to match the flow's n = {n}; got {arr.shape}"
        )
    return arr


def _check_y(A: np.ndarray, y: Any) -> tuple[np.ndarray, bool]:
    m = A.shape[-2]
    y = as_vector_or_batch("y", y, m, length_hint=f" to match A's m = {m}")
    if A.ndim == 3:
        if y.shape != (A.shape[0], m):
            raise ValueError(
                f"y must have shape ({A.shape[0]}, {m}) to match a batch of {A.shape[0]} "
                f"operators A; got {y.shape}"
            )
        return y, False
    single = y.ndim == 1
    return np.atleast_2d(y), single


def _check_truth(x_true: Any, k: int, n: int, single: bool) -> np.ndarray | None:
    if x_true is None:
        return None
    x = as_vector_or_batch("x_true", x_true, n, length_hint=f" to match the flow's n = {n}")
    want = (n,) if single else (k, n)
    if x.shape != want:
        raise ValueError(f"x_true must have shape {want} to match y; got {x.shape}")
    return np.atleast_2d(x)


# -- initialisation ---------------------------------------------------------------------------------


def _pinv_apply(A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Rows ``A_j^+ y_j`` (minimum-norm least squares) for A of shape (m, n) or (k, m, n)."""
    if A.ndim == 2:
        return np.linalg.lstsq(A, Y.T, rcond=None)[0].T
    return np.stack([np.linalg.lstsq(Aj, yj, rcond=None)[0] for Aj, yj in zip(A, Y, strict=True)])


def _null_project(A: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Rows ``(I - A_j^+ A_j) w_j``: the components of ``w_j`` in the null space of ``A_j``."""

    def one(Aj: np.ndarray, w: np.ndarray) -> np.ndarray:
        _, d, Vt = np.linalg.svd(Aj, full_matrices=False)
        keep = d > max(Aj.shape) * np.finfo(float).eps * (d[0] if d.size else 0.0)
        V = Vt[keep]
        return w - (w @ V.T) @ V

    if A.ndim == 2:
        return one(A, W)
    return np.stack([one(Aj, w) for Aj, w in zip(A, W, strict=True)])


def initial_latents(
    flow: Any,
    A: np.ndarray,
    Y: np.ndarray,
    init: str,
    init_scale: float | None,
    X_true: np.ndarray | None,
    gen: np.random.Generator,
) -> np.ndarray:
    """Starting latents for validated input (``Y`` of shape (k, m)); one random stream per problem.

    Problem ``j`` draws from the ``j``-th child of ``gen.spawn(k)``, so its start does not depend on
    how many problems are solved together.
    """
    k, n = Y.shape[0], flow.n
    if init == "zeros":
        return np.zeros((k, n))
    if init == "pseudo_inverse":
        return np.asarray(flow.inverse(_pinv_apply(A, Y))[0], dtype=float).reshape(k, n)
    assert init_scale is not None  # validated by recover for the random initialisations
    children = gen.spawn(k)
    W = np.stack([c.standard_normal(n) for c in children])
    if init == "random":
        return init_scale * W
    if init == "fixed_norm":
        norms = np.linalg.norm(W, axis=1, keepdims=True)
        return init_scale * W / norms
    # null_space: truth plus a perturbation invisible to A
    assert X_true is not None  # validated by recover
    X0 = X_true + init_scale * _null_project(A, W)
    return np.asarray(flow.inverse(X0)[0], dtype=float).reshape(k, n)


# -- the solver -------------------------------------------------------------------------------------


def _residuals(A: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    if A.ndim == 2:
        return X @ A.T - Y
    return np.einsum("kmn,kn->km", A, X) - Y


def _back(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    if A.ndim == 2:
        return R @ A
    return np.einsum("km,kmn->kn", R, A)


def _evaluate(flow: Any, A: np.ndarray, Y: np.ndarray, gamma: float, Z: np.ndarray):
    """Per-problem objectives (k,), gradients (k, n) and signals (k, n) at latents Z (k, n)."""
    if not np.all(np.isfinite(Z)):
        raise _NonFinite("the optimiser proposed a non-finite latent")
    with np.errstate(over="ignore", invalid="ignore"):
        X, pullback = flow.forward_and_pullback(Z)
        X = np.asarray(X, dtype=float).reshape(Z.shape)
        if not np.all(np.isfinite(X)):
            raise _NonFinite("the flow returned a non-finite signal")
        R = _residuals(A, X, Y)
        f = np.einsum("km,km->k", R, R) + gamma * np.einsum("kn,kn->k", Z, Z)
        g = np.asarray(pullback(2.0 * _back(A, R)), dtype=float).reshape(Z.shape) + 2.0 * gamma * Z
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(g))):
        raise _NonFinite("the objective or its gradient is not finite")
    return f, g, X


def _evaluate_rows(flow: Any, A: np.ndarray, Y: np.ndarray, gamma: float, Z: np.ndarray):
    """Like :func:`_evaluate` but row by row: returns ``(f, g, X, bad)``, ``bad`` a mask of the rows
    whose latent, signal, objective or gradient is not finite (their other values are junk)."""
    bad = ~np.all(np.isfinite(Z), axis=1)
    Zs = np.where(bad[:, None], 0.0, Z)
    with np.errstate(over="ignore", invalid="ignore"):
        X, pullback = flow.forward_and_pullback(Zs)
        X = np.asarray(X, dtype=float).reshape(Z.shape)
        bad |= ~np.all(np.isfinite(X), axis=1)
        Xs = np.where(bad[:, None], 0.0, X)
        R = _residuals(A, Xs, Y)
        f = np.einsum("km,km->k", R, R) + gamma * np.einsum("kn,kn->k", Zs, Zs)
        g = np.asarray(pullback(2.0 * _back(A, R)), dtype=float).reshape(Z.shape) + 2.0 * gamma * Zs
    bad |= ~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1)
    return f, g, X, bad


class _Lockstep:
    """Batches the objective evaluations of concurrently running per-problem L-BFGS-B solves.

    Each solve runs scipy's L-BFGS-B in its own thread; its objective posts the latent here and
    waits. When every active solve has posted, one flow call evaluates the whole batch and wakes
    them. Each problem therefore follows exactly its own L-BFGS-B path (as in a loop), while the
    flow is evaluated on batches.
    """

    def __init__(self, flow: Any, A: np.ndarray, Y: np.ndarray, gamma: float, active: int) -> None:
        self.flow, self.A, self.Y, self.gamma = flow, A, Y, gamma
        self.cond = threading.Condition()
        self.pending: dict[int, np.ndarray] = {}
        self.results: dict[int, Any] = {}
        self.active = active
        self.error: BaseException | None = None

    def evaluate(self, j: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with self.cond:
            self.pending[j] = z
            self._flush()
            while j not in self.results:
                if self.error is not None:
                    raise RuntimeError("another solve of the batch failed") from self.error
                self.cond.wait()
            out = self.results.pop(j)
        if isinstance(out, _NonFinite):
            raise out
        return out

    def leave(self) -> None:
        with self.cond:
            self.active -= 1
            self._flush()

    def _flush(self) -> None:
        """Evaluate the batch once every active solve waits (called with the lock held)."""
        if not self.pending or len(self.pending) < self.active:
            return
        idx = sorted(self.pending)
        Z = np.stack([self.pending[j] for j in idx])
        self.pending.clear()
        A = self.A if self.A.ndim == 2 else self.A[idx]
        try:
            f, g, X, bad = _evaluate_rows(self.flow, A, self.Y[idx], self.gamma, Z)
        except BaseException as exc:  # a bug, not a numerical event: stop every solve
            self.error = exc
            self.cond.notify_all()
            return
        for r, j in enumerate(idx):
            if bad[r]:
                self.results[j] = _NonFinite("the objective or its gradient is not finite")
            else:
                self.results[j] = (f[r : r + 1], g[r : r + 1], X[r : r + 1])
        self.cond.notify_all()


def _solve(evaluate, Z0: np.ndarray, options: dict[str, Any]):
    """One L-BFGS-B solve of the block objective sum_j f_j(z_j) over Z (k, n).

    ``evaluate(Z)`` returns per-row objectives, gradients and signals or raises ``_NonFinite``.
    Returns ``(Z, X, f, g, success, message, iterations, evaluations)``.
    """
    k, n = Z0.shape
    best: dict[str, Any] = {}

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        Z = flat.reshape(k, n)
        f, g, X = evaluate(Z)
        total = float(np.sum(f))
        if not best or total < best["total"]:
            best.update(total=total, Z=Z.copy(), X=X, f=f, g=g)
        best["evals"] = best.get("evals", 0) + 1
        return total, g.ravel()

    iterations = [0]

    def count(_: np.ndarray) -> None:
        iterations[0] += 1

    try:
        res = optimize.minimize(
            fun, Z0.ravel(), jac=True, method="L-BFGS-B", options=options, callback=count
        )
    except _NonFinite as exc:
        nfev = best.get("evals", 0)
        if not best:  # the starting point itself is not finite
            raise _NonFinite(str(exc)) from None
        msg = (
            f"stopped at a non-finite evaluation ({exc}) after {nfev} evaluations; returning the "
            "best finite iterate"
        )
        return best["Z"], best["X"], best["f"], best["g"], False, msg, iterations[0], nfev
    Z = res.x.reshape(k, n)
    # The optimiser's final point is the last accepted iterate; evaluate there for the report.
    f, g, X = evaluate(Z)
    msg = res.message if isinstance(res.message, str) else str(res.message)
    ok = bool(res.success)
    gmax = float(np.max(np.abs(g)))
    if not ok and msg.startswith("ABNORMAL") and gmax <= STALL_GTOL:
        ok = True
        msg += f" (accepted: line search stalled at rounding level, max |grad| = {gmax:.1e})"
    return Z, X, f, g, ok, msg, int(res.nit), int(res.nfev)


def recover(
    flow: Any,
    A: Any,
    y: Any,
    gamma: float = 0.0,
    *,
    init: str = "zeros",
    init_scale: float | None = None,
    x_true: Any = None,
    rng: Any = None,
    max_iter: int = 1000,
    gtol: float = 1e-9,
    ftol: float = 0.0,
    batch: str = "lockstep",
    chunk: int | None = None,
) -> RecoveryResult:
    r"""Recover signals by latent-space optimisation with a flow prior.

    .. math:: \hat z = \arg\min_z \|A\, G(z) - y\|^2 + \gamma \|z\|^2, \qquad \hat x = G(\hat z),

    by scipy's L-BFGS-B with the gradient from the flow's vector-Jacobian product.

    Parameters
    ----------
    flow : lininv.flows.Flow
        The generator ``G`` (latent to signal).
    A : array_like of shape (m, n) or (k, m, n)
        Measurement operator, shared by all problems or one per problem. Gaussian compressed
        sensing, a mask (:func:`lininv.mask_measurements`, inpainting) and the identity (denoising)
        all go through the same code.
    y : array_like of shape (m,) or (k, m)
        Measurements; a batch of ``k`` independent problems is solved in one call.
    gamma : float, default=0.0
        Latent regularisation weight :math:`\gamma \ge 0`.
    init : {"zeros", "random", "fixed_norm", "pseudo_inverse", "null_space"}, default="zeros"
        Starting latent: ``"zeros"`` (the most likely latent); ``"random"``,
        :math:`z \sim N(0, \texttt{init\_scale}^2 I)` (default scale 0.7, the paper's
        "random-std-0.7"); ``"fixed_norm"``, a uniformly random direction with
        :math:`\|z\| = \texttt{init\_scale}` (required); ``"pseudo_inverse"``,
        :math:`z = G^{-1}(A^+ y)`; ``"null_space"``, :math:`z = G^{-1}(x_0 + \texttt{init\_scale}
        (I - A^+A) w)`, :math:`w \sim N(0, I)` (default scale 0.1; needs ``x_true``): the truth
        moved along directions the measurements cannot see, a global minimiser of the
        unregularised noiseless objective with low likelihood.
    init_scale : float, optional
        Scale of the random initialisations (see ``init``).
    x_true : array_like of shape like the signals, optional
        The true signals; only the ``"null_space"`` initialisation uses them.
    rng : None, int, SeedSequence or Generator, default=None
        Random initialisations. Problem ``j`` uses the ``j``-th spawned child stream, so its start
        does not depend on the batch size.
    max_iter : int, default=1000
        L-BFGS-B iteration limit (per problem; per joint solve with ``batch="joint"``).
    gtol : float, default=1e-9
        L-BFGS-B's projected-gradient tolerance (largest gradient component, absolute: signals and
        measurements of order one are assumed).
    ftol : float, default=0.0
        L-BFGS-B's relative-decrease tolerance. Its test divides by ``max(|f|, 1)``, so for the small
        objectives of near-exact recovery it acts as an absolute threshold and can stop an
        ill-conditioned solve far from the minimiser; it is off by default, leaving the gradient
        test (``gtol``) to decide convergence.
    batch : {"lockstep", "loop", "joint"}, default="lockstep"
        How a batch of problems is solved. ``"lockstep"``: one L-BFGS-B run per problem, the runs
        advanced together in threads so that the flow is evaluated once per round on all of them;
        every problem follows its own L-BFGS-B path, the same as in ``"loop"``, which solves them one
        after another (the results agree up to the rounding of the flow's batched products).
        ``"joint"``: one L-BFGS-B run on the block objective :math:`\sum_j f_j(z_j)`. Its
        minimisers are the tuples of per-problem minimisers, but its path, and so the minimiser
        reached where there are many (``gamma = 0``, ``m < n``, a nonlinear flow), depends on which
        problems are solved together, and its shared curvature memory converges slowly on
        ill-conditioned batches (e.g. ``m = n``). For a linear flow all modes return the same
        estimates (see Notes).
    chunk : int, optional
        ``"lockstep"``: number of concurrent solves (default 64). ``"joint"``: solve consecutive
        groups of ``chunk`` problems jointly (default: all at once); the results depend on this
        grouping, which is fixed by the problem order.

    Returns
    -------
    RecoveryResult
        With ``success``, ``message``, ``iterations``, final ``objective`` and ``grad_norm`` per
        problem. A non-finite evaluation never yields NaN: the solve stops, returns its best
        finite iterate and reports ``success=False`` with the reason.

    Notes
    -----
    The gradient is :math:`\nabla f(z) = J(z)^T\, 2 A^T (A G(z) - y) + 2\gamma z`, one
    forward pass and one pullback per evaluation. For a linear flow :math:`G(z) = \mu + G z` the
    objective is the latent ridge of :func:`lininv.latent_ridge`; with :math:`\gamma = 0` and a
    start in the row space of :math:`AG` (e.g. zeros), L-BFGS iterates stay in that row space and
    converge to the minimum-norm solution, :func:`lininv.mle`; from another start they converge to
    :func:`lininv.gradient_descent_limit`.

    References
    ----------
    .. [1] M. Asim, M. Daniels, O. Leong, A. Ahmed, P. Hand, "Invertible generative models for
       inverse problems: mitigating representation error and dataset bias", ICML 2020,
       arXiv:1905.11672.
    .. [2] R. H. Byrd, P. Lu, J. Nocedal, C. Zhu, "A limited memory algorithm for bound
       constrained optimization", SIAM J. Sci. Comput. 16(5), 1995.

    Examples
    --------
    >>> import numpy as np
    >>> import lininv
    >>> from lininv.flows import linear_flow
    >>> from lininv.bridge import recover
    >>> prior = lininv.LinearInvertiblePrior.from_singular_values([2.0, 1.0, 0.5], rng=0)
    >>> A = lininv.gaussian_measurements(2, 3, rng=1)
    >>> y = A @ prior.sample(1, rng=2)[0]
    >>> res = recover(linear_flow(prior), A, y)
    >>> bool(res.success), bool(np.allclose(res.x, lininv.mle(prior, A, y), atol=1e-8))
    (True, True)
    """
    flow = check_flow(flow)
    n = int(flow.n)
    A = _check_operator(A, n)
    Y, single = _check_y(A, y)
    k = Y.shape[0]
    gamma = check_real("gamma", gamma, low=0.0)
    init = check_choice("init", init, INITS)
    if init == "fixed_norm" and init_scale is None:
        raise ValueError(
            "init_scale must be given (the latent norm) for init='fixed_norm'; got None"
        )
    if init_scale is None:
        init_scale = _DEFAULT_SCALE.get(init)
    elif init in ("zeros", "pseudo_inverse"):
        raise ValueError(f"init_scale must be None for init={init!r}; got {init_scale!r}")
    else:
        init_scale = check_real("init_scale", init_scale, low=0.0)
    X_true = _check_truth(x_true, k, n, single)
    if init == "null_space" and X_true is None:
        raise ValueError(
            "x_true must be given for init='null_space' (the truth it perturbs); got None"
        )
    max_iter = check_int("max_iter", max_iter, low=1)
    gtol = check_real("gtol", gtol, low=0.0)
    ftol = check_real("ftol", ftol, low=0.0)
    batch = check_choice("batch", batch, ("lockstep", "loop", "joint"))
    if chunk is not None:
        chunk = check_int("chunk", chunk, low=1)
    gen = check_rng(rng)

    with one_blas_thread():
        Z0 = initial_latents(flow, A, Y, init, init_scale, X_true, gen)
    if not np.all(np.isfinite(Z0)):
        raise ValueError(
            f"init={init!r} produced a non-finite starting latent (flow inverse overflow)"
        )
    options = {"maxiter": max_iter, "gtol": gtol, "ftol": ftol, "maxcor": 10}

    with one_blas_thread():
        out = _run(flow, A, Y, gamma, Z0, options, batch, chunk)
    Z, X, f, g, success, message, nit, nfev = out
    gnorm = np.linalg.norm(g, axis=1)
    if single:
        return RecoveryResult(
            X[0],
            Z[0],
            Z0[0],
            bool(success[0]),
            message[0],
            int(nit[0]),
            int(nfev[0]),
            float(f[0]),
            float(gnorm[0]),
        )
    return RecoveryResult(X, Z, Z0, success, tuple(message), nit, nfev, f, gnorm)


def _run(flow, A, Y, gamma, Z0, options, batch, chunk):
    """Solve all problems; returns per-problem arrays (Z, X, f, g, success, message, nit, nfev)."""
    k, n = Z0.shape
    out = {
        "Z": np.empty((k, n)),
        "X": np.empty((k, n)),
        "f": np.empty(k),
        "g": np.empty((k, n)),
        "success": np.zeros(k, bool),
        "message": [""] * k,
        "nit": np.zeros(k, int),
        "nfev": np.zeros(k, int),
    }

    def store(sl: slice, result: tuple) -> None:
        Z, X, f, g, ok, msg, it, ev = result
        out["Z"][sl], out["X"][sl], out["f"][sl], out["g"][sl] = Z, X, f, g
        out["success"][sl], out["nit"][sl], out["nfev"][sl] = ok, it, ev
        out["message"][sl] = [msg] * (sl.stop - sl.start)

    def solve_slice(sl: slice, evaluate) -> None:
        try:
            store(sl, _solve(evaluate, Z0[sl], options))
        except _NonFinite as exc:
            raise ValueError(
                f"the objective is not finite at the starting latent of problem(s) "
                f"{sl.start}..{sl.stop - 1}: {exc}"
            ) from None

    if batch == "lockstep" and k > 1:
        _run_lockstep(flow, A, Y, gamma, k, chunk, solve_slice)
    else:
        size = k if batch == "joint" and chunk is None else (chunk if batch == "joint" else 1)
        for start in range(0, k, size):
            sl = slice(start, min(start + size, k))
            Asl = A if A.ndim == 2 else A[sl]
            solve_slice(sl, functools.partial(_evaluate, flow, Asl, Y[sl], gamma))
    return (
        out["Z"],
        out["X"],
        out["f"],
        out["g"],
        out["success"],
        out["message"],
        out["nit"],
        out["nfev"],
    )


def _run_lockstep(flow, A, Y, gamma, k, chunk, solve_slice) -> None:
    """Per-problem L-BFGS-B solves in ``min(k, chunk or 64)`` threads with batched evaluations."""
    workers = min(k, 64 if chunk is None else chunk)
    lock = threading.Lock()
    todo = iter(range(k))
    ev = _Lockstep(flow, A, Y, gamma, workers)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    j = next(todo, None)
                if j is None or errors:
                    return

                def evaluate(Z: np.ndarray, j: int = j):
                    return ev.evaluate(j, Z[0])

                solve_slice(slice(j, j + 1), evaluate)
        except BaseException as exc:
            errors.append(exc)
        finally:
            ev.leave()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if ev.error is not None:
        raise ev.error
    if errors:
        raise errors[0]
