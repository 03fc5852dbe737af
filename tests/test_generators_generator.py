"""The Generator: shapes, sampling, parameters, save/load, and bad input refused with clear messages."""

import numpy as np
import pytest
from helpers import assert_close

from lininv.generators import Generator, GeneratorFileError, load


def _gen(**kw):
    return Generator(3, n=10, hidden=(8,), rng=0, **kw)


def test_shapes_and_range():
    gen = _gen()
    z = np.random.default_rng(1).standard_normal((5, 3))
    x = gen.forward(z)
    assert x.shape == (5, 10) and gen.forward(z[0]).shape == (10,)
    assert np.all((x > 0) & (x < 1))  # the sigmoid output
    assert gen.encode(x).shape == (5, 3) and gen.encode(x[0]).shape == (3,)
    assert gen.reconstruct(x).shape == (5, 10)
    assert _gen(kind="ae").encoder.sizes[-1] == 3 and gen.encoder.sizes[-1] == 6
    assert "k=3" in repr(gen)


def test_sample_depends_on_the_seed_alone():
    gen = _gen()
    a = gen.sample(7, rng=3)
    assert a.shape == (7, 10) and gen.sample(0, rng=3).shape == (0, 10)
    b = gen.sample(3, rng=3)
    # the first rows of a larger sample are the smaller sample's: the same z, pushed through D
    # with another batch size, where BLAS may sum in another order (a few ulps of O(1) values)
    assert_close(a[:3], b, rtol=1e-13)
    assert not np.allclose(gen.sample(3, rng=4), b)


def test_params_round_trip_and_copy_is_independent():
    gen = _gen()
    theta = gen.get_params()
    assert theta.shape == (gen.n_params,)
    assert gen.n_params == gen.decoder.n_params + gen.encoder.n_params
    other = gen.copy()
    other.set_params(np.zeros(gen.n_params))
    assert np.array_equal(gen.get_params(), theta)  # bitwise: an untouched copy
    other.set_params(theta)
    assert np.array_equal(
        other.forward(np.ones(3)), gen.forward(np.ones(3))
    )  # bitwise: same params


def test_save_load_round_trip(tmp_path):
    gen = _gen(kind="ae", activation="tanh", output="linear", metadata={"note": [1, 2]})
    gen.save(tmp_path / "g.npz")
    back = load(tmp_path / "g.npz")
    assert np.array_equal(
        back.get_params(), gen.get_params()
    )  # bitwise: a serialization round trip
    assert back.architecture() == gen.architecture() and back.metadata == {"note": [1, 2]}
    z = np.random.default_rng(0).standard_normal((4, 3))
    assert np.array_equal(back.forward(z), gen.forward(z))  # bitwise: same parameters and code


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p.write_bytes(b"not a zip") and p, "not a readable"),
        (lambda p: _write(p, x=np.zeros(2)), "no 'format'"),
        (lambda p: _write(p, format=np.array("something.else")), "format is"),
        (
            lambda p: _write(p, format=np.array("lininv.generators.Generator"), format_version=2),
            "format version 2",
        ),
    ],
)
def test_bad_files_are_refused(tmp_path, make, match):
    path = make(tmp_path / "bad.npz")
    with pytest.raises(GeneratorFileError, match=match):
        load(path)


def test_damaged_parameters_are_refused(tmp_path):
    gen = _gen()
    gen.save(tmp_path / "g.npz")
    with np.load(tmp_path / "g.npz") as data:
        contents = dict(data)
    contents["params"] = contents["params"][:-1]
    np.savez(tmp_path / "short.npz", **contents)
    with pytest.raises(GeneratorFileError, match="parameters stored"):
        load(tmp_path / "short.npz")
    contents["params"] = np.full(gen.n_params, np.nan)
    np.savez(tmp_path / "nan.npz", **contents)
    with pytest.raises(GeneratorFileError, match="NaN"):
        load(tmp_path / "nan.npz")
    with pytest.raises(FileNotFoundError, match="no generator file"):
        load(tmp_path / "missing.npz")


BAD = [
    (lambda: Generator(64, n=64), ValueError, r"k must be an integer in \[1, 63\]"),
    (lambda: Generator(2.5), TypeError, "k must be an integer"),
    (lambda: Generator(2, hidden=()), TypeError, "hidden must be a non-empty sequence"),
    (lambda: Generator(2, hidden=(0,)), ValueError, "hidden must be an integer in"),
    (lambda: Generator(2, kind="gan"), ValueError, "kind must be one of 'vae', 'ae'"),
    (lambda: Generator(2, output="tanh"), ValueError, "output must be one of"),
    (lambda: Generator(2, activation="gelu"), ValueError, "activation must be one of"),
    (lambda: Generator(2, metadata=[1]), TypeError, "metadata must be a dict"),
    (lambda: _gen().forward(np.zeros(4)), ValueError, r"z must have shape \(3,\) or \(k, 3\)"),
    (lambda: _gen().forward(np.full(3, np.nan)), ValueError, "z must be finite"),
    (lambda: _gen().jacobian("z"), TypeError, "z must be a real numeric array"),
    (lambda: _gen().encode(np.zeros((2, 9))), ValueError, r"x must have shape \(10,\)"),
    (lambda: _gen().set_params(np.zeros(3)), ValueError, "theta must have shape"),
    (lambda: _gen().sample(-1), ValueError, "size must be an integer in"),
    (lambda: _gen().sample(2, rng="seed"), TypeError, "rng must be None, an int seed"),
    (
        lambda: _gen().forward_and_pullback(np.zeros(3))[1](np.zeros(4)),
        ValueError,
        r"v must have shape \(10,\)",
    ),
    (lambda: load(3), TypeError, "path must be a str or os.PathLike"),
]


@pytest.mark.parametrize("call, exc, match", BAD)
def test_bad_input_is_refused_with_a_clear_message(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_saving_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="folder does not exist"):
        _gen().save(tmp_path / "missing" / "g.npz")
    with pytest.raises(TypeError, match="generator must be a lininv.generators.Generator"):
        from lininv.generators._serialization import save

        save("G", tmp_path / "g.npz")
