r"""Latent-space recovery with a flow prior: :math:`\min_z \|A G(z) - y\|^2 + \gamma \|z\|^2`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._threads import one_blas_thread
from lininv._validation import (
    _as_real_array,
    as_vector_or_batch,
    check_choice,
    check_int,
    check_real,
    check_rng,
)
from lininv.bridge._gauss_newton import GN_GTOL, polish_all
from lininv.bridge._solver import STALL_GTOL, solve_all
from lininv.flows._protocol import FlowPrior, check_flow_prior

__all__ = [
    "INITS",
    "SOLVERS",
    "GN_GTOL",
    "STALL_GTOL",
    "RECOVERY_NEEDS",
    "DEFAULT_INIT_SCALE",
    "RecoveryResult",
    "recover",
    "recover_batch",
    "initial_latents",
]

#: Initialisations understood by :func:`recover`.
INITS = ("zeros", "random", "fixed_norm", "pseudo_inverse", "null_space")

#: Solvers of :func:`recover`: L-BFGS-B alone, scipy's Gauss-Newton solvers alone
#: (``least_squares``, Levenberg-Marquardt or trust-region reflective) and L-BFGS-B followed by
#: them from its end point (the converged solver of the experiments' ``lininv`` protocol).
SOLVERS = ("lbfgs", "gauss-newton", "lbfgs+gauss-newton")

#: The members of :class:`lininv.flows.FlowPrior` that recovery uses.
RECOVERY_NEEDS = ("n", "inverse", "forward_and_pullback")

#: Default ``init_scale`` per initialisation (``None``: the initialisation takes no scale or needs one).
DEFAULT_INIT_SCALE = {"random": 0.7, "null_space": 0.1}


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
        Whether the solve met its tolerance. ``solver="lbfgs"``: L-BFGS-B reported convergence
        (gradient or relative-decrease test), or its line search could no longer decrease the
        objective (its rounding level) at a point whose largest gradient component is at most
        :data:`STALL_GTOL`. ``"gauss-newton"`` and ``"lbfgs+gauss-newton"``: ``least_squares``
        stopped on a tolerance (not its evaluation limit) and no gradient component exceeds
        :data:`GN_GTOL`. Always False after a non-finite evaluation.
    message : str or tuple of str
        The optimiser's message per problem (or why the solve was stopped).
    iterations : int or ndarray of int
        L-BFGS-B iterations (in ``batch="joint"`` mode, those of the joint solve) plus
        Gauss-Newton Jacobian evaluations.
    evaluations : int or ndarray of int
        Objective-and-gradient evaluations plus Gauss-Newton residual evaluations.
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
    flow: FlowPrior,
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


def recover(
    flow: FlowPrior,
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
    solver: str = "lbfgs",
    restarts: int = 1,
) -> RecoveryResult:
    r"""Recover signals by latent-space optimisation with a flow prior.

    .. math:: \hat z = \arg\min_z \|A\, G(z) - y\|^2 + \gamma \|z\|^2, \qquad \hat x = G(\hat z),

    by scipy's L-BFGS-B with the gradient from the flow's vector-Jacobian product, by scipy's
    Gauss-Newton solvers with the flow's exact Jacobian, or by the first then the second.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior
        The generator ``G`` (latent to signal): a :class:`lininv.flows.Flow` or any object with
        the members ``n``, ``inverse`` and ``forward_and_pullback`` of the protocol.
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
    solver : {"lbfgs", "gauss-newton", "lbfgs+gauss-newton"}, default="lbfgs"
        ``"lbfgs"``: L-BFGS-B alone (``max_iter``, ``gtol``, ``ftol``, ``batch``, ``chunk``).
        ``"gauss-newton"``: :func:`scipy.optimize.least_squares` on the residual
        :math:`[A G(z) - y; \sqrt\gamma z]` with the exact Jacobian :math:`[A J(z); \sqrt\gamma
        I]`, Levenberg-Marquardt where the residual has at least ``n`` entries (``m = n`` or
        ``gamma > 0``), trust-region reflective otherwise. ``"lbfgs+gauss-newton"``: L-BFGS-B for
        at most ``max_iter`` iterations, then the Gauss-Newton solver from its end point until it
        converges; the converged solver of the experiments (see Notes).
    restarts : int, default=1
        Solves per problem: the first from ``init``, the others from :math:`z \sim N(0, 0.7^2
        I)` (the ``j``-th problem's restart ``r`` draws from its own stream); the solve with the
        lowest objective is returned (the first of those within :data:`lininv.bridge._restarts.RESTART_TIE` of it). With ``gamma = 0`` and ``m < n``
        every consistent latent has objective 0, so the first start wins every tie.

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

    *Which solver.* L-BFGS-B with its 1000-iteration cap does not converge near ``m = n`` on the
    digits flow (38% of solves at m = 48, none at 56 and 64: the Jacobian is ill-conditioned);
    Gauss-Newton with the exact Jacobian converges in 10 to 50 evaluations. With ``gamma = 0``
    and ``m < n`` the minimisers form a manifold, and *which* one a solver reaches is part of the
    estimator: from ``z = 0`` the trust-region solver (minimum-norm steps) ends on latents whose
    signals are further from the truth than L-BFGS's (20 test digits, m = 16: mean error 1.006
    against 0.919), while the Gauss-Newton polish of L-BFGS's iterate keeps L-BFGS's implicit
    bias (0.919 at m = 16, 0.1824 against 0.1825 at m = 32) and converges where L-BFGS does not
    (m = 64: 1e-27 against 1.6e-3 after 1000 L-BFGS iterations; max ``|grad|`` 1e-12 to 1e-16). Hence
    ``"lbfgs+gauss-newton"`` for the experiments; ``benchmarks/recovery.py`` times the solvers.

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
    flow = check_flow_prior(flow, needs=RECOVERY_NEEDS)
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
        init_scale = DEFAULT_INIT_SCALE.get(init)
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
    solver = check_choice("solver", solver, SOLVERS)
    restarts = check_int("restarts", restarts, low=1)
    gen = check_rng(rng)
    if restarts > 1:
        from lininv.bridge._restarts import with_restarts

        res = with_restarts(
            flow,
            A,
            Y,
            gamma,
            init,
            init_scale,
            X_true,
            gen,
            max_iter,
            gtol,
            ftol,
            batch,
            chunk,
            solver,
            restarts,
        )
        return res if not single else _single(res)
    res = recover_batch(
        flow,
        A,
        Y,
        gamma,
        init=init,
        init_scale=init_scale,
        X_true=X_true,
        gen=gen,
        max_iter=max_iter,
        gtol=gtol,
        ftol=ftol,
        batch=batch,
        chunk=chunk,
        solver=solver,
    )
    if not single:
        return res
    return _single(res)


def _single(res: RecoveryResult) -> RecoveryResult:
    """The one-problem form of a batch result with one row."""
    return RecoveryResult(
        res.x[0],
        res.z[0],
        res.z_init[0],
        bool(res.success[0]),
        res.message[0],
        int(res.iterations[0]),
        int(res.evaluations[0]),
        float(res.objective[0]),
        float(res.grad_norm[0]),
    )


def recover_batch(
    flow: FlowPrior,
    A: np.ndarray,
    Y: np.ndarray,
    gamma: float,
    *,
    init: str = "zeros",
    init_scale: float | None = None,
    X_true: np.ndarray | None = None,
    gen: np.random.Generator | None = None,
    max_iter: int = 1000,
    gtol: float = 1e-9,
    ftol: float = 0.0,
    batch: str = "lockstep",
    chunk: int | None = None,
    solver: str = "lbfgs",
) -> RecoveryResult:
    """:func:`recover` on validated input: a batch ``Y`` (k, m), ``A`` (m, n) or (k, m, n).

    For callers that validated their arguments already (:func:`lininv.bridge.compare`, the
    experiments): ``init_scale`` is the resolved scale (``0.7`` for ``"random"``), ``gen`` a
    Generator when the start is random. Returns the batch form of :class:`RecoveryResult`.
    """
    if gen is None:
        gen = np.random.default_rng()
    with one_blas_thread():
        Z0 = initial_latents(flow, A, Y, init, init_scale, X_true, gen)
    if not np.all(np.isfinite(Z0)):
        raise ValueError(
            f"init={init!r} produced a non-finite starting latent (flow inverse overflow)"
        )
    options = {"maxiter": max_iter, "gtol": gtol, "ftol": ftol, "maxcor": 10}
    out: Any  # Solutions (Polished is the same record)
    with one_blas_thread():
        if solver == "gauss-newton":
            out = polish_all(flow, A, Y, gamma, Z0)
        else:
            out = solve_all(flow, A, Y, gamma, Z0, options, batch, chunk)
            if solver == "lbfgs+gauss-newton":
                warm = out
                out = polish_all(flow, A, Y, gamma, warm.Z)
                out = type(out)(
                    out.Z,
                    out.X,
                    out.f,
                    out.g,
                    out.success,
                    [
                        f"L-BFGS-B: {a}; then {b}"
                        for a, b in zip(warm.message, out.message, strict=True)
                    ],
                    warm.iterations + out.iterations,
                    warm.evaluations + out.evaluations,
                )
    gnorm = np.linalg.norm(out.g, axis=1)
    return RecoveryResult(
        out.X,
        out.Z,
        Z0,
        out.success,
        tuple(out.message),
        out.iterations,
        out.evaluations,
        out.f,
        gnorm,
    )
