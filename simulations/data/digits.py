"""The UCI optical handwritten digits (8 x 8) that ship inside scikit-learn, with a fixed split.

``sklearn.datasets.load_digits`` reads a file installed with scikit-learn, so it works offline:
1797 images, each pixel a count 0..16 of set pixels in a 4 x 4 block of the 32 x 32 original
(Alpaydin & Kaynak 1998, UCI repository "Optical Recognition of Handwritten Digits", test part).
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

DIGITS_CLASSES = tuple(str(d) for d in range(10))


def load_digits(*, seed: int = 0, test_size: int = 360) -> Dataset:
    """scikit-learn's digits as uint8 images (n, 8, 8) with values 0..16, int64 labels in 0..9.

    The split: ``perm = np.random.default_rng(seed).permutation(1797)``; the last ``test_size``
    indices of ``perm`` (in that order) are the test split, the first ``1797 - test_size`` the
    train split. Defaults: seed 0, 360 test images (20 %, rounded up to a multiple of 10).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images, labels = bunch.images, bunch.target
    n = labels.shape[0]
    if isinstance(test_size, bool) or not isinstance(test_size, int) or not 0 < test_size < n:
        raise ValueError(f"test_size must be an integer in [1, {n - 1}], got {test_size!r}")
    if images.min() < 0 or images.max() > 16 or not np.array_equal(images, np.round(images)):
        raise ValueError("sklearn digits: pixels are not integers in 0..16")
    perm = np.random.default_rng(seed).permutation(n)
    train, test = perm[: n - test_size], perm[n - test_size :]
    x, y = images.astype(np.uint8), labels.astype(np.int64)
    note = (
        f"sklearn.datasets.load_digits; split by np.random.default_rng({seed}).permutation({n}): "
        f"last {test_size} indices are test, the first {n - test_size} train"
    )
    return Dataset("digits", x[train], y[train], x[test], y[test], classes=DIGITS_CLASSES, note=note)
