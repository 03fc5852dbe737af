"""Data sets for the experiments: scikit-learn's bundled 8x8 digits (n = 64, no download).

The images are integers 0..16. A density model on the real line sees them dequantised,
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
Dequantisation and its likelihood unit
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

__all__ = [
    "load_digits",
    "split_digits",
    "reference_split",
    "split_by_class",
    "DigitsSplit",
    "LEVELS",
    "dequantize",
    "bits_per_dim",
]
