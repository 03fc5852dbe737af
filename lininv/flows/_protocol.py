r"""What the bridge needs of a flow prior: the :class:`FlowPrior` protocol and its validator."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lininv._validation import check_int, describe

__all__ = ["FlowPrior", "FLOW_PRIOR_MEMBERS", "check_flow_prior"]


@runtime_checkable
class FlowPrior(Protocol):
    r"""A flow prior :math:`x = G(z)`, :math:`z \sim N(0, I_n)`, as :mod:`lininv.bridge` uses it.

    :class:`Flow` satisfies it; so does any object with these members and the conventions of
    :mod:`lininv.flows` (shapes ``(n,)`` or ``(k, n)``, ``G`` maps latent to signal).

    Attributes
    ----------
    n : int
        Dimension of latent and signal.
    support : tuple of float
        Open interval ``(lo, hi)`` of every signal coordinate; signals passed to ``inverse`` or
        ``log_prob`` are meant to lie inside.

    Notes
    -----
    Who needs which member (the bridge's public functions):

    ========================  ==============================================================
    member                    used by
    ========================  ==============================================================
    ``n``                     every function: the dimension of signals and operators
    ``inverse``               ``recover`` (initial latents), ``local_singular_values`` (the
                              true latents), ``likelihood_proxy``
    ``forward_and_pullback``  ``recover``: ``G(z)`` and the gradient of the data fit
    ``jacobian``              ``local_singular_values`` / ``local_predictions``, ``compare``
    ``log_prob``, ``sample``  ``likelihood_proxy``
    ``forward``, ``support``  the maps' contract (forward is inverse's inverse on the support)
    ========================  ==============================================================

    ``isinstance(obj, FlowPrior)`` only checks that the members exist (``runtime_checkable``);
    :func:`check_flow_prior` also checks ``n`` and ``support`` and names what is missing.
    """

    n: int

    @property
    def support(self) -> tuple[float, float]:
        """Open interval ``(lo, hi)`` of every signal coordinate."""
        ...

    def forward(self, z: Any) -> tuple[np.ndarray, np.ndarray | float]:
        """Latent to signal: ``(x, log|det dx/dz|)``."""
        ...

    def inverse(self, x: Any) -> tuple[np.ndarray, np.ndarray | float]:
        """Signal to latent: ``(z, log|det dz/dx|)``."""
        ...

    def log_prob(self, x: Any) -> np.ndarray | float:
        """Log-density of signals."""
        ...

    def sample(self, size: int, *, rng: Any = None) -> np.ndarray:
        """``size`` signals ``G(z)``, ``z ~ N(0, I)``, shape (size, n)."""
        ...

    def forward_and_pullback(self, z: Any) -> tuple[np.ndarray, Callable[[Any], np.ndarray]]:
        """``G(z)`` and ``v -> v^T dG/dz``."""
        ...

    def jacobian(self, z: Any) -> np.ndarray:
        """``dG/dz`` at one point (n, n) or a batch (k, n, n)."""
        ...


#: The members of :class:`FlowPrior`, in the order :func:`check_flow_prior` checks them.
FLOW_PRIOR_MEMBERS = (
    "n",
    "support",
    "forward",
    "inverse",
    "log_prob",
    "sample",
    "forward_and_pullback",
    "jacobian",
)
_ATTRIBUTES = ("n", "support")


def check_flow_prior(flow: Any, *, name: str = "flow", needs: Any = None) -> Any:
    """Validate ``flow`` as a :class:`FlowPrior` (or as the part of it that a caller needs).

    Meant for the outermost public function that receives a flow; what it calls afterwards can
    assume a valid flow.

    Parameters
    ----------
    flow : object
        The candidate.
    name : str, default="flow"
        The argument's name, for the messages.
    needs : sequence of str, optional
        Members of :data:`FLOW_PRIOR_MEMBERS` to check (default: all), e.g.
        ``("n", "inverse", "forward_and_pullback")`` for latent-space recovery alone.

    Returns
    -------
    object
        ``flow`` itself.

    Raises
    ------
    TypeError
        If a needed member is missing or a needed method is not callable, or ``n`` is not an
        integer, or ``support`` is not a pair of numbers.
    ValueError
        If ``n < 1``, or ``support`` is not an interval ``lo < hi``, or ``needs`` names something
        that is not a member.

    Examples
    --------
    >>> from lininv.flows import check_flow_prior, linear_flow
    >>> flow = check_flow_prior(linear_flow([[2.0, 0.0], [0.0, 1.0]]))
    >>> check_flow_prior("G", needs=("n", "inverse"))
    Traceback (most recent call last):
        ...
    TypeError: flow must be a flow prior (lininv.flows.FlowPrior) with n, inverse; got 'G', which lacks n, inverse
    """
    members = FLOW_PRIOR_MEMBERS if needs is None else _check_needs(needs)
    missing = [m for m in members if not hasattr(flow, m)]
    uncallable = [
        m
        for m in members
        if m not in _ATTRIBUTES and m not in missing and not callable(getattr(flow, m))
    ]
    if missing or uncallable:
        what = []
        if missing:
            what.append(f"which lacks {', '.join(missing)}")
        if uncallable:
            what.append(f"whose {', '.join(uncallable)} cannot be called")
        raise TypeError(
            f"{name} must be a flow prior (lininv.flows.FlowPrior) with {', '.join(members)}; "
            f"got {describe(flow)}, {' and '.join(what)}"
        )
    if "n" in members:
        check_int(f"{name}.n", flow.n, low=1)
    if "support" in members:
        support = flow.support
        try:
            lo, hi = (float(v) for v in support)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name}.support must be a pair of numbers (lo, hi); got {describe(support)}"
            ) from None
        if not lo < hi:
            raise ValueError(f"{name}.support must be an interval with lo < hi; got ({lo}, {hi})")
    return flow


def _check_needs(needs: Any) -> tuple[str, ...]:
    if (
        isinstance(needs, str)
        or not isinstance(needs, Sequence)
        or not all(isinstance(m, str) for m in needs)
    ):
        raise TypeError(f"needs must be a sequence of member names; got {describe(needs)}")
    unknown = [m for m in needs if m not in FLOW_PRIOR_MEMBERS]
    if unknown or not needs:
        raise ValueError(
            f"needs must name members of FlowPrior ({', '.join(FLOW_PRIOR_MEMBERS)}); "
            f"got {tuple(needs)!r}"
        )
    return tuple(needs)
