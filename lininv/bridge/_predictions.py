r"""Linear predictions of a flow's recovery error: local (Jacobian at the truth) and global (best Gaussian)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._prior import LinearInvertiblePrior
from lininv._theory import hmt_upper_bound, lower_bound, predicted_error
from lininv._validation import as_matrix, check_int, check_real, describe
from lininv.flows._protocol import FlowPrior, check_flow_prior

__all__ = [
    "LOCAL_NEEDS",
    "LinearPrediction",
    "check_ms",
    "spectrum_predictions",
    "local_singular_values",
    "local_predictions",
    "global_predictions",
]


#: The members of :class:`lininv.flows.FlowPrior` that the local predictions use.
LOCAL_NEEDS = ("n", "inverse", "jacobian")


def check_ms(ms: Any, n: int, *, low: int = 2) -> np.ndarray:
    """Validate measurement counts: a non-empty 1-D sequence of distinct integers in [low, n]."""
    if isinstance(ms, (int, np.integer)) and not isinstance(ms, bool):
        ms = [ms]
    try:
        arr = np.asarray(ms)
    except Exception as exc:
        raise TypeError(f"ms must be a sequence of integers; got {describe(ms)}") from exc
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"ms must be a non-empty 1-D sequence of integers; got {describe(ms)}")
    for m in arr:
        check_int("ms", int(m), low=low, high=n, reason=f" ({low} <= m <= n = {n})")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"ms must be distinct; got {arr.tolist()}")
    return arr.astype(int)


@dataclass(frozen=True)
class LinearPrediction:
    r"""The linear theory's error curve over ``m`` for one spectrum or one per signal.

    Attributes
    ----------
    ms : ndarray of int, shape (p,)
        Numbers of Gaussian measurements.
    lower : ndarray of shape (p,) or (k, p)
        Eckart-Young lower bound :math:`\sum_{i>m} s_i^2` (:func:`lininv.lower_bound`).
    predicted : ndarray of shape (p,) or (k, p)
        Deterministic-equivalent prediction (:func:`lininv.predicted_error`, noisy form when
        ``noise_std > 0``).
    upper : ndarray of shape (p,) or (k, p)
        Optimised HMT upper bound (:func:`lininv.hmt_upper_bound`); NaN when ``noise_std > 0``,
        where it does not apply.
    noise_std : float
    singular_values : ndarray of shape (n,) or (k, n)
        The spectra used.
    """

    ms: np.ndarray
    lower: np.ndarray
    predicted: np.ndarray
    upper: np.ndarray
    noise_std: float
    singular_values: np.ndarray

    def mean(self) -> LinearPrediction:
        """Average over signals (a per-signal prediction becomes a population prediction)."""
        if self.lower.ndim == 1:
            return self
        return LinearPrediction(
            self.ms,
            self.lower.mean(axis=0),
            self.predicted.mean(axis=0),
            self.upper.mean(axis=0),
            self.noise_std,
            self.singular_values,
        )


def _curves(s: np.ndarray, ms: np.ndarray, noise_std: float) -> tuple[np.ndarray, ...]:
    lo = np.array([lower_bound(s, int(m)) for m in ms])
    pred = np.array([predicted_error(s, int(m), noise_std) for m in ms])
    if noise_std == 0.0:
        up = np.array([hmt_upper_bound(s, int(m)).value for m in ms])
    else:
        up = np.full(ms.size, np.nan)
    return lo, pred, up


def spectrum_predictions(s: Any, ms: Any, noise_std: float = 0.0) -> LinearPrediction:
    r"""Lower bound, prediction and HMT upper bound over ``ms`` for singular values ``s``.

    Parameters
    ----------
    s : array_like of shape (n,)
        Singular values of a linear generator (positive, any order).
    ms : sequence of int
        Numbers of Gaussian measurements, ``2 <= m <= n``.
    noise_std : float, default=0.0
        Measurement noise :math:`\sigma`; with noise the prediction is the posterior-mean error
        :math:`m(\kappa - \sigma^2)` and the upper bound is not computed (NaN).

    Returns
    -------
    LinearPrediction

    Examples
    --------
    >>> from lininv.bridge import spectrum_predictions
    >>> p = spectrum_predictions([1.0, 1.0, 1.0, 1.0], [2, 3])  # flat: exactly (n - m) s^2
    >>> p.lower.tolist(), [round(float(v), 12) for v in p.predicted]
    ([2.0, 1.0], [2.0, 1.0])
    """
    from lininv._validation import as_spectrum

    s = as_spectrum("s", s)
    ms = check_ms(ms, s.size)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    lo, pred, up = _curves(s, ms, noise_std)
    return LinearPrediction(ms, lo, pred, up, noise_std, s)


def local_singular_values(flow: FlowPrior, X: Any) -> np.ndarray:
    r"""Singular values of the flow's Jacobian at the true latents :math:`z_0 = G^{-1}(x_0)`.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior
    X : array_like of shape (k, n)
        Signals.

    Returns
    -------
    ndarray of shape (k, n)
        Row ``j``: singular values of :math:`J(z_j) = \partial G/\partial z\,(z_j)`, descending.

    Notes
    -----
    The linearisation :math:`G(z) \approx x_0 + J (z - z_0)` is a linear invertible prior with
    :math:`\Sigma = J J^T`; its spectrum feeds the linear theory (``docs/theory.md``, section 8).
    """
    flow = check_flow_prior(flow, needs=LOCAL_NEEDS)
    n = int(flow.n)
    X = as_matrix("X", X, shape=(None, n), shape_hint=f" to match the flow's n = {n}")
    return singular_values_at(flow, X)


def singular_values_at(flow: FlowPrior, X: np.ndarray) -> np.ndarray:
    """:func:`local_singular_values` for a validated flow and signals ``X`` (k, n)."""
    n = int(flow.n)
    Z = np.asarray(flow.inverse(X)[0], dtype=float).reshape(X.shape)
    out = np.empty(X.shape)
    chunk = max(1, 4096 // n)  # bound the memory of the batched Jacobian (chunk * n * n floats)
    for start in range(0, X.shape[0], chunk):
        J = np.asarray(flow.jacobian(Z[start : start + chunk]), dtype=float).reshape(-1, n, n)
        out[start : start + chunk] = np.linalg.svd(J, compute_uv=False)
    if not np.all(np.isfinite(out)) or np.any(out <= 0.0):
        raise ValueError("the flow's Jacobian is singular or not finite at some of the signals X")
    return out


def local_predictions(flow: FlowPrior, X: Any, ms: Any, noise_std: float = 0.0) -> LinearPrediction:
    r"""Per-signal linear predictions from the flow's Jacobian at the true latent.

    Parameters
    ----------
    flow : lininv.flows.FlowPrior
    X : array_like of shape (k, n)
        Test signals :math:`x_0`.
    ms : sequence of int
        ``2 <= m <= n``.
    noise_std : float, default=0.0

    Returns
    -------
    LinearPrediction
        Arrays of shape (k, p); :meth:`LinearPrediction.mean` averages over the signals.

    Notes
    -----
    For signal :math:`x_0` with :math:`z_0 = G^{-1}(x_0)` and :math:`J = \partial G/\partial z(z_0)`
    with singular values :math:`s`, the linear theory for the prior :math:`x = x_0 + J w`,
    :math:`w \sim N(0, I)` gives :math:`\sum_{i>m}s_i^2 \le E(m) \approx \lambda m \le
    \min_k (1 + k/(m-k-1))\sum_{j>k}s_j^2`. It describes a flow that is linear near the truth.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import linear_flow
    >>> from lininv.bridge import local_predictions
    >>> G = np.diag([2.0, 1.0, 0.5])
    >>> p = local_predictions(linear_flow(G), np.ones((2, 3)), [2, 3])
    >>> p.lower.tolist()  # the Jacobian of a linear flow is G everywhere
    [[0.25, 0.0], [0.25, 0.0]]
    """
    flow = check_flow_prior(flow, needs=LOCAL_NEEDS)
    n = int(flow.n)
    X = as_matrix("X", X, shape=(None, n), shape_hint=f" to match the flow's n = {n}")
    ms = check_ms(ms, n)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    return predictions_at(flow, X, ms, noise_std)


def predictions_at(
    flow: FlowPrior, X: np.ndarray, ms: np.ndarray, noise_std: float
) -> LinearPrediction:
    """:func:`local_predictions` for validated arguments."""
    S = singular_values_at(flow, X)
    curves = [_curves(s, ms, noise_std) for s in S]
    lo, pred, up = (np.array([c[i] for c in curves]) for i in range(3))
    return LinearPrediction(ms, lo, pred, up, noise_std, S)


def global_predictions(
    X_train: Any, ms: Any, noise_std: float = 0.0, *, reg: float = 0.0
) -> LinearPrediction:
    r"""Linear predictions for the best linear Gaussian fitted to training data.

    Parameters
    ----------
    X_train : array_like of shape (N, n) or LinearInvertiblePrior
        Training signals (fitted with :meth:`lininv.LinearInvertiblePrior.fit`), or a fitted prior.
    ms : sequence of int
        ``2 <= m <= n``.
    noise_std : float, default=0.0
    reg : float, default=0.0
        Passed to :meth:`~lininv.LinearInvertiblePrior.fit`.

    Returns
    -------
    LinearPrediction
        Arrays of shape (p,).
    """
    if isinstance(X_train, LinearInvertiblePrior):
        prior = X_train
    else:
        prior = LinearInvertiblePrior.fit(as_matrix("X_train", X_train), reg=reg)
    return spectrum_predictions(prior.singular_values, ms, noise_std)
