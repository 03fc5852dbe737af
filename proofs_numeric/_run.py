"""Run the selected proof steps and gather their results in a :class:`RunReport` (data only).

Computing is all this module does: it never prints and never writes a file. The command line
(``lininv proofs``) formats a report (:mod:`proofs_numeric._report`) and saves it, and keeps the
finished steps of an interrupted run so that a rerun resumes (``done`` and ``on_step`` below).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lininv
from lininv import ProgressEvent, progress_sink
from lininv.validation import check_int, check_progress, describe
from proofs_numeric import _steps
from proofs_numeric._common import check_precision
from proofs_numeric._result import StepResult

__all__ = ["RunReport", "run_steps"]


@dataclass(frozen=True)
class RunReport:
    """All results of one run of the proof steps.

    Attributes
    ----------
    seed : int
        The run's seed; step ``NAME`` used ``step_seed(seed, NAME)``.
    precision : float
        The factor applied to every Monte-Carlo sample size.
    results : tuple of StepResult
        One per step, in the order run.
    runtimes : tuple of float
        Seconds per step (as first computed, for a step reused from an interrupted run).
    """

    seed: int
    precision: float
    results: tuple[StepResult, ...]
    runtimes: tuple[float, ...]

    @property
    def passed(self) -> bool:
        """True when at least one step ran and every step passed."""
        return bool(self.results) and all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: settings, verdict, and every step with its runtime."""
        return {
            "seed": self.seed,
            "precision": self.precision,
            "passed": self.passed,
            "lininv_version": lininv.__version__,
            "runtime_seconds": sum(self.runtimes),
            "steps": [
                {**r.to_dict(), "runtime_seconds": t}
                for r, t in zip(self.results, self.runtimes, strict=True)
            ],
        }


def _check_callback(name: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None; got {describe(value)}")
    return value


def run_steps(
    *,
    seed: int = 0,
    precision: float = 1.0,
    steps: Sequence[str] | None = None,
    progress: bool | Callable[[ProgressEvent], Any] | None = False,
    done: Mapping[str, tuple[StepResult, float]] | None = None,
    on_step: Callable[[StepResult, float], Any] | None = None,
    checkpoint: Callable[[RunReport], Any] | None = None,
) -> RunReport:
    """Run the selected proof steps.

    Parameters
    ----------
    seed : int, default=0
        Each step is seeded with ``step_seed(seed, name)``, so a step gives the same result alone
        as in the full run.
    precision : float, default=1.0
        Multiplies every Monte-Carlo sample size.
    steps : sequence of str, optional
        Labels or names (see :func:`select_steps`); all by default.
    progress : bool or callable, default=False
        ``True``: a progress bar; a callable receives a :class:`lininv.ProgressEvent` (task
        ``"proofs"``, unit ``"step"``) after each step, labelled ``step LABEL NAME``, with
        ``pass``/``FAIL`` and its time as ``info``.
    done : mapping of name -> (StepResult, seconds), optional
        Steps already computed with this ``seed`` and ``precision`` (by an interrupted run):
        reused instead of recomputed.
    on_step : callable (StepResult, seconds) -> None, optional
        Called after every step computed here (not for those taken from ``done``), so that the
        caller can keep it.
    checkpoint : callable RunReport -> None, optional
        Deprecated: use ``on_step``. Called after every step with the partial report.

    Returns
    -------
    RunReport

    Examples
    --------
    >>> from proofs_numeric import run_steps
    >>> report = run_steps(seed=0, precision=0.1, steps=["8c"])
    >>> report.passed, [r.step for r in report.results]
    (True, ['8c'])
    """
    seed = check_int("seed", seed, low=0)
    precision = check_precision(precision)
    selected = _steps.select_steps(steps)
    progress = check_progress(progress)
    on_step = _check_callback("on_step", on_step)
    if checkpoint is not None:
        warnings.warn(
            "run_steps(checkpoint=...) is deprecated; use on_step=(result, seconds)",
            DeprecationWarning,
            stacklevel=2,
        )
        _check_callback("checkpoint", checkpoint)
    done = {} if done is None else dict(done)
    results: list[StepResult] = []
    runtimes: list[float] = []
    with progress_sink(progress, "proofs", len(selected), "step") as sink:
        for spec in selected:
            if spec.name in done:
                result, runtime = done[spec.name]
            else:
                start = time.perf_counter()
                result = spec.check(precision=precision, rng=_steps.step_seed(seed, spec.name))
                runtime = time.perf_counter() - start
                if on_step is not None:
                    on_step(result, runtime)
            results.append(result)
            runtimes.append(runtime)
            sink.update(
                label=f"step {spec.step} {spec.name}",
                info=f"{'pass' if result.passed else 'FAIL'} ({runtime:.1f} s)",
            )
            if checkpoint is not None:
                checkpoint(RunReport(seed, precision, tuple(results), tuple(runtimes)))
    return RunReport(seed, precision, tuple(results), tuple(runtimes))
