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


def test_readme_verify_excerpt_is_what_the_code_prints_today():
    """The excerpt row of `lininv verify` in the README is recomputed (one cell, ~2 s)."""
    import lininv as L

    row = re.search(r"^power:1\s+256\s+64\s+0\s+(.*)$", README, flags=re.M).group(1).split()
    lower, mean, ci_lo, ci_hi, pred = (float(v.strip("[],")) for v in row[:5])
    # The CLI's defaults: seed 0, rtol 2e-4; a cell's seed depends only on the sweep seed and
    # the cell's parameters, so this single cell reproduces the CLI's row.
    cell = L.sweep({"power:1": L.make_spectrum("power:1", 256)}, [64], rtol=2e-4, rng=0).rows[0]
    assert f"{cell['lower']:.4g}" == f"{lower:.4g}"
    assert f"{cell['mc_mean']:.5g}" == f"{mean:.5g}"
    assert f"{cell['ci_low']:.5g}" == f"{ci_lo:.5g}"
    assert f"{cell['ci_high']:.5g}" == f"{ci_hi:.5g}"
    assert f"{cell['predicted']:.5g}" == f"{pred:.5g}"
