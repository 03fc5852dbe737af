r"""Bounds on and predictions of the expected error :math:`E(m) = E_A E_{x_0}\|\hat x - x_0\|^2`.

Every function takes the singular values ``s`` of ``G`` (any order; sorted descending inside) and the
number of Gaussian measurements ``m``. By rotation invariance (docs/theory.md, section 5) ``E(m)`` depends
on ``s`` alone. Tail sums :math:`\sum_{j>k} s_j^2` are accumulated from the smallest term up, so
they are accurate even when the spectrum spans many orders of magnitude.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from scipy import integrate

from lininv._validation import as_spectrum, check_int, check_real

__all__ = [
    "lower_bound",
    "paper_upper_bound",
    "hmt_upper_bound",
    "HMTBound",
    "predicted_error",
    "degrees_of_freedom",
    "exact_error_m1",
]


def _tails(s: np.ndarray) -> np.ndarray:
    """``tails[k] = sum_{j >= k} s_j^2`` (0-based) for k = 0..n, summed from the small end."""
    t = np.zeros(s.size + 1)
    t[:-1] = np.cumsum((s**2)[::-1])[::-1]
    return t


def _spectrum_and_m(s: Any, m: Any, *, low: int, reason: str = "") -> tuple[np.ndarray, int]:
    s = as_spectrum("s", s)
    m = check_int("m", m, low=low, high=s.size, reason=reason or f" (1 <= m <= n = {s.size})")
    return s, m


def lower_bound(s: Any, m: int) -> float:
    r"""Eckart-Young lower bound :math:`\sum_{i>m} s_i^2`.

    Holds for *every* draw of ``A`` (the MLE's error is :math:`\|(I-P_Y)S\|_F^2` with
    :math:`\operatorname{rank} P_Y \le m`), hence also in expectation.

    Parameters
    ----------
    s : array_like of shape (n,)
        Singular values of ``G``, positive, any order.
    m : int
        Number of measurements, ``1 <= m <= n``.

    Returns
    -------
    float

    References
    ----------
    .. [1] Asim et al., ICML 2020, arXiv:1905.11672 (theorem, left inequality).
    .. [2] C. Eckart, G. Young, "The approximation of one matrix by another of lower rank",
       Psychometrika 1 (1936).

    Examples
    --------
    >>> from lininv import lower_bound
    >>> lower_bound([1.0, 2.0, 3.0], 1)  # 2^2 + 1^2
    5.0
    """
    s, m = _spectrum_and_m(s, m, low=1)
    return float(_tails(s)[m])


def paper_upper_bound(s: Any, m: int) -> float:
    r"""The poster's upper bound :math:`m \sum_{i>m-2} s_i^2` (1-based indices).

    Parameters
    ----------
    s : array_like of shape (n,)
    m : int
        ``2 <= m <= n`` (the proof takes oversampling ``p = 2``).

    Returns
    -------
    float

    Notes
    -----
    From Halko-Martinsson-Tropp with ``k = m - 2``, ``p = 2``:
    :math:`(1 + \frac{k}{p-1})\sum_{j>k} s_j^2 = (m-1)\sum_{j>m-2} s_j^2 \le m\sum_{j>m-2} s_j^2`.

    References
    ----------
    .. [1] Asim et al., ICML 2020, arXiv:1905.11672 (theorem, right inequality).

    Examples
    --------
    >>> from lininv import paper_upper_bound
    >>> paper_upper_bound([1.0, 1.0, 1.0], 2)
    6.0
    """
    s, m = _spectrum_and_m(s, m, low=2, reason=" (the theorem needs 2 <= m <= n)")
    return float(m * _tails(s)[m - 2])


class HMTBound(NamedTuple):
    """Value of the optimised Halko-Martinsson-Tropp bound and the split ``k`` attaining it."""

    value: float
    k: int


def hmt_upper_bound(s: Any, m: int) -> HMTBound:
    r"""Sharpest rigorous upper bound from HMT's expectation bound, optimised over the split.

    .. math:: E(m) \le \min_{0 \le k \le m-2} \Big(1 + \frac{k}{m-k-1}\Big) \sum_{j>k} s_j^2.

    Parameters
    ----------
    s : array_like of shape (n,)
    m : int
        ``2 <= m <= n``.

    Returns
    -------
    HMTBound
        ``(value, k)``; the smallest ``k`` attaining the minimum.

    Notes
    -----
    Theorem 10.5 of [1]_ with target rank ``k`` and oversampling ``p = m - k >= 2``:
    :math:`E\|(I - P_Y)S\|_F^2 \le (1 + k/(p-1)) \sum_{j>k} s_j^2`. Any ``k`` gives a valid bound,
    so the minimum over ``k`` does too; ``k = m - 2`` recovers :func:`paper_upper_bound` up to the
    factor ``(m-1)/m``.

    References
    ----------
    .. [1] N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness:
       probabilistic algorithms for constructing approximate matrix decompositions",
       SIAM Review 53(2), 2011, Theorem 10.5.

    Examples
    --------
    >>> from lininv import hmt_upper_bound
    >>> hmt_upper_bound([10.0, 0.1, 0.1, 0.1], 3)
    HMTBound(value=0.06000000000000001, k=1)
    """
    s, m = _spectrum_and_m(s, m, low=2, reason=" (the bound needs 2 <= m <= n)")
    k = np.arange(m - 1)
    values = (1.0 + k / (m - k - 1.0)) * _tails(s)[k]
    best = int(np.argmin(values))
    return HMTBound(float(values[best]), best)


def degrees_of_freedom(s: Any, lam: float) -> float:
    r"""Degrees of freedom :math:`\mathrm{df}(\lambda) = \sum_i s_i^2/(s_i^2 + \lambda)`.

    Examples
    --------
    >>> from lininv import degrees_of_freedom
    >>> degrees_of_freedom([1.0, 1.0], 1.0)
    1.0
    """
    s = as_spectrum("s", s)
    lam = check_real("lam", lam, low=0.0)
    return float(_df(s**2, lam))


def _df(s2: np.ndarray, lam: float) -> float:
    return float(np.sum(s2 / (s2 + lam)))


def _excess(tt: np.ndarray, m: int, sig2: float, kap: float) -> float:
    r""":math:`G(\kappa) = m - \mathrm{df}(\kappa) - m\sigma^2/\kappa` without cancellation.

    With :math:`r_i = \kappa/t_i`, :math:`m - \mathrm{df} = \sum_i \kappa/(t_i + \kappa) - (n - m)`,
    and for :math:`t_i < \kappa` the term is :math:`1 - t_i/(t_i + \kappa)`; so

    .. math:: G = \big(\#\{t_i < \kappa\} - (n - m)\big) + \sum_{t_i \ge \kappa}
              \frac{r_i}{1 + r_i} - \sum_{t_i < \kappa} \frac{1}{1 + r_i}
              - \frac{m\sigma^2}{\kappa},

    an exact integer plus fractions below 1/2: its rounding error is a few ulps of the sum of
    the magnitudes of its terms, not of ``m`` (the plain form ``df - m`` lost everything when
    the root is much smaller than the larger ``t_i``). ``t_i`` may be 0 or infinite (spectral
    values beyond the double range in the caller's unit): they count exactly. Increasing in
    :math:`\kappa`.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        r = kap / tt
        small = r > 1.0
        fractions = np.where(small, -1.0 / (1.0 + r), r / (1.0 + r))
        noise = m * sig2 / kap if sig2 > 0.0 else 0.0
    count = int(np.count_nonzero(small)) - (tt.size - m)
    return float(count + np.sum(fractions) - noise)


def _root(
    t: np.ndarray, m: int, q: float, k: int, log_lo: float, log_hi: float
) -> tuple[float, int]:
    r"""Root :math:`\kappa = \tilde\kappa\,4^j` of :func:`_excess`, in units of :math:`s_{\max}^2`.

    ``t = (s / s_max)^2``; the noise is :math:`(\sigma/s_{\max})^2 = q\,4^k` (``q = 0``: none),
    never formed as a double, so that it may lie far outside the double range. The bracket
    ``[exp(log_lo), exp(log_hi)]`` must have :math:`G < 0` at its lower end.

    Stage 1 halves the bracket in :math:`\log\kappa` (about 20 times: it spans less than 2000)
    with :math:`G` evaluated from logarithms, which is exact enough to tell its sign away from
    the root and cannot overflow. Stage 2 takes the unit :math:`4^j` at the root, so that
    :math:`\tilde\kappa`, :math:`\sigma^2` and every relevant :math:`t_i` are of order one
    there (the others are 0 or infinite, which :func:`_excess` counts exactly), restores the
    bracket with the exact :math:`G` and halves it until its ends are adjacent doubles.
    Deterministic, with no tolerance to choose, and it cannot fail to converge.
    """
    log_t = np.log(t)
    log_sig2 = math.log(q) + 2 * k * math.log(2.0) if q > 0.0 else -math.inf

    def rough(u: float) -> float:  # G at kappa = e^u, from logarithms
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            r = np.exp(u - log_t)
            fractions = np.where(r > 1.0, -1.0 / (1.0 + r), r / (1.0 + r))
            noise = m * math.exp(min(log_sig2 - u, 700.0))
        count = int(np.count_nonzero(r > 1.0)) - (t.size - m)
        return count + float(np.sum(fractions)) - noise

    a, b = log_lo, log_hi
    while b - a > 2.0**-8:
        mid = 0.5 * (a + b)
        a, b = (mid, b) if rough(mid) < 0.0 else (a, mid)
    j = math.floor(a / math.log(4.0))  # exp(a) / 4**j in [1, 4)
    with np.errstate(over="ignore", under="ignore"):
        tt = np.ldexp(t, -2 * j)  # 0 or inf where beyond the range: counted exactly
    sig2 = math.ldexp(q, 2 * (k - j)) if q > 0.0 else 0.0  # <= kappa, so no overflow
    lo, hi = math.exp(a - 2 * j * math.log(2.0)), math.exp(b - 2 * j * math.log(2.0))
    while _excess(tt, m, sig2, lo) >= 0.0:  # stage 1's rounding near the root
        lo /= 2.0
    while _excess(tt, m, sig2, hi) < 0.0:
        hi *= 2.0
    while True:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            return hi, j
        lo, hi = (mid, hi) if _excess(tt, m, sig2, mid) < 0.0 else (lo, mid)


def _root_ratios(s: np.ndarray, m: int, noise_std: float) -> tuple[np.ndarray, np.ndarray] | None:
    r""":math:`\sum_i \kappa s_i^2/(s_i^2 + \kappa)` at the root of
    :math:`\kappa(1 - \mathrm{df}(\kappa)/m) = \sigma^2` (:math:`\kappa = \lambda` without noise).

    :math:`G = m - \mathrm{df} - m\sigma^2/\kappa` (:func:`_excess`) increases strictly. Rigorous
    brackets, in units of :math:`s_{\max}^2` (``t = (s/s_max)^2``): without noise
    :math:`\mathrm{df} \ge n - \lambda\sum_i 1/t_i` gives :math:`G \le 0` at
    :math:`(n - m)/\sum_i 1/t_i` and :math:`\mathrm{df} \le \sum_i t_i/\lambda` gives
    :math:`G \ge m/2` at :math:`2\sum_i t_i/m`; with noise :math:`G(\sigma^2) = -\mathrm{df}(\sigma^2)
    < 0` and :math:`\kappa\,\mathrm{df}(\kappa) \le \sum_i t_i` gives :math:`G > 0` at
    :math:`2(\sigma^2 + \sum_i t_i/m)`. The root is found by :func:`_root`. The error terms are
    :math:`s_i^2/(1 + s_i^2/\kappa)` or :math:`\kappa/(1 + \kappa/s_i^2)`, whichever ratio is at
    most one, in absolute units: nothing under- or overflows unless the term itself does.
    """
    n = s.size
    t = (s / s[0]) ** 2
    s_m, e_s = math.frexp(float(s[0]))
    log_sum = math.log(float(np.sum(t)) / m)
    if noise_std == 0.0:
        if m == n:
            return None
        q, k = 0.0, 0
        # (n - m) / sum(1/t), in units of t_min so that sum(1/t) cannot overflow
        log_lo = math.log((n - m) * float(t[-1]) / float(np.sum(t[-1] / t)))
        log_hi = math.log(2.0) + log_sum
    else:
        sig_m, e_sig = math.frexp(noise_std)
        q, k = (sig_m / s_m) ** 2, e_sig - e_s  # (noise_std / s_max)^2 = q 4**k
        log_lo = math.log(q) + 2 * k * math.log(2.0)
        log_hi = math.log(2.0) + float(np.logaddexp(log_lo, log_sum))
    kap, j = _root(t, m, q, k, log_lo, log_hi)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        ratio = np.ldexp(t, -2 * j) / kap  # s_i^2 / kappa
        kappa = np.ldexp(kap * s_m**2, 2 * (j + e_s))  # in absolute units; used where ratio > 1
    return ratio, kappa


def _prediction(s: np.ndarray, m: int, noise_std: float) -> float:
    r"""The matched prediction :math:`\sum_i \kappa s_i^2/(s_i^2 + \kappa)` (:func:`_root_ratios`)."""
    root = _root_ratios(s, m, noise_std)
    if root is None:
        return 0.0
    ratio, kappa = root
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        terms = np.where(ratio <= 1.0, s**2 / (1.0 + ratio), kappa / (1.0 + 1.0 / ratio))
    return float(np.sum(terms))


def _mismatch_correction(s: np.ndarray, q: np.ndarray, m: int, noise_std: float) -> float:
    r"""The second-order term of the mismatched prediction (:func:`predicted_error`, Notes).

    :math:`\frac{m}{m - \mathrm{df}_2(\kappa)}\sum_i (q_i - s_i^2)\,w_i` with
    :math:`w_i = \kappa^2/(s_i^2+\kappa)^2 = (1 + s_i^2/\kappa)^{-2}` and
    :math:`\mathrm{df}_2 = \sum_i (1 + \kappa/s_i^2)^{-2}`: bounded weights, nothing under- or
    overflows.
    """
    root = _root_ratios(s, m, noise_std)
    if root is None:
        return 0.0
    ratio, _ = root
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        w = 1.0 / (1.0 + ratio) ** 2
        df2 = float(np.sum(1.0 / (1.0 + 1.0 / ratio) ** 2))
    return m / (m - df2) * float(np.sum((q - s**2) * w))


def predicted_error(s: Any, m: int, noise_std: float = 0.0, *, truth: Any = None) -> float:
    r"""Deterministic-equivalent prediction of the expected error.

    Noiseless: :math:`E(m) \approx \lambda m` with :math:`\lambda > 0` solving
    :math:`\mathrm{df}(\lambda) = m`. Noisy (:math:`A = \Omega^T/\sqrt m`, noise variance
    :math:`\sigma^2`): :math:`E \approx m(\kappa - \sigma^2)` with :math:`\kappa` solving
    :math:`\kappa(1 - \mathrm{df}(\kappa)/m) = \sigma^2`; it reduces to :math:`\lambda m` as
    :math:`\sigma \to 0`. With a ``truth`` (dataset bias), a second-order term (Notes).

    Parameters
    ----------
    s : array_like of shape (n,), or LinearInvertiblePrior
        Singular values of ``G``, or the prior (needed with ``truth``).
    m : int
        ``1 <= m <= n`` when noiseless (``m = n`` gives 0); any ``m >= 1`` with noise.
    noise_std : float, default=0.0
    truth : LinearInvertiblePrior or LowRankPrior, optional
        The distribution of ``x0`` when it is not the prior (see :func:`conditional_error`).

    Returns
    -------
    float

    Notes
    -----
    Both forms are evaluated as :math:`\sum_i \kappa s_i^2/(s_i^2 + \kappa)`, which equals
    :math:`m(\kappa - \sigma^2)` at the root and has no cancellation. Both roots solve
    :math:`m - \mathrm{df}(\kappa) - m\sigma^2/\kappa = 0`, evaluated as an exact integer plus
    fractions below one half (no cancellation against ``m``), by bisection on a rigorous
    bracket: first in :math:`\log\kappa`, then in :math:`\kappa` to adjacent doubles, in a unit
    (a power of two) at the root's own scale. So the result is accurate to a few ulps times the
    root's condition number at any scale of ``s`` and ``noise_std`` (E(m) is homogeneous of
    degree 2 in them: scaling both by :math:`2^k` scales it by :math:`4^k` exactly), with
    noise far below or far above the spectrum, and condition numbers up to the range rule's
    limit. The elementary sandwich
    :math:`\sum_{i>m} s_i^2 \le \lambda m \le \min_l (1 + l/(m-l))\sum_{i>l} s_i^2` holds.
    How accurate the prediction is, is measured by the Monte-Carlo engine, not assumed.

    *Dataset bias.* The expected error under a truth with second moment :math:`M` about the
    prior's mean depends on it only through :math:`q_i = u_i^T M u_i` (sign invariance of a
    Gaussian ``A``). The first-order equivalent :math:`E[\sigma^2 K] \approx
    \kappa(S^2 + \kappa)^{-1}` gives the matched term; the quadratic form in ``M`` needs the
    second-order equivalent of :math:`E[R\,C R]` for the resolvent
    :math:`R = (S\Omega\Omega^TS + \mu)^{-1}`, which adds an inflation factor [3]_ [4]_:

    .. math:: E \approx \kappa\,\mathrm{df}(\kappa) + \frac{m}{m - \mathrm{df}_2(\kappa)}
              \sum_i \frac{\kappa^2 (q_i - s_i^2)}{(s_i^2 + \kappa)^2}, \qquad
              \mathrm{df}_2(\kappa) = \sum_i \frac{s_i^4}{(s_i^2+\kappa)^2}.

    With :math:`q = s^2` it is the matched prediction; it reduces to 0 at ``m = n`` without noise.

    References
    ----------
    .. [1] M. Derezinski, F. Liang, Z. Liao, M. W. Mahoney, "Precise expressions for random
       projections: low-rank approximation and randomized Newton", arXiv:2006.10653.
    .. [2] C. Cheng, A. Montanari, "Dimension free ridge regression", Ann. Statist. 2024,
       arXiv:2210.08571.
    .. [3] D. LeJeune, P. Patil, H. Javadi, R. G. Baraniuk, R. J. Tibshirani, "Asymptotics of the
       sketched pseudoinverse", SIAM J. Math. Data Sci. 2024, arXiv:2211.03751.
    .. [4] F. Bach, "High-dimensional analysis of double descent for linear regression with random
       projections", arXiv:2303.01372 (2023).

    Examples
    --------
    >>> from lininv import predicted_error
    >>> round(predicted_error([1.0] * 4, 2), 12)  # flat spectrum: exactly (n - m) s^2
    2.0
    """
    from lininv._mismatch import check_truth, truth_diagonal
    from lininv._prior import LinearInvertiblePrior

    prior = s if isinstance(s, LinearInvertiblePrior) else None
    if prior is None:
        if truth is not None:
            raise TypeError(
                "s must be a LinearInvertiblePrior when truth is given (the prior's singular "
                "vectors matter); got singular values"
            )
        s = as_spectrum("s", s)
    else:
        truth = check_truth(prior, truth)
        s = prior.singular_values
    noise_std = check_real("noise_std", noise_std, low=0.0)
    n = s.size
    if noise_std == 0.0:
        m = check_int("m", m, low=1, high=n, reason=f" (1 <= m <= n = {n} without noise)")
    else:
        m = check_int("m", m, low=1)
    matched = _prediction(s, m, noise_std)
    if prior is None or truth is None:
        return matched
    return matched + _mismatch_correction(s, truth_diagonal(prior, truth), m, noise_std)


def exact_error_m1(s: Any) -> float:
    r"""Exact expected error for a single Gaussian measurement (``m = 1``), by quadrature.

    .. math:: \pi_i = \int_0^\infty \frac{s_i^2}{1 + 2 t s_i^2}
              \prod_j (1 + 2 t s_j^2)^{-1/2}\, dt = E[P_Y]_{ii},\qquad
              E(1) = \sum_i s_i^2 (1 - \pi_i) = \sum_j \pi_j \sum_{i \ne j} s_i^2 .

    Parameters
    ----------
    s : array_like of shape (n,)

    Returns
    -------
    float

    Notes
    -----
    The second form (using :math:`\sum_j \pi_j = 1`) is a sum of positive terms and avoids the
    cancellation in :math:`1 - \pi_1` when one singular value dominates. The integral is taken in
    :math:`u = \log t`, split at the scales :math:`t = 1/(2 s_j^2)`, with ``scipy.integrate.quad``
    at relative tolerance 1e-11. Checks: :math:`E(1) = s_1 s_2` for ``n = 2`` and
    :math:`(n-1)s^2` for a flat spectrum.

    Examples
    --------
    >>> from lininv import exact_error_m1
    >>> round(exact_error_m1([2.0, 0.5]), 10)
    1.0
    """
    s = as_spectrum("s", s)
    n = s.size
    if n == 1:
        return 0.0
    scale = s[0] ** 2
    t2 = 2.0 * (s / s[0]) ** 2  # 2 s_j^2 in units of s_max^2
    s2 = t2 / 2.0
    # R_j = sum_{i != j} s_i^2, from prefix and suffix sums (no subtraction).
    prefix = np.concatenate(([0.0], np.cumsum(s2)[:-1]))
    suffix = np.concatenate((np.cumsum(s2[::-1])[::-1][1:], [0.0]))
    R = prefix + suffix

    def integrand(u: float) -> float:
        t = np.exp(u)
        x = t * t2
        log_prod = -0.5 * np.sum(np.log1p(x))
        return float(t * np.exp(log_prod) * np.sum(R * s2 / (1.0 + x)))

    # Scales where the integrand changes regime; merge those closer than one unit of u.
    scales = np.sort(-np.log(t2))
    breaks = [scales[0]]
    for b in scales[1:]:
        if b - breaks[-1] > 1.0:
            breaks.append(b)
    # Below e^-40 / (2 s_max^2) the integrand is < e^-40 of its peak size (it grows like t);
    # above the last scale it decays at least like t^-(n/2) * t^-1 * t = t^-(n/2), n >= 2.
    edges = [breaks[0] - 40.0, *breaks, breaks[-1] + 80.0]
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        val, _ = integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-11, limit=200)
        total += val
    return float(scale * total)
