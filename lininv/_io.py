"""Files: one atomic write, output paths checked before work, a lock, one resumable cell store.

Every file lininv writes goes through :func:`atomic_write`: a temporary file in the same folder,
flushed to disk, then :func:`os.replace`, so a reader (or a later run) sees the old file or the
new one, never a partial write. Long computations keep their finished cells in a
:class:`CellStore`: one JSON file, rewritten atomically after each cell, holding the run's
parameters, the provenance of every run that added to it, and each cell with a checksum. A store
is locked while open (:class:`Lock`), so two runs on one output cannot silently lose each
other's cells, and it is validated when opened: a damaged or edited file is refused with a
message naming it, never trusted.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "atomic_write",
    "output_folder",
    "output_file",
    "Lock",
    "OutputInUseError",
    "CellStore",
    "StoreError",
    "to_jsonable",
]


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically and durably.

    The file gets the usual permissions of a new file (``0o666`` less the umask).
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _probe_writable(folder: Path, what: str) -> None:
    probe = folder / f".lininv-probe.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ValueError(
            f"{what} {str(folder)!r} is not a writable folder: {exc.strerror or exc}"
        ) from None
    os.close(fd)
    os.unlink(probe)


def output_folder(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Check, before any work, that ``path`` is (or can be created as) a writable folder.

    Creates the folder. Raises ``ValueError`` naming ``what`` (for example ``"--output"``) for an
    empty path, an existing file, or a place where files cannot be created.
    """
    text = os.fspath(path)
    if not text:
        raise ValueError(f"{what} must be a folder path; got an empty string")
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {text!r} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"{what} {text!r} cannot be created as a folder: {exc.strerror or exc}"
        ) from None
    _probe_writable(folder, what)
    return folder


def output_file(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Check, before any work, that a file can be written at ``path``.

    The parent folder is created if missing. Raises ``ValueError`` naming ``what`` for an empty
    path, a path ending in a separator, an existing folder, or an unwritable place.
    """
    text = os.fspath(path)
    if not text:
        raise ValueError(f"{what} must be a file path; got an empty string")
    if text.endswith(("/", os.sep)):
        raise ValueError(f"{what} must be a file path, not a folder; got {text!r}")
    file = Path(text)
    if file.is_dir():
        raise ValueError(f"{what} {text!r} is a folder; a file path is expected")
    output_folder(file.parent if str(file.parent) else Path("."), f"the folder of {what}")
    return file


class OutputInUseError(ValueError):
    """Another process holds the lock on an output."""


class Lock:
    """An exclusive, non-blocking lock on ``path``, held through a hidden file ``.NAME.lock`` beside it.

    Uses ``fcntl.flock``, which the operating system releases when the process ends, so a killed
    run leaves no stale lock (at most an unlocked file, reused by the next run). A clean release
    deletes the file while still holding the lock; an acquirer checks, once it holds the lock,
    that the file it locked is still the one at that path, so deleting it cannot let two runs in.
    On platforms without ``fcntl`` the lock is a no-op.

    Raises
    ------
    OutputInUseError
        At :meth:`acquire` when another process holds it.
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "output") -> None:
        target = Path(path)
        self.target = target
        self.path = target.parent / f".{target.name}.lock"
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> Lock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        for _ in range(100):  # another run may delete the file between our open and flock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise OutputInUseError(
                        f"{self.what} {str(self.target)!r} is in use by another lininv run "
                        f"(pid {holder}); wait for it to finish or use another output"
                    ) from None
                raise
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode())
                self._fd = fd
                return self
            os.close(fd)  # we locked a file that was deleted meanwhile: try again
        raise OutputInUseError(f"{self.what} {str(self.target)!r}: could not take its lock")

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.unlink(self.path)  # while holding the lock (see acquire)
            except OSError:
                pass
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> Lock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def to_jsonable(value: Any) -> Any:
    """Numpy arrays and scalars to lists and Python scalars, recursively.

    Non-finite floats become ``None`` (JSON has no NaN); tuples become lists.
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _checksum(value: Any) -> str:
    return hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()


class StoreError(ValueError):
    """A cell store that cannot be used: damaged, edited, or holding another run's cells."""


_FORMAT = "lininv-cells"
_VERSION = 1


class CellStore:
    """Finished cells of one long computation, in one JSON file, so that a rerun resumes.

    Parameters
    ----------
    path : path-like
        The store's file. Created (with its parameters) if missing; resumed if present. Its
        folder must exist.
    params : dict
        JSON-serialisable parameters of the run. A store holding cells of *other* parameters is
        refused rather than mixed.
    provenance : dict, optional
        The environment of this run (:func:`lininv._provenance.provenance`), recorded with every
        cell it adds.
    validate : callable, optional
        ``validate(key, value)`` raises ``ValueError`` for a stored cell that is not a valid
        result (wrong keys, non-finite numbers, verdicts that do not follow from the numbers).
        Called on every stored cell when the store is opened.
    what : str, default="output"
        How messages name the store (for example ``"--output"``).

    Notes
    -----
    Each cell is stored with the SHA-256 of its canonical JSON; a cell whose checksum does not
    match (an edited or damaged file) is refused with :class:`StoreError`, as is an unreadable
    file or one of another format. The store holds an exclusive :class:`Lock` from :meth:`open`
    to :meth:`close` (use it as a context manager): a second run on the same store fails at once
    with :class:`OutputInUseError`.

    Examples
    --------
    >>> import tempfile, os
    >>> from lininv._io import CellStore
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "cells.json")
    ...     with CellStore(path, {"seed": 0}) as store:
    ...         store.put("m=8", {"error": 1.5})
    ...     with CellStore(path, {"seed": 0}) as store:
    ...         store.get("m=8")
    {'error': 1.5}
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        params: dict[str, Any],
        *,
        provenance: dict[str, Any] | None = None,
        validate: Callable[[str, Any], None] | None = None,
        what: str = "output",
    ) -> None:
        self.path = Path(path)
        self.params = to_jsonable(params)
        self.what = what
        self._validate = validate
        self._provenance = to_jsonable(provenance or {})
        self._lock = Lock(self.path, what)
        self._cells: dict[str, dict[str, Any]] = {}
        self._runs: list[dict[str, Any]] = []
        self._run: int | None = None
        self._open = False

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> CellStore:
        """Lock the store and load (and validate) its cells; create the file if missing."""
        self._lock.acquire()
        try:
            if self.path.exists():
                self._load()
            self._open = True
            if not self.path.exists():
                self._save()
        except BaseException:
            self._lock.release()
            raise
        return self

    def close(self) -> None:
        self._open = False
        self._lock.release()

    def __enter__(self) -> CellStore:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cells ----------------------------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        return key in self._cells

    def __len__(self) -> int:
        return len(self._cells)

    def keys(self) -> list[str]:
        """Keys of the finished cells."""
        return list(self._cells)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of a finished cell, or ``default``."""
        cell = self._cells.get(key)
        return default if cell is None else cell["value"]

    def items(self) -> Iterator[tuple[str, Any]]:
        return ((k, c["value"]) for k, c in self._cells.items())

    def put(self, key: str, value: Any) -> None:
        """Store a finished cell and write the store (atomically)."""
        if not self._open:
            raise RuntimeError("the cell store is not open; use it as a context manager")
        if self._run is None:  # a run from the same environment and command is the same run
            if self._provenance not in self._runs:
                self._runs.append(self._provenance)
            self._run = self._runs.index(self._provenance)
        value = to_jsonable(value)
        self._cells[str(key)] = {"value": value, "run": self._run, "sha256": _checksum(value)}
        self._save()

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The provenance of each run that stored cells, in order."""
        return list(self._runs)

    # -- file -----------------------------------------------------------------------------------

    def _refuse(self, why: str) -> StoreError:
        return StoreError(
            f"{self.what} {str(self.path)!r} {why}; delete it to start afresh, or use another "
            "output"
        )

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._refuse(f"cannot be read as a cell store ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise self._refuse(f"is not a lininv cell store (format {_FORMAT!r} expected)")
        if data.get("version") != _VERSION:
            raise self._refuse(
                f"has cell-store version {data.get('version')!r}; this lininv reads {_VERSION}"
            )
        if data.get("params") != self.params:
            raise self._refuse(
                f"holds cells of a run with other parameters (stored {data.get('params')}, "
                f"requested {self.params})"
            )
        runs, cells = data.get("runs"), data.get("cells")
        if not isinstance(runs, list) or not isinstance(cells, dict):
            raise self._refuse("is damaged (no 'runs' list or 'cells' mapping)")
        for key, cell in cells.items():
            if (
                not isinstance(cell, dict)
                or set(cell) != {"value", "run", "sha256"}
                or not isinstance(cell["run"], int)
                or not 0 <= cell["run"] < len(runs)
            ):
                raise self._refuse(f"has a damaged cell {key!r}")
            if _checksum(cell["value"]) != cell["sha256"]:
                raise self._refuse(f"has a cell {key!r} whose checksum does not match its value")
            if self._validate is not None:
                try:
                    self._validate(key, cell["value"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._refuse(f"has an invalid cell {key!r}: {exc}") from None
        self._runs, self._cells = runs, cells

    def _save(self) -> None:
        data = {
            "format": _FORMAT,
            "version": _VERSION,
            "params": self.params,
            "runs": self._runs,
            "cells": dict(sorted(self._cells.items())),  # bytes independent of finishing order
        }
        atomic_write(self.path, json.dumps(data, indent=1, allow_nan=False) + "\n")
