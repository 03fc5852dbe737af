r"""Tightness of the bounds and the open question :math:`E(m) \ge \lambda m`, by adversarial search.

The public namespace of the search (also importable from :mod:`proofs_numeric` itself):

======================  ====================================================================
module                  concern
======================  ====================================================================
``_families``           the spectrum families, parameter boxes to spectra (:func:`spectrum`)
``_targets``            the ratios searched: ``paper``, ``hmt``, ``lower``, ``conjecture``
``_search``             the optimiser with common random numbers, fresh re-estimation,
                        :func:`confirm`
``_conjecture``         :func:`probe_conjecture`, the search for :math:`E(m) < \lambda m`
``_campaign``           :func:`run_tightness`, every bound's extremes and the probe
``_tightness_report``   :class:`TightnessReport` and its text form
======================  ====================================================================

The command is ``lininv tightness`` (``python -m proofs_numeric.tightness`` runs it too).

Examples
--------
>>> from proofs_numeric.tightness import search
>>> r = search("paper", family="power", n=16, m=8, draws=16, maxiter=2, popsize=4, rng=0)
>>> r.ratio < 0.2  # the poster's bound is loose
True
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from proofs_numeric._campaign import FULL, QUICK, campaign_cells, run_tightness
from proofs_numeric._conjecture import ConjectureReport, probe_conjecture
from proofs_numeric._families import DEFAULT_FLOOR, FAMILIES, MIN_FLOOR, Family, spectrum
from proofs_numeric._search import (
    RELIABLE_RTOL,
    Confirmation,
    SearchResult,
    confirm,
    explore,
    search,
)
from proofs_numeric._targets import TARGETS, bound_value
from proofs_numeric._tightness_report import TightnessReport, format_results

__all__ = [
    "FAMILIES",
    "TARGETS",
    "DEFAULT_FLOOR",
    "MIN_FLOOR",
    "RELIABLE_RTOL",
    "FULL",
    "QUICK",
    "Family",
    "SearchResult",
    "Confirmation",
    "ConjectureReport",
    "TightnessReport",
    "spectrum",
    "bound_value",
    "search",
    "explore",
    "confirm",
    "probe_conjecture",
    "format_results",
    "campaign_cells",
    "run_tightness",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m proofs_numeric.tightness ARGS``: the same as ``lininv tightness ARGS``."""
    from lininv.cli import main as lininv_main

    return lininv_main(["tightness", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
