r"""Sweeps: the theorem's bounds, the prediction and the Monte-Carlo truth over a grid.

One *cell* is a spectrum, a number of measurements ``m`` and a noise level. For each cell
:func:`sweep` records the lower bound :math:`\sum_{i>m} s_i^2`, the Monte-Carlo estimate of
:math:`E(m)` with its confidence interval, the deterministic-equivalent prediction and its relative
error, the optimised Halko-Martinsson-Tropp upper bound (and its split ``k``), the paper's upper
bound :math:`m\sum_{i>m-2} s_i^2`, and whether each bound holds beyond the confidence interval.

Persistence. With ``output``, every finished cell is written at once to a JSON results file
(atomically: a temporary file in the same folder, then :func:`os.replace`). A cell's seed is
derived from the sweep seed and the cell's own parameters (a hash of the spectrum values and the
noise level to single precision, and ``m``: :func:`cell_seed`), never from its position or from the
order cells finish in, nor from the last bits of the spectrum, which can differ between machines. Re-running with the
same ``output`` therefore loads the finished cells, computes only the missing ones, and yields
exactly the table an uninterrupted run gives; the file is written in grid order and holds no
timestamps, so even its bytes agree.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lininv._montecarlo import _seed_from, as_executor, check_workload, expected_error
from lininv._random import param_seed, parameter_key
from lininv._theory import hmt_upper_bound, lower_bound, paper_upper_bound, predicted_error
from lininv._validation import as_spectrum, check_int, check_real, describe

__all__ = ["sweep", "SweepTable", "SweepPlan", "prepare", "execute", "COLUMNS"]

_FORMAT = "lininv-sweep"
_VERSION = 1

#: Columns of a sweep table, in order.
COLUMNS = (
    "spectrum",
    "n",
    "m",
    "noise",
    "lower",
    "mc_mean",
    "mc_stderr",
    "ci_low",
    "ci_high",
    "trials",
    "predicted",
    "predicted_rel_error",
    "hmt_upper",
    "hmt_k",
    "paper_upper",
    "lower_holds",
    "hmt_holds",
    "paper_holds",
    "converged",
    "seed",
)


class SweepTable:
    """The result of :func:`sweep`: one row (a dict keyed by :data:`COLUMNS`) per cell.

    Upper bounds are ``None`` where the theorem does not apply (``m = 1``, or noise: the bounds
    are for the noiseless MLE); the lower bound holds with noise too, since noise only adds error.
    A bound *holds* unless it is violated beyond the 95% confidence interval (``lower > ci_high``
    or ``upper < ci_low``).

    Attributes
    ----------
    rows : list of dict
    settings : dict
        ``seed`` (of the sweep), ``rtol``, ``trials``, ``max_trials``.
    spectra : dict of str to ndarray
        The spectra by name.
    """

    def __init__(
        self, rows: list[dict[str, Any]], settings: dict[str, Any], spectra: dict[str, np.ndarray]
    ) -> None:
        self.rows = rows
        self.settings = settings
        self.spectra = spectra

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SweepTable):
            return NotImplemented
        return (
            self.rows == other.rows
            and self.settings == other.settings
            and self.spectra.keys() == other.spectra.keys()
            and all(np.array_equal(v, other.spectra[k]) for k, v in self.spectra.items())
        )

    def __repr__(self) -> str:
        return f"SweepTable({len(self.rows)} rows, seed {self.settings.get('seed')})"

    def __str__(self) -> str:
        return self.format()

    def column(self, name: str) -> np.ndarray:
        """Values of one column as an array (``None`` becomes ``nan`` for numeric columns)."""
        if name not in COLUMNS:
            raise ValueError(f"name must be one of {', '.join(COLUMNS)}; got {name!r}")
        values = [row[name] for row in self.rows]
        if name == "spectrum":
            return np.array(values, dtype=object)
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    def select(self, spectrum: str | None = None, noise: float | None = None) -> SweepTable:
        """Rows of one spectrum and/or one noise level, in grid order."""
        rows = [
            r
            for r in self.rows
            if (spectrum is None or r["spectrum"] == spectrum)
            and (noise is None or r["noise"] == noise)
        ]
        spectra = {k: v for k, v in self.spectra.items() if spectrum is None or k == spectrum}
        return SweepTable(rows, dict(self.settings), spectra)

    def violations(self) -> list[dict[str, Any]]:
        """Rows in which some bound is violated beyond the confidence interval."""
        return [
            r
            for r in self.rows
            if any(r[c] is False for c in ("lower_holds", "hmt_holds", "paper_holds"))
        ]

    @property
    def all_hold(self) -> bool:
        """Whether every applicable bound holds in every row."""
        return not self.violations()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "settings": self.settings,
            "spectra": {k: [float(x) for x in v] for k, v in self.spectra.items()},
            "rows": self.rows,
        }

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write the table with all settings and spectra as JSON (atomically)."""
        _atomic_write(Path(path), json.dumps(self.to_dict(), indent=1) + "\n")

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the rows as CSV (atomically); ``None`` is written as an empty field."""
        lines = [",".join(COLUMNS)]
        for r in self.rows:
            lines.append(",".join(_csv_field(r[c]) for c in COLUMNS))
        _atomic_write(Path(path), "\n".join(lines) + "\n")

    def format(self) -> str:
        """A readable fixed-width table."""
        head = (
            f"{'spectrum':<12} {'n':>5} {'m':>5} {'noise':>7} {'lower':>10} "
            f"{'E(m) [95% CI]':>30} {'predicted':>10} {'rel.err':>8} "
            f"{'HMT upper (k)':>16} {'paper upper':>11}  bounds"
        )
        out = [head, "-" * len(head)]
        for r in self.rows:
            ci = f"{r['mc_mean']:.5g} [{r['ci_low']:.5g}, {r['ci_high']:.5g}]"
            hmt = "-" if r["hmt_upper"] is None else f"{r['hmt_upper']:.4g} ({r['hmt_k']})"
            paper = "-" if r["paper_upper"] is None else f"{r['paper_upper']:.4g}"
            flags = [r[c] for c in ("lower_holds", "hmt_holds", "paper_holds") if r[c] is not None]
            verdict = "hold" if all(flags) else "VIOLATED"
            out.append(
                f"{_short(r['spectrum'], 12):<12} {r['n']:>5} {r['m']:>5} {r['noise']:>7.3g} "
                f"{r['lower']:>10.4g} {ci:>30} {r['predicted']:>10.5g} "
                f"{r['predicted_rel_error']:>+8.2%} {hmt:>16} {paper:>11}  {verdict}"
            )
        return "\n".join(out)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`_atomic_write_bytes`."""
    _atomic_write_bytes(path, text.encode("utf-8"))


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, flush to disk, then :func:`os.replace`.

    A reader (or a later run) sees either the old file or the new one, never a partial write.
    """
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as fh:  # mode 0o666 & ~umask, like any new file
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def check_writable_folder(folder: Path, what: str = "output") -> None:
    """Raise ValueError unless ``folder`` is an existing folder we can create files in."""
    if not folder.is_dir():
        raise ValueError(f"{what} folder {str(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".lininv-write-test.")
    except OSError as exc:
        raise ValueError(f"{what} folder {str(folder)!r} is not writable: {exc.strerror}") from None
    os.close(fd)
    os.unlink(tmp)


def cell_seed(sweep_seed: int, s: np.ndarray, m: int, noise: float) -> int:
    """Seed of one cell: a hash of the sweep seed and the cell's parameters (not its position).

    The spectrum and the noise level enter to single precision (:func:`lininv._random.
    parameter_key`), so a spectrum computed on another machine, equal up to rounding, draws the
    same random numbers.
    """
    return param_seed("lininv.sweep.cell.v2", sweep_seed, s, int(m), noise)


def _compute_cell(
    name: str,
    s: np.ndarray,
    m: int,
    noise: float,
    seed: int,
    rtol: float | None,
    trials: int | None,
    max_trials: int,
) -> dict[str, Any]:
    """One row of the table. Top-level (picklable) for executors and Dask workers."""
    with warnings.catch_warnings(record=True):  # silenced: the status is est.converged
        warnings.simplefilter("always", UserWarning)
        est = expected_error(s, m, noise, rtol=rtol, trials=trials, max_trials=max_trials, rng=seed)
    converged = est.converged
    lo, hi = est.ci
    lower = lower_bound(s, m)
    pred = predicted_error(s, m, noise)
    applies = noise == 0.0 and m >= 2
    hmt = hmt_upper_bound(s, m) if applies else None
    paper = paper_upper_bound(s, m) if applies else None
    rel = (pred - est.mean) / est.mean if est.mean != 0.0 else (0.0 if pred == 0.0 else math.inf)
    return {
        "spectrum": name,
        "n": int(s.size),
        "m": int(m),
        "noise": float(noise),
        "lower": float(lower),
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
        "lower_holds": bool(lower <= hi),
        "hmt_holds": None if hmt is None else bool(hmt.value >= lo),
        "paper_holds": None if paper is None else bool(paper >= lo),
        "converged": bool(converged),
        "seed": int(seed),
    }


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


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"output {str(path)!r} exists but is not a readable sweep results file ({exc}); "
            "choose another output"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("format") != _FORMAT
        or data.get("version") != _VERSION
    ):
        raise ValueError(
            f"output {str(path)!r} exists but is not a lininv sweep results file (version "
            f"{_VERSION}); choose another output"
        )
    return data


def _resolve_executor(executor: Any) -> tuple[Executor | None, Any]:
    """Executor to use and a Dask client to close afterwards (for scheduler addresses)."""
    if isinstance(executor, str):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - the test extra installs it
            raise ImportError(
                "a Dask scheduler address needs the optional dask extra: pip install 'lininv[dask]'"
            ) from None
        client = Client(executor, timeout="10s", set_as_default=False)
        return client.get_executor(), client
    return as_executor(executor), None


def sweep(
    spectra: Any,
    ms: Any,
    noise_stds: Any = (0.0,),
    *,
    rtol: float | None = None,
    trials: int | None = None,
    max_trials: int = 100_000,
    rng: Any = None,
    output: str | os.PathLike[str] | None = None,
    executor: Any = None,
    progress: bool = False,
) -> SweepTable:
    r"""Bounds, prediction and Monte-Carlo :math:`E(m)` over a grid of cells, resumably.

    Parameters
    ----------
    spectra : array_like of shape (n,), or mapping of str to array_like
        One spectrum (named ``"s"``) or several by name (e.g. ``{"power:1": s}``).
    ms : int or iterable of int
        Numbers of measurements, each ``1 <= m <= n`` for every spectrum.
    noise_stds : float or iterable of float, default=(0.0,)
        Noise levels ``>= 0``. The upper bounds are the noiseless theorem's and are reported for
        ``noise = 0`` (and ``m >= 2``) only.
    rtol, trials, max_trials
        Passed to :func:`expected_error` for every cell (default: ``rtol = 1e-3``).
    rng : None, int, SeedSequence or Generator, default=None
        Sweep seed. With an existing ``output`` and ``rng=None`` the file's seed is used.
    output : path, optional
        JSON results file: created if missing, resumed if present. Its folder must exist and be
        writable. An existing file with other settings (seed, rtol, trials, max_trials) or with a
        different spectrum under the same name is refused (``ValueError``), never overwritten.
    executor : concurrent.futures.Executor, distributed.Client or str, optional
        Runs cells concurrently; a string is a Dask scheduler address (needs the ``dask``
        extra). In-process and sequential by default.
    progress : bool, default=False
        Show a tqdm progress bar over cells.

    Returns
    -------
    SweepTable
        Rows in grid order: spectra (in the given order), then ``m``, then noise.

    Notes
    -----
    Per cell, with :math:`\hat E` the Monte-Carlo mean and ``[lo, hi]`` its 95% interval: the
    lower bound :math:`\sum_{i>m}s_i^2` holds if it is ``<= hi``; the upper bounds
    (:func:`hmt_upper_bound`, :func:`paper_upper_bound`) hold if ``>= lo``; the prediction's
    relative error is :math:`(\lambda m - \hat E)/\hat E` (:func:`predicted_error`).
    Cell seeds are hashes of the sweep seed and the cell's parameters, so a cell's numbers do not
    depend on the grid it is part of, the executor, or on interruptions.

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
    return execute(
        prepare(
            spectra,
            ms,
            noise_stds,
            rtol=rtol,
            trials=trials,
            max_trials=max_trials,
            rng=rng,
            output=output,
        ),
        executor=executor,
        progress=progress,
    )


@dataclass
class SweepPlan:
    """A validated sweep, ready to run: everything :func:`execute` needs, nothing computed yet."""

    named: dict[str, np.ndarray]
    grid: list[tuple[str, int, float]]
    settings: dict[str, Any]
    path: Path | None
    previous: dict[str, Any] | None
    finished: dict[tuple[str, int, float], dict[str, Any]] = field(default_factory=dict)
    spectra_record: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def todo(self) -> list[tuple[str, int, float]]:
        return [key for key in self.grid if key not in self.finished]


def prepare(
    spectra: Any,
    ms: Any,
    noise_stds: Any = (0.0,),
    *,
    rtol: float | None = None,
    trials: int | None = None,
    max_trials: int = 100_000,
    rng: Any = None,
    output: str | os.PathLike[str] | None = None,
) -> SweepPlan:
    """Validate the arguments of :func:`sweep` and load a previous results file (no computing).

    Raises ``ValueError``/``TypeError`` for bad input, an unwritable output folder, or an existing
    results file that is unreadable or holds other settings; the file is left untouched. A cell
    that :func:`expected_error` would refuse (noise beyond ``1e150 s_max``, or more memory than
    the machine has: :func:`lininv._montecarlo.check_workload`) is refused here, before any cell
    runs.
    """
    named = _as_spectra(spectra)
    ms = [check_int("m", m, low=1) for m in _as_list("ms", ms)]
    for name, s in named.items():
        bad = [m for m in ms if m > s.size]
        if bad:
            raise ValueError(f"ms must be at most n = {s.size} for spectrum {name!r}; got {bad[0]}")
    noises = [check_real("noise_stds", x, low=0.0) for x in _as_list("noise_stds", noise_stds)]
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
    path = None if output is None else Path(output)
    previous: dict[str, Any] | None = None
    if path is not None:
        check_writable_folder(path.parent)
        if path.exists():
            previous = _load(path)
    if rng is None and previous is not None:
        seed = int(previous["settings"]["seed"])
    else:
        seed = _seed_from(rng)
    settings = {"seed": seed, "rtol": rtol, "trials": trials, "max_trials": max_trials}
    grid = [(name, m, x) for name in named for m in ms for x in noises]
    plan = SweepPlan(named, grid, settings, path, previous, spectra_record=dict(named))
    if previous is not None:
        if previous["settings"] != settings:
            raise ValueError(
                f"output {str(path)!r} holds a sweep with settings {previous['settings']}; "
                f"this call has {settings}. Use the same settings to resume, or another output"
            )
        for name, values in previous["spectra"].items():
            old = np.asarray(values, dtype=float)
            # Equal to single precision is the same spectrum: same cell seeds (cell_seed).
            if name in named and parameter_key(old) != parameter_key(named[name]):
                raise ValueError(
                    f"output {str(path)!r} holds a different spectrum named {name!r}; "
                    "rename it or use another output"
                )
            plan.spectra_record.setdefault(name, old)
        for row in previous["rows"]:
            plan.finished[(row["spectrum"], row["m"], row["noise"])] = row
    return plan


def execute(plan: SweepPlan, *, executor: Any = None, progress: bool = False) -> SweepTable:
    """Run a :class:`SweepPlan`: compute the missing cells, saving each as it finishes."""
    pool, client = _resolve_executor(executor)
    grid, named, settings, path = plan.grid, plan.named, plan.settings, plan.path
    finished = plan.finished
    todo = plan.todo
    seed = settings["seed"]
    rtol, trials, max_trials = settings["rtol"], settings["trials"], settings["max_trials"]

    def save() -> None:
        if path is None:
            return
        order = {key: i for i, key in enumerate(grid)}
        rows = sorted(
            finished.values(),
            key=lambda r: (
                order.get((r["spectrum"], r["m"], r["noise"]), len(order)),
                r["spectrum"],
                r["m"],
                r["noise"],
            ),
        )
        SweepTable(rows, settings, plan.spectra_record).to_json(path)

    from tqdm import tqdm

    bar = tqdm(total=len(grid), initial=len(grid) - len(todo), unit="cell", disable=not progress)
    try:
        if path is not None and plan.previous is None:
            save()  # the file exists from the start: settings and seed are recorded
        args = {
            key: (
                key[0],
                named[key[0]],
                key[1],
                key[2],
                cell_seed(seed, named[key[0]], key[1], key[2]),
                rtol,
                trials,
                max_trials,
            )
            for key in todo
        }
        if pool is None:
            for key in todo:
                finished[key] = _compute_cell(*args[key])
                save()
                bar.update()
        else:
            window = max(2, 2 * int(getattr(pool, "_max_workers", 2) or 2))
            queue = iter(todo)
            running: dict[Future, tuple[str, int, float]] = {}
            try:
                while True:
                    while len(running) < window:
                        nxt: tuple[str, int, float] | None = next(queue, None)
                        if nxt is None:
                            break
                        running[pool.submit(_compute_cell, *args[nxt])] = nxt
                    if not running:
                        break
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for fut in done:
                        key = running.pop(fut)
                        finished[key] = fut.result()
                        save()
                        bar.update()
            finally:
                for fut in running:
                    fut.cancel()
    finally:
        bar.close()
        if client is not None:
            client.close()
    return SweepTable([finished[key] for key in grid], dict(settings), dict(named))
