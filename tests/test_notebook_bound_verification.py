"""The bound-verification notebook runs top to bottom (small parameters)."""

import os
from pathlib import Path

from helpers import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "bound_verification.ipynb"


def test_notebook_runs(tmp_path, monkeypatch):
    nb = run_notebook(NOTEBOOK, tmp_path, monkeypatch, LININV_NB_SMALL="1")
    text = "".join(
        out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.outputs
    )
    assert "every bound holds within its 95% confidence interval: True" in text
    assert "power:1" in text and "exp:0.95" in text
    assert os.environ.get("LININV_NB_SMALL") == "1"
