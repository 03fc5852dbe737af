"""The bridge notebooks run top to bottom (small parameters)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name, tmp_path, monkeypatch):
    monkeypatch.setenv("LININV_NB_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit without outputs"
    )
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return "".join(
        out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.outputs
    )


def test_nonlinear_bridge_notebook(tmp_path, monkeypatch):
    text = _run("nonlinear_bridge.ipynb", tmp_path, monkeypatch)
    assert "converged: True" in text
    lines = [line for line in text.splitlines() if line.startswith("max |x_flow")]
    assert len(lines) == 2
    for line in lines:  # the linear flow reproduces the closed forms to optimisation tolerance
        assert float(line.split(":")[1]) < 1e-6
    assert "| m | flow_mean |" in text


@pytest.mark.parametrize("name", ["paper_in_miniature.ipynb"])
def test_paper_in_miniature_notebook(name, tmp_path, monkeypatch):
    text = _run(name, tmp_path, monkeypatch)
    for title in (
        "Recovery error",
        "Denoising error",
        "Inpainting",
        "Initialisation at m",
        "Rank correlation",
    ):
        assert title in text, title
