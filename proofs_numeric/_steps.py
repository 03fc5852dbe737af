"""The registry of proof steps: label, name and check, and each step's named random stream.

A step's seed is derived from the run's seed and the step's *name* (:func:`step_seed`), never from
its position in a run, so a step run alone (``lininv proofs --step NAME``) gives exactly the result
it has in the full run, and a saved step of an interrupted run is the one a rerun would compute.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lininv.validation import describe
from proofs_numeric._denoising import check_denoising_error, check_optimal_gamma
from proofs_numeric._descent import check_gradient_descent_limit
from proofs_numeric._equivalent import check_deterministic_equivalent
from proofs_numeric._exact import check_exact_m1, check_flat_spectrum, check_two_dimensional
from proofs_numeric._hmt import check_hmt_deterministic
from proofs_numeric._identity import check_error_identity
from proofs_numeric._independence import check_independence
from proofs_numeric._inverse_wishart import check_inverse_wishart_mean
from proofs_numeric._lower import check_lower_bound
from proofs_numeric._mismatch import (
    check_haar_equals_gaussian,
    check_mask_formula,
    check_mismatch_identity,
)
from proofs_numeric._result import StepResult
from proofs_numeric._ridge import check_posterior_mean, check_ridge_limit
from proofs_numeric._rotation import check_rotation_invariance
from proofs_numeric._sampling import check_posterior_sampling
from proofs_numeric._upper import check_upper_bound

__all__ = ["Step", "STEPS", "select_steps", "step_seed", "step_rng"]


@dataclass(frozen=True)
class Step:
    """A registered proof step: its label (``"4c"``), name and check function."""

    step: str
    name: str
    check: Callable[..., StepResult]


STEPS: tuple[Step, ...] = (
    Step("1", "rotation_invariance", check_rotation_invariance),
    Step("2", "error_identity", check_error_identity),
    Step("3", "lower_bound", check_lower_bound),
    Step("4a", "hmt_deterministic", check_hmt_deterministic),
    Step("4b", "independence", check_independence),
    Step("4c", "inverse_wishart_mean", check_inverse_wishart_mean),
    Step("4d", "upper_bound", check_upper_bound),
    Step("5a", "ridge_limit", check_ridge_limit),
    Step("5b", "gradient_descent_limit", check_gradient_descent_limit),
    Step("5c", "posterior_mean", check_posterior_mean),
    Step("6a", "denoising_error", check_denoising_error),
    Step("6b", "optimal_gamma", check_optimal_gamma),
    Step("7", "deterministic_equivalent", check_deterministic_equivalent),
    Step("8a", "exact_m1", check_exact_m1),
    Step("8b", "flat_spectrum", check_flat_spectrum),
    Step("8c", "two_dimensional", check_two_dimensional),
    Step("9", "posterior_sampling", check_posterior_sampling),
    Step("10a", "mismatch_identity", check_mismatch_identity),
    Step("10b", "haar_equals_gaussian", check_haar_equals_gaussian),
    Step("10c", "mask_formula", check_mask_formula),
)


def select_steps(names: Sequence[str] | None) -> tuple[Step, ...]:
    """Steps by label (``"4c"``) or name (``"inverse_wishart_mean"``); all when ``names`` is None.

    A number like ``"4"`` selects all its sub-steps (4a-4d). Raises ``ValueError`` naming the
    known steps for an unknown one, before any work.

    Examples
    --------
    >>> from proofs_numeric import select_steps
    >>> [s.step for s in select_steps(["4", "posterior_sampling"])]
    ['4a', '4b', '4c', '4d', '9']
    """
    steps = STEPS
    if names is None:
        return steps
    if isinstance(names, (str, bytes)):
        raise TypeError(f"step must be a sequence of step names; got {describe(names)}")
    chosen: list[Step] = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"step must be a string; got {describe(name)}")
        hits = [s for s in steps if name in (s.step, s.name) or s.step.rstrip("abcd") == name]
        if not hits:
            known = ", ".join(f"{s.step} ({s.name})" for s in steps)
            raise ValueError(f"step must be one of {known}; got {name!r}")
        chosen.extend(h for h in hits if h not in chosen)
    return tuple(chosen)


def step_seed(seed: int, name: str) -> int:
    """Per-step seed derived from the run seed and the step name (stable across runs).

    A step run alone (``--step NAME``) gives exactly the result it has in the full run.
    """
    ss = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def step_rng(seed: int, name: str) -> np.random.Generator:
    """``numpy.random.default_rng(step_seed(seed, name))``: the step's named stream."""
    return np.random.default_rng(step_seed(seed, name))
