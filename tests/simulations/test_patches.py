"""simulations.data.patches: Coates, Lee & Ng (2011) features, against a direct loop over patches.

Reference: an independent, straightforward implementation of the recipe (each patch cut out,
normalised, mapped and thresholded one at a time in numpy float64); the cache's behaviour
(reuse, recompute when the recipe or the images differ or the file is damaged); bad settings.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulations import threads
from simulations.data import patches as pf
from simulations.data.patches import PatchFeatures, encode, fit_patch_map, patch_features, ridge_accuracy
from simulations.training.problem import SubsetTraining

SMALL = PatchFeatures(patches=5, size=3, samples=400, seed=1)


def _images(n=6, h=8, w=8, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def _direct(images, fitted, recipe):
    """The recipe patch by patch: (n, 8K) float64."""
    x = np.moveaxis(images, -1, 1).astype(np.float64)
    n, c, h, w = x.shape
    s, k = recipe.size, recipe.patches
    hp, wp = h - s + 1, w - s + 1
    out = np.zeros((n, 2, 4, k))
    for i in range(n):
        for r in range(hp):
            for q in range(wp):
                p = x[i, :, r : r + s, q : q + s].reshape(-1)
                p = (p - p.mean()) / np.sqrt(p.var() + recipe.norm_eps)
                z = fitted["filters"] @ p - fitted["offset"]
                quad = 2 * (r >= hp // 2) + (q >= wp // 2)
                out[i, 0, quad] += np.maximum(0.0, z - recipe.alpha)
                out[i, 1, quad] += np.maximum(0.0, -z - recipe.alpha)
    return out.reshape(n, -1)


def test_encode_equals_the_recipe_patch_by_patch():
    images = _images()
    fitted = fit_patch_map(images, SMALL)
    got = encode(images, fitted, SMALL, chunk=4)
    want = _direct(images, fitted, SMALL)
    assert got.shape == (6, 8 * SMALL.patches) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-3)
    assert (got > 0).mean() > 0.2  # the threshold leaves most features alive on noise images


def test_fitted_map_whitens_and_has_unit_length_filters():
    # z = D W (p~ - M) with W whitening the fitting patches and unit-length rows of D, so over the
    # fitting patches cov(z) = D cov(W p~) D^T = D D^T (up to eps): its diagonal is 1. The patches
    # are those fit_patch_map drew (same stream), the covariance computed here from them.
    images = _images(n=40, h=10, w=10)
    recipe = PatchFeatures(patches=4, size=3, samples=20000, whiten_eps=1e-9, seed=3)
    fitted = fit_patch_map(images, recipe)
    rng = np.random.default_rng(np.random.SeedSequence(recipe.seed, spawn_key=(0x9A7C,)))
    x = np.moveaxis(images, -1, 1)
    p = pf._normalise(pf._sample_patches(x, recipe.samples, recipe.size, rng), recipe.norm_eps)
    z = p @ fitted["filters"].T - fitted["offset"]
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.diag(np.cov(z, rowvar=False)), 1.0, rtol=1e-6)


def test_features_do_not_depend_on_the_number_of_workers():
    images = _images(n=9)
    fitted = fit_patch_map(images, SMALL)
    with threads.use_group_workers(1):
        one = encode(images, fitted, SMALL, chunk=2)
    with threads.use_group_workers(3):
        three = encode(images, fitted, SMALL, chunk=2)
    assert np.array_equal(one, three)


def test_cache_is_reused_and_recomputed_when_stale_or_damaged(tmp_path, monkeypatch):
    tr, te = _images(n=5), _images(n=3, seed=1)
    a = patch_features(tr, te, SMALL, tmp_path)
    files = list(tmp_path.glob("patches-*.npz"))
    assert len(files) == 1

    def boom(*args, **kwargs):
        raise AssertionError("recomputed although the cache holds these features")

    monkeypatch.setattr(pf, "fit_patch_map", boom)
    b = patch_features(tr, te, SMALL, tmp_path)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    monkeypatch.undo()
    # other images or another recipe: another file, computed
    patch_features(_images(n=5, seed=9), te, SMALL, tmp_path)
    patch_features(tr, te, PatchFeatures(patches=5, size=3, samples=400, seed=2), tmp_path)
    assert len(list(tmp_path.glob("patches-*.npz"))) == 3
    # a damaged file is recomputed, never reused
    files[0].write_bytes(b"not an npz")
    lines = []
    c = patch_features(tr, te, SMALL, tmp_path, log=lines.append)
    assert all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    assert any("stale or damaged" in line for line in lines)


def test_ridge_accuracy_separates_separable_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    x = rng.normal(size=(300, 5)) + 4.0 * np.eye(3, 5)[y]
    assert ridge_accuracy(x[:200], y[:200], x[200:], y[200:], lam=1e-3) > 0.95


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"features": "sift"}, "features must be one of pixels, patches"),
        ({"features": "patches", "model": "cnn"}, "features: 'patches' gives vectors"),
    ],
)
def test_bad_feature_settings_name_the_field(change, needle):
    with pytest.raises(ValueError, match=needle):
        SubsetTraining(**change)


def test_patches_of_a_vector_dataset_are_refused(tmp_path):
    from simulations.training.problem import prepare

    with pytest.raises(ValueError, match="needs an image dataset"):
        prepare(SubsetTraining(dataset="mnist1d", features="patches", model="softmax"), tmp_path)


def test_recipe_fields_are_checked():
    with pytest.raises(ValueError, match="patches"):
        PatchFeatures(patches=0)
    with pytest.raises(ValueError, match="size: a patch of 9 pixels"):
        fit_patch_map(_images(), PatchFeatures(patches=2, size=9, samples=10))


def test_memorization_on_patch_features_reports_one_ridge_head_and_caches_under_out(tmp_path):
    import json

    from simulations.cli import main

    sets = ["dataset=digits", "features=patches", "model=softmax", "models=48", "epochs=2"]
    args = [
        "run",
        "memorization",
        "--quick",
        "--out",
        str(tmp_path),
        *(a for x in sets for a in ("--set", x)),
    ]
    assert main(args) == 0
    res = json.loads((tmp_path / "memorization" / "results.json").read_text())["results"]
    assert res["features"]["recipe"] == pf.RECIPE and 0.9 < res["features"]["ridge_test_accuracy"] <= 1.0
    assert len(list((tmp_path / ".cache" / "features").glob("patches-*.npz"))) == 1
    from simulations.experiments import get

    assert "one ridge head on all the patch features" in get("memorization").report(res, None)
