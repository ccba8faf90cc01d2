"""The memorization, removal and influence-pairs experiments at toy size, and their bad input.

Toy setting: scikit-learn's digits (1,437 training, 360 test images, no files needed), small
MLPs, few epochs. Expected values come from the definitions: removal masks remove exactly the
examples above the threshold; pairs satisfy the three conditions of Feldman & Zhang (docs/references.md
§2.2); resumed runs equal uninterrupted ones bit for bit (the store's contract).
"""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest
from cli_helpers import run_main
from subset_helpers import killed_and_resumed

from simulations.estimators import influence, influence_top_k, memorization
from simulations.experiment import Context  # noqa: E402
from simulations.experiments import get, make_config
from simulations.experiments.influence_pairs import InfluencePairs, expected_false_pairs, pairs_from_top_k
from simulations.experiments.influence_pairs import run as run_pairs
from simulations.experiments.memorization import Memorization
from simulations.experiments.memorization import run as run_mem
from simulations.experiments.removal import Removal, removal_conditions
from simulations.experiments.removal import run as run_removal
from simulations.training.problem import SubsetTraining, prepare, subset_run, train_models

TOY = {
    "dataset": "digits",
    "hidden": (16,),
    "models": 48,
    "epochs": 2,
    "batch_size": 64,
    "lr": 0.1,
    "models_per_batch": 16,
}


def _quiet(_msg):
    pass


def test_memorization_toy_run_is_consistent(tmp_path):
    cfg = Memorization(**TOY, grid=4)
    res, arrays = run_mem(cfg, Context(workdir=tmp_path))
    n, t = res["n_train"], res["models"]
    assert (n, res["n_test"], t) == (1437, 360, 48)
    assert arrays["mem"].shape == (n,) and np.isfinite(arrays["mem"]).all()
    # mem~ = in-accuracy - held-out accuracy, example by example (definition, docs/references.md §2.1)
    sr = subset_run(cfg, tmp_path, log=_quiet)
    in_acc = (sr.correct_train * sr.masks).sum(0) / sr.masks.sum(0)
    np.testing.assert_allclose(arrays["mem"], in_acc - arrays["heldout"], atol=1e-12)
    assert sr.trained_now == 0  # the second call re-reads the store
    assert res["mem"]["at_least"]["0.25"] == int((arrays["mem"] >= 0.25).sum())
    # the grids show the examples with the largest lower / smallest upper 2-SE bound
    lower = arrays["mem"] - 2 * arrays["mem_se"]
    assert lower[arrays["top_index"][0]] == lower.max()
    assert arrays["top_x"].shape == (4, 8, 8)
    assert 0.5 < res["test_accuracy"]["mean"] <= 1.0


def test_resume_after_kill_is_identical(tmp_path):
    cfg = SubsetTraining(**TOY)
    whole = subset_run(cfg, tmp_path / "a", log=_quiet)
    lines = []
    resumed = killed_and_resumed(cfg, tmp_path / "b", log=lines.append)
    assert "16 of 48 models already trained" in lines[0]
    assert resumed.trained_now == 32
    assert np.array_equal(resumed.correct_train, whole.correct_train)
    assert np.array_equal(resumed.correct_test, whole.correct_test)
    assert np.array_equal(resumed.masks, whole.masks)


def test_store_of_another_configuration_is_refused_and_kept(tmp_path):
    store = tmp_path / "store"
    subset_run(SubsetTraining(**TOY, store=str(store)), tmp_path, log=_quiet)
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    with pytest.raises(ValueError, match="another configuration"):
        subset_run(SubsetTraining(**{**TOY, "lr": 0.2}, store=str(store)), tmp_path, log=_quiet)
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


def test_too_few_models_names_how_many(tmp_path):
    with pytest.raises(ValueError, match=r"models: 6 models .* about \d+ models"):
        subset_run(SubsetTraining(**{**TOY, "models": 6}), tmp_path, log=_quiet)
    assert not (tmp_path / ".stores").exists()


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"ratio": 1.0}, "ratio"),
        ({"ratio": 0.0}, "ratio"),
        ({"models": 1}, "models"),
        ({"dataset": "imagenet"}, "dataset"),
        ({"model": "vit"}, "model"),
        ({"hidden": ()}, "hidden"),
        ({"epochs": 0}, "epochs"),
        ({"lr": float("nan")}, "lr"),
        ({"device": "tpu"}, "device"),
        ({"paired": True}, "paired"),
        ({"paired": True, "ratio": 0.5, "models": 49}, "paired"),
    ],
)
def test_bad_config_names_the_field(change, name):
    with pytest.raises(ValueError, match=name):
        SubsetTraining(**{**TOY, **change})


def test_cnn_needs_images(tmp_path):
    with pytest.raises(ValueError, match="model 'cnn' needs an image dataset"):
        subset_run(SubsetTraining(dataset="mnist1d", model="cnn", models=48), tmp_path, log=_quiet)


def test_removal_conditions_remove_exactly_the_right_examples():
    rng = np.random.default_rng(0)
    mem = np.array([0.9, 0.1, 0.5, np.nan, 0.3, 0.0])
    keep, conds, skipped = removal_conditions(mem, (0.3, 0.95), 3, rng)
    assert skipped == [0.95]  # removes nothing
    assert removal_conditions(np.array([0.2, 0.4]), (-1.0,), 2, rng)[2] == [-1.0]  # removes everything
    _, conds_nan, _ = removal_conditions(mem, (-1.0,), 2, rng)
    assert conds_nan[1]["removed"] == 5  # an example without an estimate (NaN) is never removed
    assert [c["kind"] for c in conds] == ["full", "memorized", "random"]
    assert keep.shape == (9, 6) and keep[:3].all()
    np.testing.assert_array_equal(keep[3:6], np.tile([False, True, False, True, False, True], (3, 1)))
    assert ((~keep[6:9]).sum(axis=1) == 3).all() and conds[1]["removed"] == 3


def test_removal_toy_run(tmp_path):
    cfg = Removal(**TOY, thresholds=(0.05, 0.2), retrain_models=2)
    res, arrays = run_removal(cfg, Context(workdir=tmp_path))
    conds = res["conditions"]
    assert [c["kind"] for c in conds] == ["memorized", "random"] * 2
    for c in conds:
        assert c["removed"] == int((arrays["mem"] >= c["threshold"]).sum())
        assert 0 <= c["accuracy"]["mean"] <= 1
    assert arrays["retrain_accuracy"].shape == (5, 2)
    m = conds[0]
    diff = arrays["retrain_accuracy"][1] - arrays["retrain_accuracy"][2]
    assert m["minus_random"]["mean"] == pytest.approx(diff.mean())


def test_pairs_from_top_k_applies_the_three_conditions():
    # 2 test examples, top 3: (train index, infl)
    idx = np.array([[0, 1, 2], [3, 0, 1]])
    val = np.array([[0.5, 0.3, 0.1], [0.6, 0.2, 0.16]])
    err = np.full((2, 3), 0.01)
    mem = np.array([0.3, 0.1, 0.9, 0.26])
    y_train = np.array([1, 1, 1, 2])
    y_test = np.array([1, 2])
    pairs, infl, se, full = pairs_from_top_k(
        idx, val, err, mem, y_train, y_test, mem_threshold=0.25, infl_threshold=0.15
    )
    # (0,0): mem .3, infl .5, same class -> yes; (1,0): mem .1 -> no; (2,0): infl .1 -> no
    # (3,1): mem .26, infl .6, classes 2 = 2 -> yes; (0,1): classes 1 != 2 -> no
    np.testing.assert_array_equal(pairs, [[3, 1], [0, 0]])
    np.testing.assert_allclose(infl, [0.6, 0.5])
    assert full == 1  # test example 1's whole top-3 list passed 0.15


def test_expected_false_pairs_matches_a_direct_sum():
    import scipy.stats

    rng = np.random.default_rng(3)
    t, n, k = 40, 12, 5
    masks = rng.random((t, n)) < 0.6
    masks[0], masks[1] = True, False
    ct = (rng.random((t, k)) < 0.7).astype(float)
    mem = rng.uniform(-0.2, 0.8, n)
    y_train, y_test = rng.integers(0, 2, n), rng.integers(0, 2, k)
    got = expected_false_pairs(ct, masks, mem, y_train, y_test, mem_threshold=0.25, infl_threshold=0.15)
    _, se = influence(ct, masks)
    want = sum(
        scipy.stats.norm.sf(0.15 / se[i, j])
        for i in range(n)
        for j in range(k)
        if mem[i] >= 0.25 and y_train[i] == y_test[j]
    )
    assert got == pytest.approx(want, rel=1e-12)


def test_influence_pairs_toy_run(tmp_path):
    cfg = InfluencePairs(**TOY, retrain_models=2, mem_threshold=0.0, infl_threshold=0.1)
    res, arrays = run_pairs(cfg, Context(workdir=tmp_path))
    sr = subset_run(cfg, tmp_path, log=_quiet)
    mem = memorization(sr.correct_train, sr.masks).value
    dense, _ = influence(sr.correct_test, sr.masks)
    idx, _, _ = influence_top_k(sr.correct_test, sr.masks, top=cfg.top)
    p = sr.problem
    for i, j in arrays["pairs"]:
        assert mem[i] >= 0.0 and dense[i, j] >= 0.1 and p.y_train[i] == p.y_test[j]
        assert i in idx[j]
    assert res["pairs"] == len(arrays["pairs"])
    if res["pairs"]:
        mu = res["marginal_utility"]
        assert set(mu) >= {"full", "pairs_removed", "random_removed"}


def _sets(**kw) -> list[str]:
    out = []
    for k, v in {**TOY, **kw}.items():
        v = ",".join(map(str, v)) if isinstance(v, tuple) else v
        out += ["--set", f"{k}={v}"]
    return out


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"ratio": 1.5}, "ratio"),
        ({"models": 4}, "models: 4 models"),
        ({"dataset": "mnist", "data_dir": "/nonexistent/tailmem"}, "data_dir"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, sets, message, capsys):
    p = run_main(capsys, "run", "memorization", "--out", str(tmp_path), *_sets(**sets))
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and message in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "memorization").exists()


def test_cli_corrupt_data_file_exits_2(tmp_path, capsys):
    data = tmp_path / "data" / "mnist"
    data.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        (data / name).write_bytes(b"\x1f\x8b\x08\x00 truncated")
    p = run_main(capsys, "run", "memorization", "--out", str(tmp_path / "out"),
                 *_sets(dataset="mnist", data_dir=str(tmp_path / "data")))  # fmt: skip
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_cli_other_configuration_store_exits_2_and_keeps_results(tmp_path, capsys):
    out = tmp_path / "out"
    ok = run_main(capsys, "run", "memorization", "--out", str(out), *_sets(store=str(tmp_path / "s")))
    assert ok.returncode == 0, ok.stderr
    doc = json.loads((out / "memorization" / "results.json").read_text())
    # another --out (the results folder would refuse first), the same store folder
    other = _sets(store=str(tmp_path / "s"), lr=0.3)
    bad = run_main(capsys, "run", "memorization", "--out", str(tmp_path / "o2"), *other)
    assert (
        bad.returncode == 2 and f"store: {tmp_path / 's'} was made with another configuration" in bad.stderr
    )
    assert bad.stderr.count("\n") == 1 and not (tmp_path / "o2" / "memorization").exists()
    assert json.loads((out / "memorization" / "results.json").read_text()) == doc
    assert len(list((tmp_path / "s").glob("batch-*.npz"))) == 3


def test_quick_configs_share_one_store():
    cfgs = [make_config(get(name), quick=True) for name in ("memorization", "removal", "influence-pairs")]
    from simulations.training.problem import store_folder

    assert len({store_folder(c, "w", data="d") for c in cfgs}) == 1


def test_data_dir_flag_fills_the_config_field():
    exp = get("memorization")
    cfg = make_config(exp, quick=True, data_dir="/some/where")
    assert cfg.data_dir == "/some/where"
    cfg = make_config(exp, quick=True, overrides=["data_dir=/other"], data_dir="/some/where")
    assert cfg.data_dir == "/other"  # --set wins
    assert not hasattr(make_config(get("feldman-bound"), quick=True, data_dir="/x"), "data_dir")


def test_cli_data_dir_flag_reaches_the_loader(tmp_path, capsys):
    missing = str(tmp_path / "missing")
    p = run_main(capsys, "run", "memorization", "--out", str(tmp_path), "--data-dir", missing,
                 *_sets(dataset="mnist"))  # fmt: skip
    assert p.returncode == 2 and str(tmp_path / "missing") in p.stderr and p.stderr.count("\n") == 1


def test_paired_halves_put_every_example_in_and_out_equally(tmp_path):
    cfg = SubsetTraining(**{**TOY, "models": 12}, paired=True, ratio=0.5)
    sr = subset_run(cfg, tmp_path, log=_quiet)
    assert (sr.masks.sum(axis=0) == 6).all()
    np.testing.assert_array_equal(sr.masks[0::2], ~sr.masks[1::2])


def test_heldout_ratios_give_a_cscore_proxy(tmp_path):
    cfg = Memorization(**{**TOY, "models": 60}, heldout_ratios=(0.5,))
    res, arrays = run_mem(cfg, Context(workdir=tmp_path))
    half = subset_run(SubsetTraining(**{**TOY, "models": 60}, ratio=0.5), tmp_path, log=_quiet)
    from simulations.estimators import heldout_accuracy

    h5 = heldout_accuracy(half.correct_train, half.masks).value
    np.testing.assert_allclose(arrays["cscore_proxy"], (arrays["heldout"] + h5) / 2)
    assert set(res["heldout_by_ratio"]) == {"0.7", "0.5"}
    # more training data, higher held-out accuracy (on average over 1,437 examples)
    assert res["heldout_by_ratio"]["0.7"] > res["heldout_by_ratio"]["0.5"]


@pytest.mark.parametrize(
    ("model", "name", "train", "least"),
    [
        ("cnn", "SmallCNN", {"channels": (4, 8), "epochs": 2, "lr": 0.02}, 0.2),
        # the ResNet (no batch norm, blocks start as shortcuts) learns slowly on 8x8 digits:
        # 3 epochs gave mean accuracies 0.17..0.35 per model in a probe of 4 models
        pytest.param(
            "resnet",
            "ResNet",
            {"channels": (8, 16), "epochs": 3, "lr": 0.05, "batch_size": 16},
            0.15,
            marks=pytest.mark.slow,  # 75 s on 2 busy cores; the ResNet's training is also checked
            # against the one-model reference in tests/simulations/test_training.py
        ),
    ],
)
def test_conv_memorization_runs_on_images(tmp_path, model, name, train, least):
    # the vmap path (convolutions under vmap) end to end on real images, tiny size; 10 classes,
    # chance is 0.1 and the mean over 48 models and 360 test images has SE ~0.01
    cfg = Memorization(**{**TOY, "model": model, **train}, grid=2)
    res, arrays = run_mem(cfg, Context(workdir=tmp_path))
    assert res["model"].startswith(f"{name}(in_channels=1, height=8, width=8")
    assert np.isfinite(arrays["mem"]).all() and least < res["test_accuracy"]["mean"] <= 1.0


def test_conv_models_refuse_vector_data():
    for model in ("cnn", "resnet"):
        needle = f"^model '{model}' needs an image dataset; mnist1d holds vectors"
        with pytest.raises(ValueError, match=needle):
            subset_run(SubsetTraining(**{**TOY, "dataset": "mnist1d", "model": model}), "/nonexistent")


def test_other_data_gets_its_own_store(tmp_path):
    # the store's key holds a fingerprint of the data: the same configuration on other data
    # (here the labels shifted by one) trains its own models instead of reading another's
    cfg = SubsetTraining(**{**TOY, "train_size": 200, "test_size": 50})
    prob = prepare(cfg)
    shifted = dataclasses.replace(prob.data, y_train=np.roll(prob.data.y_train, 1))
    other = dataclasses.replace(prob, data=shifted, y_train=shifted.y_train[prob.train_index])
    assert prepare(cfg).fingerprint == prob.fingerprint != other.fingerprint
    masks = np.random.default_rng(0).random((4, prob.n)) < 0.7
    seeds = np.arange(4)
    a = train_models(cfg, prob, tmp_path, masks, seeds, log=_quiet)
    b = train_models(cfg, other, tmp_path, masks, seeds, log=_quiet)
    assert a[2] != b[2] and (a[3], b[3]) == (4, 4)
    assert train_models(cfg, prob, tmp_path, masks, seeds, log=_quiet)[3] == 0  # its own store, re-read
    fixed = dataclasses.replace(cfg, store=str(tmp_path / "fixed"))  # one explicit folder: refused
    train_models(fixed, prob, tmp_path, masks, seeds, log=_quiet)
    with pytest.raises(ValueError, match="was made with another configuration"):
        train_models(fixed, other, tmp_path, masks, seeds, log=_quiet)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("train_size", 5, "train_size must be 0 (the whole split) or at least 20; got 5"),
        ("test_size", 3, "test_size must be 0 (the whole split) or at least 10; got 3"),
        ("hidden", (10**9,), "hidden entry must be an integer in [1, 65536]"),
        ("channels", (5000,), "channels entry must be an integer in [1, 4096]"),
        ("batch_size", 10**6, "batch_size must be an integer in [1, 65536]"),
        ("models", 10**12, "models must be an integer in [2, 1000000]"),
        ("channels", (2, 2, 2, 2, 2), "channels must hold 1 to 4 stage widths for a resnet"),
    ],
)
def test_sizes_out_of_range_are_refused(field, value, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        SubsetTraining(**{**TOY, "model": "resnet", field: value})
