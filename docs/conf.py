"""Sphinx configuration of lininv's documentation site.

Build (from the repository root)::

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

The API reference is generated from each public package's ``__all__`` (so it cannot fall out of
step with the code); the notebooks are rendered from their committed outputs, never executed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import lininv  # noqa: E402

project = "lininv"
author = "lininv developers"
copyright = "2026, lininv developers"
release = version = lininv.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "figures", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the notebooks are shown with the outputs committed with them
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
html_theme = "pydata_sphinx_theme"
html_title = f"lininv {release}"
html_theme_options = {"navigation_with_keys": False}

#: Public packages of the reference, in the order of its pages.
API = [
    "lininv",
    "lininv.validation",
    "lininv.strategies",
    "lininv.flows",
    "lininv.generators",
    "lininv.bridge",
    "lininv.datasets",
    "lininv.experiments",
    "lininv.plotting",
    "proofs_numeric",
]


def _write_api_pages() -> None:
    """One page per public package: its docstring and a summary table of its ``__all__``."""
    import importlib

    out = HERE / "_api"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    toc = []
    for name in API:
        module = importlib.import_module(name)
        lines = [name, "=" * len(name), "", f".. automodule:: {name}", "   :no-members:", ""]
        lines += [
            f".. currentmodule:: {name}",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "",
        ]
        lines += [f"   {member}" for member in sorted(module.__all__)]
        (out / f"{name}.rst").write_text("\n".join(lines) + "\n", encoding="utf-8")
        toc.append(f"   _api/{name}")
    index = ["API reference", "=============", "", ".. toctree::", "   :maxdepth: 1", "", *toc]
    (HERE / "api.rst").write_text("\n".join(index) + "\n", encoding="utf-8")


def _copy_notebooks() -> None:
    """The notebooks live in ``notebooks/``; Sphinx reads a copy under ``docs/_notebooks``."""
    out = HERE / "_notebooks"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, out / nb.name)


_write_api_pages()
_copy_notebooks()
