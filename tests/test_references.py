"""Every file the project's code, docs and notebooks point to exists in this repository.

A reference is a path starting at a top-level folder of the project (``docs/theory.md``,
``lininv/_io.py``, ``tests/helpers.py: nudge``) or the name of a Markdown file or notebook
(``theory.md``, ``dataset_bias.ipynb``; outside ``tests/``, which name the reports they write).
Paths with placeholders (``NAME``, ``*``, ``{...}``,
``<...>``) name files a command writes, not files of the repository, and are skipped.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("lininv", "proofs_numeric", "tests", "notebooks", "benchmarks", "docs")
SCANNED_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".txt", ".cfg", ".rst"}
SKIP_DIRS = {
    ".git",
    ".venv",
    ".ci-venv",
    "__pycache__",
    "_build",
    "_api",
    "_notebooks",
    "figures",
    ".hypothesis",
}

PATH = re.compile(r"(?<![\w./-])((?:" + "|".join(TOP) + r")/[\w./-]*[\w])")
DOC = re.compile(r"(?<![\w/-])([\w./-]*[\w-]\.(?:md|ipynb))\b")
PLACEHOLDER = re.compile(r"[*{}<>]|NAME|STEM|\.\.\.|_build")


def _scanned_files():
    yield ROOT / "README.md"
    yield ROOT / ".ci" / "run"
    yield ROOT / "pyproject.toml"
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in SCANNED_SUFFIXES:
                if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts):
                    yield path


def _exists(ref: str, source: Path) -> bool:
    ref = ref.rstrip(".")
    candidates = [ROOT / ref, source.parent / ref]
    if "/" not in ref:
        return any(p.name == ref for top in TOP for p in (ROOT / top).rglob(ref)) or any(
            c.exists() for c in candidates
        )
    return any(c.exists() for c in candidates)


def _references(text: str, *, bare_names: bool = True):
    for pattern in (PATH, DOC):
        for match in pattern.finditer(text):
            ref = match.group(1)
            if PLACEHOLDER.search(ref) or text[match.end() : match.end() + 1] in ("*", "{", "<"):
                continue  # a pattern of files (generator_k*.npz), not one file
            if pattern is DOC and "/" in ref and ref.split("/")[0] not in TOP:
                continue  # an output path such as lininv-results/proofs_report.md
            if pattern is DOC and "/" not in ref and not bare_names:
                continue
            yield ref


def test_the_scan_finds_references_and_would_catch_a_dangling_one(tmp_path):
    text = (
        "see docs/theory.md, section 4, and MISSING_NOTES.md; writes out/NAME.csv, docs/{x}.png, "
        "lininv/data/generator_k*.npz and results/report.md"
    )
    refs = list(_references(text))
    assert refs == ["docs/theory.md", "docs/theory.md", "MISSING_NOTES.md"]
    assert list(_references(text, bare_names=False)) == ["docs/theory.md", "docs/theory.md"]
    source = ROOT / "README.md"
    assert _exists("docs/theory.md", source)
    assert not _exists("MISSING_NOTES.md", source)
    assert not _exists("docs/nothing_here.md", source)


SOURCES = [p for p in _scanned_files() if p != Path(__file__).resolve()]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_reference_resolves_to_a_file_in_the_repository(source):
    text = source.read_text(encoding="utf-8", errors="replace")
    # Tests name the reports they write (report.md) by bare file name; their paths into the
    # repository are still checked.
    bare = "tests" not in source.relative_to(ROOT).parts
    refs = _references(text, bare_names=bare)
    dangling = sorted({ref for ref in refs if not _exists(ref, source)})
    assert not dangling, f"{source.relative_to(ROOT)} refers to missing files: {dangling}"
