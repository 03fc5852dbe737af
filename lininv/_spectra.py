r"""Named spectra: the singular values of ``G`` from a short text specification.

Used by :func:`lininv.sweep`, the ``lininv verify`` command and the notebooks, so that a spectrum
can be written on a command line and recorded in a results file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lininv._validation import as_spectrum, check_int, describe

__all__ = ["make_spectrum", "SPECTRUM_FORMS"]

#: The accepted forms, for messages and help texts.
SPECTRUM_FORMS = "'power:a' (s_i^2 = i^-a), 'exp:r' (s_i^2 = r^(i-1)), 'flat', or a file path"


def _parameter(spec: str, text: str, *, low: float, high: float | None, low_open: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"spectrum {spec!r}: parameter must be a number; got {text!r}") from None
    if (
        not np.isfinite(value)
        or value < low
        or (low_open and value == low)
        or (high is not None and value > high)
    ):
        lo = f"({low:g}" if low_open else f"[{low:g}"
        hi = "inf)" if high is None else f"{high:g}]"
        raise ValueError(f"spectrum {spec!r}: parameter must be in {lo}, {hi}; got {value:g}")
    return value


def make_spectrum(spec: str | os.PathLike[str], n: int | None = None) -> np.ndarray:
    r"""Singular values of ``G`` from a specification string or a file.

    Parameters
    ----------
    spec : str or path-like
        ``"power:a"``: :math:`s_i^2 = i^{-a}` (``a >= 0``, a power law);
        ``"exp:r"``: :math:`s_i^2 = r^{i-1}` (``0 < r <= 1``, geometric decay);
        ``"flat"``: :math:`s_i = 1`;
        otherwise the path of a text file of positive singular values (separated by
        whitespace, commas or newlines; ``#`` starts a comment; any order).
    n : int, optional
        Size. Required for the named forms; for a file it must equal the number of values if
        given (``None`` takes the file as is).

    Returns
    -------
    s : ndarray of shape (n,)
        Descending, positive, finite.

    Raises
    ------
    ValueError
        Unknown form, parameter out of range, a spectrum whose squares underflow in double
        precision, or a file that is missing, unreadable, empty or of the wrong size.

    Examples
    --------
    >>> from lininv import make_spectrum
    >>> make_spectrum("power:2", 3) ** 2  # s_i^2 = i^-2
    array([1.        , 0.25      , 0.11111111])
    >>> make_spectrum("exp:0.25", 3)
    array([1.  , 0.5 , 0.25])
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"spec must be a non-empty string or a path; got {describe(spec)}")
    if n is not None:
        n = check_int("n", n, low=1)
    name, _, param = spec.partition(":")
    if name in ("power", "exp", "flat"):
        if n is None:
            raise ValueError(f"n is required for spectrum {spec!r}")
        i = np.arange(1, n + 1, dtype=np.float64)
        if name == "flat":
            if param:
                raise ValueError(f"spectrum 'flat' takes no parameter; got {spec!r}")
            return np.ones(n)
        if name == "power":
            a = _parameter(spec, param, low=0.0, high=None, low_open=False)
            s = i ** (-a / 2.0)
        else:
            r = _parameter(spec, param, low=0.0, high=1.0, low_open=True)
            s = r ** ((i - 1.0) / 2.0)  # one rounding (sqrt(r)^(i-1) compounds sqrt's error)
        # The squares s_i^2 = r^(i-1) (or i^-a) must be normal doubles (see as_spectrum).
        representable = s >= np.sqrt(np.finfo(np.float64).tiny)
        if not np.all(representable):
            raise ValueError(
                f"spectrum {spec!r} underflows in double precision at n = {n} (s_i^2 is below "
                f"the smallest normal double from index {int(np.count_nonzero(representable)) + 1})"
            )
        return s
    return _from_file(spec, n)


def _from_file(spec: str, n: int | None) -> np.ndarray:
    path = Path(spec)
    if not path.is_file():
        raise ValueError(
            f"spectrum must be {SPECTRUM_FORMS}; got {spec!r}, which is neither a known form "
            "nor an existing file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"spectrum file {spec!r} could not be read: {exc}") from None
    tokens = [
        t for line in text.splitlines() for t in line.split("#", 1)[0].replace(",", " ").split()
    ]
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"spectrum file {spec!r} could not be read as numbers: {exc}") from None
    if values.size == 0:
        raise ValueError(f"spectrum file {spec!r} holds no values")
    if n is not None and values.size != n:
        raise ValueError(f"spectrum file {spec!r} holds {values.size} values; n = {n} was asked")
    try:
        return as_spectrum(f"spectrum file {spec!r}", values)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
