r"""Figures for the proof walk-through (``notebooks/proof_walkthrough.ipynb``).

Every function takes ``ax=None`` (a new figure is made if None), returns the Axes and imports
matplotlib lazily. Functions that need random draws take ``rng``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import lininv
from lininv.validation import as_spectrum, check_int, check_real, check_rng
from proofs_numeric._kernels import (
    hmt_terms,
    inverse_wishart_trace_is,
    pinv_frobenius_sq,
    residual_errors,
)
from proofs_numeric._result import StepResult
from proofs_numeric._search import SearchResult

__all__ = [
    "plot_evidence",
    "plot_lower_bound_draws",
    "plot_hmt_draws",
    "plot_inverse_wishart_mean",
    "plot_descent",
    "plot_denoising_curve",
    "plot_equivalent",
    "plot_tightness",
]


def _histogram_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """``bins + 1`` increasing finite edges spanning ``values`` (finite, non-empty).

    ``Axes.hist`` asked for equal bins over a range of a few ulps (the per-draw errors of a flat
    spectrum are equal up to rounding) raises "Too many bins for data range"; such data are drawn
    in a window of +-5% around their value (+-0.5 at zero), as matplotlib does for a singular
    axis. The same rule as lininv's figures, which keep theirs private.
    """
    lo, hi = float(np.min(values)), float(np.max(values))
    t = np.linspace(0.0, 1.0, bins + 1)
    edges = lo * (1.0 - t) + hi * t
    if np.all(np.diff(edges) > 0):
        return edges
    mid = 0.5 * lo + 0.5 * hi
    half = 0.05 * abs(mid) if abs(mid) >= np.finfo(float).tiny else 0.5
    return min(lo, mid - half) * (1.0 - t) + max(hi, mid + half) * t


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    return ax


def plot_evidence(result: StepResult, ax: Any = None) -> Any:
    """How much room each case of a step had: ``margin / tolerance`` (>= 0 passes).

    Exact and Monte-Carlo cases are on one scale: 1 means "no discrepancy at all", 0 means "at
    the edge of the tolerance", negative is a failure. Inequalities with slack far beyond the
    tolerance are clipped at 10.
    """
    if not isinstance(result, StepResult):
        raise TypeError(f"result must be a StepResult; got {type(result).__name__}")
    ax = _axes(ax)
    vals = []
    for e in result.evidence:
        scale = e.tolerance if e.tolerance > 0 else max(abs(e.claimed), 1e-300)
        vals.append(float(np.clip(e.margin / scale, -10, 10)))
    y = np.arange(len(vals))
    colors = ["tab:green" if e.passed else "tab:red" for e in result.evidence]
    ax.barh(y, vals, color=colors)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_yticks(y, [e.label[:60] for e in result.evidence], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("margin / tolerance (>= 0 passes; clipped at +-10)")
    ax.set_title(f"Step {result.step}: {result.title} ({'pass' if result.passed else 'FAIL'})")
    return ax


def plot_lower_bound_draws(
    s: Any, m: int, *, draws: int = 2000, rng: Any = None, ax: Any = None
) -> Any:
    r"""Histogram of per-draw errors :math:`\|(I-P_Y)S\|_F^2` against the lower bound (step 3).

    The bound :math:`\sum_{i>m}s_i^2` is a vertical line: no draw falls to its left. Also marks
    the mean (:math:`E(m)`) and :math:`\lambda m`.
    """
    s = as_spectrum("s", s)
    m = check_int("m", m, low=1, high=s.size - 1)
    draws = check_int("draws", draws, low=2)
    gen = check_rng(rng)
    errs = residual_errors(s, gen.standard_normal((draws, s.size, m)))
    ax = _axes(ax)
    lb = lininv.lower_bound(s, m)
    # explicit edges: numpy refuses 50 equal bins over draws equal up to rounding (flat spectra)
    edges = _histogram_edges(errs, 50)
    ax.hist(errs, bins=edges, color="tab:blue", alpha=0.7, label=f"{draws} draws of A")
    ax.axvline(lb, color="tab:red", lw=2, label=r"lower bound $\sum_{i>m}s_i^2$")
    ax.axvline(errs.mean(), color="k", ls="--", label="mean = E(m) (estimate)")
    ax.axvline(lininv.predicted_error(s, m), color="tab:orange", ls=":", label=r"$\lambda m$")
    ax.set_xlabel(r"per-draw error $\|(I-P_Y)S\|_F^2$")
    ax.set_ylabel("draws")
    ax.legend(fontsize=7)
    return ax


def plot_hmt_draws(
    s: Any, m: int, k: int, *, draws: int = 500, rng: Any = None, ax: Any = None
) -> Any:
    r"""Per-draw error against HMT's deterministic bound at split ``k`` (step 4a): all points lie
    below the diagonal."""
    s = as_spectrum("s", s)
    m = check_int("m", m, low=3, high=s.size)
    k = check_int("k", k, low=1, high=m - 2)
    gen = check_rng(rng)
    omega = gen.standard_normal((check_int("draws", draws, low=2), s.size, m))
    errs = residual_errors(s, omega)
    tail, cross, _ = hmt_terms(s, omega, k)
    rhs = tail + cross
    ax = _axes(ax)
    ax.loglog(rhs, errs, ".", ms=3, alpha=0.6)
    lim = [min(errs.min(), rhs.min()), max(errs.max(), rhs.max())]
    ax.plot(lim, lim, "k-", lw=0.8, label="equality")
    ax.set_xlabel(r"bound $\|S_2\|_F^2 + \|S_2\Omega_2\Omega_1^+\|_F^2$")
    ax.set_ylabel(r"error $\|(I-P_Y)S\|_F^2$")
    ax.set_title(f"HMT deterministic bound, k = {k}, p = {m - k}")
    ax.legend(fontsize=7)
    return ax


def plot_inverse_wishart_mean(
    k: int, p: int, *, draws: int = 20000, rng: Any = None, ax: Any = None
) -> Any:
    r"""Running means of :math:`\|\Omega_1^+\|_F^2` against :math:`k/(p-1)` (step 4c).

    Plain Monte Carlo (infinite variance when ``p < 4``: jumps that never settle into a CLT) and,
    for ``p < 4``, the importance-sampling estimator used by the check (finite variance).
    """
    k = check_int("k", k, low=1)
    p = check_int("p", p, low=2)
    draws = check_int("draws", draws, low=2)
    gen = check_rng(rng)
    t = np.arange(1, draws + 1)
    ax = _axes(ax)
    plain = pinv_frobenius_sq(gen.standard_normal((draws, k, k + p)))
    ax.semilogx(t, np.cumsum(plain) / t, label="plain Monte Carlo")
    if p < 4:
        iw = inverse_wishart_trace_is(gen.standard_normal((draws, k, k + p - 2)))
        ax.semilogx(t, np.cumsum(iw) / t, label="importance sampling (finite variance)")
    ax.axhline(k / (p - 1), color="k", ls="--", label=r"$k/(p-1)$")
    ax.set_xlabel("draws")
    ax.set_ylabel("running mean")
    ax.set_title(rf"$E\|\Omega_1^+\|_F^2$, k = {k}, p = {p}")
    ax.legend(fontsize=7)
    return ax


def plot_descent(
    s: Any, m: int, *, init_norm: float = 30.0, steps: int = 400, rng: Any = None, ax: Any = None
) -> Any:
    r"""Distance of latent gradient descent to :math:`\hat z + (I-P)z_{\text{init}}` and to the MLE
    latent :math:`\hat z`, with the contraction bound :math:`\rho^t` (step 5b)."""
    from proofs_numeric._descent import descent_limit

    s = as_spectrum("s", s)
    m = check_int("m", m, low=1, high=s.size - 1)
    init_norm = check_real("init_norm", init_norm, low=0.0)
    steps = check_int("steps", steps, low=1)
    gen = check_rng(rng)
    prior = lininv.LinearInvertiblePrior.from_singular_values(s, rng=gen)
    A = lininv.gaussian_measurements(m, s.size, rng=gen)
    y = A @ prior.sample(1, rng=gen)[0]
    d = gen.standard_normal(s.size)
    z0 = init_norm * d / np.linalg.norm(d)
    limit = descent_limit(prior, A, y, z0)
    zhat = descent_limit(prior, A, y, 0 * z0)
    dist_lim, dist_mle = [], []
    for t in range(0, steps + 1, max(1, steps // 100)):
        z = lininv.latent_gradient_descent(prior, A, y, z0, t).z
        dist_lim.append((t, np.linalg.norm(z - limit)))
        dist_mle.append((t, np.linalg.norm(z - zhat)))
    sv = np.linalg.svd(A @ prior.G, compute_uv=False)
    rho = 1.0 - (sv[-1] / sv[0]) ** 2
    ax = _axes(ax)
    tl, dl = np.array(dist_lim).T
    ax.semilogy(tl, dl, label=r"$\|z_t - (\hat z + (I-P)z_{init})\|$")
    ax.semilogy(tl, np.array(dist_mle)[:, 1], label=r"$\|z_t - \hat z\|$ (MLE latent)")
    ax.semilogy(
        tl,
        rho**tl * np.linalg.norm(z0 - limit),
        "k--",
        label=r"bound $\rho^t\|z_{init} - z_\infty\|$",
    )
    ax.set_xlabel("gradient steps t")
    ax.set_title(rf"latent gradient descent, $\|z_{{init}}\|$ = {init_norm:g}")
    ax.legend(fontsize=7)
    return ax


def plot_denoising_curve(s: Any, noise_std: float, *, ax: Any = None) -> Any:
    r"""Closed-form denoising error against ``gamma`` for both formulations, optima marked (step 6)."""
    s = as_spectrum("s", s)
    noise_std = check_real("noise_std", noise_std, low=0.0, low_open=True)
    gammas = np.geomspace(noise_std**2 * 1e-3, noise_std**2 * 1e3, 400)
    ax = _axes(ax)
    for form, style in (("latent", "-"), ("signal", "--")):
        err = [lininv.denoising_error(s, noise_std, g, formulation=form) for g in gammas]
        g_opt = lininv.optimal_denoising_gamma(noise_std, formulation=form)
        line = ax.semilogx(gammas, err, style, label=f"{form}")[0]
        ax.plot(
            g_opt,
            lininv.denoising_error(s, noise_std, g_opt, formulation=form),
            "o",
            color=line.get_color(),
            label=f"optimum {form}: gamma = {g_opt:.3g}",
        )
    ax.axhline(
        float(np.sum(noise_std**2 * s**2 / (s**2 + noise_std**2))),
        color="k",
        lw=0.8,
        label="Wiener error",
    )
    ax.set_xlabel("gamma")
    ax.set_ylabel(r"$E\|\hat x - x_0\|^2$")
    ax.legend(fontsize=7)
    return ax


def plot_equivalent(result: StepResult, ax: Any = None) -> Any:
    """Relative error of the deterministic equivalent, with 95% CIs, per row of step 7's table."""
    if not isinstance(result, StepResult) or result.table is None:
        raise TypeError("result must be the StepResult of check_deterministic_equivalent")
    cols = result.table.columns
    rows = [dict(zip(cols, r, strict=True)) for r in result.table.rows]
    ax = _axes(ax)
    y = np.arange(len(rows))
    rel = np.array([r["pred/E - 1"] for r in rows])
    lo = np.array([r["95% CI lo"] for r in rows])
    hi = np.array([r["95% CI hi"] if r["95% CI hi"] is not None else r["pred/E - 1"] for r in rows])
    colors = ["tab:blue" if r["sigma"] == 0 else "tab:orange" for r in rows]
    ax.errorbar(rel, y, xerr=[rel - lo, hi - rel], fmt="none", ecolor="gray")
    ax.scatter(rel, y, c=colors, s=12, zorder=3)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_yticks(
        y, [f"{r['spectrum']} n={r['n']} m={r['m']} s={r['sigma']:g}" for r in rows], fontsize=6
    )
    ax.invert_yaxis()
    ax.set_xlabel("prediction / Monte Carlo - 1 (blue: noiseless, orange: sigma > 0)")
    return ax


def plot_tightness(results: Sequence[SearchResult], ax: Any = None) -> Any:
    """Fresh ratios (with 95% CIs) of tightness-search results, one bar per result."""
    results = list(results)
    if not results or not all(isinstance(r, SearchResult) for r in results):
        raise TypeError("results must be a non-empty sequence of SearchResult")
    ax = _axes(ax)
    y = np.arange(len(results))
    ratio = np.array([r.ratio for r in results])
    err = np.array([[r.ratio - r.ci[0], r.ci[1] - r.ratio] for r in results]).T
    ax.errorbar(ratio, y, xerr=err, fmt="o", ms=4)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(
        y, [f"{r.target} {r.goal} {r.family} n={r.n} m={r.m}" for r in results], fontsize=7
    )
    ax.invert_yaxis()
    ax.set_xlabel("E(m) / bound (fresh estimate, 95% CI)")
    return ax
