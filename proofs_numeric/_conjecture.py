r"""The open question :math:`E(m) \ge \lambda m`: an adversarial search for a counterexample.

:func:`probe_conjecture` minimises :math:`E(m)/(\lambda m)` over every family and size with
:func:`proofs_numeric.tightness.search`; a counterexample counts only if its fresh 95% interval
lies entirely below 1 *and* an independent, larger re-run (:func:`confirm`; for ``m = 1`` an mpmath
quadrature) does too. docs/theory.md section 7.5 states the question.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lininv.validation import check_int, check_real
from proofs_numeric._common import check_common, seed_of
from proofs_numeric._families import MIN_FLOOR
from proofs_numeric._search import SearchResult, confirm, explore
from proofs_numeric._targets import check_target

__all__ = ["ConjectureReport", "probe_conjecture", "size_key"]


def size_key(n: int, m: int) -> str:
    """The name of one size's searches (``"n=6,m=2"``), as ``done`` and ``on_size`` use it."""
    return f"n={n},m={m}"


@dataclass(frozen=True)
class ConjectureReport:
    r"""Outcome of :func:`probe_conjecture`.

    Attributes
    ----------
    smallest : SearchResult
        The smallest fresh ratio :math:`E(m)/(\lambda m)` among *reliable* results (exact, or a
        95% CI half-width within ``RELIABLE_RTOL``); a confirmed counterexample if there is one.
    counterexample : bool
        True only if a fresh interval lies entirely below 1 *and* the independent confirmation
        (:func:`confirm`) does too.
    results : tuple of SearchResult
        Every search, smallest ratio first.
    """

    smallest: SearchResult
    counterexample: bool
    results: tuple[SearchResult, ...]

    @property
    def unreliable(self) -> tuple[SearchResult, ...]:
        """Searches whose fresh estimate is too noisy to rank (heavy-tailed per-draw errors)."""
        return tuple(r for r in self.results if not r.reliable)

    def verdict(self) -> str:
        r = self.smallest
        where = f"{r.family} n={r.n} m={r.m}, s^2 = ({', '.join(f'{v * v:.3g}' for v in r.spectrum[:4])}, ...)"
        ci = f"[{r.ci[0]:.6f}, {r.ci[1]:.6f}]"
        if self.counterexample:
            c = r.confirmation
            assert c is not None
            return (
                f"COUNTEREXAMPLE: E(m)/(lambda m) = {r.ratio:.6f} {ci} at {where}; confirmed by "
                f"{c.method}: {c.ratio:.6f} [{c.ci[0]:.6f}, {c.ci[1]:.6f}]"
            )
        how = "exact" if r.exact else f"{r.trials} fresh trials"
        again = ""
        if r.confirmation is not None and not r.exact:
            c = r.confirmation
            again = f"; independent re-run ({c.trials} trials): {c.ratio:.6f} [{c.ci[0]:.6f}, {c.ci[1]:.6f}]"
        return (
            f"no counterexample found: smallest E(m)/(lambda m) = {r.ratio:.6f} {ci} ({how}) at "
            f"{where}{again}; {len(self.results)} searches, {len(self.unreliable)} too noisy to rank"
        )


def probe_conjecture(
    *,
    sizes: Sequence[tuple[int, int]] = (
        (3, 1),
        (6, 1),
        (12, 1),
        (32, 1),
        (4, 2),
        (6, 3),
        (16, 4),
        (32, 8),
    ),
    families: Sequence[str] = ("power", "exponential", "cliff", "mixture", "free"),
    free_max_n: int = 12,
    confirm_trials: int = 200_000,
    recheck: int = 6,
    mc_floor: float = 1e-4,
    claim: Callable[[np.ndarray, int], float] | None = None,
    rng: Any = None,
    done: Mapping[str, Sequence[SearchResult]] | None = None,
    on_size: Callable[[str, tuple[SearchResult, ...]], Any] | None = None,
    **search_kwargs: Any,
) -> ConjectureReport:
    r"""Adversarial search for a spectrum with :math:`E(m) < \lambda m`.

    Minimises the ratio over every family (``free`` only for ``n <= free_max_n``) and size.
    ``m = 1`` is exact (no sampling). Every result whose fresh interval lies entirely below 1 is
    re-run independently (:func:`confirm`, ``confirm_trials`` draws or mpmath); the report's
    ``counterexample`` is True only if that also lies below 1. Then, up to ``recheck`` times, the
    reliable result with the smallest current estimate is re-run the same way whatever its
    interval (ranking by the re-run where there is one), and the smallest ratio found is
    reported whatever it is.

    ``mc_floor`` (default ``1e-4``) is the spectrum floor of the Monte-Carlo searches
    (``m >= 2``): below it, spectra with a cliff at ``j = m`` and a tiny tail have per-draw errors
    dominated by rare near-singular draws, which neither a common-random-number stack nor a
    fresh run of practical size resolves (such results are flagged unreliable). ``m = 1`` is
    exact down to ``s_i^2 = 1e-24``. ``claim`` replaces :math:`\lambda m` by another claimed
    lower bound ``(s, m) -> float``: with a false one the probe must find and confirm a
    counterexample.

    ``done`` maps :func:`size_key` names to the searches of sizes an interrupted run finished
    (reused, not recomputed: every size's seed is drawn from ``rng`` in order either way, so the
    result is the same); ``on_size(key, results)`` is called after each size searched here.

    Examples
    --------
    >>> from proofs_numeric.tightness import probe_conjecture
    >>> rep = probe_conjecture(sizes=[(3, 1)], families=["power"], maxiter=2, popsize=4, rng=0)
    >>> rep.counterexample, rep.smallest.exact, 1.0 <= rep.smallest.ratio < 1.01
    (False, True, True)
    """
    free_max_n = check_int("free_max_n", free_max_n, low=2)
    confirm_trials = check_int("confirm_trials", confirm_trials, low=2)
    recheck = check_int("recheck", recheck, low=0)
    mc_floor = check_real("mc_floor", mc_floor, low=MIN_FLOOR, high=1.0)
    target: Any = "conjecture" if claim is None else check_target(claim)
    if on_size is not None and not callable(on_size):
        raise TypeError("on_size must be callable or None")
    _, _, _, gen = check_common(1.0, 1.0, rng)
    done = {} if done is None else dict(done)
    results: list[SearchResult] = []
    for n, m in sizes:
        fams = [f for f in families if f != "free" or n <= free_max_n]
        kwargs = dict(search_kwargs)
        if m > 1:
            kwargs.setdefault("floor", mc_floor)
        key, size_seed = size_key(n, m), seed_of(gen)
        if key in done:
            found = tuple(done[key])
        else:
            found = explore(
                target, goal="min", families=fams, sizes=[(n, m)], rng=size_seed, **kwargs
            )
            if on_size is not None:
                on_size(key, found)
        results.extend(found)
    # Independent large re-runs (:func:`confirm`): every result whose fresh interval lies below 1
    # (a candidate counterexample); then, up to `recheck` times, the reliable result with the
    # smallest current estimate if it has not been re-run yet, so that the reported minimum
    # carries an independent, precise interval rather than the luck of a selection.
    claim_fn = target if callable(target) else None
    final = list(results)

    def rerun(i: int) -> None:
        c = confirm(final[i], trials=confirm_trials, target=claim_fn, rng=seed_of(gen))
        final[i] = dataclasses.replace(final[i], confirmation=c)

    def key(r: SearchResult) -> float:
        return r.confirmation.ratio if r.confirmation is not None else r.ratio

    for i, r in enumerate(final):
        if r.ci[1] < 1.0:
            rerun(i)
    for _ in range(recheck):
        pool = [i for i, r in enumerate(final) if r.reliable]
        if not pool:
            break
        i = min(pool, key=lambda j: key(final[j]))
        if final[i].confirmation is not None or final[i].exact:
            break
        rerun(i)
    final.sort(key=key)
    counter = [
        r
        for r in final
        if r.ci[1] < 1.0 and r.confirmation is not None and r.confirmation.below_one
    ]
    smallest = counter[0] if counter else ([r for r in final if r.reliable] or final)[0]
    return ConjectureReport(smallest, bool(counter), tuple(final))
