"""compare: one table, checked where the answer is known (a linear flow is the Gaussian), and resumable."""

import numpy as np
import pytest
from helpers import EPS, nudge

import lininv
from lininv._io import CellStore
from lininv._random import seed_from, stream
from lininv.bridge import STALL_GTOL, Table, compare, mean_ci
from lininv.flows import linear_flow


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((n, n)) * np.geomspace(1.0, 0.05, n)
    X = rng.standard_normal((260, n)) @ mix.T + 0.5
    return X[:200], X[200:]


def _compare(flow, X_test, X_train, ms=(4, 8, 16), **kw):
    opts = dict(X_train=X_train, k=4, lasso_lambdas=(1e-3, 1e-1), rank_k_gammas=(0.0, 0.1), rng=3)
    opts.update(kw)
    return compare(flow, X_test, list(ms), **opts)


def _flow_gap_bound(prior, A, x_mle, max_iter):
    """Bound on ||x_flow - x_mle|| for the flow's L-BFGS solve of min_z ||A (mu + G z) - y||^2.

    A solve counted as converged stopped with max |grad| <= gtol, or <= STALL_GTOL if its line
    search stalled at rounding level: ||grad|| <= sqrt(n) STALL_GTOL. On the row space of
    B = A G the objective is strongly convex with modulus 2 d_min(B)^2, which bounds the latent
    distance by ||grad|| / (2 d_min^2); off it (m < n) the iterates move only by rounding, at most
    64 eps ||z|| per iteration (test_bridge_recovery's _latent_bound), with ||z|| <= ||z_mle|| +
    the distance. The signal distance is at most ||G|| times the latent one.
    """
    n = prior.n
    g = np.sqrt(n) * STALL_GTOL
    drift = (max_iter + 1) * 64 * EPS
    out = []
    for Aj, xj in zip(A, x_mle, strict=True):
        d_min = np.linalg.svd(Aj @ prior.G, compute_uv=False)[-1]
        z_norm = np.linalg.norm(np.linalg.solve(prior.G, xj - prior.mean))
        row = g / (2 * d_min**2)
        out.append(np.linalg.norm(prior.G, 2) * (row + drift * (z_norm + row) / (1 - drift)))
    return np.array(out)


def test_linear_flow_of_the_fitted_gaussian_is_the_gaussian():
    """The flow column must equal the Gaussian column, and local predictions the global ones."""
    X_train, X_test = _data()
    X_train, X_test = nudge(X_train), nudge(X_test)
    prior = lininv.LinearInvertiblePrior.fit(X_train)
    ms, max_iter, X = (4, 8, 16), 10000, X_test[:12]
    c = _compare(linear_flow(prior), X, X_train, ms=ms, X_val=X_train[:20], max_iter=max_iter)
    t = c.table
    # bitwise: a fraction k / k of converged solves is exactly 1.0
    assert t.column("flow_converged") == [
        1.0,
        1.0,
        1.0,
    ]
    for i, m in enumerate(ms):
        # compare's measurement matrices: the cell's stream (seed 3, key (1, m)), one per signal
        A = stream(seed_from(3), 1, m).standard_normal((len(X), m, prior.n)) / np.sqrt(m)
        Y = np.einsum("kmn,kn->km", A, X)
        x_mle = np.stack([lininv.mle(prior, Aj, yj) for Aj, yj in zip(A, Y, strict=True)])
        e_gauss = np.sum((x_mle - X) ** 2, axis=1)
        # the per-signal errors of a flow solve and of the exact MLE differ by at most
        # d (2 sqrt(e_gauss) + d), d the bound on ||x_flow - x_mle||
        d = _flow_gap_bound(prior, A, x_mle, max_iter)
        gap = np.abs(c.errors["flow"][i] - c.errors["gauss"][i])
        assert np.all(gap <= d * (2 * np.sqrt(e_gauss) + d)), (m, gap, d)
        # compare's Gaussian column is this MLE, up to rounding: a backward-stable solve errs by
        # at most 2 n eps cond(A G) ||x|| (test_estimators), twice for two evaluations
        cond = np.array([np.linalg.cond(Aj @ prior.G) for Aj in A])
        dx = 4 * prior.n * EPS * cond * np.linalg.norm(x_mle, axis=1)
        assert np.all(np.abs(c.errors["gauss"][i] - e_gauss) <= dx * (2 * np.sqrt(e_gauss) + dx))
        if (
            m < prior.n
        ):  # the flow bound is not vacuous: below a hundredth of the error (~5e-4 seen)
            assert np.all(d * (2 * np.sqrt(e_gauss) + d) <= 1e-2 * e_gauss)
        else:  # m = n: the MLE recovers x0 exactly, up to the same rounding
            assert t.rows[i]["gauss_mean"] <= np.mean((dx / 2) ** 2)
    # rtol 1e-9: the Jacobian's singular values are those of G to ~cond * eps (see test_predictions)
    np.testing.assert_allclose(t.column("local_predicted"), t.column("global_predicted"), rtol=1e-9)
    np.testing.assert_allclose(
        t.column("local_lower"), t.column("global_lower"), rtol=1e-9, atol=1e-15
    )
    assert t.column("m") == [4, 8, 16]
    # m = n: the rank-k generator keeps its floor
    last = t.rows[-1]
    per_signal_floor = lininv.LowRankPrior.fit(X_train, 4).representation_error(X_test[:12])
    assert np.all(c.errors["rank_k"] >= per_signal_floor * (1 - 1e-12))
    assert last["rank_k_floor"] == pytest.approx(per_signal_floor.mean(), rel=1e-12)


def test_table_columns_and_confidence_intervals():
    X_train, X_test = _data(seed=1)
    flow = linear_flow(lininv.LinearInvertiblePrior.fit(X_train))
    c = _compare(flow, X_test[:8], X_train, ms=(4, 12), draws=2)
    for row in c.table.rows:
        for meth in ("flow", "lasso", "rank_k", "gauss"):
            assert row[f"{meth}_lo"] <= row[f"{meth}_mean"] <= row[f"{meth}_hi"]
        # bitwise: the chosen weight is copied from the candidate list
        assert row["lasso_lambda"] in (
            1e-3,
            1e-1,
        )
        # bitwise: the chosen weight is copied from the candidate list
        assert row["rank_k_gamma"] in (
            0.0,
            0.1,
        )
        assert row["draws"] == 2 and row["n_signals"] == 8
        assert row["local_lower"] <= row["local_predicted"] <= row["local_upper"]
    assert c.errors["flow"].shape == (2, 8)
    # CIs are Student-t over signals of the per-signal means
    mean, lo, hi = mean_ci(c.errors["lasso"][0])
    # bitwise: the table's CI is mean_ci of the same per-signal errors, in the same process
    assert (
        mean,
        lo,
        hi,
    ) == (
        c.table.rows[0]["lasso_mean"],
        c.table.rows[0]["lasso_lo"],
        c.table.rows[0]["lasso_hi"],
    )
    # the differences' CIs are paired: Student-t over signals of the per-signal differences
    # (an unpaired interval, or one over the pooled draws, would not reproduce these numbers)
    for i, row in enumerate(c.table.rows):
        for other in ("lasso", "rank_k"):
            _, lo, hi = mean_ci(c.errors["flow"][i] - c.errors[other][i])
            # bitwise: the table's CI is mean_ci of the same differences, in the same process
            assert (row[f"flow_minus_{other}_lo"], row[f"flow_minus_{other}_hi"]) == (
                lo,
                hi,
            )
    text = c.table.to_csv()
    assert text.splitlines()[0].split(",")[:2] == ["m", "flow_mean"]
    assert Table.from_dict(c.table.to_dict()).column("m") == [4, 12]


def test_baseline_weights_are_chosen_on_the_held_out_signals_not_the_test_signals():
    """The Lasso and rank-k weights depend on X_val alone: other test signals leave them as they
    are, other validation signals change them (at m = 8 the choice moves from 0.03 to 0.001 when
    the validation signals shrink 20-fold; a choice made on the test signals would move with them)."""
    X_train, X_test = _data(seed=5)
    flow = linear_flow(lininv.LinearInvertiblePrior.fit(X_train))
    lams = (1e-3, 3e-2, 1.0, 30.0)

    def chosen(X_t, X_v):
        c = _compare(flow, X_t, X_train, ms=(8,), X_val=X_v, lasso_lambdas=lams, max_iter=50)
        return c.table.column("lasso_lambda") + c.table.column("rank_k_gamma")

    small_test = 0.05 * X_test[4:8]
    # bitwise: the chosen weights are copies of candidates, picked on the same X_val
    assert chosen(X_test[:4], X_train[:10]) == chosen(small_test, X_train[:10])
    assert chosen(X_test[:4], X_train[:10])[0] != chosen(X_test[:4], 0.05 * X_train[:10])[0]


def test_resume_gives_the_same_table(tmp_path):
    X_train, X_test = _data(seed=2)
    flow = linear_flow(lininv.LinearInvertiblePrior.fit(X_train))
    params, path = {"test": 1}, tmp_path / "cells.json"
    with CellStore(path, params) as store:
        partial = _compare(flow, X_test[:6], X_train, ms=(4,), store=store)
    with CellStore(path, params) as store:
        assert store.keys() == ["m=4"]
        full = _compare(flow, X_test[:6], X_train, ms=(4, 8), store=store)
    fresh = _compare(flow, X_test[:6], X_train, ms=(4, 8))
    # bitwise: the resumed cell is read back from its JSON file (repr round trip, exact)
    assert full.table.rows[0] == partial.table.rows[0]
    for a, b in zip(full.table.rows, fresh.table.rows, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-12, abs=0), key
    with pytest.raises(ValueError, match="other parameters"):
        CellStore(path, {"test": 2}).open()


def test_mean_ci():
    mean, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0])
    # t_{3, 0.975} = 3.182446305284263; s = sqrt(5/3)
    half = 3.182446305284263 * np.sqrt(5 / 3) / 2
    # bitwise: (1 + 2 + 3 + 4) / 4 = 2.5 exactly in binary
    assert mean == 2.5 and lo == pytest.approx(2.5 - half, rel=1e-12)
    assert hi == pytest.approx(2.5 + half, rel=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        mean_ci([1.0])
    with pytest.raises(ValueError, match="values must be finite"):
        mean_ci([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="level must be < 1"):
        mean_ci([1.0, 2.0], level=95)
    with pytest.raises(ValueError, match="level must be > 0"):
        mean_ci([1.0, 2.0], level=0.0)


_XTR, _XTE = _data(seed=4)
_FLOW = linear_flow(lininv.LinearInvertiblePrior.fit(_XTR))

BAD = [
    ({"flow": None}, TypeError, "flow must be"),
    ({"X_test": np.ones((1, 16))}, ValueError, "X_test must have at least 2 rows"),
    ({"X_test": np.ones((3, 15))}, ValueError, r"X_test must have shape \(\?, 16\)"),
    ({"ms": [1]}, ValueError, r"ms must be an integer in \[2, 16\]"),
    ({"X_train": np.ones((5, 3))}, ValueError, r"X_train must have shape \(\?, 16\)"),
    ({"k": 16}, ValueError, r"k must be an integer in \[1, 15\]"),
    ({"draws": 0}, ValueError, "draws must be an integer"),
    ({"init": "null_space"}, ValueError, "init must be one needing no scale"),
    ({"lasso_lambdas": [-1.0]}, ValueError, "lasso_lambdas must be a non-empty"),
    ({"rank_k_gammas": []}, ValueError, "rank_k_gammas must be a non-empty"),
    ({"store": "folder"}, TypeError, "store must be a CellStore"),
    ({"noise_std": -0.1}, ValueError, "noise_std must be >= 0"),
    (
        {"image_shape": (3, 5)},
        ValueError,
        "image_shape must be a pair of positive integers with product",
    ),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), BAD)
def test_bad_calls(kwargs, exc, match):
    call = {"flow": _FLOW, "X_test": _XTE[:4], "ms": [4], "X_train": _XTR, "k": 4}
    call.update(kwargs)
    with pytest.raises(exc, match=match):
        compare(call.pop("flow"), call.pop("X_test"), call.pop("ms"), **call)
