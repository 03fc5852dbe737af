r"""The paper's claims at n = 784, measured from the saved results of the 28x28 experiments.

The conventions of :mod:`lininv.experiments._claims` (the 8x8 table): one row per claim, protocol
and setting, effects paired over the same images with 95% intervals, "reproduced" when the whole
interval lies on the side the claim predicts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lininv._validation import check_int
from lininv.experiments._claims import (
    CLAIM_COLUMNS,
    _claims_table,
    _favours_flow,
    _paired,
    _recovery_rows,
)
from lininv.experiments._factor import _series_64, _series_784
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult

__all__ = ["claims_28"]


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
