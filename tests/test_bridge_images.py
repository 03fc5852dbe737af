"""PSNR against a hand computation, and the BM3D baseline on a tiny case (it must keep running)."""

import numpy as np
import pytest

from lininv.bridge import BM3D_SMALL_PROFILE, bm3d_denoise, psnr
from lininv.bridge._compare_cell import MSE_FLOOR, psnr_floored
from tests.helpers import assert_close


def test_psnr_by_hand():
    x = np.array([[0.5, 0.5, 0.5, 0.5], [0.0, 0.25, 0.75, 1.0]])
    x_hat = np.array([[0.6, 0.4, 0.5, 0.5], [0.0, 0.25, 0.75, 1.5]])
    # image 0: squared errors 0.01 + 0.01 over 4 pixels = 0.005 -> 10 log10(200) = 23.0103 dB;
    # image 1: 1.5 is clipped to the peak 1, so it is exact
    out = psnr(x_hat, x)
    assert out.shape == (2,)
    assert_close(out[0], 10 * np.log10(200.0))
    assert out[1] == np.inf
    # without clipping: 0.25 / 4 = 0.0625 -> 12.0412 dB
    assert_close(psnr(x_hat, x, clip=False)[1], 10 * np.log10(16.0))
    # peak 2: +20 log10(2) dB; and the mean of per-image PSNRs is not the PSNR of the mean MSE
    assert_close(psnr(x_hat[0], x[0], peak=2.0), 10 * np.log10(800.0))
    assert isinstance(psnr(x_hat[0], x[0]), float)


def test_the_experiments_floor_keeps_exact_recoveries_finite():
    x = np.full((2, 64), 0.5)
    assert_close(psnr_floored(x, x), np.full(2, -10 * np.log10(MSE_FLOOR)))
    y = x + 0.1
    assert_close(psnr_floored(y, x), psnr(y, x))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(4), np.zeros(5)), "same shape"),
        ((np.zeros((1, 2, 2)), np.zeros((1, 2, 2))), "same shape"),
    ],
)
def test_psnr_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        psnr(*args)
    with pytest.raises(ValueError, match="peak"):
        psnr(np.zeros(4), np.zeros(4), peak=0.0)


def test_bm3d_denoises_a_tiny_batch():
    """Three 8x8 images: BM3D (the bm3d package, 4x4 blocks) lowers the error of the noisy input.
    On a smooth ramp with sigma = 0.1 the noisy error is ~64 * 0.01 = 0.64; BM3D removes most of
    it, so a factor 2 is a loose margin that still catches a broken call (which returns the input
    or fails)."""
    ramp = np.tile(np.linspace(0.2, 0.8, 8), 8)
    X = np.stack([ramp, ramp[::-1], np.full(64, 0.5)])
    Y = X + 0.1 * np.random.default_rng(0).standard_normal(X.shape)
    out = bm3d_denoise(Y, 0.1)
    assert out.shape == Y.shape and np.all(np.isfinite(out))
    err_in = np.sum((Y - X) ** 2, axis=1)
    err_out = np.sum((out - X) ** 2, axis=1)
    assert np.all(err_out < 0.5 * err_in), (err_out, err_in)
    # one image at a time gives the same (a batch is a loop over images): same computation
    assert_close(bm3d_denoise(Y[0], 0.1), out[0])
    assert BM3D_SMALL_PROFILE["bs_ht"] == 4  # the package's 8x8 default crashes on 8x8 images


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"Y": np.zeros(63), "sigma": 0.1}, "Y must"),
        ({"Y": np.zeros(64), "sigma": 0.0}, "sigma"),
        ({"Y": np.zeros(64), "sigma": 0.1, "shape": (4, 4)}, "Y must"),
        ({"Y": np.zeros(64), "sigma": 0.1, "profile": {"no_such": 1}}, "profile has no setting"),
    ],
)
def test_bm3d_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bm3d_denoise(**kwargs)
