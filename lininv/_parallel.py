"""Executors: where independent tasks run (in-process, local processes, a Dask cluster).

:class:`Workers` resolves the one ``executor`` argument every long computation accepts, and
:func:`imap_unordered` runs tasks on it with a bounded window of tasks in flight, yielding
results as they finish. Results never depend on the executor: callers key each task's randomness
by the task itself (``lininv._random``) and combine results in a fixed order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from typing import Any

from lininv._validation import describe

__all__ = ["Workers", "imap_unordered", "check_executor", "EXECUTOR_FORMS"]

#: What ``executor=`` accepts, for messages.
EXECUTOR_FORMS = (
    "None (in-process), an int number of local worker processes, a "
    "concurrent.futures.Executor, a distributed.Client, or a Dask scheduler address (str)"
)


def _is_dask_client(value: Any) -> bool:
    return type(value).__module__.startswith("distributed") and hasattr(value, "get_executor")


def check_executor(executor: Any, name: str = "executor") -> Any:
    """Validate the form of an ``executor`` argument (no connection is made)."""
    if executor is None or isinstance(executor, Executor) or _is_dask_client(executor):
        return executor
    if isinstance(executor, int) and not isinstance(executor, bool):
        if executor < 1:
            raise ValueError(f"{name} must be >= 1 worker processes; got {executor}")
        return executor
    if isinstance(executor, str):
        if not executor.strip():
            raise ValueError(f"{name} must be a Dask scheduler address; got an empty string")
        return executor
    raise TypeError(f"{name} must be {EXECUTOR_FORMS}; got {describe(executor)}")


class Workers:
    """A resolved executor and how many tasks it runs at once; a context manager.

    Parameters
    ----------
    executor : None, int, Executor, distributed.Client or str
        See :data:`EXECUTOR_FORMS`. An int creates a local process pool of that size (``1``
        runs in-process); a str connects to a Dask scheduler (needs the ``dask`` extra). What
        this object creates it also shuts down on exit; what the caller passes it leaves open.
    tasks : int, optional
        Number of tasks to run: a local pool is not made larger than this.
    name : str, default="executor"
        How messages name the argument (the CLI passes ``"--scheduler"`` or ``"--workers"``).

    Attributes
    ----------
    executor : Executor or None
        ``None`` runs tasks in-process, in order.
    capacity : int
        Tasks that run at once (pool size, Dask threads, or the CPU count for a caller's
        executor of unknown size).
    """

    def __init__(self, executor: Any = None, *, tasks: int | None = None, name: str = "executor"):
        self._given = check_executor(executor, name)
        self._tasks = tasks
        self._name = name
        self._owned: Any = None
        self.executor: Executor | None = None
        self.capacity = 1

    def __enter__(self) -> Workers:
        given = self._given
        if given is None:
            pass
        elif isinstance(given, int):
            size = min(given, self._tasks) if self._tasks is not None else given
            if size > 1:
                self._owned = self.executor = ProcessPoolExecutor(max_workers=size)
                self.capacity = size
        elif isinstance(given, Executor):
            self.executor = given
            self.capacity = os.cpu_count() or 1
        else:
            client = self._connect(given) if isinstance(given, str) else given
            self.executor = client.get_executor()
            self.capacity = max(1, sum(client.nthreads().values()))
        return self

    def _connect(self, address: str) -> Any:
        try:
            from distributed import Client
        except ImportError:
            raise ValueError(
                f"{self._name} needs the optional dask extra: pip install 'lininv[dask]'"
            ) from None
        try:
            client = Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueError(
                f"{self._name}: could not connect to the Dask scheduler {address!r}: {exc}"
            ) from None
        self._owned = client
        return client

    def __exit__(self, *exc: object) -> None:
        owned, self._owned = self._owned, None
        if owned is None:
            return
        if isinstance(owned, Executor):
            owned.shutdown(wait=True, cancel_futures=True)
        else:
            owned.close()


def imap_unordered(
    workers: Workers, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]
) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*task)`` for each task; yield ``(index, result)`` as tasks finish.

    In-process (``workers.executor is None``) tasks run one by one, in order. Otherwise at most
    ``2 * workers.capacity`` tasks are in flight, so results are consumed (saved, merged) while
    the rest run, and stopping early wastes little. Closing the iterator (``break`` in the
    caller's loop, an exception, Ctrl-C) cancels the tasks not yet started.
    """
    if workers.executor is None:
        for i, task in enumerate(tasks):
            yield i, fn(*task)
        return
    pool = workers.executor
    window = 2 * workers.capacity
    queue = enumerate(tasks)
    running: dict[Future, int] = {}
    try:
        while True:
            while len(running) < window:
                nxt = next(queue, None)
                if nxt is None:
                    break
                running[pool.submit(fn, *nxt[1])] = nxt[0]
            if not running:
                return
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                yield running.pop(fut), fut.result()
    finally:
        for fut in running:
            fut.cancel()
