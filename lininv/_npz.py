"""Versioned model files: one ``.npz`` layout for flows and generators, written atomically.

A model file holds ``format`` (what it is), ``format_version``, ``lininv_version`` (who wrote
it), ``architecture`` (JSON), ``params`` (one float64 vector), ``metadata`` (JSON) and any extra
arrays of the model. It is written with :func:`numpy.savez` and read with ``allow_pickle=False``;
every way a file can be wrong (unreadable, another format or version, damaged entries, non-finite
parameters) is reported by the caller's own error class, naming the file and the reason.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv._io import atomic_write
from lininv._validation import describe

__all__ = ["ModelFile", "check_model_path", "write_model", "read_model", "check_params"]


@dataclass(frozen=True)
class ModelFile:
    """What :func:`read_model` found: the decoded entries and every raw array."""

    architecture: Any
    metadata: Any
    params: np.ndarray
    contents: Mapping[str, np.ndarray]


def check_model_path(path: Any) -> str:
    """``path`` as a string; a TypeError naming it otherwise."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {describe(path)}")
    return os.fspath(path)


def write_model(
    path: str,
    *,
    fmt: str,
    version: int,
    architecture: Any,
    params: np.ndarray,
    metadata: Any,
    what: str,
    extra: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Write a model file atomically (:func:`lininv._io.atomic_write`).

    ``what`` names the object in errors (``"flow"``): its ``metadata`` must be JSON-serialisable,
    and the folder of ``path`` must exist (a ValueError before anything is written otherwise).
    """
    import lininv

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"path's folder does not exist: {folder}")
    try:
        meta = json.dumps(metadata, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}.metadata must be JSON-serialisable; {exc}") from exc
    arrays: dict[str, np.ndarray] = {
        "format": np.array(fmt),
        "format_version": np.array(version),
        "lininv_version": np.array(lininv.__version__),
        "architecture": np.array(json.dumps(architecture)),
        "params": np.asarray(params),
        "metadata": np.array(meta),
        **dict(extra or {}),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy stub: allow_pickle kw
    atomic_write(path, buffer.getvalue())


def read_model(
    path: str, *, fmt: str, version: int, what: str, error: type[Exception]
) -> ModelFile:
    """Read and check a model file's header; raise ``error`` saying what is wrong.

    Raises FileNotFoundError if there is no file at ``path``.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no {what} file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except Exception as exc:  # zipfile.BadZipFile, pickled objects, truncated members, ...
        raise error(
            f"{path!r} is not a readable lininv {what} file (.npz): {type(exc).__name__}: {exc}"
        ) from exc
    if "format" not in contents:
        raise error(f"{path!r} is not a lininv {what} file: it has no 'format' entry")
    if str(contents["format"]) != fmt:
        raise error(
            f"{path!r} is not a lininv {what} file: format is {str(contents['format'])!r}, "
            f"expected {fmt!r}"
        )
    try:
        found = int(contents["format_version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise error(f"{path!r} has no valid 'format_version' entry") from exc
    if found != version:
        raise error(
            f"{path!r} has {what} file format version {found}; this lininv reads version "
            f"{version} (written by lininv {str(contents.get('lininv_version', '?'))})"
        )
    try:
        arch = json.loads(str(contents["architecture"]))
        meta = json.loads(str(contents["metadata"]))
        params = np.asarray(contents["params"], dtype=np.float64)
    except Exception as exc:
        raise error(
            f"{path!r} is a damaged lininv {what} file (architecture, metadata or parameters "
            f"unreadable): {type(exc).__name__}: {exc}"
        ) from exc
    return ModelFile(arch, meta, params, contents)


def check_params(params: np.ndarray, n_params: int, path: str, error: type[Exception]) -> None:
    """The stored parameter vector has the architecture's length and finite entries."""
    if params.shape != (n_params,):
        raise error(
            f"{path!r} is damaged: {params.size} parameters stored, the architecture needs "
            f"{n_params}"
        )
    if not np.all(np.isfinite(params)):
        raise error(f"{path!r} is damaged: its parameters contain NaN or infinity")
