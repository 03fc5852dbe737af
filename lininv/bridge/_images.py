r"""Image-domain baselines and metrics: BM3D denoising and the paper's PSNR convention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lininv._validation import _as_real_array, as_vector_or_batch, check_real, describe

__all__ = ["psnr", "psnr_rows", "bm3d_denoise", "BM3D_SMALL_PROFILE"]

#: The BM3D settings used on small images (:func:`bm3d_denoise`): 4x4 blocks (the package's
#: default 8x8 blocks fill an 8x8 image and make ``bm3d`` 4.0 crash with a segmentation fault),
#: a step of one pixel and a 7x7 search window, so every block of an 8x8 image is matched
#: against every other.
BM3D_SMALL_PROFILE = {
    "bs_ht": 4,
    "bs_wiener": 4,
    "step_ht": 1,
    "step_wiener": 1,
    "search_window_ht": 7,
    "search_window_wiener": 7,
    "num_threads": 1,
}


def psnr(X_hat: Any, X: Any, *, peak: float = 1.0, clip: bool = True) -> np.ndarray:
    r"""Peak signal-to-noise ratio per image, in dB: :math:`10 \log_{10}(\text{peak}^2 /
    \text{MSE})`.

    Parameters
    ----------
    X_hat : array_like of shape (n,) or (k, n)
        Reconstructions.
    X : array_like of the same shape
        The true images.
    peak : float, default=1.0
        The images' peak value (the dequantised digits lie in [0, 1]).
    clip : bool, default=True
        Clip the reconstructions to ``[0, peak]`` first, as the paper's code does before its PSNR.

    Returns
    -------
    float or ndarray of shape (k,)
        One PSNR per image, with the mean squared error *per pixel*,
        :math:`\text{MSE} = \|\hat x - x\|^2 / n`. Average these per-image values over images
        (the paper's convention: the mean of per-image PSNRs, not the PSNR of the mean error);
        a perfect reconstruction gives ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.bridge import psnr
    >>> x = np.full(64, 0.5)
    >>> round(float(psnr(x + 0.1, x)), 12)  # MSE 0.01 per pixel
    20.0
    """
    Xh = _as_real_array("X_hat", X_hat)
    X0 = _as_real_array("X", X)
    if Xh.shape != X0.shape or Xh.ndim not in (1, 2) or Xh.size == 0:
        raise ValueError(
            f"X_hat and X must have the same shape (n,) or (k, n); got {Xh.shape} and {X0.shape}"
        )
    peak = check_real("peak", peak, low=0.0, low_open=True)
    out = psnr_rows(Xh, X0, peak=peak, clip=clip)
    return float(out) if out.ndim == 0 else out


def psnr_rows(
    X_hat: np.ndarray,
    X: np.ndarray,
    *,
    peak: float = 1.0,
    clip: bool = True,
    mse_floor: float = 0.0,
) -> np.ndarray:
    """:func:`psnr` on validated arrays (last axis: pixels); the MSE floored at ``mse_floor``.

    The experiments floor it (at 1e-30: 300 dB) so that the mean PSNR over images stays finite
    where some recoveries are exact up to rounding (``m = n``).
    """
    if clip:
        X_hat = np.clip(X_hat, 0.0, peak)
    mse = np.maximum(np.mean((X_hat - X) ** 2, axis=-1), mse_floor)
    with np.errstate(divide="ignore"):
        return np.asarray(10.0 * np.log10(peak**2 / mse))


def bm3d_denoise(
    Y: Any, sigma: float, *, shape: Sequence[int] = (8, 8), profile: dict | None = None
) -> np.ndarray:
    r"""BM3D denoising (Dabov et al. 2007; the ``bm3d`` package) of images with white noise.

    Parameters
    ----------
    Y : array_like of shape (n,) or (k, n)
        Noisy images, flattened row-major, ``y = x + eta`` with :math:`\eta \sim N(0, \sigma^2 I)`.
    sigma : float
        The noise standard deviation in pixel units (BM3D is given the true one).
    shape : tuple of int, default=(8, 8)
        Image shape.
    profile : dict, optional
        Attributes of :class:`bm3d.BM3DProfile` to set; default :data:`BM3D_SMALL_PROFILE`.

    Returns
    -------
    ndarray of the shape of ``Y``

    Notes
    -----
    BM3D was designed for images of hundreds of pixels a side; on 8x8 digits it has few similar
    blocks to group. Its default profile (8x8 blocks) crashes the ``bm3d`` package on an 8x8
    image, so :data:`BM3D_SMALL_PROFILE` uses 4x4 blocks. Measured on 60 test digits (mean
    :math:`\|\hat x - x_0\|^2`; noisy input 0.159, 0.646, 2.53 at sigma = 0.05, 0.1, 0.2): 4x4
    blocks 0.151, 0.549, 1.73 at 20 ms an image; the default profile on the image padded
    symmetrically to 24x24 and cropped 0.148, 0.522, 1.56 at 450 ms an image. The small profile
    is the one used: within 5-10% of the padded run at a fiftieth of its cost.

    References
    ----------
    .. [1] K. Dabov, A. Foi, V. Katkovnik, K. Egiazarian, "Image denoising by sparse 3-D
       transform-domain collaborative filtering", IEEE Trans. Image Process. 16(8), 2007.
    .. [2] Y. Mäkinen, L. Azzari, A. Foi, "Collaborative filtering of correlated noise: exact
       transform-domain variance for improved shrinkage and patch matching", IEEE Trans. Image
       Process. 29, 2020 (the ``bm3d`` package).

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.bridge import bm3d_denoise
    >>> x = np.tile(np.linspace(0.2, 0.8, 8), 8)
    >>> y = x + 0.1 * np.random.default_rng(0).standard_normal(64)
    >>> bool(np.sum((bm3d_denoise(y, 0.1) - x) ** 2) < np.sum((y - x) ** 2))
    True
    """
    import bm3d

    n = int(np.prod(shape)) if isinstance(shape, (tuple, list)) else -1
    arr = as_vector_or_batch("Y", Y, n, length_hint=f" to match shape = {tuple(shape)}")
    single = arr.ndim == 1
    arr = np.atleast_2d(arr)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape)
        or int(shape[0]) * int(shape[1]) != arr.shape[1]
    ):
        raise ValueError(
            f"shape must be a pair of positive integers with product n = {arr.shape[1]}; "
            f"got {describe(shape)}"
        )
    settings = dict(BM3D_SMALL_PROFILE if profile is None else profile)
    prof = bm3d.BM3DProfile()
    for key, value in settings.items():
        if not hasattr(prof, key):
            raise ValueError(f"profile has no setting {key!r} (bm3d.BM3DProfile)")
        setattr(prof, key, value)
    rows, cols = int(shape[0]), int(shape[1])
    out = np.stack(
        [
            np.asarray(bm3d.bm3d(y.reshape(rows, cols), sigma_psd=sigma, profile=prof)).ravel()
            for y in arr
        ]
    )
    return out[0] if single else out
