"""Named random streams and the resumable cell cache of the experiments.

Every random draw of an experiment comes from ``stream(seed, Stream.X, *index)``, a generator
that depends on the run's seed, the stream's name and the cell's own index only; so a cell's
numbers do not depend on which other cells run, in what order, or whether the run was resumed.
The members keep the integers the experiments have always used, so results stay the same to the
bit.

With an output folder, each experiment keeps its finished cells in one
:class:`lininv._io.CellStore`, ``OUTPUT/.cells/NAME.json`` (locked while the experiment runs,
checked when reopened): rerunning the same experiment resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np

from lininv._io import CellStore, output_folder, to_jsonable
from lininv._parallel import Workers, imap_unordered
from lininv._random import stream
from lininv._stats import mean_ci
from lininv._threads import single_blas_thread

__all__ = [
    "Stream",
    "StartKey",
    "stream",
    "cells_path",
    "open_cells",
    "cached",
    "ci_fields",
    "require_keys",
    "run_cells",
    "timed_call",
]


class Stream(IntEnum):
    """The experiments' named random streams (``SeedSequence(seed, spawn_key=(stream, ...))``)."""

    #: dequantisation noise of the training images (:func:`digits_data`)
    TRAIN_NOISE = 10
    #: dequantisation noise of the test images (:func:`digits_data`)
    TEST_NOISE = 11
    #: the training images held out for choosing weights (:func:`digits_data`)
    VALIDATION_PICK = 12
    #: the test images an experiment uses (a subset of ``n_test``)
    TEST_PICK = 20
    #: denoising: the noise added at noise level ``i`` (index ``i``)
    DENOISING_NOISE = 21
    #: initialisation: the held-out images used to choose ``gamma``
    INIT_VALIDATION_PICK = 22
    #: inpainting: the random starting latents of run ``i`` (index ``i``)
    INPAINTING_STARTS = 30
    #: initialisation: the Gaussian operators of the test images
    INIT_OPERATORS = 40
    #: initialisation: the Gaussian operators of the held-out images
    INIT_VALIDATION_OPERATORS = 41
    #: initialisation: the starting latents, indexed by :class:`StartKey` (plus the start's index)
    INIT_STARTS = 42
    #: likelihood proxy: the flows' samples
    PROXY_SAMPLES = 50


class StartKey(IntEnum):
    """Indices within :attr:`Stream.INIT_STARTS`."""

    #: the starts of the held-out images (one per candidate ``gamma``, all the same)
    VALIDATION = 0
    #: the test images' start number ``i`` has index ``TEST + i``
    TEST = 100


def cells_path(output: Any, name: str) -> Path:
    """Where the experiment ``name`` keeps its finished cells under ``output``."""
    return Path(output) / ".cells" / f"{name}.json"


def require_keys(*keys: str) -> Callable[[str, Any], None]:
    """A ``validate`` hook for :class:`CellStore`: every stored cell is a mapping with ``keys``."""

    def validate(key: str, value: Any) -> None:
        if not isinstance(value, dict):
            raise ValueError(f"a cell must be a mapping; got {type(value).__name__}")
        missing = [k for k in keys if k not in value]
        if missing:
            raise ValueError(f"the cell lacks {', '.join(missing)}")

    return validate


@contextmanager
def open_cells(
    output: Any,
    name: str,
    params: dict[str, Any],
    *,
    provenance: dict[str, Any],
    validate: Callable[[str, Any], None] | None = None,
) -> Iterator[CellStore | None]:
    """The open cell store of experiment ``name`` under ``output`` (None without an output)."""
    if output is None:
        yield None
        return
    path = cells_path(output, name)
    output_folder(path.parent, "output")
    with CellStore(path, params, provenance=provenance, validate=validate) as store:
        yield store


def cached(
    store: CellStore | None,
    key: str,
    compute: Callable[[], dict[str, Any]],
    clock: list[float] | None = None,
) -> dict[str, Any]:
    """A cell's value from the store, or computed (and stored with its compute time).

    The compute time (``"_seconds"``) is appended to ``clock`` either way, so that a resumed run
    still reports what its cells cost when they were computed.
    """
    value = store.get(key) if store is not None else None
    if value is None:
        t0 = time.perf_counter()
        value = to_jsonable(compute())
        value["_seconds"] = time.perf_counter() - t0
        if store is not None:
            store.put(key, value)
    if clock is not None:
        clock.append(float(value.get("_seconds") or 0.0))
    return value


def ci_fields(prefix: str, values: Any) -> dict[str, float]:
    """``{prefix + "mean", prefix + "lo", prefix + "hi"}``: a mean and its 95% Student-t CI."""
    mean, lo, hi = mean_ci(np.asarray(values, dtype=float))
    return {f"{prefix}mean": mean, f"{prefix}lo": lo, f"{prefix}hi": hi}


@single_blas_thread  # one BLAS thread in whichever worker runs it, as in the caller
def timed_call(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` as a cell stores it: JSON-ready, with its compute time (``"_seconds"``).

    ``fn`` must be a module-level function (worker processes receive it by reference).
    """
    t0 = time.perf_counter()
    value = to_jsonable(fn(*args))
    value["_seconds"] = time.perf_counter() - t0
    return value


def run_cells(
    store: CellStore | None,
    cells: dict[str, tuple[Any, ...]],
    fn: Callable[..., dict[str, Any]],
    executor: Any,
    finish: Callable[[str, dict[str, Any]], None],
) -> None:
    """Compute the cells not yet in ``store`` on the project's one executor layer.

    ``cells`` maps each cell's key to the arguments of ``fn``; stored cells are read back, the
    others run as ``timed_call(fn, *args)`` on ``executor`` (None: in this process; an int: that
    many worker processes; an Executor, a Dask client or a scheduler address) and are stored as
    they finish. ``finish(key, value)`` is called once per cell, stored ones first, the others in
    the order they finish. A cell's randomness must come from its own arguments (named streams),
    so that the values do not depend on the executor or on which cells were stored.
    """
    todo = []
    for key, args in cells.items():
        saved = store.get(key) if store is not None else None
        if saved is None:
            todo.append((key, args))
        else:
            finish(key, saved)
    with Workers(executor if todo else None, tasks=len(todo)) as workers:
        tasks = [(fn, *args) for _, args in todo]
        for i, value in imap_unordered(workers, timed_call, tasks):
            if store is not None:
                store.put(todo[i][0], value)
            finish(todo[i][0], value)
