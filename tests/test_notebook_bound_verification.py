"""The bound-verification notebook runs top to bottom (small parameters)."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "bound_verification.ipynb"


def test_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("LININV_NB_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit without outputs"
    )
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = "".join(
        out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.outputs
    )
    assert "every bound holds within its 95% confidence interval: True" in text
    assert "power:1" in text and "exp:0.95" in text
    assert os.environ.get("LININV_NB_SMALL") == "1"
