"""The README is the front door: its code runs, its printed numbers are today's, and CI runs its
test command."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_blocks_run(capsys):
    blocks = _blocks("python")
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    for printed in re.findall(r"Printed: `([^`]*)`", README):
        assert printed in out


def test_ci_runs_the_readme_install_and_test_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for block in _blocks("bash") for line in block.splitlines()]
    test_cmd = next(c for c in commands if "pytest" in c)
    install_cmd = next(c for c in commands if "pip install" in c)
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert test_cmd in ci_lines
    assert install_cmd in ci_lines


def test_readme_commands_exist():
    from lininv.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = "\n".join(_blocks("bash"))
    for cmd in re.findall(r"^lininv ([a-z-]+)", commands, flags=re.M):
        assert cmd in sub.choices, f"README mentions `lininv {cmd}`, which is not a command"


def _half_unit(text):
    """Half a unit in the last printed digit of a number printed as ``text``."""
    digits = text.lower().split("e")[0]
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    exponent = int(text.lower().split("e")[1]) if "e" in text.lower() else 0
    return 0.5 * 10.0 ** (exponent - decimals)


def test_readme_verify_excerpt_is_what_the_code_prints_today():
    """The excerpt row of `lininv verify` in the README is recomputed (one cell, ~2 s).

    The random draws are the same on every machine (the cell seed keys the spectrum to single
    precision, see test_sweep); each draw's error can differ between BLAS kernels by at most the
    engine's certified relative accuracy FAST_TOL (typically ~1e-15). So each printed number must
    be the computed one rounded to the printed digits, up to that allowance.
    """
    import lininv as L
    from lininv._montecarlo import FAST_TOL

    row = re.search(r"^power:1\s+256\s+64\s+0\s+(.*)$", README, flags=re.M).group(1).split()
    texts = [v.strip("[],") for v in row[:5]]
    # The CLI's defaults: seed 0, rtol 2e-4; a cell's seed depends only on the sweep seed and
    # the cell's parameters, so this single cell reproduces the CLI's row.
    cell = L.sweep({"power:1": L.make_spectrum("power:1", 256)}, [64], rtol=2e-4, rng=0).rows[0]
    keys = ("lower", "mc_mean", "ci_low", "ci_high", "predicted")
    for key, text in zip(keys, texts, strict=True):
        value = cell[key]
        assert abs(value - float(text)) <= _half_unit(text) + FAST_TOL * abs(value), (key, text)


def _bridge_rows():
    from lininv._table import Table

    # the CSV starts with its provenance as "# key: value" lines
    table = Table.read_csv(ROOT / "docs" / "figures" / "compressed-sensing.csv")
    return {int(r["m"]): r for r in table.rows}


def test_readme_bridge_table_is_the_committed_csv():
    rows = _bridge_rows()
    table = re.findall(
        r"^\| (\d+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| (\d+)% \|$",
        README,
        flags=re.M,
    )
    assert len(table) == 3
    keys = ("lasso_mean", "rank_k_mean", "gauss_mean", "local_predicted", "global_predicted")
    for m, flow, *others, converged in table:
        r = rows[int(m)]
        assert int(converged) == round(100 * float(r["flow_converged"]))
        mean, lo, hi = (float(v.strip("[],")) for v in flow.split())
        assert (mean, lo, hi) == tuple(
            float(f"{float(r[k]):.3g}") for k in ("flow_mean", "flow_lo", "flow_hi")
        )
        for key, text in zip(keys, others, strict=True):
            assert float(text) == float(f"{float(r[key]):.3g}"), (m, key)


def test_committed_bridge_csv_is_what_the_code_computes_today():
    """Recompute the m = 16 row of experiment 1 (cells are seeded by their own parameters, ~7 s)."""
    from lininv.experiments import compressed_sensing

    row = compressed_sensing(ms=(16,)).table.rows[0]
    ref = _bridge_rows()[16]
    # Same seed, same arithmetic: convex or closed-form columns agree to solver tolerance
    # (cvxpy's Lasso ~1e-8 relative) whatever the BLAS. The flow's column comes from non-convex
    # L-BFGS solves, which a different BLAS's last-bit rounding can send to another local minimum
    # for a few signals: it must agree within a tenth of its own 95% CI half-width.
    for key in ("lasso_mean", "rank_k_mean", "gauss_mean", "local_predicted"):
        assert abs(row[key] - float(ref[key])) <= 1e-6 * abs(float(ref[key])), key
    half_width = (float(ref["flow_hi"]) - float(ref["flow_lo"])) / 2
    assert abs(row["flow_mean"] - float(ref["flow_mean"])) <= 0.1 * half_width


@pytest.mark.parametrize(
    "csv, header",
    [
        ("claims.csv", "### The paper's claims, measured"),
        ("claims-28.csv", "### The paper's claims at n = 784"),
    ],
)
def test_readme_claims_table_is_the_committed_csv(csv, header):
    """Every row of a claims table in the README is a row of its committed CSV, in order, its
    numbers rounded to the printed 3 significant digits."""
    from lininv._table import Table

    rows = Table.read_csv(ROOT / "docs" / "figures" / csv).rows
    section = README.split(header)[1].split("\n## ")[0].split("\n### ")[0]
    printed = re.findall(
        r"^\| ([^|]+) \| (lininv|paper) \| ([^|]+) \| ([^|]+) \| (\S+) \[(\S+), (\S+)\] \| (yes|no) \|$",
        section,
        flags=re.M,
    )
    assert len(printed) == len(rows) > 0
    for (claim, proto, setting, metric, effect, lo, hi, reproduced), row in zip(
        printed, rows, strict=True
    ):
        assert (claim, proto, metric) == (row["claim"], row["protocol"], row["metric"])
        assert setting == row["setting"].replace("||z_init||", "‖z_init‖")
        for text, key in ((effect, "effect"), (lo, "lo"), (hi, "hi")):
            assert float(text) == float(f"{float(row[key]):.3g}"), (setting, key)
        assert (reproduced == "yes") == bool(row["reproduced"])
