r"""Your own data as an ``.npz`` file: ``--set dataset=PATH.npz`` for the subset-model experiments.

The file holds ``x_train`` (n, d) numbers or (n, H, W[, C]) uint8 images and ``y_train`` (n,)
integer labels of any values; optionally ``x_test`` and ``y_test``. Without a test split, a fixed
20% of the training rows (chosen by a generator seeded with 0) is held out as the test split, and
the dataset's note says so. Labels are mapped to 0..C-1 in sorted order (the original values
are the class names). The file is read with ``allow_pickle=False``: a file holding Python
objects is refused, never unpickled. Every problem is one line naming the file and the key.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .dataset import DataFileMissingError, Dataset

__all__ = ["is_npz_name", "load_npz", "npz_label", "HELD_OUT"]

HELD_OUT = 0.2  # fraction of the training rows held out when the file has no test split


def is_npz_name(name: str) -> bool:
    """Whether a ``dataset`` field names an ``.npz`` file (rather than a built-in dataset)."""
    return isinstance(name, str) and name.endswith(".npz")


def npz_label(name: str) -> str:
    """A short name for stores and logs: the file's stem (``data/mine.npz`` -> ``mine``)."""
    return Path(name).stem if is_npz_name(name) else name


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataFileMissingError(f"dataset: {str(path)!r} is not a file (an .npz with x_train, y_train)")
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            return {k: np.asarray(f[k]) for k in f.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise ValueError(f"dataset: {path} holds Python objects; save numeric arrays only") from None
        raise ValueError(f"dataset: {path} cannot be read ({exc})") from None
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"dataset: {path} cannot be read ({type(exc).__name__}: {exc})") from None


def _check_x(path: Path, key: str, x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8 and x.ndim in (3, 4):
        return x  # images
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_:
        raise ValueError(
            f"dataset: {path}: {key} must be (n, d) numbers or (n, H, W[, C]) uint8 images; "
            f"got {x.dtype} {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError(f"dataset: {path}: {key} holds NaN or inf")
    return x.astype(np.float32)


def _check_y(path: Path, key: str, y: np.ndarray, n: int) -> np.ndarray:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"dataset: {path}: {key} must be 1-d integer labels; got {y.dtype} {y.shape}")
    if len(y) != n:
        raise ValueError(f"dataset: {path}: {key} has {len(y)} labels for {n} rows of x")
    return y


def load_npz(name: str) -> Dataset:
    """The :class:`~simulations.data.Dataset` in the ``.npz`` file ``name`` (module docstring)."""
    path = Path(name)
    a = _read(path)
    missing = [k for k in ("x_train", "y_train") if k not in a]
    if missing:
        raise ValueError(
            f"dataset: {path} has no {', '.join(missing)} (keys: {', '.join(sorted(a)) or 'none'})"
        )
    if ("x_test" in a) != ("y_test" in a):
        raise ValueError(f"dataset: {path} must hold both x_test and y_test, or neither")
    x = _check_x(path, "x_train", a["x_train"])
    y = _check_y(path, "y_train", a["y_train"], len(x))
    if "x_test" in a:
        xt = _check_x(path, "x_test", a["x_test"])
        yt = _check_y(path, "y_test", a["y_test"], len(xt))
        note = f"x_train, y_train, x_test, y_test of {path.name}"
    else:
        rows = np.random.default_rng(0).permutation(len(y))
        k = max(1, round(HELD_OUT * len(y)))
        test, train = np.sort(rows[:k]), np.sort(rows[k:])
        x, y, xt, yt = x[train], y[train], x[test], y[test]
        note = f"{path.name} has no test split: a fixed {HELD_OUT:.0%} of its rows (seed 0) held out as test"
    if xt.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"dataset: {path}: x_test rows have shape {xt.shape[1:]}, x_train rows {x.shape[1:]}"
        )
    classes = np.unique(y)
    if classes.size < 2:
        raise ValueError(f"dataset: {path}: y_train must hold at least 2 classes; got {classes.tolist()}")
    unknown = np.setdiff1d(yt, classes)
    if unknown.size:
        raise ValueError(f"dataset: {path}: y_test holds labels absent from y_train: {unknown[:5].tolist()}")
    return Dataset(
        name=path.stem,
        x_train=x,
        y_train=np.searchsorted(classes, y).astype(np.int64),
        x_test=xt,
        y_test=np.searchsorted(classes, yt).astype(np.int64),
        classes=tuple(str(c) for c in classes.tolist()),
        note=note,
    )
