"""The README is the front door: its code runs, its printed numbers are today's, and CI runs its
test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_blocks_run(capsys):
    blocks = _blocks("python")
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    for printed in re.findall(r"Printed: `([^`]*)`", README):
        assert printed in out


def test_ci_runs_the_readme_install_and_test_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line.strip() for block in _blocks("bash") for line in block.splitlines()]
    test_cmd = next(c for c in commands if "pytest" in c)
    install_cmd = next(c for c in commands if "pip install" in c)
    ci_lines = [line.strip() for line in ci.splitlines()]
    assert test_cmd in ci_lines
    assert install_cmd in ci_lines


def test_readme_commands_exist():
    from lininv._cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = "\n".join(_blocks("bash"))
    for cmd in re.findall(r"^lininv ([a-z-]+)", commands, flags=re.M):
        assert cmd in sub.choices, f"README mentions `lininv {cmd}`, which is not a command"
