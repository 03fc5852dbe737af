"""The proof walk-through notebook runs top to bottom with small parameters, every step passing."""

from pathlib import Path

from helpers import run_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "proof_walkthrough.ipynb"


def test_proof_walkthrough_runs(tmp_path, monkeypatch):
    nb = run_notebook(NOTEBOOK, tmp_path, monkeypatch, LININV_NB_SMALL="1")
    outputs = [out for c in nb.cells if c.cell_type == "code" for out in c.outputs]
    text = "".join(out.get("text", "") for out in outputs)
    for step in (
        "1",
        "2",
        "3",
        "4a",
        "4b",
        "4c",
        "4d",
        "5a",
        "5b",
        "5c",
        "6a",
        "6b",
        "7",
        "8a",
        "8b",
        "8c",
        "9",
    ):
        assert f"Step {step} (" in text, step
    # Every true statement passes; the one deliberately wrong statement fails.
    assert text.count("-- PASS") == 17 and text.count("-- FAIL") == 1
    figures = sum("image/png" in out.get("data", {}) for out in outputs)
    assert figures >= 9
