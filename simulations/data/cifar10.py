"""CIFAR-10 (Krizhevsky 2009) from the official python batches or from the PNG zips in shared/data.

Two layouts under ``data_dir`` are read, the first one found:

1. ``cifar-10-batches-py/`` (the official ``cifar-10-python.tar.gz``, unpacked): ``data_batch_1`` ..
   ``data_batch_5`` and ``test_batch``, Python 2 pickles of ``{b"data": uint8 (10000, 3072),
   b"labels": [int, ...]}``, each row the 1024 red, then 1024 green, then 1024 blue values of a
   32 x 32 image in row-major order. They are read through
   :class:`~simulations.data.safe_pickle.RestrictedUnpickler`, never plain ``pickle.load``.
   Train = the 50,000 training images, test = the official 10,000 test images.
2. ``cifar10/cifar10-train-images-png-part{1,2,3}of3.zip`` holding ``<i>.png`` for training image
   ``i`` (0..19999, 20000..39999, 40000..49999; RGBA, alpha 255, dropped), with labels from
   ``cscores/cifar10-cscores-orig-order.npz`` key ``labels`` (Jiang et al. 2021). This copy has
   **no test set**: images 40000..49999 (the whole of part 3, i.e. the official data_batch_5)
   are held out as the test split, and train is images 0..39999.

Either way the images are uint8 of shape (n, 32, 32, 3), channels last (R, G, B), in the official order.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from simulations.results import read_npz

from .dataset import DataFileMissingError, Dataset, resolve_data_dir
from .safe_pickle import restricted_load

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
N_TRAIN_OFFICIAL = 50_000
HELD_OUT = (40_000, 50_000)  # PNG layout: training images held out as the test split
PNG_PARTS = {1: (0, 20_000), 2: (20_000, 40_000), 3: (40_000, 50_000)}
PNG_ZIP = "cifar10-train-images-png-part{}of3.zip"
LABELS_NPZ = Path("cscores") / "cifar10-cscores-orig-order.npz"


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be None or an integer >= 0, got {limit!r}")


def load_cifar10(data_dir: str | os.PathLike[str] | None = None, *, limit: int | None = None) -> Dataset:
    """CIFAR-10 as uint8 images (n, 32, 32, 3), channels last, and int64 labels in 0..9.

    ``limit``, if given, keeps the first ``limit`` images (official order) of each split and reads
    only the files they need, for tests and quick runs. The arrays are read-only: the datasets
    loaded last, up to :data:`KEEP_BYTES`, are kept in the process and returned again while their
    files are unchanged.
    See the module docstring for the two layouts; ``Dataset.note`` states which one was read
    and how the test split was formed.
    """
    _check_limit(limit)
    root = resolve_data_dir(data_dir)
    key = (str(root.resolve()), limit, _stamp(root))
    if key in _LOADED:  # decoding 50,000 PNGs takes ~11 s: the last few are kept per process
        _LOADED[key] = _LOADED.pop(key)  # most recently used last
        return _LOADED[key]
    batches = root / "cifar-10-batches-py"
    data = _load_batches(batches, limit) if batches.is_dir() else _load_png_zips(root, limit)
    for a in _arrays(data):
        a.flags.writeable = False  # shared by every later call: nobody may change it
    _LOADED[key] = data
    # the least recently used go first, by bytes: small loads (a few images, a test's fake
    # batches) must not push out a whole decoded CIFAR-10, which a count of datasets would do
    while sum(a.nbytes for d in _LOADED.values() for a in _arrays(d)) > KEEP_BYTES and len(_LOADED) > 1:
        del _LOADED[next(iter(_LOADED))]
    return data


def _arrays(data: Dataset) -> tuple[np.ndarray, ...]:
    return data.x_train, data.y_train, data.x_test, data.y_test


_LOADED: dict = {}
# decoded datasets kept in the process: two whole CIFAR-10s of either layout (the PNG one 154 MB,
# the official batches 185 MB) with room to spare for small ones
KEEP_BYTES = 400_000_000


def _stamp(root: Path) -> tuple:
    """Name, size and modification time of every file the loader may read: a changed or replaced
    file is read again, never served from the in-process copy."""
    files = sorted(
        [*root.glob("cifar-10-batches-py/*"), *root.glob("cifar10/*.zip"), root / LABELS_NPZ],
        key=str,
    )
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file())


# --- layout 1: official python batches ---------------------------------------------------------


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataFileMissingError(f"{path} not found; the official batches come from {CIFAR10_URL}")
    batch = restricted_load(path, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a dict, got {type(batch).__name__}")
    data, labels = batch.get(b"data", batch.get("data")), batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (n, 3072)")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{path}: 'labels' must be integers ({exc})") from None
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{path}: {labels.size} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels span [{labels.min()}, {labels.max()}], expected [0, 9]")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _read_batches(paths: list[Path], limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for path in paths:  # stop once ``limit`` images are in hand
        if limit is not None and sum(len(p[1]) for p in parts) >= limit:
            break
        parts.append(_read_batch(path))
    if not parts:
        return np.empty((0, 32, 32, 3), np.uint8), np.empty(0, np.int64)
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return x[:limit], y[:limit]


def _load_batches(folder: Path, limit: int | None) -> Dataset:
    train = _read_batches([folder / f"data_batch_{k}" for k in range(1, 6)], limit)
    test = _read_batches([folder / "test_batch"], limit)
    note = f"official CIFAR-10 python batches in {folder}: train data_batch_1..5, test = official test_batch"
    return Dataset("cifar10", *train, *test, classes=CIFAR10_CLASSES, note=note + _limit_note(limit))


# --- layout 2: PNG zips plus c-score labels ----------------------------------------------------


def cifar10_png_images(folder: str | os.PathLike[str], start: int, stop: int) -> np.ndarray:
    """Training images ``start .. stop - 1`` from the PNG zips in ``folder``, uint8 (n, 32, 32, 3).

    Each ``<i>.png`` must be a 32 x 32 RGBA (or RGB) image; the alpha channel, which must be
    255 everywhere, is dropped. Decoding uses Pillow, about 150 us per image on one core.
    """
    from PIL import Image

    folder = Path(folder)
    if not 0 <= start <= stop <= N_TRAIN_OFFICIAL:
        raise ValueError(f"image range [{start}, {stop}) must lie within [0, {N_TRAIN_OFFICIAL}]")
    out = np.empty((stop - start, 32, 32, 3), np.uint8)
    for part, (lo, hi) in PNG_PARTS.items():
        a, b = max(lo, start), min(hi, stop)
        if a >= b:
            continue
        path = folder / PNG_ZIP.format(part)
        if not path.is_file():
            raise DataFileMissingError(
                f"{path} not found; copy the project's shared/data/cifar10/ folder (see shared/data/"
                f"SOURCES.md) or unpack the official batches from {CIFAR10_URL} into "
                f"{folder.parent / 'cifar-10-batches-py'}"
            )
        try:
            with zipfile.ZipFile(path) as zf:
                members = {info.filename.rsplit("/", 1)[-1]: info for info in zf.infolist()}
                rgba = np.empty((b - a, 32, 32, 4), np.uint8)
                for i in range(a, b):
                    info = members.get(f"{i}.png")
                    if info is None:
                        raise ValueError(f"{path}: member {i}.png is missing")
                    with Image.open(io.BytesIO(zf.read(info))) as im:
                        if im.size != (32, 32) or im.mode not in ("RGBA", "RGB"):
                            raise ValueError(f"{path}: {i}.png is {im.mode} {im.size}, expected RGBA 32 x 32")
                        rgba[i - a] = np.asarray(im.convert("RGBA"))
        except (zipfile.BadZipFile, OSError) as err:  # OSError covers Pillow's UnidentifiedImageError
            raise ValueError(f"{path}: unreadable zip or PNG: {err}") from err
        if not (rgba[..., 3] == 255).all():
            raise ValueError(f"{path}: alpha channel is not 255 everywhere in images {a}..{b - 1}")
        out[a - start : b - start] = rgba[..., :3]
    return out


def cifar10_labels(root: str | os.PathLike[str]) -> np.ndarray:
    """The 50,000 CIFAR-10 training labels in official order, int64, from ``root/cscores/...npz``."""
    path = Path(root) / LABELS_NPZ
    if not path.is_file():
        raise DataFileMissingError(
            f"{path} not found; it is docs/cscores/cifar10-cscores-orig-order.npz in "
            "github.com/pluskid/structural-regularity (see shared/data/SOURCES.md)"
        )
    try:
        labels = read_npz(path, ("labels",))["labels"]
    except ValueError as err:
        raise ValueError(f"cannot read key 'labels': {err}") from None
    if labels.shape != (N_TRAIN_OFFICIAL,) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{path}: 'labels' is {labels.dtype} {labels.shape}, expected integers ({N_TRAIN_OFFICIAL},)"
        )
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: labels span [{labels.min()}, {labels.max()}], expected [0, 9]")
    return labels.astype(np.int64)


def _load_png_zips(root: Path, limit: int | None) -> Dataset:
    folder = root / "cifar10"
    labels = cifar10_labels(root)
    lo, hi = HELD_OUT
    n_train, n_test = (lo, hi - lo) if limit is None else (min(limit, lo), min(limit, hi - lo))
    x_train = cifar10_png_images(folder, 0, n_train)
    x_test = cifar10_png_images(folder, lo, lo + n_test)
    note = (
        f"CIFAR-10 training set only (PNG zips in {folder}); no official test set here, so training "
        f"images {lo}..{hi - 1} (official data_batch_5) are held out as the test split and images "
        f"0..{lo - 1} form the train split; labels from {LABELS_NPZ}"
    )
    return Dataset(
        "cifar10",
        x_train,
        labels[:n_train],
        x_test,
        labels[lo : lo + n_test],
        classes=CIFAR10_CLASSES,
        note=note + _limit_note(limit),
    )


def _limit_note(limit: int | None) -> str:
    return "" if limit is None else f"; limited to the first {limit} images of each split"
