"""proofs_numeric computes and presents; the command line parses, prints and writes.

No module of ``proofs_numeric/`` parses a command line, prints or writes a file (the shims
``__main__.py`` and ``tightness.main`` only hand their arguments to ``lininv.cli``), and each
module stays under 500 lines (one concept per module).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "proofs_numeric"
MODULES = sorted(PACKAGE.glob("*.py"))
#: Calls that print, write files or replace them; modules that parse command lines.
FORBIDDEN_CALLS = {"print", "open", "write_text", "write_bytes", "replace", "mkstemp", "unlink"}
FORBIDDEN_IMPORTS = {"argparse", "tempfile", "shutil"}


def _called_name(node):
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        # os.replace, path.write_text, tempfile.mkstemp...; str.replace is text, not a file
        if func.attr == "replace" and not (
            isinstance(func.value, ast.Name) and func.value.id == "os"
        ):
            return None
        return func.attr
    return None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_printing_parsing_or_writing(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called_name(node) in FORBIDDEN_CALLS:
            bad.append((node.lineno, _called_name(node)))
        elif isinstance(node, ast.Import):
            bad += [(node.lineno, a.name) for a in node.names if a.name in FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and node.module in FORBIDDEN_IMPORTS:
            bad.append((node.lineno, node.module))
    assert bad == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_stay_under_500_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) < 500
