"""What every command shares: exit codes, one-line usage errors, flag parsing, progress display.

Commands validate their flags here, in the flags' own names, before any work; a library error
that still reaches the user is reworded to name the flag (:func:`usage_error`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

__all__ = [
    "EXIT_OK",
    "EXIT_FINDING",
    "EXIT_USAGE",
    "EXIT_INCOMPLETE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_CODES_HELP",
    "UsageError",
    "usage_error",
    "parse_int",
    "parse_float",
    "parse_list",
    "parse_seed",
    "progress_printer",
]

#: Everything ran and every checked statement holds.
EXIT_OK = 0
#: Everything ran and something checked does not hold (a bound violated, a proof step failed).
EXIT_FINDING = 1
#: Bad command-line input or an unusable output; nothing was computed.
EXIT_USAGE = 2
#: Results were written, but some did not reach the requested precision or convergence.
EXIT_INCOMPLETE = 3
#: The computation failed (a numerical failure, a crashed worker, a bug); see the message.
EXIT_ERROR = 4
#: Interrupted (Ctrl-C); finished cells are saved and the same command resumes.
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "exit status: 0 done and everything holds; 1 something checked does not hold (a bound "
    "violated, a proof step failed); 2 bad input, nothing computed; 3 results written but some "
    "did not converge or reach the requested precision; 4 the computation failed; 130 "
    "interrupted (finished cells are saved: rerun the same command to resume)"
)


class UsageError(Exception):
    """Bad command-line input: one line on stderr, exit status 2, before any work."""


def usage_error(exc: BaseException, flags: Mapping[str, str]) -> UsageError:
    """A library ``ValueError``/``TypeError`` reworded with the flags the user typed.

    ``flags`` maps API argument names to flags, e.g. ``{"rng": "--seed"}``: a message that
    starts with ``"rng must ..."`` becomes ``"--seed must ..."``.
    """
    text = str(exc)
    for name, flag in flags.items():
        if text.startswith(f"{name} ") or text.startswith(f"{name}:"):
            text = flag + text[len(name) :]
            break
    return UsageError(text)


def parse_int(flag: str, text: str, low: int | None = None, high: int | None = None) -> int:
    try:
        value = int(text.strip())
    except (AttributeError, TypeError, ValueError):
        raise UsageError(f"{flag} must be an integer; got {text!r}") from None
    if low is not None and value < low:
        raise UsageError(f"{flag} must be >= {low}; got {value}")
    if high is not None and value > high:
        raise UsageError(f"{flag} must be <= {high}; got {value}")
    return value


def parse_float(
    flag: str,
    text: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{flag} must be a number; got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{flag} must be finite; got {text!r}")
    value += 0.0  # -0 is 0
    if low is not None and (value < low or (low_open and value == low)):
        raise UsageError(f"{flag} must be {'>' if low_open else '>='} {low:g}; got {value:g}")
    if high is not None and (value > high or (high_open and value == high)):
        raise UsageError(f"{flag} must be {'<' if high_open else '<='} {high:g}; got {value:g}")
    return value


def parse_list(flag: str, text: str, convert: Callable[[str, str], Any]) -> list[Any]:
    """A comma-separated list, converted item by item; duplicates are refused."""
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise UsageError(f"{flag} must be a comma-separated list; got {text!r}")
    values = [convert(flag, t) for t in items]
    seen: set[Any] = set()
    for v in values:
        if v in seen:
            raise UsageError(f"{flag} lists {v!r} twice; got {text!r}")
        seen.add(v)
    return values


def parse_seed(text: str, flag: str = "--seed") -> int:
    return parse_int(flag, text, low=0, high=2**63 - 1)


def progress_printer(stream: TextIO | None = None, *, quiet: bool = False) -> Callable[..., None]:
    """The CLI's ``progress`` callback: a bar on a terminal, a line per finished cell otherwise.

    Off a terminal (a log file, CI) each labelled event prints ``task [done/total] label: info``
    so that a long run shows that it is alive; bulk updates without a label print nothing.
    """
    out = stream if stream is not None else sys.stderr
    tty = bool(getattr(out, "isatty", lambda: False)())
    bars: dict[str, Any] = {}

    def show(event: Any) -> None:
        if quiet:
            return
        if tty:
            from tqdm import tqdm

            bar = bars.get(event.task)
            if bar is None:
                bar = bars[event.task] = tqdm(
                    total=event.total, unit=event.unit, desc=event.task, leave=False, file=out
                )
            bar.update(event.done - bar.n)
            if event.label:
                bar.set_postfix_str(f"{event.label}: {event.info}" if event.info else event.label)
            if event.total is not None and event.done >= event.total:
                bar.close()
                del bars[event.task]
        elif event.label:
            total = "?" if event.total is None else event.total
            info = f": {event.info}" if event.info else ""
            print(f"{event.task} [{event.done}/{total}] {event.label}{info}", file=out, flush=True)

    return show


def report_stem_paths(output: Any, what: str, extensions: tuple[str, ...]) -> dict[str, Any]:
    """``STEM.<ext>`` for each extension and the resume file ``STEM.partial.json``, checked
    before work.

    A stem given with one of ``extensions`` as its suffix loses it. Raises ``ValueError`` naming
    ``what`` for an empty stem, a folder, a path ending in a separator, or an unwritable place
    (:func:`lininv._io.output_file`; the stem's folder is created).
    """
    import os

    from lininv._io import output_file

    text = os.fspath(output)
    if not text.strip():
        listed = ", ".join(f"STEM.{ext}" for ext in extensions[:2])
        raise ValueError(f"{what} must be a path stem ({listed}... are written); got {text!r}")
    stem = output_file(text, what)
    if stem.suffix in tuple(f".{ext}" for ext in extensions):
        stem = stem.with_suffix("")
    paths = {ext: stem.with_name(f"{stem.name}.{ext}") for ext in extensions}
    paths["partial"] = stem.with_name(f"{stem.name}.partial.json")
    for path in paths.values():
        output_file(path, what)
    return paths
