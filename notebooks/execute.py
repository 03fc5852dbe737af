"""Execute the notebooks with their default settings and save them with their outputs.

The committed notebooks carry their outputs, so a reader on the web (and the documentation
site, which renders them without executing) sees every figure. Run this after changing a
notebook or the results it loads::

    python notebooks/execute.py                  # every notebook
    python notebooks/execute.py dataset_bias     # one

Each notebook must finish within 60 seconds with its default settings (it loads the committed
results under docs/figures/); the time taken is printed, and a slower notebook is an error.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
#: Seconds a notebook may take with its default settings.
BUDGET = 60.0


def execute(path: Path) -> float:
    """Run ``path`` top to bottom in its own folder, write it back with outputs; seconds taken."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    ).execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:  # outputs only: no per-run metadata that would churn in diffs
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(names: list[str]) -> int:
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])
    paths = [HERE / f"{n.removesuffix('.ipynb')}.ipynb" for n in names] or sorted(
        HERE.glob("*.ipynb")
    )
    slow = []
    for path in paths:
        seconds = execute(path)
        print(f"{path.name}: {seconds:.1f} s")
        if seconds > BUDGET:
            slow.append(path.name)
    if slow:
        print(f"over the {BUDGET:.0f} s budget: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
