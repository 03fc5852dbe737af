r"""Step 6: denoising (``A = I``): the closed-form expected error and the optimal ``gamma``.

Latent proxy :math:`\min_z\|Gz - y\|^2 + \gamma\|z\|^2` gives :math:`\Sigma(\Sigma + \gamma I)^{-1}y`;
the signal-space MLE form :math:`\min_x\|x - y\|^2 - \gamma\log p_G(x)` gives
:math:`\Sigma(\Sigma + \tfrac\gamma2 I)^{-1}y`. For :math:`\hat x = \Sigma(\Sigma + gI)^{-1}y`,

.. math:: E\|\hat x - x_0\|^2 = \sum_i \frac{g^2 s_i^2 + s_i^4\sigma^2}{(s_i^2 + g)^2},

minimised at :math:`g = \sigma^2` (the Wiener filter) with value
:math:`\sum_i \sigma^2 s_i^2/(s_i^2+\sigma^2)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import optimize

import lininv
from lininv.validation import as_spectrum, check_real, describe
from proofs_numeric import _spectra as sp
from proofs_numeric._common import check_callable, check_common, scaled
from proofs_numeric._result import Evidence, StepResult
from proofs_numeric._rules import (
    EPS,
    Z_SE,
    exact_equality,
    exact_inequality,
    fp_tol,
    mc_equality,
    mc_summary,
)

__all__ = [
    "check_denoising_error",
    "check_optimal_gamma",
    "denoising_closed_form",
    "effective_g",
]


def effective_g(gamma: float, formulation: str) -> float:
    """The shrinkage ``g`` of each formulation: ``gamma`` (latent) or ``gamma / 2`` (signal)."""
    return gamma if formulation == "latent" else gamma / 2.0


def denoising_closed_form(s: np.ndarray, noise_std: float, gamma: float, formulation: str) -> float:
    r"""docs/theory.md's closed form, written independently of ``lininv.denoising_error``."""
    g = effective_g(gamma, formulation)
    s2 = np.asarray(s, dtype=float) ** 2
    return math.fsum((g * g * s2 + s2 * s2 * noise_std**2) / (s2 + g) ** 2)


def _default_spectra() -> list[tuple[str, np.ndarray]]:
    return [
        ("power a=1, n=16", sp.power(16)),
        ("geometric cond=1e3, n=12", sp.geometric_cond(12, 1e3)),
    ]


def _check_spectra(spectra: Any) -> list[tuple[str, np.ndarray]]:
    if isinstance(spectra, (str, bytes)) or not isinstance(spectra, Sequence) or not spectra:
        raise TypeError(
            f"spectra must be a non-empty sequence of (label, s); got {describe(spectra)}"
        )
    out = []
    for i, item in enumerate(spectra):
        if not isinstance(item, Sequence) or len(item) != 2:
            raise TypeError(f"spectra[{i}] must be a (label, s) pair; got {describe(item)}")
        out.append((str(item[0]), as_spectrum(f"spectra[{i}] s", item[1])))
    return out


def check_denoising_error(
    *,
    spectra: Sequence[tuple[str, Any]] | None = None,
    noise_std: float = 0.3,
    gammas: Sequence[float] = (0.02, 0.5),
    closed_form: Callable[[np.ndarray, float, float, str], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 6a: the closed-form denoising error, against Monte Carlo with ``lininv.denoise``.

    For each spectrum (random ``U, V``), each ``gamma`` and both formulations, signals are drawn
    from the prior, noise added and ``lininv.denoise`` applied; the mean squared error must lie
    within ``z`` standard errors of ``closed_form(s, sigma, gamma, formulation)``.
    ``lininv.denoising_error`` must equal the independent implementation exactly.

    Parameters
    ----------
    spectra : sequence of (label, s), optional
    noise_std : float, default=0.3
    gammas : sequence of float, default=(0.02, 0.5)
    closed_form : callable (s, sigma, gamma, formulation) -> float, optional
        Defaults to :func:`denoising_closed_form`. Forgetting the factor 1/2 of the signal
        formulation (``g = gamma`` for both) is false and fails.
    precision : float, default=1.0
        Multiplies the signals per setting (base 20000).
    z : float, default=5.0
    rng : None, int, SeedSequence or Generator

    Returns
    -------
    StepResult

    Examples
    --------
    >>> from proofs_numeric import check_denoising_error
    >>> check_denoising_error(spectra=[("p", [1.0, 0.5])], precision=0.05, rng=0).passed
    True
    """
    precision, z, seed, gen = check_common(precision, z, rng)
    spectra = _check_spectra(_default_spectra() if spectra is None else spectra)
    noise_std = check_real("noise_std", noise_std, low=0.0)
    gammas = [check_real(f"gammas[{i}]", g, low=0.0) for i, g in enumerate(gammas)]
    closed_form = check_callable("closed_form", closed_form, denoising_closed_form)
    samples = scaled(20000, precision)
    evidence: list[Evidence] = []
    for label, s in spectra:
        n = s.size
        prior = lininv.LinearInvertiblePrior.from_singular_values(s, rng=gen)
        for gamma in gammas:
            for formulation in ("latent", "signal"):
                claimed = float(closed_form(s, noise_std, gamma, formulation))
                x0 = prior.sample(samples, rng=gen)
                y = x0 + noise_std * gen.standard_normal(x0.shape)
                xhat = lininv.denoise(prior, y, gamma, formulation=formulation)
                mean, se, t = mc_summary(np.sum((xhat - x0) ** 2, axis=1))
                tag = f"{label}, gamma={gamma:g}, {formulation}"
                evidence.append(mc_equality(f"{tag}: Monte Carlo", mean, se, t, claimed, z=z))
                core = lininv.denoising_error(s, noise_std, gamma, formulation=formulation)
                evidence.append(
                    exact_equality(
                        f"{tag}: lininv.denoising_error",
                        core,
                        claimed,
                        fp_tol(n, claimed),
                        note="tolerance 8 n eps relative (n positive terms)",
                    )
                )
    return StepResult(
        step="6a",
        name="denoising_error",
        title="Denoising closed form",
        statement=(
            "The linear denoiser Sigma (Sigma + g I)^{-1} y, with g = gamma (latent proxy) or "
            "gamma / 2 (signal-space MLE form), has the stated expected error."
        ),
        formula="E ||x_hat - x0||^2 = sum_i (g^2 s_i^2 + s_i^4 sigma^2) / (s_i^2 + g)^2",
        method=f"{samples} signals per setting, pass if within {z:g} SE; core formula within 8 n eps.",
        evidence=tuple(evidence),
        seed=seed,
    )


def _optimal_gamma(noise_std: float, formulation: str) -> float:
    return lininv.optimal_denoising_gamma(noise_std, formulation=formulation)


def check_optimal_gamma(
    *,
    spectra: Sequence[tuple[str, Any]] | None = None,
    noise_stds: Sequence[float] = (0.1, 0.7),
    optimum: Callable[[float, str], float] | None = None,
    precision: float = 1.0,
    z: float = Z_SE,
    rng: Any = None,
) -> StepResult:
    r"""Step 6b: ``gamma = sigma^2`` (latent) / ``2 sigma^2`` (signal) minimises the error.

    The claimed optimum must do at least as well as everything a numerical search finds: a grid
    of 2001 values of :math:`\log\gamma` over 24 decades around :math:`\sigma^2` and a bounded
    Brent minimisation of the closed form (:func:`denoising_closed_form`) in :math:`\log\gamma`.
    The minimum must equal the Wiener error :math:`\sum_i\sigma^2 s_i^2/(s_i^2+\sigma^2)`.

    Parameters
    ----------
    spectra : sequence of (label, s), optional
    noise_stds : sequence of float, default=(0.1, 0.7)
    optimum : callable (sigma, formulation) -> gamma, optional
        Defaults to ``lininv.optimal_denoising_gamma``. ``lambda sigma, f: sigma**2`` (ignoring
        the signal formulation's factor 2) is false and fails.
    precision, z
        Unused (deterministic).
    rng
        Unused.

    Returns
    -------
    StepResult

    Notes
    -----
    Optimality is an inequality, :math:`f(\gamma^*) \le \min f(\text{found})`, with rounding
    allowance ``8 n eps f`` (sums of ``n`` positive terms); it fails when the search finds a
    strictly better ``gamma`` by more than rounding.

    Examples
    --------
    >>> from proofs_numeric import check_optimal_gamma
    >>> check_optimal_gamma(spectra=[("p", [1.0, 0.5])]).passed
    True
    """
    precision, z, seed, _ = check_common(precision, z, rng)
    spectra = _check_spectra(_default_spectra() if spectra is None else spectra)
    noise_stds = [
        check_real(f"noise_stds[{i}]", v, low=0.0, low_open=True) for i, v in enumerate(noise_stds)
    ]
    optimum = check_callable("optimum", optimum, _optimal_gamma)
    evidence: list[Evidence] = []
    for label, s in spectra:
        n = s.size
        for sigma in noise_stds:
            wiener = math.fsum(sigma**2 * s**2 / (s**2 + sigma**2))
            for formulation in ("latent", "signal"):

                def f(
                    log_gamma: float,
                    s: np.ndarray = s,
                    sigma: float = sigma,
                    formulation: str = formulation,
                ) -> float:
                    return denoising_closed_form(s, sigma, math.exp(log_gamma), formulation)

                gamma_claim = float(optimum(sigma, formulation))
                f_claim = denoising_closed_form(s, sigma, gamma_claim, formulation)
                centre = math.log(sigma**2)
                grid = np.linspace(centre - 12 * math.log(10), centre + 12 * math.log(10), 2001)
                f_grid = np.array([f(u) for u in grid])
                j = int(np.argmin(f_grid))
                lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
                res = optimize.minimize_scalar(
                    f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
                )
                f_found = min(float(f_grid[j]), float(res.fun))
                g_found = math.exp(float(res.x) if res.fun <= f_grid[j] else float(grid[j]))
                tag = f"{label}, sigma={sigma:g}, {formulation}"
                evidence.append(
                    exact_inequality(
                        f"{tag}: f(claimed gamma) <= min found",
                        f_claim,
                        f_found,
                        "<=",
                        8 * n * EPS * f_found,
                        note=f"claimed gamma {gamma_claim:.6g}, search found {g_found:.6g}",
                    )
                )
                evidence.append(
                    exact_equality(
                        f"{tag}: minimum = Wiener error",
                        f_claim,
                        wiener,
                        fp_tol(n, wiener),
                        note="tolerance 8 n eps relative",
                    )
                )
    return StepResult(
        step="6b",
        name="optimal_gamma",
        title="Optimal denoising gamma",
        statement=(
            "The expected denoising error is minimised at g = sigma^2, i.e. gamma = sigma^2 "
            "(latent) or 2 sigma^2 (signal), with the Wiener error as minimum."
        ),
        formula="argmin_gamma E||x_hat - x0||^2 = sigma^2 (latent), 2 sigma^2 (signal); min = sum sigma^2 s_i^2/(s_i^2 + sigma^2)",
        method=(
            "Grid over 24 decades + bounded Brent: no gamma may beat the claim by more than "
            "8 n eps relative; Wiener value within 8 n eps."
        ),
        evidence=tuple(evidence),
        seed=None,
    )
