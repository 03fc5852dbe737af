"""The claims at n = 784: rows from saved results, the 10-20x rule at low ratios."""

import numpy as np
import pytest

from lininv._table import Table
from lininv.experiments import ExperimentResult, claims_28, save_result
from lininv.experiments._claims import CLAIM_COLUMNS


def _cs28(protocol, factors):
    """A compressed-sensing-28 result with the given (m, factor, lo, hi, bound) rows and
    per-image errors where the flow is better than Lasso by 1 everywhere."""
    ms = [f[0] for f in factors]
    rows = [
        {"m": m, "ratio": m / 784, "factor": f, "factor_lo": lo, "factor_hi": hi, "factor_bound": b}
        for m, f, lo, hi, b in factors
    ]
    rng = np.random.default_rng(0)
    flow = rng.uniform(1, 2, (len(ms), 6))
    data = {
        "ms": ms,
        "errors": {"flow": flow.tolist(), "lasso": (flow + 1).tolist(), "gan": flow.tolist()},
        "psnr": {"flow": (-flow).tolist(), "lasso": (-flow - 1).tolist(), "gan": (-flow).tolist()},
    }
    table = Table(list(rows[0]), rows, meta={"command": "cmd"})
    return ExperimentResult("compressed-sensing-28", table, {}, data, protocol=protocol)


def test_claims_28_reads_saved_results_and_applies_the_10_to_20x_rule(tmp_path):
    factors = [
        (8, 12.0, 10.5, 14.0, "="),  # 1%: whole CI >= 10: reproduced
        (16, 12.0, 9.0, 14.0, "="),  # 2%: CI reaches below 10: not
        (125, 1.5, 1.1, 2.0, "="),  # 16%: several times, CI above 1: reproduced
        (251, 2.0, 2.0, 2.0, ">"),  # censored, still above 1
        (502, 1.0, 1.0, 1.0, ">"),  # the grid's last m: no row
    ]
    for proto in ("lininv", "paper"):
        save_result(_cs28(proto, factors), tmp_path)
    res = claims_28(folder=tmp_path)
    assert res.table.columns == CLAIM_COLUMNS
    assert res.data["missing"] == [
        f"{name} (lininv)" for name in ("denoising-28", "inpainting-28", "out-of-distribution-28")
    ]
    fac = [r for r in res.table.rows if r["metric"].startswith("measurement factor")]
    assert len(fac) == 2 * 4
    got = [(r["setting"].split(" (")[0], r["reproduced"]) for r in fac[:4]]
    assert got == [
        ("flow at m = 8", True),
        ("flow at m = 16", False),
        ("flow at m = 125", True),
        ("flow at m = 251", True),
    ]
    assert "10-20x" in fac[0]["claim"] and "several" in fac[2]["claim"]
    assert "censored" in fac[3]["setting"]
    # flow vs Lasso: better by exactly 1 on every image (mse under lininv, psnr under paper)
    vs = [r for r in res.table.rows if r["claim"] == "the flow recovers better than Lasso"]
    assert len(vs) == 2 * 5 and all(r["reproduced"] for r in vs)
    for r in vs:
        assert r["effect"] == pytest.approx(-1.0 if r["protocol"] == "lininv" else 1.0)
        assert r["command"] == "cmd" and "compressed-sensing-28" in r["source"]
    # flow vs the GAN: equal on every image: the CI is [0, 0] and the claim is not reproduced
    gan = [r for r in res.table.rows if r["claim"] == "the flow recovers better than the GAN"]
    assert len(gan) == 10 and not any(r["reproduced"] for r in gan)
    with pytest.raises(ValueError, match="folder"):
        claims_28()
