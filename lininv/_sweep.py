r"""Sweeps: the theorem's bounds, the prediction and the Monte-Carlo truth over a grid, resumably.

One *cell* is a spectrum (the diagonal prior ``G = diag(s)``), a number of measurements ``m``, a
noise level, a measurement ensemble and a truth (the distribution of the signals: the prior itself
by default). For each cell :func:`sweep` records the lower bound :math:`\sum_{i>m} s_i^2`, the
Monte-Carlo estimate of :math:`E(m)` with its confidence interval, the deterministic-equivalent
prediction and its relative error, the optimised Halko-Martinsson-Tropp upper bound (and its
split ``k``), the paper's upper bound :math:`m\sum_{i>m-2} s_i^2`, and whether each bound holds
beyond the confidence interval (:mod:`lininv._sweep_table`).

Persistence. With ``output``, every finished cell is stored at once in a
:class:`lininv._io.CellStore` (one JSON file, rewritten atomically, locked while a sweep uses it,
each cell with a checksum and each stored row re-validated when the file is opened: its keys,
finite numbers, and verdicts recomputed from its numbers). A cell's seed is derived from the sweep
seed and the cell's own parameters (:func:`cell_seed`), never from its position, the order cells
finish in, or the last bits of the spectrum. Re-running with the same ``output`` loads the
finished cells, computes only the missing ones, and yields exactly the table an uninterrupted run
gives.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lininv._io import CellStore, output_file
from lininv._measurements import ENSEMBLES
from lininv._mismatch import make_truth
from lininv._montecarlo import check_workload, expected_error
from lininv._parallel import Workers, imap_unordered
from lininv._progress import check_progress, progress_sink
from lininv._provenance import provenance
from lininv._random import param_seed, parameter_key, seed_from
from lininv._sweep_table import COLUMNS, SweepTable, theorem_for, verdicts
from lininv._theory import hmt_upper_bound, lower_bound, paper_upper_bound, predicted_error
from lininv._validation import as_spectrum, check_int, check_real, describe

__all__ = [
    "sweep",
    "SweepTable",
    "SweepPlan",
    "prepare",
    "check_output",
    "execute",
    "COLUMNS",
    "cell_seed",
]

#: A cell: (spectrum name, m, noise, ensemble, truth).
Cell = tuple[str, int, float, str, str]


def cell_seed(
    sweep_seed: int,
    s: np.ndarray,
    m: int,
    noise: float,
    ensemble: str = "gaussian",
    truth: str = "prior",
) -> int:
    """Seed of one cell: a hash of the sweep seed and the cell's parameters (not its position).

    The spectrum and the noise level enter to single precision (:func:`lininv._random.
    parameter_key`), so a spectrum computed on another machine, equal up to rounding, draws the
    same random numbers. The default ensemble and truth keep the seeds of sweeps without them.
    """
    if ensemble == "gaussian" and truth == "prior":
        return param_seed("lininv.sweep.cell.v2", sweep_seed, s, int(m), noise)
    return param_seed("lininv.sweep.cell.v3", sweep_seed, s, int(m), noise, ensemble, truth)


def _truth_seed(sweep_seed: int, s: np.ndarray, truth: str) -> int:
    """Seed of a randomly rotated truth: the same rotation for every cell of that spectrum."""
    return param_seed("lininv.sweep.truth", sweep_seed, s, truth)


def _cell_key(cell: Cell) -> str:
    return json.dumps([cell[0], cell[1], cell[2], cell[3], cell[4]])


def _compute_cell(
    name: str,
    s: np.ndarray,
    m: int,
    noise: float,
    ensemble: str,
    truth_spec: str,
    seed: int,
    truth_seed: int,
    rtol: float | None,
    trials: int | None,
    max_trials: int,
) -> dict[str, Any]:
    """One row of the table. Top-level (picklable) for executors and Dask workers."""
    import warnings

    from lininv._prior import LinearInvertiblePrior

    truth = make_truth(truth_spec, s, seed=truth_seed)
    prior = s if truth is None else LinearInvertiblePrior.from_singular_values(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # non-convergence is the row's `converged`
        est = expected_error(
            prior,
            m,
            noise,
            truth=truth,
            ensemble=ensemble,
            rtol=rtol,
            trials=trials,
            max_trials=max_trials,
            rng=seed,
        )
    lo, hi = est.ci
    pred = predicted_error(prior, m, noise, truth=truth)
    bounded = noise == 0.0 and m >= 2
    hmt = hmt_upper_bound(s, m) if bounded else None
    paper = paper_upper_bound(s, m) if bounded else None
    rel = (pred - est.mean) / est.mean if est.mean != 0.0 else (0.0 if pred == 0.0 else math.inf)
    row: dict[str, Any] = {
        "spectrum": name,
        "n": int(s.size),
        "m": int(m),
        "noise": float(noise),
        "ensemble": ensemble,
        "truth": truth_spec,
        "lower": float(lower_bound(s, m)),
        "mc_mean": float(est.mean),
        "mc_stderr": float(est.stderr),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "trials": int(est.trials),
        "predicted": float(pred),
        "predicted_rel_error": float(rel),
        "hmt_upper": None if hmt is None else float(hmt.value),
        "hmt_k": None if hmt is None else int(hmt.k),
        "paper_upper": None if paper is None else float(paper),
        "theorem": theorem_for(ensemble, truth_spec, noise, m),
        "converged": bool(est.converged),
        "seed": int(seed),
    }
    row.update(verdicts(row))
    return {c: row[c] for c in COLUMNS}


def _as_spectra(spectra: Any) -> dict[str, np.ndarray]:
    if isinstance(spectra, Mapping):
        if not spectra:
            raise ValueError("spectra must not be empty")
        out = {}
        for name, value in spectra.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"spectra keys must be non-empty strings; got {describe(name)}")
            out[name] = as_spectrum(f"spectra[{name!r}]", value)
        return out
    return {"s": as_spectrum("s", spectra)}


def _as_list(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    return values


def _distinct(name: str, values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{name} must not repeat a value; got {v!r} twice")
        seen.add(v)
    return values


@dataclass
class SweepPlan:
    """A validated sweep, ready to run: everything :func:`execute` needs, nothing computed yet."""

    named: dict[str, np.ndarray]
    grid: list[Cell]
    settings: dict[str, Any]
    path: Path | None
    finished: dict[Cell, dict[str, Any]] = field(default_factory=dict)

    @property
    def todo(self) -> list[Cell]:
        return [key for key in self.grid if key not in self.finished]


def _validator(named: dict[str, np.ndarray], seed: int) -> Any:
    """The check of a stored row (:class:`lininv._io.CellStore`'s ``validate`` hook)."""

    def validate(key: str, value: Any) -> None:
        if key.startswith("spectrum:"):
            if not isinstance(value, list) or not all(isinstance(v, float) for v in value):
                raise ValueError("a stored spectrum must be a list of numbers")
            return
        if not isinstance(value, dict) or list(value) != list(COLUMNS):
            raise ValueError(f"a row must have the columns {', '.join(COLUMNS)} in order")
        cell = json.loads(key)
        if [
            value["spectrum"],
            value["m"],
            value["noise"],
            value["ensemble"],
            value["truth"],
        ] != cell:
            raise ValueError("the row does not belong to its cell")
        for c in ("lower", "mc_mean", "mc_stderr", "ci_low", "ci_high", "predicted"):
            if not isinstance(value[c], (int, float)) or not math.isfinite(value[c]):
                raise ValueError(f"{c} must be a finite number; got {value[c]!r}")
        if not value["ci_low"] <= value["mc_mean"] <= value["ci_high"] or value["mc_stderr"] < 0:
            raise ValueError("the confidence interval does not contain the mean")
        if verdicts(value) != {k: value[k] for k in ("lower_holds", "hmt_holds", "paper_holds")}:
            raise ValueError("its verdicts do not follow from its numbers")
        want = theorem_for(value["ensemble"], value["truth"], value["noise"], value["m"])
        if value["theorem"] != want:
            raise ValueError(f"theorem must be {want!r} for this cell; got {value['theorem']!r}")
        s = named.get(value["spectrum"])
        if s is not None and value["seed"] != cell_seed(seed, s, *cell[1:]):
            raise ValueError("its seed is not the cell's seed")

    return validate


def _check_stored_spectra(path: Path, named: dict[str, np.ndarray]) -> None:
    """Refuse an output that holds a different spectrum under one of our names (before opening
    it, so that this is the message rather than its rows' seeds not matching)."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # missing or unreadable: the cell store says what is wrong
    for name, s in named.items():
        old = cells.get(f"spectrum:{name}", {}).get("value") if isinstance(cells, dict) else None
        # Equal to single precision is the same spectrum: same cell seeds (cell_seed).
        if isinstance(old, list) and parameter_key(old) != parameter_key(s):
            raise ValueError(
                f"output {str(path)!r} holds a different spectrum named {name!r}; rename it or "
                "use another output"
            )


def _stored_seed(path: Path) -> int | None:
    """The seed of an existing results file (to resume it with ``rng=None``), if readable."""
    try:
        seed = json.loads(path.read_text(encoding="utf-8"))["params"]["seed"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return seed if isinstance(seed, int) and seed >= 0 else None


def prepare(
    spectra: Any,
    ms: Any,
    noise_stds: Any = (0.0,),
    *,
    ensembles: Any = ("gaussian",),
    truths: Any = ("prior",),
    rtol: float | None = None,
    trials: int | None = None,
    max_trials: int = 100_000,
    rng: Any = None,
    output: str | os.PathLike[str] | None = None,
) -> SweepPlan:
    """Validate the arguments of :func:`sweep` (no computing, no files written).

    Raises ``ValueError``/``TypeError`` for bad input or an unwritable output place. A cell that
    :func:`expected_error` would refuse (noise beyond ``1e150 s_max``, or more memory than the
    machine has: :func:`lininv._montecarlo.check_workload`) is refused here, before any cell
    runs. The output's existing cells are checked when :func:`execute` opens it.
    """
    named = _as_spectra(spectra)
    ms = _distinct("ms", [check_int("ms", m, low=1) for m in _as_list("ms", ms)])
    noises = [
        check_real("noise_stds", x, low=0.0) + 0.0 for x in _as_list("noise_stds", noise_stds)
    ]
    noises = _distinct("noise_stds", noises)
    ensembles = _distinct("ensembles", _as_list("ensembles", ensembles))
    for e in ensembles:
        if e not in ENSEMBLES:
            raise ValueError(f"ensembles must be among {', '.join(ENSEMBLES)}; got {e!r}")
    truths = _distinct("truths", _as_list("truths", truths))
    for name, s in named.items():
        bad = [m for m in ms if m > s.size]
        if bad:
            raise ValueError(f"ms must be at most n = {s.size} for spectrum {name!r}; got {bad[0]}")
        for spec in truths:
            make_truth(spec, s, seed=0)  # validates the specification against n
    if rtol is not None and trials is not None:
        raise ValueError(f"pass either rtol or trials, not both; got rtol={rtol}, trials={trials}")
    if trials is not None:
        trials = check_int("trials", trials, low=2)
    elif rtol is None:
        rtol = 1e-3
    if rtol is not None:
        rtol = check_real("rtol", rtol, low=0.0, low_open=True, high=1.0)
    max_trials = check_int("max_trials", max_trials, low=256)
    for name, s in named.items():  # what expected_error would refuse in a cell, refused now
        for m in ms:
            for x in noises:
                check_workload(
                    s.size,
                    float(s[0]),
                    m,
                    x,
                    stored=max_trials if trials is None else trials,
                    stored_name="max_trials" if trials is None else "trials",
                    noise_name="noise_stds",
                    m_name="ms",
                    context=f" for spectrum {name!r}",
                )
    path = None if output is None else output_file(output, "output")
    seed = _stored_seed(path) if rng is None and path is not None else None
    seed = seed_from(rng) if seed is None else seed
    settings = {"seed": seed, "rtol": rtol, "trials": trials, "max_trials": max_trials}
    grid = [
        (name, m, x, e, t)
        for name in named
        for m in ms
        for x in noises
        for e in ensembles
        for t in truths
    ]
    return SweepPlan(named, grid, settings, path)


def check_output(plan: SweepPlan) -> None:
    """Check an existing results file of ``plan`` (settings, spectra, every stored row) without
    writing anything: what :func:`execute` would refuse, refused before any work."""
    if plan.path is None or not plan.path.exists():
        return
    _check_stored_spectra(plan.path, plan.named)
    seed = plan.settings["seed"]
    CellStore(plan.path, plan.settings, validate=_validator(plan.named, seed)).open().close()


def execute(plan: SweepPlan, *, executor: Any = None, progress: Any = False) -> SweepTable:
    """Run a :class:`SweepPlan`: compute the missing cells, storing each as it finishes."""
    progress = check_progress(progress)
    settings, named = plan.settings, plan.named
    seed = settings["seed"]
    prov = provenance(seed=seed)
    store = None
    if plan.path is not None:
        _check_stored_spectra(plan.path, named)
        store = CellStore(
            plan.path, settings, provenance=prov, validate=_validator(named, seed)
        ).open()
    try:
        if store is not None:
            for name, s in named.items():
                if f"spectrum:{name}" not in store:
                    store.put(f"spectrum:{name}", [float(v) for v in s])
            for cell in plan.grid:
                row = store.get(_cell_key(cell))
                if row is not None:
                    plan.finished[cell] = row
        todo = plan.todo
        args = [
            (
                c[0],
                named[c[0]],
                c[1],
                c[2],
                c[3],
                c[4],
                cell_seed(seed, named[c[0]], *c[1:]),
                _truth_seed(seed, named[c[0]], c[4]),
                settings["rtol"],
                settings["trials"],
                settings["max_trials"],
            )
            for c in todo
        ]
        done0 = len(plan.grid) - len(todo)
        with (
            Workers(executor, tasks=len(todo)) as workers,
            progress_sink(progress, "sweep", len(plan.grid), "cell", initial=done0) as sink,
        ):
            for i, row in imap_unordered(workers, _compute_cell, args):
                cell = todo[i]
                plan.finished[cell] = row
                if store is not None:
                    store.put(_cell_key(cell), row)
                status = "" if row["converged"] else "; NOT CONVERGED"
                sink.update(
                    label=f"{cell[0]} m={cell[1]} noise={cell[2]:g} {cell[3]} {cell[4]}",
                    info=f"{row['mc_mean']:.5g} +- {row['mc_stderr']:.2g}{status}",
                )
        runs = store.runs if store is not None else [prov]
    finally:
        if store is not None:
            store.close()
    meta = {"runs": runs} if len(runs) != 1 else dict(runs[0])
    return SweepTable([plan.finished[c] for c in plan.grid], dict(settings), dict(named), meta)


def sweep(
    spectra: Any,
    ms: Any,
    noise_stds: Any = (0.0,),
    *,
    ensembles: Any = ("gaussian",),
    truths: Any = ("prior",),
    rtol: float | None = None,
    trials: int | None = None,
    max_trials: int = 100_000,
    rng: Any = None,
    output: str | os.PathLike[str] | None = None,
    executor: Any = None,
    progress: Any = False,
) -> SweepTable:
    r"""Bounds, prediction and Monte-Carlo :math:`E(m)` over a grid of cells, resumably.

    Parameters
    ----------
    spectra : array_like of shape (n,), or mapping of str to array_like
        One spectrum (named ``"s"``) or several by name (e.g. ``{"power:1": s}``); each is the
        diagonal prior ``G = diag(s)``.
    ms : int or iterable of int
        Numbers of measurements, distinct, each ``1 <= m <= n`` for every spectrum.
    noise_stds : float or iterable of float, default=(0.0,)
        Noise levels ``>= 0``, distinct (``-0.0`` is ``0.0``). The upper bounds are the noiseless
        theorem's and are reported for ``noise = 0`` (and ``m >= 2``) only.
    ensembles : str or iterable of str, default=("gaussian",)
        Measurement ensembles (:data:`lininv.ENSEMBLES`).
    truths : str or iterable of str, default=("prior",)
        Distributions of the signals (:data:`lininv._mismatch.TRUTH_FORMS`): ``"prior"``, a
        spectrum specification (a truth diagonal in the prior's basis) or ``"rotated:"`` and one
        (in a random basis, the same for every cell of a spectrum).
    rtol, trials, max_trials
        Passed to :func:`expected_error` for every cell (default: ``rtol = 1e-3``).
    rng : None, int, SeedSequence or Generator, default=None
        Sweep seed.
    output : path, optional
        Results file (a :class:`lininv._io.CellStore`): created if missing, resumed if present
        (with ``rng=None`` the file's seed is used).
        Its folder is created if missing. A file of other settings (seed, rtol, trials,
        max_trials), with a different spectrum under the same name, damaged, edited, or in use
        by another sweep is refused (``ValueError``), never overwritten.
    executor : None, int, Executor, distributed.Client or str, optional
        Runs cells concurrently (:class:`lininv._parallel.Workers`); in-process by default.
    progress : bool or callable, default=False
        ``True``: a progress bar over cells; a callable gets a
        :class:`~lininv._progress.ProgressEvent` per finished cell.

    Returns
    -------
    SweepTable
        Rows in grid order: spectra (in the given order), then ``m``, noise, ensemble, truth.

    Notes
    -----
    Per cell, with :math:`\hat E` the Monte-Carlo mean and ``[lo, hi]`` its 95% interval: the
    lower bound :math:`\sum_{i>m}s_i^2` holds if it is ``<= hi``; the upper bounds
    (:func:`hmt_upper_bound`, :func:`paper_upper_bound`) hold if ``>= lo``; the prediction's
    relative error is :math:`(\lambda m - \hat E)/\hat E` (:func:`predicted_error`, with the
    truth's second-order term for a mismatched truth). Which bounds are theorems for a cell is
    its ``theorem`` column (:mod:`lininv._sweep_table`): a failed bound where it is no theorem
    is a finding, not a violation. Cell seeds are hashes of the sweep seed and the cell's
    parameters, so a cell's numbers do not depend on the grid it is part of, the executor, or
    on interruptions.

    References
    ----------
    .. [1] Asim et al., ICML 2020, arXiv:1905.11672 (the theorem).
    .. [2] Halko, Martinsson, Tropp, SIAM Review 53(2), 2011, Theorem 10.5.

    Examples
    --------
    >>> from lininv import make_spectrum, sweep
    >>> table = sweep({"flat": make_spectrum("flat", 6)}, [2, 3], trials=64, rng=0)
    >>> [(row["m"], round(row["mc_mean"], 12), row["lower"]) for row in table]  # E(m) = n - m
    [(2, 4.0, 4.0), (3, 3.0, 3.0)]
    >>> table.all_hold
    True
    """
    plan = prepare(
        spectra,
        ms,
        noise_stds,
        ensembles=ensembles,
        truths=truths,
        rtol=rtol,
        trials=trials,
        max_trials=max_trials,
        rng=rng,
        output=output,
    )
    return execute(plan, executor=executor, progress=progress)
