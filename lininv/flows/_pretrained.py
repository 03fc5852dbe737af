r"""The pretrained default digits flow shipped with lininv."""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import numpy as np

from lininv.datasets._digits import DigitsSplit, split_digits
from lininv.flows._flow import Flow
from lininv.flows._serialization import FlowFileError, load

__all__ = ["DefaultFlow", "DEFAULT_FLOW_PATH", "DEFAULT_FLOW_COMMAND", "default_flow"]

#: Where the committed default flow lives (package data).
DEFAULT_FLOW_PATH = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "data", "default_flow.npz"
)

#: The command that produced it, run from the repository root (also in the file's metadata).
DEFAULT_FLOW_COMMAND = "lininv train-flow --output lininv/data/default_flow.npz --no-progress"


class DefaultFlow(NamedTuple):
    """The pretrained flow and the digits split it was trained on."""

    flow: Flow
    split: DigitsSplit


@functools.lru_cache(maxsize=1)
def _load_default(path: str) -> tuple[Flow, DigitsSplit]:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"the pretrained default flow is missing ({path}); regenerate it from the repository "
            f"root with: {DEFAULT_FLOW_COMMAND}"
        )
    flow = load(path)
    data = flow.metadata.get("data", {})
    try:
        split = split_digits(
            n_train=data["n_train"], exclude=tuple(data["exclude"]), rng=data["split_seed"]
        )
    except (KeyError, TypeError) as exc:
        raise FlowFileError(f"{path!r} lacks the metadata describing its training split") from exc
    if not np.array_equal(split.test_index, np.asarray(data.get("test_index"))):
        raise FlowFileError(
            f"{path!r}: the digits split rebuilt from its seed differs from the one it was trained "
            "on (has scikit-learn's bundled dataset changed?)"
        )
    return flow, split


def default_flow() -> DefaultFlow:
    r"""The pretrained RealNVP for the 8x8 digits and the split it was trained on.

    The file ``lininv/data/default_flow.npz`` was produced, from the repository root, by::

        lininv train-flow --output lininv/data/default_flow.npz --no-progress

    that is ``realnvp(64, n_layers=8, hidden=128, rng=0)`` (ELU conditioners, random-permutation
    mixing) fitted by :func:`fit` (Adam, lr 3e-4, decoupled weight decay 1.0, batch 64, at most 200
    epochs, early stopping with patience 20 on a 10% validation hold-out, seed 0) to the
    dequantised training images of :func:`lininv.datasets.reference_split`. The full command line
    with every option, the training summary and the held-out bits/dim of the flow and of the best
    linear Gaussian are in ``flow.metadata`` (``"command"``, ``"training"``, ``"results"``).
    Training is deterministic given the seed on a given machine (one-thread BLAS); on other
    hardware the command reproduces the result up to rounding-driven differences of the
    optimisation path.

    Returns
    -------
    DefaultFlow
        ``(flow, split)``: an independent copy of the flow (change it freely) and the
        :class:`lininv.datasets.DigitsSplit` (``split.X_test`` are the held-out images).

    Examples
    --------
    >>> from lininv.flows import default_flow
    >>> flow, split = default_flow()
    >>> flow.n, split.X_train.shape, split.X_test.shape
    (64, (1400, 64), (397, 64))
    """
    flow, split = _load_default(DEFAULT_FLOW_PATH)
    return DefaultFlow(flow.copy(), split)
