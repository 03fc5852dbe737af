"""The tightness search: finds the paper bound's looseness, the lower bound's tightness, and
finds and confirms counterexamples to false claims. Small sizes and budgets (seconds)."""

import dataclasses
import json

import numpy as np
import pytest

import lininv
import proofs_numeric
from lininv import errors_for_draws
from lininv._table import Table
from lininv.cli import main as lininv_main
from proofs_numeric import tightness as tt
from proofs_numeric._kernels import residual_errors
from proofs_numeric._search import _objective

QUICK = dict(draws=128, maxiter=4, popsize=5, max_trials=4096)


def test_paper_bound_is_loose_by_more_than_10x():
    r = tt.search("paper", family="cliff", n=12, m=4, goal="min", rng=1, **QUICK)
    assert r.ci[1] < 0.1, r  # the whole 95% interval: truth / bound < 0.1
    assert r.reliable or r.ci[1] < 0.1  # a heavy-tailed cliff: wide, but wholly below 0.1
    assert r.crn_ratio < 0.1 and r.trials >= 256


def test_lower_bound_is_attained_within_5_percent():
    r = tt.search(
        "lower", family="power", n=12, m=4, goal="min", rng=2, **(QUICK | dict(maxiter=12))
    )
    assert r.ci[1] <= 1.05, r
    assert r.ci[0] >= 1.0 - 1e-9  # and, being a theorem, never below 1


def test_conjecture_at_m1_is_exact_and_not_below_one():
    r = tt.search("conjecture", family="free", n=4, m=1, rng=3, maxiter=4, popsize=5)
    assert r.exact and r.trials == 0 and r.ci == (r.ratio, r.ratio)
    assert r.ratio >= 1.0 - 1e-9


def test_a_false_lower_bound_claim_is_found_and_confirmed_exactly_at_m1():
    def too_big(s, m):  # sum_{i > m-1}: false (a flat spectrum has E(1) = sum_{i>1} s_i^2)
        return lininv.lower_bound(s, m - 1) if m > 1 else float(np.sum(s**2))

    rep = tt.probe_conjecture(
        sizes=[(4, 1)], families=["power"], claim=too_big, rng=4, maxiter=3, popsize=4
    )
    assert rep.counterexample
    c = rep.smallest.confirmation
    assert c.method.startswith("mpmath") and c.below_one and c.ratio < 0.8


def test_a_false_conjecture_is_found_and_confirmed_by_monte_carlo():
    def inflated(s, m):  # 1.02 lambda m: false near flat spectra, where E(m) = lambda m
        return 1.02 * lininv.predicted_error(s, m)

    rep = tt.probe_conjecture(
        sizes=[(8, 3)],
        families=["power"],
        claim=inflated,
        confirm_trials=2048,
        rng=5,
        **(QUICK | dict(maxiter=12)),
    )
    assert rep.counterexample
    r = rep.smallest
    assert r.ci[1] < 1.0 and r.confirmation.ci[1] < 1.0 and r.confirmation.trials == 2048
    assert "COUNTEREXAMPLE" in rep.verdict()


def test_search_is_reproducible_from_its_seed():
    a = tt.search("hmt", family="power", n=10, m=4, rng=6, **QUICK)
    # bitwise: the result's seed reproduces the search in this process
    assert tt.search("hmt", family="power", n=10, m=4, rng=a.seed, **QUICK) == a


def test_common_random_numbers_objective_is_the_same_for_both_kernels():
    omega = np.random.default_rng(7).standard_normal((16, 10, 3))
    f = _objective("conjecture", 10, 3, "mixture", omega, 1.0, errors_for_draws, 1e-8)
    g = _objective("conjecture", 10, 3, "mixture", omega, 1.0, residual_errors, 1e-8)
    for theta in ([3.0, -2.0, 0.5], [7.0, -6.0, 1.5], [1.0, 0.0, 0.0]):
        # engine: certified 1e-6 relative per draw (its docstring); QR kernel: 8 n eps.
        assert f(np.array(theta)) == pytest.approx(g(np.array(theta)), rel=1e-6)
        # bitwise: the same stack, the same computation twice; same stack, deterministic
        assert f(np.array(theta)) == f(np.array(theta))


def test_families_give_positive_descending_floored_spectra():
    rng = np.random.default_rng(8)
    for name, fam in tt.FAMILIES.items():
        lo, hi = np.array(fam.bounds(9)).T
        for _ in range(5):
            s = tt.spectrum(name, lo + (hi - lo) * rng.random(lo.size), 9, 1e-10)
            # bitwise: s_1^2 is 1^-a, exp(0) or 1.0, and sqrt(1) = 1: IEEE special cases, exactly 1
            assert s.shape == (9,) and s[0] == 1.0
            assert np.all(np.diff(s) <= 0) and s[-1] ** 2 >= 1e-10 * (1 - 1e-15)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick campaign through the command line: (exit status, output folder, captured)."""
    folder = tmp_path_factory.mktemp("tightness")
    return lininv_main(["tightness", "--quick", "--output", str(folder / "t")]), folder


def test_quick_campaign_and_its_command_line(quick):
    code, folder = quick
    data = json.loads((folder / "t.json").read_text())
    results = [r for v in data["bounds"].values() for r in v] + data["conjecture"]["results"]
    # 0 when every fresh estimate reached its rtol, 3 (incomplete) when some hit the trial cap
    assert code == (0 if all(r["converged"] for r in results) else 3)
    assert not data["conjecture"]["counterexample"]
    assert data["provenance"]["seed"] == 0 and "lininv tightness" in data["provenance"]["command"]
    assert (folder / "t.txt").read_text().startswith("# lininv: ")
    assert "Verdict:" in (folder / "t.txt").read_text()
    table = Table.read_csv(folder / "t.csv")
    assert table.meta["seed"] == "0" and len(table) == len(results)
    assert sorted(p.name for p in folder.iterdir()) == ["t.csv", "t.json", "t.txt"]


def test_a_resumed_campaign_equals_the_uninterrupted_one(quick, monkeypatch):
    _, folder = quick
    data = json.loads((folder / "t.json").read_text())
    done = {k: [tt.SearchResult.from_dict(r) for r in v] for k, v in data["bounds"].items()}
    conj = [tt.SearchResult.from_dict(r) for r in data["conjecture"]["results"]]
    families = tt.QUICK["conjecture"]["families"]
    for n, m in tt.QUICK["conjecture"]["sizes"]:
        # A size's searches as explore returned them (by ratio, stably in family order), before
        # the confirmation stage, which the resumed campaign reruns with the same seeds.
        found = sorted(
            (r for r in conj if (r.n, r.m) == (n, m)),
            key=lambda r: (r.ratio, families.index(r.family)),
        )
        done[f"conjecture:n={n},m={m}"] = [dataclasses.replace(r, confirmation=None) for r in found]

    def no_search(*args, **kwargs):
        raise AssertionError("a finished cell must not be searched again")

    monkeypatch.setattr(proofs_numeric._campaign, "explore", no_search)
    monkeypatch.setattr(proofs_numeric._conjecture, "explore", no_search)
    cells = []
    report = tt.run_tightness(quick=True, seed=0, done=done, on_cell=lambda k, r: cells.append(k))
    assert cells == []  # nothing computed
    again = json.loads(json.dumps(report.to_dict()))
    again.pop("runtime_seconds"), data.pop("runtime_seconds"), data.pop("provenance")
    assert again == data  # bitwise: the same cells and the same seeds give the same report


def test_tightness_command_refuses_bad_input_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    for argv, message in (
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--output", "afile/t"], "exists and is not a folder"),
        (["--output", "adir/"], "must be a file path, not a folder"),
    ):
        assert lininv_main(["tightness", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written
    assert tt.main(["--seed", "-1"]) == 2  # python -m proofs_numeric.tightness: the same command


def test_tightness_help_documents_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        lininv_main(["tightness", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0" in out and "130 interrupted" in out and "For tightness: 1" in out


BAD = [
    (dict(target="upper"), ValueError, "target must be one of"),
    (dict(target="paper", m=1), ValueError, r"m must be an integer in \[2, 11\]"),
    (dict(family="spline"), ValueError, "family must be one of"),
    (dict(goal="best"), ValueError, "goal must be one of"),
    (dict(floor=1e-30), ValueError, "floor must be >= 1e-24"),
    (dict(method="bfgs"), ValueError, "method must be one of"),
    (dict(kernel="gpu"), ValueError, "kernel must be one of"),
    (dict(draws=1), ValueError, "draws must be an integer"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_search_calls(kwargs, exc, match):
    args = dict(target="conjecture", n=12, m=4) | kwargs
    with pytest.raises(exc, match=match):
        tt.search(args.pop("target"), **args)


@pytest.mark.slow
def test_bigger_search_paper_bound_loose_and_lower_bound_tight():
    loose = tt.explore("paper", goal="min", sizes=[(32, 8)], rng=0)
    assert loose[0].ci[1] < 0.1
    tight = tt.explore("lower", goal="min", sizes=[(32, 8)], rng=0)
    assert tight[0].ci[1] <= 1.05 and tight[0].ci[0] >= 1 - 1e-9
