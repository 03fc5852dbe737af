r"""The linear theory of dataset bias and of other ensembles, measured (docs/theory.md, section 10).

Three experiments of the linear model alone (no flow, no data set): how accurate the
second-order prediction of the mismatched expected error is (``prediction-accuracy``), whether
the Gaussian theory carries over to other measurement ensembles (``ensembles``), and where the
invertible prior starts to beat the rank-k generator under dataset bias (``crossover``). Each cell
is a Monte-Carlo estimate (:func:`lininv.expected_error`) kept in the experiment's cell store, so
a rerun resumes; each cell's seed is hashed from the run's seed and the cell's own parameters.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from lininv._low_rank import LowRankPrior, generator_expected_error
from lininv._mismatch import crossover as find_crossover
from lininv._mismatch import make_truth
from lininv._montecarlo import expected_error
from lininv._prior import LinearInvertiblePrior
from lininv._progress import Progress, check_progress, progress_sink
from lininv._provenance import provenance
from lininv._random import param_seed
from lininv._spectra import make_spectrum
from lininv._table import Table
from lininv._theory import hmt_upper_bound, lower_bound, paper_upper_bound, predicted_error
from lininv._threads import single_blas_thread
from lininv._validation import check_int, check_real
from lininv.experiments._cells import cached, open_cells, require_keys
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult

__all__ = ["prediction_accuracy", "ensembles", "generator_crossover", "FAMILIES", "TRUTHS"]

#: Prior spectrum families of the accuracy table: slow and fast power laws and geometric decay,
#: a two-level cliff (s_i^2 = 1 for i <= n/8, 0.01 after), and a flat spectrum.
FAMILIES = ("power:0.5", "power:1", "power:2", "exp:0.97", "exp:0.9", "cliff", "flat")
#: Truths of the accuracy table: heavier and lighter tails than the prior's, in the prior's
#: basis (commuting covariances) and in a random one.
TRUTHS = ("power:0.5", "rotated:power:0.5", "power:1.5", "rotated:power:1.5")


def _family(name: str, n: int) -> np.ndarray:
    if name == "cliff":
        s2 = np.full(n, 0.01)
        s2[: max(1, n // 8)] = 1.0
        return np.sqrt(s2)
    return make_spectrum(name, n)


def _estimate_fields(est: Any) -> dict[str, Any]:
    lo, hi = est.ci
    return {
        "mc_mean": est.mean,
        "mc_stderr": est.stderr,
        "ci_low": lo,
        "ci_high": hi,
        "trials": est.trials,
        "converged": est.converged,
    }


@register(
    "prediction-accuracy",
    order=10,
    summary="the mismatched prediction against Monte Carlo, over spectra and truths",
    small={"sizes": (128,), "ms": (16,), "families": ("power:1", "exp:0.97"), "rtol": 1e-2},
)
@single_blas_thread
def prediction_accuracy(
    *,
    sizes: Any = (128, 256),
    ms: Any = (8, 32, 64),
    families: Any = FAMILIES,
    truths: Any = TRUTHS,
    rtol: float = 5e-3,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""The second-order prediction of the mismatched error against Monte Carlo.

    For each prior spectrum ``s`` (a diagonal prior; with Gaussian ``A`` only ``s`` and the
    truth's diagonal in the prior's basis matter), truth, ``n`` and ``m``: the Monte-Carlo
    :math:`E(m)` to relative standard error ``rtol``, the prediction
    (:func:`lininv.predicted_error` with ``truth``) and its relative error, the prior's stable
    rank :math:`\sum_i s_i^2/s_1^2`, and whether the cell lies in the regime where the
    deterministic equivalent is expected to be accurate (stable rank above ``m``).

    Returns
    -------
    ExperimentResult
        Rows ``family, truth, n, m, stable_rank, in_regime, predicted, mc_mean, mc_stderr,
        ci_low, ci_high, rel_error, trials, converged``; ``data["worst_in_regime"]`` the largest
        absolute relative error among the cells in the regime.
    """
    t0 = time.perf_counter()
    sizes = [check_int("sizes", v, low=2) for v in sizes]
    ms = [check_int("ms", v, low=1) for v in ms]
    families, truths = list(families), list(truths)
    rtol = check_real("rtol", rtol, low=0.0, low_open=True, high=1.0)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    params = {"sizes": sizes, "ms": ms, "families": families, "truths": truths, "rtol": rtol}
    params["seed"] = seed
    prov = provenance(seed=seed, command=command)
    cols = [
        "family", "truth", "n", "m", "stable_rank", "in_regime", "predicted", "mc_mean",
        "mc_stderr", "ci_low", "ci_high", "rel_error", "trials", "converged",
    ]  # fmt: skip
    table = Table(cols, title="Mismatched prediction against Monte Carlo", meta=prov)
    grid = [(f, t, n, m) for f in families for t in truths for n in sizes for m in ms if m < n]
    clock: list[float] = []
    keys = require_keys("predicted", "mc_mean", "mc_stderr")
    with (
        open_cells(output, "prediction-accuracy", params, provenance=prov, validate=keys) as store,
        progress_sink(progress, "prediction-accuracy", len(grid), "cell") as sink,
    ):
        for fam, spec, n, m in grid:
            s = _family(fam, n)
            truth_seed = param_seed("lininv.experiments.truth", seed, s, spec)

            def compute(s=s, spec=spec, m=m, truth_seed=truth_seed, fam=fam, n=n) -> dict:
                prior = LinearInvertiblePrior.from_singular_values(s)
                truth = make_truth(spec, s, seed=truth_seed)
                cell = param_seed("lininv.experiments.accuracy", seed, s, m, spec)
                est = expected_error(prior, m, truth=truth, rtol=rtol, rng=cell)
                return {
                    "predicted": predicted_error(prior, m, truth=truth),
                    **_estimate_fields(est),
                }

            v = cached(store, f"{fam}|{spec}|{n}|{m}", compute, clock)
            stable = float(np.sum(s**2) / s[0] ** 2)
            rel = (v["predicted"] - v["mc_mean"]) / v["mc_mean"]
            row = {"family": fam, "truth": spec, "n": n, "m": m, "stable_rank": stable}
            row.update(in_regime=bool(stable > m), predicted=v["predicted"], rel_error=rel)
            row.update({k: v[k] for k in ("mc_mean", "mc_stderr", "ci_low", "ci_high")})
            row.update(trials=v["trials"], converged=v["converged"])
            table.append(row)
            sink.update(label=f"{fam} {spec} n={n} m={m}", info=f"rel. error {rel:+.2%}")
    inside = [abs(r["rel_error"]) for r in table.rows if r["in_regime"]]
    data = {"worst_in_regime": max(inside) if inside else None}
    elapsed = time.perf_counter() - t0
    return ExperimentResult(
        "prediction-accuracy", table, params, data, {}, seconds=elapsed,
        compute_seconds=float(sum(clock)),
    )  # fmt: skip


ENSEMBLE_NAMES = ("gaussian", "haar", "rademacher", "dct", "mask")


@register(
    "ensembles",
    order=11,
    summary="E(m) for every measurement ensemble beside the Gaussian theory",
    small={"n": 32, "ms": (8,), "rtol": 1e-2},
)
@single_blas_thread
def ensembles(
    *,
    spectrum: str = "power:1",
    n: int = 64,
    ms: Any = (8, 16, 32, 48),
    noise_stds: Any = (0.0, 0.1),
    rtol: float = 5e-3,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""Universality: :math:`E(m)` for each ensemble and prior basis beside the Gaussian theory.

    The prior has the singular values ``spectrum`` and either the identity as its left singular
    vectors (``aligned``: a coordinate-aligned prior) or a Haar-random basis (``rotated``). For
    each ensemble (all normalised to :math:`E[A^TA] = I`), ``m`` and noise level: the
    Monte-Carlo :math:`E(m)`, the Gaussian theory's lower bound, prediction and upper bounds, and
    whether each bound holds beyond the confidence interval. The bounds are theorems for
    Gaussian (and, noiseless, Haar) ``A`` only; a failure elsewhere is a finding.

    Returns
    -------
    ExperimentResult
        Rows ``ensemble, basis, n, m, noise, mc_mean, mc_stderr, ci_low, ci_high, lower,
        predicted, rel_error, hmt_upper, paper_upper, lower_holds, hmt_holds, paper_holds,
        trials, converged``.
    """
    t0 = time.perf_counter()
    n = check_int("n", n, low=2)
    ms = [check_int("ms", v, low=1, high=n) for v in ms]
    noises = [check_real("noise_stds", v, low=0.0) for v in noise_stds]
    rtol = check_real("rtol", rtol, low=0.0, low_open=True, high=1.0)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    s = make_spectrum(spectrum, n)
    params = {"spectrum": spectrum, "n": n, "ms": ms, "noise_stds": noises, "rtol": rtol}
    params["seed"] = seed
    prov = provenance(seed=seed, command=command)
    priors = {
        "aligned": LinearInvertiblePrior.from_singular_values(s),
        "rotated": LinearInvertiblePrior.from_singular_values(
            s, rng=param_seed("lininv.experiments.basis", seed, s)
        ),
    }
    cols = [
        "ensemble", "basis", "n", "m", "noise", "mc_mean", "mc_stderr", "ci_low", "ci_high",
        "lower", "predicted", "rel_error", "hmt_upper", "paper_upper", "lower_holds", "hmt_holds",
        "paper_holds", "trials", "converged",
    ]  # fmt: skip
    table = Table(cols, title="E(m) by measurement ensemble beside the Gaussian theory", meta=prov)
    grid = [(e, b, m, x) for e in ENSEMBLE_NAMES for b in priors for m in ms for x in noises]
    clock: list[float] = []
    with (
        open_cells(output, "ensembles", params, provenance=prov, validate=require_keys("mc_mean")) as store,
        progress_sink(progress, "ensembles", len(grid), "cell") as sink,
    ):  # fmt: skip
        for ens, basis, m, noise in grid:
            prior = priors[basis]

            def compute(prior=prior, ens=ens, m=m, noise=noise, basis=basis) -> dict:
                cell = param_seed("lininv.experiments.ensembles", seed, s, m, noise, ens, basis)
                est = expected_error(prior, m, noise, ensemble=ens, rtol=rtol, rng=cell)
                return _estimate_fields(est)

            v = cached(store, f"{ens}|{basis}|{m}|{noise!r}", compute, clock)
            bounded = noise == 0.0 and m >= 2
            hmt = hmt_upper_bound(s, m).value if bounded else None
            paper = paper_upper_bound(s, m) if bounded else None
            pred = predicted_error(s, m, noise)
            lower = lower_bound(s, m)
            row = {"ensemble": ens, "basis": basis, "n": n, "m": m, "noise": noise}
            row.update({k: v[k] for k in ("mc_mean", "mc_stderr", "ci_low", "ci_high")})
            row.update(lower=lower, predicted=pred, rel_error=(pred - v["mc_mean"]) / v["mc_mean"])
            row.update(hmt_upper=hmt, paper_upper=paper, lower_holds=lower <= v["ci_high"])
            row["hmt_holds"] = None if hmt is None else hmt >= v["ci_low"]
            row["paper_holds"] = None if paper is None else paper >= v["ci_low"]
            row.update(trials=v["trials"], converged=v["converged"])
            table.append(row)
            sink.update(label=f"{ens} {basis} m={m} noise={noise:g}", info=f"{v['mc_mean']:.4g}")
    elapsed = time.perf_counter() - t0
    return ExperimentResult(
        "ensembles", table, params, {}, {}, seconds=elapsed, compute_seconds=float(sum(clock))
    )


@register(
    "crossover",
    order=12,
    summary="invertible prior vs rank-k generator under dataset bias: both curves and m*",
    small={"n": 48, "k": 6, "ms": (4, 10, 16, 32, 48), "rtol": 1e-2},
)
@single_blas_thread
def generator_crossover(
    *,
    prior_spectrum: str = "power:1",
    truth: str = "rotated:power:0.5",
    n: int = 128,
    k: int = 16,
    ms: Any = (4, 8, 12, 20, 24, 32, 48, 64, 96, 112, 128),
    rtol: float = 5e-3,
    seed: int = 0,
    output: Any = None,
    progress: Progress = False,
    command: str | None = None,
) -> ExperimentResult:
    r"""The paper's subtitle in the linear model: invertible prior vs rank-k generator, biased data.

    The invertible prior has singular values ``prior_spectrum``; the generator is its rank-``k``
    truncation (the best linear generator for the prior's own data); the signals come from
    ``truth`` (:func:`lininv._mismatch.make_truth`, default a heavier-tailed spectrum in a random
    basis: data the prior did not expect). Per ``m``, noiseless Gaussian measurements: the
    invertible prior's Monte-Carlo error and prediction, the generator's Monte-Carlo error and,
    for ``m >= k + 2``, its exact error :math:`R(m-1)/(m-k-1)`, and the representation error
    ``R``. ``data["m_star"]`` is the crossover of :func:`lininv.crossover` (from which ``m`` on
    the prediction stays below the generator's exact error, or below ``R`` where that is not
    defined: certified, so it cannot come before ``k + 2`` unless the prediction beats ``R``);
    ``data["m_star_mc"]`` the smallest ``m`` from which on the Monte-Carlo intervals separate in
    the invertible prior's favour (the generator's error below ``k + 2`` is only known by Monte
    Carlo).

    Returns
    -------
    ExperimentResult
        Rows ``m, inv_mean, inv_lo, inv_hi, inv_predicted, inv_lower, gen_mean, gen_lo, gen_hi,
        gen_exact, representation_error``.
    """
    t0 = time.perf_counter()
    n = check_int("n", n, low=4)
    k = check_int("k", k, low=1, high=n - 1)
    ms = [check_int("ms", v, low=1, high=n) for v in ms]
    if k in ms or k + 1 in ms:
        raise ValueError(
            f"ms must not contain k = {k} or k + 1 = {k + 1}: the generator's expected error is "
            "infinite there"
        )
    rtol = check_real("rtol", rtol, low=0.0, low_open=True, high=1.0)
    seed = check_int("seed", seed, low=0)
    progress = check_progress(progress)
    s = make_spectrum(prior_spectrum, n)
    params = {"prior_spectrum": prior_spectrum, "truth": truth, "n": n, "k": k, "ms": ms}
    params.update(rtol=rtol, seed=seed)
    prov = provenance(seed=seed, command=command)
    prior = LinearInvertiblePrior.from_singular_values(s)
    gen = LowRankPrior.from_prior(prior, k)
    data_truth = make_truth(truth, s, seed=param_seed("lininv.experiments.truth", seed, s, truth))
    reference = prior if data_truth is None else data_truth
    R = gen.expected_representation_error(reference)
    cols = [
        "m", "inv_mean", "inv_lo", "inv_hi", "inv_predicted", "inv_lower", "gen_mean", "gen_lo",
        "gen_hi", "gen_exact", "representation_error",
    ]  # fmt: skip
    table = Table(cols, title="Invertible prior vs rank-k generator under dataset bias", meta=prov)
    clock: list[float] = []
    keys = require_keys("inv", "gen")
    with (
        open_cells(output, "crossover", params, provenance=prov, validate=keys) as store,
        progress_sink(progress, "crossover", len(ms), "cell") as sink,
    ):
        for m in ms:

            def compute(m=m) -> dict:
                cell = param_seed("lininv.experiments.crossover", seed, s, m)
                if m == n:  # square A: every signal recovered exactly
                    zero = {"mc_mean": 0.0, "mc_stderr": 0.0, "ci_low": 0.0, "ci_high": 0.0}
                    inv_fields = {**zero, "trials": 0, "converged": True}
                else:
                    inv = expected_error(prior, m, truth=data_truth, rtol=rtol, rng=cell)
                    inv_fields = _estimate_fields(inv)
                g = expected_error(gen, m, truth=reference, rtol=rtol, rng=param_seed("g", cell))
                return {"inv": inv_fields, "gen": _estimate_fields(g)}

            v = cached(store, f"m={m}", compute, clock)
            inv, g = v["inv"], v["gen"]
            row = {"m": m, "inv_mean": inv["mc_mean"], "inv_lo": inv["ci_low"]}
            row.update(
                inv_hi=inv["ci_high"], inv_predicted=predicted_error(prior, m, truth=data_truth)
            )
            row["inv_lower"] = lower_bound(s, m)  # the matched Eckart-Young bound, for reference
            row.update(gen_mean=g["mc_mean"], gen_lo=g["ci_low"], gen_hi=g["ci_high"])
            exact = generator_expected_error(gen, m, truth=reference) if m >= k + 2 else None
            row.update(gen_exact=exact, representation_error=R)
            table.append(row)
            sink.update(label=f"m={m}", info=f"{inv['mc_mean']:.4g} vs {g['mc_mean']:.4g}")
    cross = find_crossover(prior, gen, data_truth, ms=ms)
    rows = sorted(table.rows, key=lambda r: r["m"])
    apart = [r["inv_hi"] < r["gen_lo"] for r in rows]  # the intervals separate, invertible below
    last_not = max((i for i, a in enumerate(apart) if not a), default=-1)
    star_mc = rows[last_not + 1]["m"] if last_not + 1 < len(rows) else None
    data = {"m_star": cross.m, "m_star_mc": star_mc, "R": R}
    elapsed = time.perf_counter() - t0
    return ExperimentResult(
        "crossover", table, params, data, {}, seconds=elapsed, compute_seconds=float(sum(clock))
    )
