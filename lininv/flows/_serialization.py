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

from typing import Any

import numpy as np

from lininv._npz import check_model_path, check_params, read_model, write_model
from lininv._validation import describe
from lininv.flows._compose import _layers_from_specs, _spec
from lininv.flows._flow import Flow

__all__ = ["FORMAT", "FORMAT_VERSION", "FlowFileError", "save", "load"]

FORMAT = "lininv.flows.Flow"
FORMAT_VERSION = 1


class FlowFileError(ValueError):
    """A file that is not a readable lininv flow of a supported format version."""


def save(flow: Flow, path: Any) -> None:
    """Write ``flow`` to ``path`` (format above), atomically (:func:`lininv._io.atomic_write`).

    Parameters
    ----------
    flow : Flow
    path : str or os.PathLike
        Written as given (no suffix is added; ``.npz`` is conventional); its folder must exist.
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow must be a lininv.flows.Flow; got {describe(flow)}")
    path = check_model_path(path)
    buffers = {
        f"buffer/{i}/{key}": np.asarray(value)
        for i, b in enumerate(flow.bijectors)
        for key, value in b._buffers().items()
    }
    write_model(
        path,
        fmt=FORMAT,
        version=FORMAT_VERSION,
        architecture={"n": flow.n, "bijectors": [_spec(b) for b in flow.bijectors]},
        params=flow.get_params(),
        metadata=flow.metadata,
        what="flow",
        extra=buffers,
    )


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
    path = check_model_path(path)
    file = read_model(path, fmt=FORMAT, version=FORMAT_VERSION, what="flow", error=FlowFileError)
    arch = file.architecture
    if not isinstance(arch, dict):
        raise FlowFileError(f"{path!r} is a damaged lininv flow file: architecture is not a dict")
    try:
        prefix = "buffer/"
        buffers = {k[len(prefix) :]: v for k, v in file.contents.items() if k.startswith(prefix)}
        flow = Flow(_layers_from_specs(arch["bijectors"], buffers), metadata=file.metadata)
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
    check_params(file.params, flow.n_params, path, FlowFileError)
    flow._set_params(file.params)
    return flow
