r"""Saving and loading flows: a documented, versioned ``.npz``.

Format version 1 (``numpy.savez``, no pickled objects; read with ``allow_pickle=False``):

===================  ==================================================================
key                  content
===================  ==================================================================
``format``           the string ``"lininv.flows.Flow"``
``format_version``   integer scalar, ``1``
``lininv_version``   the writing lininv's version string (informational)
``architecture``     JSON: ``{"n": n, "bijectors": [{"type": name, "config": {...}}, ...]}``
                     with the bijectors in forward (latent-to-signal) order; ``config`` holds
                     the constructor arguments (e.g. ``hidden``, ``flip``, ``activation``);
                     a nested :class:`Compose` has the config ``{"n": n, "bijectors": [...]}``
``params``           float64 vector of all trainable parameters, bijector by bijector in
                     order, each bijector's parameters in the order of its ``params`` dict,
                     arrays flattened row-major (:meth:`Flow.get_params`)
``buffer/<i>/<k>``   non-trainable state ``k`` of bijector ``i`` (permutation indices,
                     fixed signs, initialisation flags); inside a nested :class:`Compose`,
                     ``buffer/<i>/<j>/<k>`` is that of its bijector ``j``
``metadata``         JSON object (free-form: how the flow was trained, data split, ...)
===================  ==================================================================

A file of another ``format_version``, a file that is not a flow, or a damaged file raises
:class:`FlowFileError` (a ``ValueError``) with the reason.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import numpy as np

from lininv._io import atomic_write
from lininv._validation import describe
from lininv.flows._compose import _layers_from_specs, _spec
from lininv.flows._flow import Flow

__all__ = ["FORMAT", "FORMAT_VERSION", "FlowFileError", "save", "load"]

FORMAT = "lininv.flows.Flow"
FORMAT_VERSION = 1


class FlowFileError(ValueError):
    """A file that is not a readable lininv flow of a supported format version."""


def _check_path(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {describe(path)}")
    return os.fspath(path)


def save(flow: Flow, path: Any) -> None:
    """Write ``flow`` to ``path`` (format above), atomically (:func:`lininv._io.atomic_write`).

    Parameters
    ----------
    flow : Flow
    path : str or os.PathLike
        Written as given (no suffix is added; ``.npz`` is conventional).
    """
    import lininv

    if not isinstance(flow, Flow):
        raise TypeError(f"flow must be a lininv.flows.Flow; got {describe(flow)}")
    path = _check_path(path)
    try:
        meta = json.dumps(flow.metadata, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"flow.metadata must be JSON-serialisable; {exc}") from exc
    arch = {"n": flow.n, "bijectors": [_spec(b) for b in flow.bijectors]}
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "lininv_version": np.array(lininv.__version__),
        "architecture": np.array(json.dumps(arch)),
        "params": flow.get_params(),
        "metadata": np.array(meta),
    }
    for i, b in enumerate(flow.bijectors):
        for key, value in b._buffers().items():
            arrays[f"buffer/{i}/{key}"] = np.asarray(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy stub: allow_pickle kw
    atomic_write(path, buffer.getvalue())


def load(path: Any) -> Flow:
    """Read a flow written by :meth:`Flow.save`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Flow
        With its ``metadata``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FlowFileError
        If the file is not a lininv flow, is damaged, or has another format version.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from lininv import flows
    >>> flow = flows.realnvp(4, n_layers=2, hidden=8, rng=0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     flow.save(os.path.join(d, "f.npz"))
    ...     back = flows.load(os.path.join(d, "f.npz"))
    >>> bool(np.array_equal(back.get_params(), flow.get_params()))
    True
    """
    path = _check_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no flow file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {key: data[key] for key in data.files}
    except Exception as exc:  # zipfile.BadZipFile, pickled objects, truncated members, ...
        raise FlowFileError(
            f"{path!r} is not a readable lininv flow file (.npz): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(contents, dict) or "format" not in contents:
        raise FlowFileError(f"{path!r} is not a lininv flow file: it has no 'format' entry")
    if str(contents["format"]) != FORMAT:
        raise FlowFileError(
            f"{path!r} is not a lininv flow file: format is {str(contents['format'])!r}, "
            f"expected {FORMAT!r}"
        )
    try:
        version = int(contents["format_version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FlowFileError(f"{path!r} has no valid 'format_version' entry") from exc
    if version != FORMAT_VERSION:
        raise FlowFileError(
            f"{path!r} has flow file format version {version}; this lininv reads version "
            f"{FORMAT_VERSION} (written by lininv {str(contents.get('lininv_version', '?'))})"
        )
    try:
        arch = json.loads(str(contents["architecture"]))
        meta = json.loads(str(contents["metadata"]))
        params = np.asarray(contents["params"], dtype=np.float64)
        prefix = "buffer/"
        buffers = {k[len(prefix) :]: v for k, v in contents.items() if k.startswith(prefix)}
        flow = Flow(_layers_from_specs(arch["bijectors"], buffers), metadata=meta)
    except FlowFileError:
        raise
    except Exception as exc:
        raise FlowFileError(
            f"{path!r} is a damaged lininv flow file (architecture or buffers unreadable): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if flow.n != arch.get("n"):
        raise FlowFileError(
            f"{path!r} is damaged: bijectors have n = {flow.n}, header {arch.get('n')}"
        )
    if params.shape != (flow.n_params,):
        raise FlowFileError(
            f"{path!r} is damaged: {params.size} parameters stored, the architecture needs "
            f"{flow.n_params}"
        )
    if not np.all(np.isfinite(params)):
        raise FlowFileError(f"{path!r} is damaged: its parameters contain NaN or infinity")
    flow._set_params(params)
    return flow
