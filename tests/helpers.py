"""Shared test helpers: the one comparison helper (docs/developing.md, 'Tolerances') and the portability hooks.

Portability (docs/developing.md, 'Portability'). A comparison is either

* bitwise, allowed only where the code promises it (the same computation reordered by batching or
  executors, a seed giving identical draws, a serialization round trip, a copy of parameters, or
  arithmetic that IEEE 754 makes exact), within one process; its statement (or the comment
  block directly above it) carries a ``# bitwise: <reason>`` comment, which
  ``test_portability.py`` requires; or
* within a tolerance derived from the mathematics (ulps times an operation count, eps times a
  condition number, standard errors), commented where it is used.

``LININV_TEST_NUDGE=<int>`` (set by the portability pass of ``.ci/run``) makes :func:`nudge`
move the inputs of numerics-sensitive tests by one ulp in random directions, as another machine's
rounding of the same data would.
"""

import os
import zlib

import numpy as np

EPS = np.finfo(float).eps

#: Environment variable that switches :func:`nudge` on; its value is the seed.
NUDGE_ENV = "LININV_TEST_NUDGE"


def assert_close(actual, desired, *, rtol=1e-12, atol=0.0, err_msg=""):
    """Assert equal shapes and ``|actual - desired| <= atol + rtol * |desired|`` elementwise.

    The default ``rtol = 1e-12`` is ~4500 ulps: room for the rounding of a few dozen float64
    operations on well-conditioned data. Any other tolerance is commented where it is used;
    ``rtol=0`` with ``atol=0`` is a bitwise comparison and needs a ``# bitwise:`` reason.
    """
    actual = np.asarray(actual, dtype=float)
    desired = np.asarray(desired, dtype=float)
    assert actual.shape == desired.shape, f"shape {actual.shape} != {desired.shape}. {err_msg}"
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol, err_msg=err_msg)


def assert_quoted(actual, quoted, *, rtol=1e-12):
    """Assert that ``actual`` rounds to the decimal string ``quoted`` (a number quoted in a doc).

    Allows half a unit in the last quoted digit, plus ``rtol * |quoted|`` for the computation's
    own rounding, so that a value within rounding of a rounding boundary is not a failure (unlike
    ``round(actual, k) == quoted``, which depends on the last bits).
    """
    digits = quoted.split(".")[1] if "." in quoted else ""
    half_unit = 0.5 * 10.0 ** -len(digits)
    value = float(quoted)
    assert abs(actual - value) <= half_unit + rtol * abs(value), (actual, quoted)


def nudging():
    """Whether the portability pass asked for ulp-perturbed inputs (``LININV_TEST_NUDGE``)."""
    return bool(os.environ.get(NUDGE_ENV))


def nudge(x):
    """``x`` as a float array, moved by one ulp per entry in random directions if nudging.

    Without ``LININV_TEST_NUDGE`` this returns ``np.array(x, dtype=float)`` unchanged. With it,
    every non-zero entry moves to a neighbouring float (zeros stay: they are usually structural).
    The directions are drawn from the variable's value and the array's bytes, so a test sees the
    same perturbation whichever worker runs it and in whatever order.
    """
    arr = np.array(x, dtype=float)
    seed = os.environ.get(NUDGE_ENV)
    if not seed:
        return arr
    rng = np.random.default_rng([int(seed), zlib.crc32(arr.tobytes()), arr.size])
    toward = np.where(rng.random(arr.shape) < 0.5, -np.inf, np.inf)
    return np.where(arr == 0, arr, np.nextafter(arr, toward))


def numerically_full_row_rank(prior, A):
    """Whether ``A G`` has full row rank at the estimators' threshold (max(m, n) eps d_max).

    With cond(G) up to 1e12 and square Gaussian A (cond ~ n), cond(A G) can reach 1/(n eps): such
    draws are numerically rank deficient, and the estimators rightly refuse them.
    """
    d = np.linalg.svd(A @ prior.factor, compute_uv=False)
    return d.size == A.shape[0] and d[-1] > max(A.shape) * EPS * d[0]


def flow_rounding_bound(flow, z, ops):
    """Bound on ``||x_a - x_b||`` for two evaluations of ``flow.forward(z)`` that differ only in
    rounding (other batch shapes, BLAS kernels or SIMD paths), one value per row of ``z``.

    Each layer ``h -> f(h)`` is taken to be computed with mixed stability, the standard model for
    sums of products and correctly-rounded-to-a-few-ulps elementary functions: the computed value
    is ``f(h + dh) + dy`` with ``||dh|| <= ops eps ||h||`` and ``||dy|| <= ops eps ||f(h)||``,
    ``ops`` the number of rounded operations on the longest path to one output (the inner
    dimensions of the layer's products plus its elementwise functions). To first order the error
    ``e`` of the computed value then obeys ``e_out <= ||J|| (e_in + ops eps ||h||) + ops eps
    ||f(h)||`` with ``J`` the layer's Jacobian at ``h``; two evaluations are at most ``2 e`` apart.
    """
    from lininv.flows import Flow

    z = np.atleast_2d(np.asarray(z, dtype=float))
    bounds = np.empty(z.shape[0])
    for i, h in enumerate(z):
        e = 0.0
        for b in flow.bijectors:
            layer = Flow([b])
            out = layer.forward(h)[0]
            jac = np.linalg.norm(layer.jacobian(h), 2)
            e = jac * (e + ops * EPS * np.linalg.norm(h)) + ops * EPS * np.linalg.norm(out)
            h = out
        bounds[i] = 2.0 * e
    return bounds


def check_committed_notebook(nb):
    """A committed notebook carries the outputs of one top-to-bottom run without errors.

    Its code cells are numbered 1, 2, ... in order (``notebooks/execute.py`` ran it from a fresh
    kernel), none holds an error, and it shows what it computed (at least one output).
    """
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"execute it with notebooks/execute.py: execution counts {counts}"
    )
    outputs = [out for c in code for out in c.get("outputs", [])]
    assert outputs, "committed without outputs: run notebooks/execute.py"
    assert not [o for o in outputs if o.get("output_type") == "error"], "an error output"


def run_notebook(path, tmp_path, monkeypatch, **env):
    """Check the committed notebook, then execute it afresh with ``env``; its text outputs.

    The kernel runs in ``tmp_path`` with the source tree first on its path, so it imports the
    lininv under test; ``env`` sets the notebook's switches (``LININV_NB_SMALL=1`` and so on).
    """
    import nbformat
    from nbclient import NotebookClient

    for key, value in {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", **env}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PYTHONPATH", os.fspath(path.resolve().parents[1]))
    nb = nbformat.read(path, as_version=4)
    check_committed_notebook(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return nb
