"""The resumable model store: completion flags, resume, refusal of other configurations."""

import numpy as np
import pytest

from simulations.estimators import memorization, subset_masks
from simulations.store import ModelStore, config_hash


def _setup(seed=0, t=10, n=6):
    rng = np.random.default_rng(seed)
    return subset_masks(n, t, ratio=0.5, rng=rng), np.arange(t) + 100


def _results(start, end, n=6, k=3):
    # a deterministic stand-in for training models start..end-1
    r = np.random.default_rng(start)
    return (r.random((end - start, n)) < 0.7).astype(float), (r.random((end - start, k)) < 0.5).astype(float)


def test_resume_skips_finished_models_and_gives_identical_estimates(tmp_path):
    cfg = {"data": "toy", "ratio": 0.5, "seed": 0}
    masks, seeds = _setup()
    full = ModelStore(tmp_path / "a", cfg, masks, seeds, n_test=3)
    for a, b in full.pending(4):
        full.save(a, b, *_results(a, b))
    # interrupted run: one batch done, then a "kill" leaves a stray temporary file
    s = ModelStore(tmp_path / "b", cfg, masks, seeds, n_test=3)
    s.save(0, 4, *_results(0, 4))
    (tmp_path / "b" / ".batch-000004-000008.123.tmp.npz").write_bytes(b"partial")
    s2 = ModelStore(tmp_path / "b", cfg, masks, seeds, n_test=3)
    assert s2.pending(4) == [(4, 8), (8, 10)]
    for a, b in s2.pending(4):
        s2.save(a, b, *_results(a, b))
    m1, c1, t1 = full.load()
    m2, c2, t2 = s2.load()
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(memorization(c1, m1).value, memorization(c2, m2).value)


def test_store_of_another_configuration_is_refused(tmp_path):
    masks, seeds = _setup()
    ModelStore(tmp_path, {"seed": 0}, masks, seeds, n_test=3)
    with pytest.raises(ValueError, match="another configuration"):
        ModelStore(tmp_path, {"seed": 1}, masks, seeds, n_test=3)
    with pytest.raises(ValueError, match="other masks or seeds"):
        ModelStore(tmp_path, {"seed": 0}, masks, seeds + 1, n_test=3)


def test_corrupt_batch_file_is_named(tmp_path):
    masks, seeds = _setup()
    s = ModelStore(tmp_path, {"seed": 0}, masks, seeds, n_test=3)
    for a, b in s.pending(5):
        s.save(a, b, *_results(a, b))
    (tmp_path / "batch-000005-000010.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"batch-000005-000010.npz is corrupt"):
        s.load()


def _tamper(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    np.savez(path, **arrays)


def test_a_tampered_batch_is_named_and_nothing_is_deleted(tmp_path):
    # a flipped outcome in a batch that still unzips: the checksum catches it
    masks, seeds = _setup()
    s = ModelStore(tmp_path, {"seed": 0}, masks, seeds, n_test=3)
    for a, b in s.pending(5):
        s.save(a, b, *_results(a, b))
    path = tmp_path / "batch-000000-000005.npz"
    with np.load(path, allow_pickle=False) as f:
        ct = f["correct_train"].copy()
    ct[0, 0] = 1 - ct[0, 0]
    _tamper(path, correct_train=ct)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(
        ValueError,
        match=r"^store: .*batch-000000-000005.npz is corrupt \(its contents do not "
        r"match their checksum\); delete that file and run again",
    ):
        s.load()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # a batch whose checksum was removed is refused in a store that writes checksums
    with np.load(path, allow_pickle=False) as f:
        kept = {k: f[k] for k in f.files if k != "checksum"}
    np.savez(path, **kept)
    with pytest.raises(ValueError, match="it has no checksum"):
        s.load()


def test_incomplete_store_and_bad_batches(tmp_path):
    masks, seeds = _setup()
    s = ModelStore(tmp_path, {"seed": 0}, masks, seeds, n_test=3)
    s.save(0, 4, *_results(0, 4))
    with pytest.raises(ValueError, match="6 of 10 models have no results"):
        s.load()
    with pytest.raises(ValueError, match="needs correct_train"):
        s.save(4, 6, *_results(4, 7))


def test_config_hash_is_order_independent():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_binary_results_stored_as_uint8_and_probabilities_as_float32(tmp_path):
    masks, seeds = _setup()
    s = ModelStore(tmp_path, {"seed": 0}, masks, seeds, n_test=3)
    binary = _results(0, 5)
    probs = (np.full((5, 6), 0.25), np.full((5, 3), 0.5))
    s.save(0, 5, *binary)
    s.save(5, 10, *probs)
    with np.load(tmp_path / "batch-000000-000005.npz", allow_pickle=False) as f:
        assert f["correct_train"].dtype == np.uint8
    with np.load(tmp_path / "batch-000005-000010.npz", allow_pickle=False) as f:
        assert f["correct_train"].dtype == np.float32
    _, ct, cs = s.load()
    np.testing.assert_array_equal(ct[:5], binary[0])
    np.testing.assert_array_equal(cs[5:], probs[1])
    with pytest.raises(ValueError, match="NaN"):
        s.save(0, 5, np.full((5, 6), np.nan), binary[1])


def test_training_progress_line():
    # 30 models in 12 s: 2.5 models/s, 8 left -> 3.2 s
    from simulations.store import training_progress

    assert training_progress(42, 50, 30, 12.0) == "models 42/50 trained (2.5 models/s, about 3 s left)"
    assert training_progress(0, 50, 0, 5.0) == "models 0/50 trained (0.0 models/s)"  # no time left to guess
