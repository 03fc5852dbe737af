"""The pass rules of proofs_numeric._result: margins, signs, and the z-standard-error bands."""

import json

import numpy as np
import pytest

from proofs_numeric._result import (
    StepResult,
    Table,
    exact_equality,
    exact_inequality,
    mc_equality,
    mc_inequality,
    mc_summary,
    per_draw_inequality,
    step_seed,
)


def test_exact_equality_margin_is_tolerance_minus_gap():
    ev = exact_equality("x", 1.0, 1.0 + 1e-12, 2e-12)
    assert ev.passed and ev.margin == pytest.approx(1e-12)
    assert not exact_equality("x", 1.0, 1.0 + 3e-12, 2e-12).passed


@pytest.mark.parametrize(
    "value, claimed, relation, tol, passed",
    [
        (1.0, 2.0, "<=", 0.0, True),
        (2.0, 1.0, "<=", 0.0, False),
        (2.0, 1.0, "<=", 1.5, True),  # within rounding allowance
        (2.0, 1.0, ">=", 0.0, True),
        (1.0, 2.0, ">=", 0.0, False),
    ],
)
def test_exact_inequality(value, claimed, relation, tol, passed):
    assert exact_inequality("x", value, claimed, relation, tol).passed is passed


def test_monte_carlo_equality_uses_z_standard_errors():
    assert mc_equality("x", 1.0, 0.1, 100, 1.49, z=5).passed
    assert not mc_equality("x", 1.0, 0.1, 100, 1.51, z=5).passed
    ev = mc_equality("x", 1.0, 0.1, 100, 1.2)
    assert ev.z_score == pytest.approx(-2.0)
    assert ev.ci == pytest.approx((1.0 - 1.959963984540054 * 0.1, 1.0 + 1.959963984540054 * 0.1))


def test_monte_carlo_inequality_must_hold_beyond_the_band():
    # mean 1.0 +- 0.1: "<= 1.3" is inside the 5-SE band, so not confirmed (fails)...
    assert not mc_inequality("x", 1.0, 0.1, 100, 1.3, "<=").passed
    # ... "<= 1.6" holds beyond it.
    assert mc_inequality("x", 1.0, 0.1, 100, 1.6, "<=").passed
    assert mc_inequality("x", 1.0, 0.1, 100, 0.4, ">=").passed
    assert not mc_inequality("x", 1.0, 0.1, 100, 0.6, ">=").passed


def test_per_draw_inequality_reports_the_worst_draw_and_counts_violations():
    values = np.array([1.0, 3.0, 2.5])
    ev = per_draw_inequality("x", values, np.array([2.0, 2.0, 2.0]), "<=", 0.0)
    # bitwise: the worst value is a copy and 2 - 3 = -1 exactly
    assert not ev.passed and ev.value == 3.0 and ev.margin == -1.0 and ev.trials == 3
    assert ev.note.startswith("2 of 3 draws violate")
    assert per_draw_inequality("x", values, 3.0, "<=", 0.0).passed


def test_relation_is_validated():
    with pytest.raises(ValueError, match="relation must be one of"):
        exact_inequality("x", 1.0, 1.0, "<", 0.0)


def test_mc_summary_and_step_seed():
    mean, se, t = mc_summary([1.0, 2.0, 3.0, 4.0])
    # bitwise: (1 + 2 + 3 + 4) / 4 = 2.5 exactly in binary
    assert (mean, t) == (2.5, 4) and se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    with pytest.raises(ValueError, match="at least 2"):
        mc_summary([1.0])
    assert step_seed(0, "a") == step_seed(0, "a") != step_seed(0, "b") != step_seed(1, "a")


def test_step_result_passes_only_when_every_case_passes_and_serialises():
    good = exact_equality("a", 1.0, 1.0, 0.0)
    bad = exact_equality("b", 1.0, 2.0, 0.0)
    r = StepResult(
        "1", "n", "t", "s", "f", "m", (good, bad), seed=3, table=Table(("c",), ((1.0,),))
    )
    assert not r.passed and r.failures() == (bad,)
    assert StepResult("1", "n", "t", "s", "f", "m", (good,)).passed
    assert not StepResult("1", "n", "t", "s", "f", "m", ()).passed  # no evidence is no proof
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    # bitwise: (1 - 2) / 2 = -0.5 exactly, and a JSON round trip is exact
    assert d["passed"] is False and d["evidence"][1]["relative_margin"] == -0.5
    assert r.table.to_markdown().splitlines()[0] == "| c |"
