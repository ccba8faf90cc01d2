"""Offline loaders for the datasets the experiments use; each returns a :class:`Dataset`.

Loaders that read files take ``data_dir`` (default: the ``TAILMEM_DATA`` environment variable)
laid out as the project's ``shared/data`` (see its ``SOURCES.md``). MNIST-1D is generated and
scikit-learn's digits ship with scikit-learn, so those two need no files.
"""

from .cifar10 import cifar10_labels, cifar10_png_images, load_cifar10
from .dataset import DataFileMissingError, Dataset, default_data_dir, fixed_part
from .digits import load_digits
from .idx import idx_missing, load_fashion_mnist, load_mnist, parse_idx, read_idx
from .mnist1d_data import load_mnist1d
from .registry import DATASETS, features, is_image, load_cifar10_cscores, load_dataset
from .safe_pickle import RestrictedUnpickler, restricted_load, restricted_loads

__all__ = [
    "Dataset",
    "DataFileMissingError",
    "default_data_dir",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "load_mnist1d",
    "load_digits",
    "DATASETS",
    "load_dataset",
    "features",
    "is_image",
    "load_cifar10_cscores",
    "parse_idx",
    "read_idx",
    "idx_missing",
    "fixed_part",
    "cifar10_png_images",
    "cifar10_labels",
    "RestrictedUnpickler",
    "restricted_load",
    "restricted_loads",
]
