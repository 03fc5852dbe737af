"""The tightness campaign: every bound's loosest and tightest spectra, then the conjecture probe.

:func:`run_tightness` computes and returns a :class:`~proofs_numeric.TightnessReport`; it never
prints or writes. Its work comes in named *cells* (:func:`campaign_cells`): one per bound and goal
(``"paper:min"``...), one per size of the conjecture probe (``"conjecture:n=6,m=2"``). The caller
may keep finished cells (``on_cell``) and hand them back after an interruption (``done``): every
cell's seed is drawn in order whether it is computed or reused, so a resumed campaign equals an
uninterrupted one. ``lininv tightness`` does exactly that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lininv import ProgressEvent, progress_sink
from lininv.validation import check_int, check_progress, describe
from proofs_numeric._common import check_common, seed_of
from proofs_numeric._conjecture import probe_conjecture
from proofs_numeric._search import SearchResult, explore
from proofs_numeric._tightness_report import TightnessReport

__all__ = ["FULL", "QUICK", "BOUND_GROUPS", "campaign_cells", "run_tightness"]

#: Settings of the default campaign and of the quick one used by the tests.
FULL: dict[str, Any] = dict(
    sizes=((32, 8),),
    families=("power", "exponential", "cliff", "mixture"),
    search=dict(draws=256, maxiter=25, popsize=8),
    conjecture=dict(
        sizes=((3, 1), (6, 1), (12, 1), (32, 1), (4, 2), (6, 3), (16, 4), (32, 8)),
        families=("power", "exponential", "cliff", "mixture", "free"),
        confirm_trials=200_000,
        draws=1024,
    ),
)
QUICK: dict[str, Any] = dict(
    sizes=((12, 4),),
    families=("power", "cliff"),
    search=dict(draws=128, maxiter=4, popsize=5, max_trials=2048),
    conjecture=dict(
        sizes=((4, 1), (6, 2)),
        families=("power", "cliff"),
        confirm_trials=20_000,
    ),
)

#: The bound groups of a campaign, in order: target and goal.
BOUND_GROUPS = tuple(f"{t}:{g}" for t in ("paper", "hmt", "lower") for g in ("min", "max"))


def campaign_cells(quick: bool = False) -> tuple[str, ...]:
    """The names of a campaign's cells, in the order they are computed."""
    from proofs_numeric._conjecture import size_key

    cfg = QUICK if quick else FULL
    return BOUND_GROUPS + tuple(
        f"conjecture:{size_key(n, m)}" for n, m in cfg["conjecture"]["sizes"]
    )


def run_tightness(
    *,
    quick: bool = False,
    seed: int = 0,
    progress: bool | Callable[[ProgressEvent], Any] | None = False,
    done: Mapping[str, Sequence[SearchResult]] | None = None,
    on_cell: Callable[[str, tuple[SearchResult, ...]], Any] | None = None,
) -> TightnessReport:
    """The campaign: each bound's loosest and tightest spectra, then the conjecture probe.

    Parameters
    ----------
    quick : bool, default=False
        Small sizes and budgets (:data:`QUICK`, seconds) instead of :data:`FULL`.
    seed : int, default=0
        Seeds every search (each cell's seed is drawn from it in order).
    progress : bool or callable, default=False
        ``True``: a progress bar; a callable receives a :class:`lininv.ProgressEvent` (task
        ``"tightness"``, unit ``"cell"``) after each cell, labelled with its name.
    done : mapping of cell name -> sequence of SearchResult, optional
        Cells an interrupted campaign with the same ``quick`` and ``seed`` finished: reused.
    on_cell : callable (name, results) -> None, optional
        Called after each cell computed here, so that the caller can keep it.

    Returns
    -------
    TightnessReport

    Examples
    --------
    >>> from proofs_numeric.tightness import campaign_cells
    >>> campaign_cells(quick=True)[-2:]
    ('conjecture:n=4,m=1', 'conjecture:n=6,m=2')
    """
    cfg = QUICK if quick else FULL
    _, _, seed, gen = check_common(1.0, 1.0, check_int("seed", seed, low=0))
    progress = check_progress(progress)
    if on_cell is not None and not callable(on_cell):
        raise TypeError(f"on_cell must be callable or None; got {describe(on_cell)}")
    done = {} if done is None else dict(done)
    cells = campaign_cells(quick)
    unknown = sorted(set(done) - set(cells))
    if unknown:
        raise ValueError(f"done holds cells that are not in this campaign: {unknown}")
    start = time.perf_counter()
    bounds: dict[str, tuple[SearchResult, ...]] = {}

    with progress_sink(progress, "tightness", len(cells), "cell") as sink:

        def finished(key: str, results: Sequence[SearchResult], computed: bool) -> None:
            if computed and on_cell is not None:
                on_cell(key, tuple(results))
            best = results[0]
            sink.update(
                label=key,
                info=f"ratio {best.ratio:.4g} [{best.ci[0]:.4g}, {best.ci[1]:.4g}] ({best.family})",
            )

        for key in BOUND_GROUPS:
            target, goal = key.split(":")
            cell_seed = seed_of(gen)
            if key in done:
                bounds[key] = tuple(done[key])
                finished(key, bounds[key], computed=False)
                continue
            bounds[key] = explore(
                target,
                goal=goal,
                families=cfg["families"],
                sizes=cfg["sizes"],
                rng=cell_seed,
                **cfg["search"],
            )
            finished(key, bounds[key], computed=True)
        conj_cfg: dict[str, Any] = dict(cfg["conjecture"])
        conj_done = {
            key.removeprefix("conjecture:"): tuple(v)
            for key, v in done.items()
            if key.startswith("conjecture:")
        }
        for key, results in conj_done.items():
            finished(f"conjecture:{key}", results, computed=False)
        conjecture = probe_conjecture(
            sizes=conj_cfg.pop("sizes"),
            families=conj_cfg.pop("families"),
            rng=seed_of(gen),
            done=conj_done,
            on_size=lambda key, found: finished(f"conjecture:{key}", found, computed=True),
            **(cfg["search"] | conj_cfg),
        )
    return TightnessReport(seed, bounds, conjecture, time.perf_counter() - start)
