"""Saving and loading flows: round trips, the documented format, and bad files."""

import copy
import json
import os
import pickle

import numpy as np
import pytest
from helpers import assert_close

from lininv.flows import FORMAT_VERSION, FlowFileError, linear_flow, load, realnvp
from lininv.flows._serialization import FORMAT


def trained_like(rng, **kw):
    flow = realnvp(6, 2, 5, rng=0, **kw)
    flow.initialize(rng.random((50, 6)))
    flow.set_params(flow.get_params() + 0.3 * rng.standard_normal(flow.n_params))
    flow.metadata["note"] = {"lr": 3e-4, "list": [1, 2]}
    return flow


@pytest.mark.parametrize("kw", [{}, {"logit": 0.05}, {"mixing": "rotation", "activation": "tanh"}])
def test_round_trip_reproduces_the_flow_exactly(tmp_path, kw):
    rng = np.random.default_rng(0)
    flow = trained_like(rng, **kw)
    path = tmp_path / "flow.npz"
    flow.save(path)
    back = load(path)
    # bitwise: an .npz round trip of float64 arrays is exact
    assert_close(back.get_params(), flow.get_params(), rtol=0)
    assert back.metadata == flow.metadata
    assert [b._config() for b in back.bijectors] == [b._config() for b in flow.bijectors]
    x = rng.random((4, 6)) * 0.8 + 0.1
    # bitwise: bitwise-equal parameters (above), the same computation on the same input
    assert_close(back.log_prob(x), flow.log_prob(x), rtol=0)
    z = rng.standard_normal((4, 6))
    # bitwise: bitwise-equal parameters (above), the same computation on the same input
    assert_close(back.forward(z)[0], flow.forward(z)[0], rtol=0)
    assert all(b.initialized for b in back.bijectors if hasattr(b, "initialized"))


def test_round_trip_of_a_linear_flow_keeps_pivots_and_signs(tmp_path):
    G = np.array([[0.0, 2.0, 1.0], [-3.0, 1.0, 0.0], [1.0, 1.0, -1.0]])
    flow = linear_flow(G, mean=[1.0, 2.0, 3.0])
    flow.save(tmp_path / "lin.npz")
    back = load(str(tmp_path / "lin.npz"))
    assert_close(back.jacobian(np.zeros(3)), G, atol=1e-15)
    assert_close(back.forward(np.zeros(3))[0], np.array([1.0, 2.0, 3.0]))


def test_the_file_follows_the_documented_format(tmp_path):
    flow = trained_like(np.random.default_rng(1))
    flow.save(tmp_path / "f.npz")
    with np.load(tmp_path / "f.npz", allow_pickle=False) as data:
        assert str(data["format"]) == FORMAT
        assert int(data["format_version"]) == FORMAT_VERSION == 1
        arch = json.loads(str(data["architecture"]))
        assert arch["n"] == 6
        assert [s["type"] for s in arch["bijectors"]][:4] == [
            "AffineCoupling",
            "LULinear",
            "Permutation",
            "ActNorm",
        ]
        assert data["params"].dtype == np.float64 and data["params"].shape == (flow.n_params,)
        assert json.loads(str(data["metadata"]))["note"]["list"] == [1, 2]
        assert "buffer/2/perm" in data.files


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    flow = trained_like(np.random.default_rng(2))
    path = tmp_path / "f.npz"
    flow.save(path)
    flow.save(path)  # overwrite
    assert sorted(os.listdir(tmp_path)) == ["f.npz"]


def test_pickle_and_deepcopy_keep_parameters_bound():
    flow = trained_like(np.random.default_rng(3))
    for other in (pickle.loads(pickle.dumps(flow)), copy.deepcopy(flow), flow.copy()):
        # bitwise: pickle, deepcopy and copy keep the float64 parameters
        assert_close(other.get_params(), flow.get_params(), rtol=0)
        other.set_params(np.zeros(flow.n_params))  # the copy's layers follow its vector ...
        assert np.all(other.bijectors[0].params["W1"] == 0)
        assert np.any(flow.get_params() != 0)  # ... and the original is untouched


def _write(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _valid_arrays(tmp_path):
    flow = trained_like(np.random.default_rng(4))
    flow.save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_other_format_version_is_refused(tmp_path):
    arrays = _valid_arrays(tmp_path)
    arrays["format_version"] = np.array(2)
    _write(tmp_path / "v2.npz", **arrays)
    with pytest.raises(FlowFileError, match="format version 2; this lininv reads version 1"):
        load(tmp_path / "v2.npz")


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a.pop("format"), "no 'format' entry"),
        (lambda a: a.update(format=np.array("something.else")), "format is 'something.else'"),
        (lambda a: a.pop("format_version"), "no valid 'format_version'"),
        (lambda a: a.update(params=a["params"][:-1]), "parameters stored"),
        (lambda a: a.update(params=np.full_like(a["params"], np.nan)), "NaN or infinity"),
        (lambda a: a.update(architecture=np.array("{not json")), "damaged"),
        (
            lambda a: a.update(
                architecture=np.array(
                    json.dumps({"n": 6, "bijectors": [{"type": "Mystery", "config": {}}]})
                )
            ),
            "damaged.*Mystery",
        ),
        (lambda a: a.pop("buffer/2/perm"), "damaged"),
        (lambda a: a.update(**{"buffer/2/perm": np.array([0, 0, 1, 2, 3, 4])}), "damaged"),
        (lambda a: a.pop("metadata"), "damaged"),
    ],
)
def test_damaged_files_give_clear_errors(tmp_path, change, match):
    arrays = _valid_arrays(tmp_path)
    change(arrays)
    _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FlowFileError, match=match):
        load(tmp_path / "bad.npz")


def test_garbage_truncated_and_pickled_files(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(FlowFileError, match="not a readable lininv flow file"):
        load(tmp_path / "garbage.npz")
    trained_like(np.random.default_rng(5)).save(tmp_path / "full.npz")
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FlowFileError):
        load(tmp_path / "cut.npz")
    arrays = _valid_arrays(tmp_path)
    arrays["metadata"] = np.array([{"evil": 1}], dtype=object)
    with open(tmp_path / "pickled.npz", "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(FlowFileError, match="not a readable"):
        load(tmp_path / "pickled.npz")
    with pytest.raises(FileNotFoundError, match="no flow file"):
        load(tmp_path / "missing.npz")


def test_unserialisable_metadata_is_refused_before_writing(tmp_path):
    flow = trained_like(np.random.default_rng(6))
    flow.metadata["bad"] = object()
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        flow.save(tmp_path / "f.npz")
    assert not os.listdir(tmp_path)
