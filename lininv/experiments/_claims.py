r"""The paper's qualitative claims, measured: one row per claim, protocol and setting.

Computed from the saved results of the other experiments (both protocols), never from new
solves: each row names the file and cell it comes from and the command that made that file.
Effects are in the protocol's metric: squared error :math:`\|\hat x - x_0\|^2` under ``lininv``
(negative favours the flow), PSNR in dB under ``paper`` (positive favours the flow). Confidence
intervals are 95%, paired over the same test images: Student-t for mean differences, a
percentile bootstrap over images (2000 resamples, seeded) for the measurement factor, which is
:func:`lininv.experiments.measurement_factor` at equal mean squared error under both protocols.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lininv._provenance import provenance
from lininv._random import stream
from lininv._stats import mean_ci
from lininv._table import Table
from lininv._validation import check_int
from lininv.experiments._factor import _series_64, _series_784, measurement_factor
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult, load_result

__all__ = ["claims", "claims_28", "CLAIM_COLUMNS"]

CLAIM_COLUMNS = [
    "claim",
    "protocol",
    "setting",
    "metric",
    "effect",
    "lo",
    "hi",
    "reproduced",
    "source",
    "command",
]

#: Bootstrap resamples of the measurement factor's CI.
BOOTSTRAP = 2000

#: Named stream of the bootstrap (``stream(seed, CLAIMS_STREAM, protocol index)``).
CLAIMS_STREAM = 60


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    return mean_ci(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))


def _claims_table(
    folder: Any, output: Any, seed: int, command: str | None, scale: str
) -> tuple[Any, Table, list[str], Callable[[str, str], ExperimentResult | None]]:
    """Where the results are, an empty claims table, the missing list and a loader filling it."""
    where = folder if folder is not None else output
    if where is None:
        raise ValueError("folder (or output) must name where the experiments' results are saved")
    title = f"The paper's claims{scale}, measured"
    table = Table(CLAIM_COLUMNS, title=title, meta=provenance(seed=seed, command=command))
    missing: list[str] = []

    def load(name: str, proto: str) -> ExperimentResult | None:
        try:
            return load_result(where, name, proto)
        except ValueError:
            missing.append(f"{name} ({proto})")
            return None

    return where, table, missing, load


def _favours_flow(lo: float, hi: float, metric: str) -> bool:
    """Flow better beyond the CI: error difference below 0, PSNR difference above 0."""
    return hi < 0 if metric == "mse" else lo > 0


def _recovery_rows(result: ExperimentResult, name: str, claim: str, other: str) -> list[dict]:
    """Flow vs ``other`` at every m of a compressed-sensing-like result."""
    d = result.data
    metric = "mse" if result.protocol == "lininv" else "psnr"
    key = "errors" if metric == "mse" else "psnr"
    if other not in d.get(key, {}):
        return []
    rows = []
    for i, m in enumerate(d["ms"]):
        flow, oth = np.asarray(d[key]["flow"][i]), np.asarray(d[key][other][i])
        mean, lo, hi = _paired(flow, oth)
        rows.append(
            {
                "claim": claim,
                "protocol": result.protocol,
                "setting": f"m = {m}",
                "metric": f"{metric}: flow - {other}",
                "effect": mean,
                "lo": lo,
                "hi": hi,
                "reproduced": _favours_flow(lo, hi, metric),
                "source": f"{result.stem}.json: data.{key}.flow / .{other}, m = {m} "
                f"({result.stem}.csv row m = {m})",
                "command": result.provenance.get("command", ""),
            }
        )
    return rows


def _factor_rows(result: ExperimentResult, seed: int) -> list[dict]:
    """Lasso's measurement factor at equal mean squared error (under either protocol)."""
    d = result.data
    gen = stream(seed, CLAIMS_STREAM, 0 if result.protocol == "lininv" else 1)
    ms = np.asarray(d["ms"], dtype=float)
    f = measurement_factor(
        ms,
        np.asarray(d["errors"]["flow"]),
        np.asarray(d["errors"]["lasso"]),
        n_boot=BOOTSTRAP,
        rng=gen,
    )
    rows = []
    for i, m in enumerate(d["ms"]):
        if m == d["ms"][-1]:
            # the grid's last m: Lasso cannot be seen to match anywhere beyond it, so the factor
            # is only known to be >= 1, which says nothing about the claim
            continue
        note = {
            ">": " (censored: Lasso never matches)",
            "<": " (Lasso matches at the grid's smallest m: an upper bound)",
        }
        rows.append(
            {
                "claim": "Lasso-DCT needs several times the flow's measurements for equal error",
                "protocol": result.protocol,
                "setting": f"flow at m = {m}" + note.get(str(f.bound[i]), ""),
                "metric": "measurement factor m_lasso / m (mse, log-log interpolated)",
                "effect": float(f.factor[i]),
                "lo": float(f.lo[i]),
                "hi": float(f.hi[i]),
                "reproduced": bool(f.lo[i] > 1.0),
                "source": f"{result.stem}.json: data.errors.flow / .lasso over m "
                f"({result.stem}.csv columns flow_mean, lasso_mean)",
                "command": result.provenance.get("command", ""),
            }
        )
    return rows


def _bm3d_rows(result: ExperimentResult) -> list[dict]:
    rows = []
    for sigma, v in result.data.get("per_image", {}).items():
        if "flow_psnr" not in v:
            continue
        mean, lo, hi = _paired(v["flow_psnr"], v["bm3d_psnr"])
        rows.append(
            {
                "claim": "the flow prior denoises better than BM3D",
                "protocol": result.protocol,
                "setting": f"sigma = {sigma}, flow at its best gamma = {v['gamma']:g} (on test)",
                "metric": "psnr: flow - BM3D",
                "effect": mean,
                "lo": lo,
                "hi": hi,
                "reproduced": lo > 0,
                "source": f"{result.stem}.json: data.per_image[{sigma}] ({result.stem}.csv rows "
                f"noise_std = {sigma}, columns flow_psnr, bm3d_psnr)",
                "command": result.provenance.get("command", ""),
            }
        )
    return rows


def _init_rows(result: ExperimentResult) -> list[dict]:
    d = result.data.get("per_image", {})
    metric = "mse" if result.protocol == "lininv" else "psnr"
    key = "errors" if metric == "mse" else "psnr"
    norms = result.params.get("norms", [])
    if not norms or len(norms) < 2:
        return []
    last = len(norms) - 1
    rows = []
    for label in ("0", "best"):
        a, b = d.get(f"fixed_norm-{last}-gamma-{label}"), d.get(f"fixed_norm-0-gamma-{label}")
        if a is None or b is None:
            continue
        mean, lo, hi = _paired(a[key], b[key])
        worse = lo > 0 if metric == "mse" else hi < 0
        claim = (
            "with gamma = 0, a start of larger norm (lower likelihood) recovers worse"
            if label == "0"
            else "with the chosen gamma > 0, the start's norm matters less"
        )
        rows.append(
            {
                "claim": claim,
                "protocol": result.protocol,
                "setting": f"m = {result.params.get('m')}, ||z_init|| = {norms[-1]:g} vs 0, "
                f"gamma = {label}",
                "metric": f"{metric}: start of norm {norms[-1]:g} - start 0",
                "effect": mean,
                "lo": lo,
                "hi": hi,
                "reproduced": worse if label == "0" else bool(lo <= 0 <= hi),
                "source": f"{result.stem}.json: data.per_image (fixed_norm-{last} and "
                f"fixed_norm-0, gamma {label}) ({result.stem}.csv rows init = fixed_norm, "
                f"init_norm {norms[-1]:g} and 0)",
                "command": result.provenance.get("command", ""),
            }
        )
    return rows


@register(
    "claims",
    order=100,
    summary="the paper's claims measured from the other experiments' saved results (run last)",
)
def claims(
    *,
    folder: Any = None,
    seed: int = 0,
    output: Any = None,
    progress: Any = False,
    command: str | None = None,
) -> ExperimentResult:
    """The claims table, from the results saved in ``folder`` (default: ``output``).

    Parameters
    ----------
    folder : path-like, optional
        Where ``compressed-sensing``, ``denoising``, ``initialisation`` and ``dataset-bias`` were
        saved under both protocols (``NAME.json`` and ``NAME.paper.json``); a missing one is
        skipped and listed in ``data["missing"]``.
    seed : int, default=0
        Seed of the bootstrap.
    output : path-like, optional
        The run's output folder (the default ``folder``).
    progress, command
        As for every experiment.

    Returns
    -------
    ExperimentResult
        Columns ``claim, protocol, setting, metric, effect, lo, hi, reproduced, source,
        command``. Rows: flow vs generator at every ``m`` (in and out of distribution), Lasso's
        measurement factor at every ``m`` but the grid's last (where it is only known to be at
        least 1), flow vs BM3D per noise level, the initialisation trend with and without
        ``gamma``.
    """
    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    where, table, missing, load = _claims_table(folder, output, seed, command, "")

    for proto in ("lininv", "paper"):
        cs = load("compressed-sensing", proto)
        if cs is not None:
            for row in _recovery_rows(
                cs, "compressed-sensing", "the flow recovers better than the GAN", "gan"
            ):
                table.append(row)
            for row in _factor_rows(cs, seed):
                table.append(row)
        dn = load("denoising", proto)
        if dn is not None:
            for row in _bm3d_rows(dn):
                table.append(row)
        it = load("initialisation", proto)
        if it is not None:
            for row in _init_rows(it):
                table.append(row)
        db = load("dataset-bias", proto)
        if db is not None:
            for row in _recovery_rows(
                db,
                "dataset-bias",
                "out of distribution, the flow recovers better than the GAN",
                "gan",
            ):
                table.append(row)
    elapsed = time.perf_counter() - t0
    return ExperimentResult(
        "claims",
        table,
        {"seed": seed, "bootstrap": BOOTSTRAP},
        {"missing": missing},
        seconds=elapsed,
        compute_seconds=elapsed,
    )


def _row(result: ExperimentResult, **fields: Any) -> dict[str, Any]:
    """A claims row of ``result`` (its protocol and command filled in unless given)."""
    row = {"protocol": result.protocol, "command": result.provenance.get("command", "")}
    row.update(fields)
    return {key: row[key] for key in CLAIM_COLUMNS}


def _factor28_rows(result: ExperimentResult) -> list[dict]:
    """The Lasso-to-flow factor of ``compressed-sensing-28``, as its table computed it."""
    rows = []
    last = result.table.rows[-1]["m"]
    for r in result.table.rows:
        if r["m"] == last:  # only known to be >= 1 there: says nothing about the claim
            continue
        low_ratio = float(r["ratio"]) <= 0.0401  # the abstract's 10-20x lives at m/n <= 4%
        bound = str(r["factor_bound"])
        rows.append(
            _row(
                result,
                claim=(
                    "Lasso-DCT needs 10-20x the flow's measurements (m/n <= 4%)"
                    if low_ratio
                    else "Lasso-DCT needs several times the flow's measurements for equal error"
                ),
                setting=f"flow at m = {r['m']} (m/n = {float(r['ratio']):.0%})"
                + (" (censored: Lasso never matches)" if bound == ">" else ""),
                metric="measurement factor m_lasso / m (mse, log-log interpolated)",
                effect=float(r["factor"]),
                lo=float(r["factor_lo"]),
                hi=float(r["factor_hi"]),
                reproduced=float(r["factor_lo"]) >= 10.0
                if low_ratio
                else float(r["factor_lo"]) > 1,
                source=f"{result.stem}.csv row m = {r['m']}, columns factor, factor_lo, factor_hi",
            )
        )
    return rows


def _ood28_rows(result: ExperimentResult) -> list[dict]:
    """Out of distribution at n = 784: the flow against each baseline, per set and task."""
    metric = "mse" if result.protocol == "lininv" else "psnr"
    key = "errors" if metric == "mse" else "psnr"
    rows = []
    for cell, per in result.data.get("per_image", {}).items():
        name, task = cell.split("-", 1)
        others = ("lasso", "gan") if task.startswith("m=") else ("bm3d", "gan")
        for other in others:
            if other not in per[key]:
                continue
            mean, lo, hi = _paired(per[key]["flow"], per[key][other])
            verb = "recovers" if task.startswith("m=") else "denoises"
            rows.append(
                _row(
                    result,
                    claim=f"out of distribution, the flow {verb} better than {_LABEL[other]}",
                    setting=f"{name}, {task.replace('m=', 'm = ')}"
                    if task.startswith("m=")
                    else f"{name}, sigma = {result.params.get('noise_std')}",
                    metric=f"{metric}: flow - {other}",
                    effect=mean,
                    lo=lo,
                    hi=hi,
                    reproduced=_favours_flow(lo, hi, metric),
                    source=f"{result.stem}.json: data.per_image[{cell}].{key}.flow / .{other}",
                )
            )
    return rows


_LABEL = {"lasso": "Lasso", "gan": "the GAN", "bm3d": "BM3D", "gauss": "the linear Gaussian"}


def _denoising28_rows(result: ExperimentResult) -> list[dict]:
    """Flow vs BM3D per noise level (the latent MAP in mse, the paper's settings in psnr) and
    the latent MAP vs the generator."""
    rows = []
    for sigma, per in result.data.get("per_image", {}).items():
        for flow, other, proto, metric, how in (
            ("flow_map", "bm3d", "lininv", "mse", "flow: latent MAP, gamma = sigma^2"),
            ("flow_paper", "bm3d", "paper", "psnr", "flow: gamma = 0, 400 L-BFGS iterations"),
            ("flow_map", "gan", "lininv", "mse", "flow: latent MAP, gamma = sigma^2"),
        ):
            if flow not in per or other not in per:
                continue
            key = "errors" if metric == "mse" else "psnr"
            mean, lo, hi = _paired(per[flow][key], per[other][key])
            rows.append(
                _row(
                    result,
                    claim=f"the flow prior denoises better than {_LABEL[other]}",
                    protocol=proto,
                    setting=f"sigma = {sigma}, {how}",
                    metric=f"{metric}: flow - {other}",
                    effect=mean,
                    lo=lo,
                    hi=hi,
                    reproduced=_favours_flow(lo, hi, metric),
                    source=f"{result.stem}.json: data.per_image[{sigma}].{flow}.{key} / .{other}",
                )
            )
    return rows


def _inpainting28_rows(result: ExperimentResult) -> list[dict]:
    """The validated flow (and the linear Gaussian) against Lasso, PSNR over the whole image."""
    rows = []
    for r in result.table.rows:
        name = str(r["method"])
        if not (name.endswith("(validated)") or name.startswith("best linear Gaussian")):
            continue
        if r.get("psnr_minus_lasso_mean") is None:
            continue
        who = "the flow" if name.startswith("flow") else "the linear Gaussian"
        rows.append(
            _row(
                result,
                claim=f"{who} inpaints better than Lasso",
                setting=f"{result.params.get('hole', 12)}x{result.params.get('hole', 12)} hole, "
                f"{name}",
                metric="psnr: method - lasso",
                effect=float(r["psnr_minus_lasso_mean"]),
                lo=float(r["psnr_minus_lasso_lo"]),
                hi=float(r["psnr_minus_lasso_hi"]),
                reproduced=float(r["psnr_minus_lasso_lo"]) > 0,
                source=f"{result.stem}.csv row method = {name}, columns psnr_minus_lasso_*",
            )
        )
    return rows


@register(
    "claims-28",
    order=100,
    dataset="mnist28",
    summary="the paper's claims at n = 784, measured from the 28x28 experiments' saved results",
)
def claims_28(
    *,
    folder: Any = None,
    seed: int = 0,
    output: Any = None,
    progress: Any = False,
    command: str | None = None,
) -> ExperimentResult:
    """The claims table at n = 784, from the results saved in ``folder`` (default: ``output``).

    Parameters
    ----------
    folder : path-like, optional
        Where ``compressed-sensing-28`` (both protocols), ``denoising-28``, ``inpainting-28``
        and ``out-of-distribution-28`` were saved; a missing one is skipped and listed in
        ``data["missing"]``.
    seed : int, default=0
        Recorded only: every number comes from the saved results (the measurement factor's
        bootstrap interval is the one ``compressed-sensing-28`` computed).
    output : path-like, optional
        The run's output folder (the default ``folder``).
    progress, command
        As for every experiment.

    Returns
    -------
    ExperimentResult
        The columns of :func:`claims`. Rows: the flow against Lasso and against the generator
        at every m/n, Lasso's measurement factor at every m/n but the grid's last (the
        abstract's "10-20x" at m/n <= 4%, reproduced when the whole interval is at least 10;
        "several times" above, when it is above 1), the flow against BM3D per noise level (its
        latent MAP in squared error; the paper's gamma = 0 and fixed budget in PSNR), the flow
        and the linear Gaussian against Lasso in inpainting, and out of distribution the flow
        against Lasso, BM3D and the generator per signal set. ``figure_data["factor_series"]``
        holds the measurement factor against m/n at n = 784 and, when ``folder`` also holds the
        8x8 ``claims``, at n = 64 (:func:`lininv.plotting.measurement_factor_series`): the
        figure of this experiment.
    """
    t0 = time.perf_counter()
    seed = check_int("seed", seed, low=0)
    where, table, missing, load = _claims_table(folder, output, seed, command, " at n = 784")

    for proto in ("lininv", "paper"):
        cs = load("compressed-sensing-28", proto)
        if cs is None:
            continue
        for other, claim in (
            ("lasso", "the flow recovers better than Lasso"),
            ("gan", "the flow recovers better than the GAN"),
        ):
            for row in _recovery_rows(cs, "compressed-sensing-28", claim, other):
                table.append(row)
        for row in _factor28_rows(cs):
            table.append(row)
    dn = load("denoising-28", "lininv")
    if dn is not None:
        for row in _denoising28_rows(dn):
            table.append(row)
    ip = load("inpainting-28", "lininv")
    if ip is not None:
        for row in _inpainting28_rows(ip):
            table.append(row)
    ood = load("out-of-distribution-28", "lininv")
    if ood is not None:
        for row in _ood28_rows(ood):
            table.append(row)
    # the factor at both scales for the figure: n = 784 here, n = 64 if the 8x8 claims are saved
    series = {}
    for n, read in ((64, _series_64), (784, _series_784)):
        try:
            series[str(n)] = read(Path(where))
        except ValueError:
            pass
    elapsed = time.perf_counter() - t0
    return ExperimentResult(
        "claims-28",
        table,
        {"seed": seed},
        {"missing": missing},
        figure_data={"factor_series": series},
        seconds=elapsed,
        compute_seconds=elapsed,
    )
