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
from typing import Any

import numpy as np

from lininv._provenance import provenance
from lininv._random import stream
from lininv._stats import mean_ci
from lininv._table import Table
from lininv._validation import check_int
from lininv.experiments._factor import measurement_factor
from lininv.experiments._registry import register
from lininv.experiments._result import ExperimentResult, load_result

__all__ = ["claims", "CLAIM_COLUMNS"]

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
