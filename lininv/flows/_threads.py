"""BLAS threading for the flow's small products.

The flow's products are small (batches of at most a few hundred rows against 128 x 128 weights),
called one after another between element-wise numpy work. A multi-threaded BLAS wakes its worker
threads for each of them; measured on the 2-core reference machine this made a training step 20
to 90 times slower than one thread (benchmarks/flow.py). Every flow computation therefore runs with
the BLAS limited to one thread (through threadpoolctl, a dependency of scikit-learn). Training is
single-threaded too (``fit`` has no data parallelism); a one-thread BLAS also makes a training run's
rounding, and so its result, independent of the machine's core count.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["blas_threads", "single_blas_thread", "blas_description"]

_controller: Any = None
_F = TypeVar("_F", bound=Callable[..., Any])


def _get_controller() -> Any:
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn always installs it
            _controller = False
        else:
            _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def blas_threads(n: int | None = 1) -> Iterator[None]:
    """Limit the BLAS to ``n`` threads inside the block (``None``: leave it unchanged)."""
    ctl = _get_controller()
    if n is None or not ctl:
        yield
        return
    with ctl.limit(limits=n, user_api="blas"):
        yield


def single_blas_thread(fn: _F) -> _F:
    """Decorator: run ``fn`` with a one-thread BLAS."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with blas_threads(1):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def blas_description() -> str:
    """E.g. ``"openblas 0.3.31 SkylakeX"``: the loaded BLAS libraries and the kernels they chose for
    this CPU (rounding, and so a training run's exact path, can differ between kernels)."""
    ctl = _get_controller()
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
