"""The digits data helpers: loading, splits, dequantisation, bits per dimension."""

import numpy as np
import pytest
from helpers import assert_close
from sklearn.datasets import load_digits as sk_load_digits

from lininv import LinearInvertiblePrior
from lininv._threads import one_blas_thread
from lininv.datasets import (
    bits_per_dim,
    dequantize,
    load_digits,
    reference_split,
    split_by_class,
    split_digits,
)


def test_load_digits_is_sklearns_bundled_copy():
    X, y = load_digits()
    Xs, ys = sk_load_digits(return_X_y=True)
    assert X.dtype == np.int64 and X.shape == (1797, 64)
    # bitwise: integer pixel values and labels
    assert np.array_equal(X, Xs) and np.array_equal(y, ys)
    assert X.min() == 0 and X.max() == 16


def test_reference_split_is_a_reproducible_partition():
    s = reference_split()
    assert s.X_train.shape == (1400, 64) and s.X_test.shape == (397, 64)
    assert s.seed == 0 and s.excluded == ()
    assert np.intersect1d(s.train_index, s.test_index).size == 0
    # bitwise: integer indices
    assert np.array_equal(np.union1d(s.train_index, s.test_index), np.arange(1797))
    X, y = load_digits()
    # bitwise: integer pixel values and labels, indexed copies
    assert np.array_equal(s.X_train, X[s.train_index]) and np.array_equal(s.y_test, y[s.test_index])
    again = split_digits(n_train=1400, rng=0)
    assert np.array_equal(again.train_index, s.train_index)  # bitwise: integer indices
    # the split is rng.permutation's first 1400 rows, so it is pinned by numpy's generator
    perm = np.random.default_rng(0).permutation(1797)
    assert np.array_equal(s.test_index, np.sort(perm[1400:]))  # bitwise: integer indices


def test_excluding_a_class_removes_it_from_training_only():
    full, biased = reference_split(), reference_split(exclude=3)
    assert 3 not in biased.y_train and biased.excluded == (3,)
    assert np.array_equal(biased.test_index, full.test_index)  # bitwise: integer indices
    kept = full.train_index[full.y_train != 3]
    assert np.array_equal(biased.train_index, kept)  # bitwise: integer indices
    two = split_digits(exclude=[8, 3, 3], rng=0)
    assert two.excluded == (3, 8) and not np.isin(two.y_train, [3, 8]).any()
    assert split_digits(rng=np.random.default_rng(1)).seed is None


def test_split_by_class():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 1, 2, 1, 0, 2])
    Xr, yr, Xh, yh = split_by_class(X, y, [1, 2])
    # bitwise: integer labels
    assert np.array_equal(yr, [0, 0]) and np.array_equal(yh, [1, 2, 1, 2])
    # bitwise: rows of X copied by fancy indexing
    assert np.array_equal(Xh, X[[1, 2, 3, 5]]) and np.array_equal(Xr, X[[0, 4]])
    assert split_by_class(X, y, 0)[2].shape == (2, 2)


def test_dequantize_adds_uniform_noise_inside_each_cell():
    X, _ = load_digits()
    D = dequantize(X, rng=0)
    assert D.min() >= 0.0 and D.max() < 1.0
    # bitwise: floor of correctly rounded elementwise +, / and * on numpy's portable draws: the same
    # bits on every machine; each value stays in its own cell [X, X+1)/17
    assert np.array_equal(np.floor(17 * D), X)
    noise = 17 * D - X
    # U[0,1) noise: mean 1/2, sd 1/sqrt(12); 5 standard errors
    assert abs(noise.mean() - 0.5) <= 5 * np.sqrt(1 / 12) / np.sqrt(noise.size)
    # bitwise: same seed, same uniform draws for the first rows, and the same elementwise arithmetic
    assert_close(dequantize(X[:3], rng=0), D[:3], rtol=0)
    assert_close(
        dequantize([[0, 1]], levels=2, rng=1) * 2 - [[0, 1]],
        np.random.default_rng(1).random((1, 2)),
    )


def test_bits_per_dim_formula_and_an_equivalent_model():
    assert_close(bits_per_dim(0.0), np.log2(17.0))
    assert_close(bits_per_dim(np.array([0.0, 64 * np.log(2)])), np.log2(17.0) + np.array([0, 1]))
    # The same Gaussian fitted on unscaled (X + U) and on (X + U) / 17: its NLL in unscaled units,
    # divided by 64 ln 2, is the bits/dim of the scaled model.
    X, _ = load_digits()
    U = np.random.default_rng(0).random(X.shape)
    with one_blas_thread():  # a multi-threaded BLAS is ~20x slower on this small SVD (see _threads)
        raw = LinearInvertiblePrior.fit(X[:1400] + U[:1400])
        scaled = LinearInvertiblePrior.fit((X[:1400] + U[:1400]) / 17)
    nll_raw = -raw.log_prob(X[1400:] + U[1400:]).mean()
    nll_scaled = -scaled.log_prob((X[1400:] + U[1400:]) / 17).mean()
    assert_close(bits_per_dim(nll_scaled), nll_raw / (64 * np.log(2)), rtol=1e-12)


def test_bad_digits_inputs():
    with pytest.raises(ValueError, match="integers in 0..16"):
        dequantize(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="integers in 0..16"):
        dequantize(np.array([[17, 1]]))
    with pytest.raises(ValueError, match="exclude must be an integer in \\[0, 9\\]"):
        split_digits(exclude=10, rng=0)
    with pytest.raises(TypeError, match="exclude must be a class label"):
        split_digits(exclude="3", rng=0)
    with pytest.raises(ValueError, match="n_train must be an integer in \\[1, 1796\\]"):
        split_digits(n_train=1797)
    with pytest.raises(ValueError, match="y must be integer labels of shape \\(2,\\)"):
        split_by_class(np.zeros((2, 2)), [0.5, 1.0], 1)
    with pytest.raises(TypeError, match="n must be an integer"):
        bits_per_dim(1.0, n=2.5)
