"""MNIST and Fashion-MNIST from their IDX files, gzipped or raw.

IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then the values in row-major
(C) order, big-endian. Type ``0x08`` is unsigned byte, the only type these datasets use;
``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64 are also read.
The file must hold exactly ``4 + 4 * ndim + prod(sizes) * itemsize`` bytes.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from .dataset import DataFileMissingError, Dataset, resolve_data_dir

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/ (mirror of http://yann.lecun.com/exdb/mnist/)"
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def parse_idx(data: bytes, *, source: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """The array stored in the IDX bytes ``data``, in native byte order.

    ``ndim``, if given, is the number of dimensions the caller expects. ``source`` names the data
    in error messages. Raises a one-line ValueError on a wrong magic number, an unknown type code,
    an unexpected ``ndim`` or a size that does not match the header's dimensions.
    """
    if len(data) < 4:
        raise ValueError(f"{source}: not an IDX file: {len(data)} bytes, less than the 4-byte magic number")
    zero0, zero1, code, nd = data[:4]
    if zero0 != 0 or zero1 != 0 or code not in IDX_DTYPES:
        raise ValueError(
            f"{source}: bad IDX magic number 0x{data[:4].hex()}; expected 0x0000 followed by a type code "
            f"in {{{', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}}} and the number of dimensions"
        )
    if ndim is not None and nd != ndim:
        raise ValueError(f"{source}: IDX header says {nd} dimensions, expected {ndim}")
    header = 4 + 4 * nd
    if len(data) < header:
        raise ValueError(f"{source}: truncated IDX header: {len(data)} bytes, need {header} for {nd} sizes")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=nd, offset=4))
    dtype = IDX_DTYPES[code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(
            f"{source}: IDX file {kind}: {len(data)} bytes, but header dims {dims} of {dtype.name} "
            f"need {expected}"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """:func:`parse_idx` of the file ``path``; a ``.gz`` file is decompressed first.

    A corrupt or cut-off gzip stream raises a one-line ValueError naming the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt gzip data: {err}") from err
    return parse_idx(raw, source=str(path), ndim=ndim)


def _find_idx(folder: Path, stem: str, url: str) -> Path:
    """``folder/stem.gz`` or ``folder/stem``, whichever exists (the gzipped one first)."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise DataFileMissingError(
        f"{folder / stem}[.gz] not found; obtain it from {url} or copy the project's shared/data/"
        f"{folder.name}/ folder (see shared/data/SOURCES.md)"
    )


def _load_idx_dataset(name: str, folder: Path, url: str, classes: tuple[str, ...], note: str) -> Dataset:
    arrays = {}
    for split, (images_stem, labels_stem) in SPLIT_FILES.items():
        images_path, labels_path = _find_idx(folder, images_stem, url), _find_idx(folder, labels_stem, url)
        images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise ValueError(f"{images_path}, {labels_path}: expected unsigned-byte IDX data (type 0x08)")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{images_path} holds {images.shape[0]} images but {labels_path} {labels.shape[0]} labels"
            )
        arrays[split] = (images, labels.astype(np.int64))
    return Dataset(name, *arrays["train"], *arrays["test"], classes=classes, note=note)


def idx_missing(name: str, data_dir: str | os.PathLike[str] | None = None) -> str | None:
    """Why ``name`` ('mnist' or 'fashion-mnist') cannot be loaded from ``data_dir``, or None.

    Checks only that the folder and its four IDX files exist (no reading), so that a caller can
    decide cheaply whether to run; the loaders still validate the contents.
    """
    urls = {"mnist": MNIST_URL, "fashion-mnist": FASHION_URL}
    if name not in urls:
        raise ValueError(f"name must be 'mnist' or 'fashion-mnist'; got {name!r}")
    try:
        folder = resolve_data_dir(data_dir) / name
        for stems in SPLIT_FILES.values():
            for stem in stems:
                _find_idx(folder, stem, urls[name])
    except ValueError as err:  # DataFileMissingError is a ValueError, as is an unset TAILMEM_DATA
        return str(err)
    return None


def load_mnist(data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """MNIST from ``data_dir/mnist/`` (``train-images-idx3-ubyte[.gz]`` and the three others).

    Returns ``x_train`` uint8 (60000, 28, 28), ``x_test`` uint8 (10000, 28, 28), pixels 0..255 with
    0 the background; labels int64 in 0..9. The official train/test split.
    """
    folder = resolve_data_dir(data_dir) / "mnist"
    return _load_idx_dataset("mnist", folder, MNIST_URL, MNIST_CLASSES, "official MNIST train/test split")


def load_fashion_mnist(data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017) from ``data_dir/fashion-mnist/``, the IDX files named as MNIST's.

    Returns ``x_train`` uint8 (60000, 28, 28), ``x_test`` uint8 (10000, 28, 28); labels int64 in
    0..9 naming :data:`FASHION_CLASSES`. The official train/test split.
    """
    folder = resolve_data_dir(data_dir) / "fashion-mnist"
    return _load_idx_dataset(
        "fashion-mnist", folder, FASHION_URL, FASHION_CLASSES, "official Fashion-MNIST train/test split"
    )
