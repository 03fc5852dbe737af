r"""Out-of-distribution 28x28 signals: crops of scikit-image's photographs and its faces.

Both are bundled with scikit-image (no download; ``pip install lininv[images]``) and come out as
the digits do (:func:`lininv.datasets.load_mnist28`): rows of 784 integers 0..255, 28x28
row-major, one grey channel, so the same dequantisation, flow and bits/dim apply.

Sources and licences, as ``skimage.data`` documents them:

=============  ===========================================================================
image          source and licence
=============  ===========================================================================
camera         photograph by Lav Varshney, CC0
astronaut      Eileen Collins, NASA Great Images database, public domain
coffee         photograph by Rachel Michetti (courtesy of Pikolo Espresso Bar), CC0
chelsea        Chelsea the cat, photograph by Stefan van der Walt, CC0
brick          brick wall texture from CC0Textures, CC0
grass          grass texture from DeviantArt (linolafett), CC0
gravel         gravel texture from CC0Textures, CC0
text           "Corner.png" from Wikipedia, no known copyright restrictions (public domain)
lfw_subset     100 faces and 100 non-faces (25x25) from Labeled Faces in the Wild (Huang et
               al., University of Massachusetts, Amherst); scikit-image states no licence
               for this subset, LFW's images are news photographs collected from the web for
               research use
=============  ===========================================================================

Preprocessing (deterministic, no randomness): colour images become grey with
``skimage.color.rgb2gray``, 8-bit grey images are divided by 255; a crop (or a face) is resized
to 28x28 with ``skimage.transform.resize(..., order=1, anti_aliasing=True)`` (bilinear, Gaussian
pre-filter when shrinking) and quantised to ``round(255 v)`` in 0..255.
"""

from __future__ import annotations

import functools

import numpy as np

from lininv._validation import check_int
from lininv.datasets._mnist28 import require_images_extra

__all__ = ["PHOTOS", "load_photo_crops28", "load_faces28"]

#: The scikit-image photographs cropped by :func:`load_photo_crops28`, in order.
PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "brick", "grass", "gravel", "text")


def _to28(img: np.ndarray) -> np.ndarray:
    """A grey image with values in [0, 1] resized to 28x28 and quantised to 0..255 (int64)."""
    from skimage.transform import resize

    small = resize(img, (28, 28), order=1, anti_aliasing=True, mode="reflect")
    return np.clip(np.round(small * 255.0), 0, 255).astype(np.int64).reshape(-1)


def _grey(name: str) -> np.ndarray:
    data = require_images_extra("skimage.data", "lininv.datasets.load_photo_crops28")
    img = getattr(data, name)()
    if img.ndim == 3:
        from skimage.color import rgb2gray

        return rgb2gray(img[..., :3])
    return img.astype(np.float64) / 255.0


@functools.lru_cache(maxsize=4)
def _crops(grid: int) -> tuple[np.ndarray, tuple[str, ...]]:
    rows, names = [], []
    for name in PHOTOS:
        img = _grey(name)
        H, W = img.shape
        side = min(H, W) // grid
        top, left = (H - grid * side) // 2, (W - grid * side) // 2
        for i in range(grid):
            for j in range(grid):
                y, x = top + i * side, left + j * side
                rows.append(_to28(img[y : y + side, x : x + side]))
                names.append(f"{name}[{i},{j}]")
    return np.stack(rows), tuple(names)


def load_photo_crops28(*, grid: int = 4) -> tuple[np.ndarray, list[str]]:
    """28x28 grey crops of scikit-image's bundled photographs: out-of-distribution signals.

    Parameters
    ----------
    grid : int, default=4
        Each photograph of :data:`PHOTOS` is cut into a centred ``grid x grid`` array of
        non-overlapping squares of side ``min(height, width) // grid`` pixels, each resized to
        28x28 (module docstring); ``len(PHOTOS) * grid**2`` crops in all.

    Returns
    -------
    X : ndarray of shape (8 grid^2, 784), int64
        Pixel values 0..255, row-major 28x28, as :func:`load_mnist28`.
    names : list of str
        ``"photo[i,j]"``: the photograph and the crop's row and column in the grid.

    Raises
    ------
    ImportError
        Without scikit-image (``pip install lininv[images]``).

    Examples
    --------
    >>> from lininv.datasets import load_photo_crops28
    >>> X, names = load_photo_crops28(grid=2)
    >>> X.shape, names[0], int(X.max()) <= 255
    ((32, 784), 'camera[0,0]', True)
    """
    grid = check_int("grid", grid, low=1, high=16)
    X, names = _crops(grid)
    return X.copy(), list(names)


@functools.lru_cache(maxsize=1)
def _faces() -> np.ndarray:
    data = require_images_extra("skimage.data", "lininv.datasets.load_faces28")
    faces = data.lfw_subset()
    return np.stack([_to28(f) for f in faces])


def load_faces28(*, non_faces: bool = False) -> np.ndarray:
    """The faces of scikit-image's ``lfw_subset``, resized from 25x25 to 28x28 (0..255).

    Parameters
    ----------
    non_faces : bool, default=False
        Return the subset's 100 non-face background patches instead of its 100 faces.

    Returns
    -------
    ndarray of shape (100, 784), int64
        Row-major 28x28 images, values 0..255 (module docstring: same resizing and quantisation
        as :func:`load_photo_crops28`).

    Raises
    ------
    ImportError
        Without scikit-image (``pip install lininv[images]``).

    Examples
    --------
    >>> from lininv.datasets import load_faces28
    >>> load_faces28().shape
    (100, 784)
    """
    if not isinstance(non_faces, (bool, np.bool_)):
        raise TypeError(f"non_faces must be a bool; got {non_faces!r}")
    X = _faces()
    return (X[100:] if non_faces else X[:100]).copy()
