"""proofs_numeric: every step of the lininv theorem's proof, checked numerically.

The theorem (Asim et al., ICML 2020; THEORY.md section 6): for ``G`` with singular values ``s``
and ``m >= 2`` Gaussian measurements, the constrained MLE satisfies

    sum_{i>m} s_i^2  <=  E_A E_x0 ||x_hat - x0||^2  <=  m sum_{i>m-2} s_i^2.

Each check takes the statement under test as an argument (defaulting to the true one), so a
wrong statement can be fed in and must fail. Each returns a :class:`StepResult`.

API index
---------
Results
    StepResult, Evidence, Table     frozen result objects (to_dict() for JSON)
Proof steps (THEORY.md sections 3, 6, 7)
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
True statements (the defaults the checks test)
    residual_identity, hmt_rhs, inverse_wishart_mean, hmt_expectation_bound,
    constrained_mle, descent_limit, denoising_closed_form, flat_error, two_dimensional_error,
    posterior_samples, exact_m1_mpmath
Running
    STEPS, run_steps, write_reports, format_table, RunReport
    ``python -m proofs_numeric`` / ``lininv proofs``
Figures (ax=None, return the Axes)
    plot_evidence, plot_lower_bound_draws, plot_hmt_draws, plot_inverse_wishart_mean,
    plot_descent, plot_denoising_curve, plot_equivalent, plot_tightness
Tightness and the open question
    proofs_numeric.tightness        optimiser over spectra with common random numbers
"""

from proofs_numeric._denoising import (
    check_denoising_error,
    check_optimal_gamma,
    denoising_closed_form,
)
from proofs_numeric._equivalent import check_deterministic_equivalent
from proofs_numeric._exact import (
    check_exact_m1,
    check_flat_spectrum,
    check_two_dimensional,
    exact_m1_mpmath,
    flat_error,
    two_dimensional_error,
)
from proofs_numeric._identity import check_error_identity, residual_identity
from proofs_numeric._latent import (
    check_gradient_descent_limit,
    check_posterior_mean,
    check_ridge_limit,
    constrained_mle,
    descent_limit,
)
from proofs_numeric._lower import check_lower_bound
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
from proofs_numeric._result import Evidence, StepResult, Table
from proofs_numeric._rotation import check_rotation_invariance
from proofs_numeric._runner import STEPS, RunReport, format_table, run_steps, write_reports
from proofs_numeric._sampling import check_posterior_sampling, posterior_samples
from proofs_numeric._upper import (
    check_hmt_deterministic,
    check_independence,
    check_inverse_wishart_mean,
    check_upper_bound,
    hmt_expectation_bound,
    hmt_rhs,
    inverse_wishart_mean,
)

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
    "RunReport",
    "run_steps",
    "write_reports",
    "format_table",
    "plot_evidence",
    "plot_lower_bound_draws",
    "plot_hmt_draws",
    "plot_inverse_wishart_mean",
    "plot_descent",
    "plot_denoising_curve",
    "plot_equivalent",
    "plot_tightness",
]
