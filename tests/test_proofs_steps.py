"""Every proof check passes on the true statement and fails on deliberately wrong ones.

Each row: the check, small settings (fast), and a false statement injected through the check's
claim parameter. Results must be reproducible from the seed.
"""

import dataclasses
import json

import numpy as np
import pytest

import lininv
import proofs_numeric as pn
from proofs_numeric import _spectra as sp


def _wrong_identity(s, omega):
    """||(I - P_Omega) S||_F^2: projecting onto range(Omega) instead of range(S Omega)."""
    m = omega.shape[1]
    Q, _ = np.linalg.qr(omega, mode="complete")
    return float(np.sum((Q[:, m:].T * s) ** 2))


NEAR_FLAT = np.sqrt(1.0 + np.arange(12)[::-1] / 1200.0)

# (id, check, settings, wrong statement, needs the Monte-Carlo engine)
ROWS = [
    (
        "1-rotation",
        pn.check_rotation_invariance,
        dict(cases=[("power", sp.power(10), 3)], draws_exact=3, precision=0.2),
        dict(surrogate=lambda G: np.abs(np.diag(G))),
        True,
    ),
    (
        "2-identity",
        pn.check_error_identity,
        dict(cases=[("power", sp.power(8), 3)], draws=1, precision=0.25),
        dict(identity=_wrong_identity),
        False,
    ),
    (
        "3-lower-bound-sum-from-m",
        pn.check_lower_bound,
        dict(cases=[("near-flat", NEAR_FLAT, 4)], precision=0.1),
        dict(bound=lambda s, m: lininv.lower_bound(s, m - 1)),  # sum_{i > m-1}: too large
        False,
    ),
    (
        "4a-hmt-deterministic",
        pn.check_hmt_deterministic,
        dict(cases=[("power", sp.power(16), 6)], precision=0.2),
        dict(rhs=lambda s, om, k: np.full(len(om), np.sum(s[k:] ** 2))),  # drops the cross term
        False,
    ),
    (
        "4b-independence",
        pn.check_independence,
        dict(cases=[("power", sp.power(16), 6)], conditionings=2, precision=0.25),
        dict(claim=lambda s2, M: float(np.max(s2) ** 2 * np.sum(M**2))),  # spectral for Frobenius
        False,
    ),
    (
        "4c-inverse-wishart-k/p",
        pn.check_inverse_wishart_mean,
        dict(shapes=[(3, 2), (4, 6)], precision=0.1),
        dict(claim=lambda k, p: k / p),  # wrong constant: k/p instead of k/(p-1)
        False,
    ),
    (
        "4d-upper-bound-constant-1",
        pn.check_upper_bound,
        dict(cases=[("power", sp.power(64), 16)], precision=0.1),
        dict(bound=lambda s, m: float(np.sum(s[m - 2 :] ** 2))),  # constant 1 instead of m
        True,
    ),
    (
        "5a-ridge-limit",
        pn.check_ridge_limit,
        dict(cases=[("power", sp.power(8), 3)], decades=5),
        dict(limit=lambda prior, A, y: np.linalg.lstsq(A, y, rcond=None)[0]),  # signal pinv
        False,
    ),
    (
        "5b-gradient-descent",
        pn.check_gradient_descent_limit,
        dict(cases=[("power", sp.power(8), 3)], init_norms=(10.0,)),
        dict(limit=lambda prior, A, y, z0: pn.descent_limit(prior, A, y, 0 * z0)),  # "always MLE"
        False,
    ),
    (
        "5c-posterior-mean",
        pn.check_posterior_mean,
        dict(cases=[("power", sp.power(8), 3)], noise_stds=(0.5,)),
        dict(gamma_of=lambda sigma: sigma),
        False,
    ),
    (
        "6a-denoising-factor-half",
        pn.check_denoising_error,
        dict(spectra=[("power", sp.power(8))], gammas=(0.5,), precision=0.1),
        dict(closed_form=lambda s, sig, gam, f: pn.denoising_closed_form(s, sig, gam, "latent")),
        False,
    ),
    (
        "6b-optimal-gamma",
        pn.check_optimal_gamma,
        dict(spectra=[("power", sp.power(8))], noise_stds=(0.3,)),
        dict(optimum=lambda sigma, f: sigma**2),  # ignores the signal form's factor 2
        False,
    ),
    (
        "7-sandwich",
        pn.check_deterministic_equivalent,
        dict(sizes=(16,), m_fractions=(0.25,), noise_stds=(0.0,), rtol=0.02),
        dict(predictor=lambda s, m, sig: 0.5 * lininv.lower_bound(s, m)),
        True,
    ),
    (
        "8a-exact-m1",
        pn.check_exact_m1,
        dict(spectra=[("dominant", sp.dominant(6, 1e-3))], precision=0.25),
        dict(claim=lambda s: lininv.predicted_error(s, 1)),  # lambda is not E(1)
        True,
    ),
    (
        "8b-flat",
        pn.check_flat_spectrum,
        dict(sizes=[(8, 3)], precision=0.1),
        dict(claim=lambda n, m, level: (n - m + 1) * level**2),
        False,
    ),
    (
        "8c-two-dimensional",
        pn.check_two_dimensional,
        dict(pairs=[(3.0, 1.0)], precision=0.25),
        dict(claim=lambda a, b: 2 * a * a * b * b / (a * a + b * b)),
        False,
    ),
    (
        "9-posterior-sampling-factor-1",
        pn.check_posterior_sampling,
        dict(cases=[("power", sp.power(8), 3)], noise_stds=(0.3,), precision=0.1),
        dict(factor=1.0),
        False,
    ),
]

PARAMS = [pytest.param(*row[1:4], id=row[0]) for row in ROWS]


@pytest.mark.parametrize("check, settings, wrong", PARAMS)
def test_true_statement_passes(check, settings, wrong):
    result = check(**settings, rng=11)
    assert result.passed, [e for e in result.evidence if not e.passed]
    assert all(e.tolerance >= 0 for e in result.evidence)


@pytest.mark.parametrize("check, settings, wrong", PARAMS)
def test_wrong_statement_fails(check, settings, wrong):
    result = check(**settings, **wrong, rng=11)
    assert not result.passed
    assert result.failures()


@pytest.mark.parametrize("check, settings, wrong", PARAMS)
def test_reproducible_from_seed(check, settings, wrong):
    a = check(**settings, rng=5)
    b = check(**settings, rng=5)
    assert a == b  # bitwise: the same seed: the same computation twice in this process
    json.dumps(a.to_dict(), allow_nan=False)  # JSON-ready


def test_result_seed_reproduces_an_unseeded_run():
    settings = dict(cases=[("power", sp.power(8), 3)], precision=0.05)
    a = pn.check_lower_bound(**settings, rng=np.random.default_rng(3))
    b = pn.check_lower_bound(**settings, rng=a.seed)
    assert a == b  # bitwise: the result's seed reproduces the run in this process


def test_monte_carlo_evidence_states_trials_and_ci():
    r = pn.check_posterior_sampling(
        cases=[("power", sp.power(6), 2)], noise_stds=(0.5,), precision=0.05, rng=0
    )
    for e in r.evidence:
        assert e.method == "monte-carlo"
        assert e.trials == 1000 and e.stderr > 0
        assert e.ci[0] < e.value < e.ci[1]
        assert e.tolerance == pytest.approx(5 * e.stderr)  # the stated z = 5


def test_step_7_reports_a_measured_table():
    r = pn.check_deterministic_equivalent(
        spectra=[("power a=1", sp.power)],
        sizes=(16,),
        m_fractions=(0.25,),
        noise_stds=(0.0, 0.1),
        rtol=0.02,
        rng=0,
    )
    assert len(r.table.rows) == 2
    row = dict(zip(r.table.columns, r.table.rows[0], strict=True))
    assert row["m"] == 4 and row["sigma"] == 0.0  # bitwise: m and sigma are copies of the settings
    assert row["prediction"] == pytest.approx(lininv.predicted_error(sp.power(16), 4))
    assert row["pred/E - 1"] == pytest.approx(row["prediction"] / row["E (MC)"] - 1)
    assert row["95% CI lo"] <= row["pred/E - 1"] <= row["95% CI hi"]
    assert "|" in r.table.to_markdown()


def test_results_are_frozen():
    r = pn.check_flat_spectrum(sizes=[(4, 1)], precision=0.05, rng=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.step = "x"
