r"""Converged flow recovery: scipy's Gauss-Newton solvers with the flow's exact Jacobian.

The objective of :func:`lininv.bridge.recover` is a non-linear least-squares problem,

.. math:: f(z) = \|r(z)\|^2, \qquad r(z) = \begin{bmatrix} A\,G(z) - y \\ \sqrt\gamma\, z
          \end{bmatrix},\qquad \frac{\partial r}{\partial z} = \begin{bmatrix} A\,J(z) \\
          \sqrt\gamma\, I \end{bmatrix},

with ``n = 64`` unknowns, and the rows of :math:`A J(z)` are ``m`` vector-Jacobian products of
the flow (one batched pullback). :func:`scipy.optimize.least_squares` solves it: MINPACK's
Levenberg-Marquardt (``"lm"``) where the residual has at least ``n`` entries (``m = n`` or
``gamma > 0``), trust-region reflective (``"trf"``, whose exact subproblem solve takes the
minimum-norm step) where it has fewer (``m < n``, ``gamma = 0``: the minimisers then form a
manifold of zero-residual latents).

Every function here takes validated arrays (:func:`lininv.bridge.recover` checks them).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from lininv.bridge._solver import Solutions
from lininv.flows._protocol import FlowPrior

__all__ = ["GN_GTOL", "GN_TOL", "GN_MAX_NFEV", "Polished", "polish_all"]

#: A Gauss-Newton solve counts as converged when ``least_squares`` stopped on one of its
#: tolerances (not on its evaluation limit) *and* the objective's gradient
#: :math:`2 (\partial r/\partial z)^T r` has no component above this. Near a minimiser a step
#: decreases the objective by ~||g||^2 / L, which the solver can resolve only above the rounding
#: of f (~eps f): gradients below ~sqrt(eps f L) ~ 2e-7 (objective f ~ 2 in denoising, curvature
#: L ~ 100) are not distinguishable from zero through f, and ``least_squares`` stops there on
#: ``ftol`` (measured: max |grad| up to 2e-8 in denoising). Zero-residual problems (noiseless
#: compressed sensing) reach 1e-12 to 1e-16. The threshold, like L-BFGS's stall rule
#: (:data:`lininv.bridge.STALL_GTOL`), is 1e-6: met by every such stationary point, it refuses a
#: solve that stopped on a collapsed trust region far from one.
GN_GTOL = 1e-6

#: ``ftol = xtol = gtol`` of :func:`scipy.optimize.least_squares`: far tighter than
#: :data:`GN_GTOL`, so that the solver runs until it reaches rounding level.
GN_TOL = 1e-12

#: Residual evaluations per solve. Measured on the digits (20 test images, m = 16 to 64): a
#: solve from the L-BFGS warm start takes 2 to 45, from ``z = 0`` 10 to 50.
GN_MAX_NFEV = 500


#: Per-problem outcomes of :func:`polish_all`: the same record as the first-order solver's.
Polished = Solutions


class _Residual:
    """Residual and Jacobian of one problem; the flow is evaluated on one row (or ``m`` rows)."""

    def __init__(self, flow: FlowPrior, A: np.ndarray, y: np.ndarray, gamma: float) -> None:
        self.flow, self.A, self.y, self.gamma = flow, A, y, gamma
        self.root = float(np.sqrt(gamma))
        self.n = int(flow.n)

    def signal(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.asarray(self.flow.forward_and_pullback(z[None])[0], dtype=float)[0]
        if not np.all(np.isfinite(x)):
            raise FloatingPointError("the flow returned a non-finite signal")
        return x

    def __call__(self, z: np.ndarray) -> np.ndarray:
        r = self.A @ self.signal(z) - self.y
        return np.concatenate([r, self.root * z]) if self.gamma > 0 else r

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        m = self.A.shape[0]
        with np.errstate(over="ignore", invalid="ignore"):
            _, pullback = self.flow.forward_and_pullback(np.repeat(z[None], m, axis=0))
            J = np.asarray(pullback(self.A), dtype=float).reshape(m, self.n)  # rows e_i^T A J(z)
        if not np.all(np.isfinite(J)):
            raise FloatingPointError("the flow's Jacobian is not finite")
        if self.gamma > 0:
            return np.vstack([J, self.root * np.eye(self.n)])
        return J


def _method(m: int, n: int, gamma: float) -> str:
    """``"lm"`` where MINPACK applies (at least ``n`` residuals), else ``"trf"``."""
    return "lm" if gamma > 0 or m >= n else "trf"


def polish_all(
    flow: FlowPrior,
    A: np.ndarray,
    Y: np.ndarray,
    gamma: float,
    Z0: np.ndarray,
    *,
    max_nfev: int = GN_MAX_NFEV,
) -> Polished:
    """Solve every problem by ``least_squares`` from its start ``Z0`` (k, n), one after another.

    ``A`` is (m, n) shared or (k, m, n). A solve that meets a non-finite value keeps its start and
    reports ``success=False`` with the reason.
    """
    k, n = Z0.shape
    Z, X, g = np.empty((k, n)), np.empty((k, n)), np.empty((k, n))
    f = np.empty(k)
    success, nit, nfev = np.zeros(k, bool), np.zeros(k, int), np.zeros(k, int)
    message = [""] * k
    for j in range(k):
        Aj = A if A.ndim == 2 else A[j]
        res_fn = _Residual(flow, Aj, Y[j], gamma)
        method = _method(Aj.shape[0], n, gamma)
        try:
            sol = optimize.least_squares(
                res_fn,
                Z0[j],
                jac=res_fn.jacobian,
                method=method,
                ftol=GN_TOL,
                xtol=GN_TOL,
                gtol=GN_TOL,
                max_nfev=max_nfev,
            )
            z, ok, msg = sol.x, bool(sol.status > 0), f"{method}: {sol.message}"
            nit[j], nfev[j] = int(sol.njev or 0), int(sol.nfev)
        except FloatingPointError as exc:
            z, ok, msg = Z0[j], False, f"{method}: stopped at a non-finite evaluation ({exc})"
        r = res_fn(z)
        grad = 2.0 * (res_fn.jacobian(z).T @ r)
        gmax = float(np.max(np.abs(grad)))
        if ok and gmax > GN_GTOL:
            ok = False
            msg += f" (refused: max |grad| = {gmax:.1e} > {GN_GTOL:g})"
        Z[j], X[j], f[j], g[j] = z, res_fn.signal(z), float(r @ r), grad
        success[j], message[j] = ok, msg
    return Polished(Z, X, f, g, success, message, nit, nfev)
