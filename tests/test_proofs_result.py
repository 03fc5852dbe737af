"""The pass rules of proofs_numeric._rules: margins, signs, the z-standard-error bands (a test
margin), the Student-t intervals reported beside them, and the result objects' JSON round trip."""

import json

import numpy as np
import pytest

import lininv
from proofs_numeric._result import StepResult, Table
from proofs_numeric._rules import (
    exact_equality,
    exact_inequality,
    mc_equality,
    mc_inequality,
    mc_summary,
    per_draw_inequality,
)
from proofs_numeric._steps import step_seed


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
    # bitwise: the reported interval is lininv's Student-t interval of the same numbers
    assert ev.ci == lininv.t_interval(1.0, 0.1, 100)
    assert ev.tolerance == 5 * 0.1  # bitwise: the test margin is z = 5 standard errors, exactly


def test_the_interval_is_student_t_not_normal_for_few_samples():
    # With 3 samples the 95% t quantile is 4.30, not 1.96: the interval reports it; the pass
    # rule (z standard errors) does not depend on it.
    ev = mc_equality("x", 1.0, 0.1, 3, 1.0)
    half = (ev.ci[1] - ev.ci[0]) / 2
    assert half == pytest.approx(4.302653 * 0.1, rel=1e-6)  # scipy's t_{2, 0.975}, 7 digits
    assert mc_inequality("x", 1.0, 0.1, 3, 2.0, "<=").ci == ev.ci  # bitwise: same numbers


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


def test_step_result_round_trips_through_json_exactly():
    ev = mc_equality("m", 1.0 / 3.0, 0.01, 50, 0.3, note="n")
    r = StepResult(
        "4c",
        "n",
        "t",
        "s",
        "f",
        "m",
        (ev, exact_equality("e", 2.0, 2.0, 1e-15)),
        seed=7,
        table=Table(("a", "b"), (("x", 1.5), ("y", None))),
    )
    back = StepResult.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
    assert back == r  # bitwise: JSON writes floats with repr, which reads back exactly
