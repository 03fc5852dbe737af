"""lininv.experiments: the registry, named streams, results as data (saved, loaded, drawn), the
cell cache, validation once per call, and progress through callbacks."""

import dataclasses
import inspect
import json

import matplotlib
import numpy as np
import pytest

import lininv
from lininv import datasets, experiments, flows
from lininv._io import StoreError
from lininv.experiments import (
    EXPERIMENTS,
    SMALL,
    ExperimentResult,
    StartKey,
    Stream,
    digits_data,
    load_result,
    register,
    run,
    save_result,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def setup():
    split = datasets.reference_split()
    flow = flows.realnvp(64, n_layers=2, hidden=16, rng=0)
    flows.fit(flow, split.X_train, dequantize=True, epochs=2, lr=1e-3, rng=0, progress=False)
    return flow, digits_data(split, n_val=10)


@pytest.fixture(scope="module")
def results(setup, tmp_path_factory):
    """Every experiment at its reduced size with the tiny flow (dataset-bias trains its own);
    the claims last, from the others' saved results."""
    flow, data = setup
    folder = tmp_path_factory.mktemp("saved")
    out = {}
    for name, exp in EXPERIMENTS.items():
        if name in ("claims", "claims-28"):
            out[name] = run(name, small=True, folder=folder)
            continue
        accepts = inspect.signature(exp.compute).parameters
        if name == "dataset-bias":
            out[name] = run(name, small=True, train=lambda split: flow, n_val=10)
        elif EXPERIMENTS[name].dataset == "mnist28":  # its own 28x28 flow and data
            out[name] = run(name, small=True)
        elif "flow" in accepts:
            out[name] = run(name, small=True, flow=flow, data=data)
        else:  # the linear-theory experiments need no flow
            out[name] = run(name, small=True)
        save_result(out[name], folder)
    return out


def test_streams_keep_their_numbers():
    """The members are the integers the experiments always used: results stay bit-identical."""
    assert {s.name: int(s) for s in Stream} == {
        "TRAIN_NOISE": 10,
        "TEST_NOISE": 11,
        "VALIDATION_PICK": 12,
        "TEST_PICK": 20,
        "DENOISING_NOISE": 21,
        "INIT_VALIDATION_PICK": 22,
        "INPAINTING_STARTS": 30,
        "INIT_OPERATORS": 40,
        "INIT_VALIDATION_OPERATORS": 41,
        "INIT_STARTS": 42,
        "PROXY_SAMPLES": 50,
    }
    assert (int(StartKey.VALIDATION), int(StartKey.TEST)) == (0, 100)
    from lininv.bridge._compare_cell import CompareStream

    assert [int(s) for s in CompareStream] == [0, 1, 2, 3, 4, 5]


def test_registry_order_and_small_settings():
    assert list(EXPERIMENTS) == [
        "compressed-sensing",
        "denoising",
        "inpainting",
        "initialisation",
        "dataset-bias",
        "likelihood-proxy",
        "compressed-sensing-28",
        "denoising-28",
        "inpainting-28",
        "out-of-distribution-28",
        "prediction-accuracy",
        "ensembles",
        "crossover",
        "claims",
        "claims-28",
    ]
    assert set(SMALL) == set(EXPERIMENTS)
    for name, exp in EXPERIMENTS.items():
        assert exp.name == name and exp.summary and SMALL[name] == dict(exp.small)
    with pytest.raises(ValueError, match="name must be one of"):
        run("no-such")


def test_adding_an_experiment_is_one_function(tmp_path, monkeypatch):
    from lininv.experiments import _registry

    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    monkeypatch.setattr(_registry, "EXPERIMENTS", _registry.MappingProxyType(_registry._REGISTRY))

    @register("demo", summary="a demo", small={"size": 2})
    def demo(*, size=5, seed=0, output=None, progress=False, command=None):
        table = lininv.bridge.Table(["i"], [{"i": i} for i in range(size)])
        return ExperimentResult("demo", table, {"size": size, "seed": seed})

    assert list(_registry._REGISTRY)[-1] == "demo"  # after the paper's experiments
    assert run("demo", small=True).table.column("i") == [0, 1]
    assert run("demo").params == {"size": 5, "seed": 0}
    with pytest.raises(ValueError, match="already registered"):
        register("demo", summary="again")
    with pytest.raises(TypeError, match="must accept the keyword 'output'"):
        register("bad", summary="no output")(lambda seed=0, progress=False, command=None: None)
    with pytest.raises(ValueError, match="other than 'all'"):
        register("all", summary="reserved")


def test_results_are_frozen_data_without_figures(results):
    for name, res in results.items():
        assert isinstance(res, ExperimentResult) and res.name == name
        assert not any(f.name == "figure" for f in dataclasses.fields(res))
        with pytest.raises(dataclasses.FrozenInstanceError):
            res.name = "other"
        prov = res.provenance
        assert prov["seed"] == 0 and prov["numpy"] and "command" in prov
        assert res.compute_seconds >= 0.0 and res.seconds > 0.0


def test_save_and_load_give_back_the_numbers(results, tmp_path):
    for name, res in results.items():
        paths = save_result(res, tmp_path)
        assert [p.rsplit(".", 1)[1] for p in paths] == ["csv", "json"]
        back = load_result(tmp_path, name)
        assert back.table.rows == res.table.rows  # floats written with full precision
        assert back.table.columns == res.table.columns and back.table.title == res.table.title
        assert back.params == json.loads(json.dumps(lininv._io.to_jsonable(res.params)))
        assert back.provenance == lininv._io.to_jsonable(res.provenance)
        csv = lininv._table.Table.read_csv(tmp_path / f"{name}.csv")
        assert csv.rows == [{k: r.get(k) for k in res.table.columns} for r in res.table.rows]
        assert csv.meta["command"] == res.provenance["command"]
    with pytest.raises(ValueError, match="is not a saved experiment result"):
        load_result(tmp_path, "no-such")


def test_every_result_draws_its_figure_computed_or_loaded(results, tmp_path):
    import matplotlib.pyplot as plt

    from lininv.plotting import plot_experiment

    for name, res in results.items():
        save_result(res, tmp_path)
        for r in (res, load_result(tmp_path, name)):
            axes = plot_experiment(r)
            axes = axes if isinstance(axes, tuple) else (axes,)
            two = (
                "inpainting",
                "likelihood-proxy",
                "ensembles",
                "compressed-sensing-28",
                "denoising-28",
                "inpainting-28",
                "out-of-distribution-28",
            )
            assert len(axes) == (2 if name in two else 1)
            axes[0].figure.canvas.draw()
            assert axes[0].get_title()
            plt.close(axes[0].figure)
    _, ax = plt.subplots()
    assert plot_experiment(results["denoising"], ax) is ax
    with pytest.raises(ValueError, match="ax must be 2 Axes"):
        plot_experiment(results["inpainting"], ax)
    with pytest.raises(TypeError, match="result must be a lininv.experiments.ExperimentResult"):
        plot_experiment(results["denoising"].table)
    plt.close("all")


def test_the_cache_is_one_checked_store_per_experiment(setup, tmp_path):
    flow, data = setup
    kw = {"noise_stds": (0.1,), "gammas": (0.0,), "n_test": 3, "output": tmp_path}
    first = experiments.denoising(flow, data, **kw)
    path = tmp_path / ".cells" / "denoising.json"
    store = json.loads(path.read_text())
    assert store["params"]["n_test"] == 3 and store["runs"][0]["seed"] == 0
    # an edited cell is refused, never trusted
    store["cells"]["sigma0-gamma0"]["value"]["converged"] = 0.5
    path.write_text(json.dumps(store))
    with pytest.raises(StoreError, match="checksum does not match"):
        experiments.denoising(flow, data, **kw)
    path.unlink()
    again = experiments.denoising(flow, data, **kw)
    assert again.table.rows == first.table.rows


def test_progress_is_a_callback_with_one_event_per_cell(setup):
    flow, data = setup
    events = []
    experiments.denoising(
        flow, data, noise_stds=(0.1,), gammas=(0.0, 0.1), n_test=3, progress=events.append
    )
    # per noise level: BM3D, then the flow at each gamma
    assert [(e.task, e.done, e.total, e.unit) for e in events] == [
        ("denoising", 1, 3, "cell"),
        ("denoising", 2, 3, "cell"),
        ("denoising", 3, 3, "cell"),
    ]
    assert events[0].label == "sigma = 0.1, BM3D"
    assert events[1].label == "sigma = 0.1, gamma = 0" and events[1].info.startswith("flow ")
    with pytest.raises(TypeError, match="progress must be a bool or a callable"):
        experiments.denoising(flow, data, progress="yes")


def test_the_flow_is_validated_once_per_call(setup, monkeypatch):
    """It was checked at least five times on one call path (experiment, compare, predictions,
    recovery); now only the outermost public call checks it."""
    import lininv.bridge._compare as compare_module
    import lininv.bridge._predictions as predictions_module
    import lininv.bridge._recovery as recovery_module
    import lininv.experiments._data as data_module
    from lininv.flows._protocol import check_flow_prior

    calls = []

    def counting(flow, **kw):
        calls.append(kw.get("needs"))
        return check_flow_prior(flow, **kw)

    for module in (compare_module, predictions_module, recovery_module, data_module):
        monkeypatch.setattr(module, "check_flow_prior", counting)
    flow, data = setup
    experiments.compressed_sensing(flow, data, ms=(8,), n_test=2, max_iter=5)
    assert len(calls) == 1
    calls.clear()
    lininv.bridge.compare(flow, data.X_test[:2], [8], X_train=data.X_train, max_iter=5, rng=0)
    assert len(calls) == 1
    calls.clear()
    lininv.bridge.recover(flow, np.eye(64)[:8], data.X_test[:2, :8], max_iter=5)
    assert len(calls) == 1


def test_no_library_module_prints():
    import ast
    from pathlib import Path

    root = Path(lininv.__file__).parent
    for path in root.rglob("*.py"):
        if "cli" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                pytest.fail(f"{path.relative_to(root)}:{node.lineno} prints")


def test_claims_rows_name_their_cell_and_command(results, tmp_path):
    """Every claims row names the saved file and CSV cell it comes from and the command that made
    that file; its effect recomputes from the saved per-image numbers."""
    for name, res in results.items():
        if name != "claims":
            save_result(res, tmp_path)
    claims = experiments.claims(folder=tmp_path)
    rows = claims.table.rows
    assert rows and {r["protocol"] for r in rows} == {"lininv"}
    assert claims.data["missing"] == [
        f"{n} (paper)"
        for n in ("compressed-sensing", "denoising", "initialisation", "dataset-bias")
    ]
    kinds = set()
    for row in rows:
        stem = row["source"].split(".json:")[0]
        saved = load_result(tmp_path, stem.split(".")[0], row["protocol"])
        assert row["command"] == saved.provenance["command"]
        assert f"({stem}.csv " in row["source"]
        csv = lininv._table.Table.read_csv(tmp_path / f"{stem}.csv")
        assert row["lo"] <= row["effect"] <= row["hi"]
        if row["metric"] == "psnr: flow - BM3D":
            sigma = row["setting"].split()[2].rstrip(",")
            per = saved.data["per_image"][sigma]
            diff = np.asarray(per["flow_psnr"]) - np.asarray(per["bm3d_psnr"])
            # the mean of a few dozen PSNR differences: rounding of the sum only
            np.testing.assert_allclose(row["effect"], diff.mean(), rtol=1e-12)
            assert csv.where(noise_std=float(sigma)).rows
            kinds.add("bm3d")
        elif row["metric"].startswith("measurement factor"):
            m = int(row["setting"].split("=")[1].split()[0])
            assert m in csv.column("m")
            kinds.add("factor")
        elif "start of norm" in row["metric"]:
            assert csv.where(init="fixed_norm").rows
            kinds.add("init")
    assert kinds == {"bm3d", "factor", "init"}


def test_the_paper_protocol_is_recorded_in_every_result(setup, tmp_path):
    flow, data = setup
    res = experiments.compressed_sensing(
        flow, data, ms=(8, 32), n_test=3, max_iter=20, gan_k=None, protocol="paper", output=tmp_path
    )
    assert res.protocol == "paper" and res.stem == "compressed-sensing.paper"
    assert res.params["protocol"]["name"] == "paper" and res.data["protocol"] == "paper"
    # bitwise: the protocol's constants, copied
    assert res.params["noise_scale"] == "per-sqrt-m" and res.params["noise_std"] == 0.1
    # the paper's settings: Lasso's fixed weight, noise 0.1 / sqrt(m) per measurement
    assert res.table.column("lasso_lambda") == [0.01, 0.01]  # bitwise: a copied constant
    # a correctly rounded sqrt and division: within 1 ulp of the same expression here
    expected = [0.1 / np.sqrt(8), 0.1 / np.sqrt(32)]
    np.testing.assert_allclose(res.table.column("noise_std"), expected, rtol=4e-16)
    assert (tmp_path / ".cells" / "compressed-sensing.paper.json").exists()
    paths = save_result(res, tmp_path)
    assert [p.rsplit("/", 1)[1] for p in paths] == [
        "compressed-sensing.paper.csv",
        "compressed-sensing.paper.json",
    ]
    back = load_result(tmp_path, "compressed-sensing", "paper")
    assert back.protocol == "paper" and back.table.rows == res.table.rows
    with pytest.raises(ValueError, match="is not a saved experiment result"):
        load_result(tmp_path, "compressed-sensing")  # the lininv protocol's file: not written
    with pytest.raises(ValueError, match="protocol must be one of 'lininv' for the experiment"):
        run("likelihood-proxy", small=True, protocol="paper")
    with pytest.raises(ValueError, match="protocol must be one of"):
        experiments.compressed_sensing(flow, data, ms=(8,), protocol="glow")


def test_measurement_factor_by_hand():
    """Lasso's log error falls linearly in log m (error = 1/m); the flow at m has Lasso's error at
    2m, at 3m (between grid points, where log-log interpolation of a log-log line is exact) or one
    Lasso never reaches (a lower bound, max(ms) / m)."""
    ms = np.array([4, 8, 16, 32, 64])
    lasso = 1.0 / ms
    flow = 1.0 / np.array([8.0, 24.0, 32.0, 64.0, 100.0])
    images = 5  # identical images: the bootstrap CI collapses onto the point
    out = experiments.measurement_factor(
        ms, np.repeat(flow[:, None], images, 1), np.repeat(lasso[:, None], images, 1), n_boot=50
    )
    # exact up to the rounding of a few logs and an exp
    np.testing.assert_allclose(out.factor, [2.0, 3.0, 2.0, 2.0, 1.0], rtol=1e-12)
    assert out.bound.tolist() == ["=", "=", "=", "=", ">"]  # m = 32: reached exactly at 64
    np.testing.assert_allclose(out.lo, out.factor, rtol=1e-12)
    np.testing.assert_allclose(out.hi, out.factor, rtol=1e-12)
    np.testing.assert_array_equal(
        out.censored, [0, 0, 0, 0, 1]
    )  # bitwise: fractions of identical resamples, exact
    # the baseline already better at the smallest m: an upper bound ms[0] / m
    early = experiments.measurement_factor(ms, lasso[:, None] * 2, lasso[:, None], n_boot=5)
    assert early.bound[0] == "<" and early.factor[0] == 1.0  # bitwise: ms[0] / ms[0], exactly 1
    with pytest.raises(ValueError, match="ms must be at least 2 increasing"):
        experiments.measurement_factor([8, 4], flow[:2, None], lasso[:2, None])
    with pytest.raises(ValueError, match="method must have shape"):
        experiments.measurement_factor(ms, flow, lasso[:, None])
    with pytest.raises(ValueError, match="baseline must hold finite non-negative"):
        experiments.measurement_factor(ms, flow[:, None], -lasso[:, None])
    with pytest.raises(ValueError, match="statistic"):
        experiments.measurement_factor(ms, flow[:, None], lasso[:, None], statistic="max")


def test_all_runs_the_experiments_of_one_dataset(tmp_path, monkeypatch):
    """``lininv experiments all`` runs the 8x8 experiments; ``--dataset mnist28`` the 28x28 ones
    (each set within its own time budget); a NAME with the other dataset is refused."""
    from lininv.cli import experiments as cli_experiments
    from lininv.cli._common import UsageError

    class Args:
        name, seed, output, dataset = "all", "0", str(tmp_path), None

    names, _, _ = cli_experiments._parse(Args)
    assert "compressed-sensing-28" not in names and "compressed-sensing-28" in EXPERIMENTS
    assert names == [n for n, e in EXPERIMENTS.items() if e.dataset == "digits"]
    assert "denoising" in names
    Args.dataset = "mnist28"
    names28, _, _ = cli_experiments._parse(Args)
    assert "compressed-sensing-28" in names28 and not set(names) & set(names28)
    assert set(names) | set(names28) == set(EXPERIMENTS)
    Args.name = "denoising"
    with pytest.raises(UsageError, match="--dataset mnist28 does not match denoising"):
        cli_experiments._parse(Args)
    with pytest.raises(ValueError, match="dataset must be one of"):
        from lininv.experiments import register

        register("no-such-dataset", summary="x", dataset="mnist")
