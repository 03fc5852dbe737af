"""The one results table: rows of named values with their provenance, as CSV, JSON or Markdown.

Every table lininv writes (sweeps, the bridge's experiments, the proofs' reports) is a
:class:`Table`. Its ``meta`` mapping (the provenance of the run: versions, platform, seed,
command, and the run's settings) is written with the rows: as ``# key: value`` lines at the top
of a CSV file (``pandas.read_csv(path, comment="#")`` skips them; :meth:`Table.read_csv` returns
them) and under ``"meta"`` in JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lininv._io import atomic_write, to_jsonable

__all__ = ["Table"]


def _plain(value: Any) -> Any:
    """Convert numpy scalars to Python scalars so rows serialise to JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _parse_cell(text: str | None) -> Any:
    if text is None or text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parse_meta(text: str) -> Any:
    """Mappings and lists were written as JSON; everything else comes back as the text."""
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def _format(value: Any, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value == 0.0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.{digits}g}"
        return f"{value:.{max(digits - 1, 1)}e}"
    return str(value)


@dataclass
class Table:
    """Rows of results with a fixed column order.

    Parameters
    ----------
    columns : sequence of str
        Column names, in output order.
    rows : list of dict, optional
        One dict per row; missing keys are written as empty cells.
    title : str, default=""
        Shown by :meth:`to_markdown`.
    meta : dict, optional
        Provenance and settings of the run that made the rows (:func:`lininv._provenance.
        provenance`), written with them by :meth:`to_csv` and :meth:`to_json`.

    Examples
    --------
    >>> t = Table(["m", "error"], [{"m": 8, "error": 1.5}, {"m": 16, "error": 0.25}])
    >>> print(t.to_markdown())
    | m | error |
    |---|---|
    | 8 | 1.5 |
    | 16 | 0.25 |
    >>> t.column("error")
    [1.5, 0.25]
    """

    columns: Sequence[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.columns = list(self.columns)
        self.rows = [{k: _plain(v) for k, v in row.items()} for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: dict[str, Any]) -> None:
        """Add one row (unknown keys are an error: they would be silently dropped on output)."""
        extra = set(row) - set(self.columns)
        if extra:
            raise ValueError(f"row has keys not among the columns {self.columns}: {sorted(extra)}")
        self.rows.append({k: _plain(v) for k, v in row.items()})

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add several rows."""
        for row in rows:
            self.append(row)

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order (``None`` where missing)."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns are {self.columns}")
        return [row.get(name) for row in self.rows]

    def where(self, **match: Any) -> Table:
        """Rows whose values equal all the given ``column=value`` pairs, as a new table."""
        rows = [r for r in self.rows if all(r.get(k) == v for k, v in match.items())]
        return Table(self.columns, rows, self.title, dict(self.meta))

    def to_csv(self, path: Any = None) -> str:
        """CSV text (full precision) after ``# key: value`` lines of :attr:`meta`.

        Written atomically to ``path`` if given. Values of ``meta`` that are not strings or
        numbers are written as JSON.
        """
        buf = io.StringIO()
        for key, value in self.meta.items():
            text = value if isinstance(value, str) else json.dumps(to_jsonable(value))
            buf.write(f"# {key}: {' '.join(str(text).splitlines())}\n")
        writer = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in self.columns})
        text = buf.getvalue()
        if path is not None:
            atomic_write(path, text)
        return text

    @classmethod
    def read_csv(cls, path: Any) -> Table:
        """Read a CSV written by :meth:`to_csv`: ``meta`` from the ``#`` lines, then the rows.

        Values come back as ``int``, ``float``, ``bool`` or ``str`` (empty cells as ``None``);
        floats are exact (they are written with full precision).
        """
        with open(os.fspath(path), encoding="utf-8", newline="") as fh:
            lines = fh.read().splitlines()
        meta: dict[str, Any] = {}
        body = 0
        while body < len(lines) and lines[body].startswith("#"):
            key, _, value = lines[body][1:].strip().partition(": ")
            meta[key] = _parse_meta(value)
            body += 1
        reader = csv.DictReader(lines[body:])
        rows = [{k: _parse_cell(v) for k, v in r.items()} for r in reader]
        return cls(reader.fieldnames or [], rows, meta=meta)

    def to_dict(self) -> dict[str, Any]:
        """``{"title", "columns", "rows", "meta"}``, JSON-serialisable (NaN written as null)."""
        rows = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in row.items()
            }
            for row in self.rows
        ]
        out = {"title": self.title, "columns": list(self.columns), "rows": rows}
        if self.meta:
            out["meta"] = to_jsonable(self.meta)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        """Inverse of :meth:`to_dict`."""
        return cls(data["columns"], list(data["rows"]), data.get("title", ""), data.get("meta", {}))

    def to_json(self, path: Any = None) -> str:
        """JSON text of :meth:`to_dict`; written atomically to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            atomic_write(path, text)
        return text

    def to_markdown(self, digits: int = 4) -> str:
        """A Markdown table, numbers to ``digits`` significant digits."""
        lines = []
        if self.title:
            lines += [f"**{self.title}**", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "---|" * len(self.columns))
        for row in self.rows:
            lines.append(
                "| " + " | ".join(_format(row.get(k), digits) for k in self.columns) + " |"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()
