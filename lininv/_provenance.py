"""Provenance: the environment and command behind every result file lininv writes.

A result is only as trustworthy as the knowledge of where it came from: the lininv version, the
numerical libraries (their versions and, for the BLAS, the kernel it chose for this CPU), the
Python version, the platform and CPU, the seed and the command line. :func:`provenance` collects
them; result files carry them (JSON under ``"provenance"``, CSV as leading ``#`` lines) and
``lininv --version --verbose`` prints them.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["provenance", "environment", "csv_header", "LIBRARIES"]

#: Libraries whose versions are recorded when installed (numerics, plotting, peers).
LIBRARIES = ("numpy", "scipy", "numba", "matplotlib", "cvxpy", "scikit-learn", "bm3d", "torch")


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _cpu() -> str:
    """The CPU's model name where the platform tells it (Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _simd() -> str:
    """The SIMD extensions numpy dispatches to on this CPU (they decide some roundings)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return "unknown"
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split()
    top = [f for f in ("AVX512F", "AVX2", "ASIMD", "SVE", "VSX", "SSE42") if features.get(f)]
    text = top[0] if top else "baseline"
    return f"{text} (disabled: {' '.join(disabled)})" if disabled else text


def environment() -> dict[str, Any]:
    """Versions, platform, CPU and BLAS of this process (no seed or command)."""
    from lininv import __version__
    from lininv._threads import blas_description

    env: dict[str, Any] = {"lininv": __version__, "python": platform.python_version()}
    for lib in LIBRARIES:
        v = _version(lib)
        if v is not None:
            env[lib] = v
    env["platform"] = platform.platform()
    env["cpu"] = _cpu()
    env["simd"] = _simd()
    env["blas"] = blas_description()
    numba_cpu = os.environ.get("NUMBA_CPU_NAME")
    if numba_cpu:
        env["numba_cpu_name"] = numba_cpu
    return env


def provenance(*, seed: Any = None, command: str | None = None) -> dict[str, Any]:
    """:func:`environment` plus the seed and the command line.

    ``command`` defaults to this process's command line (``lininv verify ...`` when run from the
    CLI, the script and its arguments otherwise).
    """
    out = environment()
    out["seed"] = seed
    if command is None:
        argv = list(sys.argv)
        if argv and os.path.basename(argv[0]) in ("lininv", "__main__.py"):
            argv[0] = "lininv"
        command = shlex.join(argv)
    out["command"] = command
    return out


def csv_header(prov: dict[str, Any]) -> str:
    """``# key: value`` lines for the top of a CSV file (``pandas.read_csv(comment="#")``)."""
    return "".join(f"# {k}: {v}\n" for k, v in prov.items())
