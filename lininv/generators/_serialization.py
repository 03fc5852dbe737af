r"""Saving and loading generators: a documented, versioned ``.npz``.

Format version 1 (``numpy.savez``, no pickled objects; read with ``allow_pickle=False``):

===================  ==================================================================
key                  content
===================  ==================================================================
``format``           the string ``"lininv.generators.Generator"``
``format_version``   integer scalar, ``1``
``lininv_version``   the writing lininv's version string (informational)
``architecture``     JSON: ``{"k", "n", "hidden", "activation", "output", "kind"}``, the
                     :class:`Generator` constructor's arguments
``params``           float64 vector of all parameters (:meth:`Generator.get_params`: the
                     decoder's layers ``W_0, b_0, W_1, ...`` row-major, then the encoder's)
``metadata``         JSON object: recipe, data split, training summary, results, provenance
===================  ==================================================================

A file of another ``format_version``, a file that is not a generator, or a damaged file raises
:class:`GeneratorFileError` (a ``ValueError``) with the reason.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import numpy as np

from lininv._io import atomic_write
from lininv._validation import describe
from lininv.generators._generator import Generator

__all__ = ["FORMAT", "FORMAT_VERSION", "GeneratorFileError", "save", "load"]

FORMAT = "lininv.generators.Generator"
FORMAT_VERSION = 1


class GeneratorFileError(ValueError):
    """A file that is not a readable lininv generator of a supported format version."""


def _check_path(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {describe(path)}")
    return os.fspath(path)


def save(generator: Generator, path: Any) -> None:
    """Write ``generator`` to ``path`` (format above), atomically.

    Parameters
    ----------
    generator : Generator
    path : str or os.PathLike
        Written as given (no suffix is added; ``.npz`` is conventional).
    """
    import lininv

    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a lininv.generators.Generator; got {describe(generator)}"
        )
    path = _check_path(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"path's folder does not exist: {folder}")
    try:
        meta = json.dumps(generator.metadata, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"generator.metadata must be JSON-serialisable; {exc}") from exc
    buf = io.BytesIO()
    np.savez(
        buf,
        format=np.array(FORMAT),
        format_version=np.array(FORMAT_VERSION),
        lininv_version=np.array(lininv.__version__),
        architecture=np.array(json.dumps(generator.architecture())),
        params=generator.get_params(),
        metadata=np.array(meta),
    )
    atomic_write(path, buf.getvalue())


def load(path: Any) -> Generator:
    """Read a generator written by :meth:`Generator.save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Generator
        With its ``metadata``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    GeneratorFileError
        If the file is not a lininv generator, is damaged, or has another format version.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from lininv import generators
    >>> gen = generators.Generator(4, n=16, hidden=8, rng=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     gen.save(os.path.join(d, "g.npz"))
    ...     back = generators.load(os.path.join(d, "g.npz"))
    >>> bool(np.array_equal(back.get_params(), gen.get_params()))
    True
    """
    path = _check_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no generator file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except Exception as exc:  # zipfile.BadZipFile, pickled objects, truncated members, ...
        raise GeneratorFileError(
            f"{path!r} is not a readable lininv generator file (.npz): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(contents, dict) or "format" not in contents:
        raise GeneratorFileError(f"{path!r} is not a lininv generator file: it has no 'format'")
    if str(contents["format"]) != FORMAT:
        raise GeneratorFileError(
            f"{path!r} is not a lininv generator file: format is {str(contents['format'])!r}, "
            f"expected {FORMAT!r}"
        )
    try:
        version = int(contents["format_version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GeneratorFileError(f"{path!r} has no valid 'format_version' entry") from exc
    if version != FORMAT_VERSION:
        raise GeneratorFileError(
            f"{path!r} has generator file format version {version}; this lininv reads version "
            f"{FORMAT_VERSION} (written by lininv {str(contents.get('lininv_version', '?'))})"
        )
    try:
        arch = json.loads(str(contents["architecture"]))
        meta = json.loads(str(contents["metadata"]))
        params = np.asarray(contents["params"], dtype=np.float64)
        gen = Generator(
            arch["k"],
            arch["n"],
            hidden=arch["hidden"],
            activation=arch["activation"],
            output=arch["output"],
            kind=arch["kind"],
            rng=0,
            metadata=meta,
        )
    except Exception as exc:
        raise GeneratorFileError(
            f"{path!r} is a damaged lininv generator file (architecture or metadata unreadable): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if params.shape != (gen.n_params,):
        raise GeneratorFileError(
            f"{path!r} is damaged: {params.size} parameters stored, the architecture needs "
            f"{gen.n_params}"
        )
    if not np.all(np.isfinite(params)):
        raise GeneratorFileError(f"{path!r} is damaged: its parameters contain NaN or infinity")
    gen._set_params(params)
    return gen
