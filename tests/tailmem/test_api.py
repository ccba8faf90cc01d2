"""``import tailmem``: the facade's functions against their sources, a planted memorization check,
bad input, save/load and resume. Expected values: Feldman's table (docs/references.md §1.4, as in
tests/theory), the theory's exact excess for local learners (docs/feldman.md), and labels we flip
ourselves (their memorization must be near 1, that of typical points near 0)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tailmem

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_bound_reproduces_feldmans_table():
    # Zipf(1), N = n = 50,000, 10 classes: tau_1 n = 0.4717, cost of gamma = 0.5 limit (fixed variant)
    r = tailmem.bound(tailmem.zipf(50_000, 1.0), 50_000, classes=10, gamma=0.5)
    assert r.tau["1"] * 50_000 == pytest.approx(0.47168, rel=1e-4)
    assert r.cost_memorization_limit == pytest.approx(0.0321487, rel=1e-5)
    noisy = tailmem.bound(tailmem.zipf(1000), 1000, noise=0.2)
    assert noisy.opt_error > tailmem.bound(tailmem.zipf(1000), 1000).opt_error
    with pytest.raises(ValueError, match="noise"):
        tailmem.bound(tailmem.zipf(10), 10, noise=1.5)


def test_simulation_of_a_local_learner_meets_the_theory_within_4_se():
    # fit-seen>=2 is local: its expected excess equals the exact cost_unfit (docs/feldman.md)
    sim = tailmem.simulate_feldman(tailmem.zipf(2_000), 2_000, trials=40, seed=3)
    row = sim["learners"]["fit-seen>=2"]
    assert abs(row["excess"]["mean"] - row["theory"]) <= 4 * row["excess"]["se"]
    assert sim["learners"]["memorize-all"]["excess"]["mean"] == 0.0
    with pytest.raises(ValueError, match="learners"):
        tailmem.simulate_feldman(tailmem.zipf(10), 10, learners="memorize-all")


def flipped_digits(n: int, flips: int, seed: int):
    """The first ``n`` sklearn digits with ``flips`` labels moved to another class (seed ``seed``):
    (digits, x, y, the flipped indices)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.data[:n], d.target[:n].copy()
    rng = np.random.default_rng(seed)
    flip = rng.choice(n, flips, replace=False)
    y[flip] = (y[flip] + 1 + rng.integers(0, 9, flips)) % 10
    return d, x, y, flip


@pytest.fixture(scope="module")
def planted():
    # 600 digits, 12 labels flipped to another class; a wide MLP that can fit them
    d, x, y, flip = flipped_digits(600, 12, seed=0)
    res = tailmem.memorization(x, y, d.data[1500:], d.target[1500:], models=64, epochs=30, hidden=(256,),
                               lr=0.05, progress=False)  # fmt: skip
    return res, flip


def test_flipped_labels_are_the_most_memorized_and_typical_points_are_not(planted):
    res, flip = planted
    others = np.delete(res.mem, flip)
    assert (res.mem[flip] >= 0.9).all()
    assert np.median(others) <= 0.05
    # how many unflipped examples are memorized as much as the least memorized flipped one
    assert (others >= res.mem[flip].min()).mean() < 0.02
    assert np.isfinite(res.mem_se).all() and (res.mem_se > 0).all()
    assert res.test_accuracy["mean"] > 0.7 and res.classes.tolist() == list(range(10))
    idx, val, err = res.influence_top_k(3)
    assert idx.shape == val.shape == err.shape == (len(res.y_test), 3) and (np.diff(val, axis=1) <= 0).all()


def test_labels_of_any_values_and_save_load(planted, tmp_path):
    res, _ = planted
    back = tailmem.load(res.save(tmp_path / "r"))
    np.testing.assert_array_equal(back.mem, res.mem)
    assert back.config == res.config
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 5))
    y = np.where(rng.random(60) < 0.5, -7, 42)  # any integers: mapped to 0, 1
    r = tailmem.memorization(x, y, models=40, epochs=2, progress=False)
    assert r.classes.tolist() == [-7, 42] and r.mem.shape == (60,)
    with pytest.raises(ValueError, match="needs a test set"):
        r.influence_top_k(2)


def test_a_store_resumes_with_identical_results(tmp_path):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    kw = {"models": 40, "epochs": 2, "models_per_batch": 8, "store": tmp_path / "s", "progress": False}
    a = tailmem.memorization(x, y, **kw)
    assert len(list((tmp_path / "s").glob("batch-*.npz"))) == 5
    b = tailmem.memorization(x, y, **kw)  # read back from the store
    np.testing.assert_array_equal(a.correct_train, b.correct_train)
    with pytest.raises(ValueError, match="another configuration"):
        tailmem.memorization(x, y, **{**kw, "epochs": 3})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x_train": [[np.nan, 1.0]] * 4}, "x_train must hold finite numbers"),
        ({"y_train": [0, 1, 0]}, "x_train and y_train must have the same length; got 4 and 3"),
        ({"y_train": [1, 1, 1, 1]}, "y_train must hold at least 2 classes"),
        ({"y_train": [0.0, 1.0, 0.5, 1.0]}, "y_train must hold integer class labels"),
        ({"y_train": [0.0, 1.0, 0.0, 1.0]}, "got floats"),
        ({"x_train": np.array([[object()]] * 4)}, "x_train must be a numeric array"),
        ({"x_test": [[1.0, 2.0]]}, "x_test, y_test: give both or neither"),
        ({"x_test": [[1.0, 2.0]], "y_test": [5]}, "y_test holds labels absent from y_train: [5]"),
        ({"model": "transformer"}, "model must be one of mlp, softmax or a callable"),
        ({"models": 1}, "models must be"),
        ({"models": 3}, "models: 3 models leave some example in (or out of) fewer than 1 subsets"),
        ({"ratio": 1.0}, "ratio must be"),
    ],
)
def test_bad_input_is_one_line_naming_the_argument(kwargs, message, tmp_path):
    base = {"x_train": [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]], "y_train": [0, 1, 0, 1],
            "models": 4, "epochs": 1, "store": tmp_path / "s", "progress": False}  # fmt: skip
    with pytest.raises(ValueError) as info:
        tailmem.memorization(**{**base, **kwargs})
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "s").exists()  # nothing written


def test_run_and_load_results(tmp_path):
    doc = tailmem.run("feldman-examples", quick=True, out=tmp_path, progress=False, sweep_N=500)
    assert doc["results"]["all_match"] and doc["config"]["sweep_N"] == 500
    saved, arrays = tailmem.load_results(tmp_path / "feldman-examples")
    assert saved["results"] == doc["results"] and arrays["tau1_times_n"].shape[0] == 3
    with pytest.raises(ValueError, match="has no results.json"):
        tailmem.load_results(tmp_path)


def test_every_public_name_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#+ `tailmem\.(\w+)", text, flags=re.M))
    assert set(tailmem.__all__) - {"__version__"} <= documented


# ------------------------------------------------------------------------------ your own nn.Module
def _net():  # five lines of a user's model
    from torch import nn

    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def test_your_module_trained_as_a_batch_equals_one_at_a_time():
    # the vmap batch against torch.optim.SGD on each module alone (same seeds, subsets, order)
    import torch

    from simulations.training.custom import ModuleSpec
    from simulations.training.engine import train_batched
    from simulations.training.reference import train_one

    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40, 6)).astype(np.float32), rng.integers(0, 3, 40)
    masks, seeds = rng.random((3, 40)) < 0.7, [11, 12, 13]
    spec = ModuleSpec(_net, 6, 3)
    state = torch.get_rng_state()
    hyper = {"epochs": 3, "batch_size": 8, "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    batch = train_batched(spec, x, y, masks, seeds, method="vmap", **hyper)
    for b in range(3):
        one = train_one(spec, x, y, masks[b], seeds[b], **hyper)
        for name, p in one.items():
            np.testing.assert_allclose(batch[name][b].numpy(), p.numpy(), atol=2e-6)
    assert torch.equal(torch.get_rng_state(), state)  # building the modules left the global RNG alone
    a, b = spec.init(torch.Generator().manual_seed(5)), spec.init(torch.Generator().manual_seed(5))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_memorization_with_your_module_finds_the_flipped_labels():
    from torch import nn

    _, x, y, flip = flipped_digits(400, 8, seed=5)

    def wide():
        return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))

    res = tailmem.memorization(x, y, model=wide, models=40, epochs=30, lr=0.05, progress=False)
    assert res.config["model"].startswith("custom:Sequential:")
    assert (res.mem[flip] >= 0.8).all() and np.median(np.delete(res.mem, flip)) <= 0.05


@pytest.mark.parametrize(
    "factory, message",
    [
        ("not callable", "model must be one of mlp, softmax or a callable"),
        (lambda: 3, "the callable must return a torch.nn.Module; it returned int"),
        (
            lambda: __import__("torch").nn.Sequential(
                __import__("torch").nn.Linear(6, 16),
                __import__("torch").nn.BatchNorm1d(16),
                __import__("torch").nn.Linear(16, 3),
            ),
            "BatchNorm keeps running statistics",
        ),  # fmt: skip
        (
            lambda: __import__("torch").nn.Sequential(
                __import__("torch").nn.Dropout(0.1), __import__("torch").nn.Linear(6, 3)
            ),
            "dropout needs random masks per model",
        ),  # fmt: skip
        (lambda: __import__("torch").nn.Linear(6, 4), "must map (n, 6) to logits (n, 3); got (2, 4)"),
        (lambda: __import__("torch").nn.Linear(5, 3), "fails on a (2, 6) float32 input"),
    ],
)
def test_a_module_vmap_cannot_batch_is_refused_in_one_line(factory, message):
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError) as info:
        tailmem.memorization(rng.normal(size=(20, 6)), rng.integers(0, 3, 20), model=factory, progress=False)
    assert message in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------ strategies for users
def test_strategies_generate_every_kind_of_prior():
    from hypothesis import Phase, find, settings

    from tailmem.strategies import frequency_priors

    quick = settings(max_examples=200, database=None, phases=[Phase.generate])  # no shrinking

    for kind, check in [
        ("zipf", lambda p: "zipf" in p.name),
        ("uniform", lambda p: "uniform" in p.name),
        ("two-point", lambda p: "two" in p.name),
        ("counts", lambda p: p.name.startswith("counts")),
    ]:
        assert check(find(frequency_priors(kinds=(kind,)), lambda p: True, settings=quick))
    assert "mixture" in find(frequency_priors(), lambda p: "mixture" in p.name, settings=quick).name
    with pytest.raises(ValueError, match="kinds must name"):
        frequency_priors(kinds=("nope",))


def test_a_users_property_test_with_the_strategies():
    from hypothesis import given, settings

    from tailmem.strategies import frequency_priors, sample_sizes

    @settings(max_examples=40, deadline=None)
    @given(frequency_priors(max_n=500), sample_sizes(high=500))
    def tau_1_is_a_frequency(prior, n):
        q = prior.normalized()
        tau_1 = tailmem.bound(prior, n).tau["1"]
        if tau_1 is not None:
            assert q[q > 0].min() * (1 - 1e-9) <= tau_1 <= q.max() * (1 + 1e-9)

    tau_1_is_a_frequency()


def test_adamw_from_the_facade():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(60, 4)), rng.integers(0, 2, 60)
    res = tailmem.memorization(x, y, models=40, epochs=2, lr=0.01, optimizer="adamw", progress=False)
    assert res.config["optimizer"] == "adamw" and np.isfinite(res.mem).all()
    with pytest.raises(ValueError, match="optimizer must be 'sgd'"):
        tailmem.memorization(x, y, models=40, optimizer="adam", progress=False)
