"""The work a Monte-Carlo run asks for, refused up front when it cannot fit in memory."""

from __future__ import annotations

from lininv import _validation
from lininv._validation import check_memory

__all__ = ["memory_estimate", "check_workload", "default_batch"]

#: Target size of one batch of draws held in memory (bytes per buffer).
_BATCH_BYTES = 16 * 2**20


def default_batch(n: int, m: int) -> int:
    # A draw in a batch holds its n x m normals and, in the kernels, its m x m Gram matrix.
    return int(max(1, min(4096, _BATCH_BYTES // (8 * m * max(n, m)))))


def memory_estimate(n: int, m: int, batch: int, stored: int) -> dict[str, int]:
    """Bytes a run holds at once, about, by what holds them (float64 throughout).

    ``normals``: one batch of ``batch`` draws of ``n x m`` normals; ``kernel``: the larger of the
    fast kernel's batch of ``m x m`` Gram matrices with one draw's triangular factors and
    products (``batch m^2 + 2 m^2 + 2 n m`` doubles) and the stable kernel's augmented
    ``(n + m) x (m + min(m, n))`` matrix with its absolute values, row-sorted copy and QR copy,
    beside the noise block (``4 (n + m)(m + h) + (n + m) m + m^2``); ``spectrum``: a few copies of
    ``s``; ``values``: the ``stored`` per-draw errors (per-chunk arrays, their concatenation and
    the squared deviations of the statistics). Measured peaks (tracemalloc) are 0.5 to 0.9 times
    these figures.
    """
    h = min(m, n)
    fast = batch * m * m + 2 * m * m + 2 * n * m
    stable = 4 * (n + m) * (m + h) + (n + m) * m + m * m
    return {
        "normals": 8 * batch * n * m,
        "kernel": 8 * max(fast, stable),
        "spectrum": 8 * 6 * n,
        "values": 24 * stored,
    }


def check_workload(
    n: int,
    s_max: float,
    m: int,
    noise_std: float,
    *,
    stored: int,
    batch: int | None = None,
    stored_name: str = "trials",
    batch_name: str = "batch_size",
    noise_name: str = "noise_std",
    m_name: str = "m",
    context: str = "",
) -> None:
    """Refuse a run that cannot be done: noise beyond the range, or more memory than there is.

    The checks of :func:`expected_error` that depend on the sizes, shared with :func:`lininv.sweep`
    so that a sweep refuses such a cell before any work. ``stored`` is the number of per-draw
    values the run may hold (``trials``, or ``max_trials`` for an adaptive run) and
    ``stored_name`` its argument's name; ``batch`` is ``batch_size`` if the caller gave one.
    The ``*_name`` arguments name the caller's arguments in messages; ``context`` (e.g.
    ``" for spectrum 'flat'"``) is added to them.
    """
    if noise_std / s_max > 1e150:  # m (noise_std / s_max)^2 must stay finite
        raise ValueError(
            f"{noise_name} must be at most 1e150 times s_max = {s_max:.3g}{context}; "
            f"got {noise_std:g}"
        )
    size = default_batch(n, m) if batch is None else batch
    parts = memory_estimate(n, m, size, stored)
    total = sum(parts.values())
    limit = _validation.memory_limit()
    if limit is None or total <= limit:
        return
    if parts["values"] >= total / 2:
        what = f"mostly the per-draw errors it holds{context}"
        check_memory(stored_name, stored, total, what)
    if batch is not None and sum(memory_estimate(n, m, 1, stored).values()) <= limit:
        what = f"{batch} draws of {n} x {m} normals and m x m Gram matrices at once{context}"
        check_memory(batch_name, batch, total, what)
    what = (
        f"with n = {n}{context}: one draw's normals and the kernels' m x m and "
        "(n + m) x (m + min(m, n)) matrices"
    )
    check_memory(m_name, m, total, what)
