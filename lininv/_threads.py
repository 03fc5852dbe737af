"""The one BLAS-thread limiter: numerical kernels run their many small BLAS calls on one thread.

lininv's kernels make many small BLAS/LAPACK calls (per Monte-Carlo draw, per flow layer),
interleaved with element-wise numpy work. A multi-threaded BLAS wakes its idle worker threads for
each of them, which costs milliseconds on a loaded machine (measured: 16 ms instead of 10 us for a
10 x 10 triangular solve; a flow training step 20 to 90 times slower on 2 cores, see
``benchmarks/flow.py``). Parallelism comes from executors instead (``lininv._parallel``).

:func:`one_blas_thread` is re-entrant and thread-safe: the limit is set by the first caller and
restored by the last, so concurrent threads cannot leave the process limited, nor lift the limit
while another thread still relies on it (nested ``threadpoolctl.limit`` blocks in two threads can
do both). One BLAS thread also makes a computation's rounding independent of the core count.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["one_blas_thread", "single_blas_thread", "blas_threads", "blas_description"]

_F = TypeVar("_F", bound=Callable[..., Any])

_lock = threading.Lock()
_state: dict[str, Any] = {"depth": 0, "limiter": None, "controller": None}


def _controller() -> Any:
    """The process's threadpoolctl controller, or ``False`` without threadpoolctl."""
    if _state["controller"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a dependency (and scikit-learn's)
            _state["controller"] = False
        else:
            _state["controller"] = ThreadpoolController()
    return _state["controller"]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with BLAS/LAPACK on one thread (re-entrant, thread-safe)."""
    with _lock:
        if _state["depth"] == 0:
            ctl = _controller()
            _state["limiter"] = ctl.limit(limits=1, user_api="blas") if ctl else None
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0 and _state["limiter"] is not None:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None


def single_blas_thread(fn: _F) -> _F:
    """Decorator: run ``fn`` inside :func:`one_blas_thread`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit the BLAS to ``n`` threads inside the block (``None``: leave it as it is).

    For benchmarks that compare thread counts; library code uses :func:`one_blas_thread`. Not
    re-entrant across threads: do not mix with concurrent :func:`one_blas_thread` blocks.
    """
    ctl = _controller()
    if n is None or not ctl:
        yield
        return
    if n == 1:
        with one_blas_thread():
            yield
        return
    with ctl.limit(limits=n, user_api="blas"):
        yield


def blas_description() -> str:
    """The loaded BLAS libraries and the kernels they chose for this CPU.

    For example ``"openblas 0.3.31 SkylakeX"``. Rounding, and so the exact path of a non-convex
    computation, can differ between kernels, so results record it.
    """
    ctl = _controller()
    if not ctl:
        return "unknown"
    infos = [i for i in ctl.info() if i.get("user_api") == "blas"]
    if not infos:
        return "unknown"
    return "; ".join(
        sorted(
            f"{i.get('internal_api', '?')} {i.get('version', '?')} {i.get('architecture', '?')}"
            for i in infos
        )
    )
