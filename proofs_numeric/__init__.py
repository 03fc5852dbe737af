"""proofs_numeric: every step of the lininv theorem's proof, checked numerically.

The theorem (Asim et al., ICML 2020; docs/theory.md section 6): for ``G`` with singular values
``s`` and ``m >= 2`` Gaussian measurements, the constrained MLE satisfies

    sum_{i>m} s_i^2  <=  E_A E_x0 ||x_hat - x0||^2  <=  m sum_{i>m-2} s_i^2.

Each check takes the statement under test as an argument (defaulting to the true one), so a
wrong statement can be fed in and must fail. Each returns a :class:`StepResult`. The package
computes and presents; it never parses a command line and never writes a file: the commands are
``lininv proofs`` and ``lininv tightness`` (``lininv/cli/``), which print and save with
provenance. It uses only lininv's public API.

API index
---------
Results
    StepResult, Evidence, Table     frozen result objects (to_dict() / from_dict() for JSON)
Proof steps (docs/theory.md sections 3, 6, 7)
    check_rotation_invariance       1   E_A err depends on s only
    check_error_identity            2   E_x0 ||x_hat - x0||^2 = ||(I - P_Y) S||_F^2
    check_lower_bound               3   Eckart-Young, for every draw
    check_hmt_deterministic         4a  HMT's deterministic inequality, every draw
    check_independence              4b  the independence step
    check_inverse_wishart_mean      4c  E ||Omega1^+||_F^2 = k / (p - 1)
    check_upper_bound               4d  the resulting bound and the poster's form
    check_ridge_limit               5a  gamma -> 0 gives the MLE
    check_gradient_descent_limit    5b  gradient descent -> z_hat + (I - P) z_init
    check_posterior_mean            5c  gamma = sigma^2 is the posterior mean
    check_denoising_error           6a  denoising closed form
    check_optimal_gamma             6b  optimal gamma and the Wiener error
    check_deterministic_equivalent  7   lambda m against Monte Carlo, measured (a table)
    check_exact_m1                  8a  exact E(1) by quadrature
    check_flat_spectrum             8b  flat spectrum: (n - m) s^2 per draw
    check_two_dimensional           8c  n = 2, m = 1: E(1) = s1 s2
    check_posterior_sampling        9   posterior sampling doubles the error
    check_mismatch_identity        10a  the MLE's error under another Gaussian (dataset bias)
    check_haar_equals_gaussian     10b  Haar rows give the Gaussian expected error
    check_mask_formula             10c  random masks, diagonal G: (1 - m/n) sum s_i^2
True statements (the defaults the checks test)
    residual_identity, hmt_rhs, inverse_wishart_mean, hmt_expectation_bound,
    constrained_mle, descent_limit, denoising_closed_form, flat_error, two_dimensional_error,
    posterior_samples, exact_m1_mpmath
Running (compute: a RunReport; present: text and Markdown)
    STEPS, Step, select_steps, check_precision   the registry and the checks of a run's settings
    run_steps, RunReport                          run steps (progress, resume from done steps)
    format_table, format_markdown                 the report as text and Markdown
    evidence_rows, EVIDENCE_COLUMNS               one row per case, for a CSV table
    write_reports                                 deprecated: ``lininv proofs`` writes reports
Figures (ax=None, return the Axes)
    plot_evidence, plot_lower_bound_draws, plot_hmt_draws, plot_inverse_wishart_mean,
    plot_descent, plot_denoising_curve, plot_equivalent, plot_tightness
Tightness and the open question (also ``proofs_numeric.tightness``)
    search, explore, confirm        optimiser over spectra with common random numbers
    probe_conjecture                adversarial search for E(m) < lambda m (ConjectureReport)
    run_tightness, TightnessReport  the campaign behind ``lininv tightness``
    spectrum, FAMILIES, TARGETS     the families searched and the ratios measured
    SearchResult, Confirmation      a search's extreme, re-estimated; its independent re-run
    format_results, result_rows, RESULT_COLUMNS   a campaign as text and as CSV rows
"""

from __future__ import annotations

import warnings
from typing import Any

from proofs_numeric._campaign import run_tightness
from proofs_numeric._common import check_precision
from proofs_numeric._conjecture import ConjectureReport, probe_conjecture
from proofs_numeric._denoising import (
    check_denoising_error,
    check_optimal_gamma,
    denoising_closed_form,
)
from proofs_numeric._descent import check_gradient_descent_limit, descent_limit
from proofs_numeric._equivalent import check_deterministic_equivalent
from proofs_numeric._exact import (
    check_exact_m1,
    check_flat_spectrum,
    check_two_dimensional,
    exact_m1_mpmath,
    flat_error,
    two_dimensional_error,
)
from proofs_numeric._families import FAMILIES, spectrum
from proofs_numeric._hmt import check_hmt_deterministic, hmt_rhs
from proofs_numeric._identity import check_error_identity, residual_identity
from proofs_numeric._independence import check_independence
from proofs_numeric._inverse_wishart import check_inverse_wishart_mean, inverse_wishart_mean
from proofs_numeric._lower import check_lower_bound
from proofs_numeric._mismatch import (
    check_haar_equals_gaussian,
    check_mask_formula,
    check_mismatch_identity,
    mask_formula,
    mismatch_identity,
)
from proofs_numeric._plots import (
    plot_denoising_curve,
    plot_descent,
    plot_equivalent,
    plot_evidence,
    plot_hmt_draws,
    plot_inverse_wishart_mean,
    plot_lower_bound_draws,
    plot_tightness,
)
from proofs_numeric._report import EVIDENCE_COLUMNS, evidence_rows, format_markdown, format_table
from proofs_numeric._result import Evidence, StepResult, Table
from proofs_numeric._ridge import check_posterior_mean, check_ridge_limit, constrained_mle
from proofs_numeric._rotation import check_rotation_invariance
from proofs_numeric._run import RunReport, run_steps
from proofs_numeric._sampling import check_posterior_sampling, posterior_samples
from proofs_numeric._search import Confirmation, SearchResult, confirm, explore, search
from proofs_numeric._steps import STEPS, Step, select_steps
from proofs_numeric._targets import TARGETS
from proofs_numeric._tightness_report import (
    RESULT_COLUMNS,
    TightnessReport,
    format_results,
    result_rows,
)
from proofs_numeric._upper import check_upper_bound, hmt_expectation_bound

__all__ = [
    "StepResult",
    "Evidence",
    "Table",
    "check_rotation_invariance",
    "check_error_identity",
    "check_lower_bound",
    "check_hmt_deterministic",
    "check_independence",
    "check_inverse_wishart_mean",
    "check_upper_bound",
    "check_ridge_limit",
    "check_gradient_descent_limit",
    "check_posterior_mean",
    "check_denoising_error",
    "check_optimal_gamma",
    "check_deterministic_equivalent",
    "check_exact_m1",
    "check_flat_spectrum",
    "check_two_dimensional",
    "check_posterior_sampling",
    "check_mismatch_identity",
    "check_haar_equals_gaussian",
    "check_mask_formula",
    "mismatch_identity",
    "mask_formula",
    "residual_identity",
    "hmt_rhs",
    "inverse_wishart_mean",
    "hmt_expectation_bound",
    "constrained_mle",
    "descent_limit",
    "denoising_closed_form",
    "flat_error",
    "two_dimensional_error",
    "posterior_samples",
    "exact_m1_mpmath",
    "STEPS",
    "Step",
    "select_steps",
    "check_precision",
    "RunReport",
    "run_steps",
    "format_table",
    "format_markdown",
    "evidence_rows",
    "EVIDENCE_COLUMNS",
    "write_reports",
    "plot_evidence",
    "plot_lower_bound_draws",
    "plot_hmt_draws",
    "plot_inverse_wishart_mean",
    "plot_descent",
    "plot_denoising_curve",
    "plot_equivalent",
    "plot_tightness",
    "search",
    "explore",
    "confirm",
    "probe_conjecture",
    "run_tightness",
    "spectrum",
    "FAMILIES",
    "TARGETS",
    "SearchResult",
    "Confirmation",
    "ConjectureReport",
    "TightnessReport",
    "format_results",
    "result_rows",
    "RESULT_COLUMNS",
]


def write_reports(report: RunReport, output: Any) -> Any:
    """Deprecated: ``lininv proofs`` writes the reports; this calls it.

    Writes ``<output>.md``, ``<output>.json`` and ``<output>.csv`` with provenance through
    :func:`lininv.cli.proofs.write_reports` and returns their paths. The library itself no longer
    writes files: use :func:`format_markdown` and :meth:`RunReport.to_dict` for the contents.
    """
    warnings.warn(
        "proofs_numeric.write_reports is deprecated: the command line writes reports "
        "(lininv proofs --output STEM); format_markdown and RunReport.to_dict give the contents",
        DeprecationWarning,
        stacklevel=2,
    )
    from lininv.cli.proofs import write_reports as cli_write_reports

    return cli_write_reports(report, output)
