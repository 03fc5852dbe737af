"""Progress of long computations: one meaning of ``progress=`` everywhere.

Every long-running public function takes ``progress``:

* ``False`` or ``None`` (the default): silent;
* ``True``: a tqdm progress bar on stderr (what a notebook or script user expects);
* a callable ``progress(event)``: called with a :class:`ProgressEvent` after each unit of work,
  so the caller decides how it looks. The command line passes one that draws a bar on a terminal
  and prints a line per finished cell otherwise (logs, CI).

Library code never prints: it calls :func:`progress_sink` and reports through the sink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lininv._validation import describe

__all__ = ["ProgressEvent", "Progress", "check_progress", "progress_sink"]


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a long computation.

    Attributes
    ----------
    task : str
        What is running, e.g. ``"verify"`` or ``"E(m=64)"``.
    done, total : int
        Units finished so far and in all (``total`` may be ``None`` if unknown).
    unit : str
        What a unit is (``"cell"``, ``"draw"``, ``"epoch"``).
    label : str
        The unit just finished, e.g. ``"power:1 m=64 noise=0"``; empty for bulk updates.
    info : str
        A short status of that unit, e.g. ``"2.3159 +- 0.0004 (2112 draws)"`` or
        ``"NOT CONVERGED"``; empty if none.
    """

    task: str
    done: int
    total: int | None
    unit: str
    label: str = ""
    info: str = ""


#: What ``progress=`` accepts.
Progress = bool | None | Callable[[ProgressEvent], Any]


def check_progress(progress: Any, name: str = "progress") -> Progress:
    """Validate a ``progress`` argument (a bool, ``None`` or a callable)."""
    if progress is None or isinstance(progress, bool) or callable(progress):
        return progress
    raise TypeError(f"{name} must be a bool or a callable(ProgressEvent); got {describe(progress)}")


class _Sink:
    def __init__(self, progress: Progress, task: str, total: int | None, unit: str, initial: int):
        self._callback = progress if callable(progress) and not isinstance(progress, bool) else None
        self._bar: Any = None
        if progress is True:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, unit=unit, desc=task, leave=False)
        self.task, self.total, self.unit, self.done = task, total, unit, initial

    def update(self, n: int = 1, *, label: str = "", info: str = "") -> None:
        """Report ``n`` more units done (the last one described by ``label`` and ``info``)."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        if self._callback is not None:
            self._callback(ProgressEvent(self.task, self.done, self.total, self.unit, label, info))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextmanager
def progress_sink(
    progress: Progress, task: str, total: int | None, unit: str, *, initial: int = 0
) -> Iterator[_Sink]:
    """A sink for one computation's progress: silent, a tqdm bar, or the caller's callback.

    Parameters
    ----------
    progress : bool, None or callable
        A validated ``progress=`` argument (see the module docstring and
        :func:`lininv.validation.check_progress`): ``False``/``None`` silent, ``True`` a tqdm bar
        on stderr, a callable receives a :class:`ProgressEvent` per update.
    task : str
        What is running, e.g. ``"proofs"``.
    total : int or None
        Units in all, if known.
    unit : str
        What a unit is (``"step"``, ``"cell"``...).
    initial : int, default=0
        Units already done (a resumed computation).

    Yields
    ------
    sink
        ``sink.update(n=1, *, label="", info="")`` reports ``n`` more units done, the last one
        described by ``label`` and ``info``.

    Notes
    -----
    Library code never prints: a long computation reports through the sink, and the caller (a
    notebook, the command line) decides how progress looks.

    Examples
    --------
    >>> from lininv import progress_sink
    >>> seen = []
    >>> with progress_sink(seen.append, "demo", 2, "cell") as sink:
    ...     sink.update(label="a", info="ok")
    ...     sink.update(label="b")
    >>> [(e.done, e.label, e.info) for e in seen]
    [(1, 'a', 'ok'), (2, 'b', '')]
    """
    sink = _Sink(progress, task, total, unit, initial)
    try:
        yield sink
    finally:
        sink.close()
