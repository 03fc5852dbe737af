"""What an experiment returns, and its files: ``NAME.csv`` and ``NAME.json`` with provenance."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lininv._io import atomic_write, output_folder, to_jsonable
from lininv._table import Table
from lininv._validation import describe

__all__ = ["ExperimentResult", "save_result", "load_result", "result_paths"]


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment returns: numbers only (figures are drawn by :mod:`lininv.plotting`).

    Attributes
    ----------
    name : str
        The experiment's command name, e.g. ``"compressed-sensing"``.
    table : Table
        The numbers; ``table.meta`` is the run's provenance (versions, platform, CPU, BLAS, seed,
        command; :func:`lininv._provenance.provenance`).
    params : dict
        Every setting, the seed included.
    data : dict
        Further results (JSON-serialisable), e.g. chosen weights or summaries.
    figure_data : dict
        What the figures draw beyond the table (example reconstructions, scatter data), arrays
        and their labels; JSON-serialisable after :func:`lininv._io.to_jsonable`.
    seconds : float
        Wall-clock time of this call (resumed cells cost nothing).
    compute_seconds : float
        Wall-clock time of computing every cell, summed, whichever run computed them (a resumed
        run reports the original cost).

    Examples
    --------
    >>> from lininv._table import Table
    >>> from lininv.experiments import ExperimentResult
    >>> r = ExperimentResult("demo", Table(["m", "error"], [{"m": 8, "error": 0.5}]), {"seed": 0})
    >>> r.table.column("error"), r.provenance
    ([0.5], {})
    """

    name: str
    table: Table
    params: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    figure_data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    compute_seconds: float = 0.0

    @property
    def provenance(self) -> dict[str, Any]:
        """The run's provenance (the table's ``meta``)."""
        return dict(self.table.meta)

    def save(self, folder: Any) -> list[str]:
        """:func:`save_result` of this result."""
        return save_result(self, folder)


#: Placeholder for the figure data while the rest of the payload is indented.
_FIGURE_DATA = "@lininv-figure-data@"


def result_paths(folder: Any, name: str) -> dict[str, Path]:
    """The files of experiment ``name`` in ``folder``: ``{"csv", "json", "png"}`` paths."""
    return {ext: Path(folder) / f"{name}.{ext}" for ext in ("csv", "json", "png")}


def save_result(result: ExperimentResult, folder: Any) -> list[str]:
    """Write ``NAME.csv`` (the table, provenance as ``#`` lines) and ``NAME.json``.

    The JSON holds ``name``, ``provenance``, ``params``, ``table`` (title, columns, rows),
    ``data``, ``seconds``, ``compute_seconds`` and ``figure_data`` (NaN written as null);
    :func:`load_result` reads it back.
    Both files are written atomically.

    Parameters
    ----------
    result : ExperimentResult
    folder : path-like
        Created if missing.

    Returns
    -------
    list of str
        The paths of the CSV and the JSON file.

    Examples
    --------
    >>> import tempfile
    >>> from lininv._table import Table
    >>> from lininv.experiments import ExperimentResult, load_result, save_result
    >>> table = Table(["m", "error"], [{"m": 8, "error": 0.1 + 0.2}], meta={"seed": 0})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = save_result(ExperimentResult("demo", table, {"seed": 0}), folder)
    ...     back = load_result(folder, "demo")
    >>> back.table.rows, back.provenance
    ([{'m': 8, 'error': 0.30000000000000004}], {'seed': 0})
    """
    if not isinstance(result, ExperimentResult):
        raise TypeError(f"result must be an ExperimentResult; got {describe(result)}")
    paths = result_paths(output_folder(folder, "folder"), result.name)
    result.table.to_csv(paths["csv"])
    table = result.table.to_dict()
    table.pop("meta", None)  # written once, as "provenance"
    payload = {
        "name": result.name,
        "provenance": to_jsonable(result.table.meta),
        "params": to_jsonable(result.params),
        "table": table,
        "data": to_jsonable(result.data),
        "seconds": result.seconds,
        "compute_seconds": result.compute_seconds,
        "figure_data": _FIGURE_DATA,
    }
    # the figure's arrays on one line: thousands of numbers, one per line, would bury the rest
    text = json.dumps(payload, indent=1).replace(
        json.dumps(_FIGURE_DATA), json.dumps(to_jsonable(result.figure_data))
    )
    atomic_write(paths["json"], text)
    return [os.fspath(paths["csv"]), os.fspath(paths["json"])]


def load_result(folder: Any, name: str) -> ExperimentResult:
    """Read the result of experiment ``name`` saved in ``folder`` by :func:`save_result`.

    Parameters
    ----------
    folder : path-like
        For example ``"docs/figures"``, where the repository keeps the full-size results.
    name : str
        The experiment's command name.

    Returns
    -------
    ExperimentResult
        As saved; ``figure_data`` holds lists (``None`` where a value was NaN), which
        ``numpy.asarray(..., dtype=float)`` turns back into arrays.
    """
    path = result_paths(folder, name)["json"]
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        table = Table(
            payload["table"]["columns"],
            list(payload["table"]["rows"]),
            payload["table"].get("title", ""),
            dict(payload.get("provenance") or {}),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a saved experiment result: {exc}") from None
    return ExperimentResult(
        payload.get("name", name),
        table,
        dict(payload.get("params") or {}),
        dict(payload.get("data") or {}),
        dict(payload.get("figure_data") or {}),
        float(payload.get("seconds") or 0.0),
        float(payload.get("compute_seconds") or 0.0),
    )
