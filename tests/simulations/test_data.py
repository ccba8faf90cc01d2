"""Offline data loaders: shapes, dtypes and known values of each dataset, and every error path.

Known values and where they come from:
- MNIST: 60,000/10,000 images of 28 x 28, first training label 5 and first test label 7 (the
  official files); training class counts 5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949
  (the per-digit counts commonly quoted for the official training set, e.g. in torchvision issues).
- Fashion-MNIST: first training label 9 (Ankle boot); 6,000 training and 1,000 test images per class
  (Xiao et al. 2017, arXiv 1708.07747, Section 2).
- CIFAR-10: shared/data/SOURCES.md: image 0 begins with the official bytes 59, 43, 50, 68, 98, 119,
  139, 145, 149, 149. In the official layout a row is 1024 red, then 1024 green, then 1024 blue
  values, so these are the *red* values of the first ten pixels of row 0 (not R, G, B interleaved).
  Per-channel mean over all 50,000 training images (125.306918046875, 122.950394140625,
  113.86538318359375), the published training statistics; 5,000 training images per class.
- MNIST-1D: the frozen reference pickle of github.com/greydanus/mnist1d (shared/data/mnist1d).
"""

import gzip
import pickle
import random
import re
import zlib
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest

from simulations.data import (
    DataFileMissingError,
    Dataset,
    RestrictedUnpickler,
    default_data_dir,
    load_cifar10,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_mnist1d,
    parse_idx,
    read_idx,
    restricted_load,
    restricted_loads,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CIFAR_RED_ROW0 = [59, 43, 50, 68, 98, 119, 139, 145, 149, 149]
CIFAR_MEAN = (125.306918046875, 122.950394140625, 113.86538318359375)


def _shared(*parts: str) -> Path:
    """DATA, after checking that ``DATA/parts...`` exists; skips the test otherwise."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return DATA


def _idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def _fake_mnist(folder: Path, *, n_train: int = 6, n_test: int = 4, gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        files = {
            f"{prefix}-images-idx3-ubyte": _idx_bytes(rng.integers(0, 256, (n, 28, 28))),
            f"{prefix}-labels-idx1-ubyte": _idx_bytes(np.arange(n) % 10),
        }
        for stem, data in files.items():
            if gz:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / stem).write_bytes(data)


# --- data_dir resolution and the Dataset record -----------------------------------------------


def test_default_data_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TAILMEM_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path
    _fake_mnist(tmp_path / "mnist")
    assert load_mnist().x_train.shape == (6, 28, 28)  # data_dir=None reads TAILMEM_DATA
    monkeypatch.delenv("TAILMEM_DATA")
    with pytest.raises(ValueError, match="TAILMEM_DATA"):
        default_data_dir()
    with pytest.raises(ValueError, match="TAILMEM_DATA"):
        load_cifar10()


@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist, load_cifar10])
def test_missing_data_dir(loader, tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(DataFileMissingError, match="absent") as info:
        loader(missing)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("loader, folder", [(load_mnist, "mnist"), (load_fashion_mnist, "fashion-mnist")])
def test_missing_idx_file_names_file_and_source(loader, folder, tmp_path):
    (tmp_path / folder).mkdir()
    with pytest.raises(DataFileMissingError) as info:
        loader(tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "http" in message and "shared/data" in message
    assert "\n" not in message


def test_dataset_validates_its_arrays():
    x, y = np.zeros((3, 2), np.float32), np.array([0, 1, 2], np.int64)
    ds = Dataset("toy", x, y, x, y, classes=("a", "b", "c"), note="toy")
    with pytest.raises(FrozenInstanceError):
        ds.name = "other"
    with pytest.raises(ValueError, match="int64"):
        Dataset("toy", x, y.astype(np.int32), x, y, classes=("a", "b", "c"), note="")
    with pytest.raises(ValueError, match="rows"):
        Dataset("toy", x[:2], y, x, y, classes=("a", "b", "c"), note="")
    with pytest.raises(ValueError, match="valid range"):
        Dataset("toy", x, y, x, y, classes=("a", "b"), note="")


# --- IDX parsing and its errors ----------------------------------------------------------------


@pytest.mark.parametrize("code", [0x08, 0x0C, 0x0D])
def test_parse_idx_round_trip(code):
    array = np.arange(24).reshape(2, 3, 4)
    out = parse_idx(_idx_bytes(array, code))
    assert out.shape == (2, 3, 4) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("gz", [True, False])
def test_fake_mnist_gz_or_raw(tmp_path, gz):
    _fake_mnist(tmp_path / "mnist", gz=gz)
    ds = load_mnist(tmp_path)
    assert ds.x_train.shape == (6, 28, 28) and ds.x_test.shape == (4, 28, 28)
    np.testing.assert_array_equal(ds.y_train, np.arange(6) % 10)


def _corrupt(kind: str) -> tuple[str, bytes, str]:
    """(file name, content, expected message part) for one kind of damaged IDX file."""
    good = _idx_bytes(np.zeros((5, 28, 28)))
    if kind == "truncated":
        return "train-images-idx3-ubyte", good[:-100], "truncated"
    if kind == "trailing":
        return "train-images-idx3-ubyte", good + b"\0", "trailing"
    if kind == "bad_magic":
        return "train-images-idx3-ubyte", b"\x1f\x8b\x08\x03" + good[4:], "magic"
    if kind == "wrong_ndim":
        return "train-images-idx3-ubyte", _idx_bytes(np.zeros((5, 784))), "dimensions"
    if kind == "corrupt_gzip":
        packed = bytearray(gzip.compress(good))
        packed[20:40] = b"\xff" * 20
        return "train-images-idx3-ubyte.gz", bytes(packed), "gzip"
    if kind == "cut_gzip":
        return "train-images-idx3-ubyte.gz", gzip.compress(good)[:-30], "gzip"
    assert kind == "not_gzip"
    return "train-images-idx3-ubyte.gz", good, "gzip"


@pytest.mark.parametrize(
    "kind", ["truncated", "trailing", "bad_magic", "wrong_ndim", "corrupt_gzip", "cut_gzip", "not_gzip"]
)
def test_damaged_idx_is_one_line_value_error(tmp_path, kind):
    name, content, part = _corrupt(kind)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=part) as info:
        read_idx(path, ndim=3)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    # the same file inside a data folder fails the loader the same way
    _fake_mnist(tmp_path / "mnist", gz=name.endswith(".gz"))
    (tmp_path / "mnist" / name).write_bytes(content)
    with pytest.raises(ValueError, match=part):
        load_mnist(tmp_path)


def test_corrupt_gzip_raises_before_zlib_error_escapes(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\0" * 6 + b"garbage-deflate-stream")
    with pytest.raises(ValueError, match="corrupt gzip") as info:
        read_idx(path)
    assert isinstance(info.value.__cause__, (OSError, EOFError, zlib.error))


# --- MNIST and Fashion-MNIST from shared/data --------------------------------------------------


def test_mnist_shared():
    ds = load_mnist(_shared("mnist", "train-images-idx3-ubyte.gz"))
    assert ds.x_train.shape == (60_000, 28, 28) and ds.x_test.shape == (10_000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.y_train[0] == 5 and ds.y_test[0] == 7
    np.testing.assert_array_equal(
        np.bincount(ds.y_train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    assert ds.y_test.min() == 0 and ds.y_test.max() == 9 and ds.x_train.max() == 255


def test_fashion_mnist_shared():
    ds = load_fashion_mnist(_shared("fashion-mnist", "train-images-idx3-ubyte.gz"))
    assert ds.x_train.shape == (60_000, 28, 28) and ds.x_test.shape == (10_000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.y_train[0] == 9 and ds.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(np.bincount(ds.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [1000] * 10)


# --- the restricted unpickler ------------------------------------------------------------------


class _Shell:
    """Unpickling this with plain pickle would run a shell command that writes ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"echo pwned > {self.marker}",))


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_restricted_unpickler_refuses_code(tmp_path, protocol):
    marker = tmp_path / "marker"
    for payload, name in ((_Shell(marker), "system"), (_Eval(), "eval")):
        data = pickle.dumps({"data": payload}, protocol=protocol)
        with pytest.raises(pickle.UnpicklingError, match=f"refused global .*{name}"):
            restricted_loads(data)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="refused"):  # a numpy global outside the list
        restricted_loads(pickle.dumps(np.load, protocol=protocol))


@pytest.mark.parametrize("protocol", [3, 4])
def test_restricted_unpickler_reads_numpy_and_containers(protocol):
    obj = {"x": np.arange(12.0).reshape(3, 4), "y": [np.int64(0).item(), 1], "t": (b"ab", "cd", None, True)}
    out = restricted_loads(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(out["x"], obj["x"])
    assert out["y"] == [0, 1] and out["t"] == obj["t"]
    assert issubclass(RestrictedUnpickler, pickle.Unpickler)


def test_malicious_cifar_batch_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    marker = tmp_path / "marker"
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _Shell(marker), b"labels": [0]}))
    with pytest.raises(ValueError, match="refused global") as info:
        load_cifar10(tmp_path)
    assert "data_batch_1" in str(info.value) and not marker.exists()


# --- CIFAR-10 ----------------------------------------------------------------------------------


def _fake_batches(folder: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Official-layout batches of ``n`` images each; returns all images (channels last) and labels."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (6 * n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 6 * n)
    names = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        rows = images[k * n : (k + 1) * n].transpose(0, 3, 1, 2).reshape(n, 3072)
        batch = {b"batch_label": b"fake", b"labels": labels[k * n : (k + 1) * n].tolist(), b"data": rows}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    return images, labels


def test_cifar10_official_batches_layout(tmp_path):
    images, labels = _fake_batches(tmp_path / "cifar-10-batches-py", n=7)
    ds = load_cifar10(tmp_path)
    assert ds.x_train.shape == (35, 32, 32, 3) and ds.x_test.shape == (7, 32, 32, 3)
    np.testing.assert_array_equal(ds.x_train, images[:35])
    np.testing.assert_array_equal(ds.x_test, images[35:])
    np.testing.assert_array_equal(ds.y_train, labels[:35])
    assert ds.y_train.dtype == np.int64 and "official test_batch" in ds.note
    small = load_cifar10(tmp_path, limit=10)
    np.testing.assert_array_equal(small.x_train, images[:10])
    np.testing.assert_array_equal(small.x_test, images[35:42])


def test_cifar10_is_kept_decoded_until_a_file_changes(tmp_path):
    images, labels = _fake_batches(tmp_path / "cifar-10-batches-py", n=7)
    first = load_cifar10(tmp_path)
    assert load_cifar10(tmp_path) is first  # served from the process, not decoded again
    with pytest.raises(ValueError, match="read-only"):
        first.x_train[0, 0, 0, 0] = 1  # shared, so nobody may change it
    # a batch rewritten with other labels (another size): read again, never the old copy
    batch = {b"labels": [int(v + 1) % 10 for v in labels[:8]], b"data": np.zeros((8, 3072), np.uint8)}
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=4))
    again = load_cifar10(tmp_path)
    assert again is not first and again.x_train.shape == (36, 32, 32, 3)
    np.testing.assert_array_equal(again.y_train[:8], (labels[:8] + 1) % 10)


def test_small_loads_do_not_push_a_large_one_out(tmp_path, monkeypatch):
    # the budget is in bytes (here 100 images): a 42-image set stays while four 6-image ones come
    # (a count of 3 datasets evicted a whole decoded CIFAR-10 after 3 small test loads); two more
    # large ones push it out, the least recently used going first
    import simulations.data.cifar10 as cifar10_module

    monkeypatch.setattr(cifar10_module, "_LOADED", {})
    monkeypatch.setattr(cifar10_module, "KEEP_BYTES", 100 * (3072 + 8))
    _fake_batches(tmp_path / "big" / "cifar-10-batches-py", n=7)
    big = load_cifar10(tmp_path / "big")
    for k in range(4):
        _fake_batches(tmp_path / f"small{k}" / "cifar-10-batches-py", n=1)
        load_cifar10(tmp_path / f"small{k}")
    assert load_cifar10(tmp_path / "big") is big
    for k in (2, 3):
        _fake_batches(tmp_path / f"big{k}" / "cifar-10-batches-py", n=7)
        load_cifar10(tmp_path / f"big{k}")
    assert load_cifar10(tmp_path / "big") is not big


@pytest.mark.parametrize(
    ("labels", "needle"), [(["x"] * 7, "'labels' must be integers"), ([12] * 7, r"labels span \[12, 12\]")]
)
def test_cifar10_bad_labels_name_the_file(tmp_path, labels, needle):
    _fake_batches(tmp_path / "cifar-10-batches-py", n=7)
    bad = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch = {b"labels": labels, b"data": np.zeros((7, 3072), np.uint8)}
    bad.write_bytes(pickle.dumps(batch, protocol=4))
    with pytest.raises(ValueError, match=f"^{re.escape(str(bad))}: {needle}"):
        load_cifar10(tmp_path)


def test_cifar10_png_layout_needs_labels(tmp_path):
    (tmp_path / "cifar10").mkdir()
    with pytest.raises(DataFileMissingError, match="cifar10-cscores-orig-order.npz"):
        load_cifar10(tmp_path)


@pytest.mark.parametrize("limit", [-1, 2.5, True])
def test_cifar10_bad_limit(limit, tmp_path):
    with pytest.raises(ValueError, match="limit"):
        load_cifar10(tmp_path, limit=limit)


@pytest.fixture(scope="module")
def cifar10():
    # all 50,000 PNGs: about 8 s on one core (Pillow decoding dominates)
    return load_cifar10(_shared("cifar10", "cifar10-train-images-png-part3of3.zip"))


def test_cifar10_png_shapes_and_known_pixels(cifar10):
    assert cifar10.x_train.shape == (40_000, 32, 32, 3) and cifar10.x_test.shape == (10_000, 32, 32, 3)
    assert cifar10.x_train.dtype == np.uint8 and cifar10.y_train.dtype == np.int64
    np.testing.assert_array_equal(cifar10.x_train[0, 0, :10, 0], CIFAR_RED_ROW0)
    counts = np.bincount(cifar10.y_train, minlength=10) + np.bincount(cifar10.y_test, minlength=10)
    np.testing.assert_array_equal(counts, [5000] * 10)
    assert "40000..49999" in cifar10.note and "held out" in cifar10.note


def test_cifar10_png_channel_mean(cifar10):
    # integer sums are exact, so the means agree with the published ones to float64 rounding
    total = sum(x.sum(axis=(0, 1, 2), dtype=np.int64) for x in (cifar10.x_train, cifar10.x_test))
    np.testing.assert_allclose(total / (50_000 * 32 * 32), CIFAR_MEAN, rtol=1e-14)


def test_cifar10_png_limit_matches_full(cifar10):
    small = load_cifar10(DATA, limit=20)
    np.testing.assert_array_equal(small.x_train, cifar10.x_train[:20])
    np.testing.assert_array_equal(small.x_test, cifar10.x_test[:20])
    np.testing.assert_array_equal(small.y_test, cifar10.y_test[:20])
    assert "first 20" in small.note


# --- MNIST-1D ----------------------------------------------------------------------------------


def test_mnist1d_leaves_global_rng_alone_and_is_reproducible():
    np_before, py_before = np.random.get_state(), random.getstate()  # noqa: NPY002 (read only)
    a = load_mnist1d(seed=3, num_samples=200)
    np_after = np.random.get_state()  # noqa: NPY002 (read only)
    assert np_before[0] == np_after[0] and np_before[2:] == np_after[2:]
    np.testing.assert_array_equal(np_before[1], np_after[1])
    assert random.getstate() == py_before
    b = load_mnist1d(seed=3, num_samples=200)
    c = load_mnist1d(seed=4, num_samples=200)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.shape == (160, 40) and a.x_test.shape == (40, 40) and a.x_train.dtype == np.float32


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"seed": 1.5}, {"num_samples": 5}, {"train_split": 1.0}])
def test_mnist1d_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        load_mnist1d(**kwargs)


def test_mnist1d_default_matches_reference_pickle():
    ref = restricted_load(_shared("mnist1d", "mnist1d_data.pkl") / "mnist1d" / "mnist1d_data.pkl")
    if not isinstance(ref, dict) or not {"x", "y", "x_test", "y_test"} <= ref.keys():
        pytest.skip("mnist1d_data.pkl does not hold the x, y, x_test, y_test arrays; cannot compare")
    ds = load_mnist1d()
    assert ds.x_train.shape == (4000, 40) and ds.x_test.shape == (1000, 40)
    # the reference is float64; the loader returns float32, so compare at float32 resolution
    np.testing.assert_allclose(ds.x_train, ref["x"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ds.x_test, ref["x_test"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ds.y_train, ref["y"])
    np.testing.assert_array_equal(ds.y_test, ref["y_test"])


# --- scikit-learn digits -----------------------------------------------------------------------


def test_digits_split():
    ds = load_digits()
    assert ds.x_train.shape == (1437, 8, 8) and ds.x_test.shape == (360, 8, 8)
    assert ds.x_train.dtype == np.uint8 and ds.x_train.max() == 16 and ds.y_train.dtype == np.int64
    assert "default_rng(0)" in ds.note
    again, other = load_digits(), load_digits(seed=1)
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    assert not np.array_equal(ds.y_test, other.y_test)
    # the two splits partition the 1797 images: same multiset of labels as the whole set
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([ds.y_train, ds.y_test])),
        np.bincount(np.concatenate([other.y_train, other.y_test])),
    )


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"test_size": 0}, {"test_size": 1797}])
def test_digits_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        load_digits(**kwargs)
