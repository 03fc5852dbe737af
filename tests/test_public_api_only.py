"""proofs_numeric, the benchmarks and the notebooks use lininv's public API only.

A private name is a module or attribute of lininv whose name starts with an underscore
(``lininv._montecarlo``, ``lininv.flows._training``, ``from lininv import _stats``,
``lininv._x``). ``proofs_numeric/`` and ``notebooks/`` may not use one at all. A benchmark may,
only on a line marked ``# white-box: <reason>``, where what it times is lininv's private
machinery itself (a kernel crossover, the random-stream generator).
"""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"#\s*white-box:\s*\S")


def _private(parts):
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def private_uses(source):
    """``(line, text)`` of every use of a private lininv module or attribute in ``source``."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "lininv" and _private(parts):
                    found.append((node.lineno, alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "lininv":
                names = [a.name for a in node.names]
                if _private(parts) or _private(names):
                    found.append((node.lineno, f"from {node.module} import {', '.join(names)}"))
        elif isinstance(node, ast.Attribute):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "lininv" and _private(chain):
                found.append((node.lineno, "lininv." + ".".join(reversed(chain))))
    first = {}
    for line, text in sorted(found, key=lambda f: (f[0], len(f[1]))):
        first.setdefault(line, text)  # one report per line (a.b._c.d nests two attributes)
    return sorted(first.items())


def _notebook_source(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] == "code":
            text = "".join(cell["source"])
            # IPython magics and shell escapes are not Python
            lines += [
                ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in text.split("\n")
            ]
    return "\n".join(lines)


def _files(folder, pattern):
    return sorted((ROOT / folder).rglob(pattern))


def test_the_detector_finds_every_form_of_private_use():
    source = "\n".join(
        [
            "import lininv._stats",
            "from lininv._montecarlo import errors_for_draws",
            "from lininv.flows._training import _Adam",
            "from lininv import _io",
            "from lininv.plotting import _bin_edges",
            "import lininv",
            "x = lininv._validation.check_int",
            "from lininv import errors_for_draws, t_interval",  # public: not reported
            "y = lininv.__version__",  # dunder: not private
            "from lininv.validation import check_int",  # public module: not reported
        ]
    )
    assert [line for line, _ in private_uses(source)] == [1, 2, 3, 4, 5, 7]


@pytest.mark.parametrize(
    "path", _files("proofs_numeric", "*.py"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_proofs_numeric_uses_the_public_api_only(path):
    assert private_uses(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "path", _files("notebooks", "*.ipynb"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_notebooks_use_the_public_api_only(path):
    assert private_uses(_notebook_source(path)) == []


@pytest.mark.parametrize(
    "path", _files("benchmarks", "*.py"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_benchmarks_use_private_names_only_where_marked_white_box(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    unmarked = [
        (n, text)
        for n, text in private_uses("\n".join(lines))
        if not MARKER.search(lines[n - 1]) and not MARKER.search(lines[n - 2] if n > 1 else "")
    ]
    assert unmarked == []
