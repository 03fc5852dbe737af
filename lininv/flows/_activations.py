r"""Hidden-layer activations and their vector-Jacobian products, in place (shared by MLPs).

Used by the flows' coupling conditioners (:mod:`lininv.flows._coupling`) and by the decoders of
:mod:`lininv.generators`. Both functions work in place on their array argument, so a forward and
backward pass allocate nothing beyond the layer outputs they keep.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ACTIVATIONS", "activate", "activate_vjp"]

#: Hidden-layer nonlinearities.
ACTIVATIONS = ("relu", "tanh", "elu")


def activate(name: str, a: np.ndarray) -> np.ndarray:
    """The activation of ``a``, computed in place (``a`` is overwritten and returned)."""
    if name == "relu":
        return np.maximum(a, 0.0, out=a)
    if name == "tanh":
        return np.tanh(a, out=a)
    # elu(a) = max(a, expm1(min(a, 0))): expm1(a) >= a for a <= 0, and expm1(0) = 0 < a for a > 0;
    # the clipped argument never overflows.
    tmp = np.minimum(a, 0.0)
    np.expm1(tmp, out=tmp)
    return np.maximum(a, tmp, out=a)


def activate_vjp(name: str, h: np.ndarray, gh: np.ndarray) -> np.ndarray:
    """``gh * act'(a)`` in place on ``gh``, from the activation's output ``h = act(a)``."""
    if name == "relu":
        gh *= h > 0.0  # h > 0 exactly where a > 0
    elif name == "tanh":
        gh *= 1.0 - h * h
    else:  # elu: derivative 1 for a > 0 (where h + 1 > 1), exp(a) = h + 1 otherwise
        d = h + 1.0
        np.minimum(d, 1.0, out=d)
        gh *= d
    return gh
