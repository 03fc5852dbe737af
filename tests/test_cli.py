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
