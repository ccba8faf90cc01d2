r"""Datasets by name, their model-ready features, and the released CIFAR-10 C-scores.

:func:`load_dataset` maps the names the experiments use to the loaders of this package;
:func:`features` turns a :class:`~simulations.data.Dataset` into float32 arrays for training:

- images (uint8 (n, H, W) or (n, H, W, C): MNIST, Fashion-MNIST, CIFAR-10, digits) become
  (n, C, H, W) scaled by 1/255, then each channel is standardised with the mean and standard
  deviation of the *train* split over all its pixels, :math:`x \leftarrow (x - \mu_c) / \sigma_c`;
- vectors (MNIST-1D's (n, 40) float signals) are standardised with the train split's overall
  mean and standard deviation.

The test split is transformed with the train statistics, so nothing is learned from it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from simulations.results import read_npz

from .cifar10 import load_cifar10
from .dataset import DataFileMissingError, Dataset, resolve_data_dir
from .digits import load_digits
from .idx import load_fashion_mnist, load_mnist
from .mnist1d_data import load_mnist1d
from .npz_data import is_npz_name, load_npz

__all__ = ["DATASETS", "load_dataset", "features", "is_image", "load_cifar10_cscores", "CSCORES_URL"]

DATASETS = ("mnist1d", "digits", "mnist", "fashion-mnist", "cifar10")
CSCORES_NPZ = Path("cscores") / "cifar10-cscores-orig-order.npz"
CSCORES_URL = "https://github.com/pluskid/structural-regularity (docs/cscores/cifar10-cscores-orig-order.npz)"


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """The dataset called ``name`` (one of :data:`DATASETS`, or a path ending in ``.npz``).

    ``mnist1d`` (the reference MNIST-1D, seed 42) and ``digits`` (scikit-learn's, seed-0 split)
    need no files; the others are read from ``data_dir`` (default ``$TAILMEM_DATA``); an ``.npz``
    path is your own data (:mod:`~simulations.data.npz_data`).
    """
    if is_npz_name(name):
        return load_npz(name)
    if name == "mnist1d":
        return load_mnist1d()
    if name == "digits":
        return load_digits()
    if name == "mnist":
        return load_mnist(data_dir)
    if name == "fashion-mnist":
        return load_fashion_mnist(data_dir)
    if name == "cifar10":
        return load_cifar10(data_dir)
    raise ValueError(f"dataset must be one of {', '.join(DATASETS)} or a path to an .npz file; got {name!r}")


def is_image(data: Dataset) -> bool:
    """Whether the dataset holds images (uint8 of rank 3 or 4) rather than feature vectors."""
    return data.x_train.dtype == np.uint8 and data.x_train.ndim in (3, 4)


def features(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(x_train, x_test) as standardised float32: images (n, C, H, W), vectors (n, d)."""
    if is_image(data):
        tr, te = (_channels_first(a) for a in (data.x_train, data.x_test))
        mean = tr.mean(axis=(0, 2, 3), dtype=np.float64).reshape(1, -1, 1, 1)
        std = tr.std(axis=(0, 2, 3), dtype=np.float64).reshape(1, -1, 1, 1)
    else:
        tr = data.x_train.reshape(len(data.x_train), -1).astype(np.float32)
        te = data.x_test.reshape(len(data.x_test), -1).astype(np.float32)
        mean, std = tr.mean(dtype=np.float64), tr.std(dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return ((tr - mean) / std).astype(np.float32), ((te - mean) / std).astype(np.float32)


def _channels_first(x: np.ndarray) -> np.ndarray:
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    return x.astype(np.float32) / 255.0


def load_cifar10_cscores(
    data_dir: str | os.PathLike[str] | None = None, *, labels: np.ndarray | None = None
) -> np.ndarray:
    """The released CIFAR-10 C-scores (Jiang et al. 2021), float64 (50000,), official training order.

    Read from ``data_dir/cscores/cifar10-cscores-orig-order.npz`` (key ``scores``), never unpickled;
    values must lie in [0, 1]. With ``labels`` (the first ``len(labels)`` training images' labels,
    official order), the file's own ``labels`` must equal them: a file in another order is refused.
    """
    path = resolve_data_dir(data_dir) / CSCORES_NPZ
    if not path.is_file():
        raise DataFileMissingError(f"{path} not found; it is {CSCORES_URL}")
    try:
        scores = read_npz(path, ("scores",))["scores"]
    except ValueError as exc:
        raise ValueError(f"cannot read key 'scores': {exc}") from None
    if scores.shape != (50_000,) or not np.issubdtype(scores.dtype, np.floating):
        raise ValueError(f"{path}: 'scores' is {scores.dtype} {scores.shape}, expected floats (50000,)")
    if not (np.isfinite(scores).all() and scores.min() >= 0.0 and scores.max() <= 1.0):
        raise ValueError(f"{path}: 'scores' must lie in [0, 1]")
    if labels is not None:
        labels = np.asarray(labels)
        try:
            theirs = read_npz(path, ("labels",))["labels"]
        except ValueError as exc:
            raise ValueError(f"{path}: cannot read key 'labels' to check the order: {exc}") from None
        if theirs.shape != (50_000,) or len(labels) > 50_000:
            raise ValueError(f"{path}: 'labels' is {theirs.shape}, expected (50000,)")
        wrong = int((theirs[: len(labels)] != labels).sum())
        if wrong:
            raise ValueError(
                f"{path}: its labels disagree with the images' at {wrong:,} of {len(labels):,} positions; "
                "the scores are in another order or of another dataset"
            )
    return scores.astype(np.float64)
