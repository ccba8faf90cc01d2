"""Datasets by name, standardised features, and the released CIFAR-10 C-scores.

Expected values: the standardisation is checked against its definition (train statistics,
applied to both splits); the C-score file's shape, key and range follow shared/data/SOURCES.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulations.data import (
    DATASETS,
    DataFileMissingError,
    Dataset,
    features,
    is_image,
    load_cifar10_cscores,
    load_dataset,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _images(n, shape, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def test_image_features_are_channel_standardised_with_train_statistics():
    d = Dataset("toy", _images(50, (6, 5, 3), 0), np.zeros(50, int), _images(20, (6, 5, 3), 1),
                np.zeros(20, int), classes=("a", "b"), note="")  # fmt: skip
    tr, te = features(d)
    assert tr.shape == (50, 3, 6, 5) and te.shape == (20, 3, 6, 5) and tr.dtype == np.float32
    np.testing.assert_allclose(tr.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(tr.std(axis=(0, 2, 3)), 1, atol=1e-5)
    raw = np.moveaxis(d.x_train, -1, 1) / 255.0
    mu, sd = raw.mean(axis=(0, 2, 3)), raw.std(axis=(0, 2, 3))
    want = (np.moveaxis(d.x_test, -1, 1) / 255.0 - mu[None, :, None, None]) / sd[None, :, None, None]
    np.testing.assert_allclose(te, want, rtol=1e-5, atol=1e-5)


def test_gray_images_get_one_channel_and_vectors_stay_flat():
    d = load_dataset("digits")
    assert is_image(d)
    tr, te = features(d)
    assert tr.shape == (1437, 1, 8, 8) and te.shape == (360, 1, 8, 8)
    v = load_dataset("mnist1d")
    assert not is_image(v)
    tr, _ = features(v)
    assert tr.shape == (4000, 40)
    assert abs(float(tr.mean())) < 1e-6 and abs(float(tr.std()) - 1) < 1e-5


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="dataset must be one of mnist1d"):
        load_dataset("imagenet")
    assert "cifar10" in DATASETS


def test_cscores_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataFileMissingError, match="cifar10-cscores-orig-order.npz not found"):
        load_cifar10_cscores(tmp_path)
    (tmp_path / "cscores").mkdir()
    path = tmp_path / "cscores" / "cifar10-cscores-orig-order.npz"
    path.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="cannot read key 'scores'"):
        load_cifar10_cscores(tmp_path)
    np.savez(path, scores=np.full(50_000, 1.5))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        load_cifar10_cscores(tmp_path)
    np.savez(path, scores=np.zeros(10))
    with pytest.raises(ValueError, match="expected floats"):
        load_cifar10_cscores(tmp_path)


def test_cscores_shared_copy():
    if not (DATA / "cscores" / "cifar10-cscores-orig-order.npz").exists():
        pytest.skip(f"shared data not found: {DATA / 'cscores'}")
    s = load_cifar10_cscores(DATA)
    assert s.shape == (50_000,) and 0 <= s.min() and s.max() <= 1


def test_cscores_in_another_order_are_refused(tmp_path):
    # the file's own labels must equal the images' labels: a shuffled file is caught by them
    (tmp_path / "cscores").mkdir()
    path = tmp_path / "cscores" / "cifar10-cscores-orig-order.npz"
    labels = np.arange(50_000) % 10
    np.savez(path, scores=np.linspace(0, 1, 50_000), labels=labels)
    assert load_cifar10_cscores(tmp_path, labels=labels[:40_000]).shape == (50_000,)
    shuffled = np.random.default_rng(0).permutation(labels)
    with pytest.raises(ValueError, match=r"disagree with the images' at [\d,]+ of 40,000 positions"):
        load_cifar10_cscores(tmp_path, labels=shuffled[:40_000])
    np.savez(path, scores=np.linspace(0, 1, 50_000))
    with pytest.raises(ValueError, match="cannot read key 'labels' to check the order"):
        load_cifar10_cscores(tmp_path, labels=labels)
    np.savez(path, scores=np.linspace(0, 1, 50_000), labels=labels[:100])
    with pytest.raises(ValueError, match=r"'labels' is \(100,\), expected \(50000,\)"):
        load_cifar10_cscores(tmp_path, labels=labels)
