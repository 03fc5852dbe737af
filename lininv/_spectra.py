r"""Named spectra: the singular values of ``G`` from a family and its parameters, or from text.

:func:`spectrum_family` is the one home of the named spectrum families (power law, geometric,
flat, two-level cliff); :func:`make_spectrum` reads the short text form used by
:func:`lininv.sweep`, the ``lininv verify`` command and the notebooks (so that a spectrum can be
written on a command line and recorded in a results file) and builds it with the same formulas.
``proofs_numeric`` and :mod:`lininv.strategies` take their families from here.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from lininv._validation import as_spectrum, check_choice, check_int, check_real, describe

__all__ = ["make_spectrum", "spectrum_family", "SPECTRUM_FAMILIES", "SPECTRUM_FORMS"]

#: The accepted forms, for messages and help texts.
SPECTRUM_FORMS = "'power:a' (s_i^2 = i^-a), 'exp:r' (s_i^2 = r^(i-1)), 'flat', or a file path"

#: The families of :func:`spectrum_family`, with their parameters.
SPECTRUM_FAMILIES = {
    "power": ("a",),
    "exp": ("r",),
    "flat": ("level",),
    "cliff": ("j", "h"),
}


def _indices(n: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=np.float64)


def _power(n: int, a: float) -> np.ndarray:
    return _indices(n) ** (-a / 2.0)


def _exp(n: int, r: float) -> np.ndarray:
    return r ** ((_indices(n) - 1.0) / 2.0)  # one rounding (sqrt(r)^(i-1) compounds sqrt's error)


def _cliff(n: int, j: int, h: float) -> np.ndarray:
    s = np.full(n, math.sqrt(h))
    s[:j] = 1.0
    return s


def _check_representable(s: np.ndarray, what: str, n: int) -> np.ndarray:
    """The squares ``s_i^2`` must be normal doubles (see ``as_spectrum``)."""
    representable = s >= np.sqrt(np.finfo(np.float64).tiny)
    if not np.all(representable):
        raise ValueError(
            f"{what} underflows in double precision at n = {n} (s_i^2 is below "
            f"the smallest normal double from index {int(np.count_nonzero(representable)) + 1})"
        )
    return s


def spectrum_family(family: str, n: int, *params: float) -> np.ndarray:
    r"""Singular values of a named spectrum family: the one definition of each family.

    Parameters
    ----------
    family : {"power", "exp", "flat", "cliff"}
        ``"power"``, parameter ``a >= 0``: :math:`s_i^2 = i^{-a}` (a power law);
        ``"exp"``, parameter ``0 < r <= 1``: :math:`s_i^2 = r^{i-1}` (geometric decay);
        ``"flat"``, optional parameter ``level > 0`` (default 1): :math:`s_i = 	ext{level}`;
        ``"cliff"``, parameters ``1 <= j <= n`` (an int) and ``0 < h <= 1``: :math:`s_i^2 = 1`
        for :math:`i \le j` and :math:`h` after (two levels; ``j = 1`` is one dominant value).
    n : int
        Size, ``>= 1``.
    *params : float
        The family's parameters, in the order above (:data:`SPECTRUM_FAMILIES`).

    Returns
    -------
    s : ndarray of shape (n,)
        Descending, positive, finite; :math:`s_1 = 1` except for a flat level.

    Raises
    ------
    ValueError
        Unknown family, wrong number of parameters, a parameter out of range, or a spectrum
        whose squares underflow in double precision.

    Notes
    -----
    Each value is computed with one correctly rounded operation from its square's formula
    (``i ** (-a / 2)``, ``r ** ((i - 1) / 2)``, ``sqrt(h)``), so :func:`make_spectrum`'s text forms
    (``"power:a"``, ``"exp:r"``, ``"flat"``), which use these formulas, give the same numbers.

    Examples
    --------
    >>> from lininv import spectrum_family
    >>> spectrum_family("cliff", 4, 2, 0.01)
    array([1. , 1. , 0.1, 0.1])
    >>> spectrum_family("power", 3, 2.0) ** 2
    array([1.        , 0.25      , 0.11111111])
    """
    family = check_choice("family", family, tuple(SPECTRUM_FAMILIES))
    n = check_int("n", n, low=1)
    names = SPECTRUM_FAMILIES[family]
    optional = family == "flat"
    if len(params) > len(names) or (len(params) < len(names) and not optional):
        raise ValueError(
            f"spectrum family {family!r} takes the parameters ({', '.join(names)}); "
            f"got {len(params)} values"
        )
    if family == "flat":
        level = 1.0 if not params else check_real("level", params[0], low=0.0, low_open=True)
        return np.full(n, level) if params else np.ones(n)
    if family == "power":
        a = check_real("a", params[0], low=0.0)
        s = _power(n, a)
    elif family == "exp":
        r = check_real("r", params[0], low=0.0, low_open=True, high=1.0)
        s = _exp(n, r)
    else:
        j = check_int("j", params[0], low=1, high=n)
        h = check_real("h", params[1], low=0.0, low_open=True, high=1.0)
        s = _cliff(n, j, h)
    return _check_representable(s, f"spectrum family {family!r}", n)


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
        if name == "flat":
            if param:
                raise ValueError(f"spectrum 'flat' takes no parameter; got {spec!r}")
            return np.ones(n)
        if name == "power":
            a = _parameter(spec, param, low=0.0, high=None, low_open=False)
            s = _power(n, a)
        else:
            r = _parameter(spec, param, low=0.0, high=1.0, low_open=True)
            s = _exp(n, r)
        return _check_representable(s, f"spectrum {spec!r}", n)
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
