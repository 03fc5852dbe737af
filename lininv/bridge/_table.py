"""A small results table: rows of named values, written as CSV, JSON or Markdown."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Table", "atomic_write_text"]


def atomic_write_text(path: Any, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then replace)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _plain(value: Any) -> Any:
    """Convert numpy scalars to Python scalars so rows serialise to JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value


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
        return Table(self.columns, rows, self.title)

    def to_csv(self, path: Any = None) -> str:
        """CSV text (full precision); written atomically to ``path`` if given."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in self.columns})
        text = buf.getvalue()
        if path is not None:
            atomic_write_text(path, text)
        return text

    def to_dict(self) -> dict[str, Any]:
        """``{"title", "columns", "rows"}``, JSON-serialisable (NaN written as null)."""
        rows = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in row.items()
            }
            for row in self.rows
        ]
        return {"title": self.title, "columns": list(self.columns), "rows": rows}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        """Inverse of :meth:`to_dict`."""
        return cls(data["columns"], list(data["rows"]), data.get("title", ""))

    def to_json(self, path: Any = None) -> str:
        """JSON text of :meth:`to_dict`; written atomically to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            atomic_write_text(path, text)
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
