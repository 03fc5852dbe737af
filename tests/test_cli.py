"""The command line: version, help, and the console script."""

import subprocess
import sys

import lininv
from lininv.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"lininv {lininv.__version__}"


def test_help_lists_commands(capsys):
    from lininv.cli import COMMANDS as _COMMANDS

    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: lininv" in out
    for command in ("verify", "proofs", "experiments", "train-flow"):  # README's commands
        assert command in _COMMANDS and f"    {command}" in out


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "lininv", "--help"], capture_output=True, text=True, check=True
    )
    assert "usage: lininv" in out.stdout


def test_unknown_command_exits_2():
    proc = subprocess.run(
        [sys.executable, "-m", "lininv", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_version_verbose_lists_the_computing_libraries(capsys):
    from lininv.cli import main

    assert main(["--version", "--verbose"]) == 0
    out = capsys.readouterr().out
    import numpy
    import scipy

    assert out.splitlines()[0].startswith("lininv ")
    assert f"numpy: {numpy.__version__}" in out and f"scipy: {scipy.__version__}" in out
    for name in ("python:", "numba:", "matplotlib:", "platform:", "blas:"):
        assert name in out


def test_readme_documents_every_exit_status():
    import re
    from pathlib import Path

    from lininv.cli._common import EXIT_CODES_HELP

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit statuses", 1)[1].split("\n## ", 1)[0]
    codes_help = set(re.findall(r"(?<![\w.])(\d+) [a-z]", EXIT_CODES_HELP))
    codes_readme = set(re.findall(r"\*\*(\d+)\*\*", section))
    assert codes_help == codes_readme == {"0", "1", "2", "3", "4", "130"}
