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

from typing import Any

from lininv._npz import check_model_path, check_params, read_model, write_model
from lininv._validation import describe
from lininv.generators._generator import Generator

__all__ = ["FORMAT", "FORMAT_VERSION", "GeneratorFileError", "save", "load"]

FORMAT = "lininv.generators.Generator"
FORMAT_VERSION = 1


class GeneratorFileError(ValueError):
    """A file that is not a readable lininv generator of a supported format version."""


def save(generator: Generator, path: Any) -> None:
    """Write ``generator`` to ``path`` (format above), atomically.

    Parameters
    ----------
    generator : Generator
    path : str or os.PathLike
        Written as given (no suffix is added; ``.npz`` is conventional); its folder must exist.
    """
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a lininv.generators.Generator; got {describe(generator)}"
        )
    write_model(
        check_model_path(path),
        fmt=FORMAT,
        version=FORMAT_VERSION,
        architecture=generator.architecture(),
        params=generator.get_params(),
        metadata=generator.metadata,
        what="generator",
    )


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
    path = check_model_path(path)
    file = read_model(
        path, fmt=FORMAT, version=FORMAT_VERSION, what="generator", error=GeneratorFileError
    )
    arch = file.architecture
    try:
        gen = Generator(
            arch["k"],
            arch["n"],
            hidden=arch["hidden"],
            activation=arch["activation"],
            output=arch["output"],
            kind=arch["kind"],
            rng=0,
            metadata=file.metadata,
        )
    except Exception as exc:
        raise GeneratorFileError(
            f"{path!r} is a damaged lininv generator file (architecture or metadata unreadable): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    check_params(file.params, gen.n_params, path, GeneratorFileError)
    gen._set_params(file.params)
    return gen
