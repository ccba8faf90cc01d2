"""The :class:`Dataset` record every loader returns, and where the data files are looked for.

A loader that reads files takes ``data_dir``: the root that holds one folder per dataset
(``mnist/``, ``fashion-mnist/``, ``cifar10/``, ``cscores/``, ...), laid out as in the project's
``shared/data`` (its ``SOURCES.md`` gives every file's origin and checksum). ``data_dir=None``
means the environment variable ``TAILMEM_DATA``; if that is unset too, the loader raises.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "TAILMEM_DATA"


class DataFileMissingError(FileNotFoundError, ValueError):
    """A data file or folder is absent; the message names it and where to obtain it.

    Subclasses both :class:`FileNotFoundError` and :class:`ValueError`, so callers may catch either.
    """


@dataclass(frozen=True, eq=False)
class Dataset:
    """One labelled dataset split into train and test.

    ``x_train`` has shape ``(n_train, *feature_shape)`` and ``x_test`` ``(n_test, *feature_shape)``;
    the dtype (uint8 pixels or float32 signals) is stated by each loader. ``y_train`` and ``y_test``
    are int64 vectors with values in ``0 .. len(classes) - 1``. ``classes`` names the labels in
    order; ``note`` says where the split came from (e.g. a held-out part of a training set).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    note: str

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if y.dtype != np.int64 or y.ndim != 1:
                raise ValueError(f"{self.name}: y_{split} must be a 1-D int64 array, got {y.dtype} {y.shape}")
            if x.shape[:1] != y.shape:
                raise ValueError(f"{self.name}: x_{split} has {x.shape[0]} rows but y_{split} has {y.size}")
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise ValueError(
                    f"{self.name}: y_{split} has labels in [{y.min()}, {y.max()}], "
                    f"valid range is [0, {len(self.classes) - 1}]"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"{self.name}: train feature shape {self.x_train.shape[1:]} "
                f"differs from test {self.x_test.shape[1:]}"
            )


def default_data_dir() -> Path:
    """The data root named by the environment variable ``TAILMEM_DATA``; raises if it is unset."""
    value = os.environ.get(ENV_VAR, "")
    if not value:
        raise ValueError(
            f"data_dir was not given and the environment variable {ENV_VAR} is unset; "
            "pass data_dir= or set TAILMEM_DATA to the folder that holds mnist/, cifar10/, ..."
        )
    return Path(value)


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """``data_dir`` as a :class:`Path`, or :func:`default_data_dir` when it is None; it must exist."""
    root = default_data_dir() if data_dir is None else Path(data_dir)
    if not root.is_dir():
        where = f" (from the environment variable {ENV_VAR})" if data_dir is None else ""
        raise DataFileMissingError(f"data_dir {str(root)!r}{where} is not a folder")
    return root


def fixed_part(size: int, total: int, rng: np.random.Generator, name: str) -> np.ndarray:
    """Sorted indices of a fixed random part of ``size`` rows out of ``total`` (all rows when size = 0).

    ``name`` is the config field that asked for it, named in the error when size > total.
    """
    if size == 0:
        return np.arange(total)
    if size > total:
        raise ValueError(f"{name} must be at most the split's {total} examples; got {size}")
    return np.sort(rng.choice(total, size=size, replace=False))
